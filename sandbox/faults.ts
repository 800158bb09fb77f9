/**
 * Faults injected by name (the contract in DESIGN.md):
 *   api:Service.Operation=ErrorName[*N]   job:copy=FAILED   job:restore=FAILED|ABORTED|STUCK
 *   health=unhealthy   teardown=fail[*N]   lambda:NAME=crash[*N]   data=corrupt
 *   events:drop=FRACTION   events:delay=SECONDS   events:duplicate=N
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
  teardownFailures: number;
  lambdaCrashes: Map<string, number>;
  eventDrop: number;
  eventDelaySeconds: number;
  eventCopies: number;
}

const FOREVER = Number.POSITIVE_INFINITY;

function times(count: string | undefined, spec: string): number {
  if (count === undefined) return FOREVER;
  const n = Number(count);
  if (!Number.isInteger(n) || n < 1) throw new FaultSpecError(`fault "${spec}": *N must be a positive integer`);
  return n;
}

export function parseFaults(specs: readonly string[], functionNames: readonly string[]): Faults {
  const faults: Faults = {
    api: new Map(),
    unhealthy: false,
    corruptData: false,
    teardownFailures: 0,
    lambdaCrashes: new Map(),
    eventDrop: 0,
    eventDelaySeconds: 0,
    eventCopies: 1,
  };
  for (const spec of specs) {
    let m: RegExpMatchArray | null;
    if ((m = spec.match(/^api:([A-Za-z0-9]+)\.([A-Za-z0-9]+)=([A-Za-z0-9.]+)(?:\*(\d+))?$/))) {
      const [, service, operation, error, count] = m;
      faults.api.set(`${service}.${operation}`, { error: error ?? '', remaining: times(count, spec) });
    } else if ((m = spec.match(/^job:copy=(FAILED)$/))) {
      faults.copyJob = 'FAILED';
    } else if ((m = spec.match(/^job:restore=(FAILED|ABORTED|STUCK)$/))) {
      faults.restoreJob = m[1] as Faults['restoreJob'];
    } else if (spec === 'health=unhealthy') {
      faults.unhealthy = true;
    } else if (spec === 'data=corrupt') {
      faults.corruptData = true;
    } else if ((m = spec.match(/^teardown=fail(?:\*(\d+))?$/))) {
      faults.teardownFailures = times(m[1], spec);
    } else if ((m = spec.match(/^lambda:([A-Za-z0-9_-]+)=crash(?:\*(\d+))?$/))) {
      const name = m[1] ?? '';
      if (!functionNames.includes(name)) {
        throw new FaultSpecError(`fault "${spec}": no function "${name}" in serverless.yml (functions: ${functionNames.join(', ')})`);
      }
      faults.lambdaCrashes.set(name, times(m[2], spec));
    } else if ((m = spec.match(/^events:drop=([0-9.]+)$/))) {
      const fraction = Number(m[1]);
      if (!(fraction >= 0 && fraction <= 1)) throw new FaultSpecError(`fault "${spec}": FRACTION must be between 0 and 1`);
      faults.eventDrop = fraction;
    } else if ((m = spec.match(/^events:delay=(\d+)$/))) {
      faults.eventDelaySeconds = Number(m[1]);
    } else if ((m = spec.match(/^events:duplicate=(\d+)$/))) {
      const copies = Number(m[1]);
      if (copies < 1) throw new FaultSpecError(`fault "${spec}": N must be at least 1`);
      faults.eventCopies = copies;
    } else {
      throw new FaultSpecError(
        `unknown fault "${spec}" (expected api:Service.Operation=Error[*N], job:copy=FAILED, job:restore=FAILED|ABORTED|STUCK, health=unhealthy, data=corrupt, teardown=fail[*N], lambda:NAME=crash[*N], events:drop=FRACTION, events:delay=SECONDS, events:duplicate=N)`,
      );
    }
  }
  return faults;
}

/** Consumes one occurrence of a counted fault; true when the fault applies to this call. */
export function takeOne(remaining: number): [applies: boolean, left: number] {
  if (remaining <= 0) return [false, 0];
  return [true, remaining - 1];
}
