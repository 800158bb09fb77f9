import { afterEach, describe, expect, it } from 'vitest';
import { PlanOutput } from '../../cli/plan.js';
import { loadDrillPolicies } from '../../functions/lib/policies.js';
import { Sandbox } from '../../sandbox/index.js';
import { seedTaggedEstate, TIER_TAG } from '../../sandbox/tagged-estate.js';

/**
 * Drills by policy in the sandbox: the real plan function (its role, the source-account role it assumes, the
 * AWS Backup and Tagging API listings) over a seeded estate of tagged resources, and the drills it starts
 * running through the real state machine.
 */
const { policies } = loadDrillPolicies();
let sandbox: Sandbox | undefined;

afterEach(() => {
  sandbox?.dispose();
  sandbox = undefined;
});

async function planIn(box: Sandbox, dryRun: boolean): Promise<PlanOutput> {
  return PlanOutput.parse(await box.lambda.invoke('plan', { dryRun }));
}

const evidenceOf = (box: Sandbox, drillId: string) => {
  const object = box.world.objects.find((o) => o.key.endsWith(`/${drillId}.json`));
  expect(object, drillId).toBeDefined();
  return JSON.parse(object?.body ?? '{}') as Record<string, unknown>;
};

describe('drills by policy', () => {
  it('starts one scheduled drill per tagged, protected resource, carrying its tier targets into the evidence', async () => {
    // Prepare
    sandbox = await Sandbox.create({ seed: 3 });
    const estate = seedTaggedEstate(sandbox.world, sandbox.random, { count: 6 });
    const drillable = estate.filter((r) => r.tier !== null && r.recoveryPoints.length > 0);

    // Act
    const plan = await planIn(sandbox, false);
    await sandbox.run();

    // Assess
    expect(plan.dryRun).toBe(false);
    expect(plan.planned.map((p) => p.resourceArn).sort()).toEqual(drillable.map((r) => r.resourceArn).sort());
    expect(plan.started).toHaveLength(drillable.length);
    const unprotected = estate.find((r) => r.tier !== null && r.recoveryPoints.length === 0);
    expect(plan.skipped).toEqual([
      expect.objectContaining({
        resourceArn: unprotected?.resourceArn,
        reason: expect.stringMatching(/not protected/),
      }),
    ]);
    // The resource without a tier is not selected at all.
    const untiered = estate.find((r) => r.tier === null);
    expect(JSON.stringify(plan)).not.toContain(untiered?.resourceArn);
    for (const started of plan.started) {
      const planned = plan.planned.find((p) => p.resourceArn === started.resourceArn);
      const resource = estate.find((r) => r.resourceArn === started.resourceArn);
      const tier = policies.tiers[resource?.tier ?? ''];
      const evidence = evidenceOf(sandbox, started.drillId);
      expect([evidence.status, evidence.error]).toEqual(['SUCCEEDED', null]);
      expect(evidence.trigger).toMatchObject({ kind: 'schedule', eventId: `policy:${started.policy}` });
      expect(evidence.policy).toEqual({ name: started.policy, tier: resource?.tier });
      expect(evidence.rtoTargetSeconds).toBe(tier?.rtoSeconds);
      expect(evidence.rpoTargetSeconds).toBe(tier?.rpoSeconds);
      // The tier's data RPO target, else the deployment's (vitest.config.ts sets it as Lambda would).
      expect(evidence.dataRpoTargetSeconds).toBe(
        tier?.dataRpoSeconds ?? Number(process.env.DATA_RPO_TARGET_SECONDS),
      );
      expect(evidence.rpoTargetMet).toBe(true);
      expect((evidence.source as { recoveryPointArn: string }).recoveryPointArn).toBe(
        planned?.recoveryPointArn,
      );
    }
  }, 120_000);

  it('chooses the newest recovery point for latest, and one within the window for random, the same for the same seed', async () => {
    // Prepare
    const choices: PlanOutput[] = [];
    for (let run = 0; run < 2; run++) {
      sandbox = await Sandbox.create({ seed: 4 });
      seedTaggedEstate(sandbox.world, sandbox.random, { count: 6 });

      // Act
      choices.push(await planIn(sandbox, true));
      sandbox.dispose();
      sandbox = undefined;
    }

    // Assess
    const [first, second] = choices;
    expect(first?.planned.map((p) => p.recoveryPointArn)).toEqual(
      second?.planned.map((p) => p.recoveryPointArn),
    );
    expect(first?.started).toEqual([]);
    const at = Date.parse(first?.at ?? '');
    for (const planned of first?.planned ?? []) {
      const policy = policies.policies.find((p) => p.name === planned.policy.name);
      const age = at - Date.parse(planned.recoveryPointCreatedAt);
      if (policy?.recoveryPoint.rule === 'latest') {
        expect(planned.choice).toBe('latest');
        expect(age).toBeLessThan(86_400_000);
      } else {
        expect(planned.choice).toMatch(/^random: 1 of \d+ in \d+ d$/);
        expect(age).toBeLessThanOrEqual(
          (policy?.recoveryPoint.rule === 'random' ? policy.recoveryPoint.windowDays : 0) * 86_400_000,
        );
      }
    }
    // Random choices spread over the window: not every one is the newest backup.
    expect(
      (first?.planned ?? [])
        .filter((p) => p.choice.startsWith('random'))
        .some((p) => at - Date.parse(p.recoveryPointCreatedAt) > 86_400_000),
    ).toBe(true);
  }, 120_000);

  it('skips a resource an AWS Backup event drilled within the policy period, and plans nothing twice', async () => {
    // Prepare: the estate's first resource (RDS orders-db-100, gold) is backed up now and drilled by its event.
    // The hourly scheduled plan is moved out of the way: this test runs the plan itself, twice.
    sandbox = await Sandbox.create({ seed: 5, params: { planRate: 'rate(7 days)' } });
    const estate = seedTaggedEstate(sandbox.world, sandbox.random, { count: 3 });
    const gold = estate[0];
    expect(gold).toMatchObject({ resourceType: 'RDS', tier: 'gold' });
    const event = sandbox.backupCompleted('RDS', 100);
    expect(event.detail).toMatchObject({ resourceArn: gold?.resourceArn });
    sandbox.world.tagging.tagSourceResource(gold?.resourceArn ?? '', '111111111111', 'us-east-2', {
      [TIER_TAG]: 'gold',
    });
    await sandbox.run();

    // Act
    const plan = await planIn(sandbox, false);
    await sandbox.run();
    const again = await planIn(sandbox, true);

    // Assess
    expect(plan.planned.map((p) => p.resourceArn)).not.toContain(gold?.resourceArn);
    expect(plan.skipped).toContainEqual(
      expect.objectContaining({
        policy: 'gold-daily',
        resourceArn: gold?.resourceArn,
        reason: expect.stringMatching(/^drilled \d+ min ago by rds-.* \(every 24 h\)$/),
      }),
    );
    expect(plan.started.length).toBe(2);
    // Right after, everything was drilled within its period: the next run would start nothing.
    expect(again.planned).toEqual([]);
    expect(again.skipped.filter((s) => s.reason.startsWith('drilled'))).toHaveLength(3);
  }, 120_000);

  it('fails a drill mid-way and still records evidence against the tier, then alerts', async () => {
    // Prepare
    sandbox = await Sandbox.create({ seed: 6, faults: ['job:restore=FAILED'] });
    seedTaggedEstate(sandbox.world, sandbox.random, { count: 1 });

    // Act
    const plan = await planIn(sandbox, false);
    await sandbox.run();

    // Assess
    const [started] = plan.started;
    const evidence = evidenceOf(sandbox, started?.drillId ?? '');
    expect(evidence).toMatchObject({
      status: 'FAILED',
      rtoTargetSeconds: policies.tiers.gold?.rtoSeconds,
      policy: { tier: 'gold' },
    });
    expect(sandbox.world.alerts.map((a) => a.subject).join('\n')).toContain(started?.drillId);
    expect(sandbox.leftBehind()).toEqual([]);
  }, 120_000);
});
