import { BackupClient, DescribeCopyJobCommand, DescribeRestoreJobCommand } from '@aws-sdk/client-backup';
import {
  ConditionalCheckFailedException,
  ProvisionedThroughputExceededException,
} from '@aws-sdk/client-dynamodb';
import {
  AddTagsToResourceCommand,
  DeleteDBInstanceCommand,
  ListTagsForResourceCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import {
  InvalidToken,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BackupEvent } from '../../functions/lib/events.js';
import { type JobOutcome, resumeDrill } from '../../functions/lib/resume.js';
import { handler } from '../../functions/resume-drill.js';
import {
  DR_RECOVERY_POINT_ARN,
  DRILL_ID,
  drillRecordUpdates,
  dynamo,
  happenedBefore,
  jobUpdates,
  lambdaContext,
  loadEvent,
  pendingJob,
  RESTORED_DB_ARN,
  withDetail,
} from './support.js';

const sfn = mockClient(SFNClient);
const rds = mockClient(RDSClient);
const backup = mockClient(BackupClient);

const RESTORE_JOB_ID = '1A2B3C4D-5E6F-4A7B-8C9D-0E1F2A3B4C5D';
const COPY_JOB_ID = '6A5B4C3D-2E1F-4A0B-9C8D-7E6F5A4B3C2D';
const CREATED_ARN = 'arn:aws:rds:us-west-2:333333333333:db:someone-elses-restore';

const restoreCompleted: JobOutcome = {
  jobId: RESTORE_JOB_ID,
  state: 'COMPLETED',
  createdResourceArn: RESTORED_DB_ARN,
  startedAt: '2026-01-05T02:41:30.000Z',
  completedAt: '2026-01-05T03:10:31.000Z',
};

function taskTimedOut(): TaskTimedOut {
  return new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} });
}

function restoreEvent(changes: Record<string, unknown> = {}): BackupEvent {
  return withDetail(loadEvent('restore-job-completed'), changes);
}

function waitingFor(jobId: string, job = pendingJob({ jobId })) {
  dynamo.on(GetCommand, { Key: { pk: `JOB#${jobId}` } }).resolves({ Item: job });
}

beforeEach(() => {
  sfn.reset();
  rds.reset();
  backup.reset();
  dynamo.reset();
  dynamo.on(GetCommand).resolves({});
  dynamo.on(UpdateCommand).resolves({});
  sfn.on(SendTaskSuccessCommand).resolves({});
  sfn.on(SendTaskFailureCommand).resolves({});
  rds.on(AddTagsToResourceCommand).resolves({});
  rds.on(DeleteDBInstanceCommand).resolves({});
});

describe('resumeDrill', () => {
  it('claims the job with a conditional update so only one resumer sends the callback', async () => {
    // Prepare
    const job = pendingJob();

    // Act
    await resumeDrill(job, restoreCompleted);

    // Assess
    expect(jobUpdates()[0]).toMatchObject({
      TableName: 'pilotlight-test-state',
      Key: { pk: `JOB#${RESTORE_JOB_ID}` },
      ConditionExpression: '#status = :pending',
      ExpressionAttributeValues: { ':resolved': 'RESOLVED', ':pending': 'PENDING' },
      // Out of the index of open jobs the job check queries.
      UpdateExpression: expect.stringMatching(/ REMOVE openJob$/),
    });
  });

  it('does nothing when the job was already claimed by someone else', async () => {
    // Prepare
    dynamo
      .on(UpdateCommand, { Key: { pk: `JOB#${RESTORE_JOB_ID}` } })
      .rejects(
        new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }),
      );

    // Act
    const result = await resumeDrill(pendingJob(), restoreCompleted);

    // Assess
    expect(result).toBe('already-resolved');
    expect(sfn).not.toHaveReceivedAnyCommand();
    expect(rds).not.toHaveReceivedAnyCommand();
  });

  it('fails without calling Step Functions when the claim fails for a reason other than a lost race', async () => {
    // Prepare
    dynamo
      .on(UpdateCommand)
      .rejects(new ProvisionedThroughputExceededException({ message: 'Throughput exceeded', $metadata: {} }));

    // Act
    const resuming = resumeDrill(pendingJob(), restoreCompleted);

    // Assess
    await expect(resuming).rejects.toBeInstanceOf(ProvisionedThroughputExceededException);
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('tags the restored instance before it tells the drill the restore completed', async () => {
    // Prepare
    const order: string[] = [];
    rds.on(AddTagsToResourceCommand).callsFake(() => {
      order.push('tag');
      return {};
    });
    sfn.on(SendTaskSuccessCommand).callsFake(() => {
      order.push('send-task-success');
      return {};
    });

    // Act
    const result = await resumeDrill(pendingJob(), restoreCompleted);

    // Assess
    expect(result).toBe('resumed');
    expect(order).toEqual(['tag', 'send-task-success']);
    expect(rds).toHaveReceivedCommandWith(AddTagsToResourceCommand, {
      ResourceName: RESTORED_DB_ARN,
      Tags: [
        { Key: 'pilotlight:drill-id', Value: DRILL_ID },
        { Key: 'pilotlight:managed', Value: 'true' },
        { Key: 'pilotlight:mode', Value: 'drill' },
        {
          Key: 'pilotlight:owner',
          Value: 'arn:aws:states:us-east-2:222222222222:stateMachine:pilotlight-test-drill',
        },
      ],
    });
  });

  it('sends the restore result, with the created resource, as the task output', async () => {
    // Prepare
    const job = pendingJob();

    // Act
    await resumeDrill(job, restoreCompleted);

    // Assess
    const call = sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input;
    expect(call?.taskToken).toBe(job.taskToken);
    expect(JSON.parse(call?.output ?? 'null')).toEqual({
      restoreJobId: RESTORE_JOB_ID,
      createdResourceArn: RESTORED_DB_ARN,
      startedAt: '2026-01-05T02:41:30.000Z',
      completedAt: '2026-01-05T03:10:31.000Z',
    });
  });

  it('records the created resource on the drill record so teardown can find it', async () => {
    // Prepare
    const job = pendingJob();

    // Act
    await resumeDrill(job, restoreCompleted);

    // Assess
    expect(drillRecordUpdates()).toEqual([
      {
        pk: `DRILL#${DRILL_ID}`,
        fields: { createdResourceArn: RESTORED_DB_ARN, updatedAt: expect.any(String) },
      },
    ]);
  });

  it('sends the DR recovery point as the output of a completed copy', async () => {
    // Prepare
    const job = pendingJob({ jobId: COPY_JOB_ID, kind: 'copy', taskToken: 'copy-token' });
    const outcome: JobOutcome = {
      jobId: COPY_JOB_ID,
      state: 'COMPLETED',
      drRecoveryPointArn: DR_RECOVERY_POINT_ARN,
      startedAt: '2026-01-05T02:02:10.000Z',
      completedAt: '2026-01-05T02:40:58.000Z',
    };

    // Act
    const result = await resumeDrill(job, outcome);

    // Assess
    expect(result).toBe('resumed');
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, {
      taskToken: 'copy-token',
      output: JSON.stringify({
        copyJobId: COPY_JOB_ID,
        drRecoveryPointArn: DR_RECOVERY_POINT_ARN,
        skipped: false,
        startedAt: '2026-01-05T02:02:10.000Z',
        completedAt: '2026-01-05T02:40:58.000Z',
      }),
    });
    expect(rds).not.toHaveReceivedAnyCommand();
  });

  it('fails the waiting task with RestoreJobFailed when the restore job failed', async () => {
    // Prepare
    const outcome: JobOutcome = {
      jobId: RESTORE_JOB_ID,
      state: 'FAILED',
      statusMessage: 'Insufficient capacity',
    };

    // Act
    const result = await resumeDrill(pendingJob(), outcome);

    // Assess
    expect(result).toBe('resumed');
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, {
      taskToken: pendingJob().taskToken,
      error: 'RestoreJobFailed',
      cause: `restore job ${RESTORE_JOB_ID} ended FAILED: Insufficient capacity`,
    });
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
    expect(rds).not.toHaveReceivedAnyCommand();
  });

  it('fails the waiting task with CopyJobFailed when the copy job expired', async () => {
    // Prepare
    const job = pendingJob({ jobId: COPY_JOB_ID, kind: 'copy' });

    // Act
    await resumeDrill(job, { jobId: COPY_JOB_ID, state: 'EXPIRED' });

    // Assess
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, {
      error: 'CopyJobFailed',
      cause: `copy job ${COPY_JOB_ID} ended EXPIRED`,
    });
  });

  it('deletes a restore that finished after its drill timed out when it carries the drill tag', async () => {
    // Prepare
    sfn.on(SendTaskSuccessCommand).rejects(taskTimedOut());
    rds
      .on(ListTagsForResourceCommand)
      .resolves({ TagList: [{ Key: 'pilotlight:drill-id', Value: DRILL_ID }] });

    // Act
    const result = await resumeDrill(pendingJob(), restoreCompleted);

    // Assess
    expect(result).toBe('drill-closed');
    expect(rds).toHaveReceivedCommandWith(DeleteDBInstanceCommand, {
      DBInstanceIdentifier: 'pl-rds-20260105t0157-5b0c1f2e9a',
    });
    expect(jobUpdates()).toHaveLength(1);
  });

  it('leaves a late restore alone when it does not carry the drill tag', async () => {
    // Prepare
    sfn.on(SendTaskSuccessCommand).rejects(new InvalidToken({ message: 'Invalid token', $metadata: {} }));
    rds
      .on(ListTagsForResourceCommand)
      .resolves({ TagList: [{ Key: 'pilotlight:drill-id', Value: 'another-drill' }] });

    // Act
    const result = await resumeDrill(pendingJob(), restoreCompleted);

    // Assess
    expect(result).toBe('drill-closed');
    expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
  });

  it("tags, then deletes, a late restore that carries no drill tag (its own restore job proves it is the drill's)", async () => {
    // Prepare: the drill timed out; the resource reads back untagged (e.g. tagging had not taken effect).
    sfn.on(SendTaskSuccessCommand).rejects(taskTimedOut());
    rds.on(ListTagsForResourceCommand).resolves({ TagList: [] });

    // Act
    const result = await resumeDrill(pendingJob(), restoreCompleted);

    // Assess
    expect(result).toBe('drill-closed');
    const tagged = rds.commandCalls(AddTagsToResourceCommand).at(-1);
    const deleted = rds.commandCalls(DeleteDBInstanceCommand)[0];
    expect(rds).toHaveReceivedCommandWith(AddTagsToResourceCommand, {
      ResourceName: RESTORED_DB_ARN,
      Tags: expect.arrayContaining([{ Key: 'pilotlight:drill-id', Value: DRILL_ID }]),
    });
    expect(rds).toHaveReceivedCommandTimes(AddTagsToResourceCommand, 2);
    expect(happenedBefore(tagged, deleted)).toBe(true);
  });

  it('keeps a late failover restore', async () => {
    // Prepare
    sfn.on(SendTaskSuccessCommand).rejects(taskTimedOut());
    rds
      .on(ListTagsForResourceCommand)
      .resolves({ TagList: [{ Key: 'pilotlight:drill-id', Value: DRILL_ID }] });

    // Act
    const result = await resumeDrill(pendingJob({ mode: 'failover' }), restoreCompleted);

    // Assess
    expect(result).toBe('drill-closed');
    expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
  });

  it('releases the job back to PENDING and rethrows when Step Functions fails for another reason', async () => {
    // Prepare
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    sfn.on(SendTaskSuccessCommand).rejects(throttled);

    // Act
    const resuming = resumeDrill(pendingJob(), restoreCompleted);

    // Assess
    await expect(resuming).rejects.toThrow('Rate exceeded');
    const updates = jobUpdates();
    expect(updates).toHaveLength(2);
    expect(updates[1]).toMatchObject({
      Key: { pk: `JOB#${RESTORE_JOB_ID}` },
      UpdateExpression: 'SET #status = :pending, openJob = :open',
      ExpressionAttributeValues: { ':pending': 'PENDING', ':open': 'PENDING' },
    });
    expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
  });

  it('releases the job and rethrows when a completed restore reports no created resource', async () => {
    // Prepare
    const outcome: JobOutcome = { jobId: RESTORE_JOB_ID, state: 'COMPLETED' };

    // Act
    const resuming = resumeDrill(pendingJob(), outcome);

    // Assess
    await expect(resuming).rejects.toThrow('reports no created resource');
    expect(jobUpdates()[1]?.ExpressionAttributeValues).toEqual({ ':pending': 'PENDING', ':open': 'PENDING' });
    expect(sfn).not.toHaveReceivedAnyCommand();
  });
});

function restoreInBackup(status: string, changes: Record<string, unknown> = {}) {
  backup.on(DescribeRestoreJobCommand, { RestoreJobId: RESTORE_JOB_ID }).resolves({
    RestoreJobId: RESTORE_JOB_ID,
    Status: status as 'COMPLETED',
    CreatedResourceArn: status === 'COMPLETED' ? RESTORED_DB_ARN : undefined,
    CreationDate: new Date('2026-01-05T02:41:30.000Z'),
    CompletionDate: new Date('2026-01-05T03:10:31.000Z'),
    ...changes,
  });
}

describe('resume-drill handler', () => {
  beforeEach(() => {
    backup.reset();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('resumes the drill with the resource AWS Backup says the job created, never the one the event names', async () => {
    // Prepare: the event names someone else's instance; DescribeRestoreJob in the DR account names ours.
    waitingFor(RESTORE_JOB_ID);
    restoreInBackup('COMPLETED');

    // Act
    const result = await handler(restoreEvent({ createdResourceArn: CREATED_ARN }), lambdaContext());

    // Assess
    expect(result).toEqual({ resumed: true, jobId: RESTORE_JOB_ID, drillId: DRILL_ID });
    expect(dynamo).toHaveReceivedCommandWith(GetCommand, {
      TableName: 'pilotlight-test-state',
      Key: { pk: `JOB#${RESTORE_JOB_ID}` },
      ConsistentRead: true,
    });
    expect(rds).toHaveReceivedCommandWith(AddTagsToResourceCommand, { ResourceName: RESTORED_DB_ARN });
    expect(rds).not.toHaveReceivedCommandWith(AddTagsToResourceCommand, { ResourceName: CREATED_ARN });
    const output = JSON.parse(sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input.output ?? 'null');
    expect(output).toEqual({
      restoreJobId: RESTORE_JOB_ID,
      createdResourceArn: RESTORED_DB_ARN,
      startedAt: '2026-01-05T02:41:30.000Z',
      completedAt: '2026-01-05T03:10:31.000Z',
    });
  });

  it('does not resume on a forged COMPLETED event while AWS Backup says the job still runs', async () => {
    // Prepare
    waitingFor(RESTORE_JOB_ID);
    restoreInBackup('RUNNING');

    // Act
    const result = await handler(restoreEvent({ createdResourceArn: CREATED_ARN }), lambdaContext());

    // Assess
    expect(result).toEqual({
      resumed: false,
      reason: `job ${RESTORE_JOB_ID} is RUNNING in AWS Backup, not finished`,
    });
    expect(rds).not.toHaveReceivedAnyCommand();
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('fails the drill at once with the real error when the restored resource cannot be tagged', async () => {
    // Prepare
    waitingFor(RESTORE_JOB_ID);
    restoreInBackup('COMPLETED');
    rds.on(AddTagsToResourceCommand).rejects(
      Object.assign(new Error('not authorized to perform rds:AddTagsToResource'), {
        name: 'AccessDenied',
        $fault: 'client',
      }),
    );

    // Act
    const result = await handler(restoreEvent(), lambdaContext());

    // Assess
    expect(result).toEqual({ resumed: true, jobId: RESTORE_JOB_ID, drillId: DRILL_ID });
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, {
      error: 'RestoreNotTagged',
      cause: expect.stringContaining('AccessDenied: not authorized to perform rds:AddTagsToResource'),
    });
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
    // The resource is on the drill record before tagging, so teardown still finds it.
    expect(drillRecordUpdates()[0]?.fields).toMatchObject({ createdResourceArn: RESTORED_DB_ARN });
  });

  it('gives the job back for a later retry when tagging is only throttled', async () => {
    // Prepare: 14 minutes after the restore completed.
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-01-05T03:24:31.000Z') });
    waitingFor(RESTORE_JOB_ID);
    restoreInBackup('COMPLETED');
    rds
      .on(AddTagsToResourceCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client' }));

    // Act
    const invocation = handler(restoreEvent(), lambdaContext());

    // Assess
    await expect(invocation).rejects.toThrow('Rate exceeded');
    expect(sfn).not.toHaveReceivedAnyCommand();
    expect(jobUpdates().at(-1)?.ExpressionAttributeValues).toEqual({
      ':pending': 'PENDING',
      ':open': 'PENDING',
    });
  });

  it('fails the drill with RestoreNotTagged once throttled tagging has failed for 15 minutes after the restore', async () => {
    // Prepare: 16 minutes after the restore completed, tagging still throttled.
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-01-05T03:26:31.000Z') });
    waitingFor(RESTORE_JOB_ID);
    restoreInBackup('COMPLETED');
    rds
      .on(AddTagsToResourceCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client' }));

    // Act
    const result = await handler(restoreEvent(), lambdaContext());

    // Assess
    expect(result).toEqual({ resumed: true, jobId: RESTORE_JOB_ID, drillId: DRILL_ID });
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, {
      error: 'RestoreNotTagged',
      cause: expect.stringContaining(
        'still failing 16 minutes after the restore completed: ThrottlingException: Rate exceeded',
      ),
    });
    expect(drillRecordUpdates()[0]?.fields).toMatchObject({ createdResourceArn: RESTORED_DB_ARN });
  });

  it('fails the waiting task with RestoreJobFailed when the restore event reports FAILED', async () => {
    // Prepare
    waitingFor(RESTORE_JOB_ID);
    restoreInBackup('FAILED', { StatusMessage: 'Access denied' });
    const event = restoreEvent({
      status: 'FAILED',
      createdResourceArn: undefined,
      statusMessage: 'Access denied',
    });

    // Act
    const result = await handler(event, lambdaContext());

    // Assess
    expect(result).toEqual({ resumed: true, jobId: RESTORE_JOB_ID, drillId: DRILL_ID });
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, {
      error: 'RestoreJobFailed',
      cause: `restore job ${RESTORE_JOB_ID} ended FAILED: Access denied`,
    });
  });

  it('fails the waiting task with CopyJobFailed when a copy event reports FAILED', async () => {
    // Prepare
    waitingFor(
      COPY_JOB_ID,
      pendingJob({ jobId: COPY_JOB_ID, kind: 'copy', account: '111111111111', region: 'us-east-2' }),
    );
    backup.on(DescribeCopyJobCommand).resolves({ CopyJob: { CopyJobId: COPY_JOB_ID, State: 'FAILED' } });
    const base = loadEvent('copy-job-completed-dr-vault');
    const event = withDetail(base, { state: 'FAILED' });

    // Act
    const result = await handler(event, lambdaContext());

    // Assess
    expect(result).toEqual({ resumed: true, jobId: COPY_JOB_ID, drillId: DRILL_ID });
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { error: 'CopyJobFailed' });
  });

  it('reports that nobody waits for a restore job Pilotlight did not start', async () => {
    // Prepare
    const event = restoreEvent();

    // Act
    const result = await handler(event, lambdaContext());

    // Assess
    expect(result).toEqual({ resumed: false, reason: `no drill waits for job ${RESTORE_JOB_ID}` });
    expect(sfn).not.toHaveReceivedAnyCommand();
    expect(rds).not.toHaveReceivedAnyCommand();
  });

  it('ignores a job that has not finished, without looking it up', async () => {
    // Prepare
    const event = restoreEvent({ status: 'RUNNING', createdResourceArn: undefined });

    // Act
    const result = await handler(event, lambdaContext());

    // Assess
    expect(result).toEqual({ resumed: false, reason: `job ${RESTORE_JOB_ID} is RUNNING, not finished` });
    expect(dynamo).not.toHaveReceivedAnyCommand();
  });

  it('reports a job another resumer already handled, without calling Step Functions', async () => {
    // Prepare
    waitingFor(RESTORE_JOB_ID);
    restoreInBackup('COMPLETED');
    dynamo
      .on(UpdateCommand)
      .rejects(
        new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }),
      );

    // Act
    const result = await handler(restoreEvent(), lambdaContext());

    // Assess
    expect(result).toEqual({
      resumed: false,
      reason: `job ${RESTORE_JOB_ID} was already handled (already-resolved)`,
    });
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('does not resume drills on a backup job event', async () => {
    // Prepare
    const event = loadEvent('backup-job-completed-rds');

    // Act
    const result = await handler(event, lambdaContext());

    // Assess
    expect(result).toEqual({
      resumed: false,
      reason: 'detail-type "Backup Job State Change" does not resume drills',
    });
    expect(dynamo).not.toHaveReceivedAnyCommand();
  });

  it('throws on an input that is not an AWS Backup event', async () => {
    // Prepare
    const malformed = { detail: { restoreJobId: RESTORE_JOB_ID, status: 'COMPLETED' } };

    // Act
    const invocation = handler(malformed, lambdaContext());

    // Assess
    await expect(invocation).rejects.toThrow();
    expect(sfn).not.toHaveReceivedAnyCommand();
  });
});
