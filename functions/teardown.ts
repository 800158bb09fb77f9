import { BackupClient, DescribeRestoreJobCommand, paginateListRestoreJobs } from '@aws-sdk/client-backup';
import { accountOf } from './lib/arn.js';
import { drClients, drTeardownClients } from './lib/clients.js';
import { config } from './lib/config.js';
import { DRILL_TAG, type Drill, DrillState, drillTags, type TeardownResult } from './lib/drill.js';
import { describeError, ResourceStillDeleting, TeardownIncomplete, TeardownRefused } from './lib/errors.js';
import { lambdaHandler } from './lib/handler.js';
import { logger } from './lib/observability.js';
import { findJob, readDrill, rememberJob, updateDrill } from './lib/state-store.js';
import { resourceModule } from './resources/index.js';

/**
 * The restore job this drill started: from the restore step's result, else from the drill record, else (the
 * job id was never recorded) the DR account's restore job of this drill's DR recovery point that started at
 * or after the drill asked for it (ListRestoreJobs).
 */
async function restoreJobOf(state: DrillState['state'], drillId: string): Promise<string | undefined> {
  if (state.restore) return state.restore.restoreJobId;
  const record = await readDrill(drillId);
  if (record?.restoreJobId) return record.restoreJobId;
  if (!record?.restoreRequestedAt || !record.drRecoveryPointArn) return undefined;
  const since = new Date(Date.parse(record.restoreRequestedAt) - 60_000);
  for await (const page of paginateListRestoreJobs(
    { client: drClients().client(BackupClient) },
    { ByAccountId: config.DR_ACCOUNT_ID, ByCreatedAfter: since },
  )) {
    for (const candidate of page.RestoreJobs ?? []) {
      if (
        !candidate.RestoreJobId ||
        candidate.RecoveryPointArn !== record.drRecoveryPointArn ||
        candidate.IamRoleArn !== `arn:aws:iam::${config.DR_ACCOUNT_ID}:role/${config.RESTORE_ROLE_NAME}`
      )
        continue;
      // Another drill (say a failover of the same copy) that recorded this job owns it.
      const owner = await findJob(candidate.RestoreJobId);
      if (!owner || owner.drillId === drillId) return candidate.RestoreJobId;
    }
  }
  return undefined;
}

/**
 * Deletes what the drill restored — only what a restore job of this drill created (DescribeRestoreJob in the
 * DR account), only in the DR account, and only with this drill's tag: a resource the drill restored but
 * could not tag is tagged first (it is proven the drill's by its own restore job); a resource carrying
 * another drill's tag is refused. A restore job still running is left to the job's completion path
 * (resume-drill deletes a late restore); its record is made sure to exist for that.
 */
export async function teardown({
  executionName,
  state,
}: DrillState): Promise<TeardownResult & { pendingRestoreJobId?: string }> {
  const drillId = state.drill?.drillId ?? executionName;
  logger.appendKeys({ drillId });
  const drill = state.drill;
  const result: TeardownResult & { pendingRestoreJobId?: string } = {
    deleted: [],
    alreadyGone: [],
    completedAt: '',
  };
  const restoreJobId = drill ? await restoreJobOf(state, drillId) : undefined;
  if (drill && restoreJobId) {
    const job = await drClients()
      .client(BackupClient)
      .send(new DescribeRestoreJobCommand({ RestoreJobId: restoreJobId }));
    const arn = job.CreatedResourceArn;
    if (!arn && (job.Status === 'PENDING' || job.Status === 'RUNNING')) {
      result.pendingRestoreJobId = restoreJobId;
      await rememberLateRestore(drill, restoreJobId);
    }
    if (arn) {
      if (accountOf(arn) !== '' && accountOf(arn) !== config.DR_ACCOUNT_ID) {
        throw new TeardownRefused(
          `${arn} is not in the DR account ${config.DR_ACCOUNT_ID}; refusing to delete it`,
        );
      }
      const module = resourceModule(drill.source.resourceType);
      const tags = await module.readTags(drTeardownClients(), arn);
      if (tags === undefined) {
        result.alreadyGone.push(arn);
      } else if (tags[DRILL_TAG] !== undefined && tags[DRILL_TAG] !== drillId) {
        throw new TeardownRefused(
          `${arn} carries ${DRILL_TAG}=${tags[DRILL_TAG]}, not ${drillId}; refusing to delete it`,
        );
      } else {
        const teardownClients = drTeardownClients();
        let state: 'present' | 'deleting' | 'gone';
        try {
          state = await module.lifecycle(teardownClients, arn);
          if (state === 'present' && tags[DRILL_TAG] === undefined) {
            await module.tag(
              drClients(),
              arn,
              drillTags(drillId, drill.mode, config.DRILL_STATE_MACHINE_ARN),
            );
          }
          if (state === 'present') {
            // Each attempt that finds something to delete moves the deletion on (a cluster's instance first,
            // then the cluster); while AWS is deleting, lifecycle says 'deleting' and the attempt only waits.
            const outcome = await module.delete(teardownClients, arn);
            if (outcome.deleted.length > 0) {
              // Remembered, so the attempt that sees it gone can report that this drill deleted it.
              const record = await readDrill(drillId);
              await updateDrill(drillId, {
                deletedResourceArn: arn,
                deletedMembers: [...new Set([...(record?.deletedMembers ?? []), ...outcome.deleted])],
              });
            }
            state = outcome.status === 'already-gone' ? 'gone' : await module.lifecycle(teardownClients, arn);
          }
        } catch (error) {
          const { name, message } = describeError(error);
          throw new TeardownIncomplete(`could not delete ${arn}: ${name}: ${message}`, { cause: error });
        }
        // Until it is really gone it still counts against the DR account's quota and this drill's slot.
        if (state !== 'gone') throw new ResourceStillDeleting(`${arn} is being deleted`);
        const record = await readDrill(drillId);
        const deletedByThisDrill = record?.deletedResourceArn === arn;
        if (deletedByThisDrill)
          result.members = (record?.deletedMembers ?? []).filter((member) => member !== arn);
        (deletedByThisDrill ? result.deleted : result.alreadyGone).push(arn);
      }
    }
  }
  result.completedAt = new Date().toISOString();
  logger.info('teardown finished', { ...result });
  return result;
}

/**
 * A restore still running when its drill ends is deleted when it finishes (resume-drill, reconcile). That
 * path needs the job's record; start-restore may have failed to write it, so it is written here if missing.
 */
async function rememberLateRestore(drill: Drill, restoreJobId: string): Promise<void> {
  if (await findJob(restoreJobId)) return;
  await rememberJob({
    jobId: restoreJobId,
    kind: 'restore',
    drillId: drill.drillId,
    mode: drill.mode,
    resourceType: drill.source.resourceType,
    // No execution waits on it any more: resuming fails as for a closed drill, and the restore is deleted.
    taskToken: `ended:${drill.drillId}`,
    account: config.DR_ACCOUNT_ID,
    region: config.DR_REGION,
    startedAt: new Date().toISOString(),
  });
}

export const handler = lambdaHandler(async (event: unknown) => teardown(DrillState.parse(event)));
