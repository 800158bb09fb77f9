import { cpus } from 'node:os';
import { supportedResourceTypes } from '../functions/resources/index.js';
import { type BundleFigures, measureBundles } from './bundles.js';
import { burst } from './burst.js';
import { DURATION_MODEL, type PerDrill, PRICES, percentile, perDrill, scheduledPerMonth } from './cost.js';
import { BenchRunError, type DesignName, type RunFigures, runDesign } from './designs.js';
import { runScale, type ScaleRun } from './scale.js';

/**
 * `npm run bench`: every figure from one run, on the same scenarios for both designs (same seeds, types and
 * faults). Sizes are options so CI can run a small smoke of the same code (test/bench/smoke.test.ts).
 */
export interface BenchOptions {
  /** Drills of each supported type for the per-drill figures: Pilotlight, and the polling baseline. */
  drillsPerType: number;
  baselineDrillsPerType: number;
  /** Drills for the detection latency, per design (types round robin), run in batches of `detectionBatch`. */
  detectionDrills: number;
  detectionBatch: number;
  /** Functions to bundle (all of serverless.yml's by default) and fresh processes per function. */
  bundleFunctions?: readonly string[];
  bundleProcesses: number;
  /** Sandbox sizes (drills in one burst across types); the largest is the burst figure. */
  scaleSizes: readonly number[];
  /** Run the sandbox sizes in this process (the smoke test) instead of a fresh process each. */
  scaleInProcess?: boolean;
}

export const DEFAULT_OPTIONS: BenchOptions = {
  drillsPerType: 20,
  baselineDrillsPerType: 20,
  detectionDrills: 200,
  detectionBatch: 25,
  bundleProcesses: 5,
  scaleSizes: [100, 500],
};

/** Job events as AWS Backup sends them at their worst in the issue: 0-5 minutes late, one in ten lost. */
export const DETECTION_FAULTS = ['events:jobs:lag=0-300', 'events:jobs:drop=0.1'] as const;

export interface Goal {
  goal: string;
  measured: string;
  met: boolean;
}

export interface DetectionFigures {
  p50Seconds: number;
  p99Seconds: number;
  maxSeconds: number;
  jobs: number;
  failedDrills: number;
}

export interface BenchReport {
  machine: { nproc: number; node: string; platform: string };
  resourceTypes: string[];
  prices: typeof PRICES;
  durationModel: typeof DURATION_MODEL & { note: string };
  perDrill: Record<string, PerDrill>;
  baseline: Record<string, PerDrill>;
  /** Baseline over Pilotlight, per type: how many times more the polling design spends. */
  ratios: Record<
    string,
    { transitions: number; lambdaInvocations: number; apiCalls: number; costUsd: number }
  >;
  scheduledPerMonth: ReturnType<typeof scheduledPerMonth>;
  detection: {
    drills: number;
    faults: string[];
    pilotlight: DetectionFigures;
    baseline: DetectionFigures;
  };
  burst: {
    drills: number;
    resourceTypes: string[];
    limit: Record<string, number>;
    quotas: Record<string, number>;
    peakConcurrentRestores: Record<string, number>;
    failed: number;
    quotaFailures: number;
    drainSeconds: number;
    theoreticalSeconds: number;
    drainOverTheoretical: number;
  };
  bundles: Record<string, BundleFigures>;
  sandbox: {
    runs: { drills: number; wallSeconds: number; peakRssMb: number; msPerDrill: number }[];
    /** k in wall ∝ N^k between the smallest and the largest run (1 = linear). */
    wallGrowthExponent: number | null;
    isolatedProcesses: boolean;
  };
  goals: Goal[];
  wallSeconds: number;
}

const round = (value: number, digits = 1) => Number(value.toFixed(digits));

function detectionOf(runs: readonly RunFigures[]): DetectionFigures {
  const samples = runs.flatMap((run) => run.detectionSeconds);
  return {
    p50Seconds: round(percentile(samples, 50)),
    p99Seconds: round(percentile(samples, 99)),
    maxSeconds: round(Math.max(...samples)),
    jobs: samples.length,
    failedDrills: runs.reduce((total, run) => total + run.failed, 0),
  };
}

async function detectionRuns(design: DesignName, options: BenchOptions): Promise<RunFigures[]> {
  const runs: RunFigures[] = [];
  for (let done = 0, seed = 1; done < options.detectionDrills; seed++) {
    const size = Math.min(options.detectionBatch, options.detectionDrills - done);
    runs.push(await runDesign(design, supportedResourceTypes, size, { seed, faults: DETECTION_FAULTS }));
    done += size;
  }
  return runs;
}

async function scaleRun(count: number, inProcess: boolean): Promise<ScaleRun> {
  if (!inProcess) return runScale(count);
  const result = await burst(supportedResourceTypes, count, 1);
  return { ...result, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) };
}

export async function runBench(
  options: BenchOptions = DEFAULT_OPTIONS,
  progress: (line: string) => void = () => undefined,
): Promise<BenchReport> {
  const wallStart = performance.now();
  const types = [...supportedResourceTypes];
  const perType: Record<string, Record<DesignName, RunFigures>> = {};
  for (const type of types) {
    progress(`per drill: ${options.drillsPerType} × ${type} (baseline ${options.baselineDrillsPerType})`);
    perType[type] = {
      pilotlight: await runDesign('pilotlight', [type], options.drillsPerType),
      polling: await runDesign('polling', [type], options.baselineDrillsPerType),
    };
  }
  const pilotlightPerDrill = Object.fromEntries(
    types.map((t) => [t, perDrill(perType[t]?.pilotlight as RunFigures)]),
  );
  const baselinePerDrill = Object.fromEntries(
    types.map((t) => [t, perDrill(perType[t]?.polling as RunFigures)]),
  );

  progress(`detection: ${options.detectionDrills} drills per design, faults ${DETECTION_FAULTS.join(' ')}`);
  const detectionPilotlight = await detectionRuns('pilotlight', options);
  const detectionBaseline = await detectionRuns('polling', options);

  progress('bundles');
  const bundles = await measureBundles({
    functions: options.bundleFunctions,
    processes: options.bundleProcesses,
  });

  const scale: ScaleRun[] = [];
  for (const size of options.scaleSizes) {
    progress(`sandbox: ${size} drills${options.scaleInProcess ? '' : ' (fresh process)'}`);
    scale.push(await scaleRun(size, options.scaleInProcess ?? false));
  }
  const largest = scale.at(-1);
  if (!largest) throw new BenchRunError('the bench needs at least one sandbox size (BENCH_BURSTS)');
  const first = scale[0] ?? largest;

  const ratio = (a: number, b: number) => round(b > 0 ? a / b : Number.NaN);
  const report: Omit<BenchReport, 'goals' | 'wallSeconds'> = {
    machine: { nproc: cpus().length, node: process.version, platform: `${process.platform}-${process.arch}` },
    resourceTypes: types,
    prices: PRICES,
    durationModel: {
      ...DURATION_MODEL,
      note: 'billed duration per invocation = msPerInvocation + msPerApiCall × AWS API calls it made (simulated; the sandbox clock does not run during a handler); memory from serverless.yml',
    },
    perDrill: pilotlightPerDrill,
    baseline: baselinePerDrill,
    ratios: Object.fromEntries(
      types.map((t) => {
        const [p, b] = [pilotlightPerDrill[t] as PerDrill, baselinePerDrill[t] as PerDrill];
        return [
          t,
          {
            transitions: ratio(b.transitions, p.transitions),
            lambdaInvocations: ratio(b.lambdaInvocations, p.lambdaInvocations),
            apiCalls: ratio(b.apiCalls, p.apiCalls),
            costUsd: ratio(b.costUsd, p.costUsd),
          },
        ];
      }),
    ),
    scheduledPerMonth: scheduledPerMonth(types.map((t) => perType[t]?.pilotlight as RunFigures)),
    detection: {
      drills: options.detectionDrills,
      faults: [...DETECTION_FAULTS],
      pilotlight: detectionOf(detectionPilotlight),
      baseline: detectionOf(detectionBaseline),
    },
    burst: {
      drills: largest.drills,
      resourceTypes: types,
      limit: largest.limits,
      quotas: largest.quotas,
      peakConcurrentRestores: largest.peakInUse,
      failed: largest.failed,
      quotaFailures: largest.quotaFailures,
      drainSeconds: largest.drainSeconds,
      theoreticalSeconds: largest.idealSeconds,
      drainOverTheoretical: largest.drainOverIdeal,
    },
    bundles,
    sandbox: {
      runs: scale.map((run) => ({
        drills: run.drills,
        wallSeconds: run.wallSeconds,
        peakRssMb: run.peakRssMb,
        msPerDrill: Math.round((run.wallSeconds * 1000) / Math.max(1, run.drills)),
      })),
      wallGrowthExponent:
        scale.length > 1 && largest.drills !== first.drills
          ? round(
              Math.log(largest.wallSeconds / first.wallSeconds) / Math.log(largest.drills / first.drills),
              2,
            )
          : null,
      isolatedProcesses: !options.scaleInProcess,
    },
  };
  return { ...report, goals: goals(report), wallSeconds: round((performance.now() - wallStart) / 1000) };
}

/** The issue's goals, judged on the figures (reported, never asserted: benchmarks are not timed tests). */
export function goals(report: Omit<BenchReport, 'goals' | 'wallSeconds'>): Goal[] {
  const types = report.resourceTypes;
  const worstTransitions = Math.max(...types.map((t) => report.perDrill[t]?.transitions ?? Number.NaN));
  const worstRatio = Math.min(...types.map((t) => report.ratios[t]?.transitions ?? Number.NaN));
  const bundles = Object.entries(report.bundles);
  const biggest = bundles.reduce((max, [, b]) => Math.max(max, b.minifiedBytes), 0);
  const slowest = bundles.reduce((max, [, b]) => Math.max(max, b.initMsMedian), 0);
  const run = (n: number) => report.sandbox.runs.find((r) => r.drills === n);
  const rdsQuota = report.burst.quotas['rds-db-instances'] ?? Number.NaN;
  const peaks = Object.entries(report.burst.peakConcurrentRestores);
  const overLimit = peaks.filter(([type, peak]) => peak > (report.burst.limit[type] ?? 0));
  const overQuota =
    (report.burst.peakConcurrentRestores.RDS ?? 0) > rdsQuota || report.burst.quotaFailures > 0;
  const sandboxGoal = (n: number, seconds: number): Goal => {
    const r = run(n);
    return {
      goal: `${n} sandbox drills in <= ${seconds} s wall`,
      measured: r
        ? `${r.wallSeconds} s`
        : `not run (sizes: ${report.sandbox.runs.map((x) => x.drills).join(', ')})`,
      met: r !== undefined && r.wallSeconds <= seconds,
    };
  };
  return [
    {
      goal: '<= 30 state transitions per drill',
      measured: types.map((t) => `${t} ${report.perDrill[t]?.transitions}`).join(', '),
      met: worstTransitions <= 30,
    },
    {
      goal: '>= 10x fewer transitions than the polling baseline',
      measured: types.map((t) => `${t} ${report.ratios[t]?.transitions}x`).join(', '),
      met: worstRatio >= 10,
    },
    {
      goal: 'detection p99 <= 60 s with lossy events',
      measured: `p99 ${report.detection.pilotlight.p99Seconds} s (p50 ${report.detection.pilotlight.p50Seconds} s); baseline p99 ${report.detection.baseline.p99Seconds} s`,
      met: report.detection.pilotlight.p99Seconds <= 60,
    },
    {
      goal: `a ${report.burst.drills}-burst never over the quota or the admission limit`,
      measured: `${peaks.map(([type, peak]) => `${type} peak ${peak}/${report.burst.limit[type]}`).join(', ')}; RDS quota ${rdsQuota}; quota failures ${report.burst.quotaFailures}`,
      met: overLimit.length === 0 && !overQuota,
    },
    {
      goal: `a ${report.burst.drills}-burst has zero failures`,
      measured: `${report.burst.failed} failed`,
      met: report.burst.failed === 0,
    },
    {
      goal: 'the burst drains within 10% of ceil(N / limit) × restore time',
      measured: `${report.burst.drainSeconds} s vs ${report.burst.theoreticalSeconds} s (${report.burst.drainOverTheoretical}x)`,
      met: report.burst.drainOverTheoretical <= 1.1,
    },
    {
      goal: 'every bundle <= 600 KB minified (what a cold start loads; lazy chunks apart)',
      measured: `largest ${Math.round(biggest / 1024)} KB`,
      met: biggest <= 600 * 1024,
    },
    {
      goal: 'every bundle initialises in <= 150 ms (median of fresh processes)',
      measured: `slowest ${slowest} ms`,
      met: slowest <= 150,
    },
    sandboxGoal(100, 20),
    sandboxGoal(500, 90),
  ];
}
