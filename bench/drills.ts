import { Sandbox } from '../sandbox/index.js';
import { buildReport } from '../sandbox/report.js';
import { type BurstResult, burst } from './burst.js';

/**
 * How fast the sandbox simulates: N concurrent RDS drills per run. Reported as figures and ratios
 * (simulated seconds per wall second, wall milliseconds per drill), never asserted in tests.
 */
const sizes = [1, 10, 25];
const rows: string[] = [];
for (const count of sizes) {
  const sandbox = await Sandbox.create({ seed: 1 });
  const startedAt = new Date(sandbox.clock.now).toISOString();
  for (let i = 1; i <= count; i++) sandbox.backupCompleted('RDS', i);
  await sandbox.run();
  const report = buildReport(sandbox, 1, startedAt);
  sandbox.dispose();
  const failed = report.drills.filter((d) => d.status !== 'SUCCEEDED').length;
  const { wallMs, simulatedSeconds, transitions, lambdaInvocations, apiCalls, peakConcurrentRestores } =
    report.sandbox;
  rows.push(
    [
      String(count).padStart(5),
      String(failed).padStart(6),
      String(wallMs).padStart(8),
      (wallMs / count).toFixed(1).padStart(10),
      String(simulatedSeconds).padStart(9),
      Math.round((simulatedSeconds * 1000) / wallMs)
        .toString()
        .padStart(12),
      String(transitions).padStart(11),
      String(lambdaInvocations).padStart(8),
      String(apiCalls).padStart(9),
      String(peakConcurrentRestores).padStart(5),
    ].join(' '),
  );
}
process.stdout.write(
  `drills failed  wall ms  ms/drill  sim s  sim/wall x  transitions  lambdas  api calls  peak\n${rows.join('\n')}\n`,
);

/**
 * Bursts of backups completing at once (admission control): failures, the peak of restored resources per
 * type against the limit, and the drain time against the ideal ceil(N / limit) × mean slot hold.
 * `BENCH_BURSTS=100` (or a comma list) chooses the sizes; the default runs 100 and 500 of each type.
 */
const sizesOfBursts = (process.env.BENCH_BURSTS ?? '100,500').split(',').map(Number);
const bursts: BurstResult[] = [];
for (const size of sizesOfBursts) {
  for (const types of [['RDS'], ['EBS'], ['RDS', 'EBS']]) bursts.push(await burst(types, size, 1));
}
process.stdout.write(
  `\nburst             drills failed quota-failures  peak/limit           drain h  ideal h  drain/ideal  left  wall s\n${bursts
    .map((b) =>
      [
        b.scenario.padEnd(17),
        String(b.drills).padStart(6),
        String(b.failed).padStart(6),
        String(b.quotaFailures).padStart(14),
        Object.entries(b.peakInUse)
          .map(([type, peak]) => `${type} ${peak}/${b.limits[type] ?? '?'}`)
          .join(', ')
          .padEnd(20),
        b.drainHours.toFixed(2).padStart(8),
        b.idealHours.toFixed(2).padStart(8),
        b.drainOverIdeal.toFixed(3).padStart(12),
        String(b.resourcesLeft).padStart(5),
        b.wallSeconds.toFixed(1).padStart(7),
      ].join(' '),
    )
    .join('\n')}\n`,
);
process.exit(0);
