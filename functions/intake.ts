import { createHash } from 'node:crypto';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { sfn } from './lib/clients.js';
import { config, drVaultArn } from './lib/config.js';
import type { DrillRequest } from './lib/drill.js';
import { BACKUP_JOB, BackupEvent, BackupJobDetail, COPY_JOB, CopyJobDetail } from './lib/events.js';
import { lambdaHandler } from './lib/handler.js';
import { logger } from './lib/observability.js';
import { findJob } from './lib/state-store.js';
import { isSupported, supportedResourceTypes } from './resources/index.js';

export interface IntakeResult {
  started: { drillId: string; executionArn: string }[];
  skipped: { eventId: string; reason: string }[];
}

type Decision = { request: DrillRequest } | { skip: string };

/** Which drill (if any) an AWS Backup event asks for. Pure, so every rule can be tested directly. */
export async function decide(event: BackupEvent): Promise<Decision> {
  const type = event['detail-type'];
  if (type === BACKUP_JOB) {
    const detail = BackupJobDetail.parse(event.detail);
    if (detail.state !== 'COMPLETED')
      return { skip: `backup job ${detail.backupJobId} is ${detail.state}, not COMPLETED` };
    if (!isSupported(detail.resourceType)) return { skip: unsupported(detail.resourceType) };
    const recoveryPointArn = event.resources[0];
    if (!recoveryPointArn)
      return { skip: `backup job ${detail.backupJobId} event names no recovery point (resources[0])` };
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
    const detail = CopyJobDetail.parse(event.detail);
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
  return { skip: `detail-type "${type}" is not a drill trigger` };
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
 * The execution name is the drill id. It is derived from the event id, so a duplicated event (AWS Backup
 * delivers best-effort) maps to the same execution and Step Functions refuses a second one.
 */
export function drillIdFor(request: DrillRequest, eventId: string): string {
  const hash = createHash('sha256').update(eventId).digest('hex').slice(0, 10);
  const at = (request.trigger?.at ?? '').replace(/[-:]/g, '').slice(0, 13);
  return `${request.source.resourceType.toLowerCase()}-${at}-${hash}`;
}

export const handler = lambdaHandler(async (raw: unknown): Promise<IntakeResult> => {
  const event = BackupEvent.parse(raw);
  logger.appendKeys({ eventId: event.id });
  const decision = await decide(event);
  if ('skip' in decision) {
    logger.info('event is not a drill trigger', { reason: decision.skip });
    return { started: [], skipped: [{ eventId: event.id, reason: decision.skip }] };
  }
  const drillId = drillIdFor(decision.request, event.id);
  logger.appendKeys({ drillId });
  try {
    const started = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn: config.DRILL_STATE_MACHINE_ARN,
        name: drillId,
        input: JSON.stringify(decision.request),
      }),
    );
    logger.info('drill started', { executionArn: started.executionArn });
    return { started: [{ drillId, executionArn: started.executionArn ?? '' }], skipped: [] };
  } catch (error) {
    if (error instanceof Error && error.name === 'ExecutionAlreadyExists') {
      const reason = `duplicate event: drill ${drillId} already ran for it`;
      logger.info(reason);
      return { started: [], skipped: [{ eventId: event.id, reason }] };
    }
    throw error;
  }
});
