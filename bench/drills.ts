import '../test/setup.js';
import { z } from 'zod';
import { type BenchReport, DEFAULT_OPTIONS, runBench } from './run.js';

/**
 * `npm run bench [-- --json]`: cost per drill against the polling baseline, detection latency, the burst,
 * bundles and the sandbox itself, all from one run (bench/run.ts). Smaller runs while developing:
 * BENCH_DRILLS (per type), BENCH_DETECTION (drills), BENCH_BURSTS (comma list of sandbox sizes),
 * BENCH_BUNDLES (comma list of function keys), BENCH_PROCESSES (fresh processes per bundle).
 */
const count = z.coerce.number().int().positive();
const list = z
  .string()
  .transform((text) => text.split(',').map((item) => item.trim()))
  .pipe(z.array(z.string().min(1)).min(1));
const Environment = z.object({
  BENCH_DRILLS: count.default(DEFAULT_OPTIONS.drillsPerType),
  BENCH_DETECTION: count.default(DEFAULT_OPTIONS.detectionDrills),
  BENCH_BURSTS: list
    .transform((items) => items.map(Number))
    .pipe(z.array(z.number().int().positive()))
    .optional(),
  BENCH_BUNDLES: list.optional(),
  BENCH_PROCESSES: count.default(DEFAULT_OPTIONS.bundleProcesses),
});
const Arguments = z.array(z.enum(['--json'])).max(1);

const parsedArgs = Arguments.safeParse(process.argv.slice(2));
const parsedEnv = Environment.safeParse(process.env);
if (!parsedArgs.success || !parsedEnv.success) {
  process.stderr.write(
    `usage: npm run bench [-- --json]; ${[parsedArgs.error, parsedEnv.error].flatMap((e) => e?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? []).join('; ')}\n`,
  );
  process.exit(2);
}
const env = parsedEnv.data;
const report = await runBench(
  {
    ...DEFAULT_OPTIONS,
    drillsPerType: env.BENCH_DRILLS,
    baselineDrillsPerType: env.BENCH_DRILLS,
    detectionDrills: env.BENCH_DETECTION,
    scaleSizes: env.BENCH_BURSTS ?? DEFAULT_OPTIONS.scaleSizes,
    bundleFunctions: env.BENCH_BUNDLES,
    bundleProcesses: env.BENCH_PROCESSES,
  },
  (line) => process.stderr.write(`bench: ${line}\n`),
);
process.stdout.write(
  parsedArgs.data.includes('--json') ? `${JSON.stringify(report, null, 2)}\n` : render(report),
);
process.exit(0);

function table(header: string[], rows: (string | number)[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i] ?? '').length)));
  const line = (cells: (string | number)[]) =>
    cells
      .map((c, i) => (i === 0 ? String(c).padEnd(widths[i] ?? 0) : String(c).padStart(widths[i] ?? 0)))
      .join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

function render(r: BenchReport): string {
  const perDrillRows = r.resourceTypes.flatMap((type) =>
    (['perDrill', 'baseline'] as const).map((design) => {
      const f = r[design][type];
      return [
        `${type} ${design === 'perDrill' ? 'pilotlight' : 'polling'}`,
        f?.drills ?? '',
        f?.failed ?? '',
        f?.transitions ?? '',
        f?.lambdaInvocations ?? '',
        f?.apiCalls ?? '',
        f?.gbSeconds ?? '',
        f ? f.costUsd.toFixed(6) : '',
      ];
    }),
  );
  const ratioRows = r.resourceTypes.map((type) => {
    const x = r.ratios[type];
    return [type, `${x?.transitions}x`, `${x?.lambdaInvocations}x`, `${x?.apiCalls}x`, `${x?.costUsd}x`];
  });
  const d = r.detection;
  const bundleRows = Object.entries(r.bundles).map(([name, b]) => [
    name,
    Math.round(b.minifiedBytes / 1024),
    Math.round(b.sourceMapBytes / 1024),
    b.initMsMedian,
  ]);
  const b = r.burst;
  return [
    `per drill (sandbox job durations; Lambda durations simulated: ${r.durationModel.msPerInvocation} ms + ${r.durationModel.msPerApiCall} ms per API call)`,
    table(['design', 'drills', 'failed', 'transitions', 'lambdas', 'api calls', 'GB-s', 'USD'], perDrillRows),
    '',
    'polling baseline / pilotlight',
    table(['type', 'transitions', 'lambdas', 'api calls', 'cost'], ratioRows),
    `schedules (fixed, whatever the drills): ${Object.entries(r.scheduledPerMonth.functions)
      .map(([k, v]) => `${k} ${v.runsPerMonth}/month × ${v.apiCallsPerRun} calls`)
      .join(', ')}: $${r.scheduledPerMonth.costUsd}/month`,
    '',
    `detection latency (job finished → next step), ${d.drills} drills per design, ${d.faults.join(' ')}`,
    table(
      ['design', 'jobs', 'p50 s', 'p99 s', 'max s', 'failed drills'],
      [
        [
          'pilotlight',
          d.pilotlight.jobs,
          d.pilotlight.p50Seconds,
          d.pilotlight.p99Seconds,
          d.pilotlight.maxSeconds,
          d.pilotlight.failedDrills,
        ],
        [
          'polling',
          d.baseline.jobs,
          d.baseline.p50Seconds,
          d.baseline.p99Seconds,
          d.baseline.maxSeconds,
          d.baseline.failedDrills,
        ],
      ],
    ),
    '',
    `burst: ${b.drills} backups at once (${b.resourceTypes.join('+')}): ${b.failed} failed, ${b.quotaFailures} quota failures, peak ${Object.entries(
      b.peakConcurrentRestores,
    )
      .map(([t, p]) => `${t} ${p}/${b.limit[t]}`)
      .join(
        ', ',
      )} (RDS quota ${b.quotas['rds-db-instances']}), drained in ${b.drainSeconds} s vs ${b.theoreticalSeconds} s theoretical (${b.drainOverTheoretical}x)`,
    '',
    'bundles (esbuild as serverless.yml custom.esbuild; init = median of fresh processes)',
    table(['function', 'KB', 'map KB', 'init ms'], bundleRows),
    '',
    `sandbox (${r.sandbox.isolatedProcesses ? 'each size in a fresh process' : 'in this process'})`,
    table(
      ['drills', 'wall s', 'ms/drill', 'peak RSS MB'],
      r.sandbox.runs.map((x) => [x.drills, x.wallSeconds, x.msPerDrill, x.peakRssMb]),
    ),
    `wall time grows as N^${r.sandbox.wallGrowthExponent ?? '?'}`,
    '',
    'goals',
    table(
      ['goal', 'measured', 'met'],
      r.goals.map((g) => [g.goal, g.measured, g.met ? 'met' : 'NOT met']),
    ),
    '',
    `machine: ${r.machine.nproc} cores, node ${r.machine.node}, ${r.machine.platform}; bench wall ${r.wallSeconds} s`,
    '',
  ].join('\n');
}
