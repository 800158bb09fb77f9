import { createHash } from 'node:crypto';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { decide, drillIdFor, handler } from '../../functions/intake.js';
import type { DrillRequest } from '../../functions/lib/drill.js';
import type { BackupEvent } from '../../functions/lib/events.js';
import { dynamo, lambdaContext, loadEvent, pendingJob, withDetail } from './support.js';

const sfn = mockClient(SFNClient);
const STATE_MACHINE_ARN = 'arn:aws:states:us-east-2:222222222222:stateMachine:pilotlight-test-drill';

function requestOf(decision: Awaited<ReturnType<typeof decide>>): DrillRequest {
  if (!('request' in decision)) throw new Error(`expected a drill request, got skip: ${decision.skip}`);
  return decision.request;
}

function skipOf(decision: Awaited<ReturnType<typeof decide>>): string {
  if (!('skip' in decision)) throw new Error('expected the event to be skipped, got a drill request');
  return decision.skip;
}

beforeEach(() => {
  sfn.reset();
  dynamo.reset();
  dynamo.on(GetCommand).resolves({});
});

describe('decide', () => {
  it('asks for a drill of the recovery point named in resources[0] when an RDS backup job completes', async () => {
    // Prepare
    const event = loadEvent('backup-job-completed-rds');

    // Act
    const request = requestOf(await decide(event));

    // Assess
    expect(request).toEqual({
      mode: 'drill',
      trigger: {
        kind: 'backup-job',
        eventId: '5f8f3c2e-6f0a-4d7e-9c43-1d0b8a7e2c11',
        jobId: '4C1E9A2B-7D3F-4E8A-B5C6-0F1E2D3C4B5A',
        at: '2026-01-05T01:57:59.120Z',
      },
      source: {
        account: '111111111111',
        region: 'us-east-2',
        resourceType: 'RDS',
        resourceArn: 'arn:aws:rds:us-east-2:111111111111:db:orders-db-1',
        recoveryPointArn: event.resources[0],
        backupVaultName: 'Default',
      },
    });
    expect(request.drRecoveryPointArn).toBeUndefined();
  });

  it('asks for a drill of an EBS snapshot when an EBS backup job completes', async () => {
    // Prepare
    const event = loadEvent('backup-job-completed-ebs');

    // Act
    const request = requestOf(await decide(event));

    // Assess
    expect(request.source.resourceType).toBe('EBS');
    expect(request.source.recoveryPointArn).toBe('arn:aws:ec2:us-east-2::snapshot/snap-0a1b2c3d4e5f60718');
  });

  it('skips a backup job that did not complete, saying which state it ended in', async () => {
    // Prepare
    const event = loadEvent('backup-job-failed');

    // Act
    const reason = skipOf(await decide(event));

    // Assess
    expect(reason).toBe('backup job 4C1E9A2B-7D3F-4E8A-B5C6-0F1E2D3C4B5A is FAILED, not COMPLETED');
  });

  it('skips a backup of a resource type that has no resource module', async () => {
    // Prepare
    const event = loadEvent('backup-job-completed-dynamodb');

    // Act
    const reason = skipOf(await decide(event));

    // Assess
    expect(reason).toBe('resource type DynamoDB is not supported (supported: RDS, EBS)');
  });

  it('skips a completed backup job whose event names no recovery point', async () => {
    // Prepare
    const event: BackupEvent = { ...loadEvent('backup-job-completed-rds'), resources: [] };

    // Act
    const reason = skipOf(await decide(event));

    // Assess
    expect(reason).toContain('names no recovery point');
  });

  it('asks for a drill of the DR copy, with no copy step, when a copy into the DR vault completes', async () => {
    // Prepare
    const event = loadEvent('copy-job-completed-dr-vault');

    // Act
    const request = requestOf(await decide(event));

    // Assess
    expect(request).toEqual({
      mode: 'drill',
      trigger: {
        kind: 'copy-job',
        eventId: '2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e',
        jobId: '6A5B4C3D-2E1F-4A0B-9C8D-7E6F5A4B3C2D',
        at: '2026-01-05T02:40:58.000Z',
      },
      source: {
        account: '111111111111',
        region: 'us-east-2',
        resourceType: 'RDS',
        resourceArn: 'arn:aws:rds:us-east-2:111111111111:db:orders-db-1',
        recoveryPointArn:
          'arn:aws:rds:us-east-2:111111111111:snapshot:awsbackup:job-4c1e9a2b-7d3f-4e8a-b5c6-0f1e2d3c4b5a',
        backupVaultName: 'Default',
      },
      drRecoveryPointArn:
        'arn:aws:rds:us-west-2:333333333333:snapshot:awsbackup:copyjob-6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d',
    });
    expect(dynamo).toHaveReceivedCommandWith(GetCommand, {
      TableName: 'pilotlight-test-state',
      Key: { pk: 'JOB#6A5B4C3D-2E1F-4A0B-9C8D-7E6F5A4B3C2D' },
    });
  });

  it('skips a copy job that copied into a vault other than the DR vault', async () => {
    // Prepare
    const base = loadEvent('copy-job-completed-dr-vault');
    const otherVault = 'arn:aws:backup:us-west-2:444444444444:backup-vault:archive';
    const event = withDetail(base, { destinationBackupVaultArn: otherVault });

    // Act
    const reason = skipOf(await decide(event));

    // Assess
    expect(reason).toBe(
      `copy job 6A5B4C3D-2E1F-4A0B-9C8D-7E6F5A4B3C2D copied into ${otherVault}, not the DR vault`,
    );
    expect(dynamo).not.toHaveReceivedCommand(GetCommand);
  });

  it('skips a copy job that Pilotlight itself started for a drill', async () => {
    // Prepare
    const event = loadEvent('copy-job-completed-dr-vault');
    dynamo
      .on(GetCommand, { Key: { pk: 'JOB#6A5B4C3D-2E1F-4A0B-9C8D-7E6F5A4B3C2D' } })
      .resolves({ Item: pendingJob({ jobId: '6A5B4C3D-2E1F-4A0B-9C8D-7E6F5A4B3C2D', kind: 'copy' }) });

    // Act
    const reason = skipOf(await decide(event));

    // Assess
    expect(reason).toBe(
      'copy job 6A5B4C3D-2E1F-4A0B-9C8D-7E6F5A4B3C2D was started by drill rds-20260105T0157-5b0c1f2e9a',
    );
  });

  it('skips a copy job into the DR vault that has not completed', async () => {
    // Prepare
    const base = loadEvent('copy-job-completed-dr-vault');
    const event = withDetail(base, { state: 'RUNNING' });

    // Act
    const reason = skipOf(await decide(event));

    // Assess
    expect(reason).toBe('copy job 6A5B4C3D-2E1F-4A0B-9C8D-7E6F5A4B3C2D is RUNNING, not COMPLETED');
  });

  it('skips an event whose detail-type is not a drill trigger', async () => {
    // Prepare
    const event = loadEvent('restore-job-completed');

    // Act
    const reason = skipOf(await decide(event));

    // Assess
    expect(reason).toBe('detail-type "Restore Job State Change" is not a drill trigger');
  });
});

describe('drillIdFor', () => {
  it('names the drill after the resource type, the trigger time and a hash of the event id', async () => {
    // Prepare
    const event = loadEvent('backup-job-completed-rds');
    const request = requestOf(await decide(event));
    const hash = createHash('sha256').update(event.id).digest('hex').slice(0, 10);

    // Act
    const drillId = drillIdFor(request, event.id);

    // Assess
    expect(drillId).toBe(`rds-20260105T0157-${hash}`);
  });

  it('gives a redelivered event the same drill id and a different event a different one', async () => {
    // Prepare
    const request = requestOf(await decide(loadEvent('backup-job-completed-rds')));

    // Act
    const first = drillIdFor(request, 'event-a');
    const redelivered = drillIdFor(request, 'event-a');
    const other = drillIdFor(request, 'event-b');

    // Assess
    expect(redelivered).toBe(first);
    expect(other).not.toBe(first);
  });
});

describe('handler', () => {
  it('starts the drill state machine with the drill id as execution name and the request as input', async () => {
    // Prepare
    const event = loadEvent('backup-job-completed-rds');
    const request = requestOf(await decide(event));
    const drillId = drillIdFor(request, event.id);
    const executionArn = `arn:aws:states:us-east-2:222222222222:execution:pilotlight-test-drill:${drillId}`;
    sfn.on(StartExecutionCommand).resolves({ executionArn, startDate: new Date() });

    // Act
    const result = await handler(event, lambdaContext());

    // Assess
    expect(result).toEqual({ started: [{ drillId, executionArn }], skipped: [] });
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    const input = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    expect(input?.stateMachineArn).toBe(STATE_MACHINE_ARN);
    expect(input?.name).toBe(drillId);
    expect(JSON.parse(input?.input ?? 'null')).toEqual(request);
  });

  it('reports a redelivered event as a duplicate when its execution already exists', async () => {
    // Prepare
    const event = loadEvent('backup-job-completed-rds');
    const drillId = drillIdFor(requestOf(await decide(event)), event.id);
    sfn
      .on(StartExecutionCommand)
      .rejects(
        new ExecutionAlreadyExists({ message: `Execution Already Exists: '${drillId}'`, $metadata: {} }),
      );

    // Act
    const result = await handler(event, lambdaContext());

    // Assess
    expect(result).toEqual({
      started: [],
      skipped: [{ eventId: event.id, reason: `duplicate event: drill ${drillId} already ran for it` }],
    });
  });

  it('fails the invocation when starting the execution fails for another reason', async () => {
    // Prepare
    const event = loadEvent('backup-job-completed-rds');
    sfn.on(StartExecutionCommand).rejects(new Error('Rate exceeded'));

    // Act
    const invocation = handler(event, lambdaContext());

    // Assess
    await expect(invocation).rejects.toThrow('Rate exceeded');
  });

  it('returns the skip reason and starts nothing for an event that is not a drill trigger', async () => {
    // Prepare
    const event = loadEvent('backup-job-failed');

    // Act
    const result = await handler(event, lambdaContext());

    // Assess
    expect(result.started).toEqual([]);
    expect(result.skipped).toEqual([
      {
        eventId: event.id,
        reason: 'backup job 4C1E9A2B-7D3F-4E8A-B5C6-0F1E2D3C4B5A is FAILED, not COMPLETED',
      },
    ]);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('throws on an input that is not an AWS Backup EventBridge event and starts nothing', async () => {
    // Prepare
    const malformed = { ...loadEvent('manual-drill') };

    // Act
    const invocation = handler(malformed, lambdaContext());

    // Assess
    await expect(invocation).rejects.toThrow();
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('throws on an EventBridge event from a source other than aws.backup', async () => {
    // Prepare
    const event = { ...loadEvent('backup-job-completed-rds'), source: 'aws.ec2' };

    // Act
    const invocation = handler(event, lambdaContext());

    // Assess
    await expect(invocation).rejects.toThrow();
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });
});
