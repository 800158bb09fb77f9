import { supportedResourceTypes } from '../functions/resources/index.js';
import { errorNames, errorSpec } from '../sandbox/aws-errors.js';
import { EPOCH, Sandbox } from '../sandbox/index.js';

/**
 * The chaos matrix (issue 7, item 7): every operation the handlers call × {throttling, the service's 5xx,
 * AccessDenied} × {once, persistent}; every job × outcome; every Lambda × crash; lost, late, duplicated and
 * redelivered events; regions down; duplicate triggers; bursts — over seeds. What depends on the resource
 * type (the clean drill, drill and failover; job outcomes; the checks and teardown faults) runs on every type;
 * what does not (a fault on an operation, a Lambda crash, event delivery, duplicates, regions) runs once, on a
 * type taken in turn from those concerned, so eleven types cost eleven times only the type-specific part.
 *
 * Nothing here is a hand list of what Pilotlight calls: the operations and the functions that call them are
 * recorded from probe runs of the real handlers in the sandbox (a clean drill and a failed restore of each
 * type), the Lambda keys come from serverless.yml through the sandbox config, and the error names from the
 * sandbox's per-service error table (the SDK's modeled exceptions and the documented codes, with the HTTP
 * status and retry class the SDK sees).
 */

export type ResourceType = string;
/** Every type Pilotlight drills (the registry: functions/resources/index.ts). */
export const RESOURCE_TYPES: readonly ResourceType[] = supportedResourceTypes;

/** How the sandbox is driven; serialisable, so a worker process can run it. */
export type Drive =
  | { kind: 'event' }
  | { kind: 'unannounced' }
  | { kind: 'late-trigger'; minutes: number }
  | { kind: 'same-event-twice' }
  | { kind: 'redeliver-trigger'; minutes: number[] }
  | { kind: 'redeliver-job-events'; minutes: number }
  | { kind: 'plan-copy'; minutes: number }
  | { kind: 'manual' }
  | { kind: 'manual-during-event'; minutes: number }
  | { kind: 'two-manual' }
  | { kind: 'failover' }
  | { kind: 'burst'; types: ResourceType[]; count: number };

/**
 * What a scenario must end with.
 * - `succeed`: a transient fault (or none). Exactly one drill per recovery point, SUCCEEDED with evidence, no
 *   alert (a failover always alerts), nothing left after settling.
 * - `contain`: a fault that may be permanent. Every drill ends; a SUCCEEDED one has its evidence; a FAILED one
 *   has evidence and an alert naming it (or the documented substitutes below); at most one drill per recovery
 *   point; a trigger that started no drill is accounted for (skipped with a reason, a lost trigger, or a dead
 *   letter); nothing left after settling, except what the documented teardown exception allows.
 * - `burst`: `succeed` for every recovery point, plus admission control held (peak per type <= the
 *   restoreConcurrency limit) and no restore failed on a service quota.
 */
export type Expectation = 'succeed' | 'contain' | 'burst';

export interface Scenario {
  /** Position in the full matrix (stable under --filter): the scenario's simulated start date derives from it. */
  index: number;
  name: string;
  group: string;
  seed: number;
  faults: string[];
  drive: Drive;
  /** The resource type(s) the scenario drills. */
  types: ResourceType[];
  expect: Expectation;
  /** Why this expectation (printed with --list and in --json). */
  why: string;
  /** The injected fault that must fire at least once, or the scenario tests nothing. */
  mustFire?: { api?: string; lambda?: string };
  /** Documented substitutes, derived from what the persistent fault breaks (see promises.ts). */
  excuses: {
    /** Teardown or the orphan sweeper is what fails for good: a leftover is allowed if it is tagged managed. */
    leftover?: boolean;
    /** Recording evidence is what fails: an alert saying EVIDENCE NOT RECORDED stands in for the evidence. */
    evidence?: boolean;
    /** Sending the alert is what fails: the AlertsNotSent metric (or, if publishResult itself dies, the
     * failed execution, which the executions-failed alarm reports: 'execution') stands in for the alert. */
    alert?: boolean | 'execution';
  };
}

/** What the handlers really call, recorded from probe runs. */
export interface Surface {
  /** Service.Operation → the functions that called it and the probe it was first seen in. */
  operations: Map<
    string,
    { callers: Set<string>; types: Set<ResourceType>; probe: string; probeFaults: string[] }
  >;
  /** Every function key in serverless.yml, with the probe it was first invoked in (if any). */
  functions: Map<string, { types: Set<ResourceType>; probe?: string; probeFaults: string[] }>;
  /** The sandbox's `restoreConcurrency` param, parsed. */
  restoreLimits: Record<string, number>;
  /** The regions the deployment touches: the stack's (central and production) and the DR region. */
  regions: { central: string; dr: string };
}

/** Probes: a clean drill shows the happy path; a failed restore shows the failure path (SendTaskFailure, SNS). */
const PROBES: { name: string; faults: string[] }[] = [
  { name: 'clean', faults: [] },
  { name: 'restore FAILED', faults: ['job:restore=FAILED'] },
];

/** Each scenario (and probe) in a process starts 11 simulated days after the previous one could have ended
 * (10-day horizon + settling), so the assumed-role sessions the handler modules cache never carry over. */
export const SCENARIO_SPACING_MS = 11 * 86_400_000;

export async function probeSurface(): Promise<Surface> {
  const operations: Surface['operations'] = new Map();
  const functions: Surface['functions'] = new Map();
  let restoreLimits: Record<string, number> = {};
  let regions = { central: '', dr: '' };
  let n = 0;
  for (const probe of PROBES) {
    for (const type of RESOURCE_TYPES) {
      const sandbox = await Sandbox.create({
        seed: 1,
        faults: probe.faults,
        startAt: EPOCH + n++ * SCENARIO_SPACING_MS,
      });
      try {
        if (functions.size === 0)
          for (const fn of sandbox.config.functions)
            functions.set(fn.key, { types: new Set(), probeFaults: [] });
        restoreLimits = parseLimits(sandbox.config.params.restoreConcurrency ?? '');
        regions = { central: sandbox.config.region, dr: sandbox.world.settings.drRegion };
        const authorize = sandbox.iam.authorize.bind(sandbox.iam);
        sandbox.iam.authorize = (call, provisioned) => {
          const key = `${call.service}.${call.operation}`;
          if (provisioned && call.caller.functionKey) {
            let op = operations.get(key);
            if (!op) {
              op = { callers: new Set(), types: new Set(), probe: probe.name, probeFaults: probe.faults };
              operations.set(key, op);
            }
            op.callers.add(call.caller.functionKey);
            op.types.add(type);
          }
          return authorize(call, provisioned);
        };
        const invoke = sandbox.lambda.invoke.bind(sandbox.lambda);
        sandbox.lambda.invoke = (key, event) => {
          const fn = functions.get(key);
          if (fn) {
            fn.types.add(type);
            if (fn.probe === undefined) {
              fn.probe = probe.name;
              fn.probeFaults = probe.faults;
            }
          }
          return invoke(key, event);
        };
        sandbox.backupCompleted(type);
        sandbox.keepAliveFor(3 * 3600);
        await sandbox.runToSettled();
      } finally {
        sandbox.dispose();
      }
    }
  }
  return { operations, functions, restoreLimits, regions };
}

export function parseLimits(spec: string): Record<string, number> {
  const limits: Record<string, number> = {};
  for (const pair of spec.split(',')) {
    const [type, value] = pair.trim().split('=');
    if (type && value) limits[type] = Number(value);
  }
  return limits;
}

/** The error names every service shares (the "Common Errors" of every API reference). */
function commonErrors(services: Iterable<string>): Set<string> {
  let common: Set<string> | undefined;
  for (const service of services) {
    const names = new Set(errorNames(service));
    common = common ? new Set([...common].filter((name) => names.has(name))) : names;
  }
  return common ?? new Set();
}

/**
 * The error a service answers with, by class, from the sandbox's table: the service's own name where it has
 * one (DynamoDB ProvisionedThroughputExceededException, EC2 RequestLimitExceeded, S3 SlowDown; EC2/S3/SNS
 * InternalError, DynamoDB InternalServerError), else the common one (ThrottlingException, InternalFailure).
 * KMS throttling is another service's answer, and is left out.
 */
export function errorFor(
  service: string,
  kind: 'throttling' | '5xx' | 'denied',
  common: Set<string>,
): string {
  const names = errorNames(service);
  const own = names.filter((name) => !common.has(name) && !/^kms/i.test(name));
  if (kind === 'denied') {
    // How each service words an IAM denial (docs/architecture.md, "IAM"): EC2 UnauthorizedOperation,
    // SNS AuthorizationError, STS/RDS/S3 AccessDenied, the others AccessDeniedException.
    for (const name of ['UnauthorizedOperation', 'AuthorizationError', 'AccessDenied'])
      if (own.includes(name)) return name;
    return 'AccessDeniedException';
  }
  if (kind === 'throttling') {
    const mine = own.filter((name) => errorSpec(service, name)?.retry === 'throttling');
    return (
      mine.find((name) => /Throttl|SlowDown|RequestLimitExceeded|ProvisionedThroughput/.test(name)) ??
      'ThrottlingException'
    );
  }
  const mine = own.filter((name) => {
    const spec = errorSpec(service, name);
    return spec !== undefined && spec.status >= 500 && spec.retry === 'transient';
  });
  return (
    mine.find((name) => /Internal/.test(name)) ??
    mine.find((name) => /Unavailable/.test(name)) ??
    'InternalFailure'
  );
}

export interface MatrixOptions {
  /** Seeds per scenario class; undefined: the defaults below. */
  seeds?: number;
}

/** Seeds per class by default: the cheap classes over several seeds, the 300-odd API cells over one each
 * (rotating, so the matrix as a whole runs over several seeds). */
const DEFAULT_SEEDS = {
  baseline: 2,
  api: 1,
  lambda: 1,
  job: 2,
  checks: 1,
  events: 1,
  duplicates: 2,
  regions: 2,
  burst: 1,
};

export function buildMatrix(surface: Surface, options: MatrixOptions = {}): Scenario[] {
  const scenarios: Scenario[] = [];
  const seedsOf = (group: keyof typeof DEFAULT_SEEDS) =>
    Array.from({ length: options.seeds ?? DEFAULT_SEEDS[group] }, (_, i) => i + 1);
  let rotating = 0;
  // The type a type-independent scenario runs on: the next in turn among those concerned.
  let turn = 0;
  const inTurn = (types: readonly ResourceType[]): ResourceType => {
    const type = types[turn++ % Math.max(1, types.length)];
    if (type === undefined) throw new Error('no resource type to run the scenario on');
    return type;
  };
  const add = (
    s: Omit<Scenario, 'index' | 'name' | 'excuses'> & { label: string; excuses?: Scenario['excuses'] },
  ) => {
    const { label, ...rest } = s;
    scenarios.push({
      ...rest,
      excuses: s.excuses ?? {},
      index: scenarios.length,
      name: `${s.group}/${s.types.join('+')}/${label}#s${s.seed}`,
    });
  };
  const teardownPath = (callers: Set<string>) => callers.has('teardown') || callers.has('sweepOrphans');

  // Baseline: the promises with no fault at all, drill and failover.
  for (const seed of seedsOf('baseline'))
    for (const type of RESOURCE_TYPES) {
      add({
        group: 'baseline',
        label: 'event',
        types: [type],
        seed,
        faults: [],
        drive: { kind: 'event' },
        expect: 'succeed',
        why: 'no fault',
      });
      add({
        group: 'baseline',
        label: 'manual',
        types: [type],
        seed,
        faults: [],
        drive: { kind: 'manual' },
        expect: 'succeed',
        why: 'no fault',
      });
      add({
        group: 'baseline',
        label: 'failover',
        types: [type],
        seed,
        faults: [],
        drive: { kind: 'failover' },
        expect: 'succeed',
        why: 'a failover keeps what it restores (tagged mode=failover, not "left") and always alerts',
      });
    }

  // Every operation × {throttling, 5xx, AccessDenied} × {once, persistent}, on each type that calls it.
  const common = commonErrors(new Set([...surface.operations.keys()].map((key) => key.split('.')[0] ?? '')));
  for (const [key, op] of [...surface.operations].sort(([a], [b]) => a.localeCompare(b))) {
    const service = key.split('.')[0] ?? '';
    const concerned = RESOURCE_TYPES.filter((type) => op.types.has(type));
    for (const type of [inTurn(concerned)]) {
      for (const kind of ['throttling', '5xx', 'denied'] as const) {
        const error = errorFor(service, kind, common);
        for (const persistent of [false, true]) {
          for (const seedOffset of seedsOf('api')) {
            const seed = options.seeds ? seedOffset : 1 + (rotating++ % 3);
            const fault = `api:${key}=${error}${persistent ? '' : '*1'}`;
            // Throttling and 5xx once: the SDK retries them (standard mode, 3 attempts), so the drill must not
            // notice. One AccessDenied is not retried by anyone (it is not transient by its class): the drill
            // may fail, but then as a failure (alert, evidence), never silently. Persistent: anything may fail,
            // nothing may be lost or left.
            const transient = !persistent && kind !== 'denied';
            const base = op.probeFaults;
            add({
              group: 'api',
              label: `${fault}${base.length ? `+${base.join('+')}` : ''}`,
              types: [type],
              seed,
              faults: [...base, fault],
              drive: { kind: 'event' },
              expect: transient && base.length === 0 ? 'succeed' : 'contain',
              why: transient
                ? base.length
                  ? `retried by the SDK; the base fault (${base.join()}) still fails the drill, with its alert`
                  : 'throttling/5xx once is retried by the SDK'
                : persistent
                  ? 'persistent: may fail, must be contained'
                  : 'AccessDenied once: not retried by class; may fail, must alert',
              mustFire: { api: key },
              // An AccessDenied is not retried, so even once it is as final for that call as a persistent fault.
              excuses: !transient
                ? {
                    leftover: teardownPath(op.callers),
                    evidence: op.callers.has('recordEvidence'),
                    alert: op.callers.has('publishResult'),
                  }
                : {},
            });
          }
        }
      }
    }
  }

  // Every Lambda × crash {once, persistent}; a function the clean probe never runs gets the probe's base fault.
  for (const [fn, info] of [...surface.functions].sort(([a], [b]) => a.localeCompare(b))) {
    for (const type of [inTurn(RESOURCE_TYPES.filter((t) => info.types.size === 0 || info.types.has(t)))]) {
      for (const persistent of [false, true]) {
        for (const seedOffset of seedsOf('lambda')) {
          const seed = options.seeds ? seedOffset : 1 + (rotating++ % 3);
          const fault = `lambda:${fn}=crash${persistent ? '' : '*1'}`;
          const base = info.probeFaults;
          add({
            group: 'lambda',
            label: `${fault}${base.length ? `+${base.join('+')}` : ''}`,
            types: [type],
            seed,
            faults: [...base, fault],
            drive: { kind: 'event' },
            // One crash: Lambda's async retries (events, schedules) or the state machine's Retry on
            // Lambda.Unknown absorb it.
            expect: !persistent && base.length === 0 ? 'succeed' : 'contain',
            why: persistent ? 'a function that always crashes: contained' : 'one crash is retried',
            ...(info.probe !== undefined ? { mustFire: { lambda: fn } } : {}),
            excuses: persistent
              ? {
                  leftover: fn === 'teardown' || fn === 'sweepOrphans',
                  evidence: fn === 'recordEvidence',
                  alert: fn === 'publishResult' ? 'execution' : false,
                }
              : {},
          });
        }
      }
    }
  }

  // Every job × outcome the fault grammar has (copy: FAILED; restore: FAILED, ABORTED, STUCK): permanent.
  for (const seed of seedsOf('job'))
    for (const type of RESOURCE_TYPES)
      for (const fault of [
        'job:copy=FAILED',
        'job:restore=FAILED',
        'job:restore=ABORTED',
        'job:restore=STUCK',
      ])
        add({
          group: 'job',
          label: fault,
          types: [type],
          seed,
          faults: [fault],
          drive: { kind: 'event' },
          expect: 'contain',
          why: 'the job fails: FAILED with alert and evidence',
        });

  // The checks and teardown faults of the grammar.
  for (const seed of seedsOf('checks'))
    for (const type of RESOURCE_TYPES) {
      for (const fault of ['health=unhealthy', 'data=corrupt'])
        add({
          group: 'checks',
          label: fault,
          types: [type],
          seed,
          faults: [fault],
          drive: { kind: 'event' },
          expect: 'contain',
          why: 'the restore is not valid: FAILED, alert, evidence, torn down',
        });
      add({
        group: 'checks',
        label: 'teardown=fail*1',
        types: [type],
        seed,
        faults: ['teardown=fail*1'],
        drive: { kind: 'event' },
        expect: 'succeed',
        why: 'teardown retries TeardownIncomplete',
      });
      add({
        group: 'checks',
        label: 'teardown=fail',
        types: [type],
        seed,
        faults: ['teardown=fail'],
        drive: { kind: 'event' },
        expect: 'contain',
        why: 'teardown fails for good: the drill fails and alerts; the leftover must carry the managed tag',
        excuses: { leftover: true },
      });
    }

  // Events: lost, late, duplicated, redelivered with a new id; trigger events and job events.
  const events: { label: string; drive: Drive; faults: string[]; why: string }[] = [
    {
      label: 'trigger lost',
      drive: { kind: 'unannounced' },
      faults: [],
      why: 'the reconciler lists the backup job after its 15-minute grace',
    },
    {
      label: 'trigger late 10m',
      drive: { kind: 'late-trigger', minutes: 10 },
      faults: [],
      why: 'a late trigger still drills once',
    },
    {
      label: 'trigger late 2h',
      drive: { kind: 'late-trigger', minutes: 120 },
      faults: [],
      why: 'the reconciler drills first; the late event is skipped',
    },
    {
      label: 'all events duplicated x3',
      drive: { kind: 'event' },
      faults: ['events:duplicate=3'],
      why: 'the claim and the JOB# item make duplicates no-ops',
    },
    {
      label: 'job events lost',
      drive: { kind: 'manual' },
      faults: ['events:drop=1'],
      why: 'the reconciler resumes the drill from DescribeCopyJob/DescribeRestoreJob',
    },
    {
      label: 'all events lost',
      drive: { kind: 'event' },
      faults: ['events:drop=1'],
      why: 'the reconciler finds the backup and resumes every wait',
    },
    {
      label: 'job events late 30m',
      drive: { kind: 'event' },
      faults: ['events:delay=1800'],
      why: 'late job events, or the reconciler, resume the drill',
    },
    {
      label: 'job events redelivered new id +20m',
      drive: { kind: 'redeliver-job-events', minutes: 20 },
      faults: [],
      why: 'a second resume finds the JOB# item done',
    },
    {
      label: 'job events redelivered new id +6h',
      drive: { kind: 'redeliver-job-events', minutes: 360 },
      faults: [],
      why: 'a resume after the drill ended changes nothing',
    },
  ];
  for (const seed of seedsOf('events'))
    for (const e of events)
      for (const type of [inTurn(RESOURCE_TYPES)])
        add({
          group: 'events',
          label: e.label,
          types: [type],
          seed,
          faults: e.faults,
          drive: e.drive,
          expect: 'succeed',
          why: e.why,
        });

  // Duplicate triggers of every kind: one drill per recovery point.
  const duplicates: { label: string; drive: Drive }[] = [
    { label: 'same event twice', drive: { kind: 'same-event-twice' } },
    { label: 'redelivered new id', drive: { kind: 'redeliver-trigger', minutes: [3, 90] } },
    { label: 'plan copy event', drive: { kind: 'plan-copy', minutes: 45 } },
    { label: 'plan copy before event', drive: { kind: 'plan-copy', minutes: -5 } },
    { label: 'manual during event drill', drive: { kind: 'manual-during-event', minutes: 20 } },
    { label: 'two manual starts', drive: { kind: 'two-manual' } },
  ];
  for (const seed of seedsOf('duplicates'))
    for (const d of duplicates)
      for (const type of [inTurn(RESOURCE_TYPES)])
        add({
          group: 'duplicates',
          label: d.label,
          types: [type],
          seed,
          faults: [],
          drive: d.drive,
          expect: 'succeed',
          why: 'every trigger claims the recovery point first',
        });

  // Regions down: the stack's (and production's) region, and the DR region.
  for (const seed of seedsOf('regions'))
    for (const region of new Set([surface.regions.central, surface.regions.dr]))
      for (const type of [inTurn(RESOURCE_TYPES)]) {
        const central = region === surface.regions.central;
        add({
          group: 'regions',
          label: `region:${region}=down`,
          types: [type],
          seed,
          faults: [`region:${region}=down`],
          drive: { kind: 'event' },
          expect: 'contain',
          why: central
            ? 'the stack region is down: no drill can start; the trigger ends in a dead letter'
            : 'the DR region is down: the drill fails, with alert and evidence from the stack region',
          excuses: central ? { alert: true, evidence: true } : { leftover: true },
        });
      }

  // Bursts: 40 drills of one type (in turn), and 40 of every type mixed.
  for (const seed of seedsOf('burst'))
    for (const types of [[inTurn(RESOURCE_TYPES)], [...RESOURCE_TYPES]])
      add({
        group: 'burst',
        label: `${40} drills`,
        types,
        seed,
        faults: [],
        drive: { kind: 'burst', types, count: 40 },
        expect: 'burst',
        why: 'a burst queues: all succeed, at most restoreConcurrency at once, no quota failure',
      });

  return scenarios;
}
