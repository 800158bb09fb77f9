import { BackupClient, StartCopyJobCommand } from '@aws-sdk/client-backup';
import * as z from 'zod';
import { sourceClients } from '../../functions/lib/clients.js';
import { config } from '../../functions/lib/config.js';
import { Drill } from '../../functions/lib/drill.js';
import { UnexpectedRecord } from '../../functions/lib/errors.js';
import { lambdaHandler } from '../../functions/lib/handler.js';

const Input = z.object({ drill: Drill });

/**
 * The polling baseline's copy start (bench only): the same StartCopyJob as functions/start-copy.ts, without a
 * task token or a job record — the baseline's state machine polls DescribeCopyJob instead of being called back.
 */
export async function startCopyJob({ drill }: z.infer<typeof Input>): Promise<{ copyJobId: string }> {
  const started = await sourceClients(drill.source.account, drill.source.region)
    .client(BackupClient)
    .send(
      new StartCopyJobCommand({
        RecoveryPointArn: drill.source.recoveryPointArn,
        SourceBackupVaultName: drill.source.backupVaultName,
        DestinationBackupVaultArn: drill.target.vaultArn,
        IamRoleArn: `arn:aws:iam::${drill.source.account}:role/${config.COPY_ROLE_NAME}`,
        IdempotencyToken: `${drill.drillId}-copy`,
        Lifecycle: { DeleteAfterDays: config.DRILL_COPY_RETENTION_DAYS },
      }),
    );
  if (!started.CopyJobId) throw new UnexpectedRecord('StartCopyJob returned no CopyJobId');
  return { copyJobId: started.CopyJobId };
}

export const handler = lambdaHandler(async (event: unknown) => startCopyJob(Input.parse(event)));
