import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { dynamo } from './clients.js';
import { config } from './config.js';
import type { DrillMode } from './drill.js';
import { UnexpectedRecord } from './errors.js';
import { logger } from './observability.js';

/**
 * One drill per source recovery point and mode: a `CLAIM#<mode>#<recovery point ARN>` item in the state table,
 * taken with a conditional write before anything is started. Every trigger goes through it — the backup
 * event, the backup plan's own copy into the DR vault (its source recovery point), a redelivery under any
 * event id, a manual start, a schedule — so whichever comes second finds the first one's drill.
 */
const Claim = z.object({
  pk: z.string(),
  drillId: z.string().min(1),
  status: z.enum(['RUNNING', 'FINISHED']),
  claimedAt: z.string(),
  finishedAt: z.string().optional(),
});
export type Claim = z.infer<typeof Claim>;

export type ClaimResult = { taken: true; previous?: Claim } | { taken: false; holder: Claim };

const TTL_DAYS = 90;

export function claimKey(recoveryPointArn: string, mode: DrillMode): string {
  return `CLAIM#${mode}#${recoveryPointArn}`;
}

function parseClaim(item: unknown, key: string): Claim {
  const parsed = Claim.safeParse(item);
  if (!parsed.success)
    throw new UnexpectedRecord(`state item ${key} is not a claim: ${parsed.error.message}`);
  return parsed.data;
}

export async function readClaim(recoveryPointArn: string, mode: DrillMode): Promise<Claim | undefined> {
  const key = claimKey(recoveryPointArn, mode);
  const result = await dynamo().send(
    new GetCommand({ TableName: config.STATE_TABLE, Key: { pk: key }, ConsistentRead: true }),
  );
  return result.Item ? parseClaim(result.Item, key) : undefined;
}

/**
 * Claims the recovery point for `drillId`. Succeeds when nobody holds it, when this drill already holds it
 * (a retried task, or intake's claim seen by the drill it started), when `replace` names the holder that may
 * be replaced, or — with `afterFinished` — when the last drill of it has finished (a manual re-drill).
 */
export async function claimRecoveryPoint(
  drillId: string,
  recoveryPointArn: string,
  mode: DrillMode,
  options: { afterFinished?: boolean; replace?: string } = {},
): Promise<ClaimResult> {
  const key = claimKey(recoveryPointArn, mode);
  const conditions = ['attribute_not_exists(pk)', 'drillId = :me'];
  const values: Record<string, string> = { ':me': drillId };
  if (options.afterFinished) {
    conditions.push('#status = :finished');
    values[':finished'] = 'FINISHED';
  }
  if (options.replace) {
    conditions.push('drillId = :replace');
    values[':replace'] = options.replace;
  }
  try {
    const put = await dynamo().send(
      new PutCommand({
        TableName: config.STATE_TABLE,
        Item: {
          pk: key,
          drillId,
          status: 'RUNNING',
          claimedAt: new Date().toISOString(),
          recoveryPointArn,
          mode,
          expiresAt: Math.floor(Date.now() / 1000) + TTL_DAYS * 86400,
        },
        ConditionExpression: conditions.join(' OR '),
        ExpressionAttributeNames: options.afterFinished ? { '#status': 'status' } : undefined,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_OLD',
      }),
    );
    const previous = put.Attributes ? parseClaim(put.Attributes, key) : undefined;
    return { taken: true, previous: previous?.drillId === drillId ? undefined : previous };
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const holder = await readClaim(recoveryPointArn, mode);
    // Released between the two calls: the caller may simply try again.
    if (!holder) return claimRecoveryPoint(drillId, recoveryPointArn, mode, options);
    return { taken: false, holder };
  }
}

/**
 * The drill has ended (evidence recorded): a manual re-drill of the recovery point is now allowed, and the
 * drill's place among the open drills (if it held one) goes back.
 */
export async function finishClaim(drillId: string, recoveryPointArn: string, mode: DrillMode): Promise<void> {
  await giveBackOpenDrillPlace(drillId);
  try {
    await dynamo().send(
      new UpdateCommand({
        TableName: config.STATE_TABLE,
        Key: { pk: claimKey(recoveryPointArn, mode) },
        UpdateExpression: 'SET #status = :finished, finishedAt = :now',
        ConditionExpression: 'drillId = :me',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':finished': 'FINISHED',
          ':me': drillId,
          ':now': new Date().toISOString(),
        },
      }),
    );
  } catch (error) {
    // Not ours (the drill failed before it claimed, or a later re-drill holds it now): nothing to finish.
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}

/**
 * The cap on open drills (MAX_OPEN_DRILLS, param maxOpenDrills): one `OPEN_DRILLS` item whose `drills` map
 * holds, for every drill intake or the reconciler started, when it took its place. A place is taken before the
 * claim and the start, and given back when the drill has ended (finishClaim, after teardown and evidence).
 *
 * Why one conditional item and not a count of the RUNNING claims: a count (a Scan of CLAIM# items, or a Query
 * of a sparse index, which is eventually consistent) is read before the start, so ten concurrent intakes would
 * all see room and overshoot the cap; a conditional update of one item (`size(drills) < :limit`) holds the cap
 * under any concurrency, in one write. A map keyed by drill id (not a number) makes a take idempotent (a
 * redelivered event or a retried intake finds its own place) and says which drills hold places, so the
 * reconciler can free the place of a drill that ended without giving it back (stopped, timed out, its evidence
 * step failed, or an intake that crashed before it started the execution). Cost: ~70 bytes per open drill, so
 * at 1000 open drills a take or give-back writes a ~70 KB item (~70 write units: a fraction of a cent per
 * thousand backups); MAX_OPEN_DRILLS is at most 5000 to stay well under DynamoDB's 400 KB item limit.
 */
const OPEN_DRILLS_KEY = 'OPEN_DRILLS';
const OpenDrills = z.object({
  pk: z.literal(OPEN_DRILLS_KEY),
  drills: z.record(z.string(), z.iso.datetime({ offset: true })).optional(),
});

export type OpenDrillPlace = { taken: true } | { taken: false; open: number };

async function readOpenDrills(): Promise<Record<string, string> | undefined> {
  const result = await dynamo().send(
    new GetCommand({ TableName: config.STATE_TABLE, Key: { pk: OPEN_DRILLS_KEY }, ConsistentRead: true }),
  );
  if (!result?.Item) return undefined;
  const parsed = OpenDrills.safeParse(result.Item);
  if (!parsed.success)
    throw new UnexpectedRecord(`state item ${OPEN_DRILLS_KEY} is malformed: ${parsed.error.message}`);
  return parsed.data.drills;
}

/** Creates the item with an empty map unless it has one (a nested SET needs the map to exist). */
async function createOpenDrills(): Promise<void> {
  try {
    await dynamo().send(
      new PutCommand({
        TableName: config.STATE_TABLE,
        Item: { pk: OPEN_DRILLS_KEY, drills: {} },
        ConditionExpression: 'attribute_not_exists(drills)',
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}

/**
 * Takes a place for `drillId` among the open drills, if fewer than MAX_OPEN_DRILLS are open (or it already
 * holds one: its time is renewed, so the reconciler does not free a place an intake retry is about to use).
 */
export async function takeOpenDrillPlace(drillId: string): Promise<OpenDrillPlace> {
  for (let attempt = 0; ; attempt++) {
    try {
      await dynamo().send(
        new UpdateCommand({
          TableName: config.STATE_TABLE,
          Key: { pk: OPEN_DRILLS_KEY },
          UpdateExpression: 'SET drills.#id = :now',
          ConditionExpression: 'attribute_exists(drills.#id) OR size(drills) < :limit',
          ExpressionAttributeNames: { '#id': drillId },
          ExpressionAttributeValues: { ':now': new Date().toISOString(), ':limit': config.MAX_OPEN_DRILLS },
        }),
      );
      return { taken: true };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const drills = await readOpenDrills();
      // The first take of a deployment (or after the item was deleted): create the map, then take again.
      if (drills === undefined && attempt === 0) {
        await createOpenDrills();
        continue;
      }
      return { taken: false, open: Object.keys(drills ?? {}).length };
    }
  }
}

/** Gives the drill's place back (idempotent; nothing happens for a drill that never held one). */
export async function giveBackOpenDrillPlace(drillId: string): Promise<void> {
  try {
    await dynamo().send(
      new UpdateCommand({
        TableName: config.STATE_TABLE,
        Key: { pk: OPEN_DRILLS_KEY },
        UpdateExpression: 'REMOVE drills.#id',
        ConditionExpression: 'attribute_exists(drills.#id)',
        ExpressionAttributeNames: { '#id': drillId },
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
  }
}

/**
 * A place is only judged once it is older than this: between taking it and StartExecution (an intake, at most
 * its 60 s timeout; a retry renews it) the drill's execution does not exist yet.
 */
const PLACE_GRACE_MS = 15 * 60_000;
/** Places checked per reconciler run, oldest first: within DescribeExecution's burst quota. */
const PLACES_CHECKED_PER_RUN = 200;

/**
 * The reconciler's part: frees the places of drills whose execution is no longer running (and never gave its
 * place back). Returns how many drills hold a place afterwards and how many places were freed.
 */
export async function freeEndedOpenDrills(
  isRunning: (drillId: string) => Promise<boolean>,
): Promise<{ open: number; freed: number }> {
  const drills = Object.entries((await readOpenDrills()) ?? {});
  const old = drills
    .filter(([, heldAt]) => Date.now() - Date.parse(heldAt) > PLACE_GRACE_MS)
    .sort(([, a], [, b]) => a.localeCompare(b))
    .slice(0, PLACES_CHECKED_PER_RUN);
  let freed = 0;
  for (const [drillId, heldAt] of old) {
    if (await isRunning(drillId)) continue;
    try {
      await dynamo().send(
        new UpdateCommand({
          TableName: config.STATE_TABLE,
          Key: { pk: OPEN_DRILLS_KEY },
          UpdateExpression: 'REMOVE drills.#id',
          // Unless an intake retry renewed it since it was read.
          ConditionExpression: 'drills.#id = :heldAt',
          ExpressionAttributeNames: { '#id': drillId },
          ExpressionAttributeValues: { ':heldAt': heldAt },
        }),
      );
      freed += 1;
      logger.warn('freed the open-drill place of a drill that ended without giving it back', {
        endedDrillId: drillId,
        heldAt,
      });
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
  return { open: drills.length - freed, freed };
}
