import {
  BackupClient,
  DescribeRestoreJobCommand,
  InvalidRequestException,
  PutRestoreValidationResultCommand,
} from '@aws-sdk/client-backup';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Drill, DrillState } from '../../functions/lib/drill.js';
import { reportValidating, reportVerdict, verdictOf } from '../../functions/report-validation.js';
import { drillRecordUpdates, dynamo, rdsDrill } from './support.js';

const backup = mockClient(BackupClient);

const JOB_ID = '8F2E4D6C-0B1A-4938-8776-5D4C3B2A1F0E';
const PLAN_ARN =
  'arn:aws:backup:us-west-2:333333333333:restore-testing-plan:pilotlight_daily-2b7e4f1a-9c3d-4e5f-8a6b-1c2d3e4f5a6b';
const TABLE_ARN = 'arn:aws:dynamodb:us-west-2:333333333333:table/awsbackup-restore-test-5e1b7c2d9a4f';
const EXECUTION = `restore-test-${JOB_ID.toLowerCase()}`;

function validationDrill(): Drill {
  return rdsDrill({
    drillId: EXECUTION,
    mode: 'validate',
    trigger: { kind: 'restore-test', jobId: JOB_ID, at: '2026-01-05T05:12:31.000Z' },
    restoreTest: {
      restoreJobId: JOB_ID,
      restoreTestingPlanArn: PLAN_ARN,
      createdResourceArn: TABLE_ARN,
      startedAt: '2026-01-05T05:01:12.000Z',
      completedAt: '2026-01-05T05:12:31.000Z',
    },
  });
}

function verdictInput(state: Partial<DrillState['state']>) {
  return {
    phase: 'verdict' as const,
    executionName: EXECUTION,
    state: { drill: validationDrill(), ...state },
  };
}

const passed = {
  checks: [{ name: 'data: sample orders', passed: true, detail: 'ok' }],
  validatedAt: '2026-01-05T05:20:00.000Z',
};

beforeEach(() => {
  backup.reset();
  dynamo.reset();
  dynamo.on(UpdateCommand).resolves({});
  dynamo.on(GetCommand).resolves({});
  backup.on(DescribeRestoreJobCommand).resolves({ RestoreJobId: JOB_ID, ValidationStatus: 'VALIDATING' });
  backup.on(PutRestoreValidationResultCommand).resolves({});
});

describe('reportValidating', () => {
  it('puts VALIDATING on a job with no status yet and returns the restore it judges', async () => {
    backup.on(DescribeRestoreJobCommand).resolves({ RestoreJobId: JOB_ID });

    const restore = await reportValidating(validationDrill());

    expect(backup).toHaveReceivedCommandTimes(PutRestoreValidationResultCommand, 1);
    expect(backup).toHaveReceivedCommandWith(PutRestoreValidationResultCommand, {
      RestoreJobId: JOB_ID,
      ValidationStatus: 'VALIDATING',
    });
    expect(restore).toEqual({
      restoreJobId: JOB_ID,
      createdResourceArn: TABLE_ARN,
      startedAt: '2026-01-05T05:01:12.000Z',
      completedAt: '2026-01-05T05:12:31.000Z',
    });
  });

  it('puts nothing when a retry finds a status already set', async () => {
    await reportValidating(validationDrill());

    expect(backup).not.toHaveReceivedCommand(PutRestoreValidationResultCommand);
  });
});

describe('reportVerdict', () => {
  it('puts SUCCESSFUL once when every check passed, and records it', async () => {
    const result = await reportVerdict(verdictInput({ health: passed }));

    expect(result).toEqual({ status: 'SUCCESSFUL', message: '1 checks passed', put: true });
    expect(backup).toHaveReceivedCommandTimes(PutRestoreValidationResultCommand, 1);
    expect(backup).toHaveReceivedCommandWith(PutRestoreValidationResultCommand, {
      RestoreJobId: JOB_ID,
      ValidationStatus: 'SUCCESSFUL',
    });
    expect(drillRecordUpdates().at(-1)?.fields).toMatchObject({ validationStatus: 'SUCCESSFUL' });
  });

  it('puts FAILED naming the failing checks the drill record kept', async () => {
    dynamo.on(GetCommand).resolves({
      Item: {
        pk: `DRILL#${EXECUTION}`,
        drillId: EXECUTION,
        updatedAt: '2026-01-05T05:20:00.000Z',
        checks: [
          { name: 'resource-available', passed: true, detail: 'ACTIVE' },
          { name: 'data: sample orders', passed: false, detail: 'observed 2 of 3' },
        ],
      },
    });

    const result = await reportVerdict(
      verdictInput({ error: { Error: 'HealthCheckFailed', Cause: '1 of 2 checks failed' } }),
    );

    expect(result.status).toBe('FAILED');
    expect(backup).toHaveReceivedCommandWith(PutRestoreValidationResultCommand, {
      ValidationStatus: 'FAILED',
      ValidationStatusMessage: 'failed checks: data: sample orders',
    });
  });

  it('puts nothing when the state table already has the final status (a retry after the put)', async () => {
    dynamo.on(GetCommand).resolves({
      Item: {
        pk: `DRILL#${EXECUTION}`,
        drillId: EXECUTION,
        updatedAt: '2026-01-05T05:20:00.000Z',
        validationStatus: 'SUCCESSFUL',
        validationMessage: '1 checks passed',
      },
    });

    const result = await reportVerdict(verdictInput({ health: passed }));

    expect(result).toEqual({ status: 'SUCCESSFUL', message: '1 checks passed', put: false });
    expect(backup).not.toHaveReceivedCommand(PutRestoreValidationResultCommand);
  });

  it('puts nothing when AWS Backup already has a final status', async () => {
    backup.on(DescribeRestoreJobCommand).resolves({ RestoreJobId: JOB_ID, ValidationStatus: 'FAILED' });

    const result = await reportVerdict(verdictInput({ health: passed }));

    expect(result).toMatchObject({ status: 'FAILED', put: false });
    expect(backup).not.toHaveReceivedCommand(PutRestoreValidationResultCommand);
  });

  it('reads back a final status set meanwhile instead of failing on the refused put', async () => {
    backup
      .on(DescribeRestoreJobCommand)
      .resolvesOnce({ RestoreJobId: JOB_ID, ValidationStatus: 'VALIDATING' })
      .resolves({ RestoreJobId: JOB_ID, ValidationStatus: 'SUCCESSFUL' });
    backup
      .on(PutRestoreValidationResultCommand)
      .rejects(new InvalidRequestException({ message: 'final status already set', $metadata: {} }));

    const result = await reportVerdict(verdictInput({ health: passed }));

    expect(result).toMatchObject({ status: 'SUCCESSFUL', put: false });
    expect(backup).toHaveReceivedCommandTimes(PutRestoreValidationResultCommand, 1);
  });

  it('still fails on a refused put when no final status is there', async () => {
    backup
      .on(PutRestoreValidationResultCommand)
      .rejects(new InvalidRequestException({ message: 'not a restore testing job', $metadata: {} }));

    await expect(reportVerdict(verdictInput({ health: passed }))).rejects.toThrow(
      'not a restore testing job',
    );
  });
});

describe('verdictOf', () => {
  it('is TIMED_OUT when the checks ran out of time', () => {
    expect(
      verdictOf({ error: { Error: 'ReadinessTimedOut', Cause: 'table is CREATING 7200 s after' } }).status,
    ).toBe('TIMED_OUT');
    expect(verdictOf({ error: { Error: 'States.Timeout' } }).status).toBe('TIMED_OUT');
  });

  it('is FAILED with the error when no check ran', () => {
    expect(verdictOf({ error: { Error: 'InvalidDrillInput', Cause: 'restore job X is FAILED' } })).toEqual({
      status: 'FAILED',
      message: 'InvalidDrillInput: restore job X is FAILED',
    });
  });
});
