import { errorNames, sdkServices } from './aws-errors.js';
import { awsRegions } from './estate.js';

/**
 * Faults injected by name (the contract in DESIGN.md):
 *   api:Service.Operation=ErrorName[*N]   job:copy=FAILED   job:restore=FAILED|ABORTED|STUCK
 *   health=unhealthy   teardown=fail[*N]   lambda:NAME=crash[*N]   data=corrupt|stale|unreachable
 *   validator=fail|crash|timeout
 *   events:drop=FRACTION   events:delay=SECONDS   events:duplicate=N
 *   region:NAME=down (an additive extension: every API call into that region fails, as in a regional outage)
 *   events:jobs:drop=FRACTION   events:jobs:lag=MIN-MAX (additive: only the copy and restore job events AWS Backup
 *   sends, not the triggers; the lag, in seconds, replaces the default 5-300 s delivery lag of those events)
 * `*N` makes a fault happen N times, then stop; without it the fault is permanent.
 */
export class FaultSpecError extends Error {
  override readonly name = 'FaultSpecError';
}

export interface Faults {
  api: Map<string, { error: string; remaining: number }>;
  copyJob?: 'FAILED';
  restoreJob?: 'FAILED' | 'ABORTED' | 'STUCK';
  unhealthy: boolean;
  corruptData: boolean;
  /** data=stale: the restored data is older than the recovery point claims (the newest two hours are missing). */
  staleData: boolean;
  /** data=unreachable: the probe cannot connect to the restored database. */
  unreachableData: boolean;
  /**
   * validator=…: what the sandbox's own validator function (pilotlight-validator-sample, a user's Lambda)
   * does: answer a failing check, throw, or run past its Lambda timeout.
   */
  validator: 'fail' | 'crash' | 'timeout' | undefined;
  teardownFailures: number;
  lambdaCrashes: Map<string, number>;
  eventDrop: number;
  eventDelaySeconds: number;
  eventCopies: number;
  /** The fraction of copy and restore job events lost (on top of eventDrop, which applies to every event). */
  jobEventDrop: number;
  /** The delivery lag of copy and restore job events, in seconds; undefined keeps the default 5-300 s. */
  jobEventLag?: { minSeconds: number; maxSeconds: number };
  /** Regions in an outage: every API call into them fails. */
  downRegions: Set<string>;
}

const FOREVER = Number.POSITIVE_INFINITY;

function times(count: string | undefined, spec: string): number {
  if (count === undefined) return FOREVER;
  const n = Number(count);
  if (!Number.isInteger(n) || n < 1)
    throw new FaultSpecError(`fault "${spec}": *N must be a positive integer`);
  return n;
}

export function parseFaults(specs: readonly string[], functionNames: readonly string[]): Faults {
  const faults: Faults = {
    api: new Map(),
    unhealthy: false,
    corruptData: false,
    staleData: false,
    unreachableData: false,
    validator: undefined,
    teardownFailures: 0,
    lambdaCrashes: new Map(),
    eventDrop: 0,
    eventDelaySeconds: 0,
    eventCopies: 1,
    jobEventDrop: 0,
    downRegions: new Set(),
  };
  const fraction = (text: string | undefined, spec: string) => {
    const value = Number(text);
    if (!(value >= 0 && value <= 1))
      throw new FaultSpecError(`fault "${spec}": FRACTION must be between 0 and 1`);
    return value;
  };
  const rules: [RegExp, (m: RegExpMatchArray, spec: string) => void][] = [
    [
      /^api:([A-Za-z0-9]+)\.([A-Za-z0-9]+)=([A-Za-z0-9.]+)(?:\*(\d+))?$/,
      ([, service = '', operation = '', error = '', count], spec) => {
        checkApiFault(spec, service, operation, error);
        faults.api.set(`${service}.${operation}`, { error, remaining: times(count, spec) });
      },
    ],
    [/^job:copy=FAILED$/, () => (faults.copyJob = 'FAILED')],
    [
      /^job:restore=(FAILED|ABORTED|STUCK)$/,
      ([, outcome]) => (faults.restoreJob = outcome as Faults['restoreJob']),
    ],
    [/^health=unhealthy$/, () => (faults.unhealthy = true)],
    [/^data=corrupt$/, () => (faults.corruptData = true)],
    [/^data=stale$/, () => (faults.staleData = true)],
    [/^data=unreachable$/, () => (faults.unreachableData = true)],
    [
      /^validator=(fail|crash|timeout)$/,
      ([, kind]) => (faults.validator = kind === 'fail' ? 'fail' : kind === 'crash' ? 'crash' : 'timeout'),
    ],
    [/^teardown=fail(?:\*(\d+))?$/, ([, count], spec) => (faults.teardownFailures = times(count, spec))],
    [
      /^lambda:([A-Za-z0-9_-]+)=crash(?:\*(\d+))?$/,
      ([, name = '', count], spec) => {
        if (!functionNames.includes(name)) {
          throw new FaultSpecError(
            `fault "${spec}": no function "${name}" in serverless.yml (functions: ${functionNames.join(', ')})`,
          );
        }
        faults.lambdaCrashes.set(name, times(count, spec));
      },
    ],
    [/^events:drop=([0-9.]+)$/, ([, value], spec) => (faults.eventDrop = fraction(value, spec))],
    [/^events:jobs:drop=([0-9.]+)$/, ([, value], spec) => (faults.jobEventDrop = fraction(value, spec))],
    [
      /^events:jobs:lag=(\d+)-(\d+)$/,
      ([, min, max], spec) => {
        const [minSeconds, maxSeconds] = [Number(min), Number(max)];
        if (minSeconds > maxSeconds) throw new FaultSpecError(`fault "${spec}": MIN must not exceed MAX`);
        faults.jobEventLag = { minSeconds, maxSeconds };
      },
    ],
    [/^events:delay=(\d+)$/, ([, seconds]) => (faults.eventDelaySeconds = Number(seconds))],
    [
      /^events:duplicate=(\d+)$/,
      ([, copies], spec) => {
        if (Number(copies) < 1) throw new FaultSpecError(`fault "${spec}": N must be at least 1`);
        faults.eventCopies = Number(copies);
      },
    ],
    [
      /^region:([a-z]{2}(?:-[a-z]+)+-\d)=down$/,
      ([, region = ''], spec) => {
        if (!awsRegions.has(region))
          throw new FaultSpecError(
            `fault "${spec}": no AWS region "${region}"${nearest(region, awsRegions)}`,
          );
        faults.downRegions.add(region);
      },
    ],
  ];
  for (const spec of specs) {
    const rule = rules.find(([pattern]) => pattern.test(spec));
    const match = rule ? spec.match(rule[0]) : null;
    if (!rule || !match) {
      throw new FaultSpecError(
        `unknown fault "${spec}" (expected api:Service.Operation=Error[*N], job:copy=FAILED, job:restore=FAILED|ABORTED|STUCK, health=unhealthy, data=corrupt|stale|unreachable, validator=fail|crash|timeout, teardown=fail[*N], lambda:NAME=crash[*N], events:drop=FRACTION, events:delay=SECONDS, events:duplicate=N, events:jobs:drop=FRACTION, events:jobs:lag=MIN-MAX, region:NAME=down)`,
      );
    }
    rule[1](match, spec);
  }
  return faults;
}

/**
 * An api fault names what the SDK can send and the service can answer: the service's client package, one of
 * its `*Command` operations, one of its error names (aws-errors.ts). Anything else would never fire.
 */
function checkApiFault(spec: string, service: string, operation: string, error: string): void {
  const sdk = sdkServices.get(service);
  if (!sdk) {
    throw new FaultSpecError(
      `fault "${spec}": no AWS service "${service}" in the SDK clients${nearest(service, sdkServices.keys())}`,
    );
  }
  if (!sdk.operations.has(operation)) {
    throw new FaultSpecError(
      `fault "${spec}": ${service} has no operation "${operation}"${nearest(operation, sdk.operations)}`,
    );
  }
  const names = errorNames(service);
  if (!names.includes(error)) {
    throw new FaultSpecError(`fault "${spec}": ${service} never returns "${error}"${nearest(error, names)}`);
  }
}

/** " (did you mean A, B?)" with the closest valid names by edit distance, or "" when nothing is close. */
export function nearest(wanted: string, valid: Iterable<string>): string {
  const scored = [...valid]
    .map((name) => {
      const [w, n] = [wanted.toLowerCase(), name.toLowerCase()];
      // A name that extends what was typed (AccessDenied → AccessDeniedException) is as near as a typo.
      return { name, distance: w.length >= 4 && n.startsWith(w) ? 1 : editDistance(w, n) };
    })
    .filter(
      ({ name, distance }) => distance <= Math.max(2, Math.floor(Math.max(wanted.length, name.length) / 3)),
    )
    .sort((a, b) => a.distance - b.distance || a.name.localeCompare(b.name))
    .slice(0, 3);
  return scored.length > 0 ? ` (did you mean ${scored.map((s) => s.name).join(', ')}?)` : '';
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
