import 'aws-sdk-client-mock-vitest/extend';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DatabaseUnreachable } from '../../functions/lib/sql-checks.js';
import { type RdsProbeInput, runProbe } from '../../functions/probe.js';
import { type MariaDbServer, startMariaDb } from './server.js';

/**
 * The probe's mysql2 path against a real MariaDB (Debian's mariadb-server, a private instance on loopback):
 * the orders profile with its exact data RPO, and the bounds a restored database is probed within — a
 * read-only transaction the server enforces, MariaDB's max_statement_time, the row limit, a wrong password.
 */
const BACKUP_AT = new Date('2026-01-05T01:50:00.000Z');
const NEWEST_ROW_AT = new Date(BACKUP_AT.getTime() - 240_000);
const ROWS = 1_200;
const SECRET_ARN = 'arn:aws:secretsmanager:us-west-2:333333333333:secret:rds!db-7c1d2e3f-aBcDeF';
const PASSWORD = 'drill-copy-password-Mx4!';

const secrets = mockClient(SecretsManagerClient);
let server: MariaDbServer;

/** MariaDB DATETIME(3) literal (UTC) of a time. */
const sqlTime = (at: Date) => at.toISOString().replace('T', ' ').replace('Z', '');

function probeInput(overrides: Partial<RdsProbeInput> = {}): RdsProbeInput {
  return {
    engine: 'mariadb',
    host: server.host,
    port: server.port,
    database: 'shop',
    secretArn: SECRET_ARN,
    tls: false,
    recoveryPointCreatedAt: BACKUP_AT.toISOString(),
    checks: [{ tableExists: { table: 'orders' } }],
    ...overrides,
  };
}

async function orderCount(): Promise<number> {
  const admin = await server.admin();
  try {
    const [rows] = await admin.query('SELECT count(*) AS n FROM shop.orders');
    return Array.isArray(rows) ? Number((rows[0] as { n: number }).n) : -1;
  } finally {
    await admin.end();
  }
}

beforeAll(async () => {
  server = await startMariaDb();
  const admin = await server.admin();
  try {
    await admin.query("SET time_zone = '+00:00'");
    await admin.query('CREATE DATABASE shop');
    await admin.query('CREATE TABLE shop.orders (id INT PRIMARY KEY, updated_at DATETIME(3) NOT NULL)');
    const values = Array.from({ length: ROWS }, (_, i) => {
      const at = new Date(NEWEST_ROW_AT.getTime() - (ROWS - 1 - i) * 60_000);
      return `(${i + 1}, '${sqlTime(at)}')`;
    });
    await admin.query(`INSERT INTO shop.orders VALUES ${values.join(',')}`);
    // The drill copy's master user can write: only the probe's read-only transaction keeps it from doing so.
    await admin.query(`CREATE USER 'drill'@'%' IDENTIFIED BY '${PASSWORD}'`);
    await admin.query("GRANT ALL PRIVILEGES ON shop.* TO 'drill'@'%'");
  } finally {
    await admin.end();
  }
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

beforeEach(() => {
  secrets.reset();
  secrets
    .on(GetSecretValueCommand, { SecretId: SECRET_ARN })
    .resolves({ SecretString: JSON.stringify({ username: 'drill', password: PASSWORD }) });
});

const probe = (input: RdsProbeInput) => runProbe(input, { secrets: new SecretsManagerClient({}) });

describe('the probe against a restored MariaDB', () => {
  it('passes the orders profile and reports the exact data RPO', async () => {
    const report = await probe(
      probeInput({
        checks: [
          { tableExists: { table: 'orders' } },
          {
            sql: {
              name: 'orders row count',
              query: 'SELECT count(*) FROM orders',
              expect: { op: '>=', value: 1000 },
            },
          },
          {
            freshness: {
              name: 'newest order',
              query: "SELECT DATE_FORMAT(max(updated_at), '%Y-%m-%dT%H:%i:%s.%fZ') FROM orders",
              withinMinutes: 60,
            },
          },
        ],
      }),
    );

    expect(report.checks.map((check) => [check.name, check.passed, check.observed])).toEqual([
      ['table orders exists', true, 'exists'],
      ['orders row count', true, ROWS],
      ['newest order', true, `newest ${NEWEST_ROW_AT.toISOString()} (data RPO 240 s)`],
    ]);
    expect(report.dataRpoSeconds).toBe(240);
    expect(secrets).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: SECRET_ARN });
  });

  it('runs every check in a read-only transaction: a write is refused by the server and changes nothing', async () => {
    const report = await probe(
      probeInput({
        checks: [
          {
            sql: {
              name: 'sneaky write',
              query: "INSERT INTO orders VALUES (99999, '2026-01-05 00:00:00')",
              expect: { op: '>=', value: 0 },
            },
          },
        ],
      }),
    );

    expect(report.checks[0]?.passed).toBe(false);
    expect(String(report.checks[0]?.observed)).toMatch(/READ ONLY transaction/i);
    expect(await orderCount()).toBe(ROWS);
  });

  it("stops a statement at MariaDB's max_statement_time", async () => {
    const report = await probe(
      probeInput({
        checks: [{ sql: { name: 'slow', query: 'SELECT SLEEP(5)', expect: { op: '==', value: 0 } } }],
        limits: { statementTimeoutMs: 1_000 },
      }),
    );

    expect(report.checks[0]?.passed).toBe(false);
    // MariaDB interrupts SLEEP at the limit: it answers 1 ("interrupted") or the max_statement_time error.
    expect(String(report.checks[0]?.observed)).toMatch(/^(1|error: .*max_statement_time.*)$/);
  });

  it('fails a query that returns more rows than the limit, without reading them', async () => {
    const report = await probe(
      probeInput({
        checks: [
          { sql: { name: 'all ids', query: 'SELECT id FROM orders', expect: { op: '>=', value: 1 } } },
        ],
        limits: { maxRows: 100 },
      }),
    );

    expect(report.checks[0]).toMatchObject({
      passed: false,
      observed: expect.stringContaining('more than 100 rows'),
    });
  });

  it('cannot connect with a wrong password: DatabaseUnreachable, and the password is in no message', async () => {
    secrets
      .on(GetSecretValueCommand, { SecretId: SECRET_ARN })
      .resolves({ SecretString: JSON.stringify({ username: 'drill', password: 'not-the-password' }) });

    const running = probe(probeInput());

    await expect(running).rejects.toBeInstanceOf(DatabaseUnreachable);
    await expect(running).rejects.toThrow(/Access denied for user 'drill'/);
    await expect(running).rejects.not.toThrow(/not-the-password/);
  });
});
