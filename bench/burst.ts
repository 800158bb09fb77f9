import { Sandbox } from '../sandbox/index.js';
import { buildReport, type DrillReport } from '../sandbox/report.js';

/**
 * A burst of nightly backups completing at once: every drill must succeed, the restored resources of a type in
 * the DR account must never exceed the admission limit (restoreConcurrency), and the burst must drain close to
 * the ideal ceil(N / limit) × the mean time a drill holds its restore slot (restore, checks, teardown).
 */
export interface BurstResult {
  scenario: string;
  drills: number;
  failed: number;
  quotaFailures: number;
  peakInUse: Record<string, number>;
  limits: Record<string, number>;
  drainHours: number;
  idealHours: number;
  drainSeconds: number;
  idealSeconds: number;
  /** The DR account's service quotas the sandbox enforced (QUOTAS in sandbox/world.ts, e.g. rds-db-instances). */
  quotas: Record<string, number>;
  drainOverIdeal: number;
  resourcesLeft: number;
  wallSeconds: number;
}

function endOf(drill: DrillReport, step: string): number | undefined {
  const found = drill.steps.findLast((s) => s.name === step)?.endedAt;
  return found ? Date.parse(found) : undefined;
}

export async function burst(
  types: readonly string[],
  count: number,
  seed = 1,
  params?: Record<string, string>,
): Promise<BurstResult> {
  const wallStart = performance.now();
  const sandbox = await Sandbox.create({ seed, params });
  try {
    const start = sandbox.clock.now;
    for (let i = 1; i <= count; i++) sandbox.backupCompleted(types[i % types.length] ?? 'RDS', i);
    await sandbox.run();
    const report = buildReport(sandbox, seed, new Date(start).toISOString());
    const limits = Object.fromEntries(
      String(sandbox.config.params.restoreConcurrency ?? '')
        .split(',')
        .map((pair) => pair.split('='))
        .map(([type, limit]) => [type ?? '', Number(limit)]),
    );
    let drainHours = 0;
    let idealHours = 0;
    // The copy pool (per source account, all types) can bound the drain too.
    const copyLimit = Number(sandbox.config.params.copyConcurrency ?? 1);
    const copyHolds = report.drills.flatMap((d) => {
      const admitted = endOf(d, 'WaitForCopySlot');
      const released = endOf(d, 'ReleaseCopySlot');
      return admitted && released ? [released - admitted] : [];
    });
    const meanCopy = copyHolds.reduce((sum, h) => sum + h, 0) / Math.max(1, copyHolds.length);
    idealHours = (Math.ceil(report.drills.length / copyLimit) * meanCopy) / 3_600_000;
    for (const type of types) {
      const drills = report.drills.filter((d) => d.source.resourceType === type);
      const holds = drills.flatMap((d) => {
        const admitted = endOf(d, 'WaitForRestoreSlot');
        const released = endOf(d, 'ReleaseSlots');
        return admitted && released ? [released - admitted] : [];
      });
      const mean = holds.reduce((sum, h) => sum + h, 0) / Math.max(1, holds.length);
      const limit = limits[type] ?? limits.default ?? 1;
      idealHours = Math.max(idealHours, (Math.ceil(drills.length / limit) * mean) / 3_600_000);
      const last = Math.max(...drills.map((d) => endOf(d, 'ReleaseSlots') ?? start));
      drainHours = Math.max(drainHours, (last - start) / 3_600_000);
    }
    return {
      scenario: `${count} × ${types.join('+')}`,
      drills: report.drills.length,
      failed: report.drills.filter((d) => d.status !== 'SUCCEEDED').length,
      quotaFailures: sandbox.world.quotaFailures.length,
      peakInUse: Object.fromEntries(
        [...sandbox.world.peakInUse].map(([key, peak]) => [key.split('/')[1] ?? key, peak]),
      ),
      limits: Object.fromEntries(types.map((type) => [type, limits[type] ?? limits.default ?? 1])),
      drainHours: Number(drainHours.toFixed(2)),
      drainSeconds: Math.round(drainHours * 3600),
      idealSeconds: Math.round(idealHours * 3600),
      quotas: { ...sandbox.world.settings.quotas },
      idealHours: Number(idealHours.toFixed(2)),
      drainOverIdeal: Number((drainHours / idealHours).toFixed(3)),
      resourcesLeft: report.sandbox.resourcesLeft,
      wallSeconds: Number(((performance.now() - wallStart) / 1000).toFixed(1)),
    };
  } finally {
    sandbox.dispose();
  }
}
