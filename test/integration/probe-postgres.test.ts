import 'aws-sdk-client-mock-vitest/extend';
import { createServer, type Server, type Socket } from 'node:net';
import { GetClusterCredentialsCommand, RedshiftClient } from '@aws-sdk/client-redshift';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { logger } from '../../functions/lib/observability.js';
import { DatabaseUnreachable } from '../../functions/lib/sql-checks.js';
import {
  DatabaseCredentialsUnavailable,
  DatabaseSecretUnreadable,
  handler,
  ProbeInputInvalid,
  type RdsProbeInput,
  type RedshiftProbeInput,
  runProbe,
} from '../../functions/probe.js';
import { type Gate, type Login, passwordGate } from '../../sandbox/engines/password-gate.js';
import { type PostgresEndpoint, SimulatedPostgres } from '../../sandbox/engines/postgres.js';
import { lambdaContext } from '../unit/support.js';

/**
 * The probe against a real PostgreSQL (PGlite on loopback): the source is seeded on a virtual time line, a
 * backup snapshots it, rows written after the backup must not come back, and a restore is what the probe
 * checks, with the `pg` driver over the wire protocol.
 */
const BACKUP_AT = new Date('2026-01-05T01:50:00.000Z');
const NEWEST_ROW_AT = new Date(BACKUP_AT.getTime() - 300_000);
const ROWS = 1_200;
const SECRET_ARN = 'arn:aws:secretsmanager:us-west-2:333333333333:secret:rds!db-5b0c1f2e-aBcDeF';
const PASSWORD = 'drill-copy-password-Zq8!';

const secrets = mockClient(SecretsManagerClient);
let source: SimulatedPostgres;
let restored: SimulatedPostgres;
let endpoint: PostgresEndpoint;

function probeInput(overrides: Partial<RdsProbeInput> = {}): RdsProbeInput {
  return {
    engine: 'postgres',
    host: endpoint.host,
    port: endpoint.port,
    database: endpoint.database,
    secretArn: SECRET_ARN,
    tls: false,
    recoveryPointCreatedAt: BACKUP_AT.toISOString(),
    checks: [{ tableExists: { table: 'orders' } }],
    ...overrides,
  };
}

beforeAll(async () => {
  source = await SimulatedPostgres.create();
  await source.seed({ table: 'orders', rows: ROWS, newestAt: NEWEST_ROW_AT, spacingSeconds: 60 });
  const snapshot = await source.snapshot(BACKUP_AT);
  await source.insertRow('orders', new Date(BACKUP_AT.getTime() + 60_000));
  restored = await SimulatedPostgres.restore(snapshot);
  endpoint = await restored.serve();
});

afterAll(async () => {
  await restored?.close();
  await source?.close();
});

beforeEach(() => {
  secrets.reset();
  secrets
    .on(GetSecretValueCommand, { SecretId: SECRET_ARN })
    .resolves({ SecretString: JSON.stringify({ username: 'postgres', password: PASSWORD }) });
});

describe('the probe against a restored PostgreSQL', () => {
  it('passes the orders profile: the table exists, it holds at least 1000 rows, and reports the exact data RPO', async () => {
    // Prepare
    const input = probeInput({
      checks: [
        { tableExists: { table: 'orders' } },
        {
          sql: {
            name: 'orders row count',
            query: 'SELECT count(*) FROM orders -- a trailing comment stays a comment',
            expect: { op: '>=', value: 1000 },
          },
        },
        {
          freshness: { name: 'newest order', query: 'SELECT max(updated_at) FROM orders', withinMinutes: 60 },
        },
      ],
    });

    // Act
    const report = await runProbe(input, { secrets: new SecretsManagerClient({}) });

    // Assess
    expect(report.checks.map((check) => [check.name, check.passed, check.observed])).toEqual([
      ['table orders exists', true, 'exists'],
      ['orders row count', true, ROWS],
      ['newest order', true, `newest ${NEWEST_ROW_AT.toISOString()} (data RPO 300 s)`],
    ]);
    expect(report.dataRpoSeconds).toBe(300);
    expect(secrets).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: SECRET_ARN });
  });

  it('restores exactly what the source held at the backup: the row written after it is not there', async () => {
    // Act
    const [sourceRows, restoredRows] = [await source.count('orders'), await restored.count('orders')];

    // Assess
    expect(sourceRows).toBe(ROWS + 1);
    expect(restoredRows).toBe(ROWS);
  });

  it('fails a missing table with what was observed and what was expected', async () => {
    // Act
    const report = await runProbe(
      probeInput({
        checks: [
          { tableExists: { table: 'invoices' } },
          { sql: { query: 'SELECT count(*) FROM invoices', expect: { op: '>=', value: 1 } } },
        ],
      }),
      { secrets: new SecretsManagerClient({}) },
    );

    // Assess
    expect(report.checks[0]).toEqual({
      name: 'table invoices exists',
      passed: false,
      observed: 'missing',
      expected: 'exists',
    });
    expect(report.checks[1]).toMatchObject({ passed: false, expected: '>= 1' });
    expect(report.checks[1]?.observed).toMatch(/^error: 42P01 relation "invoices" does not exist/);
  });

  it('runs every check in a read-only transaction: an INSERT in a profile query is refused and writes nothing', async () => {
    // Act
    const report = await runProbe(
      probeInput({
        checks: [
          {
            sql: {
              name: 'sneaky write',
              query: "INSERT INTO orders VALUES (999999, 'x', 1, now()) RETURNING 1",
              expect: { op: '==', value: 1 },
            },
          },
          {
            sql: {
              name: 'read-only',
              query: "SELECT current_setting('transaction_read_only') = 'on'",
              expect: { op: '==', value: 1 },
            },
          },
        ],
      }),
      { secrets: new SecretsManagerClient({}) },
    );

    // Assess
    expect(report.checks[0]).toMatchObject({ passed: false });
    expect(report.checks[0]?.observed).toMatch(/cannot execute INSERT in a read-only transaction/);
    expect(report.checks[1]).toMatchObject({ name: 'read-only', passed: true, observed: 1 });
    expect(await restored.count('orders')).toBe(ROWS);
  });

  it('sets the statement timeout it was given on the server session', async () => {
    // Act
    const report = await runProbe(
      probeInput({
        limits: { statementTimeoutMs: 750 },
        checks: [
          {
            sql: {
              name: 'statement timeout',
              query: "SELECT setting::int FROM pg_settings WHERE name = 'statement_timeout'",
              expect: { op: '==', value: 750 },
            },
          },
        ],
      }),
      { secrets: new SecretsManagerClient({}) },
    );

    // Assess
    expect(report.checks[0]).toMatchObject({ passed: true, observed: 750 });
  });

  it('fails a query that returns more rows than the row limit, without reading the table', async () => {
    // Act
    const report = await runProbe(
      probeInput({
        limits: { maxRows: 5 },
        checks: [
          { sql: { name: 'all ids', query: 'SELECT id FROM orders', expect: { op: '>=', value: 1 } } },
        ],
      }),
      { secrets: new SecretsManagerClient({}) },
    );

    // Assess
    expect(report.checks[0]).toEqual({
      name: 'all ids',
      passed: false,
      observed: 'error: query returned more than 5 rows (row limit)',
      expected: '>= 1',
    });
  });

  it('never returns the password, and an unreachable database fails without naming it', async () => {
    // Prepare: a loopback port nobody listens on.
    const closedPort = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 1));
      });
    });

    // Act
    const report = await runProbe(probeInput(), { secrets: new SecretsManagerClient({}) });
    const unreachable = runProbe(probeInput({ port: closedPort, limits: { connectTimeoutMs: 500 } }), {
      secrets: new SecretsManagerClient({}),
    });

    // Assess
    expect(JSON.stringify(report)).not.toContain(PASSWORD);
    await expect(unreachable).rejects.toThrow(DatabaseUnreachable);
    await expect(unreachable).rejects.toThrow(
      new RegExp(`127\\.0\\.0\\.1:${closedPort}/postgres: ECONNREFUSED`),
    );
    await expect(unreachable).rejects.not.toThrow(PASSWORD);
  });

  it('answers as a Lambda handler and logs the verdict, never the password', async () => {
    // Prepare
    const written: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    logger.setLogLevel('INFO');

    // Act
    const report = await handler(probeInput(), lambdaContext('pilotlight-probe')).finally(() => {
      logger.setLogLevel('SILENT');
      vi.restoreAllMocks();
    });

    // Assess
    expect(report.checks).toEqual([
      { name: 'table orders exists', passed: true, observed: 'exists', expected: 'exists' },
    ]);
    const log = written.join('');
    expect(log).toContain('probe checks ran');
    expect(log).not.toContain(PASSWORD);
  });

  it('refuses a secret without a password, without quoting the secret', async () => {
    // Prepare
    secrets.on(GetSecretValueCommand).resolves({ SecretString: '{"username":"postgres","pass":"hunter2"}' });

    // Act
    const result = runProbe(probeInput(), { secrets: new SecretsManagerClient({}) });

    // Assess
    await expect(result).rejects.toThrow(DatabaseSecretUnreadable);
    await expect(result).rejects.not.toThrow(/hunter2/);
  });

  it('rejects input that is not a probe request, and checks that do not run against a database', async () => {
    // Act
    const noSecret = runProbe({ ...probeInput(), secretArn: 'not-an-arn' });
    const s3Check = runProbe(
      probeInput({ checks: [{ s3Count: { prefix: '', expect: { op: '>=', value: 1 } } }] }),
    );

    // Assess
    await expect(noSecret).rejects.toThrow(ProbeInputInvalid);
    await expect(s3Check).rejects.toThrow(/the probe runs only sql, tableExists and freshness.query checks/);
  });
});

/**
 * A loopback server that speaks just enough of the PostgreSQL protocol: it accepts the login (or, silent,
 * not even that) and then never answers a query, as a hung database would.
 */
async function hungPostgres(
  mode: 'silent' | 'after-login',
): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once('data', () => {
      if (mode === 'silent') return;
      const authenticationOk = Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 0]);
      const readyForQuery = Buffer.from([0x5a, 0, 0, 0, 5, 0x49]);
      socket.write(Buffer.concat([authenticationOk, readyForQuery]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('the probe against a database that stops answering', () => {
  it('gives up connecting after the connect timeout: the database is unreachable', async () => {
    // Prepare
    const hung = await hungPostgres('silent');

    // Act
    const result = runProbe(probeInput({ port: hung.port, limits: { connectTimeoutMs: 150 } }), {
      secrets: new SecretsManagerClient({}),
    });

    // Assess
    await expect(result).rejects.toThrow(DatabaseUnreachable);
    await expect(result).rejects.toThrow(/timeout/i);
    await hung.close();
  });

  it('fails a check whose query gets no answer once the statement timeout (and its grace) has passed', async () => {
    // Prepare
    const hung = await hungPostgres('after-login');

    // Act
    const report = await runProbe(
      probeInput({
        port: hung.port,
        limits: { statementTimeoutMs: 100 },
        checks: [{ tableExists: { table: 'orders' } }],
      }),
      { secrets: new SecretsManagerClient({}) },
    );

    // Assess
    expect(report.checks[0]).toMatchObject({
      name: 'table orders exists',
      passed: false,
      expected: 'exists',
    });
    expect(report.checks[0]?.observed).toMatch(/^error: Query read timeout/);
    await hung.close();
  });
});

describe('the probe against a damaged restore', () => {
  let corrupt: SimulatedPostgres;
  let stale: SimulatedPostgres;

  beforeAll(async () => {
    const snapshot = await source.snapshot(BACKUP_AT);
    corrupt = await SimulatedPostgres.restore(snapshot, { kind: 'corrupt', everyNth: 2 });
    stale = await SimulatedPostgres.restore(snapshot, { kind: 'stale', missingSeconds: 7_200 });
  });

  afterAll(async () => {
    await corrupt?.close();
    await stale?.close();
  });

  it('fails the row count of a copy with rows missing, naming observed and expected', async () => {
    // Prepare
    const at = await corrupt.serve();

    // Act
    const report = await runProbe(
      probeInput({
        port: at.port,
        checks: [
          {
            sql: {
              name: 'orders row count',
              query: 'SELECT count(*) FROM orders',
              expect: { op: '>=', value: 1000 },
            },
          },
        ],
      }),
      { secrets: new SecretsManagerClient({}) },
    );

    // Assess: the snapshot was taken after the late row, so 1201 rows, every second one gone.
    expect(report.checks[0]).toEqual({
      name: 'orders row count',
      passed: false,
      observed: 601,
      expected: '>= 1000',
    });
  });

  it('fails freshness of a copy older than its recovery point claims, with the data RPO it really has', async () => {
    // Prepare
    const at = await stale.serve();

    // Act
    const report = await runProbe(
      probeInput({
        port: at.port,
        checks: [
          {
            freshness: {
              name: 'newest order',
              query: 'SELECT max(updated_at) FROM orders',
              withinMinutes: 60,
            },
          },
        ],
      }),
      { secrets: new SecretsManagerClient({}) },
    );

    // Assess: rows newer than two hours before the backup are gone; the newest left is exactly 7200 s old.
    expect(report.checks[0]).toMatchObject({ name: 'newest order', passed: false, dataRpoSeconds: 7_200 });
    expect(report.dataRpoSeconds).toBe(7_200);
  });
});

/**
 * The probe against a restored Redshift cluster: Redshift's SQL over its PostgreSQL wire protocol, logging in
 * with the temporary credentials the probe asks Redshift for (GetClusterCredentials), here a real PostgreSQL
 * behind a login that admits only those credentials (sandbox/engines/password-gate.ts).
 */
describe('the probe against a restored Redshift cluster', () => {
  const redshift = mockClient(RedshiftClient);
  const TEMPORARY_PASSWORD = 'Temporary-Redshift-Password-9';
  const logins: Login[] = [];
  let gate: Gate;

  beforeAll(async () => {
    gate = await passwordGate(endpoint, (login) => {
      logins.push(login);
      return (
        login.user === 'IAM:awsuser' && login.password === TEMPORARY_PASSWORD && login.database === 'dev'
      );
    });
  });
  afterAll(async () => gate?.close());

  beforeEach(() => {
    logins.length = 0;
    redshift.reset();
    redshift.on(GetClusterCredentialsCommand).resolves({
      DbUser: 'IAM:awsuser',
      DbPassword: TEMPORARY_PASSWORD,
      Expiration: new Date('2026-01-05T02:05:00Z'),
    });
  });

  function redshiftInput(overrides: Partial<RedshiftProbeInput> = {}): RedshiftProbeInput {
    return {
      engine: 'redshift',
      host: gate.host,
      port: gate.port,
      database: 'dev',
      clusterIdentifier: 'pl-redshift-20260105t0200-0d7f519ee178',
      dbUser: 'awsuser',
      tls: false,
      recoveryPointCreatedAt: BACKUP_AT.toISOString(),
      checks: [
        { tableExists: { table: 'orders' } },
        { tableExists: { table: 'public.orders' } },
        {
          sql: {
            name: 'orders row count',
            query: 'SELECT count(*) FROM orders',
            expect: { op: '>=', value: 1000 },
          },
        },
        {
          freshness: { name: 'newest order', query: 'SELECT max(updated_at) FROM orders', withinMinutes: 60 },
        },
      ],
      ...overrides,
    };
  }

  it("runs the profile as the master user with Redshift's temporary credentials, never a stored secret", async () => {
    // Act
    const report = await runProbe(redshiftInput(), {
      redshift: new RedshiftClient({}),
      secrets: new SecretsManagerClient({}),
    });

    // Assess
    expect(report.checks.map((check) => [check.name, check.passed, check.observed])).toEqual([
      ['table orders exists', true, 'exists'],
      ['table public.orders exists', true, 'exists'],
      ['orders row count', true, ROWS],
      ['newest order', true, `newest ${NEWEST_ROW_AT.toISOString()} (data RPO 300 s)`],
    ]);
    expect(report.dataRpoSeconds).toBe(300);
    expect(redshift).toHaveReceivedCommandTimes(GetClusterCredentialsCommand, 1);
    expect(redshift).toHaveReceivedCommandWith(GetClusterCredentialsCommand, {
      ClusterIdentifier: 'pl-redshift-20260105t0200-0d7f519ee178',
      DbUser: 'awsuser',
      DbName: 'dev',
      DurationSeconds: 900,
      AutoCreate: false,
    });
    expect(secrets).not.toHaveReceivedAnyCommand();
    // Every check on its own connection, each logged in as the user Redshift returned.
    expect(logins).toHaveLength(4);
    expect(new Set(logins.map((login) => `${login.user}@${login.database}`))).toEqual(
      new Set(['IAM:awsuser@dev']),
    );
  });

  it('speaks only SQL Redshift has: no lock_timeout, no to_regclass, and still finds a missing table', async () => {
    // Prepare
    const query = vi.spyOn(pg.Client.prototype, 'query');

    // Act
    const report = await runProbe(redshiftInput({ checks: [{ tableExists: { table: 'invoices' } }] }), {
      redshift: new RedshiftClient({}),
    });

    // Assess
    expect(report.checks[0]).toEqual({
      name: 'table invoices exists',
      passed: false,
      observed: 'missing',
      expected: 'exists',
    });
    const sent = query.mock.calls.map(([statement]) =>
      typeof statement === 'string' ? statement : JSON.stringify(statement),
    );
    query.mockRestore();
    expect(sent).toContain('BEGIN READ ONLY');
    expect(sent).toContain('SET LOCAL statement_timeout = 10000');
    expect(sent.join('\n')).toContain('information_schema.tables');
    expect(sent.join('\n')).not.toMatch(/lock_timeout|to_regclass/);
  });

  it('cannot log in with credentials Redshift did not issue: the database is unreachable, and the password is not in the error', async () => {
    // Prepare
    redshift
      .on(GetClusterCredentialsCommand)
      .resolves({ DbUser: 'IAM:awsuser', DbPassword: 'expired-or-forged-1' });

    // Act
    const failure = runProbe(redshiftInput(), { redshift: new RedshiftClient({}) });

    // Assess
    await expect(failure).rejects.toThrow(DatabaseUnreachable);
    await expect(failure).rejects.toThrow(/password authentication failed for user "IAM:awsuser"/);
    await expect(failure).rejects.not.toThrow(/expired-or-forged-1/);
  });

  it('throws DatabaseCredentialsUnavailable, naming the user and cluster, when Redshift refuses the credentials', async () => {
    // Prepare
    const denied = Object.assign(
      new Error('User: arn:aws:sts::333333333333:assumed-role/pilotlight-probe/x is not authorized'),
      {
        name: 'AccessDenied',
      },
    );
    redshift.on(GetClusterCredentialsCommand).rejects(denied);

    // Act
    const failure = runProbe(redshiftInput(), { redshift: new RedshiftClient({}) });

    // Assess
    await expect(failure).rejects.toThrow(DatabaseCredentialsUnavailable);
    await expect(failure).rejects.toThrow(
      'cannot get temporary credentials for awsuser on Redshift cluster pl-redshift-20260105t0200-0d7f519ee178: AccessDenied: User:',
    );
    expect(logins).toEqual([]);
  });

  it('refuses a Redshift input without the cluster or its user, before asking Redshift for anything', async () => {
    // Prepare
    const { dbUser: _user, ...withoutUser } = redshiftInput();

    // Act
    const failure = runProbe(withoutUser, { redshift: new RedshiftClient({}) });

    // Assess
    await expect(failure).rejects.toThrow(ProbeInputInvalid);
    expect(redshift).not.toHaveReceivedAnyCommand();
  });
});
