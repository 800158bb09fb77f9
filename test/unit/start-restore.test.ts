import {
  BackupClient,
  GetRecoveryPointRestoreMetadataCommand,
  StartRestoreJobCommand,
} from '@aws-sdk/client-backup';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { UnexpectedRecord, UnsupportedResourceType } from '../../functions/lib/errors.js';
import { startRestore } from '../../functions/start-restore.js';
import {
  DR_RECOVERY_POINT_ARN,
  DRILL_ID,
  drillRecordUpdates,
  dynamo,
  happenedBefore,
  rdsDrill,
  succeededState,
} from './support.js';

const backup = mockClient(BackupClient);

const RESTORE_JOB_ID = '1A2B3C4D-5E6F-4A7B-8C9D-0E1F2A3B4C5D';
const TASK_TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAArestore-token';

function copy() {
  const result = succeededState().state.copy;
  if (!result) throw new Error('fixture lacks a copy result');
  return result;
}

const NOW = new Date('2026-01-05T02:41:31.000Z');

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
  backup.reset();
  dynamo.reset();
  dynamo.resolves({});
  backup.on(GetRecoveryPointRestoreMetadataCommand).resolves({
    RestoreMetadata: {
      DBInstanceIdentifier: 'orders-db-1',
      AvailabilityZone: 'us-east-2b',
      DBSubnetGroupName: 'prod-private',
      PubliclyAccessible: 'true',
      Engine: 'postgres',
    },
  });
  backup.on(StartRestoreJobCommand).resolves({ RestoreJobId: RESTORE_JOB_ID });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('startRestore', () => {
  it('restores the DR copy in the DR account with isolating metadata and the DR restore role', async () => {
    // Prepare
    const drill = rdsDrill();

    // Act
    const result = await startRestore({ drill, copy: copy(), taskToken: TASK_TOKEN });

    // Assess
    expect(result).toEqual({ restoreJobId: RESTORE_JOB_ID });
    expect(backup).toHaveReceivedCommandWith(GetRecoveryPointRestoreMetadataCommand, {
      BackupVaultName: 'pilotlight-dr',
      RecoveryPointArn: DR_RECOVERY_POINT_ARN,
    });
    expect(backup).toHaveReceivedCommandExactlyOnceWith(StartRestoreJobCommand, {
      RecoveryPointArn: DR_RECOVERY_POINT_ARN,
      ResourceType: 'RDS',
      IamRoleArn: 'arn:aws:iam::333333333333:role/pilotlight-backup-restore',
      IdempotencyToken: `${DRILL_ID}-restore`,
      Metadata: {
        DBInstanceIdentifier: 'pl-rds-20260105t0157-5b0c1f2e9a',
        DBSubnetGroupName: 'pilotlight-restore',
        VpcSecurityGroupIds: '["sg-0a1b2c3d4e5f60718"]',
        PubliclyAccessible: 'false',
        DeletionProtection: 'false',
        MultiAZ: 'false',
        CopyTagsToSnapshot: 'false',
        Engine: 'postgres',
      },
    });
  });

  it('remembers the restore job in the DR account with the task token, for 90 days', async () => {
    // Prepare
    const drill = rdsDrill();

    // Act
    await startRestore({ drill, copy: copy(), taskToken: TASK_TOKEN });

    // Assess
    expect(dynamo).toHaveReceivedCommandWith(PutCommand, {
      Item: expect.objectContaining({
        pk: `JOB#${RESTORE_JOB_ID}`,
        kind: 'restore',
        drillId: DRILL_ID,
        taskToken: TASK_TOKEN,
        account: '333333333333',
        region: 'us-west-2',
        status: 'PENDING',
        startedAt: NOW.toISOString(),
        expiresAt: NOW.getTime() / 1000 + 90 * 86_400,
      }),
    });
    expect(drillRecordUpdates()[1]?.fields.restoreJobId).toBe(RESTORE_JOB_ID);
  });

  it('writes its intent (requested at, DR recovery point) on the drill record before StartRestoreJob', async () => {
    // Prepare
    const drill = rdsDrill();

    // Act
    await startRestore({ drill, copy: copy(), taskToken: TASK_TOKEN });

    // Assess
    const updates = drillRecordUpdates();
    expect(updates.map((update) => update.pk)).toEqual([`DRILL#${DRILL_ID}`, `DRILL#${DRILL_ID}`]);
    expect(updates[0]?.fields).toEqual({
      restoreRequestedAt: NOW.toISOString(),
      drRecoveryPointArn: DR_RECOVERY_POINT_ARN,
      updatedAt: NOW.toISOString(),
    });
    expect(updates[1]?.fields).toEqual({ restoreJobId: RESTORE_JOB_ID, updatedAt: NOW.toISOString() });
    const intent = dynamo.commandCalls(UpdateCommand)[0];
    const start = backup.commandCalls(StartRestoreJobCommand)[0];
    const recordJobId = dynamo.commandCalls(UpdateCommand)[1];
    const remember = dynamo.commandCalls(PutCommand)[0];
    expect(happenedBefore(intent, start)).toBe(true);
    expect(happenedBefore(start, recordJobId)).toBe(true);
    expect(happenedBefore(recordJobId, remember)).toBe(true);
  });

  it('fails with UnexpectedRecord, remembering no job, when AWS Backup returns no restore job id', async () => {
    // Prepare
    backup.on(StartRestoreJobCommand).resolves({});

    // Act
    const starting = startRestore({ drill: rdsDrill(), copy: copy(), taskToken: TASK_TOKEN });

    // Assess
    await expect(starting).rejects.toThrow('StartRestoreJob returned no RestoreJobId');
    await expect(starting).rejects.toBeInstanceOf(UnexpectedRecord);
    expect(dynamo).not.toHaveReceivedCommand(PutCommand);
    expect(drillRecordUpdates().map((update) => Object.keys(update.fields))).toEqual([
      ['restoreRequestedAt', 'drRecoveryPointArn', 'updatedAt'],
    ]);
  });

  it('starts no restore job when its intent cannot be written', async () => {
    // Prepare
    dynamo.on(UpdateCommand).rejects(new Error('ProvisionedThroughputExceededException'));

    // Act
    const starting = startRestore({ drill: rdsDrill(), copy: copy(), taskToken: TASK_TOKEN });

    // Assess
    await expect(starting).rejects.toThrow('ProvisionedThroughputExceededException');
    expect(backup).not.toHaveReceivedCommand(StartRestoreJobCommand);
  });

  it('refuses a resource type without a module before calling AWS Backup', async () => {
    // Prepare
    const base = rdsDrill();
    const drill = rdsDrill({ source: { ...base.source, resourceType: 'VirtualMachine' } });

    // Act
    const starting = startRestore({ drill, copy: copy(), taskToken: TASK_TOKEN });

    // Assess
    await expect(starting).rejects.toBeInstanceOf(UnsupportedResourceType);
    expect(backup).not.toHaveReceivedAnyCommand();
  });
});
