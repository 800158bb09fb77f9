import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/**
 * A real PostgreSQL for the sandbox: PGlite (Postgres compiled to WASM, in process) served on loopback over
 * the wire protocol, so the probe's `pg` client connects and runs a profile's SQL exactly as against RDS.
 *
 * The life of a drill's database: the source is seeded (a table whose rows carry `updated_at` timestamps
 * on the sandbox's virtual clock), a backup takes a snapshot of its data directory, and a restore opens a
 * copy of that snapshot, optionally damaged (`corrupt`: rows missing; `stale`: the newest rows missing, as
 * if the recovery point were older than it claims). Only loopback, trust authentication, no TLS: the
 * probe's `tls: false` is for this server only.
 */

export class PostgresEngineError extends Error {
  override readonly name = 'PostgresEngineError';
}

export interface SeedSpec {
  table: string;
  rows: number;
  /** `updated_at` of the newest row; older rows step back by `spacingSeconds` each. */
  newestAt: Date;
  spacingSeconds: number;
}

/** A copy of the source database's data directory at backup time (what a recovery point holds). */
export interface PostgresSnapshot {
  readonly takenAt: Date;
  readonly dataDir: Blob;
  readonly tables: readonly string[];
}

export type RestoreFault =
  /** `data=corrupt`: every `everyNth` row (by id) of each seeded table is missing from the copy. */
  | { kind: 'corrupt'; everyNth: number }
  /** `data=stale`: the rows of the last `missingSeconds` before the snapshot are missing from the copy. */
  | { kind: 'stale'; missingSeconds: number };

export interface PostgresEndpoint {
  host: string;
  port: number;
  database: string;
  user: string;
}

const tableName = /^[a-z_][a-z0-9_]{0,62}$/;

export class SimulatedPostgres {
  private server: PGLiteSocketServer | undefined;
  private readonly tables: string[];

  private constructor(
    private readonly db: PGlite,
    tables: readonly string[],
  ) {
    this.tables = [...tables];
  }

  /** An empty source database. */
  static async create(): Promise<SimulatedPostgres> {
    return new SimulatedPostgres(await PGlite.create(), []);
  }

  /**
   * An empty database started from the initialised data directory (templateDataDir): ~0.7 s here instead of
   * the ~4 s a fresh PGlite spends in initdb. What it then holds is up to the caller (seed, insertRow).
   */
  static async fromTemplate(): Promise<SimulatedPostgres> {
    return new SimulatedPostgres(await PGlite.create({ loadDataDir: await templateDataDir() }), []);
  }

  /**
   * The database a restore of `snapshot` yields: exactly what the source held when the snapshot was taken,
   * and nothing written after it, unless a fault damages the copy.
   */
  static async restore(snapshot: PostgresSnapshot, fault?: RestoreFault): Promise<SimulatedPostgres> {
    const copy = new SimulatedPostgres(
      await PGlite.create({ loadDataDir: snapshot.dataDir }),
      snapshot.tables,
    );
    if (fault) await copy.damage(fault, snapshot.takenAt);
    return copy;
  }

  /**
   * Creates `table` (id, customer, amount_cents, updated_at) with `rows` rows: row `rows` is the newest, at
   * `newestAt`; row i is `(rows - i) * spacingSeconds` older. Deterministic: no randomness, no wall clock.
   */
  async seed(spec: SeedSpec): Promise<void> {
    if (!tableName.test(spec.table)) throw new PostgresEngineError(`not a plain table name: ${spec.table}`);
    if (!Number.isInteger(spec.rows) || spec.rows < 0)
      throw new PostgresEngineError('rows must be a whole number');
    await this.db.exec(
      `CREATE TABLE ${spec.table} (
         id bigint PRIMARY KEY,
         customer text NOT NULL,
         amount_cents integer NOT NULL,
         updated_at timestamptz NOT NULL)`,
    );
    await this.db.query(
      `INSERT INTO ${spec.table}
         SELECT g, 'customer-' || (g % 97), (g * 7919) % 100000,
                $1::timestamptz - (($2::int - g) * $3::int) * interval '1 second'
         FROM generate_series(1, $2::int) AS g`,
      [spec.newestAt.toISOString(), spec.rows, spec.spacingSeconds],
    );
    this.tables.push(spec.table);
  }

  /** Back to the empty template: every seeded table dropped (the probe only reads, so nothing else changed). */
  async reset(): Promise<void> {
    for (const table of this.tables.splice(0)) await this.db.exec(`DROP TABLE IF EXISTS ${table}`);
  }

  /** The application's writes after the seeded history: one row at each of `at`. */
  async insertRows(table: string, at: readonly Date[]): Promise<void> {
    for (const when of at) await this.insertRow(table, when);
  }

  /** Damages the copy as the fault says (data=corrupt, data=stale), relative to the backup time. */
  async damageAsOf(fault: RestoreFault, takenAt: Date): Promise<void> {
    await this.damage(fault, takenAt);
  }

  /** Writes after a backup (a row at `at`), so a test can show the restore does not hold them. */
  async insertRow(table: string, at: Date): Promise<void> {
    if (!this.tables.includes(table)) throw new PostgresEngineError(`no seeded table ${table}`);
    await this.db.query(
      `INSERT INTO ${table} SELECT coalesce(max(id), 0) + 1, 'late', 1, $1::timestamptz FROM ${table}`,
      [at.toISOString()],
    );
  }

  async count(table: string): Promise<number> {
    if (!this.tables.includes(table)) throw new PostgresEngineError(`no seeded table ${table}`);
    const result = await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
    return result.rows[0]?.n ?? 0;
  }

  /** The backup: the data directory as it is now. */
  async snapshot(takenAt: Date): Promise<PostgresSnapshot> {
    return { takenAt, dataDir: await this.db.dumpDataDir('none'), tables: [...this.tables] };
  }

  /** Serves the database on 127.0.0.1 at an ephemeral port; the probe connects with `tls: false`. */
  async serve(): Promise<PostgresEndpoint> {
    if (!this.server) {
      const server = new PGLiteSocketServer({ db: this.db, host: '127.0.0.1', port: 0, maxConnections: 8 });
      await server.start();
      this.server = server;
    }
    const [host, port] = this.server.getServerConn().split(':');
    return { host: host ?? '127.0.0.1', port: Number(port), database: 'postgres', user: 'postgres' };
  }

  /** Stops the server (closing its connections) and the database: nothing keeps the process alive. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await server.stop();
    if (!this.db.closed) await this.db.close();
  }

  private async damage(fault: RestoreFault, takenAt: Date): Promise<void> {
    for (const table of this.tables) {
      if (fault.kind === 'corrupt') {
        await this.db.query(`DELETE FROM ${table} WHERE id % $1::int = 0`, [fault.everyNth]);
      } else {
        await this.db.query(
          `DELETE FROM ${table} WHERE updated_at > $1::timestamptz - $2::int * interval '1 second'`,
          [takenAt.toISOString(), fault.missingSeconds],
        );
      }
    }
  }
}

/**
 * An initialised, empty PostgreSQL data directory, made once and reused: by this process (kept on globalThis,
 * which outlives the module re-evaluation of test isolation) and by later processes (a file in the OS temp
 * directory named after the PGlite version, written atomically). initdb is what makes a fresh PGlite slow;
 * the data directory it leaves is the same every time, so sharing it changes no result.
 */
export function templateDataDir(): Promise<Blob> {
  const cache = globalThis as { [templateKey]?: Promise<Blob> };
  const existing = cache[templateKey];
  if (existing) return existing;
  const made = loadOrMakeTemplate();
  cache[templateKey] = made;
  // A failure is not cached: the next database tries again.
  made.catch(() => {
    if (cache[templateKey] === made) delete cache[templateKey];
  });
  return made;
}

const templateKey = Symbol.for('pilotlight.sandbox.postgresTemplate');

function pgliteVersion(): string {
  const entry = fileURLToPath(import.meta.resolve('@electric-sql/pglite'));
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const pkg: unknown = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      if (
        pkg &&
        typeof pkg === 'object' &&
        'name' in pkg &&
        pkg.name === '@electric-sql/pglite' &&
        'version' in pkg
      )
        return String(pkg.version);
    } catch {
      // No package.json at this level: keep walking up.
    }
  }
  return 'unknown';
}

async function loadOrMakeTemplate(): Promise<Blob> {
  const dir = join(tmpdir(), 'pilotlight-sandbox');
  const file = join(dir, `pglite-${pgliteVersion()}-template.tar`);
  try {
    return new Blob([readFileSync(file)]);
  } catch {
    // Not made yet on this machine (or unreadable): make it below.
  }
  const db = await PGlite.create();
  try {
    const dump = await db.dumpDataDir('none');
    try {
      mkdirSync(dir, { recursive: true });
      const partial = `${file}.${process.pid}.partial`;
      writeFileSync(partial, new Uint8Array(await dump.arrayBuffer()));
      renameSync(partial, file);
    } catch {
      // A read-only temp directory only costs the next process the ~4 s initdb again.
    }
    return dump;
  } finally {
    await db.close();
  }
}
