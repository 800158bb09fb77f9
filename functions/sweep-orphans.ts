import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { paginateGetResources } from '@aws-sdk/client-resource-groups-tagging-api';
import { drTeardownClients } from './lib/clients.js';
import { config } from './lib/config.js';
import { DRILL_TAG, MANAGED_TAG, MODE_TAG, OWNER_TAG } from './lib/drill.js';
import { describeError } from './lib/errors.js';
import { executionStatus } from './lib/executions.js';
import { lambdaHandler } from './lib/handler.js';
import { logger, metrics } from './lib/observability.js';
import { resourceModules } from './resources/index.js';
import { accountOf, type ResourceModule } from './resources/types.js';

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
}

function moduleFor(resourceArn: string): ResourceModule | undefined {
  // Tagging API ARNs name the service and type: arn:aws:rds:REGION:ACCOUNT:db:ID, arn:aws:ec2:...:volume/ID.
  const [, , service, , , rest = ''] = resourceArn.split(':');
  const type = rest.split(/[:/]/)[0];
  return resourceModules.find((module) => module.taggingType === `${service}:${type}`);
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
  const result: SweepResult = { checked: 0, inUse: 0, failover: 0, orphans: [], unchecked: [] };
  const pages = paginateGetResources(
    { client: dr.tagging },
    {
      TagFilters: [
        { Key: MANAGED_TAG, Values: ['true'] },
        { Key: OWNER_TAG, Values: [config.DRILL_STATE_MACHINE_ARN] },
      ],
      ResourceTypeFilters: resourceModules.map((module) => module.taggingType),
    },
  );
  const statuses = new Map<string, string>();
  for await (const page of pages) {
    for (const mapping of page.ResourceTagMappingList ?? []) {
      const resourceArn = mapping.ResourceARN ?? '';
      const tags = Object.fromEntries((mapping.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']));
      const drillId = tags[DRILL_TAG];
      const module = moduleFor(resourceArn);
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
          orphan.action = await module.delete(dr, resourceArn);
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
  metrics.addMetric('OrphanedResources', MetricUnit.Count, result.orphans.length);
  metrics.addMetric(
    'OrphansDeleted',
    MetricUnit.Count,
    result.orphans.filter((orphan) => orphan.action !== 'delete-failed').length,
  );
  logger.info('orphan sweep finished', {
    checked: result.checked,
    inUse: result.inUse,
    failover: result.failover,
    orphans: result.orphans.length,
    unchecked: result.unchecked.length,
  });
  // A failed invocation is retried by Lambda and then dead-lettered, which raises the dead-letter alarm.
  if (result.unchecked.length > 0) throw new Error(`could not check ${result.unchecked.join(', ')}`);
  return result;
}

export const handler = lambdaHandler(async () => sweepOrphans(), { publishesMetrics: true });
