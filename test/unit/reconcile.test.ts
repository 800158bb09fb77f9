import {
  BackupClient,
  DescribeCopyJobCommand,
  DescribeRestoreJobCommand,
  ListBackupJobsCommand,
  ListCopyJobsCommand,
  ListRestoreJobsCommand,
} from '@aws-sdk/client-backup';
import { AddTagsToResourceCommand, RDSClient } from '@aws-sdk/client-rds';
import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
} from '@aws-sdk/client-sfn';
import { GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { executionArnOf } from '../../functions/lib/config.js';
import { checkJobs, handler, reconcile } from '../../functions/reconcile.js';
import {
  DR_RECOVERY_POINT_ARN,
  dynamo,
  jobUpdates,
  lambdaContext,
  pendingJob,
  RESTORED_DB_ARN,
} from './support.js';

const backup = mockClient(BackupClient);
const sfn = mockClient(SFNClient);
const rds = mockClient(RDSClient);

const copyJob = pendingJob({
  jobId: 'copy-done',
  kind: 'copy',
  drillId: 'rds-a',
  taskToken: 'token-copy-done',
  account: '111111111111',
  region: 'us-east-2',
});
const runningRestore = pendingJob({
  jobId: 'restore-running',
  drillId: 'rds-b',
  taskToken: 'token-restore-running',
});
const doneRestore = pendingJob({ jobId: 'restore-done', drillId: 'rds-c', taskToken: 'token-restore-done' });

function claimedJobIds(): string[] {
  return jobUpdates()
    .filter((update) => update.ConditionExpression)
    .map((update) => String(update.Key?.pk));
}

/** The jobs closed because their drill had ended, and the reason recorded on each. */
function abandonUpdates(): { pk: string; reason: unknown }[] {
  return jobUpdates()
    .filter((update) => update.ExpressionAttributeValues?.[':reason'] !== undefined)
    .map((update) => ({
      pk: String(update.Key?.pk),
      reason: update.ExpressionAttributeValues?.[':reason'],
    }));
}

/** The Scan of open JOB# items (pendingJobs), told apart from admission control's SLOT#/WAIT# Scan. */
const JOBS_SCAN = { ExpressionAttributeValues: { ':pending': 'PENDING', ':job': 'JOB#' } };
const SLOTS_SCAN = { ExpressionAttributeValues: { ':slot': 'SLOT#', ':wait': 'WAIT#' } };
/** The job check's Query of the sparse index of open jobs (pendingJobs via the index). */
const OPEN_JOBS_QUERY = { IndexName: 'byOpenJob' };

beforeEach(() => {
  backup.reset();
  sfn.reset();
  rds.reset();
  dynamo.reset();
  dynamo.on(ScanCommand, JOBS_SCAN).resolves({ Items: [copyJob, runningRestore, doneRestore] });
  // Admission control's slots and queue: none open unless a test says so.
  dynamo.on(ScanCommand, SLOTS_SCAN).resolves({ Items: [] });
  dynamo.on(UpdateCommand).resolves({});
  dynamo.on(GetCommand).resolves({});
  dynamo.on(PutCommand).resolves({});
  dynamo.on(QueryCommand).resolves({ Items: [] });
  dynamo.on(QueryCommand, OPEN_JOBS_QUERY).resolves({ Items: [copyJob, runningRestore, doneRestore] });
  backup.on(ListBackupJobsCommand).resolves({ BackupJobs: [] });
  backup.on(DescribeCopyJobCommand, { CopyJobId: 'copy-done' }).resolves({
    CopyJob: {
      CopyJobId: 'copy-done',
      State: 'COMPLETED',
      DestinationRecoveryPointArn: DR_RECOVERY_POINT_ARN,
      CreationDate: new Date('2026-01-05T02:02:10.000Z'),
      CompletionDate: new Date('2026-01-05T02:40:58.000Z'),
    },
  });
  backup
    .on(DescribeRestoreJobCommand, { RestoreJobId: 'restore-running' })
    .resolves({ RestoreJobId: 'restore-running', Status: 'RUNNING', PercentDone: '40.0' });
  backup.on(DescribeRestoreJobCommand, { RestoreJobId: 'restore-done' }).resolves({
    RestoreJobId: 'restore-done',
    Status: 'COMPLETED',
    CreatedResourceArn: RESTORED_DB_ARN,
    CreationDate: new Date('2026-01-05T02:41:30.000Z'),
    CompletionDate: new Date('2026-01-05T03:10:31.000Z'),
  });
  sfn.on(SendTaskSuccessCommand).resolves({});
  sfn.on(SendTaskFailureCommand).resolves({});
  rds.on(AddTagsToResourceCommand).resolves({});
});

/** The job listings the job check reads (one per source account and region, one in the DR account). */
function listJobs(): void {
  backup.on(ListCopyJobsCommand).resolves({
    CopyJobs: [
      {
        CopyJobId: 'copy-done',
        State: 'COMPLETED',
        DestinationRecoveryPointArn: DR_RECOVERY_POINT_ARN,
        CreationDate: new Date('2026-01-05T02:02:10.000Z'),
        CompletionDate: new Date('2026-01-05T02:40:58.000Z'),
      },
      // Another copy to the DR vault, not one this check waits for.
      { CopyJobId: 'someone-elses', State: 'FAILED', CompletionDate: new Date('2026-01-05T02:45:00.000Z') },
    ],
  });
  backup.on(ListRestoreJobsCommand).resolves({
    RestoreJobs: [
      {
        RestoreJobId: 'restore-done',
        Status: 'COMPLETED',
        CreatedResourceArn: RESTORED_DB_ARN,
        CreationDate: new Date('2026-01-05T02:41:30.000Z'),
        CompletionDate: new Date('2026-01-05T03:10:31.000Z'),
      },
    ],
  });
}

describe('the job check (the reconciler scheduled with {scope: jobs}, every minute)', () => {
  beforeEach(listJobs);

  it('resumes the drills whose jobs finished from two listings, whatever the number of open jobs', async () => {
    // Act
    const result = await handler({ scope: 'jobs' }, lambdaContext());

    // Assess
    expect(result).toEqual({
      checked: 3,
      resumed: ['copy-done', 'restore-done'],
      failed: [],
      abandoned: [],
    });
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 2);
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, {
      taskToken: 'token-restore-done',
      output: expect.stringContaining(RESTORED_DB_ARN),
    });
    // The open jobs from their index, never a Scan of the table (which keeps every drill's records for 90 days).
    expect(dynamo).not.toHaveReceivedCommand(ScanCommand);
    expect(dynamo).toHaveReceivedCommandExactlyOnceWith(QueryCommand, {
      IndexName: 'byOpenJob',
      KeyConditionExpression: 'openJob = :open',
      ExpressionAttributeValues: { ':open': 'PENDING', ':pending': 'PENDING' },
    });
    // Copies to the DR vault completed since a minute before the oldest open copy started; restores likewise.
    expect(backup).toHaveReceivedCommandTimes(ListCopyJobsCommand, 1);
    expect(backup).toHaveReceivedCommandWith(ListCopyJobsCommand, {
      ByDestinationVaultArn: expect.stringMatching(/:backup-vault:pilotlight-dr$/),
      ByCompleteAfter: new Date(Date.parse('2026-01-05T02:41:30.000Z') - 60_000),
    });
    expect(backup).toHaveReceivedCommandTimes(ListRestoreJobsCommand, 1);
    expect(backup).toHaveReceivedCommandWith(ListRestoreJobsCommand, {
      ByCompleteAfter: new Date(Date.parse('2026-01-05T02:41:30.000Z') - 60_000),
    });
    expect(backup).not.toHaveReceivedCommand(DescribeCopyJobCommand);
    expect(backup).not.toHaveReceivedCommand(DescribeRestoreJobCommand);
    expect(backup).not.toHaveReceivedCommand(ListBackupJobsCommand);
    expect(sfn).not.toHaveReceivedCommand(DescribeExecutionCommand);
  });

  it('scans the table while the index of open jobs is still being built (right after the upgrade that adds it)', async () => {
    // Prepare
    dynamo.on(QueryCommand, OPEN_JOBS_QUERY).rejects(
      Object.assign(new Error('Cannot read from backfilling global secondary index: byOpenJob'), {
        name: 'ValidationException',
      }),
    );

    // Act
    const result = await checkJobs();

    // Assess: the same jobs, found by the Scan.
    expect(result.resumed).toEqual(['copy-done', 'restore-done']);
    expect(dynamo).toHaveReceivedCommandWith(ScanCommand, JOBS_SCAN);
  });

  it('fails the job check when the index cannot be read for another reason (nothing is guessed)', async () => {
    // Prepare
    dynamo
      .on(QueryCommand, OPEN_JOBS_QUERY)
      .rejects(
        Object.assign(new Error('Throughput exceeds the current capacity'), { name: 'ThrottlingException' }),
      );

    // Act
    const run = checkJobs();

    // Assess
    await expect(run).rejects.toThrow('Throughput exceeds the current capacity');
    expect(dynamo).not.toHaveReceivedCommand(ScanCommand);
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });

  it('leaves a job alone that no listing reports finished', async () => {
    // Prepare
    backup.on(ListCopyJobsCommand).resolves({ CopyJobs: [] });

    // Act
    const result = await checkJobs();

    // Assess
    expect(result.resumed).toEqual(['restore-done']);
    expect(sfn).not.toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'token-copy-done' });
  });

  it('reads every page of a listing', async () => {
    // Prepare
    backup
      .on(ListRestoreJobsCommand)
      .resolvesOnce({ RestoreJobs: [], NextToken: 'page-2' })
      .resolves({
        RestoreJobs: [
          { RestoreJobId: 'restore-done', Status: 'COMPLETED', CreatedResourceArn: RESTORED_DB_ARN },
        ],
      });

    // Act
    const result = await checkJobs();

    // Assess
    expect(result.resumed).toEqual(['copy-done', 'restore-done']);
    expect(backup).toHaveReceivedCommandWith(ListRestoreJobsCommand, { NextToken: 'page-2' });
  });

  it('fails the invocation when the jobs of a running drill cannot be listed (the dead-letter alarm shows it)', async () => {
    // Prepare
    backup.on(ListCopyJobsCommand).rejects(new Error('throttled'));
    sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING' });

    // Act
    const run = checkJobs();

    // Assess
    await expect(run).rejects.toThrow(/could not reconcile jobs copy-done/);
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'token-restore-done' });
    expect(abandonUpdates()).toEqual([]);
  });

  it.each(['TIMED_OUT', 'FAILED', 'ABORTED', 'SUCCEEDED'] as const)(
    'closes, with the reason, a job it cannot read whose drill has ended (%s) instead of failing every minute',
    async (status) => {
      // Prepare
      backup
        .on(ListCopyJobsCommand)
        .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
      sfn.on(DescribeExecutionCommand).resolves({ status });

      // Act
      const result = await checkJobs();

      // Assess
      expect(result).toEqual({
        checked: 3,
        resumed: ['restore-done'],
        failed: [],
        abandoned: ['copy-done'],
      });
      expect(abandonUpdates()).toEqual([
        {
          pk: 'JOB#copy-done',
          reason: `drill ${status}; last error ThrottlingException: Rate exceeded`,
        },
      ]);
      expect(sfn).toHaveReceivedCommandWith(DescribeExecutionCommand, {
        executionArn: expect.stringMatching(/:execution:[^:]+:rds-a$/),
      });
    },
  );

  it('keeps failing when the drill of an unreadable job cannot be read either (nothing is closed on a guess)', async () => {
    // Prepare
    backup.on(ListCopyJobsCommand).rejects(new Error('throttled'));
    sfn.on(DescribeExecutionCommand).rejects(new Error('throttled too'));

    // Act
    const run = checkJobs();

    // Assess
    await expect(run).rejects.toThrow(/could not reconcile jobs copy-done/);
    expect(abandonUpdates()).toEqual([]);
  });
});

describe('reconcile', () => {
  it('resumes the drills whose jobs finished and leaves running jobs alone', async () => {
    // Prepare
    const expectedResumed = ['copy-done', 'restore-done'];

    // Act
    const result = await reconcile();

    // Assess
    expect(result).toMatchObject({
      checked: 3,
      resumed: expectedResumed,
      failed: [],
      slots: { freed: 0, admitted: 0 },
    });
    expect(claimedJobIds()).toEqual(['JOB#copy-done', 'JOB#restore-done']);
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 2);
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'token-copy-done' });
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'token-restore-done' });
    expect(sfn).not.toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'token-restore-running' });
  });

  it('passes the job details read from AWS Backup to the drill', async () => {
    // Prepare
    dynamo.on(ScanCommand, JOBS_SCAN).resolves({ Items: [copyJob] });

    // Act
    await reconcile();

    // Assess
    const output = JSON.parse(sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input.output ?? 'null');
    expect(output).toEqual({
      copyJobId: 'copy-done',
      drRecoveryPointArn: DR_RECOVERY_POINT_ARN,
      skipped: false,
      startedAt: '2026-01-05T02:02:10.000Z',
      completedAt: '2026-01-05T02:40:58.000Z',
    });
  });

  it('fails the waiting task when AWS Backup reports the job ABORTED', async () => {
    // Prepare
    dynamo.on(ScanCommand, JOBS_SCAN).resolves({ Items: [doneRestore] });
    backup
      .on(DescribeRestoreJobCommand, { RestoreJobId: 'restore-done' })
      .resolves({ RestoreJobId: 'restore-done', Status: 'ABORTED', StatusMessage: 'Aborted by user' });

    // Act
    const result = await reconcile();

    // Assess
    expect(result.resumed).toEqual(['restore-done']);
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, {
      taskToken: 'token-restore-done',
      error: 'RestoreJobFailed',
    });
  });

  it('keeps resuming the other jobs when one fails, then fails the invocation naming it', async () => {
    // Prepare
    sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING' });
    backup.on(DescribeCopyJobCommand, { CopyJobId: 'copy-done' }).rejects(
      Object.assign(new Error('User is not authorized to perform backup:DescribeCopyJob'), {
        name: 'AccessDeniedException',
      }),
    );

    // Act
    const reconciling = reconcile();

    // Assess
    await expect(reconciling).rejects.toThrow('could not reconcile jobs copy-done');
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'token-restore-done' });
  });

  it('reads open jobs from every page of the state table', async () => {
    // Prepare
    dynamo
      .on(ScanCommand, JOBS_SCAN)
      .resolvesOnce({ Items: [copyJob], LastEvaluatedKey: { pk: 'JOB#copy-done' } })
      .resolvesOnce({ Items: [doneRestore] });

    // Act
    const result = await reconcile();

    // Assess
    expect(result.checked).toBe(2);
    expect(result.resumed).toEqual(['copy-done', 'restore-done']);
    expect(dynamo).toHaveReceivedNthCommandWith(ScanCommand, 2, {
      ExclusiveStartKey: { pk: 'JOB#copy-done' },
    });
  });

  it('checks nothing when no job is open', async () => {
    // Prepare
    dynamo.on(ScanCommand, JOBS_SCAN).resolves({ Items: [] });

    // Act
    const result = await reconcile();

    // Assess
    expect(result).toMatchObject({ checked: 0, resumed: [], failed: [], slots: { freed: 0, admitted: 0 } });
    expect(backup).not.toHaveReceivedCommand(DescribeCopyJobCommand);
    expect(backup).not.toHaveReceivedCommand(DescribeRestoreJobCommand);
  });

  it('frees the admission slots of drills that no longer run and reports them', async () => {
    // Prepare
    dynamo.on(ScanCommand, JOBS_SCAN).resolves({ Items: [] });
    dynamo.on(ScanCommand, SLOTS_SCAN).resolves({
      Items: [{ pk: 'SLOT#restore#333333333333#us-west-2#RDS', holders: new Set(['rds-ended']), limit: 20 }],
    });
    sfn.on(DescribeExecutionCommand).resolves({ status: 'FAILED' });

    // Act
    const result = await reconcile();

    // Assess
    expect(result.slots).toEqual({ freed: 1, admitted: 0 });
    expect(dynamo).toHaveReceivedCommandWith(UpdateCommand, {
      Key: { pk: 'SLOT#restore#333333333333#us-west-2#RDS' },
      UpdateExpression: 'DELETE holders :me SET updatedAt = :now',
    });
  });

  it('lists the running drills once for every slot holder and describes only those it does not list', async () => {
    // Prepare
    dynamo.on(ScanCommand, JOBS_SCAN).resolves({ Items: [] });
    dynamo.on(ScanCommand, SLOTS_SCAN).resolves({
      Items: [
        {
          pk: 'SLOT#restore#333333333333#us-west-2#RDS',
          holders: new Set(['rds-running-1', 'rds-running-2', 'rds-just-started', 'rds-ended']),
          limit: 20,
        },
      ],
    });
    sfn
      .on(ListExecutionsCommand)
      .resolvesOnce({ executions: [execution('rds-running-1')], nextToken: 'page-2' })
      .resolves({ executions: [execution('rds-running-2')] });
    // Not listed yet (ListExecutions is eventually consistent) but running: it keeps its slot.
    sfn.on(DescribeExecutionCommand, { executionArn: executionArnOf('rds-just-started') }).resolves({
      status: 'RUNNING',
    });
    sfn.on(DescribeExecutionCommand, { executionArn: executionArnOf('rds-ended') }).resolves({
      status: 'SUCCEEDED',
    });

    // Act
    const result = await reconcile();

    // Assess
    expect(result.slots).toEqual({ freed: 1, admitted: 0 });
    expect(sfn).toHaveReceivedCommandTimes(ListExecutionsCommand, 2);
    expect(sfn).toHaveReceivedCommandWith(ListExecutionsCommand, {
      stateMachineArn: expect.stringMatching(/:stateMachine:/),
      statusFilter: 'RUNNING',
    });
    expect(sfn).toHaveReceivedCommandTimes(DescribeExecutionCommand, 2);
    expect(dynamo).toHaveReceivedCommandWith(UpdateCommand, {
      Key: { pk: 'SLOT#restore#333333333333#us-west-2#RDS' },
      UpdateExpression: 'DELETE holders :me SET updatedAt = :now',
      ExpressionAttributeValues: expect.objectContaining({ ':me': new Set(['rds-ended']) }),
    });
  });

  it('describes each slot holder when the running drills cannot be listed', async () => {
    // Prepare
    dynamo.on(ScanCommand, JOBS_SCAN).resolves({ Items: [] });
    dynamo.on(ScanCommand, SLOTS_SCAN).resolves({
      Items: [
        { pk: 'SLOT#restore#333333333333#us-west-2#RDS', holders: new Set(['rds-running-1']), limit: 20 },
      ],
    });
    sfn.on(ListExecutionsCommand).rejects(new Error('throttled'));
    sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING' });

    // Act
    const result = await reconcile();

    // Assess
    expect(result.slots).toEqual({ freed: 0, admitted: 0 });
    expect(sfn).toHaveReceivedCommandTimes(DescribeExecutionCommand, 1);
  });

  it('fails the invocation, after resuming the jobs, when the admission slots cannot be reconciled', async () => {
    // Prepare
    dynamo.on(ScanCommand, SLOTS_SCAN).rejects(new Error('ProvisionedThroughputExceededException'));

    // Act
    const reconciling = reconcile();

    // Assess
    await expect(reconciling).rejects.toThrow('could not reconcile the admission slots');
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 2);
  });
});

function execution(name: string) {
  return {
    name,
    executionArn: `arn:aws:states:us-east-1:222222222222:execution:pilotlight-test-drill:${name}`,
    stateMachineArn: 'arn:aws:states:us-east-1:222222222222:stateMachine:pilotlight-test-drill',
    status: 'RUNNING' as const,
    startDate: new Date('2026-01-05T02:00:00.000Z'),
  };
}
