import { BackupClient, DescribeRecoveryPointCommand, ListBackupJobsCommand } from '@aws-sdk/client-backup';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { decide, fromUnknownAccount, handler, startDrill } from '../../functions/intake.js';
import { freeEndedOpenDrills } from '../../functions/lib/claims.js';
import type { DrillRequest } from '../../functions/lib/drill.js';
import { SourceAccountNotAllowed } from '../../functions/lib/errors.js';
import { prepareDrill } from '../../functions/prepare-drill.js';
import { reconcile } from '../../functions/reconcile.js';
import { dynamo, happenedBefore, lambdaContext, loadEvent } from './support.js';

/** Intake's allowlist of source accounts and its cap on open drills (MAX_OPEN_DRILLS 1000, vitest.config.ts). */
const sfn = mockClient(SFNClient);
const backup = mockClient(BackupClient);
const UNKNOWN = '444455556666';
const OPEN_DRILLS = { Key: { pk: 'OPEN_DRILLS' } };
const RDS_RECOVERY_POINT =
  'arn:aws:rds:us-east-2:111111111111:snapshot:awsbackup:job-4c1e9a2b-7d3f-4e8a-b5c6-0f1e2d3c4b5a';
const CLAIM_PK = `CLAIM#drill#${RDS_RECOVERY_POINT}`;

let stdout: string[] = [];

beforeEach(() => {
  sfn.reset();
  backup.reset();
  dynamo.reset();
  dynamo.on(GetCommand).resolves({});
  dynamo.on(PutCommand).resolves({});
  dynamo.on(UpdateCommand).resolves({});
  dynamo.on(ScanCommand).resolves({ Items: [] });
  dynamo.on(QueryCommand).resolves({ Items: [] });
  sfn
    .on(StartExecutionCommand)
    .resolves({ executionArn: 'arn:aws:states:us-east-2:222222222222:execution:x:y' });
  stdout = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(String(chunk));
    return true;
  });
});

afterEach(() => {
  vi.restoreAllMocks();
});

function conditionFailed(): ConditionalCheckFailedException {
  return new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
}

function fromAccount<T extends { account: string }>(event: T, account: string): T {
  return JSON.parse(JSON.stringify(event).replaceAll('111111111111', account)) as T;
}

/** The EMF metrics the handler printed, name → summed value. */
function emfMetrics(): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const line of stdout.flatMap((chunk) => chunk.split('\n')).filter((l) => l.includes('"_aws"'))) {
    const document = JSON.parse(line) as Record<string, unknown> & {
      _aws: { CloudWatchMetrics: { Metrics: { Name: string }[] }[] };
    };
    for (const metric of document._aws.CloudWatchMetrics.flatMap((group) => group.Metrics))
      sums[metric.Name] = (sums[metric.Name] ?? 0) + Number(document[metric.Name]);
  }
  return sums;
}

async function rdsRequest(): Promise<DrillRequest> {
  const decision = await decide(loadEvent('backup-job-completed-rds'));
  if (!('request' in decision)) throw new Error(decision.skip);
  return decision.request;
}

/** The OPEN_DRILLS item, full at the cap. */
function atTheCap() {
  dynamo.on(UpdateCommand, OPEN_DRILLS).rejects(conditionFailed());
  const drills = Object.fromEntries(
    Array.from({ length: 1000 }, (_, i) => [`drill-${i}`, '2026-01-05T01:00:00.000Z']),
  );
  dynamo.on(GetCommand, OPEN_DRILLS).resolves({ Item: { pk: 'OPEN_DRILLS', drills } });
}

describe('the allowlist of source accounts', () => {
  it.each([
    ['backup-job-completed-rds', 'Backup Job State Change'],
    ['copy-job-completed-dr-vault', 'Copy Job State Change'],
  ])('refuses a %s event from an account outside SOURCE_ACCOUNTS, naming it', (name, type) => {
    // Prepare
    const event = fromAccount(loadEvent(name), UNKNOWN);

    // Act
    const reason = fromUnknownAccount(event);

    // Assess
    expect(reason).toBe(
      `account ${UNKNOWN} is not a source account of this deployment (sourceAccounts: 111111111111): its "${type}" events are not drilled`,
    );
  });

  it('lets a configured source account through, and leaves other detail types to the other rules', () => {
    // Prepare
    const restore = fromAccount(loadEvent('restore-job-completed'), UNKNOWN);

    // Act, Assess
    expect(fromUnknownAccount(loadEvent('backup-job-completed-rds'))).toBeUndefined();
    expect(fromUnknownAccount(loadEvent('copy-job-completed-dr-vault'))).toBeUndefined();
    expect(fromUnknownAccount(restore)).toBeUndefined();
  });

  it('skips the event with the reason and an EventsFromUnknownAccounts metric, reading and starting nothing', async () => {
    // Prepare
    const event = fromAccount(loadEvent('copy-job-completed-dr-vault'), UNKNOWN);

    // Act
    const result = await handler(event, lambdaContext());

    // Assess
    expect(result).toEqual({
      started: [],
      skipped: [
        { eventId: event.id, reason: expect.stringContaining(`account ${UNKNOWN} is not a source account`) },
      ],
      rejected: [],
      deferred: [],
    });
    expect(emfMetrics()).toMatchObject({ EventsFromUnknownAccounts: 1 });
    expect(dynamo.calls()).toEqual([]);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('fails a manual drill of another account in PrepareDrill with SourceAccountNotAllowed, reading nothing', async () => {
    // Prepare
    const manual = loadEvent<{ source: Record<string, unknown> }>('manual-drill');
    const otherAccount = { ...manual, source: { ...manual.source, account: UNKNOWN } };
    const foreignPoint = {
      ...manual,
      source: { ...manual.source, recoveryPointArn: RDS_RECOVERY_POINT.replace('111111111111', UNKNOWN) },
    };
    const input = (request: unknown) => ({
      request,
      executionName: 'manual-1',
      startedAt: '2026-01-05T09:00:00Z',
    });

    // Act
    const refused = prepareDrill(input(otherAccount));
    const foreign = prepareDrill(input(foreignPoint));

    // Assess
    await expect(refused).rejects.toBeInstanceOf(SourceAccountNotAllowed);
    await expect(refused).rejects.toThrow(`account ${UNKNOWN} is not a source account of this deployment`);
    await expect(foreign).rejects.toThrow(
      `belongs to account ${UNKNOWN}, not the source account 111111111111`,
    );
    expect(backup).not.toHaveReceivedCommand(DescribeRecoveryPointCommand);
    expect(dynamo).not.toHaveReceivedCommand(PutCommand);
  });
});

describe('the cap on open drills', () => {
  it('takes a place (conditioned on the cap) before it claims and starts the drill', async () => {
    // Prepare
    const request = await rdsRequest();

    // Act
    const result = await startDrill(request, 'event-1');

    // Assess
    expect(result.started).toHaveLength(1);
    const take = dynamo.commandCalls(UpdateCommand, OPEN_DRILLS)[0];
    expect(take?.args[0].input).toMatchObject({
      UpdateExpression: 'SET drills.#id = :now',
      ConditionExpression: 'attribute_exists(drills.#id) OR size(drills) < :limit',
      ExpressionAttributeNames: { '#id': result.started[0]?.drillId },
      ExpressionAttributeValues: { ':limit': 1000 },
    });
    expect(happenedBefore(take, dynamo.commandCalls(PutCommand)[0])).toBe(true);
    expect(happenedBefore(take, sfn.commandCalls(StartExecutionCommand)[0])).toBe(true);
  });

  it('defers a trigger at the cap: no claim, no execution, the reason and a DrillsDeferred metric', async () => {
    // Prepare
    atTheCap();
    const event = loadEvent('backup-job-completed-rds');

    // Act
    const result = await handler(event, lambdaContext());

    // Assess
    expect(result.started).toEqual([]);
    expect(result.skipped).toEqual([]);
    expect(result.deferred).toEqual([
      {
        eventId: event.id,
        reason: `deferred: 1000 drills are open, the most this deployment starts (maxOpenDrills 1000); the reconciler drills recovery point ${RDS_RECOVERY_POINT} once a drill has ended`,
      },
    ]);
    expect(emfMetrics()).toMatchObject({ DrillsDeferred: 1 });
    expect(dynamo).not.toHaveReceivedCommand(PutCommand);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('reports a duplicate at the cap as a duplicate, not as deferred', async () => {
    // Prepare
    atTheCap();
    dynamo.on(GetCommand, { Key: { pk: CLAIM_PK } }).resolves({
      Item: {
        pk: CLAIM_PK,
        drillId: 'rds-earlier',
        status: 'RUNNING',
        claimedAt: '2026-01-05T02:00:00.000Z',
      },
    });

    // Act
    const result = await startDrill(await rdsRequest(), 'event-2');

    // Assess
    expect(result.deferred).toEqual([]);
    expect(result.skipped[0]?.reason).toBe(
      `recovery point ${RDS_RECOVERY_POINT} is already being drilled by rds-earlier`,
    );
  });

  it('gives the place back when the recovery point turns out to be claimed by another drill', async () => {
    // Prepare
    dynamo.on(PutCommand, { Item: { pk: CLAIM_PK } }).rejects(conditionFailed());
    dynamo.on(GetCommand, { Key: { pk: CLAIM_PK } }).resolves({
      Item: {
        pk: CLAIM_PK,
        drillId: 'rds-earlier',
        status: 'RUNNING',
        claimedAt: '2026-01-05T02:00:00.000Z',
      },
    });

    // Act
    const result = await startDrill(await rdsRequest(), 'event-3');

    // Assess
    expect(result.skipped).toHaveLength(1);
    const [take, giveBack] = dynamo
      .commandCalls(UpdateCommand, OPEN_DRILLS)
      .map((call) => call.args[0].input);
    expect(giveBack).toMatchObject({
      UpdateExpression: 'REMOVE drills.#id',
      ExpressionAttributeNames: take?.ExpressionAttributeNames,
    });
  });

  it('creates the open-drills item on the first take of a deployment, then takes the place', async () => {
    // Prepare: no item yet (the conditional update fails, the read finds nothing), then room.
    dynamo.on(UpdateCommand, OPEN_DRILLS).rejectsOnce(conditionFailed()).resolves({});

    // Act
    const result = await startDrill(await rdsRequest(), 'event-4');

    // Assess
    expect(result.started).toHaveLength(1);
    expect(dynamo).toHaveReceivedCommandWith(PutCommand, {
      Item: { pk: 'OPEN_DRILLS', drills: {} },
      ConditionExpression: 'attribute_not_exists(drills)',
    });
    expect(dynamo.commandCalls(UpdateCommand, OPEN_DRILLS)).toHaveLength(2);
  });

  it('frees only old places whose execution has ended, unless an intake retry renewed them', async () => {
    // Prepare
    const old = new Date(Date.now() - 3600_000).toISOString();
    const fresh = new Date().toISOString();
    dynamo.on(GetCommand, OPEN_DRILLS).resolves({
      Item: {
        pk: 'OPEN_DRILLS',
        drills: { 'rds-ended': old, 'rds-running': old, 'rds-just-started': fresh },
      },
    });
    const running = new Set(['rds-running']);
    const asked: string[] = [];

    // Act
    const result = await freeEndedOpenDrills(async (drillId) => {
      asked.push(drillId);
      return running.has(drillId);
    });

    // Assess
    expect(result).toEqual({ open: 2, freed: 1 });
    expect(asked.sort()).toEqual(['rds-ended', 'rds-running']);
    expect(dynamo).toHaveReceivedCommandWith(UpdateCommand, {
      Key: { pk: 'OPEN_DRILLS' },
      UpdateExpression: 'REMOVE drills.#id',
      ConditionExpression: 'drills.#id = :heldAt',
      ExpressionAttributeNames: { '#id': 'rds-ended' },
      ExpressionAttributeValues: { ':heldAt': old },
    });
  });
});

describe('the reconciler at the cap', () => {
  it('defers the backups it cannot start and keeps its watermark just before the earliest of them', async () => {
    // Prepare: three completed backups without a drill; the first gets the last place, then the cap is reached.
    const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000);
    const job = (id: string, completed: Date) => ({
      BackupJobId: id,
      RecoveryPointArn: `arn:aws:rds:us-east-2:111111111111:snapshot:awsbackup:job-${id}`,
      ResourceArn: `arn:aws:rds:us-east-2:111111111111:db:${id}`,
      ResourceType: 'RDS',
      BackupVaultName: 'Default',
      CompletionDate: completed,
    });
    backup.on(ListBackupJobsCommand).resolves({
      BackupJobs: [job('c', minutesAgo(60)), job('a', minutesAgo(180)), job('b', minutesAgo(120))],
    });
    dynamo.on(UpdateCommand, OPEN_DRILLS).resolvesOnce({}).rejects(conditionFailed());
    dynamo
      .on(GetCommand, OPEN_DRILLS)
      .resolves({ Item: { pk: 'OPEN_DRILLS', drills: { x: minutesAgo(1).toISOString() } } });
    sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING' });

    // Act
    const result = await reconcile();

    // Assess
    expect(result.missedBackups.started).toHaveLength(1);
    expect(result.missedBackups.deferred).toBe(2);
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    const watermark = dynamo
      .commandCalls(PutCommand)
      .map((call) => call.args[0].input.Item)
      .find((item) => String(item?.pk).startsWith('WATERMARK#'));
    const earliestDeferred = job('a', minutesAgo(180)).CompletionDate.getTime();
    expect(Date.parse(String(watermark?.completedBefore))).toBeGreaterThanOrEqual(
      earliestDeferred - 1 - 1000,
    );
    expect(Date.parse(String(watermark?.completedBefore))).toBeLessThan(earliestDeferred);
  });
});
