import { describe, expect, it } from 'vitest';
import { PROD_ACCOUNT, PROD_REGION, Sandbox } from '../../sandbox/index.js';
import { buildReport } from '../../sandbox/report.js';
import { onlyDrill } from './harness.js';

/**
 * The day the primary region fails: the standby deployment of Pilotlight in the DR region (the same
 * serverless.yml, deployed with --region us-west-2) fails over from the copy already in the DR vault. The
 * whole primary region is down — the production account's APIs there and the primary deployment alike.
 */
async function failoverDuringOutage(options: { fromDrVault: boolean }) {
  const sandbox = await Sandbox.create({
    seed: 9,
    region: 'us-west-2',
    faults: [`region:${PROD_REGION}=down`],
  });
  try {
    const startedAt = new Date(sandbox.clock.now).toISOString();
    const copy = sandbox.copiedToDrVault('RDS');
    sandbox.startManual(
      {
        mode: 'failover',
        source: {
          account: PROD_ACCOUNT,
          region: PROD_REGION,
          resourceType: 'RDS',
          recoveryPointArn: copy.sourceRecoveryPointArn,
          backupVaultName: 'Default',
        },
        ...(options.fromDrVault ? { drRecoveryPointArn: copy.drRecoveryPointArn } : {}),
      },
      'failover-during-outage',
    );
    await sandbox.run();
    return {
      report: buildReport(sandbox, 9, startedAt),
      callsByRegion: Object.fromEntries(sandbox.callsByRegion),
      copy,
      stateMachineArn: sandbox.stepFunctions.arn,
      resources: sandbox.world.resourcesLeft(),
    };
  } finally {
    sandbox.dispose();
  }
}

describe('a failover from the DR-region deployment while the primary region is down', () => {
  it('restores from the DR vault and keeps the resource, touching nothing in the primary region', async () => {
    const run = await failoverDuringOutage({ fromDrVault: true });

    const drill = onlyDrill(run.report);
    expect(drill.status).toBe('SUCCEEDED');
    expect(drill.mode).toBe('failover');
    expect(drill.steps.map((step) => step.name)).not.toContain('CopyToDrVault');
    expect(drill.target).toMatchObject({ account: '333333333333', region: 'us-west-2' });
    // The standby's own state machine, topic and bucket are in the DR region.
    expect(run.stateMachineArn).toMatch(/^arn:aws:states:us-west-2:/);
    expect(drill.evidence?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(run.report.sandbox.alerts.map((alert) => alert.subject).join()).toMatch(/FAILOVER SUCCEEDED/);
    expect(run.resources.map((r) => r.region)).toEqual(['us-west-2']);
    expect(run.callsByRegion[PROD_REGION]).toBeUndefined();
    expect(run.callsByRegion['us-west-2']).toBeGreaterThan(10);
  });

  it('fails cleanly, with evidence and an alert, when asked to read the recovery point in the failed region', async () => {
    const run = await failoverDuringOutage({ fromDrVault: false });

    const drill = onlyDrill(run.report);
    expect(drill.status).toBe('FAILED');
    expect(drill.error?.message).toMatch(/region:us-east-2=down/);
    expect(drill.evidence?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(run.report.sandbox.alerts.map((alert) => alert.subject).join()).toMatch(/FAILOVER FAILED/);
    expect(run.resources).toEqual([]);
    expect(run.callsByRegion[PROD_REGION]).toBeGreaterThan(0);
  });
});

describe('the standby deployment in the DR region before a failover', () => {
  it('lets the standby deployment in the DR region leave backup events to the primary', async () => {
    const sandbox = await Sandbox.create({ seed: 5, region: 'us-west-2' });
    try {
      sandbox.backupCompleted('RDS');
      await sandbox.run();

      const report = buildReport(sandbox, 5, '');
      expect(report.drills).toEqual([]);
      expect(report.skipped[0]?.reason).toMatch(/standby deployment in us-west-2/);
    } finally {
      sandbox.dispose();
    }
  });
});
