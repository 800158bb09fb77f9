import type { VirtualClock } from './clock.js';
import { validateEvent } from './estate.js';
import type { EventBridge } from './eventbridge.js';
import type { EventBridgeEvent } from './events.js';
import type { Iam } from './iam.js';
import type { Random } from './random.js';
import { sandboxType, sandboxTypes } from './resources/index.js';
import type { RestoreTestNetwork } from './resources/types.js';
import type { Json } from './serverless-config.js';
import type { StepFunctionsSimulator } from './step-functions.js';
import type { World } from './world.js';

/** The simulated accounts. The DR account and region come from serverless.yml's params. */
export const PROD_ACCOUNT = '111111111111';
/** Where the production resources live and are backed up, whichever region Pilotlight is deployed to. */
export const PROD_REGION = 'us-east-2';

/**
 * What drives a run: production backups completing (with the events AWS Backup sends), the backup plan's
 * copy events, events from outside (`--event`, checked and provisioned as AWS would have them), copies made
 * earlier and an operator's manual starts.
 */
export class Scenario {
  constructor(
    private readonly world: World,
    private readonly iam: Iam,
    private readonly events: EventBridge,
    private readonly stepFunctions: StepFunctionsSimulator,
    private readonly clock: VirtualClock,
    private readonly random: Random,
    /** The DR network restore testing selections of the DR account override database restores into. */
    private readonly restoreTestNetwork: RestoreTestNetwork,
  ) {}

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
    if (options.announce ?? true) this.events.publishEvent(event, true);
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
      this.events.publishEvent(event, true);
    });
  }

  private provisionFor(event: EventBridgeEvent): void {
    if (event.source !== 'aws.backup') return;
    const detail = event.detail as Record<string, Json>;
    const text = (value: Json | undefined) => (typeof value === 'string' ? value : undefined);
    const type = event['detail-type'];
    if (type === 'Restore Job State Change') {
      this.provisionRestoreTest(event);
      return;
    }
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
   * A COMPLETED restore testing job of the DR account (an event with `restoreTestingPlanArn`): the recovery
   * point it restored, in the DR vault, and the job itself with what it restored (a DynamoDB table named as in
   * `createdResourceArn`), so the validation it triggers can describe and check them. Restore events of other
   * accounts, or not from restore testing, refer to nothing Pilotlight reads.
   */
  private provisionRestoreTest(event: EventBridgeEvent): void {
    const detail = event.detail as Record<string, Json>;
    const text = (value: Json | undefined) => (typeof value === 'string' ? value : undefined);
    const { drAccount, drRegion, drVaultName } = this.world.settings;
    const planArn = text(detail.restoreTestingPlanArn);
    const id = text(detail.restoreJobId);
    const resourceType = text(detail.resourceType) ?? '';
    const pointArn = event.resources[0];
    if (!planArn || !id || !pointArn || detail.status !== 'COMPLETED') return;
    if (event.account !== drAccount || event.region !== drRegion) return;
    if (!sandboxTypes.some((known) => known.type === resourceType) || this.world.jobs.has(id)) return;
    const time = (value: Json | undefined) => {
      const parsed = Date.parse(text(value) ?? '');
      return Number.isNaN(parsed) ? undefined : Math.min(parsed, this.clock.now);
    };
    const completedAt = time(detail.completionDate) ?? this.clock.now;
    const createdAt = Math.min(time(detail.creationDate) ?? completedAt - 15 * 60_000, completedAt);
    const point =
      this.world.recoveryPoints.get(pointArn) ??
      this.world.addRecoveryPoint({
        account: drAccount,
        region: drRegion,
        vaultName: drVaultName,
        resourceType,
        resourceArn: sandboxType(resourceType).sourceResourceArn({
          account: PROD_ACCOUNT,
          region: PROD_REGION,
          index: 1,
          random: this.random,
        }),
        recoveryPointArn: pointArn,
        createdAt: createdAt - 6 * 3_600_000,
        completedAt: createdAt - 5 * 3_600_000,
      });
    const type = sandboxType(resourceType);
    const created = text(detail.createdResourceArn) ?? '';
    const name = type.restoreTestName?.(created) ?? `awsbackup-restore-test-${this.random.hex(12)}`;
    this.world.backup.provisionRestoreTestJob({
      id,
      point,
      restoreTestingPlanArn: planArn,
      metadata: this.restoreTestMetadata(resourceType, point.metadata, name, drAccount),
      createdAt,
      completedAt,
    });
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

  /**
   * An AWS Backup restore testing plan of the DR account (or, with `account`, of another account, restoring a
   * recovery point there) restores a backup of this type. The restore job's "Restore Job State Change" carries
   * `restoreTestingPlanArn`. Restore metadata is what restore testing infers (a DynamoDB table named
   * `awsbackup-restore-test-…`), with the selection's overrides to the DR account's key.
   */
  restoreTestCompleted(
    resourceType: string,
    options: { account?: string; index?: number } = {},
  ): { restoreJobId: string; restoreTestingPlanArn: string; recoveryPointArn: string } {
    const { drAccount, drRegion } = this.world.settings;
    const account = options.account ?? drAccount;
    const index = options.index ?? 1;
    // A production backup the plan copied into the DR vault earlier. No backup job is recorded: that backup was
    // drilled long ago (the reconciler must not find it as a missed one).
    const resourceArn = sandboxType(resourceType).sourceResourceArn({
      account: PROD_ACCOUNT,
      region: PROD_REGION,
      index,
      random: this.random,
    });
    const createdAt = this.clock.now - this.random.seconds(6 * 3600, 20 * 3600);
    const point = this.world.addRecoveryPoint({
      account,
      region: drRegion,
      vaultName: account === drAccount ? this.world.settings.drVaultName : 'Default',
      resourceType,
      resourceArn,
      createdAt,
      completedAt: createdAt + this.random.seconds(20 * 60, 60 * 60),
    });
    const restoreTestingPlanArn = `arn:aws:backup:${drRegion}:${account}:restore-testing-plan:pilotlight_sandbox-${this.random.hex(8)}`;
    const name = `awsbackup-restore-test-${this.random.hex(12)}`;
    const metadata = this.restoreTestMetadata(resourceType, point.metadata, name, account);
    const job = this.world.backup.startRestoreTestJob({ point, restoreTestingPlanArn, metadata });
    return { restoreJobId: job.id, restoreTestingPlanArn, recoveryPointArn: point.arn };
  }

  /**
   * What restore testing restores a backup of this type with: its inferred metadata and the DR account's
   * selection overrides (sandbox/resources/<type>.ts restoreTestMetadata); a type without them keeps the
   * backup's own metadata.
   */
  private restoreTestMetadata(
    resourceType: string,
    metadata: Record<string, string>,
    name: string,
    account: string,
  ): Record<string, string> {
    const infer = sandboxType(resourceType).restoreTestMetadata;
    if (!infer) return { ...metadata };
    return infer({
      metadata,
      name,
      account,
      region: this.world.settings.drRegion,
      network: this.restoreTestNetwork,
    });
  }

  /** An operator starts a drill (or a failover) by hand: StartExecution with the manual input shape. */
  startManual(input: Json, name: string): string {
    return this.stepFunctions.startExecution({
      stateMachineArn: this.stepFunctions.arn,
      name,
      input: JSON.stringify(input),
    }).executionArn;
  }
}
