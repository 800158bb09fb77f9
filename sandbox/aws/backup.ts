import { SimulatedAwsError } from '../aws-errors.js';
import { sandboxType } from '../resources/index.js';
import type { Json } from '../serverless-config.js';
import type { Caller, Job, RecoveryPoint, World } from '../world.js';
import { SecretsState } from './secrets-manager.js';

const RUNNING = new Set(['CREATED', 'PENDING', 'RUNNING']);
/** Restore testing validation statuses that are final once set (PutRestoreValidationResult). */
const FINAL_VALIDATION = ['SUCCESSFUL', 'FAILED', 'TIMED_OUT'];
const iso = (ms: number) => new Date(ms).toISOString();

/**
 * AWS Backup in the sandbox: vaults, recovery points (with the restore metadata each type's module gives them),
 * backup jobs (ListBackupJobs), copy and restore jobs with seeded realistic durations and their "Job State
 * Change" events, the quotas AWS Backup and the restoring services enforce. What a restore creates comes from the
 * resource type's module (sandbox/resources). Output shapes are the SDK's; errors are AWS Backup's.
 */
export class Backup {
  readonly recoveryPoints = new Map<string, RecoveryPoint>();
  readonly jobs = new Map<string, Job>();
  readonly vaults = new Map<string, { name: string; account: string; region: string }>();
  /** Completed backup jobs in the source accounts (ListBackupJobs), by job id. */
  readonly backupJobs = new Map<string, { id: string; point: RecoveryPoint }>();
  peakConcurrentRestores = 0;
  /** Per `account/type`: the most restore jobs running plus restored resources present at one time. */
  readonly peakInUse = new Map<string, number>();
  /** Restore jobs that failed on a service quota (the burst promise: zero). */
  readonly quotaFailures: string[] = [];
  private readonly idempotency = new Map<string, string>();
  /** Every PutRestoreValidationResult AWS Backup accepted, in order (what restore testing shows per job). */
  readonly validationResults: { restoreJobId: string; status: string; message?: string; at: string }[] = [];

  constructor(private readonly world: World) {}

  private get clock() {
    return this.world.clock;
  }

  private get random() {
    return this.world.random;
  }

  private get faults() {
    return this.world.faults;
  }

  addVault(name: string, account: string, region: string): string {
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
    if (!existing && copying >= this.world.settings.quotas['backup-copy-jobs-per-region']) {
      throw new SimulatedAwsError(
        'LimitExceededException',
        `Too many copy jobs in progress from ${caller.account} to ${destination.region} (quota ${this.world.settings.quotas['backup-copy-jobs-per-region']})`,
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
    if (!existing) type.validateRestore(this.world, caller, metadata);
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

  /**
   * An AWS Backup restore testing plan starts a restore job of a recovery point in its own account (restore
   * testing runs in the account that holds the vault). Its restored resource is restore testing's: AWS Backup
   * deletes it once a final validation status is put, or when the validation window closes.
   */
  startRestoreTestJob(input: {
    point: RecoveryPoint;
    restoreTestingPlanArn: string;
    metadata: Record<string, string>;
    validationWindowHours?: number;
  }): Job {
    const { point } = input;
    const type = sandboxType(point.resourceType);
    const job: Job = {
      id: this.random.uuid().toUpperCase(),
      kind: 'restore',
      account: point.account,
      region: point.region,
      state: 'PENDING',
      recoveryPointArn: point.arn,
      resourceType: point.resourceType,
      iamRoleArn: `arn:aws:iam::${point.account}:role/service-role/AWSBackupDefaultServiceRole`,
      createdAt: this.clock.now,
      restoreTestingPlanArn: input.restoreTestingPlanArn,
    };
    this.jobs.set(job.id, job);
    this.clock.schedule(this.random.seconds(30, 90), () => {
      if (job.state === 'PENDING') job.state = 'RUNNING';
    });
    const duration = type.restoreDurationMs(this.random, point.sizeBytes / 2 ** 30);
    this.clock.schedule(duration, () => {
      this.finishRestore(job, point, input.metadata);
      // The validation window: restore testing deletes its restore then, validated or not.
      const windowMs = (input.validationWindowHours ?? 24) * 3_600_000;
      this.clock.schedule(windowMs, () => this.deleteRestoreTest(job), { background: true });
    });
    return job;
  }

  /**
   * A restore testing job that has already COMPLETED (what an event from outside, `--event`, refers to): its job
   * id is the event's, its resource is restored at once, and no event is sent (the delivered one is it).
   */
  provisionRestoreTestJob(input: {
    id: string;
    point: RecoveryPoint;
    restoreTestingPlanArn: string;
    metadata: Record<string, string>;
    createdAt: number;
    completedAt: number;
  }): Job {
    const { point } = input;
    const job: Job = {
      id: input.id,
      kind: 'restore',
      account: point.account,
      region: point.region,
      state: 'COMPLETED',
      recoveryPointArn: point.arn,
      resourceType: point.resourceType,
      iamRoleArn: `arn:aws:iam::${point.account}:role/service-role/AWSBackupDefaultServiceRole`,
      createdAt: input.createdAt,
      completedAt: input.completedAt,
      restoreTestingPlanArn: input.restoreTestingPlanArn,
    };
    job.createdResourceArn = sandboxType(point.resourceType).restore(this.world, job, point, input.metadata);
    this.tagRestoreTest(job);
    this.jobs.set(job.id, job);
    this.clock.schedule(24 * 3_600_000, () => this.deleteRestoreTest(job), { background: true });
    return job;
  }

  /**
   * Restore testing tags what it restores `awsbackup-restore-test` where the type supports tag on restore (what
   * its cleanup, and the DR role's restore-test grants, rely on). The value is not documented: the job id here.
   */
  private tagRestoreTest(job: Job): void {
    if (!job.restoreTestingPlanArn || !sandboxType(job.resourceType).tagsRestoreTests) return;
    const resource = this.world.resources.get(job.createdResourceArn ?? '');
    if (resource) resource.tags['awsbackup-restore-test'] = job.id;
  }

  /** Restore testing deletes what its job restored (a resource of restore testing's, never a drill's). */
  private deleteRestoreTest(job: Job): void {
    const resource = this.world.resources.get(job.createdResourceArn ?? '');
    if (!resource || resource.phase === 'deleted') return;
    resource.phase = 'deleted';
    resource.deletedAt = this.clock.now;
    // As RDS does when an instance is deleted: the managed master user secret the validation gave it goes too.
    this.world.state(SecretsState).deleteManagedOf(this.world, resource.arn);
  }

  /**
   * PutRestoreValidationResult: only on a COMPLETED restore testing job of the caller's account; VALIDATING any
   * number of times until a final status (SUCCESSFUL, FAILED, TIMED_OUT), which is final once set. Restore
   * testing then deletes the restored resource.
   */
  putRestoreValidationResult(
    caller: Caller,
    input: { RestoreJobId?: string; ValidationStatus?: string; ValidationStatusMessage?: string },
  ) {
    if (!input.RestoreJobId || !input.ValidationStatus)
      throw new SimulatedAwsError(
        'MissingParameterValueException',
        'RestoreJobId and ValidationStatus are required',
      );
    if (!['VALIDATING', ...FINAL_VALIDATION].includes(input.ValidationStatus)) {
      throw new SimulatedAwsError(
        'InvalidParameterValueException',
        `ValidationStatus ${input.ValidationStatus} is not one of FAILED, SUCCESSFUL, TIMED_OUT, VALIDATING`,
      );
    }
    const job = this.jobIn(caller, input.RestoreJobId, 'restore');
    if (!job.restoreTestingPlanArn) {
      throw new SimulatedAwsError(
        'InvalidRequestException',
        `Restore job ${job.id} was not created by a restore testing plan`,
      );
    }
    if (job.state !== 'COMPLETED')
      throw new SimulatedAwsError(
        'InvalidRequestException',
        `Restore job ${job.id} is ${job.state}, not COMPLETED`,
      );
    if (FINAL_VALIDATION.includes(job.validationStatus ?? '')) {
      throw new SimulatedAwsError(
        'InvalidRequestException',
        `Restore job ${job.id} already has the final validation status ${job.validationStatus}`,
      );
    }
    job.validationStatus = input.ValidationStatus;
    job.validationStatusMessage = input.ValidationStatusMessage;
    this.validationResults.push({
      restoreJobId: job.id,
      status: input.ValidationStatus,
      ...(input.ValidationStatusMessage === undefined ? {} : { message: input.ValidationStatusMessage }),
      at: iso(this.clock.now),
    });
    if (FINAL_VALIDATION.includes(input.ValidationStatus))
      this.clock.schedule(this.random.seconds(30, 120), () => this.deleteRestoreTest(job));
    return {};
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
    return jobs + sandboxType(resourceType).present(this.world, account);
  }

  private notePeak(account: string, resourceType: string): void {
    const key = `${account}/${resourceType}`;
    this.peakInUse.set(key, Math.max(this.peakInUse.get(key) ?? 0, this.inUse(account, resourceType)));
  }

  private finishRestore(job: Job, point: RecoveryPoint, metadata: Record<string, string>): void {
    job.completedAt = this.clock.now;
    const type = sandboxType(point.resourceType);
    const exceeded = type.quotaExceeded(this.world, job, point, metadata);
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
      job.createdResourceArn = type.restore(this.world, job, point, metadata);
      this.tagRestoreTest(job);
      job.state = 'COMPLETED';
      this.notePeak(job.account, point.resourceType);
    }
    this.emitJobEvent(job);
  }

  describeRestoreJob(caller: Caller, input: { RestoreJobId?: string }) {
    const job = this.jobIn(caller, input.RestoreJobId, 'restore');
    const point = this.recoveryPoints.get(job.recoveryPointArn);
    const deleted = this.world.resources.get(job.createdResourceArn ?? '')?.phase === 'deleted';
    return {
      RestoreJobId: job.id,
      AccountId: job.account,
      Status: job.state === 'CREATED' ? 'PENDING' : job.state,
      StatusMessage: job.statusMessage,
      RecoveryPointArn: job.recoveryPointArn,
      RecoveryPointCreationDate: point ? new Date(point.createdAt) : undefined,
      BackupVaultArn: point
        ? `arn:aws:backup:${point.region}:${point.account}:backup-vault:${point.vaultName}`
        : undefined,
      SourceResourceArn: point?.resourceArn,
      CreatedResourceArn: job.createdResourceArn,
      ...(job.restoreTestingPlanArn
        ? {
            CreatedBy: { RestoreTestingPlanArn: job.restoreTestingPlanArn },
            ValidationStatus: job.validationStatus,
            ValidationStatusMessage: job.validationStatusMessage,
            DeletionStatus: deleted ? 'SUCCESSFUL' : undefined,
          }
        : {}),
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

  /**
   * ListProtectedResources in the caller's account and region: every resource with a completed backup here
   * (its recovery points in this account's vaults), with its type and last backup time.
   */
  listProtectedResources(caller: Caller, input: { MaxResults?: number; NextToken?: string }) {
    const latest = new Map<string, RecoveryPoint>();
    for (const point of this.recoveryPoints.values()) {
      if (point.account !== caller.account || point.region !== caller.region) continue;
      const known = latest.get(point.resourceArn);
      if (!known || point.completedAt > known.completedAt) latest.set(point.resourceArn, point);
    }
    const matches = [...latest.values()].sort((a, b) => a.resourceArn.localeCompare(b.resourceArn));
    const perPage = input.MaxResults ?? 1000;
    const start = Number(input.NextToken || 0);
    return {
      Results: matches.slice(start, start + perPage).map((point) => ({
        ResourceArn: point.resourceArn,
        ResourceType: point.resourceType,
        LastBackupTime: new Date(point.completedAt),
        LastBackupVaultArn: `arn:aws:backup:${point.region}:${point.account}:backup-vault:${point.vaultName}`,
        LastRecoveryPointArn: point.arn,
      })),
      NextToken: start + perPage < matches.length ? String(start + perPage) : undefined,
    };
  }

  /** ListRecoveryPointsByResource in the caller's account and region, newest first (as AWS Backup lists them). */
  listRecoveryPointsByResource(
    caller: Caller,
    input: { ResourceArn?: string; MaxResults?: number; NextToken?: string },
  ) {
    if (!input.ResourceArn)
      throw new SimulatedAwsError('InvalidParameterValueException', 'ResourceArn is required');
    const matches = [...this.recoveryPoints.values()]
      .filter(
        (point) =>
          point.account === caller.account &&
          point.region === caller.region &&
          point.resourceArn === input.ResourceArn,
      )
      .sort((a, b) => b.createdAt - a.createdAt);
    const perPage = input.MaxResults ?? 100;
    const start = Number(input.NextToken || 0);
    return {
      RecoveryPoints: matches.slice(start, start + perPage).map((point) => ({
        RecoveryPointArn: point.arn,
        BackupVaultName: point.vaultName,
        Status: point.status,
        CreationDate: new Date(point.createdAt),
        BackupSizeBytes: point.sizeBytes,
      })),
      NextToken: start + perPage < matches.length ? String(start + perPage) : undefined,
    };
  }

  /** ListCopyJobs in the caller's account and region (newest first, as AWS Backup lists them). */
  listCopyJobs(
    caller: Caller,
    input: {
      ByDestinationVaultArn?: string;
      ByState?: string;
      ByCreatedAfter?: Date;
      ByCompleteAfter?: Date;
      ByCompleteBefore?: Date;
      MaxResults?: number;
      NextToken?: string;
    },
  ) {
    const matches = [...this.jobs.values()]
      .filter(
        (job) =>
          job.kind === 'copy' &&
          job.account === caller.account &&
          job.region === caller.region &&
          (!input.ByDestinationVaultArn || input.ByDestinationVaultArn === job.destinationVaultArn) &&
          (!input.ByState || input.ByState === job.state) &&
          (!input.ByCreatedAfter || job.createdAt >= input.ByCreatedAfter.getTime()) &&
          completedWithin(job, input),
      )
      .sort((a, b) => b.createdAt - a.createdAt);
    const perPage = input.MaxResults ?? 100;
    const start = Number(input.NextToken || 0);
    return {
      CopyJobs: matches
        .slice(start, start + perPage)
        .map((job) => this.describeCopyJob(caller, { CopyJobId: job.id }).CopyJob),
      NextToken: start + perPage < matches.length ? String(start + perPage) : undefined,
    };
  }

  /** ListRestoreJobs in the caller's account and region (newest first, as AWS Backup lists them). */
  listRestoreJobs(
    caller: Caller,
    input: {
      ByAccountId?: string;
      ByCreatedAfter?: Date;
      ByCompleteAfter?: Date;
      ByCompleteBefore?: Date;
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
          completedWithin(job, input) &&
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
      this.world.emitEvent({
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
      this.world.emitEvent({
        ...common,
        'detail-type': 'Restore Job State Change',
        resources: [job.recoveryPointArn],
        detail: this.definedOnly({
          restoreJobId: job.id,
          status: job.state,
          restoreTestingPlanArn: job.restoreTestingPlanArn,
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
}

/** ByCompleteAfter / ByCompleteBefore of the job listings: a job that has not completed matches neither. */
function completedWithin(job: Job, input: { ByCompleteAfter?: Date; ByCompleteBefore?: Date }): boolean {
  if (!input.ByCompleteAfter && !input.ByCompleteBefore) return true;
  if (job.completedAt === undefined) return false;
  return (
    (!input.ByCompleteAfter || job.completedAt > input.ByCompleteAfter.getTime()) &&
    (!input.ByCompleteBefore || job.completedAt < input.ByCompleteBefore.getTime())
  );
}
