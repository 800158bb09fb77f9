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
 * creation time (whatever order drills run in), damaged if a fault says so. Only copies are real databases,
 * made for each probe session on a pooled PGlite (sandboxes whose drills never reach the data start none),
 * each started from a shared initialised data directory (~0.7 s, not initdb's ~4 s).
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
  /** Databases no session uses, ready to hold the next copy. */
  private readonly idle: SimulatedPostgres[] = [];
  /** Databases a session uses now. */
  private readonly busy = new Set<SimulatedPostgres>();
  /** PGlite instances started in this run, for tests. */
  started = 0;
  /** Copies made (one per probe session), for tests. */
  copiesMade = 0;

  /**
   * Runs `use` with the restored instance's database served on 127.0.0.1: what the source held at the
   * recovery point (`backupTimes`: the creation times, ms, of the source's recovery points), damaged by the
   * fault if any. A copy is a pure function of those inputs and the probe only reads, so it is made for the
   * session, on a database of a small pool: a PGlite takes ~1 s to start and holds ~200 MB, filling one takes
   * milliseconds, so a burst of drills pays one start per concurrent session, not one per drill.
   */
  async session<T>(
    instanceArn: string,
    from: RestoredFrom,
    backupTimes: readonly number[],
    fault: RestoreFault | undefined,
    use: (endpoint: PostgresEndpoint) => Promise<T>,
  ): Promise<T> {
    const db = this.idle.pop() ?? (await this.start());
    this.busy.add(db);
    try {
      this.copiesMade += 1;
      await fillCopy(db, from, backupTimes, fault).catch((error: unknown) => {
        throw new DrillDatabaseError(`could not restore the drill copy of ${instanceArn}`, { cause: error });
      });
      return await use(await db.serve());
    } finally {
      this.busy.delete(db);
      // Emptied before it goes back: no copy's rows can ever be seen by another instance's probe.
      await db.reset().then(
        () => this.idle.push(db),
        () => db.close(),
      );
    }
  }

  private async start(): Promise<SimulatedPostgres> {
    this.started += 1;
    return SimulatedPostgres.fromTemplate();
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
    const all = [...this.idle.splice(0), ...this.busy];
    this.busy.clear();
    const refusing = this.refusing;
    this.refusing = undefined;
    const results = await Promise.allSettled([
      ...(refusing
        ? [refusing.then((server) => new Promise<void>((resolve) => server.close(() => resolve())))]
        : []),
      ...all.map((db) => db.close()),
    ]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw new DrillDatabaseError('a sandbox database did not close', { cause: failed.reason });
  }
}

async function fillCopy(
  db: SimulatedPostgres,
  from: RestoredFrom,
  backupTimes: readonly number[],
  fault: RestoreFault | undefined,
): Promise<void> {
  const held = [...new Set(backupTimes)].filter((t) => t <= from.createdAt).sort((a, b) => a - b);
  const first = held[0] ?? from.createdAt;
  const gap = SEEDED_DATA_GAP_SECONDS * 1000;
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
}
