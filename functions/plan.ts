import { MetricUnit } from '@aws-lambda-powertools/metrics';
import * as z from 'zod';
import { startDrill } from './intake.js';
import { lambdaHandler } from './lib/handler.js';
import { logger, metrics } from './lib/observability.js';
import { buildPlan, type Plan, type PlanSkip, plannedRequest } from './lib/plan.js';
import { defaultDrillPoliciesPath, loadDrillPolicies } from './lib/policies.js';

/**
 * Drills by policy, on a schedule (serverless.yml `planRate`): plans (functions/lib/plan.ts) and starts each
 * planned drill through the same claim and open-drill cap as intake (`startDrill`), with the manual input
 * shape, trigger `schedule` and the policy's tier targets. Invoked with `{"dryRun": true}` it only plans:
 * what `pilotlight plan --dry-run --aws` shows.
 */
const Input = z.object({ dryRun: z.boolean().optional() }).passthrough();

export interface PlanResult extends Plan {
  dryRun: boolean;
  started: { drillId: string; executionArn: string; policy: string; resourceArn: string }[];
  /** Planned but not started: the recovery point was claimed meanwhile, or the open-drill cap was reached. */
  notStarted: PlanSkip[];
}

// Read once per container, like the configuration: a policy change is a deployment.
const policies = loadDrillPolicies(
  defaultDrillPoliciesPath(process.env.DRILL_POLICIES_FILE ?? 'policies.yml'),
);

export async function plan(input: z.infer<typeof Input>): Promise<PlanResult> {
  const built = await buildPlan(policies);
  const result: PlanResult = { ...built, dryRun: input.dryRun === true, started: [], notStarted: [] };
  if (!result.dryRun) {
    let full = false;
    for (const drill of built.planned) {
      const where = {
        policy: drill.policy.name,
        account: drill.account,
        region: drill.region,
        resourceArn: drill.resourceArn,
      };
      if (full) {
        result.notStarted.push({
          ...where,
          reason: 'deferred: maxOpenDrills drills are open; planned again next run',
        });
        continue;
      }
      const outcome = await startDrill(
        plannedRequest(drill, built.at),
        `policy:${drill.policy.name}:${drill.recoveryPointArn}`,
      );
      for (const started of outcome.started)
        result.started.push({ ...started, policy: drill.policy.name, resourceArn: drill.resourceArn });
      for (const skipped of [...outcome.skipped, ...outcome.deferred])
        result.notStarted.push({ ...where, reason: skipped.reason });
      if (outcome.deferred.length > 0) full = true;
    }
  }
  metrics.addMetric('PolicyDrillsPlanned', MetricUnit.Count, built.planned.length);
  metrics.addMetric('PolicyDrillsStarted', MetricUnit.Count, result.started.length);
  metrics.addMetric('PolicyDrillsSkipped', MetricUnit.Count, built.skipped.length + result.notStarted.length);
  logger.info('plan run', {
    dryRun: result.dryRun,
    matched: built.matched,
    planned: built.planned.length,
    started: result.started.length,
    skipped: built.skipped.length,
    notStarted: result.notStarted.length,
  });
  return result;
}

export const handler = lambdaHandler(async (event: unknown) => plan(Input.parse(event ?? {})), {
  publishesMetrics: true,
});
