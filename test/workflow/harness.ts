import { Sandbox } from '../../sandbox/index.js';
import { buildReport, type RunReport } from '../../sandbox/report.js';

/** Runs one sandbox to completion and returns the `--json` report, the sandbox kept for deeper assertions. */
export async function simulate(
  drive: (sandbox: Sandbox) => void,
  options: { seed?: number; faults?: string[]; settle?: boolean; params?: Record<string, string> } = {},
): Promise<{ report: RunReport; sandbox: Sandbox }> {
  const sandbox = await Sandbox.create({
    seed: options.seed ?? 7,
    faults: options.faults ?? [],
    params: options.params,
  });
  try {
    const startedAt = new Date(sandbox.clock.now).toISOString();
    drive(sandbox);
    // `settle`: as the CLI runs, schedules (reconciler, orphan sweeper) go on after the last drill.
    await (options.settle ? sandbox.runToSettled() : sandbox.run());
    return { report: buildReport(sandbox, options.seed ?? 7, startedAt), sandbox };
  } finally {
    sandbox.dispose();
  }
}

export function onlyDrill(report: RunReport) {
  const [drill, ...others] = report.drills;
  if (!drill || others.length > 0) throw new Error(`expected exactly one drill, got ${report.drills.length}`);
  return drill;
}

/** An operator's failover of the first prod RDS instance: backed up (no event announced), then started by hand. */
export function startRdsFailover(sandbox: Sandbox): void {
  const backup = sandbox.backupCompleted('RDS', 1, { announce: false });
  sandbox.startManual(
    {
      mode: 'failover',
      source: {
        account: '111111111111',
        region: 'us-east-2',
        resourceType: 'RDS',
        recoveryPointArn: backup.resources[0] ?? '',
        backupVaultName: 'Default',
      },
    },
    'failover-orders-db',
  );
}
