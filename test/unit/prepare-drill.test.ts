import { BackupClient, DescribeRecoveryPointCommand } from '@aws-sdk/client-backup';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { decide } from '../../functions/intake.js';
import type { DrillRequest } from '../../functions/lib/drill.js';
import { InvalidDrillInput, UnsupportedResourceType } from '../../functions/lib/errors.js';
import { prepareDrill } from '../../functions/prepare-drill.js';
import { DR_VAULT_ARN, drillRecordUpdates, dynamo, loadEvent } from './support.js';

const backup = mockClient(BackupClient);

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

beforeEach(() => {
  backup.reset();
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
    const request = { ...manualRequest(), source: { ...manualRequest().source, resourceType: 'DynamoDB' } };

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
  });
});
