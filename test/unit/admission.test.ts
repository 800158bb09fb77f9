import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DescribeExecutionCommand,
  ExecutionDoesNotExist,
  SendTaskSuccessCommand,
  SFNClient,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { DeleteCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { acquire } from '../../functions/acquire-slot.js';
import {
  estimateDrill,
  ORDER_WINDOW_SECONDS,
  poolOf,
  queueKey,
  reconcileSlots,
} from '../../functions/lib/admission.js';
import { UnexpectedRecord } from '../../functions/lib/errors.js';
import { release } from '../../functions/release-slots.js';
import { DRILL_ID, dynamo, rdsDrill } from './support.js';

const sfn = mockClient(SFNClient);

const NOW = new Date('2026-01-05T03:00:00.000Z');
const TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAslot-token';
const COPY_POOL = 'copy#111111111111#us-west-2';
const RESTORE_POOL = 'restore#333333333333#us-west-2#RDS';
const HOLD = 'ADD holders :me SET #limit = :limit, updatedAt = :now';
const DROP = 'DELETE holders :me SET updatedAt = :now';
const EXECUTION_PREFIX = 'arn:aws:states:us-east-2:222222222222:execution:pilotlight-test-drill:';

function conditionFailed(): ConditionalCheckFailedException {
  return new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
}

/** A drill waiting in a pool's queue, as acquireSlot writes it. */
function waiter(drillId: string, queuedAt: string, pool = RESTORE_POOL, limit = 20) {
  return {
    pk: `WAIT#${pool}#${drillId}`,
    queue: pool,
    queuedAt: `${queuedAt}#${drillId}`,
    drillId,
    taskToken: `token-${drillId}`,
    limit,
    expiresAt: 1_800_000_000,
  };
}

function admittedTokens(): string[] {
  return sfn.commandCalls(SendTaskSuccessCommand).map((call) => call.args[0].input.taskToken ?? '');
}

function outputOf(index: number): Record<string, unknown> {
  return JSON.parse(sfn.commandCalls(SendTaskSuccessCommand)[index]?.args[0].input.output ?? 'null');
}

function droppedHolders(): string[] {
  return dynamo
    .commandCalls(UpdateCommand)
    .map((call) => call.args[0].input)
    .filter((input) => input.UpdateExpression === DROP)
    .flatMap((input) => [...((input.ExpressionAttributeValues?.[':me'] as Set<string>) ?? [])]);
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
  sfn.reset();
  dynamo.reset();
  dynamo.on(UpdateCommand).resolves({});
  dynamo.on(PutCommand).resolves({});
  dynamo.on(DeleteCommand).resolves({});
  dynamo.on(QueryCommand).resolves({ Items: [] });
  sfn.on(SendTaskSuccessCommand).resolves({});
});

afterEach(() => {
  vi.useRealTimers();
});

describe('poolOf', () => {
  it('pools copies per source account and DR region, restores per DR account, region and resource type', () => {
    // Prepare
    const drill = rdsDrill();

    // Act
    const copy = poolOf('copy', drill);
    const restore = poolOf('restore', drill);
    const ebs = poolOf('restore', rdsDrill({ source: { ...drill.source, resourceType: 'EBS' } }));

    // Assess
    expect(copy).toEqual({ id: COPY_POOL, limit: 5 });
    expect(restore).toEqual({ id: RESTORE_POOL, limit: 20 });
    expect(ebs).toEqual({ id: 'restore#333333333333#us-west-2#EBS', limit: 10 });
  });
});

describe('acquire', () => {
  it('admits the drill at once when its pool has room, with a conditional add to the holders', async () => {
    // Prepare
    const drill = rdsDrill();

    // Act
    const result = await acquire({ drill, pool: 'copy', taskToken: TOKEN });

    // Assess
    expect(result).toEqual({ result: 'admitted' });
    expect(dynamo).toHaveReceivedCommandExactlyOnceWith(UpdateCommand, {
      TableName: 'pilotlight-test-state',
      Key: { pk: `SLOT#${COPY_POOL}` },
      UpdateExpression: HOLD,
      ConditionExpression:
        'attribute_not_exists(holders) OR size(holders) < :limit OR contains(holders, :id)',
      ExpressionAttributeValues: {
        ':me': new Set([DRILL_ID]),
        ':id': DRILL_ID,
        ':limit': 5,
        ':now': NOW.toISOString(),
      },
    });
    expect(admittedTokens()).toEqual([TOKEN]);
    expect(outputOf(0)).toEqual({ pool: COPY_POOL, queuedSeconds: 0, admittedAt: NOW.toISOString() });
    expect(dynamo).not.toHaveReceivedCommand(PutCommand);
  });

  it('queues the drill, with its task token, when its pool is full, and does not resume it', async () => {
    // Prepare
    dynamo.on(UpdateCommand, { UpdateExpression: HOLD }).rejects(conditionFailed());

    // Act
    const result = await acquire({ drill: rdsDrill(), pool: 'restore', taskToken: TOKEN });

    // Assess
    expect(result).toEqual({ result: 'queued' });
    expect(dynamo).toHaveReceivedCommandWith(UpdateCommand, {
      Key: { pk: `SLOT#${RESTORE_POOL}` },
      ExpressionAttributeValues: expect.objectContaining({ ':limit': 20 }),
    });
    expect(dynamo).toHaveReceivedCommandExactlyOnceWith(PutCommand, {
      Item: expect.objectContaining({
        pk: `WAIT#${RESTORE_POOL}#${DRILL_ID}`,
        queue: RESTORE_POOL,
        // No estimate (a drill prepared before estimates): last in its window.
        queuedAt: `${NOW.toISOString()}#99999999#${NOW.toISOString()}#${DRILL_ID}`,
        since: NOW.toISOString(),
        drillId: DRILL_ID,
        taskToken: TOKEN,
        limit: 20,
      }),
    });
    expect(dynamo).toHaveReceivedCommandWith(QueryCommand, {
      IndexName: 'byQueue',
      ExpressionAttributeValues: { ':pool': RESTORE_POOL },
      ScanIndexForward: true,
    });
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });

  it('ranks a queued drill by what it still has to do: the copy and the restore, or the restore', async () => {
    // Prepare
    dynamo.on(UpdateCommand, { UpdateExpression: HOLD }).rejects(conditionFailed());
    const drill = rdsDrill({ estimate: { copySeconds: 600, restoreSeconds: 3300 } });

    // Act
    await acquire({ drill, pool: 'copy', taskToken: TOKEN });
    await acquire({ drill, pool: 'restore', taskToken: TOKEN });

    // Assess: 99 999 999 minus the expected seconds, so that ascending order puts the longest first.
    const keys = dynamo.commandCalls(PutCommand).map((call) => call.args[0].input.Item?.queuedAt);
    expect(keys).toEqual([
      `${NOW.toISOString()}#99996099#${NOW.toISOString()}#${DRILL_ID}`,
      `${NOW.toISOString()}#99996699#${NOW.toISOString()}#${DRILL_ID}`,
    ]);
  });

  it('admits itself from the queue when a slot was freed between the full pool and its queue entry', async () => {
    // Prepare
    dynamo.on(UpdateCommand, { UpdateExpression: HOLD }).rejectsOnce(conditionFailed()).resolves({});
    dynamo
      .on(QueryCommand)
      .resolvesOnce({ Items: [waiter(DRILL_ID, NOW.toISOString())] })
      .resolves({ Items: [] });

    // Act
    const result = await acquire({ drill: rdsDrill(), pool: 'restore', taskToken: `token-${DRILL_ID}` });

    // Assess
    expect(result).toEqual({ result: 'queued' });
    expect(admittedTokens()).toEqual([`token-${DRILL_ID}`]);
    expect(dynamo).toHaveReceivedCommandWith(DeleteCommand, {
      Key: { pk: `WAIT#${RESTORE_POOL}#${DRILL_ID}` },
      ConditionExpression: 'attribute_exists(pk)',
    });
  });

  it('fails, queueing nothing, when the slot cannot be read for a reason other than a full pool', async () => {
    // Prepare
    dynamo.on(UpdateCommand, { UpdateExpression: HOLD }).rejects(new Error('ProvisionedThroughputExceeded'));

    // Act
    const acquiring = acquire({ drill: rdsDrill(), pool: 'copy', taskToken: TOKEN });

    // Assess
    await expect(acquiring).rejects.toThrow('ProvisionedThroughputExceeded');
    expect(dynamo).not.toHaveReceivedCommand(PutCommand);
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });
});

describe('queueKey', () => {
  it('orders by five-minute window, then longest expected first, then queue time and drill id', () => {
    // Prepare: queued 03:00:10, 03:04:50 (same window) and 03:05:00 (the next one).
    const at = (time: string) => new Date(`2026-01-05T${time}.000Z`);
    const keys = {
      shortFirst: queueKey(at('03:00:10'), 600, 'ebs-1'),
      longLater: queueKey(at('03:04:50'), 7200, 'fsx-1'),
      sameShortLater: queueKey(at('03:04:50'), 600, 'ebs-2'),
      longestNextWindow: queueKey(at('03:05:00'), 99_000, 'redshift-1'),
      beyondRank: queueKey(at('03:00:20'), 1e12, 'huge'),
    };

    // Act
    const order = Object.entries(keys)
      .sort(([, a], [, b]) => a.localeCompare(b))
      .map(([name]) => name);

    // Assess
    expect(order).toEqual(['beyondRank', 'longLater', 'shortFirst', 'sameShortLater', 'longestNextWindow']);
    expect(keys.longLater).toBe('2026-01-05T03:00:00.000Z#99992799#2026-01-05T03:04:50.000Z#fsx-1');
    expect(ORDER_WINDOW_SECONDS).toBe(300);
  });

  it('estimates the copy from the size and the restore from the type, sizes unknown counting as 0 GiB', () => {
    const typical = { seconds: 3600, perGiBSeconds: 1.5 };
    expect(estimateDrill(200 * 2 ** 30, typical)).toEqual({ copySeconds: 850, restoreSeconds: 3900 });
    expect(estimateDrill(undefined, typical)).toEqual({ copySeconds: 300, restoreSeconds: 3600 });
  });
});

describe('release', () => {
  it('tells the admitted drill how long it queued, from the time it was queued (not its window)', async () => {
    // Prepare: queued at 02:57:30, in the 02:55 window.
    const since = new Date('2026-01-05T02:57:30.000Z');
    const queued = {
      ...waiter('rds-queued', ''),
      queuedAt: queueKey(since, 3300, 'rds-queued'),
      since: since.toISOString(),
    };
    dynamo
      .on(QueryCommand)
      .resolvesOnce({ Items: [queued] })
      .resolves({ Items: [] });

    // Act
    await release({ drill: rdsDrill(), pools: ['restore'] });

    // Assess
    expect(outputOf(0)).toEqual({ pool: RESTORE_POOL, queuedSeconds: 150, admittedAt: NOW.toISOString() });
  });

  it('gives back the slot, drops its own queue entry, and admits the oldest waiter', async () => {
    // Prepare: two waiters, room for one (the pool is full again after the first).
    const oldest = waiter('rds-oldest', '2026-01-05T02:50:00.000Z');
    const younger = waiter('rds-younger', '2026-01-05T02:55:00.000Z');
    dynamo.on(QueryCommand).resolves({ Items: [oldest, younger] });
    dynamo.on(UpdateCommand, { UpdateExpression: HOLD }).resolvesOnce({}).rejects(conditionFailed());

    // Act
    const result = await release({ drill: rdsDrill(), pools: ['restore'] });

    // Assess
    expect(result).toEqual({ admitted: 1 });
    expect(droppedHolders()).toEqual([DRILL_ID]);
    expect(dynamo).toHaveReceivedCommandWith(DeleteCommand, {
      Key: { pk: `WAIT#${RESTORE_POOL}#${DRILL_ID}` },
    });
    expect(admittedTokens()).toEqual(['token-rds-oldest']);
    expect(outputOf(0)).toEqual({ pool: RESTORE_POOL, queuedSeconds: 600, admittedAt: NOW.toISOString() });
    expect(dynamo).toHaveReceivedCommandWith(UpdateCommand, {
      UpdateExpression: HOLD,
      ExpressionAttributeValues: expect.objectContaining({ ':id': 'rds-oldest' }),
    });
    // The younger one found the pool full again and went back to its place in the queue.
    expect(dynamo).toHaveReceivedCommandWith(PutCommand, {
      Item: expect.objectContaining({
        pk: younger.pk,
        queuedAt: younger.queuedAt,
        taskToken: 'token-rds-younger',
      }),
    });
  });

  it('gives the slot of a waiter whose execution already ended (token timed out) to the next waiter', async () => {
    // Prepare
    const ended = waiter('rds-ended', '2026-01-05T02:50:00.000Z');
    const next = waiter('rds-next', '2026-01-05T02:55:00.000Z');
    dynamo
      .on(QueryCommand)
      .resolvesOnce({ Items: [ended, next] })
      .resolves({ Items: [] });
    sfn
      .on(SendTaskSuccessCommand, { taskToken: 'token-rds-ended' })
      .rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} }));

    // Act
    const result = await release({ drill: rdsDrill(), pools: ['restore'] });

    // Assess
    expect(result).toEqual({ admitted: 1 });
    expect(admittedTokens()).toEqual(['token-rds-ended', 'token-rds-next']);
    expect(droppedHolders()).toEqual([DRILL_ID, 'rds-ended']);
    expect(dynamo).not.toHaveReceivedCommand(PutCommand);
  });

  it('puts a waiter back and fails when Step Functions cannot resume it for another reason', async () => {
    // Prepare
    const first = waiter('rds-first', '2026-01-05T02:50:00.000Z');
    dynamo.on(QueryCommand).resolves({ Items: [first] });
    sfn.on(SendTaskSuccessCommand).rejects(new Error('Rate exceeded'));

    // Act
    const releasing = release({ drill: rdsDrill(), pools: ['restore'] });

    // Assess
    await expect(releasing).rejects.toThrow('Rate exceeded');
    expect(droppedHolders()).toEqual([DRILL_ID, 'rds-first']);
    expect(dynamo).toHaveReceivedCommandWith(PutCommand, { Item: expect.objectContaining({ pk: first.pk }) });
  });

  it('admits nobody when another releaser claimed the waiter first', async () => {
    // Prepare
    const first = waiter('rds-first', '2026-01-05T02:50:00.000Z');
    dynamo.on(QueryCommand).resolves({ Items: [first] });
    dynamo.on(DeleteCommand, { Key: { pk: first.pk } }).rejects(conditionFailed());

    // Act
    const result = await release({ drill: rdsDrill(), pools: ['restore'] });

    // Assess
    expect(result).toEqual({ admitted: 0 });
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
    expect(dynamo).not.toHaveReceivedCommandWith(UpdateCommand, { UpdateExpression: HOLD });
  });

  it('releases every pool it is given', async () => {
    // Prepare
    const drill = rdsDrill();

    // Act
    await release({ drill, pools: ['copy', 'restore'] });

    // Assess
    expect(dynamo).toHaveReceivedCommandWith(UpdateCommand, {
      Key: { pk: `SLOT#${COPY_POOL}` },
      UpdateExpression: DROP,
    });
    expect(dynamo).toHaveReceivedCommandWith(UpdateCommand, {
      Key: { pk: `SLOT#${RESTORE_POOL}` },
      UpdateExpression: DROP,
    });
  });
});

describe('reconcileSlots', () => {
  it('frees the slots of drills whose execution is not RUNNING, and admits waiters into the room', async () => {
    // Prepare
    dynamo.on(ScanCommand).resolves({
      Items: [
        {
          pk: `SLOT#${RESTORE_POOL}`,
          holders: new Set(['rds-running', 'rds-failed', 'rds-purged']),
          limit: 20,
        },
        waiter('rds-waiting', '2026-01-05T02:59:00.000Z'),
      ],
    });
    sfn
      .on(DescribeExecutionCommand, { executionArn: `${EXECUTION_PREFIX}rds-running` })
      .resolves({ status: 'RUNNING' });
    sfn
      .on(DescribeExecutionCommand, { executionArn: `${EXECUTION_PREFIX}rds-failed` })
      .resolves({ status: 'FAILED' });
    sfn
      .on(DescribeExecutionCommand, { executionArn: `${EXECUTION_PREFIX}rds-purged` })
      .rejects(new ExecutionDoesNotExist({ message: 'Execution does not exist', $metadata: {} }));
    dynamo
      .on(QueryCommand)
      .resolvesOnce({ Items: [waiter('rds-waiting', '2026-01-05T02:59:00.000Z')] })
      .resolves({ Items: [] });

    // Act
    const result = await reconcileSlots();

    // Assess
    expect(result).toEqual({ freed: 2, admitted: 1 });
    expect(droppedHolders()).toEqual(['rds-failed', 'rds-purged']);
    expect(admittedTokens()).toEqual(['token-rds-waiting']);
    expect(dynamo).toHaveReceivedCommandWith(ScanCommand, {
      FilterExpression: 'begins_with(pk, :slot) OR begins_with(pk, :wait)',
      ExpressionAttributeValues: { ':slot': 'SLOT#', ':wait': 'WAIT#' },
    });
  });

  it('reads every page of slots and waiters', async () => {
    // Prepare
    dynamo
      .on(ScanCommand)
      .resolvesOnce({
        Items: [{ pk: `SLOT#${COPY_POOL}`, holders: new Set(['rds-gone']), limit: 5 }],
        LastEvaluatedKey: { pk: `SLOT#${COPY_POOL}` },
      })
      .resolvesOnce({
        Items: [{ pk: `SLOT#${RESTORE_POOL}`, holders: new Set(['rds-gone-too']), limit: 20 }],
      });
    sfn.on(DescribeExecutionCommand).resolves({ status: 'SUCCEEDED' });

    // Act
    const result = await reconcileSlots();

    // Assess
    expect(result).toEqual({ freed: 2, admitted: 0 });
    expect(dynamo).toHaveReceivedNthCommandWith(ScanCommand, 2, {
      ExclusiveStartKey: { pk: `SLOT#${COPY_POOL}` },
    });
    expect(dynamo).toHaveReceivedCommandWith(QueryCommand, {
      ExpressionAttributeValues: { ':pool': COPY_POOL },
    });
    expect(dynamo).toHaveReceivedCommandWith(QueryCommand, {
      ExpressionAttributeValues: { ':pool': RESTORE_POOL },
    });
  });

  it('fails with UnexpectedRecord on a slot item it did not write', async () => {
    // Prepare
    dynamo.on(ScanCommand).resolves({ Items: [{ pk: `SLOT#${RESTORE_POOL}`, holders: ['not-a-set'] }] });

    // Act
    const reconciling = reconcileSlots();

    // Assess
    await expect(reconciling).rejects.toBeInstanceOf(UnexpectedRecord);
    expect(sfn).not.toHaveReceivedAnyCommand();
  });
});
