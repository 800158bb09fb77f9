import { DescribeRestoreJobCommand } from '@aws-sdk/client-backup';
import { drClients } from './lib/clients.js';
import { config } from './lib/config.js';
import { DRILL_TAG, DrillState, type TeardownResult } from './lib/drill.js';
import { describeError, TeardownIncomplete, TeardownRefused } from './lib/errors.js';
import { lambdaHandler } from './lib/handler.js';
import { logger } from './lib/observability.js';
import { readDrill } from './lib/state-store.js';
import { resourceModule } from './resources/index.js';
import { accountOf } from './resources/types.js';

/**
 * Finds what this drill restored: from the restore step's result, else from the drill record, else from the
 * restore job itself (a drill that failed or timed out while waiting on the restore).
 */
async function restoredResource(
  state: DrillState['state'],
  drillId: string,
): Promise<{ arn?: string; runningJob?: string }> {
  if (state.restore) return { arn: state.restore.createdResourceArn };
  const record = await readDrill(drillId);
  if (record?.createdResourceArn) return { arn: record.createdResourceArn };
  if (!record?.restoreJobId) return {};
  const job = await drClients().backup.send(
    new DescribeRestoreJobCommand({ RestoreJobId: record.restoreJobId }),
  );
  if (job.CreatedResourceArn) return { arn: job.CreatedResourceArn };
  if (job.Status === 'PENDING' || job.Status === 'RUNNING') return { runningJob: record.restoreJobId };
  return {};
}

/**
 * Deletes what the drill restored — only in the DR account, and only if it carries this drill's tag.
 * A restore job still running is left to the job's completion path (resume-drill deletes a late restore).
 */
export async function teardown({
  executionName,
  state,
}: DrillState): Promise<TeardownResult & { pendingRestoreJobId?: string }> {
  const drillId = state.drill?.drillId ?? executionName;
  logger.appendKeys({ drillId });
  const resourceType = state.drill?.source.resourceType;
  const result: TeardownResult & { pendingRestoreJobId?: string } = {
    deleted: [],
    alreadyGone: [],
    completedAt: '',
  };
  if (resourceType) {
    const { arn, runningJob } = await restoredResource(state, drillId);
    if (runningJob) result.pendingRestoreJobId = runningJob;
    if (arn) {
      if (accountOf(arn) !== '' && accountOf(arn) !== config.DR_ACCOUNT_ID) {
        throw new TeardownRefused(
          `${arn} is not in the DR account ${config.DR_ACCOUNT_ID}; refusing to delete it`,
        );
      }
      const module = resourceModule(resourceType);
      const tags = await module.readTags(drClients(), arn);
      if (tags === undefined) {
        result.alreadyGone.push(arn);
      } else if (tags[DRILL_TAG] !== drillId) {
        throw new TeardownRefused(`${arn} does not carry ${DRILL_TAG}=${drillId}; refusing to delete it`);
      } else {
        try {
          (await module.delete(drClients(), arn)) === 'deleted'
            ? result.deleted.push(arn)
            : result.alreadyGone.push(arn);
        } catch (error) {
          const { name, message } = describeError(error);
          throw new TeardownIncomplete(`could not delete ${arn}: ${name}: ${message}`);
        }
      }
    }
  }
  result.completedAt = new Date().toISOString();
  logger.info('teardown finished', { ...result });
  return result;
}

export const handler = lambdaHandler(async (event: unknown) => teardown(DrillState.parse(event)));
