import { BackupClient, DescribeCopyJobCommand, DescribeRestoreJobCommand } from '@aws-sdk/client-backup';
import * as z from 'zod';
import { drClients, sourceClients } from '../../functions/lib/clients.js';
import { config } from '../../functions/lib/config.js';
import { Drill, drillTags } from '../../functions/lib/drill.js';
import { UnexpectedRecord } from '../../functions/lib/errors.js';
import { lambdaHandler } from '../../functions/lib/handler.js';
import { resourceModule } from '../../functions/resources/index.js';

const Input = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('copy'), drill: Drill, copyJobId: z.string().min(1) }),
  z.object({ kind: z.literal('restore'), drill: Drill, restoreJobId: z.string().min(1) }),
]);

export type PolledCopy = {
  copyJobId: string;
  state: string;
  statusMessage?: string;
  drRecoveryPointArn?: string;
  skipped: false;
  startedAt?: string;
  completedAt?: string;
};
export type PolledRestore = {
  restoreJobId: string;
  state: string;
  statusMessage?: string;
  createdResourceArn?: string;
  startedAt?: string;
  completedAt?: string;
};

/**
 * One poll of the baseline (bench only): Describe*Job, shaped as the drill's copy or restore result plus the
 * job's `state`, which the baseline's Choice reads. A completed restore is tagged here, as the drill's resume
 * path tags it (the health checks and teardown need the drill's tags).
 */
export async function describeJob(input: z.infer<typeof Input>): Promise<PolledCopy | PolledRestore> {
  if (input.kind === 'copy') {
    const { CopyJob } = await sourceClients(input.drill.source.account, input.drill.source.region)
      .client(BackupClient)
      .send(new DescribeCopyJobCommand({ CopyJobId: input.copyJobId }));
    return {
      copyJobId: input.copyJobId,
      state: CopyJob?.State ?? 'UNKNOWN',
      statusMessage: CopyJob?.StatusMessage,
      drRecoveryPointArn: CopyJob?.DestinationRecoveryPointArn,
      skipped: false,
      startedAt: CopyJob?.CreationDate?.toISOString(),
      completedAt: CopyJob?.CompletionDate?.toISOString(),
    };
  }
  const clients = drClients();
  const job = await clients
    .client(BackupClient)
    .send(new DescribeRestoreJobCommand({ RestoreJobId: input.restoreJobId }));
  const state = job.Status ?? 'UNKNOWN';
  if (state === 'COMPLETED') {
    if (!job.CreatedResourceArn)
      throw new UnexpectedRecord(`restore job ${input.restoreJobId} completed without a created resource`);
    await resourceModule(input.drill.source.resourceType).tag(
      clients,
      job.CreatedResourceArn,
      drillTags(input.drill.drillId, input.drill.mode, config.DRILL_STATE_MACHINE_ARN),
    );
  }
  return {
    restoreJobId: input.restoreJobId,
    state,
    statusMessage: job.StatusMessage,
    createdResourceArn: job.CreatedResourceArn,
    startedAt: job.CreationDate?.toISOString(),
    completedAt: job.CompletionDate?.toISOString(),
  };
}

export const handler = lambdaHandler(async (event: unknown) => describeJob(Input.parse(event)));
