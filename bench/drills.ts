import { Sandbox } from '../sandbox/index.js';
import { buildReport } from '../sandbox/report.js';

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
process.exit(0);
