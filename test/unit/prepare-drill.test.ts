import { BackupClient, DescribeRecoveryPointCommand } from '@aws-sdk/client-backup';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  GetResourcesCommand,
  ResourceGroupsTaggingAPIClient,
} from '@aws-sdk/client-resource-groups-tagging-api';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { decide } from '../../functions/intake.js';
import type { DrillRequest } from '../../functions/lib/drill.js';
import {
  DrillAlreadyRunning,
  InvalidDrillInput,
  UnsupportedResourceType,
} from '../../functions/lib/errors.js';
import { prepareDrill } from '../../functions/prepare-drill.js';
import { DR_VAULT_ARN, drillRecordUpdates, dynamo, loadEvent } from './support.js';

const backup = mockClient(BackupClient);
const sfn = mockClient(SFNClient);
const tagging = mockClient(ResourceGroupsTaggingAPIClient);

const EXECUTION = 'manual-orders-db-20260105';
const STARTED_AT = '2026-01-05T09:00:00.000Z';
const RECOVERY_POINT_CREATED = new Date('2026-01-05T01:31:40.512Z');

function manualRequest(): Record<string, unknown> & { source: Record<string, unknown> } {
  return loadEvent<Record<string, unknown> & { source: Record<string, unknown> }>('manual-drill');
}

async function requestFromEvent(name: string): Promise<DrillRequest> {
  const decision = await decide(loadEvent(name));
  if (!('request' in decision)) throw new Error(`${name} does not ask for a drill: ${decision.skip}`);
  return decision.request;
}

const RECOVERY_POINT_ARN =
  'arn:aws:rds:us-east-2:111111111111:snapshot:awsbackup:job-4c1e9a2b-7d3f-4e8a-b5c6-0f1e2d3c4b5a';
const CLAIM_PK = `CLAIM#drill#${RECOVERY_POINT_ARN}`;
const EXECUTION_PREFIX = 'arn:aws:states:us-east-2:222222222222:execution:pilotlight-test-drill:';

function conditionFailed(): ConditionalCheckFailedException {
  return new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
}

/** Another drill holds the recovery point's claim. */
function heldBy(drillId: string, status: 'RUNNING' | 'FINISHED') {
  return { Item: { pk: CLAIM_PK, drillId, status, claimedAt: '2026-01-05T02:00:00.000Z' } };
}

function claimPuts() {
  return dynamo.commandCalls(PutCommand).map((call) => call.args[0].input);
}

beforeEach(() => {
  backup.reset();
  sfn.reset();
  tagging.reset();
  // The source resource carries no validation tag unless a test says so.
  tagging.on(GetResourcesCommand).resolves({ ResourceTagMappingList: [] });
  dynamo.reset();
  dynamo.resolves({});
  backup.on(DescribeRecoveryPointCommand).resolves({
    Status: 'COMPLETED',
    CreationDate: RECOVERY_POINT_CREATED,
    ResourceArn: 'arn:aws:rds:us-east-2:111111111111:db:orders-db-1',
    ResourceType: 'RDS',
  });
});

describe('prepareDrill', () => {
  it('gives a manual start without a trigger a manual trigger at the execution start', async () => {
    // Prepare
    const request = manualRequest();

    // Act
    const drill = await prepareDrill({ request, executionName: EXECUTION, startedAt: STARTED_AT });

    // Assess
    expect(drill.trigger).toEqual({ kind: 'manual', at: STARTED_AT });
    expect(drill.drillId).toBe(EXECUTION);
    expect(drill.mode).toBe('drill');
  });

  it("carries the source resource's pilotlight:validation tag, read in the source account", async () => {
    // Prepare
    tagging.on(GetResourcesCommand).resolves({
      ResourceTagMappingList: [
        {
          ResourceARN: 'arn:aws:rds:us-east-2:111111111111:db:orders-db-1',
          Tags: [
            { Key: 'app', Value: 'orders' },
            { Key: 'pilotlight:validation', Value: 'relational-basic' },
          ],
        },
      ],
    });

    // Act
    const drill = await prepareDrill({
      request: manualRequest(),
      executionName: EXECUTION,
      startedAt: STARTED_AT,
    });

    // Assess
    expect(drill.validationTag).toBe('relational-basic');
    expect(tagging).toHaveReceivedCommandWith(GetResourcesCommand, {
      ResourceARNList: ['arn:aws:rds:us-east-2:111111111111:db:orders-db-1'],
    });
  });

  it('leaves the type default to the data checks when the source resource has no validation tag', async () => {
    // Act
    const drill = await prepareDrill({
      request: manualRequest(),
      executionName: EXECUTION,
      startedAt: STARTED_AT,
    });

    // Assess
    expect(drill).not.toHaveProperty('validationTag');
    expect(tagging).toHaveReceivedCommandTimes(GetResourcesCommand, 1);
  });

  it('resolves a manual drill against the source recovery point and the DR target', async () => {
    // Prepare
    const request = manualRequest();

    // Act
    const drill = await prepareDrill({ request, executionName: EXECUTION, startedAt: STARTED_AT });

    // Assess
    expect(drill.source.recoveryPointCreatedAt).toBe(RECOVERY_POINT_CREATED.toISOString());
    expect(drill.target).toEqual({
      account: '333333333333',
      region: 'us-west-2',
      vault: 'pilotlight-dr',
      vaultArn: DR_VAULT_ARN,
    });
    expect(drill.needsCopy).toBe(true);
    expect(backup).toHaveReceivedCommandWith(DescribeRecoveryPointCommand, {
      BackupVaultName: 'Default',
      RecoveryPointArn: request.source.recoveryPointArn as string,
    });
  });

  it("estimates the copy from the recovery point's size and the restore from the type, for admission's order", async () => {
    // Prepare: 100 GiB of RDS.
    backup.on(DescribeRecoveryPointCommand).resolves({
      Status: 'COMPLETED',
      CreationDate: RECOVERY_POINT_CREATED,
      ResourceType: 'RDS',
      BackupSizeInBytes: 100 * 2 ** 30,
    });

    // Act
    const drill = await prepareDrill({
      request: manualRequest(),
      executionName: EXECUTION,
      startedAt: STARTED_AT,
    });

    // Assess: 300 s + 2.75 s per GiB; RDS's typical restore (functions/resources/rds.ts).
    expect(drill.estimate).toEqual({ copySeconds: 575, restoreSeconds: 3300 });
  });

  it('marks the drill RUNNING on its record with its resource type', async () => {
    // Prepare
    const request = manualRequest();

    // Act
    await prepareDrill({ request, executionName: EXECUTION, startedAt: STARTED_AT });

    // Assess
    expect(drillRecordUpdates()).toEqual([
      {
        pk: `DRILL#${EXECUTION}`,
        fields: { status: 'RUNNING', resourceType: 'RDS', updatedAt: expect.any(String) },
      },
    ]);
  });

  it('keeps the trigger of an event-started drill', async () => {
    // Prepare
    const request = await requestFromEvent('backup-job-completed-rds');

    // Act
    const drill = await prepareDrill({ request, executionName: EXECUTION, startedAt: STARTED_AT });

    // Assess
    expect(drill.trigger).toEqual(request.trigger);
  });

  it('skips the copy and reads the recovery point from the DR vault when the request names a DR copy', async () => {
    // Prepare
    const request = await requestFromEvent('copy-job-completed-dr-vault');

    // Act
    const drill = await prepareDrill({ request, executionName: EXECUTION, startedAt: STARTED_AT });

    // Assess
    expect(drill.needsCopy).toBe(false);
    expect(drill.drRecoveryPointArn).toBe(request.drRecoveryPointArn);
    expect(backup).toHaveReceivedCommandWith(DescribeRecoveryPointCommand, {
      BackupVaultName: 'pilotlight-dr',
      RecoveryPointArn: request.drRecoveryPointArn,
    });
  });

  it('rejects manual input with a malformed account as InvalidDrillInput naming the field', async () => {
    // Prepare
    const request = { ...manualRequest(), source: { ...manualRequest().source, account: '1111' } };

    // Act
    const preparing = prepareDrill({ request, executionName: EXECUTION, startedAt: STARTED_AT });

    // Assess
    await expect(preparing).rejects.toBeInstanceOf(InvalidDrillInput);
    await expect(preparing).rejects.toThrow(/source\.account/);
    expect(backup).not.toHaveReceivedAnyCommand();
  });

  it('rejects manual input without a recovery point, naming the missing field', async () => {
    // Prepare
    const { recoveryPointArn: _omitted, ...source } = manualRequest().source;
    const request = { ...manualRequest(), source };

    // Act
    const preparing = prepareDrill({ request, executionName: EXECUTION, startedAt: STARTED_AT });

    // Assess
    await expect(preparing).rejects.toThrow(/drill input is invalid: .*source\.recoveryPointArn/);
  });

  it('rejects an unknown mode as InvalidDrillInput naming the field', async () => {
    // Prepare
    const request = { ...manualRequest(), mode: 'chaos' };

    // Act
    const preparing = prepareDrill({ request, executionName: EXECUTION, startedAt: STARTED_AT });

    // Assess
    await expect(preparing).rejects.toBeInstanceOf(InvalidDrillInput);
    await expect(preparing).rejects.toThrow(/mode/);
  });

  it('rejects a resource type without a module as UnsupportedResourceType', async () => {
    // Prepare
    const request = {
      ...manualRequest(),
      source: { ...manualRequest().source, resourceType: 'VirtualMachine' },
    };

    // Act
    const preparing = prepareDrill({ request, executionName: EXECUTION, startedAt: STARTED_AT });

    // Assess
    await expect(preparing).rejects.toBeInstanceOf(UnsupportedResourceType);
    expect(backup).not.toHaveReceivedAnyCommand();
  });

  it('rejects a recovery point that is not COMPLETED as InvalidDrillInput', async () => {
    // Prepare
    backup
      .on(DescribeRecoveryPointCommand)
      .resolves({ Status: 'EXPIRED', CreationDate: RECOVERY_POINT_CREATED });

    // Act
    const preparing = prepareDrill({
      request: manualRequest(),
      executionName: EXECUTION,
      startedAt: STARTED_AT,
    });

    // Assess
    await expect(preparing).rejects.toBeInstanceOf(InvalidDrillInput);
    await expect(preparing).rejects.toThrow('is EXPIRED, not COMPLETED');
    expect(dynamo).not.toHaveReceivedCommand(UpdateCommand);
    expect(dynamo).not.toHaveReceivedCommand(PutCommand);
  });

  it('rejects a recovery point of another resource type than the request names, before claiming or starting anything', async () => {
    // Prepare
    backup
      .on(DescribeRecoveryPointCommand)
      .resolves({ Status: 'COMPLETED', CreationDate: RECOVERY_POINT_CREATED, ResourceType: 'EBS' });

    // Act
    const preparing = prepareDrill({
      request: manualRequest(),
      executionName: EXECUTION,
      startedAt: STARTED_AT,
    });

    // Assess
    await expect(preparing).rejects.toBeInstanceOf(InvalidDrillInput);
    await expect(preparing).rejects.toThrow(`recovery point ${RECOVERY_POINT_ARN} is a EBS backup, not RDS`);
    expect(dynamo).not.toHaveReceivedAnyCommand();
  });

  it('claims the recovery point for a manual start, allowing a re-drill of a finished claim', async () => {
    // Prepare
    const request = manualRequest();

    // Act
    const drill = await prepareDrill({ request, executionName: EXECUTION, startedAt: STARTED_AT });

    // Assess
    expect(claimPuts()).toEqual([
      expect.objectContaining({
        Item: expect.objectContaining({ pk: CLAIM_PK, drillId: EXECUTION, status: 'RUNNING' }),
        ConditionExpression: 'attribute_not_exists(pk) OR drillId = :me OR #status = :finished',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':me': EXECUTION, ':finished': 'FINISHED' },
        ReturnValues: 'ALL_OLD',
      }),
    ]);
    expect(drill.previousDrillId).toBeUndefined();
  });

  it("claims an event-started drill's recovery point without re-drilling a finished one", async () => {
    // Prepare
    const request = await requestFromEvent('backup-job-completed-rds');

    // Act
    await prepareDrill({ request, executionName: EXECUTION, startedAt: STARTED_AT });

    // Assess
    expect(claimPuts()[0]?.ConditionExpression).toBe('attribute_not_exists(pk) OR drillId = :me');
  });

  it('names the previous drill when a manual start re-drills a recovery point whose drill finished', async () => {
    // Prepare
    dynamo.on(PutCommand).resolves({
      Attributes: { ...heldBy('rds-earlier', 'FINISHED').Item, finishedAt: '2026-01-05T03:00:00.000Z' },
    });

    // Act
    const drill = await prepareDrill({
      request: manualRequest(),
      executionName: EXECUTION,
      startedAt: STARTED_AT,
    });

    // Assess
    expect(drill.previousDrillId).toBe('rds-earlier');
  });

  it('does not call its own earlier claim a previous drill (a retried task, or intake claimed it)', async () => {
    // Prepare
    dynamo.on(PutCommand).resolves({ Attributes: heldBy(EXECUTION, 'RUNNING').Item });
    const request = await requestFromEvent('backup-job-completed-rds');

    // Act
    const drill = await prepareDrill({ request, executionName: EXECUTION, startedAt: STARTED_AT });

    // Assess
    expect(drill.previousDrillId).toBeUndefined();
  });

  it('replaces a RUNNING claim whose execution no longer runs, on a manual start', async () => {
    // Prepare
    dynamo
      .on(PutCommand)
      .rejectsOnce(conditionFailed())
      .resolves({ Attributes: heldBy('rds-crashed', 'RUNNING').Item });
    dynamo.on(GetCommand, { Key: { pk: CLAIM_PK } }).resolves(heldBy('rds-crashed', 'RUNNING'));
    sfn.on(DescribeExecutionCommand).resolves({ status: 'FAILED' });

    // Act
    const drill = await prepareDrill({
      request: manualRequest(),
      executionName: EXECUTION,
      startedAt: STARTED_AT,
    });

    // Assess
    expect(sfn).toHaveReceivedCommandWith(DescribeExecutionCommand, {
      executionArn: `${EXECUTION_PREFIX}rds-crashed`,
    });
    expect(claimPuts()[1]).toMatchObject({
      ConditionExpression: 'attribute_not_exists(pk) OR drillId = :me OR drillId = :replace',
      ExpressionAttributeValues: { ':me': EXECUTION, ':replace': 'rds-crashed' },
    });
    expect(drill.previousDrillId).toBe('rds-crashed');
    expect(drillRecordUpdates()[0]?.fields.status).toBe('RUNNING');
  });

  it('fails with DrillAlreadyRunning, marking nothing, when the holder of the claim is still running', async () => {
    // Prepare
    dynamo.on(PutCommand).rejects(conditionFailed());
    dynamo.on(GetCommand, { Key: { pk: CLAIM_PK } }).resolves(heldBy('rds-busy', 'RUNNING'));
    sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING' });

    // Act
    const preparing = prepareDrill({
      request: manualRequest(),
      executionName: EXECUTION,
      startedAt: STARTED_AT,
    });

    // Assess
    await expect(preparing).rejects.toBeInstanceOf(DrillAlreadyRunning);
    await expect(preparing).rejects.toThrow(
      `recovery point ${RECOVERY_POINT_ARN} is already being drilled (drill) by rds-busy`,
    );
    expect(claimPuts()).toHaveLength(1);
    expect(dynamo).not.toHaveReceivedCommand(UpdateCommand);
  });

  it('fails an event-started drill with DrillAlreadyRunning when another drill holds the claim, without replacing it', async () => {
    // Prepare
    dynamo.on(PutCommand).rejects(conditionFailed());
    dynamo.on(GetCommand, { Key: { pk: CLAIM_PK } }).resolves(heldBy('rds-manual', 'FINISHED'));
    const request = await requestFromEvent('backup-job-completed-rds');

    // Act
    const preparing = prepareDrill({ request, executionName: EXECUTION, startedAt: STARTED_AT });

    // Assess
    await expect(preparing).rejects.toBeInstanceOf(DrillAlreadyRunning);
    expect(sfn).not.toHaveReceivedCommand(DescribeExecutionCommand);
    expect(dynamo).not.toHaveReceivedCommand(UpdateCommand);
  });
});
