import { Backup } from './aws/backup.js';
import { findNamed } from './aws/find.js';
import { S3 } from './aws/s3.js';
import { Sns } from './aws/sns.js';
import { Tagging } from './aws/tagging.js';
import { SimulatedAwsError } from './aws-errors.js';
import type { VirtualClock } from './clock.js';
import type { EventBridgeEvent } from './events.js';
import type { Faults } from './faults.js';
import type { Random } from './random.js';

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
  /** A restore job started by an AWS Backup restore testing plan (CreatedBy.RestoreTestingPlanArn). */
  restoreTestingPlanArn?: string;
  /** PutRestoreValidationResult's last status and message on a restore testing job. */
  validationStatus?: string;
  validationStatusMessage?: string;
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
  /**
   * The resource this one belongs to (an instance's attached volume): while that one is present, this one is
   * part of it, not a resource left of its own; it goes with it (delete on termination) or is left after it.
   */
  partOf?: string;
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
   * Amazon RDS "DB clusters": 40 per account per Region by default (Aurora User Guide, Quotas in Amazon Aurora;
   * DocumentDB and Neptune clusters count against the same RDS quota). A cluster restore beyond it fails.
   */
  'rds-db-clusters': 40,
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

/**
 * The simulated estate, as a composition of services a reader finds by name: AWS Backup (sandbox/aws/backup.ts),
 * S3 (s3.ts), SNS (sns.ts), the Tagging API (tagging.ts), and the services restored resources live in, one
 * state per service (`state(Class)`: sandbox/aws/rds.ts, ec2.ts, sandbox/resources/*.ts). The world itself
 * keeps what spans them: the organization's accounts, the index of every resource the services created
 * (`resources`: the Tagging API, IAM's resource context and "left behind" read it) and the clock, randomness
 * and faults they share. The SDK boundary (interceptor.ts, services.ts) translates API calls into the services.
 */
export class World {
  readonly backup: Backup;
  readonly s3: S3;
  readonly sns: Sns;
  readonly tagging: Tagging;
  readonly resources = new Map<string, RestoredResource>();
  /** The accounts of the organization and the IAM roles their stacks created (by role name). */
  readonly accounts = new Map<string, { organizationId?: string; roles: Set<string> }>();

  /** Each service's own state (sandbox/aws/*.ts, sandbox/resources/*.ts), created on first use. */
  private readonly states = new Map<new () => object, object>();

  constructor(
    readonly settings: WorldSettings,
    readonly clock: VirtualClock,
    readonly random: Random,
    readonly faults: Faults,
    readonly emitEvent: (event: EventBridgeEvent) => void,
  ) {
    this.backup = new Backup(this);
    this.s3 = new S3(this);
    this.sns = new Sns(this);
    this.tagging = new Tagging(this);
    for (const account of [...settings.sourceAccounts])
      this.registerSourceAccount(account, settings.sourceRegion);
    this.accounts.set(settings.drAccount, {
      organizationId: settings.organizationId,
      roles: new Set([settings.drRoleName]),
    });
    this.backup.addVault(settings.drVaultName, settings.drAccount, settings.drRegion);
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
    if (!this.backup.vaults.has(vault)) this.backup.addVault('Default', account, region);
  }

  // What the drivers, the report and the tests read, kept where they always were.
  get recoveryPoints() {
    return this.backup.recoveryPoints;
  }

  get jobs() {
    return this.backup.jobs;
  }

  get vaults() {
    return this.backup.vaults;
  }

  get quotaFailures() {
    return this.backup.quotaFailures;
  }

  get peakInUse() {
    return this.backup.peakInUse;
  }

  get peakConcurrentRestores() {
    return this.backup.peakConcurrentRestores;
  }

  get objects() {
    return this.s3.objects;
  }

  get alerts() {
    return this.sns.alerts;
  }

  addRecoveryPoint(input: Parameters<Backup['addRecoveryPoint']>[0]): RecoveryPoint {
    return this.backup.addRecoveryPoint(input);
  }

  recordBackupJob(id: string, point: RecoveryPoint): void {
    this.backup.recordBackupJob(id, point);
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

  // ---- work a service does off the virtual clock ---------------------------------------------------------

  private readonly pendingWork = new Set<Promise<void>>();
  private workFailure: unknown;
  private readonly disposers: (() => unknown)[] = [];

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
  onDispose(release: () => unknown): void {
    this.disposers.push(release);
  }

  /** Releases what the run holds; settles when the asynchronous releases (servers closing) have ended. */
  dispose(): Promise<unknown> {
    return Promise.allSettled(
      this.disposers
        .splice(0)
        .reverse()
        .map((release) => release()),
    );
  }

  // ---- what restores created, across services ------------------------------------------------------------

  /** Indexes a resource a service created (its service keeps the full record). */
  track(resource: RestoredResource): void {
    this.resources.set(resource.arn, resource);
  }

  findResource(caller: Caller, kind: string, idOrArn: string): RestoredResource | undefined {
    return findNamed(
      [...this.resources.values()].filter((r) => r.kind === kind),
      caller,
      idOrArn,
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

  /** Restored resources still present (not deleted or being deleted), per account. */
  resourcesLeft(): RestoredResource[] {
    const present = (r: RestoredResource) => r.phase === 'present';
    return [...this.resources.values()].filter((r) => {
      if (!present(r)) return false;
      const parent = r.partOf ? this.resources.get(r.partOf) : undefined;
      return !parent || !present(parent);
    });
  }
}
