import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { Sandbox } from '../../sandbox/index.js';
import { buildReport } from '../../sandbox/report.js';

/**
 * An event storm (a misconfigured plan, a mass backup) cannot start unbounded drills: intake and the
 * reconciler keep at most maxOpenDrills open, and every backup beyond the cap is deferred, not dropped — the
 * reconciler drills it once drills end. The deployment is the sandbox's with `--param maxOpenDrills=25`, so this
 * file runs in its own process (the handler modules read their configuration once).
 */
const MAX_OPEN_DRILLS = 25;
/** Six times the cap: 300 takes ~2 minutes of wall time on a shared 2-core machine, 150 about one. */
const BACKUPS = 150;
const SEED = 13;

/** The most intervals [from, to) that overlap at one instant. */
function peakOverlap(intervals: { from: number; to: number }[]): number {
  const edges = intervals.flatMap(({ from, to }) => [
    { at: from, delta: 1 },
    { at: to, delta: -1 },
  ]);
  // At the same instant an end comes before a start: a place given back can be taken at once.
  edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
  let open = 0;
  let peak = 0;
  for (const edge of edges) {
    open += edge.delta;
    peak = Math.max(peak, open);
  }
  return peak;
}

describe('an event storm', () => {
  it('never has more than maxOpenDrills drills open, and drills every backup in the end', async () => {
    // Prepare
    const sandbox = await Sandbox.create({ seed: SEED, params: { maxOpenDrills: String(MAX_OPEN_DRILLS) } });
    try {
      const startedAt = new Date(sandbox.clock.now).toISOString();
      const recoveryPoints = new Set<string>();
      for (let i = 1; i <= BACKUPS; i++)
        recoveryPoints.add(sandbox.backupCompleted('EBS', i).resources[0] ?? '');

      // Act: let the storm play out until every backup has a finished drill (or three simulated days pass).
      const drilled = () =>
        new Set(
          [...sandbox.stepFunctions.executions.values()]
            .filter((execution) => execution.status !== 'RUNNING')
            .map(
              (execution) => (JSON.parse(execution.input) as { source: { recoveryPointArn: string } }).source,
            )
            .map((source) => source.recoveryPointArn),
        );
      for (let hour = 0; hour < 72 && drilled().size < BACKUPS; hour++) await sandbox.advance(3600);
      await sandbox.run();

      // Assess
      const report = buildReport(sandbox, SEED, startedAt);
      const executions = [...sandbox.stepFunctions.executions.values()];
      // A drill holds its place from its start until its evidence step gives it back (after teardown).
      const inFlight = executions.map((execution) => {
        const evidence = execution.steps.find((step) => step.name === 'RecordEvidence');
        return { from: execution.startedAt, to: Date.parse(evidence?.startedAt ?? '') };
      });
      expect(inFlight.every(({ to }) => Number.isFinite(to))).toBe(true);
      expect(peakOverlap(inFlight)).toBeLessThanOrEqual(MAX_OPEN_DRILLS);
      // The cap was reached (the storm really was one), and what it held back was drilled later.
      expect(peakOverlap(inFlight)).toBe(MAX_OPEN_DRILLS);
      // With the dimensions of its alarm (serverless.yml DrillsDeferredAlarm: service only).
      const alarm = sandbox.config.resources.DrillsDeferredAlarm?.Properties;
      expect(alarm).toMatchObject({
        MetricName: 'DrillsDeferred',
        Dimensions: [{ Name: 'service', Value: 'pilotlight' }],
      });
      const deferred = report.sandbox.metrics.filter(
        (m) => m.name === 'DrillsDeferred' && JSON.stringify(m.dimensions) === '{"service":"pilotlight"}',
      );
      expect(deferred.reduce((sum, m) => sum + m.value, 0)).toBeGreaterThanOrEqual(BACKUPS - MAX_OPEN_DRILLS);
      expect(report.skipped.some((s) => s.reason.startsWith('deferred: 25 drills are open'))).toBe(true);
      // None lost: every backup was drilled, once, successfully, and nothing is left in the DR account.
      expect(report.drills).toHaveLength(BACKUPS);
      expect(new Set(report.drills.map((d) => d.source.recoveryPointArn))).toEqual(recoveryPoints);
      expect(report.drills.filter((d) => d.status !== 'SUCCEEDED')).toEqual([]);
      expect(report.lostTriggers).toEqual([]);
      expect(sandbox.leftBehind()).toEqual([]);
      // Started by the reconciler from the source account's completed backup jobs.
      const Trigger = z.object({ kind: z.string(), eventId: z.string().optional() });
      const byReconciler = report.drills
        .map((d) => Trigger.parse(d.trigger))
        .filter((trigger) => trigger.kind === 'backup-job' && trigger.eventId === undefined);
      expect(byReconciler.length).toBeGreaterThanOrEqual(BACKUPS - MAX_OPEN_DRILLS);
    } finally {
      sandbox.dispose();
    }
  }, 300_000);
});
