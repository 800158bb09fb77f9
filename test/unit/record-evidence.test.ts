import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand, type PutObjectCommandInput, S3Client } from '@aws-sdk/client-s3';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DrillState } from '../../functions/lib/drill.js';
import { drillStatus } from '../../functions/lib/evidence.js';
import { recordEvidence } from '../../functions/record-evidence.js';
import {
  DRILL_ID,
  drillRecordUpdates,
  dynamo,
  happenedBefore,
  RESTORED_DB_ARN,
  rdsDrill,
  succeededState,
} from './support.js';

const s3 = mockClient(S3Client);

const NOW = new Date('2026-01-05T03:17:00.000Z');
const DAY_MS = 86_400_000;

function putInput(): PutObjectCommandInput {
  const input = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
  if (!input) throw new Error('no PutObject call');
  return input;
}

function storedBody(): string {
  return String(putInput().Body);
}

function storedEvidence(): Record<string, unknown> {
  return JSON.parse(storedBody()) as Record<string, unknown>;
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
  s3.reset();
  dynamo.reset();
  dynamo.on(GetCommand).resolves({});
  dynamo.on(UpdateCommand).resolves({});
  s3.on(PutObjectCommand).resolves({ VersionId: '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY', ETag: '"abc"' });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('recordEvidence', () => {
  it('writes the evidence to the evidence bucket under a dated key, locked in COMPLIANCE mode', async () => {
    // Prepare
    const input = succeededState();

    // Act
    const ref = await recordEvidence(input);

    // Assess
    expect(ref.bucket).toBe('pilotlight-test-evidence');
    expect(ref.key).toBe(`evidence/2026/01/05/${DRILL_ID}.json`);
    expect(ref.versionId).toBe('3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY');
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: 'pilotlight-test-evidence',
      Key: `evidence/2026/01/05/${DRILL_ID}.json`,
      ContentType: 'application/json',
      ObjectLockMode: 'COMPLIANCE',
      Metadata: { 'drill-id': DRILL_ID, status: 'SUCCEEDED' },
    });
  });

  it('retains the evidence until 365 days after it was recorded', async () => {
    // Prepare
    const input = succeededState();

    // Act
    await recordEvidence(input);

    // Assess
    expect(putInput().ObjectLockRetainUntilDate).toEqual(new Date(NOW.getTime() + 365 * DAY_MS));
  });

  it('sends the base64 SHA-256 of the body for S3 to verify and returns the same digest in hex', async () => {
    // Prepare
    const input = succeededState();

    // Act
    const ref = await recordEvidence(input);

    // Assess
    const body = storedBody();
    expect(putInput().ChecksumSHA256).toBe(createHash('sha256').update(body).digest('base64'));
    expect(ref.sha256).toBe(createHash('sha256').update(body).digest('hex'));
  });

  it('records a successful drill with its timeline, checks, RTO and RPO', async () => {
    // Prepare
    const input = succeededState();

    // Act
    await recordEvidence(input);

    // Assess
    expect(storedEvidence()).toMatchObject({
      schemaVersion: 1,
      drillId: DRILL_ID,
      status: 'SUCCEEDED',
      mode: 'drill',
      rtoSeconds: 4621,
      rpoSeconds: 1579,
      rtoTargetSeconds: 14400,
      rtoTargetMet: true,
      restoredResourceArn: RESTORED_DB_ARN,
      checks: [{ name: 'resource-available', passed: true, detail: 'DBInstanceStatus is available' }],
      error: null,
      recordedAt: NOW.toISOString(),
    });
    expect(drillRecordUpdates()).toEqual([
      { pk: `DRILL#${DRILL_ID}`, fields: { status: 'SUCCEEDED', updatedAt: NOW.toISOString() } },
    ]);
  });

  it('records a failed drill as FAILED with the error message, and the checks kept on the drill record', async () => {
    // Prepare
    const failedCheck = { name: 'isolated-network', passed: false, detail: 'public=true' };
    const input: DrillState = {
      executionName: DRILL_ID,
      state: {
        drill: rdsDrill(),
        error: {
          Error: 'HealthCheckFailed',
          Cause: JSON.stringify({
            errorType: 'HealthCheckFailed',
            errorMessage: '1 of 5 checks failed: isolated-network',
          }),
        },
        teardown: { deleted: [RESTORED_DB_ARN], alreadyGone: [], completedAt: '2026-01-05T03:16:00.000Z' },
      },
    };
    dynamo.on(GetCommand, { Key: { pk: `DRILL#${DRILL_ID}` } }).resolves({
      Item: {
        drillId: DRILL_ID,
        checks: [failedCheck],
        createdResourceArn: RESTORED_DB_ARN,
        updatedAt: '2026-01-05T03:16:00.000Z',
      },
    });

    // Act
    await recordEvidence(input);

    // Assess
    expect(storedEvidence()).toMatchObject({
      status: 'FAILED',
      error: { name: 'HealthCheckFailed', message: '1 of 5 checks failed: isolated-network' },
      checks: [failedCheck],
      restoredResourceArn: RESTORED_DB_ARN,
      rtoSeconds: null,
      rtoTargetMet: null,
    });
    expect(putInput().Metadata).toEqual({ 'drill-id': DRILL_ID, status: 'FAILED' });
    expect(drillRecordUpdates()[0]?.fields.status).toBe('FAILED');
  });

  it('records the code version, and for a failed restore the job ids and the restore start kept on the drill record', async () => {
    // Prepare
    const input: DrillState = {
      executionName: DRILL_ID,
      state: {
        drill: rdsDrill(),
        error: { Error: 'RestoreJobFailed', Cause: 'restore job ended FAILED' },
        teardown: { deleted: [], alreadyGone: [], completedAt: '2026-01-05T03:16:00.000Z' },
      },
    };
    dynamo.on(GetCommand, { Key: { pk: `DRILL#${DRILL_ID}` } }).resolves({
      Item: {
        drillId: DRILL_ID,
        copyJobId: 'COPY-1',
        drRecoveryPointArn: 'arn:aws:rds:us-west-2:333333333333:snapshot:awsbackup:copyjob-1',
        restoreJobId: 'RESTORE-1',
        restoreRequestedAt: '2026-01-05T02:40:00.000Z',
        updatedAt: '2026-01-05T03:16:00.000Z',
      },
    });

    // Act
    await recordEvidence(input);

    // Assess
    const evidence = storedEvidence() as {
      timeline: { step: string; startedAt?: string; endedAt?: string }[];
    };
    expect(evidence).toMatchObject({
      codeVersion: '0.0.0-test',
      copy: {
        copyJobId: 'COPY-1',
        drRecoveryPointArn: 'arn:aws:rds:us-west-2:333333333333:snapshot:awsbackup:copyjob-1',
        skipped: false,
      },
      restore: { restoreJobId: 'RESTORE-1', startedAt: '2026-01-05T02:40:00.000Z' },
    });
    expect(evidence.timeline.find((step) => step.step === 'restore')).toEqual({
      step: 'restore',
      startedAt: '2026-01-05T02:40:00.000Z',
      seconds: null,
    });
  });

  it('records a drill whose teardown failed as FAILED', async () => {
    // Prepare
    const input = succeededState({
      teardownError: { Error: 'TeardownIncomplete', Cause: 'could not delete' },
    });

    // Act
    await recordEvidence(input);

    // Assess
    expect(storedEvidence()).toMatchObject({
      status: 'FAILED',
      teardownError: { name: 'TeardownIncomplete', message: 'could not delete' },
    });
  });

  it('finishes the claim on the recovery point once the evidence is recorded, so a manual start may re-drill it', async () => {
    // Prepare
    const input = succeededState();
    const claimKey = `CLAIM#drill#${rdsDrill().source.recoveryPointArn}`;

    // Act
    await recordEvidence(input);

    // Assess
    expect(dynamo).toHaveReceivedCommandWith(UpdateCommand, {
      Key: { pk: claimKey },
      UpdateExpression: 'SET #status = :finished, finishedAt = :now',
      ConditionExpression: 'drillId = :me',
      ExpressionAttributeValues: { ':finished': 'FINISHED', ':me': DRILL_ID, ':now': NOW.toISOString() },
    });
    const evidenceWritten = s3.commandCalls(PutObjectCommand)[0];
    const claimUpdate = dynamo
      .commandCalls(UpdateCommand)
      .find((call) => call.args[0].input.Key?.pk === claimKey);
    expect(happenedBefore(evidenceWritten, claimUpdate)).toBe(true);
  });

  it('finishes the claim named by the request when the drill failed before it was prepared', async () => {
    // Prepare
    const recoveryPointArn = 'arn:aws:rds:us-east-2:111111111111:snapshot:awsbackup:job-1';
    const input = {
      executionName: 'failover-orders-db',
      state: {
        request: {
          mode: 'failover',
          source: { account: '111111111111', region: 'us-east-2', resourceType: 'RDS', recoveryPointArn },
        },
        error: { Error: 'DrillAlreadyRunning', Cause: 'held by another drill' },
      },
    } as DrillState;

    // Act
    await recordEvidence(input);

    // Assess
    expect(dynamo).toHaveReceivedCommandWith(UpdateCommand, {
      Key: { pk: `CLAIM#failover#${recoveryPointArn}` },
      ExpressionAttributeValues: expect.objectContaining({ ':me': 'failover-orders-db' }),
    });
    expect(storedEvidence()).toMatchObject({ mode: 'failover', status: 'FAILED' });
  });

  it('records the evidence even when the claim is held by another drill now', async () => {
    // Prepare
    const input = succeededState();
    dynamo
      .on(UpdateCommand, { Key: { pk: `CLAIM#drill#${rdsDrill().source.recoveryPointArn}` } })
      .rejects(
        new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }),
      );

    // Act
    const ref = await recordEvidence(input);

    // Assess
    expect(ref.bucket).toBe('pilotlight-test-evidence');
    expect(drillRecordUpdates()[0]?.fields.status).toBe('SUCCEEDED');
  });

  it('reports the queued seconds, the two slot waits in the timeline, and leaves the queue out of the RTO', async () => {
    // Prepare: 4621 s from trigger to validation, of which 300 + 321 s waiting for slots.
    const input = succeededState({
      copySlot: {
        pool: 'copy#111111111111#us-west-2',
        queuedSeconds: 300,
        admittedAt: '2026-01-05T02:02:00.000Z',
      },
      restoreSlot: {
        pool: 'restore#333333333333#us-west-2#RDS',
        queuedSeconds: 321,
        admittedAt: '2026-01-05T02:41:20.000Z',
      },
    });

    // Act
    await recordEvidence(input);

    // Assess
    const evidence = storedEvidence() as { timeline: { step: string; seconds: number | null }[] };
    expect(evidence).toMatchObject({ queuedSeconds: 621, rtoSeconds: 4000, rtoTargetMet: true });
    expect(evidence.timeline.map((step) => step.step)).toEqual([
      'prepare',
      'wait for a copy slot',
      'copy',
      'wait for a restore slot',
      'restore',
      'validate',
      'teardown',
    ]);
    expect(evidence.timeline[1]).toMatchObject({ step: 'wait for a copy slot', seconds: 210 });
    expect(evidence.timeline[3]).toMatchObject({ step: 'wait for a restore slot', seconds: 22 });
  });

  it('counts a drill whose evidence step failed as FAILED', () => {
    expect(drillStatus(succeededState().state)).toBe('SUCCEEDED');
    expect(drillStatus(succeededState({ evidenceError: { Error: 'AccessDenied' } }).state)).toBe('FAILED');
  });
});
