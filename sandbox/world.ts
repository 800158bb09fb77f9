import { createHash } from 'node:crypto';
import { taggingTypeOf } from '../functions/lib/arn.js';
import { SimulatedAwsError } from './aws-errors.js';
import type { VirtualClock } from './clock.js';
import type { EventBridgeEvent } from './events.js';
import type { Faults } from './faults.js';
import type { Random } from './random.js';
import { sandboxType } from './resources/index.js';
import type { Json } from './serverless-config.js';

/**
 * The simulated AWS estate: accounts, vaults, recovery points, copy and restore jobs with realistic
 * durations, the resources restores create, the evidence bucket with Object Lock, the alert topic. Only
 * state and rules live here; the SDK boundary (interceptor.ts) translates API calls into these methods.
 */
export interface Caller {
  account: string;
  region: string;
  roleArn: string;
}

export interface RecoveryPoint {
  arn: string;
  account: string;
  region: string;
  vaultName: string;
  resourceType: string;
  resourceArn: string;
  status: 'COMPLETED';
  createdAt: number;
  completedAt: number;
  sizeBytes: number;
  metadata: Record<string, string>;
  /** StartCopyJob's Lifecycle.DeleteAfterDays on a copy: AWS Backup deletes it then. */
  deleteAt?: number;
}

export interface Job {
  id: string;
  kind: 'copy' | 'restore';
  account: string;
  region: string;
  state: 'CREATED' | 'PENDING' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'ABORTED';
  recoveryPointArn: string;
  resourceType: string;
  iamRoleArn: string;
  createdAt: number;
  completedAt?: number;
  statusMessage?: string;
  destinationVaultArn?: string;
  destinationRecoveryPointArn?: string;
  createdResourceArn?: string;
}

/**
 * What a restore created in an account (or what was there before, in tests), as every service sees it. Each
 * service keeps its own richer record (sandbox/aws/*.ts, sandbox/resources/*.ts) that extends this one; the
 * world indexes them all for what spans services: the Tagging API, IAM's resource context, "left behind".
 */
export interface RestoredResource {
  arn: string;
  account: string;
  region: string;
  /** The resource kind as its service names it: db-instance, cluster, volume, instance, table, file-system… */
  kind: string;
  id: string;
  /** The service's own status string (available, backing-up, ACTIVE, CREATING…). */
  status: string;
  /** Where it is in its life, whatever the service calls it: deleted resources are gone for every API. */
  phase: 'present' | 'deleting' | 'deleted';
  tags: Record<string, string>;
  createdAt: number;
  deletedAt?: number;
  /** The service's condition-key prefix for this resource's tags (`rds:db-tag/`, `ec2:ResourceTag/`). */
  tagConditionPrefix?: string;
  /** Condition keys of the resource type (`ec2:AvailabilityZone`), for IAM. */
  conditionKeys?: Record<string, string>;
}

export interface StoredObject {
  bucket: string;
  key: string;
  versionId: string;
  body: string;
  sha256: string;
  lockMode?: string;
  retainUntil?: number;
  metadata: Record<string, string>;
  storedAt: number;
}

export interface Alert {
  topicArn: string;
  subject: string;
  message: string;
  at: string;
}

export interface WorldSettings {
  centralAccount: string;
  sourceAccounts: string[];
  sourceRegion: string;
  drAccount: string;
  drRegion: string;
  drVaultName: string;
  drRoleName: string;
  drTeardownRoleName: string;
  sourceRoleName: string;
  externalId: string;
  /** The role AWS Backup copies with, which the source-account stack creates (`copyRoleName`). */
  copyRoleName?: string;
  /** The organization every source and DR account belongs to (`organizationId`). */
  organizationId?: string;
  topics: string[];
  buckets: { name: string; objectLockDays?: number }[];
  /** Service quotas the sandbox enforces (see QUOTAS); a run may override them (`--quota NAME=N`). */
  quotas: Quotas;
}

/**
 * The service quotas that bite a burst of drills, with their AWS defaults. Each is enforced the way the
 * service enforces it.
 */
export const QUOTAS = {
  /**
   * Amazon RDS "DB instances": 40 per account per Region by default (RDS User Guide, Quotas in Amazon RDS).
   * AWS Backup restores through RDS, so a restore job that would exceed it ends FAILED.
   */
  'rds-db-instances': 40,
  /**
   * Amazon EBS "Storage for General Purpose SSD (gp3) volumes": 50 TiB per account per Region by default
   * (Amazon EBS quotas). A restored volume that would exceed it fails its restore job.
   */
  'ebs-gp3-storage-tib': 50,
  /**
   * AWS Backup "Concurrent backup copies per account outbound to a destination Region": 100 (AWS Backup
   * quotas page). StartCopyJob answers LimitExceededException beyond it.
   */
  'backup-copy-jobs-per-region': 100,
} as const;
export type QuotaName = keyof typeof QUOTAS;
export type Quotas = Record<QuotaName, number>;

export function isQuotaName(name: string): name is QuotaName {
  return Object.hasOwn(QUOTAS, name);
}

const RUNNING = new Set(['CREATED', 'PENDING', 'RUNNING']);
const iso = (ms: number) => new Date(ms).toISOString();

/** How long the Tagging API keeps listing a deleted resource in the sandbox. */
const TAG_INDEX_LAG_MS = 30 * 60_000;

export class World {
  readonly recoveryPoints = new Map<string, RecoveryPoint>();
  readonly jobs = new Map<string, Job>();
  readonly resources = new Map<string, RestoredResource>();
  readonly objects: StoredObject[] = [];
  readonly alerts: Alert[] = [];
  readonly vaults = new Map<string, { name: string; account: string; region: string }>();
  /** The accounts of the organization and the IAM roles their stacks created (by role name). */
  readonly accounts = new Map<string, { organizationId?: string; roles: Set<string> }>();
  peakConcurrentRestores = 0;
  /** Per `account/type`: the most restore jobs running plus restored resources present at one time. */
  readonly peakInUse = new Map<string, number>();
  /** Restore jobs that failed on a service quota (the burst promise: zero). */
  readonly quotaFailures: string[] = [];
  /** Completed backup jobs in the source accounts (ListBackupJobs), by job id. */
  readonly backupJobs = new Map<string, { id: string; point: RecoveryPoint }>();
  private idempotency = new Map<string, string>();

  /** Each service's own state (sandbox/aws/*.ts, sandbox/resources/*.ts), created on first use. */
  private readonly states = new Map<new () => object, object>();

  constructor(
    readonly settings: WorldSettings,
    readonly clock: VirtualClock,
    readonly random: Random,
    readonly faults: Faults,
    private readonly emit: (event: EventBridgeEvent) => void,
  ) {
    for (const account of [...settings.sourceAccounts])
      this.registerSourceAccount(account, settings.sourceRegion);
    this.accounts.set(settings.drAccount, {
      organizationId: settings.organizationId,
      roles: new Set([settings.drRoleName]),
    });
    this.addVault(settings.drVaultName, settings.drAccount, settings.drRegion);
  }

  /**
   * A source account as the StackSet leaves it: a member of the organization, with the source-account stack's
   * roles (the one Pilotlight assumes, the one AWS Backup copies with) and the Default vault in `region`.
   */
  registerSourceAccount(account: string, region: string): void {
    if (!this.settings.sourceAccounts.includes(account)) this.settings.sourceAccounts.push(account);
    const roles = [this.settings.sourceRoleName, this.settings.copyRoleName].filter(
      (role): role is string => role !== undefined,
    );
    const known = this.accounts.get(account);
    if (known) for (const role of roles) known.roles.add(role);
    else this.accounts.set(account, { organizationId: this.settings.organizationId, roles: new Set(roles) });
    const vault = `arn:aws:backup:${region}:${account}:backup-vault:Default`;
    if (!this.vaults.has(vault)) this.addVault('Default', account, region);
  }

  get now(): number {
    return this.clock.now;
  }

  /** A service's state in this world (one instance per class, created on first use). */
  state<S extends object>(Class: new () => S): S {
    const existing = this.states.get(Class);
    if (existing instanceof Class) return existing;
    const made = new Class();
    this.states.set(Class, made);
    return made;
  }

  private addVault(name: string, account: string, region: string): string {
    const arn = `arn:aws:backup:${region}:${account}:backup-vault:${name}`;
    this.vaults.set(arn, { name, account, region });
    return arn;
  }

  // ---- the production side: a resource is backed up -------------------------------------------------

  /** A source resource and the recovery point of a backup job that has just completed. */
  addRecoveryPoint(input: {
    account: string;
    region: string;
    vaultName: string;
    resourceType: string;
    resourceArn: string;
    recoveryPointArn?: string;
    createdAt: number;
    completedAt: number;
  }): RecoveryPoint {
    const vaultArn = `arn:aws:backup:${input.region}:${input.account}:backup-vault:${input.vaultName}`;
    if (!this.vaults.has(vaultArn)) this.addVault(input.vaultName, input.account, input.region);
    const type = sandboxType(input.resourceType);
    const sizeGiB = type.sizeGiB(this.random);
    const point: RecoveryPoint = {
      arn:
        input.recoveryPointArn ??
        type.recoveryPointArn({
          account: input.account,
          region: input.region,
          random: this.random,
          copy: false,
        }),
      account: input.account,
      region: input.region,
      vaultName: input.vaultName,
      resourceType: input.resourceType,
      resourceArn: input.resourceArn,
      status: 'COMPLETED',
      createdAt: input.createdAt,
      completedAt: input.completedAt,
      sizeBytes: sizeGiB * 2 ** 30,
      metadata: type.sourceMetadata({
        resourceArn: input.resourceArn,
        account: input.account,
        region: input.region,
        sizeGiB,
        random: this.random,
      }),
    };
    this.recoveryPoints.set(point.arn, point);
    return point;
  }

  // ---- AWS Backup -------------------------------------------------------------------------------------

  private pointIn(caller: Caller, arn: string, vaultName?: string): RecoveryPoint {
    const point = this.recoveryPoints.get(arn);
    if (
      !point ||
      point.account !== caller.account ||
      point.region !== caller.region ||
      (vaultName && point.vaultName !== vaultName)
    ) {
      throw new SimulatedAwsError(
        'ResourceNotFoundException',
        `Recovery point ${arn} not found in ${vaultName ?? 'any vault'} of ${caller.account} ${caller.region}`,
      );
    }
    return point;
  }

  describeRecoveryPoint(caller: Caller, input: { BackupVaultName?: string; RecoveryPointArn?: string }) {
    const point = this.pointIn(caller, input.RecoveryPointArn ?? '', input.BackupVaultName);
    return {
      RecoveryPointArn: point.arn,
      BackupVaultName: point.vaultName,
      BackupVaultArn: `arn:aws:backup:${point.region}:${point.account}:backup-vault:${point.vaultName}`,
      ResourceArn: point.resourceArn,
      ResourceType: point.resourceType,
      Status: point.status,
      CreationDate: new Date(point.createdAt),
      CompletionDate: new Date(point.completedAt),
      BackupSizeInBytes: point.sizeBytes,
    };
  }

  getRecoveryPointRestoreMetadata(
    caller: Caller,
    input: { BackupVaultName?: string; RecoveryPointArn?: string },
  ) {
    const point = this.pointIn(caller, input.RecoveryPointArn ?? '', input.BackupVaultName);
    return {
      BackupVaultArn: `arn:aws:backup:${point.region}:${point.account}:backup-vault:${point.vaultName}`,
      RecoveryPointArn: point.arn,
      RestoreMetadata: { ...point.metadata },
      ResourceType: point.resourceType,
    };
  }

  private idempotent(caller: Caller, token: string | undefined, create: () => Job): Job {
    const key = token ? `${caller.account}/${token}` : undefined;
    const existing = key ? this.jobs.get(this.idempotency.get(key) ?? '') : undefined;
    if (existing) return existing;
    const job = create();
    this.jobs.set(job.id, job);
    if (key) this.idempotency.set(key, job.id);
    return job;
  }

  startCopyJob(
    caller: Caller,
    input: {
      RecoveryPointArn?: string;
      SourceBackupVaultName?: string;
      DestinationBackupVaultArn?: string;
      IamRoleArn?: string;
      IdempotencyToken?: string;
      Lifecycle?: { DeleteAfterDays?: number };
    },
  ) {
    const point = this.pointIn(caller, input.RecoveryPointArn ?? '', input.SourceBackupVaultName);
    const destination = this.vaults.get(input.DestinationBackupVaultArn ?? '');
    if (!destination)
      throw new SimulatedAwsError(
        'InvalidParameterValueException',
        `Destination vault ${input.DestinationBackupVaultArn} does not exist`,
      );
    if (!input.IamRoleArn?.startsWith(`arn:aws:iam::${caller.account}:role/`)) {
      throw new SimulatedAwsError(
        'InvalidParameterValueException',
        `IamRoleArn must be a role in ${caller.account}`,
      );
    }
    const existing = input.IdempotencyToken
      ? this.idempotency.get(`${caller.account}/${input.IdempotencyToken}`)
      : undefined;
    const copying = [...this.jobs.values()].filter(
      (j) =>
        j.kind === 'copy' &&
        j.account === caller.account &&
        RUNNING.has(j.state) &&
        this.vaults.get(j.destinationVaultArn ?? '')?.region === destination.region,
    ).length;
    // AWS Backup "Concurrent backup and copy jobs per resource": 1, not adjustable (AWS Backup quotas page).
    const sameResource = [...this.jobs.values()].some(
      (j) =>
        j.kind === 'copy' &&
        RUNNING.has(j.state) &&
        this.recoveryPoints.get(j.recoveryPointArn)?.resourceArn === point.resourceArn,
    );
    if (!existing && sameResource) {
      throw new SimulatedAwsError(
        'LimitExceededException',
        `A backup or copy job of ${point.resourceArn} is already running (one concurrent job per resource)`,
      );
    }
    if (!existing && copying >= this.settings.quotas['backup-copy-jobs-per-region']) {
      throw new SimulatedAwsError(
        'LimitExceededException',
        `Too many copy jobs in progress from ${caller.account} to ${destination.region} (quota ${this.settings.quotas['backup-copy-jobs-per-region']})`,
      );
    }
    const deleteAfterDays = input.Lifecycle?.DeleteAfterDays;
    const job = this.idempotent(caller, input.IdempotencyToken, () => {
      const created: Job = {
        id: this.random.uuid().toUpperCase(),
        kind: 'copy',
        account: caller.account,
        region: caller.region,
        state: 'CREATED',
        recoveryPointArn: point.arn,
        resourceType: point.resourceType,
        iamRoleArn: input.IamRoleArn ?? '',
        createdAt: this.clock.now,
        destinationVaultArn: input.DestinationBackupVaultArn,
      };
      // Cross-region copies take minutes: a base plus time proportional to size.
      const duration =
        this.random.seconds(180, 420) + (point.sizeBytes / 2 ** 30) * this.random.int(1500, 4000);
      this.clock.schedule(this.random.seconds(20, 60), () => {
        created.state = 'RUNNING';
      });
      this.clock.schedule(duration, () => this.finishCopy(created, point, destination, deleteAfterDays));
      return created;
    });
    return { CopyJobId: job.id, CreationDate: new Date(job.createdAt), IsParent: false };
  }

  private finishCopy(
    job: Job,
    point: RecoveryPoint,
    destination: { name: string; account: string; region: string },
    deleteAfterDays: number | undefined,
  ): void {
    job.completedAt = this.clock.now;
    if (this.faults.copyJob === 'FAILED') {
      job.state = 'FAILED';
      job.statusMessage =
        'Copy job failed: the destination vault could not decrypt the recovery point (KMS access denied).';
    } else {
      const copy = this.addRecoveryPoint({
        account: destination.account,
        region: destination.region,
        vaultName: destination.name,
        resourceType: point.resourceType,
        resourceArn: point.resourceArn,
        recoveryPointArn: sandboxType(point.resourceType).recoveryPointArn({
          account: destination.account,
          region: destination.region,
          random: this.random,
          copy: true,
        }),
        createdAt: point.createdAt,
        completedAt: this.clock.now,
      });
      copy.metadata = { ...point.metadata };
      copy.sizeBytes = point.sizeBytes;
      if (deleteAfterDays !== undefined) {
        // AWS Backup counts the lifecycle from the recovery point's creation.
        copy.deleteAt = point.createdAt + deleteAfterDays * 86_400_000;
        this.clock.schedule(
          Math.max(0, copy.deleteAt - this.clock.now),
          () => this.recoveryPoints.delete(copy.arn),
          { background: true },
        );
      }
      job.state = 'COMPLETED';
      job.destinationRecoveryPointArn = copy.arn;
    }
    this.emitJobEvent(job);
  }

  describeCopyJob(caller: Caller, input: { CopyJobId?: string }) {
    const job = this.jobIn(caller, input.CopyJobId, 'copy');
    return {
      CopyJob: {
        CopyJobId: job.id,
        AccountId: job.account,
        State: job.state,
        StatusMessage: job.statusMessage,
        SourceRecoveryPointArn: job.recoveryPointArn,
        DestinationBackupVaultArn: job.destinationVaultArn,
        DestinationRecoveryPointArn: job.destinationRecoveryPointArn,
        ResourceType: job.resourceType,
        IamRoleArn: job.iamRoleArn,
        CreationDate: new Date(job.createdAt),
        CompletionDate: job.completedAt ? new Date(job.completedAt) : undefined,
      },
    };
  }

  private jobIn(caller: Caller, id: string | undefined, kind: Job['kind']): Job {
    const job = this.jobs.get(id ?? '');
    if (!job || job.kind !== kind || job.account !== caller.account || job.region !== caller.region) {
      throw new SimulatedAwsError(
        'ResourceNotFoundException',
        `${kind} job ${id} not found in ${caller.account} ${caller.region}`,
      );
    }
    return job;
  }

  runningRestores(account: string): number {
    return [...this.jobs.values()].filter(
      (job) => job.kind === 'restore' && job.account === account && RUNNING.has(job.state),
    ).length;
  }

  startRestoreJob(
    caller: Caller,
    input: {
      RecoveryPointArn?: string;
      Metadata?: Record<string, string>;
      IamRoleArn?: string;
      ResourceType?: string;
      IdempotencyToken?: string;
    },
  ) {
    const point = this.pointIn(caller, input.RecoveryPointArn ?? '');
    if (!input.IamRoleArn?.startsWith(`arn:aws:iam::${caller.account}:role/`)) {
      throw new SimulatedAwsError(
        'InvalidParameterValueException',
        `IamRoleArn must be a role in ${caller.account}`,
      );
    }
    const metadata = input.Metadata ?? {};
    const existing = input.IdempotencyToken
      ? this.idempotency.get(`${caller.account}/${input.IdempotencyToken}`)
      : undefined;
    const type = sandboxType(point.resourceType);
    if (!existing) type.validateRestore(this, caller, metadata);
    const job = this.idempotent(caller, input.IdempotencyToken, () => {
      const created: Job = {
        id: this.random.uuid().toUpperCase(),
        kind: 'restore',
        account: caller.account,
        region: caller.region,
        state: 'PENDING',
        recoveryPointArn: point.arn,
        resourceType: point.resourceType,
        iamRoleArn: input.IamRoleArn ?? '',
        createdAt: this.clock.now,
      };
      this.clock.schedule(this.random.seconds(30, 90), () => {
        if (created.state === 'PENDING') created.state = 'RUNNING';
      });
      const duration = type.restoreDurationMs(this.random, point.sizeBytes / 2 ** 30);
      if (this.faults.restoreJob !== 'STUCK')
        this.clock.schedule(duration, () => this.finishRestore(created, point, metadata));
      return created;
    });
    this.peakConcurrentRestores = Math.max(this.peakConcurrentRestores, this.runningRestores(caller.account));
    this.notePeak(caller.account, point.resourceType);
    return { RestoreJobId: job.id };
  }

  /** Restore jobs running plus restored resources present, of one type in one account. */
  inUse(account: string, resourceType: string): number {
    const jobs = [...this.jobs.values()].filter(
      (job) =>
        job.kind === 'restore' &&
        job.account === account &&
        job.resourceType === resourceType &&
        RUNNING.has(job.state),
    ).length;
    return jobs + sandboxType(resourceType).present(this, account);
  }

  private notePeak(account: string, resourceType: string): void {
    const key = `${account}/${resourceType}`;
    this.peakInUse.set(key, Math.max(this.peakInUse.get(key) ?? 0, this.inUse(account, resourceType)));
  }

  private finishRestore(job: Job, point: RecoveryPoint, metadata: Record<string, string>): void {
    job.completedAt = this.clock.now;
    const type = sandboxType(point.resourceType);
    const exceeded = type.quotaExceeded(this, job, point, metadata);
    if (exceeded) {
      job.state = 'FAILED';
      job.statusMessage = `Restore failed: ${exceeded}`;
      this.quotaFailures.push(`${job.id}: ${exceeded}`);
    } else if (this.faults.restoreJob === 'FAILED' || this.faults.restoreJob === 'ABORTED') {
      job.state = this.faults.restoreJob;
      job.statusMessage =
        job.state === 'FAILED'
          ? 'Restore failed: the DB subnet group does not cover enough Availability Zones.'
          : 'Restore job was aborted.';
    } else {
      job.createdResourceArn = type.restore(this, job, point, metadata);
      job.state = 'COMPLETED';
      this.notePeak(job.account, point.resourceType);
    }
    this.emitJobEvent(job);
  }

  describeRestoreJob(caller: Caller, input: { RestoreJobId?: string }) {
    const job = this.jobIn(caller, input.RestoreJobId, 'restore');
    return {
      RestoreJobId: job.id,
      AccountId: job.account,
      Status: job.state === 'CREATED' ? 'PENDING' : job.state,
      StatusMessage: job.statusMessage,
      RecoveryPointArn: job.recoveryPointArn,
      CreatedResourceArn: job.createdResourceArn,
      ResourceType: job.resourceType,
      IamRoleArn: job.iamRoleArn,
      CreationDate: new Date(job.createdAt),
      CompletionDate: job.completedAt ? new Date(job.completedAt) : undefined,
    };
  }

  /** The backup job that produced a recovery point (what ListBackupJobs reports in the source account). */
  recordBackupJob(id: string, point: RecoveryPoint): void {
    this.backupJobs.set(id, { id, point });
  }

  /** ListBackupJobs in the caller's account and region: COMPLETED jobs in a completion-time window. */
  listBackupJobs(
    caller: Caller,
    input: {
      ByState?: string;
      ByCompleteAfter?: Date;
      ByCompleteBefore?: Date;
      MaxResults?: number;
      NextToken?: string;
    },
  ) {
    const matches = [...this.backupJobs.values()].filter(
      ({ point }) =>
        point.account === caller.account &&
        point.region === caller.region &&
        (!input.ByState || input.ByState === 'COMPLETED') &&
        (!input.ByCompleteAfter || point.completedAt > input.ByCompleteAfter.getTime()) &&
        (!input.ByCompleteBefore || point.completedAt < input.ByCompleteBefore.getTime()),
    );
    const perPage = input.MaxResults ?? 100;
    const start = Number(input.NextToken || 0);
    return {
      BackupJobs: matches.slice(start, start + perPage).map(({ id, point }) => ({
        AccountId: point.account,
        BackupJobId: id,
        BackupVaultName: point.vaultName,
        BackupVaultArn: `arn:aws:backup:${point.region}:${point.account}:backup-vault:${point.vaultName}`,
        RecoveryPointArn: point.arn,
        ResourceArn: point.resourceArn,
        ResourceType: point.resourceType,
        State: 'COMPLETED',
        CreationDate: new Date(point.createdAt),
        CompletionDate: new Date(point.completedAt),
        BackupSizeInBytes: point.sizeBytes,
      })),
      NextToken: start + perPage < matches.length ? String(start + perPage) : undefined,
    };
  }

  /** ListRestoreJobs in the caller's account and region (newest first, as AWS Backup lists them). */
  listRestoreJobs(
    caller: Caller,
    input: {
      ByAccountId?: string;
      ByCreatedAfter?: Date;
      ByStatus?: string;
      MaxResults?: number;
      NextToken?: string;
    },
  ) {
    const matches = [...this.jobs.values()]
      .filter(
        (job) =>
          job.kind === 'restore' &&
          job.account === caller.account &&
          job.region === caller.region &&
          (!input.ByAccountId || input.ByAccountId === job.account) &&
          (!input.ByCreatedAfter || job.createdAt >= input.ByCreatedAfter.getTime()) &&
          (!input.ByStatus ||
            this.describeRestoreJob(caller, { RestoreJobId: job.id }).Status === input.ByStatus),
      )
      .sort((a, b) => b.createdAt - a.createdAt);
    const perPage = input.MaxResults ?? 100;
    const start = Number(input.NextToken || 0);
    return {
      RestoreJobs: matches
        .slice(start, start + perPage)
        .map((job) => this.describeRestoreJob(caller, { RestoreJobId: job.id })),
      NextToken: start + perPage < matches.length ? String(start + perPage) : undefined,
    };
  }

  private emitJobEvent(job: Job): void {
    const common = {
      version: '0',
      id: this.random.uuid(),
      source: 'aws.backup',
      account: job.account,
      time: iso(this.clock.now),
      region: job.region,
    };
    if (job.kind === 'copy') {
      this.emit({
        ...common,
        'detail-type': 'Copy Job State Change',
        resources: [job.recoveryPointArn],
        detail: this.definedOnly({
          copyJobId: job.id,
          state: job.state,
          statusMessage: job.statusMessage,
          resourceType: job.resourceType,
          sourceRecoveryPointArn: job.recoveryPointArn,
          destinationBackupVaultArn: job.destinationVaultArn,
          destinationRecoveryPointArn: job.destinationRecoveryPointArn,
          iamRoleArn: job.iamRoleArn,
          creationDate: iso(job.createdAt),
          completionDate: job.completedAt ? iso(job.completedAt) : undefined,
        }),
      });
    } else {
      this.emit({
        ...common,
        'detail-type': 'Restore Job State Change',
        resources: [job.recoveryPointArn],
        detail: this.definedOnly({
          restoreJobId: job.id,
          status: job.state,
          statusMessage: job.statusMessage,
          resourceType: job.resourceType,
          createdResourceArn: job.createdResourceArn,
          iamRoleArn: job.iamRoleArn,
          percentDone: job.state === 'COMPLETED' ? '100.0' : '0.0',
          creationDate: iso(job.createdAt),
          completionDate: job.completedAt ? iso(job.completedAt) : undefined,
        }),
      });
    }
  }

  private definedOnly(values: Record<string, Json | undefined>): Record<string, Json> {
    return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Record<
      string,
      Json
    >;
  }

  // ---- work a service does off the virtual clock ---------------------------------------------------------

  private readonly pendingWork = new Set<Promise<void>>();
  private workFailure: unknown;
  private readonly disposers: (() => void)[] = [];

  /**
   * Work a simulated service does outside the virtual clock (a restore loading a table into the account's
   * dynalite over loopback): the simulation lets it finish before it moves time on (see `settled`).
   */
  defer(work: Promise<unknown>): void {
    const tracked: Promise<void> = work.then(
      () => undefined,
      (error: unknown) => {
        this.workFailure ??= error;
      },
    );
    this.pendingWork.add(tracked);
    void tracked.finally(() => this.pendingWork.delete(tracked));
  }

  /** Whether deferred work is still running. */
  get working(): boolean {
    return this.pendingWork.size > 0;
  }

  /** Resolves when every deferred piece of work is done; rethrows the first that failed. */
  async settled(): Promise<void> {
    while (this.pendingWork.size > 0) await Promise.all([...this.pendingWork]);
    if (this.workFailure !== undefined) throw this.workFailure;
  }

  /** Something to release when the sandbox is disposed (a local server a service started). */
  onDispose(release: () => void): void {
    this.disposers.push(release);
  }

  dispose(): void {
    for (const release of this.disposers.splice(0).reverse()) release();
  }

  // ---- what restores created, across services ------------------------------------------------------------

  /** Indexes a resource a service created (its service keeps the full record). */
  track(resource: RestoredResource): void {
    this.resources.set(resource.arn, resource);
  }

  findResource(caller: Caller, kind: string, idOrArn: string): RestoredResource | undefined {
    return [...this.resources.values()].find(
      (r) =>
        r.kind === kind &&
        (r.arn === idOrArn || r.id === idOrArn) &&
        r.account === caller.account &&
        r.region === caller.region &&
        r.phase !== 'deleted',
    );
  }

  /** A resource by ARN in the caller's account and region, of any kind. */
  findResourceByArn(caller: Caller, arn: string): RestoredResource | undefined {
    const found = this.resources.get(arn);
    return found &&
      found.account === caller.account &&
      found.region === caller.region &&
      found.phase !== 'deleted'
      ? found
      : undefined;
  }

  /** Deletion completes `seconds` later; the resource is gone for every API once it does. */
  beginDelete(
    resource: RestoredResource,
    seconds: number,
    deletingStatus: string,
    deletedStatus: string,
  ): void {
    resource.phase = 'deleting';
    resource.status = deletingStatus;
    this.clock.schedule(seconds * 1000, () => {
      resource.phase = 'deleted';
      resource.status = deletedStatus;
      resource.deletedAt = this.clock.now;
    });
  }

  /** The fault `teardown=fail[*N]`: the next N delete calls fail with the service's own error. */
  teardownFault(code: string): void {
    if (this.faults.teardownFailures <= 0) return;
    this.faults.teardownFailures -= 1;
    throw new SimulatedAwsError(
      code,
      'sandbox fault teardown=fail: the resource is in a state that does not allow deletion',
    );
  }

  /**
   * Resource Groups Tagging API GetResources: the caller's account and region, every tag filter must match
   * (a filter without values only needs the key). Like the real index, it lags behind deletions: a resource
   * deleted less than TAG_INDEX_LAG_MS ago is still listed.
   */
  getResources(
    caller: Caller,
    input: {
      TagFilters?: { Key?: string; Values?: string[] }[];
      ResourceTypeFilters?: string[];
      ResourcesPerPage?: number;
      PaginationToken?: string;
    },
  ) {
    const types = input.ResourceTypeFilters ?? [];
    for (const type of types) {
      if (!/^[a-z0-9-]+(:[a-zA-Z0-9-]+)?$/.test(type))
        throw new SimulatedAwsError('InvalidParameterException', `Unsupported resource type ${type}`);
    }
    const matches = [...this.resources.values()].filter(
      (r) =>
        r.account === caller.account &&
        r.region === caller.region &&
        (r.deletedAt === undefined || this.clock.now - r.deletedAt < TAG_INDEX_LAG_MS) &&
        (types.length === 0 ||
          types.includes(taggingTypeOf(r.arn)) ||
          types.includes(taggingTypeOf(r.arn).split(':')[0] ?? '')) &&
        (input.TagFilters ?? []).every(
          (filter) =>
            filter.Key !== undefined &&
            filter.Key in r.tags &&
            ((filter.Values ?? []).length === 0 || (filter.Values ?? []).includes(r.tags[filter.Key] ?? '')),
        ),
    );
    const perPage = input.ResourcesPerPage ?? 50;
    const start = Number(input.PaginationToken || 0);
    const page = matches.slice(start, start + perPage);
    return {
      ResourceTagMappingList: page.map((r) => ({
        ResourceARN: r.arn,
        Tags: Object.entries(r.tags).map(([Key, Value]) => ({ Key, Value })),
      })),
      PaginationToken: start + perPage < matches.length ? String(start + perPage) : '',
    };
  }

  /** Restored resources still present (not deleted or being deleted), per account. */
  resourcesLeft(): RestoredResource[] {
    return [...this.resources.values()].filter((r) => r.phase === 'present');
  }

  // ---- S3 and SNS in the central account ------------------------------------------------------------------

  putObject(
    caller: Caller,
    input: {
      Bucket?: string;
      Key?: string;
      Body?: unknown;
      ChecksumSHA256?: string;
      ObjectLockMode?: string;
      ObjectLockRetainUntilDate?: Date;
      Metadata?: Record<string, string>;
    },
  ) {
    const bucket = this.settings.buckets.find((b) => b.name === input.Bucket);
    if (!bucket || caller.account !== this.settings.centralAccount)
      throw new SimulatedAwsError('NoSuchBucket', `The specified bucket does not exist: ${input.Bucket}`);
    const body =
      typeof input.Body === 'string'
        ? input.Body
        : input.Body instanceof Uint8Array
          ? Buffer.from(input.Body).toString('utf8')
          : '';
    const digest = createHash('sha256').update(body);
    if (input.ChecksumSHA256 && digest.copy().digest('base64') !== input.ChecksumSHA256) {
      throw new SimulatedAwsError(
        'BadDigest',
        'The SHA256 you specified did not match the calculated checksum.',
      );
    }
    if (input.ObjectLockMode && bucket.objectLockDays === undefined) {
      throw new SimulatedAwsError('InvalidRequest', 'Bucket is missing Object Lock Configuration');
    }
    const retainUntil =
      input.ObjectLockRetainUntilDate?.getTime() ??
      (bucket.objectLockDays ? this.clock.now + bucket.objectLockDays * 86_400_000 : undefined);
    const stored: StoredObject = {
      bucket: bucket.name,
      key: input.Key ?? '',
      versionId: this.random.hex(32),
      body,
      sha256: digest.digest('hex'),
      lockMode: input.ObjectLockMode ?? (bucket.objectLockDays ? 'COMPLIANCE' : undefined),
      retainUntil,
      metadata: input.Metadata ?? {},
      storedAt: this.clock.now,
    };
    this.objects.push(stored);
    return {
      VersionId: stored.versionId,
      ETag: `"${stored.sha256.slice(0, 32)}"`,
      ChecksumSHA256: input.ChecksumSHA256,
    };
  }

  deleteObject(_caller: Caller, input: { Bucket?: string; Key?: string; VersionId?: string }) {
    const version = this.objects.find(
      (o) =>
        o.bucket === input.Bucket &&
        o.key === input.Key &&
        (!input.VersionId || o.versionId === input.VersionId),
    );
    if (!version) return {};
    if (input.VersionId && version.lockMode === 'COMPLIANCE' && (version.retainUntil ?? 0) > this.clock.now) {
      throw new SimulatedAwsError(
        'AccessDenied',
        `Object ${input.Key} version ${input.VersionId} is under COMPLIANCE retention until ${iso(version.retainUntil ?? 0)}`,
      );
    }
    if (input.VersionId) this.objects.splice(this.objects.indexOf(version), 1);
    return { DeleteMarker: !input.VersionId, VersionId: input.VersionId };
  }

  publish(caller: Caller, input: { TopicArn?: string; Subject?: string; Message?: string }) {
    if (
      !input.TopicArn ||
      !this.settings.topics.includes(input.TopicArn) ||
      caller.account !== this.settings.centralAccount
    ) {
      throw new SimulatedAwsError('NotFoundException', `Topic does not exist: ${input.TopicArn}`);
    }
    this.alerts.push({
      topicArn: input.TopicArn,
      subject: input.Subject ?? '',
      message: input.Message ?? '',
      at: iso(this.clock.now),
    });
    return { MessageId: this.random.uuid() };
  }
}
