import { createHash } from 'node:crypto';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import type * as z from 'zod';
import {
  type Claim,
  claimRecoveryPoint,
  giveBackOpenDrillPlace,
  readClaim,
  takeOpenDrillPlace,
} from './lib/claims.js';
import { sfn } from './lib/clients.js';
import { config, drVaultArn, isSourceAccount, isStandby, reconciledRegions } from './lib/config.js';
import type { DrillRequest } from './lib/drill.js';
import {
  arn,
  BACKUP_JOB,
  BackupEvent,
  BackupJobDetail,
  COPY_JOB,
  CopyJobDetail,
  problemsOf,
  RESTORE_JOB,
  RestoreJobDetail,
} from './lib/events.js';
import { lambdaHandler } from './lib/handler.js';
import { logger, metrics } from './lib/observability.js';
import { findJob } from './lib/state-store.js';
import { isSupported, supportedResourceTypes } from './resources/index.js';

export interface IntakeResult {
  started: { drillId: string; executionArn: string }[];
  skipped: { eventId: string; reason: string }[];
  /** Events that are not what AWS Backup sends (one line each): never retried, never dead-lettered. */
  rejected: { eventId: string; reason: string }[];
  /**
   * Triggers not started because MAX_OPEN_DRILLS drills are open: the reconciler drills them later (it lists
   * the source accounts' completed backup jobs and keeps its watermark before a deferred one).
   */
  deferred: { eventId: string; reason: string }[];
}

const nothing = (): IntakeResult => ({ started: [], skipped: [], rejected: [], deferred: [] });

/** An event whose shape is not AWS Backup's: rejected with one line, a metric and a log entry. */
class RejectedEvent extends Error {
  override readonly name = 'RejectedEvent';
}

function parseDetail<T extends z.ZodType>(schema: T, event: BackupEvent): z.infer<T> {
  const parsed = schema.safeParse(event.detail);
  if (!parsed.success)
    throw new RejectedEvent(`"${event['detail-type']}" detail: ${problemsOf(parsed.error)}`);
  return parsed.data;
}

type Decision = { request: DrillRequest } | { skip: string };

/**
 * Why a job event is not drilled because of the account it comes from, or undefined if it may be. A backup or
 * copy job event comes from the source account that ran the job (`account`); only the configured source
 * accounts' are drilled (param sourceAccounts). Checked before anything else is read for it.
 */
export function fromUnknownAccount(event: BackupEvent): string | undefined {
  const type = event['detail-type'];
  if (type !== BACKUP_JOB && type !== COPY_JOB) return undefined;
  if (isSourceAccount(event.account)) return undefined;
  return `account ${event.account} is not a source account of this deployment (sourceAccounts: ${config.SOURCE_ACCOUNTS.join(', ') || 'none'}): its "${type}" events are not drilled`;
}

/** Which drill (if any) an AWS Backup event asks for. Pure, so every rule can be tested directly. */
export async function decide(event: BackupEvent): Promise<Decision> {
  const type = event['detail-type'];
  if (type === BACKUP_JOB) {
    const detail = parseDetail(BackupJobDetail, event);
    if (detail.state !== 'COMPLETED')
      return { skip: `backup job ${detail.backupJobId} is ${detail.state}, not COMPLETED` };
    if (!isSupported(detail.resourceType)) return { skip: unsupported(detail.resourceType) };
    const recoveryPointArn = event.resources[0];
    if (!recoveryPointArn)
      return { skip: `backup job ${detail.backupJobId} event names no recovery point (resources[0])` };
    if (!arn.safeParse(recoveryPointArn).success)
      throw new RejectedEvent(`resources[0] "${recoveryPointArn.slice(0, 80)}" is not a recovery point ARN`);
    return {
      request: {
        mode: 'drill',
        trigger: {
          kind: 'backup-job',
          eventId: event.id,
          jobId: detail.backupJobId,
          at: atOf(detail.completionDate, event.time),
        },
        source: {
          account: event.account,
          region: event.region,
          resourceType: detail.resourceType,
          resourceArn: detail.resourceArn,
          recoveryPointArn,
          backupVaultName: detail.backupVaultName,
        },
      },
    };
  }
  if (type === COPY_JOB) {
    const detail = parseDetail(CopyJobDetail, event);
    if (detail.state !== 'COMPLETED')
      return { skip: `copy job ${detail.copyJobId} is ${detail.state}, not COMPLETED` };
    if (detail.destinationBackupVaultArn !== drVaultArn) {
      return {
        skip: `copy job ${detail.copyJobId} copied into ${detail.destinationBackupVaultArn}, not the DR vault`,
      };
    }
    const ours = await findJob(detail.copyJobId);
    if (ours) return { skip: `copy job ${detail.copyJobId} was started by drill ${ours.drillId}` };
    if (!isSupported(detail.resourceType)) return { skip: unsupported(detail.resourceType) };
    const sourceRecoveryPointArn = detail.sourceRecoveryPointArn ?? event.resources[0];
    if (!sourceRecoveryPointArn || !detail.destinationRecoveryPointArn) {
      return { skip: `copy job ${detail.copyJobId} event names no source or destination recovery point` };
    }
    return {
      request: {
        mode: 'drill',
        trigger: {
          kind: 'copy-job',
          eventId: event.id,
          jobId: detail.copyJobId,
          at: atOf(detail.completionDate, event.time),
        },
        source: {
          account: event.account,
          region: event.region,
          resourceType: detail.resourceType,
          resourceArn: detail.resourceArn,
          recoveryPointArn: sourceRecoveryPointArn,
          backupVaultName: vaultName(detail.sourceBackupVaultArn),
        },
        drRecoveryPointArn: detail.destinationRecoveryPointArn,
      },
    };
  }
  if (type === RESTORE_JOB) return decideRestoreTest(event);
  return { skip: `detail-type "${type}" is not a drill trigger` };
}

/**
 * Resource types whose checks can judge a restore testing job's restore: their checks only read what restore
 * testing names `awsbackup-restore-test-*` (accounts/dr-account.yaml ReadRestoreTestTables,
 * ReadRestoreTestDbInstances, ReadRestoreTestBuckets, ReadRestoreTestObjects; EBS's DescribeVolumes has no
 * resource-level permissions and was already granted), and an RDS copy gets its own master password first
 * (GiveRestoreTestCopiesTheirOwnPassword). EBS has no data checks: its checks are the volume's own.
 */
export const RESTORE_TEST_TYPES: readonly string[] = ['DynamoDB', 'RDS', 'S3', 'EBS'];

/**
 * Why a restore test of a type not in RESTORE_TEST_TYPES is not validated (the skip reason says it), where
 * there is more to say than "not yet".
 */
const RESTORE_TEST_NOT_VALIDATED: Readonly<Record<string, string>> = {
  Aurora:
    "restore testing restores the cluster without an instance; the checks would add one, which Pilotlight would then have to delete inside restore testing's cluster",
  DocumentDB: 'restore testing restores the cluster without an instance (as for Aurora)',
  Neptune: 'restore testing restores the cluster without an instance (as for Aurora)',
};

/**
 * A "Restore Job State Change" asks for a validation only when an AWS Backup restore testing plan started the
 * job in the DR account (Pilotlight's own restores are followed by resumeDrill): its restored resource is in the
 * isolated DR network, where the checks can reach it. Anything else is not Pilotlight's to judge.
 */
function decideRestoreTest(event: BackupEvent): Decision {
  const detail = parseDetail(RestoreJobDetail, event);
  const job = detail.restoreJobId;
  // Pilotlight's own restores (and anyone else's outside restore testing) are not triggers.
  if (!detail.restoreTestingPlanArn)
    return { skip: `detail-type "${event['detail-type']}" is not a drill trigger` };
  if (event.account !== config.DR_ACCOUNT_ID || event.region !== config.DR_REGION) {
    return {
      skip: `restore testing job ${job} ran in ${event.account} ${event.region}, not the DR account ${config.DR_ACCOUNT_ID} ${config.DR_REGION}: only restore tests in the DR account are validated`,
    };
  }
  if (detail.status !== 'COMPLETED')
    return {
      skip: `restore testing job ${job} is ${detail.status}: nothing to validate (restore testing reports it)`,
    };
  const resourceType = detail.resourceType ?? '';
  if (!RESTORE_TEST_TYPES.includes(resourceType)) {
    return {
      skip: `restore testing job ${job} restored a ${resourceType || 'resource of no type'}: validated types are ${RESTORE_TEST_TYPES.join(', ')}${RESTORE_TEST_NOT_VALIDATED[resourceType] ? ` (${resourceType}: ${RESTORE_TEST_NOT_VALIDATED[resourceType]})` : ''}`,
    };
  }
  const recoveryPointArn = event.resources[0];
  if (!recoveryPointArn || !arn.safeParse(recoveryPointArn).success)
    return { skip: `restore testing job ${job} event names no recovery point (resources[0])` };
  return {
    request: {
      mode: 'validate',
      trigger: {
        kind: 'restore-test',
        eventId: event.id,
        jobId: job,
        at: atOf(detail.completionDate, event.time),
      },
      source: {
        account: event.account,
        region: event.region,
        resourceType,
        recoveryPointArn,
        backupVaultName: config.DR_VAULT_NAME,
      },
      drRecoveryPointArn: recoveryPointArn,
      restoreTest: { restoreJobId: job, restoreTestingPlanArn: detail.restoreTestingPlanArn },
    },
  };
}

/**
 * The execution name of a restore test's validation: derived from the restore job id, so a redelivered event
 * starts nothing twice (Step Functions refuses a second execution of the same name).
 */
export function validationIdFor(restoreJobId: string): string {
  return `restore-test-${restoreJobId.toLowerCase().replace(/[^a-z0-9-]+/g, '-')}`.slice(0, 80);
}

/**
 * Starts the validation of a restore testing job. No claim and no open-drill place: the execution name is the
 * job's, and a validation restores nothing (restore testing already created, and will delete, the resource).
 */
export async function startValidation(request: DrillRequest, eventId: string): Promise<IntakeResult> {
  const restoreJobId = request.restoreTest?.restoreJobId ?? '';
  const drillId = validationIdFor(restoreJobId);
  logger.appendKeys({ drillId });
  return startExecution(drillId, request, eventId, {
    started: 'restore test validation started',
    duplicate: `duplicate trigger: restore testing job ${restoreJobId} is already validated by ${drillId}`,
  });
}

/**
 * StartExecution named after the drill: an execution of that name that already exists (a redelivered trigger)
 * is a skip with the reason, not an error.
 */
async function startExecution(
  drillId: string,
  request: DrillRequest,
  eventId: string,
  say: { started: string; duplicate: string },
): Promise<IntakeResult> {
  try {
    const started = await sfn().send(
      new StartExecutionCommand({
        stateMachineArn: config.DRILL_STATE_MACHINE_ARN,
        name: drillId,
        input: JSON.stringify(request),
      }),
    );
    logger.info(say.started, { executionArn: started.executionArn });
    return { ...nothing(), started: [{ drillId, executionArn: started.executionArn ?? '' }] };
  } catch (error) {
    if (error instanceof Error && error.name === 'ExecutionAlreadyExists') {
      logger.info(say.duplicate);
      return { ...nothing(), skipped: [{ eventId, reason: say.duplicate }] };
    }
    throw error;
  }
}

function unsupported(resourceType: string): string {
  return `resource type ${resourceType} is not supported (supported: ${supportedResourceTypes.join(', ')})`;
}

function atOf(completionDate: string | undefined, eventTime: string): string {
  const parsed = completionDate ? new Date(completionDate) : new Date(eventTime);
  return Number.isNaN(parsed.getTime()) ? new Date(eventTime).toISOString() : parsed.toISOString();
}

function vaultName(vaultArn: string | undefined): string {
  return vaultArn?.split(':backup-vault:')[1] ?? 'Default';
}

/**
 * The execution name is the drill id. It is derived from the source recovery point and the mode, so the same
 * backup redelivered under any event id maps to the same execution, which Step Functions refuses to start
 * twice; the claim (lib/claims.ts) covers the triggers with other names (the plan's copy, manual starts).
 */
export function drillIdFor(request: DrillRequest): string {
  const hash = createHash('sha256')
    .update(`${request.mode}|${request.source.recoveryPointArn}`)
    .digest('hex')
    .slice(0, 12);
  const at = (request.trigger?.at ?? '').replace(/[-:]/g, '').slice(0, 13);
  return `${request.source.resourceType.toLowerCase()}-${at}-${hash}`;
}

/**
 * Starts the drill a trigger asks for, unless its recovery point already has one or MAX_OPEN_DRILLS drills
 * are open. A place among the open drills is taken first (functions/lib/claims.ts; idempotent per drill id),
 * then the claim (a conditional write), then the execution is started under the drill id. A retry after a
 * crash between them finds its own place and claim and starts the execution.
 */
export async function startDrill(request: DrillRequest, eventId: string): Promise<IntakeResult> {
  const drillId = drillIdFor(request);
  logger.appendKeys({ drillId });
  const { recoveryPointArn } = request.source;
  const place = await takeOpenDrillPlace(drillId);
  if (!place.taken) {
    // At the cap, a trigger for a recovery point that already has its drill is a duplicate, not deferred.
    const holder = await readClaim(recoveryPointArn, request.mode);
    if (holder && holder.drillId !== drillId) return duplicate(holder, recoveryPointArn, eventId);
    // The reconciler lists the completed backup jobs of the source accounts in reconciledRegions only.
    const later = reconciledRegions.includes(request.source.region)
      ? `the reconciler drills recovery point ${recoveryPointArn} once a drill has ended`
      : `the reconciler does not list ${request.source.region} (sourceRegions): start a drill of ${recoveryPointArn} by hand`;
    const reason = `deferred: ${place.open} drills are open, the most this deployment starts (maxOpenDrills ${config.MAX_OPEN_DRILLS}); ${later}`;
    logger.warn('drill deferred: too many open drills', {
      reason,
      open: place.open,
      maxOpenDrills: config.MAX_OPEN_DRILLS,
    });
    return { ...nothing(), deferred: [{ eventId, reason }] };
  }
  const claim = await claimRecoveryPoint(drillId, recoveryPointArn, request.mode);
  if (!claim.taken) {
    await giveBackOpenDrillPlace(drillId);
    return duplicate(claim.holder, recoveryPointArn, eventId);
  }
  // An execution of this drill id that exists: while it runs, the place is its own; once it has ended, the
  // reconciler frees the place.
  return startExecution(drillId, request, eventId, {
    started: 'drill started',
    duplicate: `duplicate trigger: drill ${drillId} already ran for recovery point ${recoveryPointArn}`,
  });
}

function duplicate(holder: Claim, recoveryPointArn: string, eventId: string): IntakeResult {
  const reason =
    holder.status === 'RUNNING'
      ? `recovery point ${recoveryPointArn} is already being drilled by ${holder.drillId}`
      : `recovery point ${recoveryPointArn} was already drilled by ${holder.drillId} (a manual start re-drills it)`;
  logger.info('duplicate trigger skipped', { reason, holder: holder.drillId });
  return { ...nothing(), skipped: [{ eventId, reason }] };
}

/** What intake does with one event: reject it, skip it (with the reason), or start its drill. */
export async function intake(raw: unknown): Promise<IntakeResult> {
  const envelope = BackupEvent.safeParse(raw);
  const eventId = (raw as { id?: unknown } | null)?.id;
  const id = typeof eventId === 'string' ? eventId : 'unknown';
  try {
    if (!envelope.success) throw new RejectedEvent(`not an AWS Backup event: ${problemsOf(envelope.error)}`);
    const event = envelope.data;
    logger.appendKeys({ eventId: event.id });
    const unknown = fromUnknownAccount(event);
    if (unknown) {
      metrics.singleMetric().addMetric('EventsFromUnknownAccounts', MetricUnit.Count, 1);
      logger.warn('event from an account that is not a source account', {
        account: event.account,
        region: event.region,
        detailType: event['detail-type'],
        recoveryPointArn: event.resources[0],
        reason: unknown,
      });
      return { ...nothing(), skipped: [{ eventId: event.id, reason: unknown }] };
    }
    const decision = await decide(event);
    if ('skip' in decision) {
      logger.info('event is not a drill trigger', { reason: decision.skip });
      return { ...nothing(), skipped: [{ eventId: event.id, reason: decision.skip }] };
    }
    if (isStandby && !config.PRIMARY_DECLARED_DOWN) {
      const reason = `standby deployment in ${config.AWS_REGION}: backup events are drilled by the primary deployment until it is declared down (primaryDeclaredDown)`;
      logger.info('event left to the primary deployment', { reason });
      return { ...nothing(), skipped: [{ eventId: event.id, reason }] };
    }
    if (decision.request.mode === 'validate') return await startValidation(decision.request, event.id);
    const result = await startDrill(decision.request, event.id);
    if (result.deferred.length > 0)
      metrics.singleMetric().addMetric('DrillsDeferred', MetricUnit.Count, result.deferred.length);
    return result;
  } catch (error) {
    if (!(error instanceof RejectedEvent)) throw error;
    metrics.singleMetric().addMetric('RejectedEvents', MetricUnit.Count, 1);
    logger.warn('event rejected', { reason: error.message });
    return { ...nothing(), rejected: [{ eventId: id, reason: error.message }] };
  }
}

export const handler = lambdaHandler(async (raw: unknown): Promise<IntakeResult> => intake(raw));
