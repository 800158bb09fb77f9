import { createServer, type Server } from 'node:net';
import { type PostgresEndpoint, type RestoreFault, SimulatedPostgres } from './postgres.js';

/**
 * The real PostgreSQL data behind the sandbox's RDS instances (docs/validation.md, "Integration seam"): the
 * production database each RDS source resource holds, and the drill copies restores make of it, served on
 * loopback for the probe.
 *
 * The source is a model of its application's writes, not a running database: a seeded history ending
 * SEEDED_DATA_GAP_SECONDS before its first backup, then one row SEEDED_DATA_GAP_SECONDS before each later
 * backup. A drill copy is a real PGlite holding exactly the rows the source held at the recovery point's
 * creation time (whatever order drills run in), damaged if a fault says so. Only copies are real databases:
 * one PGlite per restored instance while the probe uses it (sandboxes whose drills never reach the data pay
 * nothing), started from a shared initialised data directory (~0.7 s, not initdb's ~4 s).
 */

/** The source's table, as the `orders` profile in validations.yml checks it. */
export const SEEDED_TABLE = 'orders';
export const SEEDED_ROWS = 1200;
/** One row a minute: the application writes steadily. */
export const SEEDED_SPACING_SECONDS = 60;
/**
 * The newest row is this old when AWS Backup snapshots the database: the data RPO a drill measures is exactly
 * this (the application's last write came four minutes before the backup).
 */
export const SEEDED_DATA_GAP_SECONDS = 240;

export class DrillDatabaseError extends Error {
  override readonly name = 'DrillDatabaseError';
}

/** Where a restored instance's data comes from: its source, the recovery point, and the source's backups. */
export interface RestoredFrom {
  sourceArn: string;
  /** The recovery point's creation time (ms). */
  createdAt: number;
}

export class DrillDatabases {
  /** The live copies: only while a probe session uses them (see session). */
  private readonly copies = new Map<string, { db: Promise<SimulatedPostgres>; users: number }>();
  private readonly closing: Promise<void>[] = [];
  /** PGlite instances started in this run, for tests. */
  started = 0;

  /**
   * Runs `use` with the restored instance's database served on 127.0.0.1: what the source held at the
   * recovery point (`backupTimes`: the creation times, ms, of the source's recovery points), damaged by the
   * fault if any. The copy is a pure function of those inputs and the probe only reads, so it lives only
   * while some session uses it (each PGlite holds ~200 MB; a burst of drills would otherwise keep dozens)
   * and is made again, identical, for a later session.
   */
  async session<T>(
    instanceArn: string,
    from: RestoredFrom,
    backupTimes: readonly number[],
    fault: RestoreFault | undefined,
    use: (endpoint: PostgresEndpoint) => Promise<T>,
  ): Promise<T> {
    let copy = this.copies.get(instanceArn);
    if (!copy) {
      this.started += 1;
      copy = { db: restoreCopy(from, backupTimes, fault), users: 0 };
      this.copies.set(instanceArn, copy);
    }
    copy.users += 1;
    try {
      return await use(await (await copy.db).serve());
    } finally {
      copy.users -= 1;
      if (copy.users === 0 && this.copies.get(instanceArn) === copy) this.drop(instanceArn);
    }
  }

  /** The instance was deleted (or its last session ended): its database closes, in the background. */
  drop(instanceArn: string): void {
    const copy = this.copies.get(instanceArn);
    this.copies.delete(instanceArn);
    if (!copy) return;
    this.closing.push(copy.db.then((db) => db.close()));
  }

  private refusing: Promise<Server> | undefined;

  /**
   * An address on loopback where every connection is dropped at once: what the probe reaches when the
   * database is not reachable from its network (a name outside the DR VPC, data=unreachable). Nothing ever
   * leaves the machine, and the probe fails at once rather than after its connect timeout.
   */
  async unreachable(): Promise<{ host: string; port: number }> {
    if (!this.refusing)
      this.refusing = new Promise<Server>((resolve, reject) => {
        const server = createServer((socket) => socket.destroy());
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve(server));
      });
    const server = await this.refusing;
    const address = server.address();
    const port = address && typeof address === 'object' ? address.port : 0;
    return { host: '127.0.0.1', port };
  }

  /** Stops every server and database (the sandbox is disposed): nothing keeps the process alive. */
  async closeAll(): Promise<void> {
    const all = [...this.copies.values()].map((copy) => copy.db);
    this.copies.clear();
    const refusing = this.refusing;
    this.refusing = undefined;
    const results = await Promise.allSettled([
      ...(refusing
        ? [refusing.then((server) => new Promise<void>((resolve) => server.close(() => resolve())))]
        : []),
      ...this.closing.splice(0),
      ...all.map(async (db) => (await db).close()),
    ]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw new DrillDatabaseError('a sandbox database did not close', { cause: failed.reason });
  }
}

async function restoreCopy(
  from: RestoredFrom,
  backupTimes: readonly number[],
  fault: RestoreFault | undefined,
): Promise<SimulatedPostgres> {
  const held = [...new Set(backupTimes)].filter((t) => t <= from.createdAt).sort((a, b) => a - b);
  const first = held[0] ?? from.createdAt;
  const gap = SEEDED_DATA_GAP_SECONDS * 1000;
  const db = await SimulatedPostgres.fromTemplate();
  try {
    await db.seed({
      table: SEEDED_TABLE,
      rows: SEEDED_ROWS,
      newestAt: new Date(first - gap),
      spacingSeconds: SEEDED_SPACING_SECONDS,
    });
    await db.insertRows(
      SEEDED_TABLE,
      held.filter((t) => t > first).map((t) => new Date(t - gap)),
    );
    if (fault) await db.damageAsOf(fault, new Date(from.createdAt));
    return db;
  } catch (error) {
    await db.close();
    throw new DrillDatabaseError('could not restore a drill copy', { cause: error });
  }
}
