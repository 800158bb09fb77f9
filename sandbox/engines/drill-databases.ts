import {
  type PostgresEndpoint,
  type PostgresSnapshot,
  type RestoreFault,
  SimulatedPostgres,
} from './postgres.js';

/**
 * The real PostgreSQL data behind the sandbox's RDS instances (docs/validation.md, "Integration seam"): the
 * production database each RDS source resource holds, its state at each recovery point, and the drill copies
 * restores make of them, served on loopback for the probe.
 *
 * Nothing starts until a drill copy is needed (the first check that connects): sandboxes whose drills never
 * reach the data pay nothing. Measured here: ~2.4 s to start a PGlite instance, ~0.6 s to snapshot one. A
 * source is started once per source resource and kept for the run (each later recovery point adds a row and
 * snapshots again); each restored instance gets its own copy, closed when the instance is deleted.
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

interface Source {
  db: SimulatedPostgres;
  /** Snapshots by recovery point creation time (ms). */
  snapshots: Map<number, Promise<PostgresSnapshot>>;
  /** Serialises work on the source: PGlite runs one statement at a time anyway. */
  queue: Promise<unknown>;
}

export class DrillDatabases {
  private readonly sources = new Map<string, Promise<Source>>();
  private readonly copies = new Map<string, Promise<SimulatedPostgres>>();
  /** PGlite instances started in this run (sources and copies), for the cost report and tests. */
  started = 0;

  /** What the source resource held at the recovery point's creation time `createdAt` (ms). */
  private snapshotOf(sourceArn: string, createdAt: number): Promise<PostgresSnapshot> {
    let source = this.sources.get(sourceArn);
    if (!source) {
      source = (async () => {
        this.started += 1;
        return { db: await SimulatedPostgres.create(), snapshots: new Map(), queue: Promise.resolve() };
      })();
      this.sources.set(sourceArn, source);
    }
    return source.then((s) => {
      const existing = s.snapshots.get(createdAt);
      if (existing) return existing;
      const newestAt = new Date(createdAt - SEEDED_DATA_GAP_SECONDS * 1000);
      const first = s.snapshots.size === 0;
      const made = s.queue.then(async () => {
        // The first backup finds the seeded history; each later one finds one more row, written
        // SEEDED_DATA_GAP_SECONDS before it (recovery points are taken in time order).
        if (first)
          await s.db.seed({
            table: SEEDED_TABLE,
            rows: SEEDED_ROWS,
            newestAt,
            spacingSeconds: SEEDED_SPACING_SECONDS,
          });
        else await s.db.insertRow(SEEDED_TABLE, newestAt);
        return s.db.snapshot(new Date(createdAt));
      });
      s.queue = made.catch(() => undefined);
      s.snapshots.set(createdAt, made);
      return made;
    });
  }

  /**
   * The restored instance's database, started on first use: a copy of the source at the recovery point,
   * damaged by the fault if any, served on 127.0.0.1.
   */
  endpoint(
    instanceArn: string,
    from: { sourceArn: string; createdAt: number },
    fault?: RestoreFault,
  ): Promise<PostgresEndpoint> {
    let copy = this.copies.get(instanceArn);
    if (!copy) {
      copy = this.snapshotOf(from.sourceArn, from.createdAt).then(async (snapshot) => {
        this.started += 1;
        return SimulatedPostgres.restore(snapshot, fault);
      });
      this.copies.set(instanceArn, copy);
    }
    return copy.then((db) => db.serve());
  }

  /**
   * The instance was deleted: its database goes with it (in the background: the API answers at once; a
   * failure to close is reported by closeAll).
   */
  drop(instanceArn: string): void {
    const copy = this.copies.get(instanceArn);
    this.copies.delete(instanceArn);
    if (!copy) return;
    this.closing.push(copy.then((db) => db.close()));
  }

  private readonly closing: Promise<void>[] = [];

  /** Stops every server and database (the sandbox is disposed): nothing keeps the process alive. */
  async closeAll(): Promise<void> {
    const all = [...this.copies.values(), ...[...this.sources.values()].map((s) => s.then((x) => x.db))];
    this.copies.clear();
    this.sources.clear();
    const results = await Promise.allSettled([
      ...this.closing.splice(0),
      ...all.map(async (db) => (await db).close()),
    ]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw new DrillDatabaseError('a sandbox database did not close', { cause: failed.reason });
  }
}
