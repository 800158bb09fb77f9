import { loadServerlessConfig, projectRoot } from '../sandbox/serverless-config.js';
import type { RunFigures } from './designs.js';

/** Public prices (us-east-2, on-demand): Step Functions Standard and Lambda on arm64. */
export const PRICES = {
  usdPerTransition: 0.025 / 1000,
  usdPerRequest: 0.2 / 1_000_000,
  usdPerGbSecond: 0.0000133334,
} as const;

/**
 * How long an invocation is billed for: the sandbox runs handlers on a virtual clock where their AWS calls
 * take no time, so billed durations are simulated, not measured: a fixed handler overhead (middy, Powertools,
 * parsing, warm) plus a round trip per AWS API call the invocation made (counted by the sandbox, STS and
 * DynamoDB included, calls made one after another). Cold-start init is not in it.
 */
export const DURATION_MODEL = { msPerInvocation: 20, msPerApiCall: 30 } as const;

export interface PerDrill {
  drills: number;
  failed: number;
  transitions: number;
  lambdaInvocations: number;
  apiCalls: number;
  gbSeconds: number;
  costUsd: number;
  /** The cost split: Step Functions transitions, Lambda requests, Lambda GB-seconds. */
  costUsdParts: { transitions: number; requests: number; compute: number };
}

const SECONDS_PER_MONTH = 30 * 86_400;

function memoryGb(): Map<string, number> {
  const config = loadServerlessConfig(projectRoot, { stage: 'prod' });
  return new Map(config.functions.map((f) => [f.key, f.memorySize / 1024]));
}

function gbSeconds(invocations: Record<string, number>, apiCalls: Record<string, number>): number {
  const memory = memoryGb();
  let total = 0;
  for (const [key, count] of Object.entries(invocations)) {
    const ms = count * DURATION_MODEL.msPerInvocation + (apiCalls[key] ?? 0) * DURATION_MODEL.msPerApiCall;
    total += (memory.get(key) ?? 0.128) * (ms / 1000);
  }
  return total;
}

const sum = (values: Record<string, number>) => Object.values(values).reduce((a, b) => a + b, 0);
const round = (value: number, digits: number) => Number(value.toFixed(digits));

/** One drill's share of a run: everything its workflow and its events caused, the schedules apart. */
export function perDrill(run: RunFigures): PerDrill {
  const drills = Math.max(1, run.drills);
  const transitions = run.transitions / drills;
  const lambdaInvocations = sum(run.invocations) / drills;
  const compute = gbSeconds(run.invocations, run.apiCalls) / drills;
  const parts = {
    transitions: transitions * PRICES.usdPerTransition,
    requests: lambdaInvocations * PRICES.usdPerRequest,
    compute: compute * PRICES.usdPerGbSecond,
  };
  return {
    drills: run.drills,
    failed: run.failed,
    transitions: round(transitions, 1),
    lambdaInvocations: round(lambdaInvocations, 1),
    apiCalls: round(sum(run.apiCalls) / drills, 1),
    gbSeconds: round(compute, 3),
    costUsd: round(parts.transitions + parts.requests + parts.compute, 7),
    costUsdParts: {
      transitions: round(parts.transitions, 7),
      requests: round(parts.requests, 8),
      compute: round(parts.compute, 8),
    },
  };
}

/** What the schedules (reconciler, orphan sweeper) cost a month whatever the drills, from what a run measured. */
export function scheduledPerMonth(runs: readonly RunFigures[]): {
  functions: Record<string, { runsPerMonth: number; apiCallsPerRun: number }>;
  costUsd: number;
} {
  const config = loadServerlessConfig(projectRoot, { stage: 'prod' });
  const functions: Record<string, { runsPerMonth: number; apiCallsPerRun: number }> = {};
  let costUsd = 0;
  for (const fn of config.functions) {
    if (fn.schedules.length === 0) continue;
    const invocations = runs.reduce((total, run) => total + (run.scheduled.invocations[fn.key] ?? 0), 0);
    const apiCalls = runs.reduce((total, run) => total + (run.scheduled.apiCalls[fn.key] ?? 0), 0);
    const apiCallsPerRun = invocations > 0 ? apiCalls / invocations : 0;
    // A function with several schedules (the reconciler, and its job check): the runs of all of them, at the
    // mean cost of the runs measured, which ran in the same proportion.
    const runsPerMonth = fn.schedules.reduce(
      (total, schedule) => total + (SECONDS_PER_MONTH * 1000) / schedule.everyMs,
      0,
    );
    functions[fn.key] = { runsPerMonth, apiCallsPerRun: round(apiCallsPerRun, 1) };
    costUsd +=
      runsPerMonth * PRICES.usdPerRequest +
      gbSeconds({ [fn.key]: runsPerMonth }, { [fn.key]: runsPerMonth * apiCallsPerRun }) *
        PRICES.usdPerGbSecond;
  }
  return { functions, costUsd: round(costUsd, 4) };
}

/** Nearest-rank percentile. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return (
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN
  );
}
