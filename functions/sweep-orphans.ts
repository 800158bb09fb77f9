import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { BackupClient, paginateListRestoreJobs } from '@aws-sdk/client-backup';
import {
  paginateGetResources,
  ResourceGroupsTaggingAPIClient,
} from '@aws-sdk/client-resource-groups-tagging-api';
import { accountOf } from './lib/arn.js';
import { drClients, drTeardownClients } from './lib/clients.js';
import { config } from './lib/config.js';
import { DRILL_TAG, drillTags, MANAGED_TAG, MODE_TAG, OWNER_TAG } from './lib/drill.js';
import { describeError, SweepIncomplete } from './lib/errors.js';
import { executionStatus } from './lib/executions.js';
import { lambdaHandler } from './lib/handler.js';
import { logger, metrics } from './lib/observability.js';
import { findJob } from './lib/state-store.js';
import { moduleOwning, resourceModule, taggingTypes } from './resources/index.js';

export interface Orphan {
  resourceArn: string;
  drillId: string;
  /** Why the drill no longer owns it: its execution's status, or that the execution does not exist. */
  drill: string;
  action: 'deleted' | 'already-gone' | 'delete-failed';
  error?: string;
}

export interface SweepResult {
  /** Resources carrying this deployment's tags in the DR account. */
  checked: number;
  /** Resources of drills still running (their teardown has not run yet). */
  inUse: number;
  /** Resources a failover restored: kept on purpose, never swept. */
  failover: number;
  orphans: Orphan[];
  /** Resources whose drill or state could not be read this time (nothing done to them). */
  unchecked: string[];
  /** Restores of ended drills found through their restore job, untagged (their tagging failed), and deleted. */
  untagged: Orphan[];
}

/** How far back the sweeper reads the DR account's restore jobs (a drill runs at most seven days). */
const RESTORE_JOB_LOOKBACK_MS = 8 * 86_400_000;

/**
 * A restore whose tagging failed carries no Pilotlight tag, so the tag search cannot see it. The DR account's
 * restore jobs can: every completed job started with Pilotlight's restore role and recorded by one of this
 * deployment's drills (its JOB# item) whose drill has ended is checked, and what it created, if it is still
 * there untagged, is tagged (proven this drill's by its own job) and deleted. Failover restores are kept.
 */
async function sweepUntaggedRestores(result: SweepResult): Promise<void> {
  const restoreRole = `arn:aws:iam::${config.DR_ACCOUNT_ID}:role/${config.RESTORE_ROLE_NAME}`;
  const pages = paginateListRestoreJobs(
    { client: drClients().client(BackupClient) },
    {
      ByAccountId: config.DR_ACCOUNT_ID,
      ByStatus: 'COMPLETED',
      ByCreatedAfter: new Date(Date.now() - RESTORE_JOB_LOOKBACK_MS),
    },
  );
  for await (const page of pages) {
    for (const job of page.RestoreJobs ?? []) {
      const arn = job.CreatedResourceArn;
      if (!arn || !job.RestoreJobId || job.IamRoleArn !== restoreRole) continue;
      if (accountOf(arn) !== '' && accountOf(arn) !== config.DR_ACCOUNT_ID) continue;
      try {
        const record = await findJob(job.RestoreJobId);
        if (record?.kind !== 'restore' || record.mode === 'failover') continue;
        const module = resourceModule(record.resourceType);
        const status = await executionStatus(record.drillId);
        if (status === 'RUNNING') continue;
        let tags: Record<string, string> | undefined;
        try {
          tags = await module.readTags(drTeardownClients(), arn);
        } catch (error) {
          // What an ended drill restored and nobody can even read is reported as an orphan (the alarm), not
          // silently skipped: only a person can tell what it is now.
          const { name, message } = describeError(error);
          const unreadable: Orphan = {
            resourceArn: arn,
            drillId: record.drillId,
            drill: status,
            action: 'delete-failed',
          };
          unreadable.error = `${name}: ${message}`;
          logger.warn('restore of an ended drill cannot be read', {
            ...unreadable,
            restoreJobId: job.RestoreJobId,
          });
          result.untagged.push(unreadable);
          continue;
        }
        // Gone, or tagged (then the tag search above judged it).
        if (tags === undefined || tags[DRILL_TAG] !== undefined) continue;
        if ((await module.lifecycle(drTeardownClients(), arn)) !== 'present') continue;
        const orphan: Orphan = {
          resourceArn: arn,
          drillId: record.drillId,
          drill: status,
          action: 'delete-failed',
        };
        try {
          await module.tag(
            drClients(),
            arn,
            drillTags(record.drillId, record.mode, config.DRILL_STATE_MACHINE_ARN),
          );
          orphan.action = (await module.delete(drTeardownClients(), arn)).status;
        } catch (error) {
          const { name, message } = describeError(error);
          orphan.error = `${name}: ${message}`;
        }
        logger.warn('untagged restore of an ended drill found', {
          ...orphan,
          restoreJobId: job.RestoreJobId,
        });
        result.untagged.push(orphan);
      } catch (error) {
        result.unchecked.push(arn);
        logger.error('could not check a restore of this deployment', { resourceArn: arn, error });
      }
    }
  }
}

/**
 * The last line of "nothing is left behind": finds every resource in the DR account that this deployment's
 * drills tagged, and deletes those whose drill has ended (teardown failed for good, or the execution was
 * stopped before it reached teardown). The same guards as teardown apply: DR account only, Pilotlight's
 * tags required (the DR role cannot delete anything else), and failover restores are never touched.
 * Publishes OrphanedResources (the "orphaned resources found" alarm) and OrphansDeleted.
 */
export async function sweepOrphans(): Promise<SweepResult> {
  // The teardown role finds (tag:GetResources), checks and deletes; it cannot tag anything.
  const dr = drTeardownClients();
  const result: SweepResult = { checked: 0, inUse: 0, failover: 0, orphans: [], unchecked: [], untagged: [] };
  const pages = paginateGetResources(
    { client: dr.client(ResourceGroupsTaggingAPIClient) },
    {
      TagFilters: [
        { Key: MANAGED_TAG, Values: ['true'] },
        { Key: OWNER_TAG, Values: [config.DRILL_STATE_MACHINE_ARN] },
      ],
      ResourceTypeFilters: [...taggingTypes],
    },
  );
  const statuses = new Map<string, string>();
  for await (const page of pages) {
    for (const mapping of page.ResourceTagMappingList ?? []) {
      const resourceArn = mapping.ResourceARN ?? '';
      const tags = Object.fromEntries((mapping.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']));
      const drillId = tags[DRILL_TAG];
      const module = moduleOwning(resourceArn);
      if (!drillId || !module || accountOf(resourceArn) !== config.DR_ACCOUNT_ID) continue;
      result.checked += 1;
      if (tags[MODE_TAG] === 'failover') {
        result.failover += 1;
        continue;
      }
      try {
        const status = statuses.get(drillId) ?? (await executionStatus(drillId));
        statuses.set(drillId, status);
        if (status === 'RUNNING') {
          result.inUse += 1;
          continue;
        }
        // The Tagging API keeps listing a resource for a while after it is deleted.
        if ((await module.lifecycle(dr, resourceArn)) !== 'present') continue;
        const orphan: Orphan = { resourceArn, drillId, drill: status, action: 'delete-failed' };
        try {
          orphan.action = (await module.delete(dr, resourceArn)).status;
        } catch (error) {
          const { name, message } = describeError(error);
          orphan.error = `${name}: ${message}`;
        }
        logger.warn('orphaned resource found', { ...orphan });
        result.orphans.push(orphan);
      } catch (error) {
        // Nothing is deleted without knowing that its drill has ended; the others are still swept.
        result.unchecked.push(resourceArn);
        logger.error('could not check a Pilotlight resource', { resourceArn, drillId, error });
      }
    }
  }
  await sweepUntaggedRestores(result);
  const found = [...result.orphans, ...result.untagged];
  metrics.addMetric('OrphanedResources', MetricUnit.Count, found.length);
  metrics.addMetric(
    'OrphansDeleted',
    MetricUnit.Count,
    found.filter((orphan) => orphan.action !== 'delete-failed').length,
  );
  logger.info('orphan sweep finished', {
    checked: result.checked,
    inUse: result.inUse,
    failover: result.failover,
    orphans: result.orphans.length,
    untagged: result.untagged.length,
    unchecked: result.unchecked.length,
  });
  // A failed invocation is retried by Lambda and then dead-lettered, which raises the dead-letter alarm.
  if (result.unchecked.length > 0)
    throw new SweepIncomplete(`could not check ${result.unchecked.join(', ')}`);
  return result;
}

export const handler = lambdaHandler(async () => sweepOrphans(), { publishesMetrics: true });
