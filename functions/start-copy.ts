import { BackupClient, StartCopyJobCommand } from '@aws-sdk/client-backup';
import * as z from 'zod';
import { sourceClients } from './lib/clients.js';
import { config } from './lib/config.js';
import { Drill } from './lib/drill.js';
import { UnexpectedRecord } from './lib/errors.js';
import { lambdaHandler } from './lib/handler.js';
import { logger } from './lib/observability.js';
import { rememberJob, updateDrill } from './lib/state-store.js';

const Input = z.object({ drill: Drill, taskToken: z.string().min(1) });

/**
 * AWS Backup counts a copy's lifecycle from the recovery point's creation, not from the copy: an older
 * recovery point (a policy's `random` rule drills one from days ago) keeps its copy for its age plus
 * DRILL_COPY_RETENTION_DAYS, or the copy would be deleted before the restore reads it.
 */
export function copyRetentionDays(drill: Drill): number {
  const ageDays = Math.floor((Date.now() - Date.parse(drill.source.recoveryPointCreatedAt)) / 86_400_000);
  return Math.max(0, ageDays) + config.DRILL_COPY_RETENTION_DAYS;
}

/**
 * Starts the cross-account, cross-region copy into the DR vault, from the source account (which owns the
 * recovery point). The drill waits on the task token until the copy job finishes (event or reconciler).
 */
export async function startCopy({ drill, taskToken }: z.infer<typeof Input>): Promise<{ copyJobId: string }> {
  logger.appendKeys({ drillId: drill.drillId });
  const clients = sourceClients(drill.source.account, drill.source.region);
  const started = await clients.client(BackupClient).send(
    new StartCopyJobCommand({
      RecoveryPointArn: drill.source.recoveryPointArn,
      SourceBackupVaultName: drill.source.backupVaultName,
      DestinationBackupVaultArn: drill.target.vaultArn,
      IamRoleArn: `arn:aws:iam::${drill.source.account}:role/${config.COPY_ROLE_NAME}`,
      // A retried task must not start a second copy.
      IdempotencyToken: `${drill.drillId}-copy`,
      // The drill's copy is not a backup anyone keeps: AWS Backup deletes it after a few days.
      Lifecycle: { DeleteAfterDays: copyRetentionDays(drill) },
    }),
  );
  const copyJobId = started.CopyJobId;
  if (!copyJobId) throw new UnexpectedRecord('StartCopyJob returned no CopyJobId');
  // The job id is on the drill record before anything else, so teardown and the reconciler can find it.
  await updateDrill(drill.drillId, { copyJobId });
  await rememberJob({
    jobId: copyJobId,
    kind: 'copy',
    drillId: drill.drillId,
    mode: drill.mode,
    resourceType: drill.source.resourceType,
    taskToken,
    account: drill.source.account,
    region: drill.source.region,
    startedAt: new Date().toISOString(),
  });
  logger.info('copy job started', { copyJobId });
  return { copyJobId };
}

export const handler = lambdaHandler(async (event: unknown) => startCopy(Input.parse(event)));
