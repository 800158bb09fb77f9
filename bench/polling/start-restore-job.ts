import {
  BackupClient,
  GetRecoveryPointRestoreMetadataCommand,
  StartRestoreJobCommand,
} from '@aws-sdk/client-backup';
import * as z from 'zod';
import { drClients } from '../../functions/lib/clients.js';
import { config } from '../../functions/lib/config.js';
import { CopyResult, Drill } from '../../functions/lib/drill.js';
import { UnexpectedRecord } from '../../functions/lib/errors.js';
import { lambdaHandler } from '../../functions/lib/handler.js';
import { resourceModule } from '../../functions/resources/index.js';

const Input = z.object({ drill: Drill, copy: CopyResult });

/**
 * The polling baseline's restore start (bench only): the same isolated restore as functions/start-restore.ts,
 * without a task token or a job record — the baseline polls DescribeRestoreJob.
 */
export async function startRestoreJob({
  drill,
  copy,
}: z.infer<typeof Input>): Promise<{ restoreJobId: string }> {
  const clients = drClients();
  const base = await clients.client(BackupClient).send(
    new GetRecoveryPointRestoreMetadataCommand({
      BackupVaultName: drill.target.vault,
      RecoveryPointArn: copy.drRecoveryPointArn,
    }),
  );
  const started = await clients.client(BackupClient).send(
    new StartRestoreJobCommand({
      RecoveryPointArn: copy.drRecoveryPointArn,
      ResourceType: drill.source.resourceType,
      IamRoleArn: `arn:aws:iam::${config.DR_ACCOUNT_ID}:role/${config.RESTORE_ROLE_NAME}`,
      Metadata: resourceModule(drill.source.resourceType).restoreMetadata(
        base.RestoreMetadata ?? {},
        drill,
        config,
      ),
      IdempotencyToken: `${drill.drillId}-restore`,
    }),
  );
  if (!started.RestoreJobId) throw new UnexpectedRecord('StartRestoreJob returned no RestoreJobId');
  return { restoreJobId: started.RestoreJobId };
}

export const handler = lambdaHandler(async (event: unknown) => startRestoreJob(Input.parse(event)));
