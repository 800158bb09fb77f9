import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SimulatedAwsError, unavailableError } from './aws-errors.js';
import { VirtualClock } from './clock.js';
import { StackNames } from './cloudformation.js';
import { dynamoEndpoint, recreateTable } from './dynamodb.js';
import { validateEvent } from './estate.js';
import { type EventBridgeEvent, matchesPattern } from './events.js';
import { type Faults, parseFaults } from './faults.js';
import { Iam } from './iam.js';
import { registerPrincipal } from './identity.js';
import { type ApiCall, installInterceptor } from './interceptor.js';
import { LambdaInvocationError, LambdaRuntime } from './lambda-runtime.js';
import { Random } from './random.js';
import { sandboxType, sandboxTypes, servicePassThrough } from './resources/index.js';
import { type Json, loadServerlessConfig, projectRoot, type ServerlessConfig } from './serverless-config.js';
import { dispatch, serviceOperations } from './services.js';
import { StepFunctionsSimulator } from './step-functions.js';
import { QUOTAS, type Quotas, type RestoredResource, World } from './world.js';

export { EventInputError, eventTimes, validateEvent } from './estate.js';
export type { EventBridgeEvent } from './events.js';
export { FaultSpecError } from './faults.js';

/** The simulated accounts. The DR account and region come from serverless.yml's params. */
export const PROD_ACCOUNT = '111111111111';
export const CENTRAL_ACCOUNT = '222222222222';
/** Where the production resources live and are backed up, whichever region Pilotlight is deployed to. */
export const PROD_REGION = 'us-east-2';
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
}

/** What a scheduled function (reconciler, orphan sweeper) returned or how it failed, each run. */
export interface ScheduledRun {
  function: string;
  at: string;
  /** Filled in when the invocation (or, after Lambda's retries, its last attempt) ends. */
  outcomes: Delivery['outcomes'];
}

export interface MetricDatum {
  namespace: string;
  name: string;
  unit: string;
  value: number;
  dimensions: Record<string, string>;
  timestamp: string;
}

export interface Delivery {
  event: EventBridgeEvent;
  /** True for events from outside (a backup completing, or --event): their fate is reported. */
  external: boolean;
  outcomes: { target: string; result?: Json; error?: string }[];
  matched: boolean;
  dropped: boolean;
  delivered: boolean;
}

let running = false;

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
  readonly faults: Faults;
  readonly config: ServerlessConfig;
  readonly names: StackNames;
  readonly world: World;
  readonly lambda: LambdaRuntime;
  readonly stepFunctions: StepFunctionsSimulator;
  /** IAM, evaluated for every call each function makes (sandbox/iam.ts). */
  readonly iam: Iam;
  readonly deliveries: Delivery[] = [];
  readonly metrics: MetricDatum[] = [];
  readonly logs: string[] = [];
  apiCalls = 0;
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
    this.random = new Random(options.seed ?? 1);
    this.config = loadServerlessConfig(options.root ?? projectRoot, { stage: STAGE, region: options.region });
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
        sourceAccounts: [PROD_ACCOUNT],
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
      this.names.resolve(machine.definition) as Record<string, Json>,
      functionKeys,
      this.lambda,
      this.clock,
      this.random,
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
    const sandbox = new Sandbox(options);
    running = true;
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
    const previous = Object.fromEntries(Object.keys(environment).map((name) => [name, process.env[name]]));
    Object.assign(process.env, environment);
    this.cleanups.push(() => {
      for (const [name, value] of Object.entries(previous)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    });

    const operations = serviceOperations(this.world, this.stepFunctions, this.random);
    this.cleanups.push(
      installInterceptor({
        // Pilotlight's state table lives in dynalite (a real DynamoDB implementation) on loopback; a service
        // module may route its own calls elsewhere (the DR account's tables live in that account's dynalite).
        passThrough: (call) => servicePassThrough(this.world, call) ?? call.service === 'DynamoDB',
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
    this.captureOutput();
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
      for (const schedule of fn.schedules) this.scheduleEvery(fn.key, schedule.everyMs);
    }
    // Provisioning is done: from here on, faults apply (an outage hits the running system, not its setup).
    this.provisioned = true;
  }

  private countCall(call: ApiCall): void {
    this.apiCalls += 1;
    this.callsByRegion.set(call.caller.region, (this.callsByRegion.get(call.caller.region) ?? 0) + 1);
    if (this.provisioned && this.faults.downRegions.has(call.caller.region)) {
      throw new SimulatedAwsError(
        unavailableError(call.service),
        `sandbox fault region:${call.caller.region}=down: the region is unavailable`,
      );
    }
    const fault = this.faults.api.get(`${call.service}.${call.operation}`);
    if (fault && fault.remaining > 0) {
      fault.remaining -= 1;
      throw new SimulatedAwsError(
        fault.error,
        `sandbox fault api:${call.service}.${call.operation}=${fault.error}`,
      );
    }
  }

  /** Powertools writes logs and EMF metrics to stdout; the sandbox reads them as CloudWatch would. */
  private captureOutput(): void {
    for (const stream of [process.stdout, process.stderr]) {
      const original = stream.write.bind(stream);
      stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
        const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
        // Only the handlers' structured output (JSON lines) is CloudWatch's; anything else passes through.
        if (stream === process.stderr && !text.trimStart().startsWith('{'))
          return original(chunk, ...(rest as []));
        for (const line of text.split('\n')) if (line.trim()) this.readOutputLine(line);
        const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
        callback?.();
        return true;
      }) as typeof stream.write;
      this.cleanups.push(() => {
        stream.write = original;
      });
    }
  }

  private readOutputLine(line: string): void {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      this.logs.push(line);
      return;
    }
    const emf = parsed._aws as
      | {
          Timestamp?: number;
          CloudWatchMetrics?: {
            Namespace: string;
            Dimensions: string[][];
            Metrics: { Name: string; Unit?: string }[];
          }[];
        }
      | undefined;
    if (!emf?.CloudWatchMetrics) {
      this.logs.push(line);
      return;
    }
    for (const directive of emf.CloudWatchMetrics) {
      const dimensions = Object.fromEntries(
        (directive.Dimensions[0] ?? []).map((name) => [name, String(parsed[name])]),
      );
      for (const metric of directive.Metrics) {
        const raw = parsed[metric.Name];
        for (const value of Array.isArray(raw) ? raw : [raw]) {
          this.metrics.push({
            namespace: directive.Namespace,
            name: metric.Name,
            unit: metric.Unit ?? 'None',
            value: Number(value),
            dimensions,
            timestamp: new Date(emf.Timestamp ?? this.clock.now).toISOString(),
          });
        }
      }
    }
  }

  private scheduleEvery(key: string, everyMs: number): void {
    this.clock.schedule(
      everyMs,
      () => {
        const at = new Date(this.clock.now).toISOString();
        const run: ScheduledRun = { function: key, at, outcomes: [] };
        this.scheduledRuns.push(run);
        void this.invokeAsync(
          key,
          { 'detail-type': 'Scheduled Event', source: 'aws.events', time: at, detail: {} },
          run.outcomes,
        );
        this.scheduleEvery(key, everyMs);
      },
      { background: true },
    );
  }

  /**
   * EventBridge delivers AWS Backup events best-effort and in batches (about every 5 minutes): each event
   * arrives after a lag, and faults can drop, delay or duplicate it.
   */
  publishEvent(event: EventBridgeEvent, external: boolean): void {
    // AWS Backup's events are best-effort, the trigger events included.
    const dropped = this.faults.eventDrop > 0 && this.random.float() < this.faults.eventDrop;
    const delivery: Delivery = { event, external, outcomes: [], matched: false, dropped, delivered: false };
    this.deliveries.push(delivery);
    if (dropped) return;
    for (let copy = 0; copy < this.faults.eventCopies; copy++) {
      const lag =
        external && copy === 0 ? 0 : this.random.seconds(5, 300) + this.faults.eventDelaySeconds * 1000;
      this.clock.schedule(lag, () => this.deliver(delivery));
    }
  }

  private deliver(delivery: Delivery): void {
    delivery.delivered = true;
    for (const fn of this.config.functions) {
      if (fn.eventBridge.some((rule) => matchesPattern(rule.pattern, delivery.event))) {
        delivery.matched = true;
        void this.invokeAsync(fn.key, delivery.event, delivery.outcomes);
      }
    }
  }

  /** Asynchronous invocation (EventBridge, schedules): Lambda retries a failure twice, then dead-letters it. */
  private async invokeAsync(
    key: string,
    event: Json,
    outcomes: Delivery['outcomes'],
    attempt = 0,
  ): Promise<void> {
    try {
      outcomes.push({ target: key, result: await this.lambda.invoke(key, event) });
    } catch (error) {
      const message =
        error instanceof LambdaInvocationError ? `${error.name}: ${error.message}` : String(error);
      if (attempt < 2) {
        this.clock.schedule(
          (attempt + 1) * 60_000,
          () => void this.invokeAsync(key, event, outcomes, attempt + 1),
        );
      } else {
        outcomes.push({ target: key, error: message });
        this.deadLetters.push({ function: key, error: message });
      }
    }
  }

  readonly deadLetters: { function: string; error: string }[] = [];
  /** Every run of a scheduled function, in the order they finished. */
  readonly scheduledRuns: ScheduledRun[] = [];

  // ---- driving the simulation ---------------------------------------------------------------------------

  /** A resource of this type in the production account has just been backed up. Returns the event sent. */
  backupCompleted(resourceType: string, index = 1, options: { announce?: boolean } = {}): EventBridgeEvent {
    const region = PROD_REGION;
    const resourceArn = sandboxType(resourceType).sourceResourceArn({
      account: PROD_ACCOUNT,
      region,
      index,
      random: this.random,
    });
    const startedAt = this.clock.now - this.random.seconds(10 * 60, 40 * 60);
    const point = this.world.addRecoveryPoint({
      account: PROD_ACCOUNT,
      region,
      vaultName: 'Default',
      resourceType,
      resourceArn,
      createdAt: startedAt,
      completedAt: this.clock.now,
    });
    const event = this.backupJobEvent(point.arn, resourceType, resourceArn, startedAt);
    this.world.recordBackupJob(String((event.detail as { backupJobId: string }).backupJobId), point);
    if (options.announce ?? true) this.publishEvent(event, true);
    return event;
  }

  private backupJobEvent(
    recoveryPointArn: string,
    resourceType: string,
    resourceArn: string,
    startedAt: number,
  ): EventBridgeEvent {
    const region = PROD_REGION;
    const jobId = this.random.uuid().toUpperCase();
    return {
      version: '0',
      id: this.random.uuid(),
      'detail-type': 'Backup Job State Change',
      source: 'aws.backup',
      account: PROD_ACCOUNT,
      time: new Date(this.clock.now).toISOString(),
      region,
      resources: [recoveryPointArn],
      detail: {
        backupJobId: jobId,
        backupSizeInBytes: '0',
        backupVaultArn: `arn:aws:backup:${region}:${PROD_ACCOUNT}:backup-vault:Default`,
        backupVaultName: 'Default',
        bytesTransferred: '0',
        creationDate: new Date(startedAt).toISOString(),
        completionDate: new Date(this.clock.now).toISOString(),
        iamRoleArn: `arn:aws:iam::${PROD_ACCOUNT}:role/service-role/AWSBackupDefaultServiceRole`,
        resourceArn,
        resourceType,
        state: 'COMPLETED',
        percentDone: '100.0',
      },
    };
  }

  /**
   * Delivers an EventBridge event from outside at its `time` (at once if that is not later than now). First
   * it is checked as AWS would (EventInputError: an unknown region, a recovery point ARN that does not fit
   * the resource type, region or account, an ARN over 1600 characters); when it is due, what it refers to is
   * provisioned — the source account with the source-account stack (as the StackSet deploys it) in the
   * event's region, the recovery point of a completed backup job, the copy in the DR vault — so the drill it
   * triggers can run.
   */
  deliverEvent(event: EventBridgeEvent): void {
    validateEvent(event);
    const at = Date.parse(event.time);
    const delay = Number.isNaN(at) ? 0 : Math.max(0, at - this.clock.now);
    this.clock.schedule(delay, () => {
      this.provisionFor(event);
      this.publishEvent(event, true);
    });
  }

  private provisionFor(event: EventBridgeEvent): void {
    if (event.source !== 'aws.backup') return;
    const detail = event.detail as Record<string, Json>;
    const text = (value: Json | undefined) => (typeof value === 'string' ? value : undefined);
    const type = event['detail-type'];
    if (type !== 'Backup Job State Change' && type !== 'Copy Job State Change') return;
    // The account the event comes from runs the source-account stack in the event's region.
    this.world.registerSourceAccount(event.account, event.region);
    this.iam.addSourceAccount(event.account, event.region);
    if (detail.state !== 'COMPLETED') return;
    // A type the sandbox does not simulate has no recovery point to provision (intake skips the event).
    const resourceType = text(detail.resourceType) ?? '';
    if (!sandboxTypes.some((known) => known.type === resourceType)) return;
    const resourceArn =
      text(detail.resourceArn) ??
      sandboxType(resourceType).sourceResourceArn({
        account: event.account,
        region: event.region,
        index: 1,
        random: this.random,
      });
    const time = (value: Json | undefined) => {
      const parsed = Date.parse(text(value) ?? '');
      return Number.isNaN(parsed) ? undefined : Math.min(parsed, this.clock.now);
    };
    const completedAt = time(detail.completionDate) ?? this.clock.now;
    const createdAt = Math.min(time(detail.creationDate) ?? completedAt - 30 * 60_000, completedAt);
    const vaultName = (arn: string | undefined) => arn?.split(':backup-vault:')[1];
    const source =
      type === 'Copy Job State Change'
        ? (text(detail.sourceRecoveryPointArn) ?? event.resources[0])
        : event.resources[0];
    if (source && !this.world.recoveryPoints.has(source)) {
      const point = this.world.addRecoveryPoint({
        account: event.account,
        region: event.region,
        vaultName:
          text(detail.backupVaultName) ??
          vaultName(text(detail.backupVaultArn) ?? text(detail.sourceBackupVaultArn)) ??
          'Default',
        resourceType,
        resourceArn,
        recoveryPointArn: source,
        createdAt,
        completedAt: type === 'Copy Job State Change' ? createdAt : completedAt,
      });
      if (type === 'Backup Job State Change')
        this.world.recordBackupJob(text(detail.backupJobId) ?? event.id, point);
    }
    const destination = text(detail.destinationRecoveryPointArn);
    const vault = this.world.vaults.get(text(detail.destinationBackupVaultArn) ?? '');
    if (
      type === 'Copy Job State Change' &&
      destination &&
      vault &&
      !this.world.recoveryPoints.has(destination)
    ) {
      this.world.addRecoveryPoint({
        account: vault.account,
        region: vault.region,
        vaultName: vault.name,
        resourceType,
        resourceArn,
        recoveryPointArn: destination,
        createdAt,
        completedAt,
      });
    }
  }

  /**
   * The "Copy Job State Change" (COMPLETED) the backup plan's own copy rule sends when it copies a backed-up
   * recovery point into the DR vault: a second trigger for the same source recovery point.
   */
  planCopyEvent(backup: EventBridgeEvent): EventBridgeEvent {
    const detail = backup.detail as { resourceArn: string; resourceType: string };
    const { drAccount, drRegion, drVaultName } = this.world.settings;
    const id = this.random.uuid();
    const destination = sandboxType(detail.resourceType).recoveryPointArn({
      account: drAccount,
      region: drRegion,
      random: this.random,
      copy: true,
    });
    return {
      version: '0',
      id: this.random.uuid(),
      'detail-type': 'Copy Job State Change',
      source: 'aws.backup',
      account: backup.account,
      time: new Date(this.clock.now).toISOString(),
      region: backup.region,
      resources: backup.resources,
      detail: {
        copyJobId: id.toUpperCase(),
        state: 'COMPLETED',
        resourceType: detail.resourceType,
        resourceArn: detail.resourceArn,
        sourceBackupVaultArn: `arn:aws:backup:${backup.region}:${backup.account}:backup-vault:Default`,
        sourceRecoveryPointArn: backup.resources[0] ?? '',
        destinationBackupVaultArn: `arn:aws:backup:${drRegion}:${drAccount}:backup-vault:${drVaultName}`,
        destinationRecoveryPointArn: destination,
        creationDate: new Date(this.clock.now - 40 * 60_000).toISOString(),
        completionDate: new Date(this.clock.now).toISOString(),
      },
    };
  }

  /**
   * A resource of this type was backed up earlier and the backup plan's copy rule already put the copy in
   * the DR vault (what a failover restores from when the primary region is gone). No event is sent.
   */
  copiedToDrVault(
    resourceType: string,
    index = 1,
  ): { sourceRecoveryPointArn: string; drRecoveryPointArn: string } {
    const backup = this.backupCompleted(resourceType, index, { announce: false });
    const source = this.world.recoveryPoints.get(backup.resources[0] ?? '');
    if (!source) throw new Error('the backup has no recovery point');
    const settings = this.world.settings;
    const copy = this.world.addRecoveryPoint({
      account: settings.drAccount,
      region: settings.drRegion,
      vaultName: settings.drVaultName,
      resourceType,
      resourceArn: source.resourceArn,
      createdAt: source.createdAt,
      completedAt: this.clock.now,
    });
    return { sourceRecoveryPointArn: source.arn, drRecoveryPointArn: copy.arn };
  }

  /** An operator starts a drill (or a failover) by hand: StartExecution with the manual input shape. */
  startManual(input: Json, name: string): string {
    return this.stepFunctions.startExecution({
      stateMachineArn: this.stepFunctions.arn,
      name,
      input: JSON.stringify(input),
    }).executionArn;
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

  /** Lets every handler and the engine run to their next wait on the virtual clock. */
  private async settle(): Promise<void> {
    let quiet = 0;
    while (quiet < 3) {
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setTimeout(resolve, 0));
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

  dispose(): void {
    for (const cleanup of this.cleanups.splice(0).reverse()) cleanup();
    this.world.dispose();
    running = false;
  }
}
