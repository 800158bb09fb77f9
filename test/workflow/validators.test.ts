import { describe, expect, it } from 'vitest';
import { ValidatorRequests } from '../../sandbox/aws/lambda.js';
import { PROD_ACCOUNT, PROD_REGION, type Sandbox } from '../../sandbox/index.js';
import { onlyDrill, simulate } from './harness.js';

/**
 * Bring your own validator (docs/validation.md): a profile's `validator` check invokes the user's Lambda in the
 * DR account (the sandbox deploys pilotlight-validator-sample there) through the DR role, and its answer joins
 * the drill's checks; whatever the validator does wrong fails the drill with the reason, tearing down.
 */

/** A backup whose source resource carries the tag pilotlight:validation=`profile`. */
const taggedBackup = (type: string, profile: string) => (sandbox: Sandbox) => {
  const event = sandbox.backupCompleted(type);
  const point = sandbox.world.recoveryPoints.get(event.resources[0] ?? '');
  if (!point) throw new Error('no recovery point');
  sandbox.world.tagging.tagSourceResource(point.resourceArn, PROD_ACCOUNT, PROD_REGION, {
    'pilotlight:validation': profile,
  });
};

describe('your own validator in a profile', () => {
  it("joins the validator's checks to an RDS drill's built-in ones, giving it the endpoint and the copy's secret", async () => {
    const { report, sandbox } = await simulate(taggedBackup('RDS', 'orders-validated'));
    await sandbox.databasesClosed;

    const drill = onlyDrill(report);
    expect(drill.status).toBe('SUCCEEDED');
    expect(drill.checks.filter((check) => check.name.startsWith('data: '))).toEqual([
      { name: 'data: table orders exists', passed: true, detail: 'observed exists, expected exists' },
      {
        name: 'data: shop reconciliation: restored copy is present in the DR account',
        passed: true,
        detail: 'observed present, expected present',
      },
      {
        name: 'data: shop reconciliation: connection details given',
        passed: true,
        detail: 'observed endpoint and managed secret, expected endpoint and managed secret',
      },
    ]);
    // What the user's function received: the copy, and how to reach it with the copy's own secret.
    const [request, ...more] = sandbox.world.state(ValidatorRequests).requests;
    expect(more).toEqual([]);
    expect(request).toMatchObject({
      drillId: drill.drillId,
      resourceType: 'RDS',
      resourceArn: expect.stringMatching(/^arn:aws:rds:us-west-2:333333333333:db:pl-/),
      recoveryPointArn: expect.stringContaining(':333333333333:'),
      connection: {
        address: expect.stringContaining('.rds.amazonaws.com'),
        port: 5432,
        secretArn: expect.stringMatching(/:secret:rds!db-/),
      },
    });
    expect(sandbox.iam.denials).toEqual([]);
    const evidence = sandbox.world.s3.objects.map((object) => JSON.parse(object.body));
    expect(evidence[0]?.dataChecks).toMatchObject({ profile: 'orders-validated', selectedBy: 'tag' });
    expect(report.sandbox.resourcesLeft).toBe(0);
  });

  it('is the proof of data of a type without built-in checks (EBS)', async () => {
    const { report, sandbox } = await simulate(taggedBackup('EBS', 'custom-validator'));

    const drill = onlyDrill(report);
    expect(drill.status).toBe('SUCCEEDED');
    expect(drill.checks.filter((check) => check.name.startsWith('data: '))).toEqual([
      {
        name: 'data: pilotlight-validator-sample: restored copy is present in the DR account',
        passed: true,
        detail: 'observed present, expected present',
      },
    ]);
    expect(sandbox.iam.denials).toEqual([]);
  });

  it.each([
    ['fail', 'orders reconcile: 17 orders without a customer'],
    ['crash', "the validator failed: TypeError: Cannot read properties of undefined (reading 'rows')"],
    ['timeout', 'Task timed out after 30.03 seconds'],
  ])(
    'fails the drill naming the validator and what it saw when it answers %s, tearing down and alerting',
    async (fault, observed) => {
      const { report } = await simulate(taggedBackup('EBS', 'custom-validator'), {
        faults: [`validator=${fault}`],
      });

      const drill = onlyDrill(report);
      expect(drill.status).toBe('FAILED');
      expect(drill.error?.name).toBe('HealthCheckFailed');
      expect(drill.error?.message).toContain('data: pilotlight-validator-sample');
      expect(drill.error?.message).toContain(observed);
      expect(report.sandbox.resourcesLeft).toBe(0);
      expect(report.sandbox.alerts).toHaveLength(1);
    },
  );
});
