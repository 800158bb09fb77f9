import { BackupClient, StartCopyJobCommand } from '@aws-sdk/client-backup';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { UnexpectedRecord } from '../../functions/lib/errors.js';
import { startCopy } from '../../functions/start-copy.js';
import { DR_VAULT_ARN, DRILL_ID, drillRecordUpdates, dynamo, happenedBefore, rdsDrill } from './support.js';

const backup = mockClient(BackupClient);

const COPY_JOB_ID = '6A5B4C3D-2E1F-4A0B-9C8D-7E6F5A4B3C2D';
const TASK_TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAcopy-token';

beforeEach(() => {
  backup.reset();
  dynamo.reset();
  dynamo.resolves({});
  backup.on(StartCopyJobCommand).resolves({ CopyJobId: COPY_JOB_ID, CreationDate: new Date() });
});

describe('startCopy', () => {
  it('copies the recovery point from the source vault into the DR vault with the source copy role', async () => {
    // Prepare
    const drill = rdsDrill();

    // Act
    const result = await startCopy({ drill, taskToken: TASK_TOKEN });

    // Assess
    expect(result).toEqual({ copyJobId: COPY_JOB_ID });
    expect(backup).toHaveReceivedCommandExactlyOnceWith(StartCopyJobCommand, {
      RecoveryPointArn: drill.source.recoveryPointArn,
      SourceBackupVaultName: 'Default',
      DestinationBackupVaultArn: DR_VAULT_ARN,
      IamRoleArn: 'arn:aws:iam::111111111111:role/pilotlight-backup-copy',
      IdempotencyToken: `${DRILL_ID}-copy`,
    });
  });

  it('has AWS Backup delete the drill copy after DRILL_COPY_RETENTION_DAYS (7 in tests)', async () => {
    // Prepare: a recovery point of two hours ago (an event's)
    const drill = rdsDrill();
    drill.source.recoveryPointCreatedAt = new Date(Date.now() - 2 * 3_600_000).toISOString();

    // Act
    await startCopy({ drill, taskToken: TASK_TOKEN });

    // Assess
    expect(backup.commandCalls(StartCopyJobCommand)[0]?.args[0].input.Lifecycle).toEqual({
      DeleteAfterDays: 7,
    });
  });

  it('keeps the copy of an older recovery point for its age plus DRILL_COPY_RETENTION_DAYS (AWS Backup counts from its creation)', async () => {
    // Prepare: a policy's random rule drills a recovery point of ten and a half days ago
    const drill = rdsDrill();
    drill.source.recoveryPointCreatedAt = new Date(Date.now() - 10.5 * 86_400_000).toISOString();

    // Act
    await startCopy({ drill, taskToken: TASK_TOKEN });

    // Assess: deleted 17 days after its creation, 6.5 days from now
    expect(backup.commandCalls(StartCopyJobCommand)[0]?.args[0].input.Lifecycle).toEqual({
      DeleteAfterDays: 17,
    });
  });

  it('records the copy job id on the drill before remembering the job', async () => {
    // Prepare
    const drill = rdsDrill();

    // Act
    await startCopy({ drill, taskToken: TASK_TOKEN });

    // Assess
    const recorded = dynamo.commandCalls(UpdateCommand)[0];
    const remembered = dynamo.commandCalls(PutCommand)[0];
    expect(happenedBefore(recorded, remembered)).toBe(true);
  });

  it('remembers the copy job with the task token so the drill can be resumed when it ends', async () => {
    // Prepare
    const drill = rdsDrill();

    // Act
    await startCopy({ drill, taskToken: TASK_TOKEN });

    // Assess
    expect(dynamo).toHaveReceivedCommandWith(PutCommand, {
      TableName: 'pilotlight-test-state',
      Item: expect.objectContaining({
        pk: `JOB#${COPY_JOB_ID}`,
        jobId: COPY_JOB_ID,
        kind: 'copy',
        drillId: DRILL_ID,
        mode: 'drill',
        resourceType: 'RDS',
        taskToken: TASK_TOKEN,
        account: '111111111111',
        region: 'us-east-2',
        status: 'PENDING',
      }),
    });
    expect(drillRecordUpdates()[0]?.fields.copyJobId).toBe(COPY_JOB_ID);
  });

  it('fails, remembering nothing, when AWS Backup returns no copy job id', async () => {
    // Prepare
    backup.on(StartCopyJobCommand).resolves({});

    // Act
    const starting = startCopy({ drill: rdsDrill(), taskToken: TASK_TOKEN });

    // Assess
    await expect(starting).rejects.toThrow('StartCopyJob returned no CopyJobId');
    await expect(starting).rejects.toBeInstanceOf(UnexpectedRecord);
    expect(dynamo).not.toHaveReceivedAnyCommand();
  });
});
