import { afterEach, describe, expect, it } from 'vitest';
import { RdsState } from '../../sandbox/aws/rds.js';
import { SEEDED_DATA_GAP_SECONDS, SEEDED_ROWS } from '../../sandbox/engines/drill-databases.js';
import { PROD_ACCOUNT, PROD_REGION, type Sandbox } from '../../sandbox/index.js';
import { onlyDrill, simulate } from './harness.js';

/** The sandbox an RDS test ran: its PGlite servers are closed (and awaited) before the next test starts. */
let disposed: Sandbox | undefined;
afterEach(async () => {
  await disposed?.databasesClosed;
  disposed = undefined;
});

/**
 * AWS Backup restore testing (docs/validation.md, mode `validate`): a restore testing job of the DR account
 * gets Pilotlight's checks and exactly one final PutRestoreValidationResult; Pilotlight copies, restores and
 * deletes nothing (restore testing deletes its own restore).
 */
const jobs = (sandbox: Sandbox) => [...sandbox.world.jobs.values()];
/** Why intake started nothing for the job events it was given (the restore events come from AWS, not --event). */
const intakeSkips = (sandbox: Sandbox) =>
  sandbox.deliveries.flatMap((d) =>
    d.outcomes
      .filter((o) => o.target === 'intake')
      .flatMap((o) => (o.result as { skipped?: { reason: string }[] } | undefined)?.skipped ?? [])
      .map((skip) => skip.reason),
  );
const statuses = (sandbox: Sandbox, restoreJobId: string) =>
  sandbox.validationResults.filter((r) => r.restoreJobId === restoreJobId).map((r) => r.status);

/**
 * A restore testing job of this type completes in the DR account (its source resource tagged
 * pilotlight:validation=`validationTag` if given), and the run ends: the report, the sandbox and the job.
 */
async function restoreTest(type: string, options: { faults?: string[]; validationTag?: string } = {}) {
  let test = { restoreJobId: '', restoreTestingPlanArn: '', recoveryPointArn: '' };
  const { report, sandbox } = await simulate(
    (s) => {
      test = s.restoreTestCompleted(type);
      if (options.validationTag === undefined) return;
      const point = s.world.recoveryPoints.get(test.recoveryPointArn);
      if (!point) throw new Error('no recovery point');
      s.world.tagging.tagSourceResource(point.resourceArn, PROD_ACCOUNT, PROD_REGION, {
        'pilotlight:validation': options.validationTag,
      });
    },
    { faults: options.faults ?? [] },
  );
  return { report, sandbox, test };
}

describe('a restore testing job in the DR account', () => {
  it('is validated: VALIDATING, then one SUCCESSFUL; nothing copied, restored or deleted by Pilotlight', async () => {
    const { report, sandbox, test } = await restoreTest('DynamoDB');

    const drill = onlyDrill(report);
    expect(drill.status).toBe('SUCCEEDED');
    expect(drill.mode).toBe('validate');
    expect(drill.executionName).toBe(`restore-test-${test.restoreJobId.toLowerCase()}`);
    expect(statuses(sandbox, test.restoreJobId)).toEqual(['VALIDATING', 'SUCCESSFUL']);
    expect(sandbox.validationResults.at(-1)?.message).toMatch(/^\d+ checks passed$/);
    // The checks ran against restore testing's table, the data checks included; no drill tag asked for.
    expect(drill.checks.map((c) => [c.name, c.passed])).toContainEqual(['restore test', true]);
    expect(drill.checks.map((c) => c.name)).not.toContain('tagged');
    expect(drill.checks.filter((c) => c.name.startsWith('data: ')).every((c) => c.passed)).toBe(true);
    expect(drill.checks.filter((c) => c.name.startsWith('data: '))).toHaveLength(3);
    // Only restore testing's own restore job: no copy job, no restore job of Pilotlight's.
    expect(jobs(sandbox).map((j) => [j.kind, j.restoreTestingPlanArn])).toEqual([
      ['restore', test.restoreTestingPlanArn],
    ]);
    // Pilotlight neither deleted nor tagged it: restore testing deleted it after the final status.
    const table = [...sandbox.world.resources.values()].find((r) =>
      r.id.startsWith('awsbackup-restore-test-'),
    );
    expect(table?.tags).toEqual({});
    expect(table?.phase).toBe('deleted');
    // Deleted by restore testing after the final status, not by a teardown (which never ran).
    const finalAt = Date.parse(sandbox.validationResults.at(-1)?.at ?? '');
    expect(table?.deletedAt).toBeGreaterThan(finalAt);
    expect(sandbox.apiCallsByFunction.has('teardown')).toBe(false);
    expect(drill.steps.map((step) => step.name)).not.toContain('TearDown');
    expect(report.sandbox.resourcesLeft).toBe(0);
    expect(report.sandbox.alerts).toEqual([]);
    expect(drill.evidence?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(sandbox.iam.denials).toEqual([]);
  });

  it('gets exactly one FAILED naming the failing check under data=corrupt', async () => {
    const { report, sandbox, test } = await restoreTest('DynamoDB', { faults: ['data=corrupt'] });

    const drill = onlyDrill(report);
    expect(drill.status).toBe('FAILED');
    expect(drill.error?.name).toBe('HealthCheckFailed');
    expect(statuses(sandbox, test.restoreJobId)).toEqual(['VALIDATING', 'FAILED']);
    expect(sandbox.validationResults.at(-1)?.message).toBe(
      'failed checks: data-integrity, data: sample orders',
    );
    expect(report.sandbox.alerts.map((alert) => alert.subject)).toEqual([
      expect.stringContaining('FAILED (HealthCheckFailed)'),
    ]);
    expect(drill.evidence?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(report.sandbox.resourcesLeft).toBe(0);
  });

  it('still gets one FAILED, evidence and an alert when the checks crash every time', async () => {
    const { report, sandbox, test } = await restoreTest('DynamoDB', { faults: ['lambda:checkHealth=crash'] });

    const drill = onlyDrill(report);
    expect(drill.status).toBe('FAILED');
    expect(statuses(sandbox, test.restoreJobId)).toEqual(['VALIDATING', 'FAILED']);
    expect(sandbox.validationResults.at(-1)?.message).toMatch(/^\S+: /);
    expect(drill.evidence?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(report.sandbox.alerts).toHaveLength(1);
    expect(report.sandbox.resourcesLeft).toBe(0);
  });

  it('delivered twice still gets exactly one final status', async () => {
    const { report, sandbox, test } = await restoreTest('DynamoDB', { faults: ['events:duplicate=2'] });

    expect(report.drills).toHaveLength(1);
    expect(statuses(sandbox, test.restoreJobId)).toEqual(['VALIDATING', 'SUCCESSFUL']);
    expect(intakeSkips(sandbox)).toContainEqual(
      expect.stringContaining(`duplicate trigger: restore testing job ${test.restoreJobId}`),
    );
  });
});

describe('a restore testing job of an RDS instance in the DR account', () => {
  const restoreTestInstance = (sandbox: Sandbox) =>
    [...sandbox.world.state(RdsState).instances.values()].find((i) =>
      i.id.startsWith('awsbackup-restore-test-'),
    );

  it("is validated with the data checks on the copy's own password: VALIDATING, then one SUCCESSFUL; never deleted by Pilotlight", async () => {
    const { report, sandbox, test } = await restoreTest('RDS');
    disposed = sandbox;

    const drill = onlyDrill(report);
    expect(drill.status).toBe('SUCCEEDED');
    expect(drill.mode).toBe('validate');
    expect(drill.source.resourceType).toBe('RDS');
    expect(statuses(sandbox, test.restoreJobId)).toEqual(['VALIDATING', 'SUCCESSFUL']);
    expect(sandbox.validationResults.at(-1)?.message).toBe(`${drill.checks.length} checks passed`);
    // The --json report carries the status that was put.
    expect(drill.restoreValidation).toEqual({
      status: 'SUCCESSFUL',
      message: `${drill.checks.length} checks passed`,
    });
    expect(drill.checks.map((c) => [c.name, c.passed])).toEqual([
      ['resource-available', true],
      ['endpoint-reachable', true],
      ['isolated-network', true],
      ['data-integrity', true],
      ['restore test', true],
      ['data: table orders exists', true],
      ['data: orders row count', true],
      ['data: newest order', true],
    ]);
    expect(drill.checks.find((c) => c.name === 'data: orders row count')?.detail).toBe(
      `observed ${SEEDED_ROWS}, expected >= 1000`,
    );
    expect(drill.dataRpoSeconds).toBe(SEEDED_DATA_GAP_SECONDS);
    // The copy got its own RDS-managed password (the probe read it), and kept restore testing's tag only.
    const instance = restoreTestInstance(sandbox);
    expect(instance?.masterUserSecret?.status).toBe('active');
    expect(instance?.tags).toEqual({ 'awsbackup-restore-test': test.restoreJobId });
    expect([...sandbox.iam.callsByPrincipal.keys()]).toContain(
      'checkHealth as arn:aws:sts::333333333333:assumed-role/pilotlight-probe/pilotlight-probe',
    );
    // Only restore testing's own restore job; restore testing deleted its instance after the final status.
    expect(jobs(sandbox).map((j) => [j.kind, j.restoreTestingPlanArn])).toEqual([
      ['restore', test.restoreTestingPlanArn],
    ]);
    expect(instance?.phase).toBe('deleted');
    expect(instance?.deletedAt).toBeGreaterThan(Date.parse(sandbox.validationResults.at(-1)?.at ?? ''));
    expect(sandbox.apiCallsByFunction.has('teardown')).toBe(false);
    expect(drill.steps.map((step) => step.name)).not.toContain('TearDown');
    expect(report.sandbox.resourcesLeft).toBe(0);
    expect(report.sandbox.alerts).toEqual([]);
    expect(drill.evidence?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(sandbox.iam.denials).toEqual([]);
  });

  it('gets exactly one FAILED naming the failing data check under data=corrupt, with evidence and an alert', async () => {
    const { report, sandbox, test } = await restoreTest('RDS', { faults: ['data=corrupt'] });
    disposed = sandbox;

    const drill = onlyDrill(report);
    expect(drill.status).toBe('FAILED');
    expect(drill.error?.name).toBe('HealthCheckFailed');
    expect(statuses(sandbox, test.restoreJobId)).toEqual(['VALIDATING', 'FAILED']);
    expect(sandbox.validationResults.at(-1)?.message).toContain('data: orders row count');
    expect(drill.restoreValidation?.status).toBe('FAILED');
    expect(drill.checks.find((c) => c.name === 'data: orders row count')).toMatchObject({
      passed: false,
      detail: `observed ${SEEDED_ROWS / 2}, expected >= 1000`,
    });
    expect(report.sandbox.alerts.map((alert) => alert.subject)).toEqual([
      expect.stringContaining('FAILED (HealthCheckFailed)'),
    ]);
    expect(drill.evidence?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(sandbox.apiCallsByFunction.has('teardown')).toBe(false);
    expect(restoreTestInstance(sandbox)?.phase).toBe('deleted');
    expect(report.sandbox.resourcesLeft).toBe(0);
    expect(sandbox.iam.denials).toEqual([]);
  });
});

describe('a restore testing job of an S3 bucket in the DR account', () => {
  const restoreTestBucket = (sandbox: Sandbox) =>
    [...sandbox.world.resources.values()].find(
      (r) => r.kind === 'bucket' && r.id.startsWith('awsbackup-restore-test-'),
    );

  it('is validated read-only with the data checks: VALIDATING, then one SUCCESSFUL; never deleted by Pilotlight', async () => {
    const { report, sandbox, test } = await restoreTest('S3');

    const drill = onlyDrill(report);
    expect(drill.status).toBe('SUCCEEDED');
    expect(drill.mode).toBe('validate');
    expect(statuses(sandbox, test.restoreJobId)).toEqual(['VALIDATING', 'SUCCESSFUL']);
    expect(drill.restoreValidation).toEqual({
      status: 'SUCCESSFUL',
      message: `${drill.checks.length} checks passed`,
    });
    expect(drill.checks.map((c) => [c.name, c.passed])).toEqual([
      ['resource-available', true],
      ['isolated', true],
      ['encrypted', true],
      ['data-integrity', true],
      ['restore test', true],
      ['data: archived orders', true],
      ['data: archived order checksums', true],
      ['data: newest archived order', true],
    ]);
    expect(jobs(sandbox).map((j) => [j.kind, j.restoreTestingPlanArn])).toEqual([
      ['restore', test.restoreTestingPlanArn],
    ]);
    // Neither tagged nor deleted by Pilotlight: restore testing deleted it after the final status.
    const bucket = restoreTestBucket(sandbox);
    expect(bucket?.tags).toEqual({});
    expect(bucket?.phase).toBe('deleted');
    expect(bucket?.deletedAt).toBeGreaterThan(Date.parse(sandbox.validationResults.at(-1)?.at ?? ''));
    expect(sandbox.apiCallsByFunction.has('teardown')).toBe(false);
    expect(report.sandbox.resourcesLeft).toBe(0);
    expect(report.sandbox.alerts).toEqual([]);
    expect(drill.evidence?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(sandbox.iam.denials).toEqual([]);
  });

  it('gets exactly one FAILED naming the failing data check under data=corrupt', async () => {
    const { report, sandbox, test } = await restoreTest('S3', { faults: ['data=corrupt'] });

    const drill = onlyDrill(report);
    expect(drill.status).toBe('FAILED');
    expect(drill.error?.name).toBe('HealthCheckFailed');
    expect(statuses(sandbox, test.restoreJobId)).toEqual(['VALIDATING', 'FAILED']);
    expect(sandbox.validationResults.at(-1)?.message).toContain('data: archived order checksums');
    expect(drill.restoreValidation?.status).toBe('FAILED');
    expect(report.sandbox.alerts).toHaveLength(1);
    expect(drill.evidence?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(restoreTestBucket(sandbox)?.phase).toBe('deleted');
    expect(sandbox.apiCallsByFunction.has('teardown')).toBe(false);
    expect(report.sandbox.resourcesLeft).toBe(0);
  });
});

describe('a restore testing job of an EBS volume in the DR account', () => {
  const restoreTestVolume = (sandbox: Sandbox) =>
    [...sandbox.world.resources.values()].find((r) => r.kind === 'volume');

  it("is judged by the volume's own read-only checks: VALIDATING, then one SUCCESSFUL; never tagged or deleted by Pilotlight", async () => {
    const { report, sandbox, test } = await restoreTest('EBS');

    const drill = onlyDrill(report);
    expect(drill.status).toBe('SUCCEEDED');
    expect(statuses(sandbox, test.restoreJobId)).toEqual(['VALIDATING', 'SUCCESSFUL']);
    expect(drill.restoreValidation).toEqual({ status: 'SUCCESSFUL', message: '5 checks passed' });
    expect(drill.checks.map((c) => [c.name, c.passed])).toEqual([
      ['resource-available', true],
      ['encrypted', true],
      ['isolated-network', true],
      ['data-integrity', true],
      ['restore test', true],
    ]);
    const volume = restoreTestVolume(sandbox);
    expect(volume?.tags).toEqual({ 'awsbackup-restore-test': test.restoreJobId });
    expect(volume?.phase).toBe('deleted');
    expect(volume?.deletedAt).toBeGreaterThan(Date.parse(sandbox.validationResults.at(-1)?.at ?? ''));
    expect(sandbox.apiCallsByFunction.has('teardown')).toBe(false);
    expect(report.sandbox.resourcesLeft).toBe(0);
    expect(sandbox.iam.denials).toEqual([]);
  });

  it('gets exactly one FAILED naming data-integrity when the restored volume is not the backup size', async () => {
    const { report, sandbox, test } = await restoreTest('EBS', { faults: ['data=corrupt'] });

    const drill = onlyDrill(report);
    expect(drill.status).toBe('FAILED');
    expect(statuses(sandbox, test.restoreJobId)).toEqual(['VALIDATING', 'FAILED']);
    expect(sandbox.validationResults.at(-1)?.message).toBe('failed checks: data-integrity');
    expect(restoreTestVolume(sandbox)?.phase).toBe('deleted');
    expect(report.sandbox.resourcesLeft).toBe(0);
  });
});

describe("a restore testing job's validation profile, by the source resource's tag", () => {
  it('runs the profile pilotlight:validation names, read in the source account, instead of the type default', async () => {
    const { report, sandbox, test } = await restoreTest('RDS', { validationTag: 'relational-basic' });
    disposed = sandbox;

    const drill = onlyDrill(report);
    expect(drill.status).toBe('SUCCEEDED');
    expect(drill.checks.filter((check) => check.name.startsWith('data: '))).toEqual([
      { name: 'data: engine answers', passed: true, detail: 'observed 1, expected == 1' },
    ]);
    const evidence = sandbox.world.s3.objects.map((object) => JSON.parse(object.body));
    expect(evidence[0]?.dataChecks).toMatchObject({ profile: 'relational-basic', selectedBy: 'tag' });
    expect(statuses(sandbox, test.restoreJobId)).toEqual(['VALIDATING', 'SUCCESSFUL']);
    expect(sandbox.iam.denials).toEqual([]);
  });

  it('fails with one FAILED naming the error when the tag names no profile', async () => {
    const { report, sandbox, test } = await restoreTest('RDS', { validationTag: 'ordres' });
    disposed = sandbox;

    const drill = onlyDrill(report);
    expect(drill.status).toBe('FAILED');
    expect(drill.error?.name).toBe('ValidationProfileNotFound');
    expect(statuses(sandbox, test.restoreJobId)).toEqual(['VALIDATING', 'FAILED']);
    expect(sandbox.validationResults.at(-1)?.message).toMatch(
      /^ValidationProfileNotFound: .*pilotlight:validation=ordres names no profile/,
    );
  });
});

describe('a restore testing job outside the DR account', () => {
  it('starts nothing: intake says it is not the DR account', async () => {
    const { report, sandbox } = await simulate((s) => {
      s.restoreTestCompleted('DynamoDB', { account: '444444444444' });
    });

    expect(report.drills).toEqual([]);
    expect(sandbox.validationResults).toEqual([]);
    expect(intakeSkips(sandbox)).toContainEqual(
      expect.stringMatching(
        /^restore testing job \S+ ran in 444444444444 us-west-2, not the DR account 333333333333 us-west-2/,
      ),
    );
  });
});
