import {
  BackupClient,
  ListProtectedResourcesCommand,
  ListRecoveryPointsByResourceCommand,
} from '@aws-sdk/client-backup';
import {
  GetResourcesCommand,
  ResourceGroupsTaggingAPIClient,
} from '@aws-sdk/client-resource-groups-tagging-api';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { buildPlan, plannedRequest } from '../../functions/lib/plan.js';
import { parseDrillPolicies } from '../../functions/lib/policies.js';
import { dynamo } from './support.js';

/** The plan's decisions, with AWS Backup, the Tagging API and the state table mocked. */
const backup = mockClient(BackupClient);
const tagging = mockClient(ResourceGroupsTaggingAPIClient);

const NOW = Date.parse('2026-03-10T12:00:00Z');
const DAY = 86_400_000;
const arn = (name: string) => `arn:aws:rds:us-east-2:111111111111:db:${name}`;
const point = (name: string, daysAgo: number) =>
  `arn:aws:rds:us-east-2:111111111111:snapshot:awsbackup:${name}-${daysAgo}`;

function policies(extra = '') {
  const text = `
tiers:
  gold: { rtoSeconds: 3600, rpoSeconds: 864000, dataRpoSeconds: 86400 }
policies:
  - name: gold
    tier: gold
    select: { tags: { "pilotlight:tier": gold } }
    every: 1d
    recoveryPoint: { rule: random, windowDays: 7 }
${extra}`;
  return { policies: parseDrillPolicies(text), sha256: 'c'.repeat(64) };
}

/** Claims in the state table: recovery point ARN → when a drill (or failover) claimed it. */
let claims: Record<string, { mode: 'drill' | 'failover'; at: number; drillId: string }>;

function estate(resources: { name: string; tier?: string; type?: string; days?: number[] }[]) {
  tagging
    .on(GetResourcesCommand)
    .callsFake((input: { TagFilters?: { Key?: string; Values?: string[] }[] }) => ({
      ResourceTagMappingList: resources
        .filter((r) =>
          input.TagFilters?.every((f) => f.Key === 'pilotlight:tier' && f.Values?.includes(r.tier ?? '')),
        )
        .map((r) => ({ ResourceARN: arn(r.name), Tags: [{ Key: 'pilotlight:tier', Value: r.tier }] })),
    }));
  backup.on(ListProtectedResourcesCommand).resolves({
    Results: resources
      .filter((r) => r.days)
      .map((r) => ({ ResourceArn: arn(r.name), ResourceType: r.type ?? 'RDS' })),
  });
  backup.on(ListRecoveryPointsByResourceCommand).callsFake((input: { ResourceArn?: string }) => {
    const resource = resources.find((r) => arn(r.name) === input.ResourceArn);
    return {
      RecoveryPoints: (resource?.days ?? []).map((days) => ({
        RecoveryPointArn: point(resource?.name ?? '', days),
        Status: 'COMPLETED',
        CreationDate: new Date(NOW - days * DAY - 3_600_000),
        BackupVaultName: 'Default',
      })),
    };
  });
}

beforeEach(() => {
  vi.useFakeTimers({ now: NOW, toFake: ['Date'] });
  backup.reset();
  tagging.reset();
  dynamo.reset();
  claims = {};
  dynamo.on(GetCommand).callsFake((input: { Key: { pk: string } }) => {
    const [, mode, ...rest] = input.Key.pk.split('#');
    const claim = claims[rest.join('#')];
    return claim && claim.mode === mode
      ? {
          Item: {
            pk: input.Key.pk,
            drillId: claim.drillId,
            status: 'FINISHED',
            claimedAt: new Date(claim.at).toISOString(),
          },
        }
      : {};
  });
  return () => vi.useRealTimers();
});

describe('buildPlan', () => {
  it('plans one undrilled recovery point of the window per tagged, protected resource, with the tier targets', async () => {
    // Prepare
    estate([
      { name: 'orders', tier: 'gold', days: [0, 1, 2, 3, 9] },
      { name: 'scratch', tier: 'bronze', days: [0] },
    ]);

    // Act
    const plan = await buildPlan(policies());

    // Assess
    expect(plan.matched).toBe(1);
    expect(plan.planned).toHaveLength(1);
    const [drill] = plan.planned;
    if (!drill) throw new Error('nothing planned');
    expect([0, 1, 2, 3].map((d) => point('orders', d))).toContain(drill.recoveryPointArn);
    expect(drill.choice).toBe('random: 1 of 4 in 7 d');
    const request = plannedRequest(drill, plan.at);
    expect(request).toMatchObject({
      mode: 'drill',
      trigger: { kind: 'schedule', eventId: 'policy:gold', at: '2026-03-10T12:00:00.000Z' },
      source: {
        account: '111111111111',
        region: 'us-east-2',
        resourceType: 'RDS',
        resourceArn: arn('orders'),
      },
      policy: {
        name: 'gold',
        tier: 'gold',
        targets: { rtoSeconds: 3600, rpoSeconds: 864000, dataRpoSeconds: 86400 },
      },
    });
  });

  it('skips a resource a failover or a drill claimed within the period, and not one claimed before it', async () => {
    // Prepare
    estate([
      { name: 'recent', tier: 'gold', days: [0, 1] },
      { name: 'older', tier: 'gold', days: [0, 2] },
    ]);
    claims[point('recent', 1)] = { mode: 'failover', at: NOW - 5 * 3_600_000, drillId: 'failover-recent' };
    claims[point('older', 2)] = { mode: 'drill', at: NOW - 2 * DAY, drillId: 'rds-older' };

    // Act
    const plan = await buildPlan(policies());

    // Assess
    expect(plan.planned.map((p) => p.resourceArn)).toEqual([arn('older')]);
    // The drilled point is not chosen again.
    expect(plan.planned[0]?.recoveryPointArn).toBe(point('older', 0));
    expect(plan.skipped).toEqual([
      expect.objectContaining({
        resourceArn: arn('recent'),
        reason: 'drilled 300 min ago by failover-recent (every 24 h)',
      }),
    ]);
  });

  it('skips a resource whose recovery points of the window were all drilled, and says so', async () => {
    // Prepare
    estate([{ name: 'orders', tier: 'gold', days: [3, 9] }]);
    claims[point('orders', 3)] = { mode: 'drill', at: NOW - 3 * DAY, drillId: 'rds-orders' };

    // Act
    const plan = await buildPlan(policies());

    // Assess
    expect(plan.planned).toEqual([]);
    expect(plan.skipped[0]?.reason).toBe(
      'no completed recovery point of the last 7 days that has not been drilled',
    );
  });

  it('starts at most maxDrillsPerRun per run and leaves the rest for the next, and plans a resource once across policies', async () => {
    // Prepare
    estate([
      { name: 'a', tier: 'gold', days: [0] },
      { name: 'b', tier: 'gold', days: [0] },
      { name: 'c', tier: 'gold', days: [0] },
    ]);
    const doubled = policies(`    maxDrillsPerRun: 2
  - name: gold-again
    tier: gold
    select: { tags: { "pilotlight:tier": gold } }
    every: 12h
    recoveryPoint: { rule: latest }`);

    // Act
    const plan = await buildPlan(doubled);

    // Assess
    expect(plan.planned.map((p) => `${p.policy.name} ${p.resourceArn.split(':').pop()}`)).toEqual([
      'gold a',
      'gold b',
    ]);
    expect(plan.skipped.map((s) => `${s.policy} ${s.resourceArn.split(':').pop()}: ${s.reason}`)).toEqual([
      'gold c: maxDrillsPerRun 2 reached: planned again next run',
      'gold-again a: already planned by policy gold',
      'gold-again b: already planned by policy gold',
      'gold-again c: already planned by policy gold',
    ]);
  });

  it('reports a tagged resource AWS Backup does not protect, and leaves types a policy does not select', async () => {
    // Prepare
    estate([
      { name: 'unbacked', tier: 'gold' },
      { name: 'vol', tier: 'gold', type: 'EBS', days: [0] },
    ]);
    const rdsOnly = policies().policies;
    const gold = rdsOnly.policies[0];
    if (gold) gold.select.resourceTypes = ['RDS'];

    // Act
    const plan = await buildPlan({ policies: rdsOnly, sha256: 'd'.repeat(64) });

    // Assess
    expect(plan.planned).toEqual([]);
    expect(plan.matched).toBe(0);
    expect(plan.skipped).toEqual([
      expect.objectContaining({
        resourceArn: arn('unbacked'),
        reason: expect.stringMatching(/^not protected by AWS Backup/),
      }),
    ]);
  });
});
