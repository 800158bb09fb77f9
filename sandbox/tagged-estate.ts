import { supportedResourceTypes } from '../functions/resources/index.js';
import type { Random } from './random.js';
import { sandboxType } from './resources/index.js';
import { PROD_ACCOUNT, PROD_REGION } from './scenario.js';
import type { World } from './world.js';

/**
 * The production estate drills by policy run over (`pilotlight sweep`, `pilotlight plan` in the sandbox):
 * resources of several types, tagged with a tier (`pilotlight:tier`, the tag policies.yml selects on), each
 * backed up daily by AWS Backup for the last `days` days. No backup event is sent: these backups were drilled
 * (or not) long ago, and no backup job is listed, so the reconciler does not drill them as missed backups.
 * Two resources show what a plan does not drill: one tagged but never backed up (not protected), one backed
 * up but carrying no tier.
 */
export const TIER_TAG = 'pilotlight:tier';
export const TIERS = ['gold', 'silver', 'bronze'] as const;

export interface EstateResource {
  resourceType: string;
  resourceArn: string;
  tier: string | null;
  account: string;
  region: string;
  /** Recovery points created for it, oldest first. */
  recoveryPoints: string[];
}

export interface EstateOptions {
  /** Tagged, backed-up resources (types taken in the registry's order, tiers in turn). */
  count: number;
  /** Daily backups per resource. */
  days?: number;
  /** The types to take, in turn (default: every supported type). */
  types?: readonly string[];
}

const DAY = 86_400_000;

/** Seeds the estate into the world; returns what it created, the untagged and unprotected ones included. */
export function seedTaggedEstate(world: World, random: Random, options: EstateOptions): EstateResource[] {
  const days = options.days ?? 14;
  const types = options.types ?? supportedResourceTypes;
  const now = world.clock.now;
  const account = PROD_ACCOUNT;
  const region = PROD_REGION;
  const estate: EstateResource[] = [];
  const resource = (resourceType: string, index: number) =>
    sandboxType(resourceType).sourceResourceArn({ account, region, index: 100 + index, random });
  const backUp = (resourceType: string, resourceArn: string): string[] => {
    const points: string[] = [];
    // The nightly backup window: the newest completed 8 hours before the run, one a day before that.
    for (let day = days - 1; day >= 0; day--) {
      const createdAt = now - day * DAY - 8 * 3_600_000 - random.seconds(0, 30 * 60);
      const point = world.addRecoveryPoint({
        account,
        region,
        vaultName: 'Default',
        resourceType,
        resourceArn,
        createdAt,
        completedAt: createdAt + random.seconds(10 * 60, 40 * 60),
      });
      points.push(point.arn);
    }
    return points;
  };
  for (let i = 0; i < options.count; i++) {
    const resourceType = types[i % types.length] ?? 'RDS';
    const tier = TIERS[i % TIERS.length] ?? 'gold';
    const resourceArn = resource(resourceType, i);
    world.tagging.tagSourceResource(resourceArn, account, region, { [TIER_TAG]: tier, app: 'orders' });
    estate.push({
      resourceType,
      resourceArn,
      tier,
      account,
      region,
      recoveryPoints: backUp(resourceType, resourceArn),
    });
  }
  const unprotectedArn = resource('RDS', options.count);
  world.tagging.tagSourceResource(unprotectedArn, account, region, { [TIER_TAG]: 'gold', app: 'reports' });
  estate.push({
    resourceType: 'RDS',
    resourceArn: unprotectedArn,
    tier: 'gold',
    account,
    region,
    recoveryPoints: [],
  });
  const untieredArn = resource('EBS', options.count + 1);
  world.tagging.tagSourceResource(untieredArn, account, region, { app: 'scratch' });
  estate.push({
    resourceType: 'EBS',
    resourceArn: untieredArn,
    tier: null,
    account,
    region,
    recoveryPoints: backUp('EBS', untieredArn),
  });
  return estate;
}
