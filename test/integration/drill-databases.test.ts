import { Client } from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DrillDatabases,
  SEEDED_DATA_GAP_SECONDS,
  SEEDED_ROWS,
  SEEDED_SPACING_SECONDS,
  SEEDED_TABLE,
} from '../../sandbox/engines/drill-databases.js';

/**
 * The sandbox's RDS data (sandbox/engines/drill-databases.ts): a drill copy is a real PostgreSQL holding
 * exactly what its source held at the recovery point, whichever recovery point and in whatever order drills
 * ask for them.
 */
const FIRST = Date.parse('2026-03-01T02:00:00Z');
const SECOND = FIRST + 86_400_000;
const THIRD = SECOND + 86_400_000;
const SOURCE = 'arn:aws:rds:us-east-1:111111111111:db:orders-prod';

async function query(endpoint: { host: string; port: number; database: string; user: string }) {
  const client = new Client({ ...endpoint, ssl: false });
  await client.connect();
  try {
    const result = await client.query<{ n: number; newest: Date }>(
      `SELECT count(*)::int AS n, max(updated_at) AS newest FROM ${SEEDED_TABLE}`,
    );
    const row = result.rows[0];
    if (!row) throw new Error('no row');
    return { rows: row.n, newest: row.newest.getTime() };
  } finally {
    await client.end();
  }
}

describe('drill copies of the sandbox RDS sources', () => {
  let databases: DrillDatabases | undefined;
  afterEach(async () => {
    await databases?.closeAll();
    databases = undefined;
  });
  const read = (
    id: string,
    createdAt: number,
    backups: readonly number[],
    fault?: Parameters<DrillDatabases['session']>[3],
  ) => {
    if (!databases) throw new Error('no databases');
    return databases.session(`db:${id}`, { sourceArn: SOURCE, createdAt }, backups, fault, query);
  };

  it('hold what the source held at their recovery point, not what it wrote later', async () => {
    databases = new DrillDatabases();
    const backups = [THIRD, FIRST, SECOND];
    // Asked for the newest first: order does not matter.
    const third = await read('copy-3', THIRD, backups);
    const second = await read('copy-2', SECOND, backups);
    const first = await read('copy-1', FIRST, backups);
    const gap = SEEDED_DATA_GAP_SECONDS * 1000;
    expect(first).toEqual({ rows: SEEDED_ROWS, newest: FIRST - gap });
    expect(second).toEqual({ rows: SEEDED_ROWS + 1, newest: SECOND - gap });
    expect(third).toEqual({ rows: SEEDED_ROWS + 2, newest: THIRD - gap });
    expect(databases.copiesMade).toBe(3);
  });

  it('serve each copy only during its session, on pooled databases that never show another copy', async () => {
    databases = new DrillDatabases();
    let firstEndpoint: Parameters<typeof query>[0] | undefined;
    const corrupt = await databases.session(
      'db:a',
      { sourceArn: SOURCE, createdAt: SECOND },
      [FIRST, SECOND],
      { kind: 'corrupt', everyNth: 2 },
      async (endpoint) => {
        firstEndpoint = endpoint;
        return query(endpoint);
      },
    );
    // The next session reuses the database, emptied and filled with its own copy only.
    const clean = await read('b', FIRST, [FIRST, SECOND]);
    // Rows 1..1201, the even ids gone.
    expect(corrupt.rows).toBe(SEEDED_ROWS / 2 + 1);
    expect(clean).toEqual({ rows: SEEDED_ROWS, newest: FIRST - SEEDED_DATA_GAP_SECONDS * 1000 });
    expect(databases.started).toBe(1);
    expect(databases.copiesMade).toBe(2);
    // Sessions at once each get a database of their own.
    const both = await Promise.all([read('c', FIRST, [FIRST]), read('d', SECOND, [FIRST, SECOND])]);
    expect(both.map((copy) => copy.rows)).toEqual([SEEDED_ROWS, SEEDED_ROWS + 1]);
    expect(databases.started).toBe(2);
    // Once the sandbox is disposed, nothing listens any more.
    await databases.closeAll();
    if (!firstEndpoint) throw new Error('no endpoint');
    await expect(query(firstEndpoint)).rejects.toThrow(/ECONNREFUSED/);
  });

  it('damage only the copy: data=corrupt loses every second row, data=stale the newest two hours', async () => {
    databases = new DrillDatabases();
    const corrupt = await read('corrupt', FIRST, [FIRST], { kind: 'corrupt', everyNth: 2 });
    const stale = await read('stale', FIRST, [FIRST], { kind: 'stale', missingSeconds: 7200 });
    const clean = await read('clean', FIRST, [FIRST]);
    expect(corrupt.rows).toBe(SEEDED_ROWS / 2);
    // Rows are a minute apart, the newest SEEDED_DATA_GAP_SECONDS before the backup: those of the last two
    // hours are gone, the newest left is exactly two hours old.
    expect(stale).toEqual({
      rows: SEEDED_ROWS - (7200 - SEEDED_DATA_GAP_SECONDS) / SEEDED_SPACING_SECONDS,
      newest: FIRST - 7200 * 1000,
    });
    expect(clean.rows).toBe(SEEDED_ROWS);
  });

  it('drop every connection to the unreachable address', async () => {
    databases = new DrillDatabases();
    const address = await databases.unreachable();
    await expect(query({ ...address, database: 'postgres', user: 'postgres' })).rejects.toThrow();
  });
});
