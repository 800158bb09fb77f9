import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SimulatedAwsError, unavailableError } from './aws-errors.js';
import { VirtualClock } from './clock.js';
import { StackNames } from './cloudformation.js';
import { CloudWatch, type MetricDatum } from './cloudwatch.js';
import { dynaliteInProcess, dynamoEndpoint, recreateTable } from './dynamodb.js';
import { DrillDatabases } from './engines/drill-databases.js';
import { type Delivery, EventBridge, type ScheduledRun } from './eventbridge.js';
import type { EventBridgeEvent } from './events.js';
import { type Faults, parseFaults } from './faults.js';
import { Iam } from './iam.js';
import { currentFunction, registerPrincipal } from './identity.js';
import { type ApiCall, installInterceptor } from './interceptor.js';
import { LambdaRuntime } from './lambda-runtime.js';
import { Random } from './random.js';
import { servicePassThrough } from './resources/index.js';
import { PROD_ACCOUNT, PROD_REGION, Scenario } from './scenario.js';
import { type Json, loadServerlessConfig, projectRoot, type ServerlessConfig } from './serverless-config.js';
import { dispatch, serviceOperations } from './services.js';
import { StepFunctionsSimulator } from './step-functions.js';
import { QUOTAS, type Quotas, type RestoredResource, World } from './world.js';

export type { MetricDatum } from './cloudwatch.js';
export { EventInputError, eventTimes, validateEvent } from './estate.js';
export type { Delivery, ScheduledRun } from './eventbridge.js';
export type { EventBridgeEvent } from './events.js';
export { FaultSpecError } from './faults.js';
export { PROD_ACCOUNT, PROD_REGION } from './scenario.js';

/** The simulated accounts (production: PROD_ACCOUNT, scenario.ts). The DR account and region come from serverless.yml's params. */
export const CENTRAL_ACCOUNT = '222222222222';
/** 2026-01-05T02:00:00Z, a Monday night: a run starts here in simulated time unless told otherwise. */
export const EPOCH = Date.UTC(2026, 0, 5, 2, 0, 0);
const STAGE = 'sandbox';
/** The tag a failover puts on what it restores and keeps (functions/lib/drill.ts MODE_TAG). */
const MODE_TAG = 'pilotlight:mode';
/** A simulation that has not finished after this much simulated time is stuck, not slow. */
const HORIZON_MS = 10 * 86_400_000;

export interface SandboxOptions {
  seed?: number;
  faults?: readonly string[];
  root?: string;
  /**
   * The region the Pilotlight stack is deployed to (`serverless deploy --region`); by default the one
   * serverless.yml names. Set it to the DR region to run the standby deployment.
   */
  region?: string;
  /** Service quota overrides (`--quota NAME=N`); see QUOTAS in world.ts for the names and defaults. */
  quotas?: Partial<Quotas>;
  /** When the simulated clock starts (ms since 1970), e.g. the first delivered event's `time`; EPOCH by default. */
  startAt?: number;
  /**
   * Another design deployed in place of this one (the bench's polling baseline): the state machine definition
   * (ASL as parsed from YAML, `Fn::GetAtt` allowed) run instead of serverless.yml's, under the same name.
   * Unlike the drill's, it may contain Wait states (`Seconds`), slept on the virtual clock.
   */
  stateMachineDefinition?: Record<string, Json>;
  /**
   * Handler modules (`path/module.export`, from the project root) run under functions of serverless.yml, with
   * that function's role, memory and environment but without its event rules and schedules (another design's
   * function with the same permissions).
   */
  functionHandlers?: Record<string, string>;
  /**
   * Deployment parameters, as `serverless deploy --param name=value` gives them (e.g. `maxOpenDrills`). The
   * handler modules read their configuration once per process, as a Lambda container does: every sandbox of
   * a process must be deployed with the same parameters (Sandbox.create refuses another set).
   */
  params?: Record<string, string>;
  /**
   * Accounts added to the deployment's `sourceAccounts` (`pilotlight drill --source-account`): intake drills
   * their events and the reconciler lists their backup jobs. Any other account's events are skipped.
   */
  sourceAccounts?: readonly string[];
}

/** serverless.yml's functions with some handlers replaced (SandboxOptions.functionHandlers). */
function withHandlers(config: ServerlessConfig, handlers: Record<string, string>): ServerlessConfig {
  for (const key of Object.keys(handlers)) {
    if (!config.functions.some((f) => f.key === key))
      throw new Error(`functionHandlers: no function "${key}" in serverless.yml`);
  }
  return {
    ...config,
    functions: config.functions.map((spec) => {
      const handler = handlers[spec.key];
      if (handler === undefined) return spec;
      const dot = handler.lastIndexOf('.');
      return {
        ...spec,
        handler,
        modulePath: handler.slice(0, dot),
        exportName: handler.slice(dot + 1),
        eventBridge: [],
        schedules: [],
      };
    }),
  };
}

/**
 * The environment the handler modules of this process were loaded with: their configuration (and clients)
 * are module state, read once, so a sandbox with another configuration would silently run on the old one.
 */
let processEnvironment: Record<string, string> | undefined;

let running = false;
/**
 * The previous sandbox's servers closing (dynalite, PGlite). A new sandbox starts after they have closed: a
 * server closing under the next run's simulated `Date` would read a clock that jumped.
 */
let closing: Promise<unknown> = Promise.resolve();

/**
 * The local AWS: the real state machine (from serverless.yml and statemachines/) and the real handlers,
 * with AWS simulated at the SDK boundary on a virtual clock. Create, drive (scenario or event), run until
 * every drill has finished, read the report, dispose.
 */
export class Sandbox {
  readonly clock: VirtualClock;
  /** When this run's simulated clock started. */
  readonly epoch: number;
  readonly random: Random;
  /** The run's seed (`--seed`). */
  readonly seed: number;
  readonly faults: Faults;
  readonly config: ServerlessConfig;
  readonly names: StackNames;
  readonly world: World;
  readonly lambda: LambdaRuntime;
  readonly stepFunctions: StepFunctionsSimulator;
  /** IAM, evaluated for every call each function makes (sandbox/iam.ts). */
  readonly iam: Iam;
  readonly events: EventBridge;
  readonly cloudwatch: CloudWatch;
  readonly scenario: Scenario;
  apiCalls = 0;
  /** API calls per calling function key; calls made outside any function (provisioning) under "(sandbox)". */
  readonly apiCallsByFunction = new Map<string, number>();
  private provisioned = false;
  /** API calls per region the caller addressed (counted even when a region is down). */
  readonly callsByRegion = new Map<string, number>();
  /** Every SDK retry backoff a handler waited, in simulated milliseconds. */
  readonly sdkBackoffs: number[] = [];
  private readonly wallStart = performance.now();
  private readonly cleanups: (() => void)[] = [];
  private started = false;

  private constructor(options: SandboxOptions) {
    this.epoch = options.startAt ?? EPOCH;
    this.clock = new VirtualClock(this.epoch);
    this.seed = options.seed ?? 1;
    this.random = new Random(this.seed);
    const load = (params?: Record<string, string>) =>
      withHandlers(
        loadServerlessConfig(options.root ?? projectRoot, { stage: STAGE, region: options.region, params }),
        options.functionHandlers ?? {},
      );
    this.config = load(options.params);
    if (options.sourceAccounts?.length) {
      const configured = (this.config.params.sourceAccounts ?? '').split(',').map((a) => a.trim());
      const sourceAccounts = [...new Set([...configured, ...options.sourceAccounts].filter(Boolean))];
      this.config = load({ ...options.params, sourceAccounts: sourceAccounts.join(',') });
    }
    this.faults = parseFaults(
      options.faults ?? [],
      this.config.functions.map((f) => f.key),
    );
    this.names = new StackNames(this.config, CENTRAL_ACCOUNT);
    const p = this.config.params;
    const resources = this.config.resources;
    const ofType = (type: string) => Object.keys(resources).filter((id) => resources[id]?.Type === type);
    this.world = new World(
      {
        centralAccount: CENTRAL_ACCOUNT,
        // The production estate's account, and every account the deployment drills (param sourceAccounts),
        // with the source-account stack; other accounts join when an event of theirs arrives (provisionFor).
        sourceAccounts: [
          ...new Set([
            PROD_ACCOUNT,
            ...(p.sourceAccounts ?? '')
              .split(',')
              .map((account) => account.trim())
              .filter(Boolean),
          ]),
        ],
        sourceRegion: PROD_REGION,
        drAccount: this.param(p, 'drAccountId'),
        drRegion: this.param(p, 'drRegion'),
        drVaultName: this.param(p, 'drVaultName'),
        drRoleName: this.param(p, 'drRoleName'),
        drTeardownRoleName: this.param(p, 'drTeardownRoleName'),
        sourceRoleName: this.param(p, 'sourceRoleName'),
        externalId: this.param(p, 'externalId'),
        copyRoleName: p.copyRoleName,
        organizationId: p.organizationId,
        topics: ofType('AWS::SNS::Topic').map((id) => this.names.ref(id)),
        buckets: ofType('AWS::S3::Bucket').map((id) => {
          const lock = resources[id]?.Properties?.ObjectLockConfiguration as
            | { Rule?: { DefaultRetention?: { Days?: Json } } }
            | undefined;
          const days = lock?.Rule?.DefaultRetention?.Days;
          return { name: this.names.ref(id), objectLockDays: days === undefined ? undefined : Number(days) };
        }),
        quotas: { ...QUOTAS, ...options.quotas },
      },
      this.clock,
      this.random,
      this.faults,
      (event) => this.publishEvent(event, false),
    );
    this.lambda = new LambdaRuntime(this.config, this.random, this.faults);
    this.events = new EventBridge(this.config, this.clock, this.random, this.faults, this.lambda);
    this.cloudwatch = new CloudWatch(this.clock);
    this.iam = new Iam(this.config, this.names, this.world, {
      centralAccount: CENTRAL_ACCOUNT,
      drAccount: this.world.settings.drAccount,
      drRegion: this.world.settings.drRegion,
      sourceAccounts: this.world.settings.sourceAccounts,
      sourceRegion: PROD_REGION,
      organizationId: this.param(p, 'organizationId'),
      stage: STAGE,
    });
    const machine = this.config.stateMachines[0];
    if (!machine) throw new Error('serverless.yml declares no state machine');
    const functionKeys = new Map(this.config.functions.map((f) => [this.names.functionArn(f.key), f.key]));
    this.stepFunctions = new StepFunctionsSimulator(
      this.names.stateMachineArn(machine.name),
      this.names.resolve(options.stateMachineDefinition ?? machine.definition) as Record<string, Json>,
      functionKeys,
      this.lambda,
      this.clock,
      this.random,
      { waitStates: options.stateMachineDefinition !== undefined },
    );
    this.scenario = new Scenario(
      this.world,
      this.iam,
      this.events,
      this.stepFunctions,
      this.clock,
      this.random,
      {
        subnetGroup: this.param(this.config.params, 'restoreDbSubnetGroup'),
        securityGroupIds: this.param(this.config.params, 'restoreSecurityGroupIds')
          .split(',')
          .map((id) => id.trim()),
        availabilityZone: this.param(this.config.params, 'restoreAvailabilityZone'),
      },
    );
  }

  private param(params: Record<string, string>, name: string): string {
    const value = params[name];
    if (!value) throw new Error(`serverless.yml: params.default.${name} is needed by the sandbox`);
    return value;
  }

  /** Builds a sandbox; throws FaultSpecError for a bad fault (before anything runs). */
  static async create(options: SandboxOptions = {}): Promise<Sandbox> {
    if (running) throw new Error('only one sandbox can run at a time in a process');
    running = true;
    let sandbox: Sandbox;
    try {
      await closing;
      sandbox = new Sandbox(options);
    } catch (error) {
      running = false;
      throw error;
    }
    try {
      await sandbox.start();
    } catch (error) {
      sandbox.dispose();
      throw error;
    }
    return sandbox;
  }

  private async start(): Promise<void> {
    // The credentials in the (shared) process environment: each function's own role while its handler runs
    // (identity.ts), the deployment's (CloudFormation's) while the sandbox provisions the stack.
    const accessKeyId = 'ASIASBXLAMBDAROLE0001';
    const deployer = `arn:aws:iam::${CENTRAL_ACCOUNT}:role/pilotlight-${STAGE}-cloudformation`;
    registerPrincipal(accessKeyId, {
      account: CENTRAL_ACCOUNT,
      roleArn: deployer,
      sessionArn: `arn:aws:sts::${CENTRAL_ACCOUNT}:assumed-role/pilotlight-${STAGE}-cloudformation/deploy`,
      expiresAt: Number.POSITIVE_INFINITY,
      lambdaRuntime: true,
    });
    this.iam.registerFunctionCredentials();
    const environment: Record<string, string> = {
      AWS_REGION: this.config.region,
      AWS_DEFAULT_REGION: this.config.region,
      AWS_ACCESS_KEY_ID: accessKeyId,
      AWS_SECRET_ACCESS_KEY: 'sandbox-not-a-secret',
      AWS_SESSION_TOKEN: 'sandbox-session',
      AWS_ENDPOINT_URL_DYNAMODB: await dynamoEndpoint(),
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      POWERTOOLS_DEV: 'false',
    };
    for (const source of [
      this.config.providerEnvironment,
      ...this.config.functions.map((f) => f.environment),
    ]) {
      for (const [name, value] of Object.entries(source)) {
        if (name === 'NODE_OPTIONS') continue;
        const resolved = String(this.names.resolve(value));
        if (
          name in environment &&
          environment[name] !== resolved &&
          !(name in this.config.providerEnvironment)
        ) {
          throw new Error(
            `the sandbox runs every function in one process: ${name} differs between functions`,
          );
        }
        environment[name] = resolved;
      }
    }
    if (processEnvironment) {
      const changed = Object.keys({ ...processEnvironment, ...environment }).filter(
        (name) => processEnvironment?.[name] !== environment[name],
      );
      if (changed.length > 0) {
        throw new Error(
          `the handler modules of this process were loaded with another configuration (${changed.join(', ')}): they read it once, as a Lambda container does; run a sandbox with other params in a new process`,
        );
      }
    }
    processEnvironment = environment;
    const previous = Object.fromEntries(Object.keys(environment).map((name) => [name, process.env[name]]));
    Object.assign(process.env, environment);
    this.cleanups.push(() => {
      for (const [name, value] of Object.entries(previous)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    });

    // STS draws its session keys from a stream of its own: whether a handler module still holds a role session
    // from an earlier sandbox in this process (a fidelity gap: Lambda containers do not share them) must not
    // shift the run's own random sequence, so the same seed gives the same run, first or not.
    const operations = serviceOperations(
      this.world,
      this.stepFunctions,
      new Random((this.seed ^ 0x5354_5331) >>> 0),
    );
    this.cleanups.push(
      installInterceptor({
        // Pilotlight's state table lives in dynalite (a real DynamoDB implementation) on loopback; a service
        // module may route its own calls elsewhere (the DR account's tables live in that account's dynalite).
        passThrough: (call) => servicePassThrough(this.world, call) ?? call.service === 'DynamoDB',
        transport: dynaliteInProcess,
        onCall: (call) => this.countCall(call),
        authorize: (call) => this.iam.authorize(call, this.provisioned),
        handler: (call) => dispatch(operations, call),
        backoff: async (delayFor) => {
          // Outside a handler (the sandbox creating the state table in dynalite) nothing advances the
          // virtual clock yet: wait in wall time, as the SDK would have, without touching the seeded random.
          if (this.lambda.inFlight === 0)
            return new Promise((resolve) => setTimeout(resolve, delayFor(Math.random())));
          const delay = delayFor(this.random.float());
          this.sdkBackoffs.push(delay);
          this.lambda.suspend();
          try {
            await this.clock.sleep(delay);
          } finally {
            this.lambda.resume();
          }
        },
      }),
    );
    this.cleanups.push(this.cloudwatch.capture());
    this.clock.install();
    this.cleanups.push(() => this.clock.uninstall());

    const table = Object.values(this.config.resources).find((r) => r.Type === 'AWS::DynamoDB::Table');
    if (table?.Properties) {
      const client = new DynamoDBClient({
        region: this.config.region,
        endpoint: environment.AWS_ENDPOINT_URL_DYNAMODB,
      });
      await recreateTable(client, this.names.resolve(table.Properties) as Record<string, Json>);
      client.destroy();
    }
    for (const fn of this.config.functions) {
      for (const schedule of fn.schedules)
        this.events.scheduleEvery(fn.key, schedule.everyMs, schedule.input);
    }
    // Provisioning is done: from here on, faults apply (an outage hits the running system, not its setup).
    this.provisioned = true;
  }

  private countCall(call: ApiCall): void {
    this.apiCalls += 1;
    const caller = currentFunction() ?? '(sandbox)';
    this.apiCallsByFunction.set(caller, (this.apiCallsByFunction.get(caller) ?? 0) + 1);
    this.callsByRegion.set(call.caller.region, (this.callsByRegion.get(call.caller.region) ?? 0) + 1);
    if (this.provisioned && this.faults.downRegions.has(call.caller.region)) {
      throw new SimulatedAwsError(
        unavailableError(call.service),
        `sandbox fault region:${call.caller.region}=down: the region is unavailable`,
      );
    }
    // Faults hit the running system, not the sandbox provisioning it (the state table's own DescribeTable).
    const fault = this.provisioned ? this.faults.api.get(`${call.service}.${call.operation}`) : undefined;
    if (fault && fault.remaining > 0) {
      fault.remaining -= 1;
      throw new SimulatedAwsError(
        fault.error,
        `sandbox fault api:${call.service}.${call.operation}=${fault.error}`,
      );
    }
  }

  /** An EventBridge event on the bus (`external`: from outside, its fate reported). */
  publishEvent(event: EventBridgeEvent, external: boolean): void {
    this.events.publishEvent(event, external);
  }

  get deliveries(): Delivery[] {
    return this.events.deliveries;
  }

  get deadLetters() {
    return this.events.deadLetters;
  }

  get scheduledRuns(): ScheduledRun[] {
    return this.events.scheduledRuns;
  }

  get metrics(): MetricDatum[] {
    return this.cloudwatch.metrics;
  }

  get logs(): string[] {
    return this.cloudwatch.logs;
  }

  // ---- driving the simulation ---------------------------------------------------------------------------

  /** A resource of this type in the production account has just been backed up. Returns the event sent. */
  backupCompleted(resourceType: string, index = 1, options: { announce?: boolean } = {}): EventBridgeEvent {
    return this.scenario.backupCompleted(resourceType, index, options);
  }

  /** Delivers an event from outside at its `time`, checked and provisioned as AWS would (scenario.ts). */
  deliverEvent(event: EventBridgeEvent): void {
    this.scenario.deliverEvent(event);
  }

  /** The backup plan's own copy event for a backup (a second trigger for the same recovery point). */
  planCopyEvent(backup: EventBridgeEvent): EventBridgeEvent {
    return this.scenario.planCopyEvent(backup);
  }

  /** A backup the plan already copied into the DR vault (what a failover restores from); no event. */
  copiedToDrVault(resourceType: string, index = 1) {
    return this.scenario.copiedToDrVault(resourceType, index);
  }

  /**
   * An AWS Backup restore testing plan restores a backup of this type (its copy in the DR vault, or, with
   * `account`, a recovery point of that account) and its "Restore Job State Change" follows when the job ends.
   */
  restoreTestCompleted(resourceType: string, options: { account?: string; index?: number } = {}) {
    return this.scenario.restoreTestCompleted(resourceType, options);
  }

  /** Every PutRestoreValidationResult AWS Backup accepted, in order. */
  get validationResults() {
    return this.world.backup.validationResults;
  }

  /** An operator starts a drill (or a failover) by hand: StartExecution with the manual input shape. */
  startManual(input: Json, name: string): string {
    return this.scenario.startManual(input, name);
  }

  /**
   * Keeps the run going for at least this many simulated seconds (schedules included), e.g. until the
   * reconciler has had the chance to find a backup whose event was lost.
   */
  keepAliveFor(seconds: number): void {
    this.clock.schedule(seconds * 1000, () => undefined);
  }

  /** Runs the simulation until every drill has finished and nothing but schedules is left. */
  async run(): Promise<void> {
    this.started = true;
    for (;;) {
      await this.settle();
      const pendingDeliveries = this.deliveries.some((d) => !d.dropped && !d.delivered);
      if (this.stepFunctions.open() === 0 && !this.clock.hasForegroundTimers() && !pendingDeliveries) return;
      if (this.clock.now - this.epoch > HORIZON_MS)
        throw new Error('the simulation ran 10 simulated days without finishing');
      if (!this.clock.fireNext())
        throw new Error('the simulation is stuck: drills are open but nothing is scheduled');
    }
  }

  /** Restored resources still there that nobody meant to keep (a failover keeps what it restores). */
  leftBehind(): RestoredResource[] {
    return this.world.resourcesLeft().filter((resource) => resource.tags[MODE_TAG] !== 'failover');
  }

  /** Two runs of the least frequent schedule (the hourly orphan sweeper): how long `runToSettled` waits. */
  get settleHorizonMs(): number {
    const periods = this.config.functions.flatMap((fn) => fn.schedules.map((schedule) => schedule.everyMs));
    return 2 * Math.max(0, ...periods);
  }

  /**
   * Runs every drill to its end, then lets the world settle: schedules (reconciler, orphan sweeper) keep
   * running until nothing is left behind and nothing is in flight, or `horizonMs` of simulated time has
   * passed since the last drill ended (default: two sweeps).
   */
  async runToSettled(horizonMs = this.settleHorizonMs): Promise<void> {
    await this.run();
    const until = this.clock.now + horizonMs;
    for (;;) {
      await this.settle();
      const busy = this.stepFunctions.open() > 0 || this.clock.hasForegroundTimers();
      if (!busy && this.leftBehind().length === 0) return;
      const next = this.clock.nextAt();
      if (next === undefined || next > until) return;
      this.clock.fireNext();
    }
  }

  /**
   * Lets simulated time pass after the drills (e.g. for the hourly orphan sweep): fires every timer due in
   * the next `seconds`, schedules included, and lets what they start run to its next wait.
   */
  async advance(seconds: number): Promise<void> {
    this.started = true;
    const until = this.clock.now + seconds * 1000;
    for (;;) {
      await this.settle();
      const next = this.clock.nextAt();
      if (next === undefined || next > until) break;
      this.clock.fireNext();
    }
    this.clock.advanceTo(until);
    await this.settle();
  }

  /**
   * Lets every handler and the engine run to their next wait on the virtual clock. A turn of the event loop
   * (setImmediate: after the I/O poll, so loopback answers from dynalite and the databases are taken in) until
   * three turns in a row find no handler in flight and no world work. No timer: a `setTimeout(0)` per turn
   * cost at least a millisecond of idle wall time per clock step, a quarter of a 100-drill run's wall time.
   */
  private async settle(): Promise<void> {
    let quiet = 0;
    while (quiet < 3) {
      await new Promise((resolve) => setImmediate(resolve));
      if (this.lambda.inFlight > 0) {
        quiet = 0;
        await this.lambda.idle();
      } else if (this.world.working) {
        quiet = 0;
        await this.world.settled();
      } else {
        quiet += 1;
      }
    }
  }

  get simulatedSeconds(): number {
    return Math.round((this.clock.now - this.epoch) / 1000);
  }

  get wallMs(): number {
    return Math.round(performance.now() - this.wallStart);
  }

  get hasRun(): boolean {
    return this.started;
  }

  /**
   * Settles when the run's real databases (sandbox/engines/drill-databases.ts) are closed, after dispose;
   * rejects if one did not close.
   */
  databasesClosed: Promise<void> = Promise.resolve();

  dispose(): void {
    for (const cleanup of this.cleanups.splice(0).reverse()) cleanup();
    const servers = this.world.dispose();
    // Closing servers is asynchronous; dispose stays synchronous for its many callers.
    this.databasesClosed = this.world.state(DrillDatabases).closeAll();
    closing = Promise.allSettled([servers, this.databasesClosed]);
    running = false;
  }
}
