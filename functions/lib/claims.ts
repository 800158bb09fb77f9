import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import { dynamo } from './clients.js';
import { config } from './config.js';
import type { DrillMode } from './drill.js';
import { UnexpectedRecord } from './errors.js';

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
  const result = await dynamo.send(
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
    const put = await dynamo.send(
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

/** The drill has ended (evidence recorded): a manual re-drill of the recovery point is now allowed. */
export async function finishClaim(drillId: string, recoveryPointArn: string, mode: DrillMode): Promise<void> {
  try {
    await dynamo.send(
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
