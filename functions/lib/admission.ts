import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { DeleteCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { dynamo, sfn } from './clients.js';
import { config, restoreLimit } from './config.js';
import type { Drill } from './drill.js';
import { UnexpectedRecord } from './errors.js';
import { executionStatus } from './executions.js';
import { logger } from './observability.js';

/**
 * Admission control: a counting semaphore per pool in the state table, with a FIFO queue of waiting drills.
 *
 * - `SLOT#<pool>` holds the set of drills that hold a slot (`holders`); a conditional update adds a drill only
 *   while the set is smaller than the pool's limit, so the limit holds under any concurrency.
 * - `WAIT#<pool>#<drillId>` is a drill waiting for a slot, with the task token its execution waits on. The
 *   sparse `byQueue` index (partition `queue`, sort `queuedAt`) gives the oldest waiter first: oldest by
 *   ORDER_WINDOW_SECONDS, and within one window the drill expected to hold its slots longest first (a burst of
 *   backups finishing together arrives within one window; see `queueKey`).
 * - Whoever frees a slot admits the oldest waiters while there is room: it claims the waiter item (a
 *   conditional delete, so two releasers never admit the same drill), adds it to the holders, and resumes its
 *   execution with SendTaskSuccess. A waiting drill costs no retries and no state transitions.
 * - The reconciler is the safety net: it frees slots whose drill is no longer running and admits waiters
 *   that a lagging index (the index is eventually consistent) or a failed release left behind.
 *
 * Hand-written because no maintained library offers a DynamoDB semaphore that resumes Step Functions task
 * tokens; it is three conditional writes.
 */
export type PoolKind = 'copy' | 'restore';

export interface Pool {
  id: string;
  limit: number;
}

export function poolOf(kind: PoolKind, drill: Drill): Pool {
  if (kind === 'restore') {
    return {
      id: `restore#${drill.target.account}#${drill.target.region}#${drill.source.resourceType}`,
      limit: restoreLimit(drill.source.resourceType),
    };
  }
  return { id: `copy#${drill.source.account}#${drill.target.region}`, limit: config.COPY_CONCURRENCY };
}

const QUEUE_INDEX = 'byQueue';

/**
 * Drills queued within the same window are one arrival: AWS Backup delivers its job events in batches about
 * every five minutes, so backups that finished together reach the queue within one window. Across windows the
 * queue is strictly oldest first, so no drill waits behind one queued more than a window after it.
 */
export const ORDER_WINDOW_SECONDS = 300;

/**
 * The cross-region copy's expected duration: a fixed part plus a part per GiB (AWS Backup publishes no
 * figures; these are the sandbox's model, sandbox/aws/backup.ts). Only the order among drills queued in one
 * window depends on it.
 */
const COPY_SECONDS = 300;
const COPY_SECONDS_PER_GIB = 2.75;

/** How long a drill is expected to hold its copy slot and its restore slot (Drill.estimate). */
export function estimateDrill(
  sizeBytes: number | undefined,
  typicalRestore: { seconds: number; perGiBSeconds: number },
): { copySeconds: number; restoreSeconds: number } {
  const gib = Math.max(0, sizeBytes ?? 0) / 2 ** 30;
  return {
    copySeconds: Math.round(COPY_SECONDS + gib * COPY_SECONDS_PER_GIB),
    restoreSeconds: Math.round(typicalRestore.seconds + gib * typicalRestore.perGiBSeconds),
  };
}

/**
 * What a drill is still expected to take once admitted to a pool: after the copy slot, the copy and the
 * restore; after the restore slot, the restore. Drills without an estimate (prepared by an older version)
 * count as 0: last within their window.
 */
export function expectedSeconds(kind: PoolKind, drill: Drill): number {
  if (!drill.estimate) return 0;
  return kind === 'copy'
    ? drill.estimate.copySeconds + drill.estimate.restoreSeconds
    : drill.estimate.restoreSeconds;
}

const RANK_MAX = 99_999_999;

/**
 * The queue's sort key: the window the drill was queued in, then the longest expected drill first (its
 * complement, so that ascending order puts it first), then the queue time and the drill id (unique). Longest
 * first shortens a burst's drain: the long restores start while the copy pool is still busy, instead of the
 * last copy to finish being an hours-long restore (BENCHMARKS.md, Burst). `since` is the queue time itself.
 */
export function queueKey(since: Date, expected: number, drillId: string): string {
  const windowMs = ORDER_WINDOW_SECONDS * 1000;
  const window = new Date(Math.floor(since.getTime() / windowMs) * windowMs).toISOString();
  const rank = String(RANK_MAX - Math.min(RANK_MAX, Math.max(0, Math.round(expected)))).padStart(8, '0');
  return `${window}#${rank}#${since.toISOString()}#${drillId}`;
}

const TTL_DAYS = 30;
const ttl = () => Math.floor(Date.now() / 1000) + TTL_DAYS * 86400;

const Waiter = z.object({
  pk: z.string(),
  queue: z.string(),
  queuedAt: z.string(),
  /** When the drill was queued (absent on items queued before the windowed key: then queuedAt starts with it). */
  since: z.string().optional(),
  drillId: z.string(),
  taskToken: z.string(),
  limit: z.number().int().positive(),
});
type Waiter = z.infer<typeof Waiter>;

const SlotItem = z.object({
  pk: z.string(),
  holders: z.set(z.string()).optional(),
  limit: z.number().int().positive(),
});

/** What a waiting task receives when it is admitted. */
export interface Admission {
  pool: string;
  queuedSeconds: number;
  admittedAt: string;
}

/** Adds the drill to the pool's holders if there is room (or it already holds a slot). */
async function tryHold(pool: Pool, drillId: string): Promise<boolean> {
  try {
    await dynamo().send(
      new UpdateCommand({
        TableName: config.STATE_TABLE,
        Key: { pk: `SLOT#${pool.id}` },
        UpdateExpression: 'ADD holders :me SET #limit = :limit, updatedAt = :now',
        ConditionExpression:
          'attribute_not_exists(holders) OR size(holders) < :limit OR contains(holders, :id)',
        ExpressionAttributeNames: { '#limit': 'limit' },
        ExpressionAttributeValues: {
          ':me': new Set([drillId]),
          ':id': drillId,
          ':limit': pool.limit,
          ':now': new Date().toISOString(),
        },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

async function dropHolder(poolId: string, drillId: string): Promise<void> {
  await dynamo()
    .send(
      new UpdateCommand({
        TableName: config.STATE_TABLE,
        Key: { pk: `SLOT#${poolId}` },
        UpdateExpression: 'DELETE holders :me SET updatedAt = :now',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':me': new Set([drillId]), ':now': new Date().toISOString() },
      }),
    )
    .catch((error: unknown) => {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    });
}

function admission(pool: string, waiter: Waiter | undefined): Admission {
  const now = new Date();
  const queued = waiter ? (waiter.since ?? waiter.queuedAt.split('#')[0] ?? '') : '';
  const since = Date.parse(queued);
  return {
    pool,
    queuedSeconds: Number.isNaN(since) ? 0 : Math.max(0, Math.round((now.getTime() - since) / 1000)),
    admittedAt: now.toISOString(),
  };
}

/**
 * Asks for a slot for a drill whose execution waits on `taskToken`. Admitted at once when there is room
 * (the task token is resumed right away); otherwise queued, and resumed by whoever frees a slot.
 */
export async function acquireSlot(
  pool: Pool,
  drillId: string,
  taskToken: string,
  expected = 0,
): Promise<'admitted' | 'queued'> {
  if (await tryHold(pool, drillId)) {
    await sfn().send(
      new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(admission(pool.id, undefined)) }),
    );
    return 'admitted';
  }
  const now = new Date();
  await dynamo().send(
    new PutCommand({
      TableName: config.STATE_TABLE,
      Item: {
        pk: `WAIT#${pool.id}#${drillId}`,
        queue: pool.id,
        queuedAt: queueKey(now, expected, drillId),
        since: now.toISOString(),
        drillId,
        taskToken,
        limit: pool.limit,
        expiresAt: ttl(),
      },
    }),
  );
  logger.info('drill queued for a slot', { pool: pool.id, limit: pool.limit });
  // A slot may have been freed between the full pool and the queue entry: nobody would admit us then.
  await admitWaiting(pool);
  return 'queued';
}

/** Gives back the drill's slot in each pool (idempotent) and admits the drills waiting for them. */
export async function releaseSlot(pool: Pool, drillId: string): Promise<number> {
  await dropHolder(pool.id, drillId);
  // A drill that gave up waiting (its execution ended) must not be admitted later.
  await dynamo().send(
    new DeleteCommand({ TableName: config.STATE_TABLE, Key: { pk: `WAIT#${pool.id}#${drillId}` } }),
  );
  return admitWaiting(pool);
}

async function oldestWaiters(poolId: string): Promise<Waiter[]> {
  const page = await dynamo().send(
    new QueryCommand({
      TableName: config.STATE_TABLE,
      IndexName: QUEUE_INDEX,
      KeyConditionExpression: '#queue = :pool',
      ExpressionAttributeNames: { '#queue': 'queue' },
      ExpressionAttributeValues: { ':pool': poolId },
      ScanIndexForward: true,
      Limit: 10,
    }),
  );
  return (page.Items ?? []).map((item) => {
    const parsed = Waiter.safeParse(item);
    if (!parsed.success) throw new UnexpectedRecord(`queue item is malformed: ${parsed.error.message}`);
    return parsed.data;
  });
}

/** Admits the oldest waiting drills while the pool has room. Returns how many were admitted. */
export async function admitWaiting(pool: Pool): Promise<number> {
  let admitted = 0;
  for (;;) {
    const waiters = await oldestWaiters(pool.id);
    if (waiters.length === 0) return admitted;
    let progressed = false;
    for (const waiter of waiters) {
      // Claim the waiter; if another releaser got there first, it admits it.
      const claimed = await dynamo()
        .send(
          new DeleteCommand({
            TableName: config.STATE_TABLE,
            Key: { pk: waiter.pk },
            ConditionExpression: 'attribute_exists(pk)',
          }),
        )
        .then(
          () => true,
          (error: unknown) => {
            if (error instanceof ConditionalCheckFailedException) return false;
            throw error;
          },
        );
      if (!claimed) continue;
      progressed = true;
      if (!(await tryHold(pool, waiter.drillId))) {
        // Full again: the waiter goes back to its place in the queue (same sort key).
        await dynamo().send(
          new PutCommand({ TableName: config.STATE_TABLE, Item: { ...waiter, expiresAt: ttl() } }),
        );
        return admitted;
      }
      try {
        await sfn().send(
          new SendTaskSuccessCommand({
            taskToken: waiter.taskToken,
            output: JSON.stringify(admission(pool.id, waiter)),
          }),
        );
        admitted += 1;
        logger.info('drill admitted', { pool: pool.id, admittedDrillId: waiter.drillId });
      } catch (error) {
        await dropHolder(pool.id, waiter.drillId);
        if (
          error instanceof Error &&
          ['TaskTimedOut', 'InvalidToken', 'TaskDoesNotExist'].includes(error.name)
        ) {
          logger.info('a waiting drill had already ended; its slot goes to the next', {
            pool: pool.id,
            endedDrillId: waiter.drillId,
          });
          continue;
        }
        // Put the waiter back so the reconciler admits it later, and fail this call.
        await dynamo().send(
          new PutCommand({ TableName: config.STATE_TABLE, Item: { ...waiter, expiresAt: ttl() } }),
        );
        throw error;
      }
    }
    if (!progressed) return admitted;
  }
}

/**
 * The reconciler's part: frees slots held by drills that are no longer running (a release that never ran)
 * and admits waiters in every pool that has room. `isRunning` answers for a holder (the reconciler lists the
 * running drills once: functions/lib/executions.ts runningDrills). Returns the slots freed and the drills admitted.
 */
export async function reconcileSlots(
  isRunning: (drillId: string) => Promise<boolean> = async (drillId) =>
    (await executionStatus(drillId)) === 'RUNNING',
): Promise<{ freed: number; admitted: number }> {
  const pools = new Map<string, Pool>();
  let freed = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await dynamo().send(
      new ScanCommand({
        TableName: config.STATE_TABLE,
        FilterExpression: 'begins_with(pk, :slot) OR begins_with(pk, :wait)',
        ExpressionAttributeValues: { ':slot': 'SLOT#', ':wait': 'WAIT#' },
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) {
      const waiter = Waiter.safeParse(item);
      if (waiter.success) {
        pools.set(waiter.data.queue, { id: waiter.data.queue, limit: waiter.data.limit });
        continue;
      }
      const slot = SlotItem.safeParse(item);
      if (!slot.success) throw new UnexpectedRecord(`slot item is malformed: ${slot.error.message}`);
      const poolId = slot.data.pk.slice('SLOT#'.length);
      pools.set(poolId, { id: poolId, limit: slot.data.limit });
      for (const drillId of slot.data.holders ?? []) {
        if (await isRunning(drillId)) continue;
        await dropHolder(poolId, drillId);
        freed += 1;
        logger.warn('freed a slot its ended drill never released', { pool: poolId, endedDrillId: drillId });
      }
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  let admitted = 0;
  for (const pool of pools.values()) admitted += await admitWaiting(pool);
  return { freed, admitted };
}
