import type { BenchReport } from './run.js';

/** The human-readable form of the bench report (`npm run bench` without --json). */
function table(header: string[], rows: (string | number)[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i] ?? '').length)));
  const line = (cells: (string | number)[]) =>
    cells
      .map((c, i) => (i === 0 ? String(c).padEnd(widths[i] ?? 0) : String(c).padStart(widths[i] ?? 0)))
      .join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

export function render(r: BenchReport): string {
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
    Math.round(b.lazyBytes / 1024),
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
    'bundles (esbuild as serverless.yml custom.esbuild; KB = what a cold start loads, lazy KB = chunks loaded on first use; init = median of fresh processes)',
    table(['function', 'KB', 'lazy KB', 'map KB', 'init ms'], bundleRows),
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
