import {
  BackupClient,
  GetRecoveryPointRestoreMetadataCommand,
  StartRestoreJobCommand,
} from '@aws-sdk/client-backup';
import * as z from 'zod';
import { drClients } from './lib/clients.js';
import { config } from './lib/config.js';
import { CopyResult, Drill } from './lib/drill.js';
import { UnexpectedRecord } from './lib/errors.js';
import { lambdaHandler } from './lib/handler.js';
import { logger } from './lib/observability.js';
import { rememberJob, updateDrill } from './lib/state-store.js';
import { resourceModule } from './resources/index.js';

const Input = z.object({ drill: Drill, copy: CopyResult, taskToken: z.string().min(1) });

/**
 * Starts the restore of the DR copy inside the DR account, with metadata that isolates it (see the resource
 * module). The drill waits on the task token until the restore job finishes.
 */
export async function startRestore({
  drill,
  copy,
  taskToken,
}: z.infer<typeof Input>): Promise<{ restoreJobId: string }> {
  logger.appendKeys({ drillId: drill.drillId });
  const module = resourceModule(drill.source.resourceType);
  const clients = drClients();
  const base = await clients.client(BackupClient).send(
    new GetRecoveryPointRestoreMetadataCommand({
      BackupVaultName: drill.target.vault,
      RecoveryPointArn: copy.drRecoveryPointArn,
    }),
  );
  // Intent first: if the start succeeds and every later write fails, teardown still finds the job by its
  // recovery point and start time (ListRestoreJobs), and a retried task gets the same job back (token).
  await updateDrill(drill.drillId, {
    restoreRequestedAt: new Date().toISOString(),
    drRecoveryPointArn: copy.drRecoveryPointArn,
  });
  const started = await clients.client(BackupClient).send(
    new StartRestoreJobCommand({
      RecoveryPointArn: copy.drRecoveryPointArn,
      ResourceType: drill.source.resourceType,
      IamRoleArn: `arn:aws:iam::${config.DR_ACCOUNT_ID}:role/${config.RESTORE_ROLE_NAME}`,
      Metadata: module.restoreMetadata(base.RestoreMetadata ?? {}, drill, config),
      IdempotencyToken: `${drill.drillId}-restore`,
    }),
  );
  const restoreJobId = started.RestoreJobId;
  if (!restoreJobId) throw new UnexpectedRecord('StartRestoreJob returned no RestoreJobId');
  await updateDrill(drill.drillId, { restoreJobId });
  await rememberJob({
    jobId: restoreJobId,
    kind: 'restore',
    drillId: drill.drillId,
    mode: drill.mode,
    resourceType: drill.source.resourceType,
    taskToken,
    account: config.DR_ACCOUNT_ID,
    region: config.DR_REGION,
    startedAt: new Date().toISOString(),
  });
  logger.info('restore job started', { restoreJobId });
  return { restoreJobId };
}

export const handler = lambdaHandler(async (event: unknown) => startRestore(Input.parse(event)));
