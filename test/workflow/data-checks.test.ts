import { afterEach, describe, expect, it } from 'vitest';
import { SecretsState } from '../../sandbox/aws/secrets-manager.js';
import {
  DrillDatabases,
  SEEDED_DATA_GAP_SECONDS,
  SEEDED_ROWS,
} from '../../sandbox/engines/drill-databases.js';
import { PROD_ACCOUNT, PROD_REGION, type Sandbox } from '../../sandbox/index.js';
import { RedshiftState } from '../../sandbox/resources/redshift.js';
import { onlyDrill, simulate } from './harness.js';

/** The sandbox a test ran: its PGlite servers are closed (and awaited) before the next test starts. */
let disposed: Sandbox | undefined;
afterEach(async () => {
  await disposed?.databasesClosed;
  disposed = undefined;
});

/** The `orders` profile's three checks, passed on the seeded database (the default of RDS, Aurora, Redshift). */
const ORDERS_PROFILE_PASSED = [
  { name: 'data: table orders exists', passed: true, detail: 'observed exists, expected exists' },
  { name: 'data: orders row count', passed: true, detail: `observed ${SEEDED_ROWS}, expected >= 1000` },
  {
    name: 'data: newest order',
    passed: true,
    detail: expect.stringContaining(`(data RPO ${SEEDED_DATA_GAP_SECONDS} s)`),
  },
];

/**
 * Proof of data (docs/validation.md): an RDS drill's restored instance is a real PostgreSQL (PGlite on
 * loopback) holding what the source held at the recovery point; the probe runs the RDS default profile
 * (validations.yml `orders`) against it with the drill copy's own RDS-managed password.
 */
describe('the data checks of an RDS drill', () => {
  it('runs the profile against the restored PostgreSQL and reports the seeded data RPO', async () => {
    const { report, sandbox } = await simulate((s) => s.backupCompleted('RDS'));
    disposed = sandbox;

    const drill = onlyDrill(report);
    expect(drill.status).toBe('SUCCEEDED');
    expect(drill.checks.filter((check) => check.name.startsWith('data: '))).toEqual(ORDERS_PROFILE_PASSED);
    expect(drill.dataRpoSeconds).toBe(SEEDED_DATA_GAP_SECONDS);
    expect(report.sandbox.metrics).toContainEqual(
      expect.objectContaining({
        name: 'DataRpoSeconds',
        value: SEEDED_DATA_GAP_SECONDS,
        dimensions: expect.objectContaining({ ResourceType: 'RDS' }),
      }),
    );
    expect(report.sandbox.metrics).toContainEqual(
      expect.objectContaining({ name: 'DataRpoTargetBreached', value: 0 }),
    );
    expect(report.sandbox.resourcesLeft).toBe(0);
    // The password is read by the probe's own role in the DR account, every call authorized.
    expect(sandbox.iam.denials).toEqual([]);
    expect([...sandbox.iam.callsByPrincipal.keys()]).toContain(
      'checkHealth as arn:aws:sts::333333333333:assumed-role/pilotlight-probe/pilotlight-probe',
    );
  });

  it('fails on the row count, observed against expected, when the restored data lost rows', async () => {
    const { report, sandbox } = await simulate((s) => s.backupCompleted('RDS'), { faults: ['data=corrupt'] });
    disposed = sandbox;

    const drill = onlyDrill(report);
    expect(drill.status).toBe('FAILED');
    expect(drill.error?.name).toBe('HealthCheckFailed');
    expect(drill.error?.message).toContain('data: orders row count');
    expect(drill.checks.find((check) => check.name === 'data: orders row count')).toEqual({
      name: 'data: orders row count',
      passed: false,
      detail: `observed ${SEEDED_ROWS / 2}, expected >= 1000`,
    });
    expect(report.sandbox.resourcesLeft).toBe(0);
    expect(report.sandbox.alerts.map((alert) => alert.subject)).toEqual([
      expect.stringContaining('drill FAILED (HealthCheckFailed)'),
    ]);
  });

  it('fails on freshness, with a data RPO past its target, when the restored data is older than claimed', async () => {
    const { report, sandbox } = await simulate((s) => s.backupCompleted('RDS'), { faults: ['data=stale'] });
    disposed = sandbox;

    const drill = onlyDrill(report);
    expect(drill.status).toBe('FAILED');
    expect(drill.error?.name).toBe('HealthCheckFailed');
    expect(drill.error?.message).toContain('data: newest order');
    const freshness = drill.checks.find((check) => check.name === 'data: newest order');
    expect(freshness?.passed).toBe(false);
    expect(freshness?.detail).toMatch(
      /^observed newest .+ \(data RPO 7200 s\), expected newest data within 60 min of the recovery point/,
    );
    // The newest two hours of rows are missing: the newest restored row (rows are a minute apart) is exactly
    // two hours older than the backup.
    expect(drill.dataRpoSeconds).toBe(2 * 3600);
    expect(report.sandbox.metrics).toContainEqual(
      expect.objectContaining({ name: 'DataRpoTargetBreached', value: 1 }),
    );
    expect(report.sandbox.resourcesLeft).toBe(0);
    expect(report.sandbox.alerts).toHaveLength(1);
  });

  it('fails on reachability, observed against expected, when the probe cannot connect', async () => {
    const { report, sandbox } = await simulate((s) => s.backupCompleted('RDS'), {
      faults: ['data=unreachable'],
    });
    disposed = sandbox;

    const drill = onlyDrill(report);
    expect(drill.status).toBe('FAILED');
    expect(drill.error?.name).toBe('HealthCheckFailed');
    const reachable = drill.checks.find((check) => check.name === 'data: database reachable');
    expect(reachable?.passed).toBe(false);
    expect(reachable?.detail).toMatch(
      /^observed data probe failed: DatabaseUnreachable: cannot connect to 127\.0\.0\.1:\d+\/postgres: .+, expected a connection from the probe to pl-[a-z0-9-]+\..+\.rds\.amazonaws\.com:5432$/,
    );
    expect(drill.dataRpoSeconds).toBeNull();
    expect(sandbox.world.state(DrillDatabases).started).toBe(0);
    expect(report.sandbox.resourcesLeft).toBe(0);
    expect(report.sandbox.alerts).toHaveLength(1);
  });

  it('never lets the drill copy password into logs, evidence, state or the report', async () => {
    const { report, sandbox } = await simulate((s) => s.backupCompleted('RDS'));
    disposed = sandbox;

    const secrets = [...sandbox.world.state(SecretsState).secrets.values()];
    expect(secrets).toHaveLength(1);
    const password = JSON.parse(secrets[0]?.value ?? '{}').password;
    expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const evidence = sandbox.world.s3.objects.map((object) => object.body);
    expect(evidence.join('\n')).toContain('"dataRpoSeconds"');
    const executions = [...sandbox.stepFunctions.executions.values()].map((execution) =>
      JSON.stringify({ input: execution.input, output: execution.output, steps: execution.steps }),
    );
    for (const text of [...sandbox.logs, ...evidence, ...executions, JSON.stringify(report)])
      expect(text).not.toContain(password);
  });
});

describe('the data checks of an Aurora PostgreSQL drill', () => {
  it('runs the profile against the restored cluster through its endpoint, with its own managed password', async () => {
    const { report, sandbox } = await simulate((s) => s.backupCompleted('Aurora'));
    disposed = sandbox;

    const drill = onlyDrill(report);
    expect(drill.status).toBe('SUCCEEDED');
    expect(drill.checks.filter((check) => check.name.startsWith('data: '))).toEqual(ORDERS_PROFILE_PASSED);
    expect(drill.dataRpoSeconds).toBe(SEEDED_DATA_GAP_SECONDS);
    // The cluster's secret is RDS's (rds!cluster-<uuid>, tagged with the cluster), read by the probe's role.
    const secrets = [...sandbox.world.state(SecretsState).secrets.values()];
    expect(secrets.map((secret) => secret.id)).toEqual([
      expect.stringMatching(/^rds!cluster-[0-9a-f-]{36}-/),
    ]);
    expect(secrets[0]?.tags['aws:rds:primaryDBClusterArn']).toMatch(/:cluster:pl-/);
    // RDS deletes the managed secret with the cluster: nothing is left.
    expect(secrets[0]?.phase).toBe('deleted');
    expect(sandbox.iam.denials).toEqual([]);
    expect(report.sandbox.resourcesLeft).toBe(0);
  });

  it('fails on the row count when the restored cluster lost rows, and tears down', async () => {
    const { report, sandbox } = await simulate((s) => s.backupCompleted('Aurora'), {
      faults: ['data=corrupt'],
    });
    disposed = sandbox;

    const drill = onlyDrill(report);
    expect(drill.status).toBe('FAILED');
    expect(drill.checks.find((check) => check.name === 'data: orders row count')).toEqual({
      name: 'data: orders row count',
      passed: false,
      detail: `observed ${SEEDED_ROWS / 2}, expected >= 1000`,
    });
    expect(report.sandbox.resourcesLeft).toBe(0);
    expect(report.sandbox.alerts).toHaveLength(1);
  });
});

/**
 * A Redshift drill's restored cluster serves the source's data (PGlite on loopback, behind a login that admits
 * only the temporary credentials Redshift issued); the probe asks Redshift for them itself
 * (GetClusterCredentials, as its own role) and runs the Redshift default profile (`orders`).
 */
describe('the data checks of a Redshift drill', () => {
  it('runs the profile against the restored cluster with temporary credentials, and reports the seeded data RPO', async () => {
    const { report, sandbox } = await simulate((s) => s.backupCompleted('Redshift'));
    disposed = sandbox;

    const drill = onlyDrill(report);
    expect(drill.status).toBe('SUCCEEDED');
    expect(drill.checks.filter((check) => check.name.startsWith('data: '))).toEqual(ORDERS_PROFILE_PASSED);
    expect(drill.dataRpoSeconds).toBe(SEEDED_DATA_GAP_SECONDS);
    const evidence = sandbox.world.s3.objects.map((object) => JSON.parse(object.body));
    expect(evidence[0]?.dataChecks).toMatchObject({
      profile: 'orders',
      selectedBy: 'default',
      dataRpoSeconds: SEEDED_DATA_GAP_SECONDS,
    });
    expect(report.sandbox.metrics).toContainEqual(
      expect.objectContaining({
        name: 'DataRpoSeconds',
        value: SEEDED_DATA_GAP_SECONDS,
        dimensions: expect.objectContaining({ ResourceType: 'Redshift' }),
      }),
    );
    // One set of credentials, for the drill cluster's master user, issued to the probe's own role for 15 min.
    const issued = sandbox.world.state(RedshiftState).credentials;
    expect(issued).toHaveLength(1);
    expect(issued[0]).toMatchObject({
      clusterArn: expect.stringMatching(/^arn:aws:redshift:us-west-2:333333333333:cluster:pl-redshift-/),
      user: 'IAM:awsuser',
      database: 'dev',
    });
    expect(sandbox.iam.denials).toEqual([]);
    expect(sandbox.iam.actionsUsed.get('arn:aws:iam::333333333333:role/pilotlight-probe')).toEqual(
      new Set(['redshift:GetClusterCredentials']),
    );
    expect(sandbox.world.state(DrillDatabases).copiesMade).toBe(1);
    expect(report.sandbox.resourcesLeft).toBe(0);
    // The temporary password stays in the probe: not in logs, evidence, executions or the report.
    const password = issued[0]?.password ?? '';
    expect(password.length).toBeGreaterThan(20);
    const executions = [...sandbox.stepFunctions.executions.values()].map((execution) =>
      JSON.stringify({ input: execution.input, output: execution.output, steps: execution.steps }),
    );
    for (const text of [
      ...sandbox.logs,
      ...sandbox.world.s3.objects.map((object) => object.body),
      ...executions,
      JSON.stringify(report),
    ])
      expect(text).not.toContain(password);
  });

  it.each([
    {
      fault: 'data=corrupt',
      check: 'data: orders row count',
      detail: `observed ${SEEDED_ROWS / 2}, expected >= 1000`,
    },
    {
      fault: 'data=stale',
      check: 'data: newest order',
      detail: expect.stringMatching(
        /^observed newest .+ \(data RPO 7200 s\), expected newest data within 60 min of the recovery point/,
      ),
    },
    {
      fault: 'data=unreachable',
      check: 'data: database reachable',
      detail: expect.stringMatching(
        /^observed data probe failed: DatabaseUnreachable: cannot connect to 127\.0\.0\.1:\d+\/dev: .+, expected a connection from the probe to pl-redshift-[a-z0-9-]+\..+\.redshift\.amazonaws\.com:5439$/,
      ),
    },
  ])(
    'fails the drill on $check, observed against expected, with $fault, and tears down and alerts',
    async ({ fault, check, detail }) => {
      const { report, sandbox } = await simulate((s) => s.backupCompleted('Redshift'), { faults: [fault] });
      disposed = sandbox;

      const drill = onlyDrill(report);
      expect(drill.status).toBe('FAILED');
      expect(drill.error?.name).toBe('HealthCheckFailed');
      expect(drill.error?.message).toContain(check);
      expect(drill.checks.find((c) => c.name === check)).toEqual({ name: check, passed: false, detail });
      expect(drill.steps.find((step) => step.name === 'TearDown')?.status).toBe('SUCCEEDED');
      expect(report.sandbox.resourcesLeft).toBe(0);
      expect(drill.evidence?.key).toBeTruthy();
      expect(sandbox.world.objects.some((object) => object.key === drill.evidence?.key)).toBe(true);
      expect(report.sandbox.alerts.map((alert) => alert.subject)).toEqual([
        expect.stringContaining('drill FAILED (HealthCheckFailed)'),
      ]);
    },
  );
});

describe("a source resource's validation profile, by its tag", () => {
  /** An RDS backup whose source database carries `tags` (in the source account's Tagging API). */
  const taggedBackup = (tags: Record<string, string>) => (sandbox: Sandbox) => {
    const event = sandbox.backupCompleted('RDS');
    const point = sandbox.world.recoveryPoints.get(event.resources[0] ?? '');
    if (!point) throw new Error('no recovery point');
    sandbox.world.tagging.tagSourceResource(point.resourceArn, PROD_ACCOUNT, PROD_REGION, tags);
  };

  it('runs the profile the pilotlight:validation tag names instead of the type default', async () => {
    const { report, sandbox } = await simulate(taggedBackup({ 'pilotlight:validation': 'relational-basic' }));
    disposed = sandbox;

    const drill = onlyDrill(report);
    expect(drill.status).toBe('SUCCEEDED');
    expect(drill.checks.filter((check) => check.name.startsWith('data: '))).toEqual([
      { name: 'data: engine answers', passed: true, detail: 'observed 1, expected == 1' },
    ]);
    const evidence = sandbox.world.s3.objects.map((object) => JSON.parse(object.body));
    expect(evidence[0]?.dataChecks).toMatchObject({ profile: 'relational-basic', selectedBy: 'tag' });
    expect(sandbox.iam.denials).toEqual([]);
  });

  it('fails the drill, tearing down, when the tag names no profile', async () => {
    const { report, sandbox } = await simulate(taggedBackup({ 'pilotlight:validation': 'ordres' }));
    disposed = sandbox;

    const drill = onlyDrill(report);
    expect(drill.status).toBe('FAILED');
    expect(drill.error?.name).toBe('ValidationProfileNotFound');
    expect(drill.error?.message).toContain('pilotlight:validation=ordres names no profile');
    expect(report.sandbox.resourcesLeft).toBe(0);
    expect(report.sandbox.alerts).toHaveLength(1);
  });
});
