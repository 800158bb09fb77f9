import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { decide, drillIdFor, handler, startDrill } from '../../functions/intake.js';
import type { DrillRequest } from '../../functions/lib/drill.js';
import type { BackupEvent } from '../../functions/lib/events.js';
import { supportedResourceTypes } from '../../functions/resources/index.js';
import { dynamo, happenedBefore, lambdaContext, loadEvent, pendingJob, withDetail } from './support.js';

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
  dynamo.on(PutCommand).resolves({});
  stdout = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(String(chunk));
    return true;
  });
});

afterEach(() => {
  vi.restoreAllMocks();
});

let stdout: string[] = [];

/** The names of the EMF metrics the handler printed. */
function emfMetricNames(): string[] {
  return stdout
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.includes('"_aws"'))
    .flatMap((line) =>
      (
        JSON.parse(line) as { _aws: { CloudWatchMetrics: { Metrics: { Name: string }[] }[] } }
      )._aws.CloudWatchMetrics.flatMap((group) => group.Metrics.map((metric) => metric.Name)),
    );
}

const RDS_RECOVERY_POINT =
  'arn:aws:rds:us-east-2:111111111111:snapshot:awsbackup:job-4c1e9a2b-7d3f-4e8a-b5c6-0f1e2d3c4b5a';
const CLAIM_PK = `CLAIM#drill#${RDS_RECOVERY_POINT}`;

function conditionFailed(): ConditionalCheckFailedException {
  return new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
}

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
    const event = withDetail(loadEvent('backup-job-completed-rds'), {
      resourceType: 'VirtualMachine',
      resourceArn: 'arn:aws:backup-gateway:us-east-2:111111111111:vm/vm-0123456789abcdef0',
    });

    // Act
    const reason = skipOf(await decide(event));

    // Assess
    expect(reason).toBe(
      `resource type VirtualMachine is not supported (supported: ${supportedResourceTypes.join(', ')})`,
    );
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
  it('names the drill after the resource type, the trigger time and a hash of the mode and recovery point', async () => {
    // Prepare
    const event = loadEvent('backup-job-completed-rds');
    const request = requestOf(await decide(event));
    const hash = createHash('sha256').update(`drill|${RDS_RECOVERY_POINT}`).digest('hex').slice(0, 12);

    // Act
    const drillId = drillIdFor(request);

    // Assess
    expect(drillId).toBe(`rds-20260105T0157-${hash}`);
  });

  it('gives the same backup redelivered under another event id the same drill id, another recovery point or mode a different one', async () => {
    // Prepare
    const request = requestOf(await decide(loadEvent('backup-job-completed-rds')));
    const redelivered: DrillRequest = {
      ...request,
      trigger: { kind: 'backup-job', eventId: 'another-event-id', jobId: 'X', at: request.trigger?.at ?? '' },
    };
    const otherPoint: DrillRequest = {
      ...request,
      source: { ...request.source, recoveryPointArn: `${RDS_RECOVERY_POINT}-other` },
    };
    const failover: DrillRequest = { ...request, mode: 'failover' };

    // Act
    const first = drillIdFor(request);
    const again = drillIdFor(redelivered);
    const other = drillIdFor(otherPoint);
    const otherMode = drillIdFor(failover);

    // Assess
    expect(again).toBe(first);
    expect(other).not.toBe(first);
    expect(otherMode).not.toBe(first);
  });
});

describe('startDrill', () => {
  it('claims the recovery point with a conditional write before starting the execution', async () => {
    // Prepare
    const request = requestOf(await decide(loadEvent('backup-job-completed-rds')));
    const drillId = drillIdFor(request);
    sfn.on(StartExecutionCommand).resolves({ executionArn: `arn:exec:${drillId}`, startDate: new Date() });

    // Act
    const result = await startDrill(request, 'event-1');

    // Assess
    expect(result.started).toEqual([{ drillId, executionArn: `arn:exec:${drillId}` }]);
    expect(dynamo).toHaveReceivedCommandTimes(PutCommand, 1);
    const put = dynamo.commandCalls(PutCommand)[0]?.args[0].input;
    expect(put?.Item).toMatchObject({ pk: CLAIM_PK, drillId, status: 'RUNNING', mode: 'drill' });
    expect(put?.ConditionExpression).toBe('attribute_not_exists(pk) OR drillId = :me');
    expect(put?.ExpressionAttributeValues).toEqual({ ':me': drillId });
    expect(put?.ReturnValues).toBe('ALL_OLD');
    const claimOrder = dynamo.commandCalls(PutCommand)[0];
    const startOrder = sfn.commandCalls(StartExecutionCommand)[0];
    expect(happenedBefore(claimOrder, startOrder)).toBe(true);
  });

  it('skips, naming the holder, and starts nothing when another drill is running on the recovery point', async () => {
    // Prepare
    const request = requestOf(await decide(loadEvent('backup-job-completed-rds')));
    dynamo.on(PutCommand).rejects(conditionFailed());
    dynamo.on(GetCommand, { Key: { pk: CLAIM_PK } }).resolves({
      Item: { pk: CLAIM_PK, drillId: 'rds-manual-holder', status: 'RUNNING', claimedAt: TRIGGERED_AT_ISO },
    });

    // Act
    const result = await startDrill(request, 'event-2');

    // Assess
    expect(result).toEqual({
      started: [],
      skipped: [
        {
          eventId: 'event-2',
          reason: `recovery point ${RDS_RECOVERY_POINT} is already being drilled by rds-manual-holder`,
        },
      ],
      rejected: [],
      deferred: [],
    });
    expect(dynamo).toHaveReceivedCommandWith(GetCommand, { Key: { pk: CLAIM_PK }, ConsistentRead: true });
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('skips a trigger for a recovery point whose drill has finished (only a manual start re-drills it)', async () => {
    // Prepare
    const request = requestOf(await decide(loadEvent('backup-job-completed-rds')));
    dynamo.on(PutCommand).rejects(conditionFailed());
    dynamo.on(GetCommand, { Key: { pk: CLAIM_PK } }).resolves({
      Item: {
        pk: CLAIM_PK,
        drillId: 'rds-earlier',
        status: 'FINISHED',
        claimedAt: TRIGGERED_AT_ISO,
        finishedAt: TRIGGERED_AT_ISO,
      },
    });

    // Act
    const result = await startDrill(request, 'event-3');

    // Assess
    expect(result.skipped).toEqual([
      {
        eventId: 'event-3',
        reason: `recovery point ${RDS_RECOVERY_POINT} was already drilled by rds-earlier (a manual start re-drills it)`,
      },
    ]);
    expect(dynamo.commandCalls(PutCommand)[0]?.args[0].input.ConditionExpression).not.toContain(':finished');
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('fails, starting nothing, when the claim cannot be written for a reason other than its condition', async () => {
    // Prepare
    const request = requestOf(await decide(loadEvent('backup-job-completed-rds')));
    dynamo.on(PutCommand).rejects(new Error('ProvisionedThroughputExceeded'));

    // Act
    const started = startDrill(request, 'event-4');

    // Assess
    await expect(started).rejects.toThrow('ProvisionedThroughputExceeded');
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });
});

const TRIGGERED_AT_ISO = '2026-01-05T01:57:59.120Z';

describe('handler', () => {
  it('starts the drill state machine with the drill id as execution name and the request as input', async () => {
    // Prepare
    const event = loadEvent('backup-job-completed-rds');
    const request = requestOf(await decide(event));
    const drillId = drillIdFor(request);
    const executionArn = `arn:aws:states:us-east-2:222222222222:execution:pilotlight-test-drill:${drillId}`;
    sfn.on(StartExecutionCommand).resolves({ executionArn, startDate: new Date() });

    // Act
    const result = await handler(event, lambdaContext());

    // Assess
    expect(result).toEqual({ started: [{ drillId, executionArn }], skipped: [], rejected: [], deferred: [] });
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    const input = sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input;
    expect(input?.stateMachineArn).toBe(STATE_MACHINE_ARN);
    expect(input?.name).toBe(drillId);
    expect(JSON.parse(input?.input ?? 'null')).toEqual(request);
  });

  it('reports a redelivered event as a duplicate when its execution already exists', async () => {
    // Prepare
    const event = loadEvent('backup-job-completed-rds');
    const drillId = drillIdFor(requestOf(await decide(event)));
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
      skipped: [
        {
          eventId: event.id,
          reason: `duplicate trigger: drill ${drillId} already ran for recovery point ${RDS_RECOVERY_POINT}`,
        },
      ],
      rejected: [],
      deferred: [],
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
    expect(dynamo).not.toHaveReceivedCommand(PutCommand);
  });

  it('rejects, with one line and a RejectedEvents metric, an input that is not an AWS Backup event', async () => {
    // Prepare
    const malformed = { ...loadEvent('manual-drill'), id: 'not-an-event' };

    // Act
    const result = await handler(malformed, lambdaContext());

    // Assess
    expect(result.started).toEqual([]);
    expect(result.skipped).toEqual([]);
    expect(result.rejected).toHaveLength(1);
    expect(result.rejected[0]?.eventId).toBe('not-an-event');
    expect(result.rejected[0]?.reason).toMatch(/^not an AWS Backup event: /);
    expect(result.rejected[0]?.reason).not.toContain('\n');
    expect(emfMetricNames()).toContain('RejectedEvents');
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('rejects an EventBridge event from a source other than aws.backup', async () => {
    // Prepare
    const event = { ...loadEvent('backup-job-completed-rds'), source: 'aws.ec2' };

    // Act
    const result = await handler(event, lambdaContext());

    // Assess
    expect(result.rejected).toEqual([{ eventId: event.id, reason: expect.stringContaining('source') }]);
    expect(result.started).toEqual([]);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('rejects a backup event whose account is not a 12-digit account id, or whose region is not a region', async () => {
    // Prepare
    const badAccount = { ...loadEvent('backup-job-completed-rds'), account: '1111' };
    const badRegion = { ...loadEvent('backup-job-completed-rds'), region: 'mars' };

    // Act
    const first = await handler(badAccount, lambdaContext());
    const second = await handler(badRegion, lambdaContext());

    // Assess
    expect(first.rejected[0]?.reason).toContain('account: must be a 12-digit account id');
    expect(second.rejected[0]?.reason).toContain('region: must be an AWS region');
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('rejects a backup event whose detail is malformed, naming the field', async () => {
    // Prepare
    const event = withDetail(loadEvent('backup-job-completed-rds'), { backupJobId: 42 });

    // Act
    const result = await handler(event, lambdaContext());

    // Assess
    expect(result.rejected).toEqual([
      {
        eventId: event.id,
        reason: expect.stringMatching(/^"Backup Job State Change" detail: backupJobId: /),
      },
    ]);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('rejects a completed backup event whose resources[0] is not a recovery point ARN', async () => {
    // Prepare
    const event: BackupEvent = { ...loadEvent('backup-job-completed-rds'), resources: ['not-an-arn'] };

    // Act
    const result = await handler(event, lambdaContext());

    // Assess
    expect(result.rejected).toEqual([
      { eventId: event.id, reason: 'resources[0] "not-an-arn" is not a recovery point ARN' },
    ]);
    expect(dynamo).not.toHaveReceivedCommand(PutCommand);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });
});

describe('intake on a standby deployment (AWS_REGION is the DR region)', () => {
  /** The intake module loaded afresh with the given environment: configuration is read at module load. */
  async function intakeWith(env: Record<string, string>) {
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    vi.resetModules();
    return import('../../functions/intake.js');
  }

  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it('leaves backup events to the primary deployment until the primary is declared down', async () => {
    // Prepare
    const standby = await intakeWith({ AWS_REGION: 'us-west-2', PRIMARY_DECLARED_DOWN: 'false' });
    const event = loadEvent('backup-job-completed-rds');

    // Act
    const result = await standby.intake(event);

    // Assess
    expect(result).toEqual({
      started: [],
      skipped: [
        {
          eventId: event.id,
          reason:
            'standby deployment in us-west-2: backup events are drilled by the primary deployment until it is declared down (primaryDeclaredDown)',
        },
      ],
      rejected: [],
      deferred: [],
    });
    expect(dynamo).not.toHaveReceivedCommand(PutCommand);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('drills backup events once the primary is declared down', async () => {
    // Prepare
    const standby = await intakeWith({ AWS_REGION: 'us-west-2', PRIMARY_DECLARED_DOWN: 'true' });
    const event = loadEvent('backup-job-completed-rds');
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:exec', startDate: new Date() });

    // Act
    const result = await standby.intake(event);

    // Assess
    expect(result.started).toHaveLength(1);
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
  });
});

describe('restore testing events (mode validate)', () => {
  const event = () => loadEvent('restore-testing-job-completed');

  it('asks for a validation of a COMPLETED restore testing job of the DR account', async () => {
    // Act
    const request = requestOf(await decide(event()));

    // Assess
    expect(request).toMatchObject({
      mode: 'validate',
      trigger: { kind: 'restore-test', jobId: '8F2E4D6C-0B1A-4938-8776-5D4C3B2A1F0E' },
      source: { account: '333333333333', region: 'us-west-2', resourceType: 'DynamoDB' },
      restoreTest: {
        restoreJobId: '8F2E4D6C-0B1A-4938-8776-5D4C3B2A1F0E',
        restoreTestingPlanArn: expect.stringContaining(':restore-testing-plan:pilotlight_daily-'),
      },
    });
    // What restore testing restored is read from AWS Backup when the validation is prepared, never from here.
    expect(JSON.stringify(request)).not.toContain('awsbackup-restore-test-');
  });

  it('leaves a restore testing job of another account alone, saying why', async () => {
    const reason = skipOf(await decide({ ...event(), account: '444444444444' }));

    expect(reason).toBe(
      'restore testing job 8F2E4D6C-0B1A-4938-8776-5D4C3B2A1F0E ran in 444444444444 us-west-2, not the DR account 333333333333 us-west-2: only restore tests in the DR account are validated',
    );
  });

  it('has nothing to validate when the restore testing job FAILED', async () => {
    const reason = skipOf(await decide(withDetail(event(), { status: 'FAILED' })));

    expect(reason).toContain('is FAILED: nothing to validate (restore testing reports it)');
  });

  it('skips a type whose checks cannot judge a restore test yet', async () => {
    const reason = skipOf(await decide(withDetail(event(), { resourceType: 'EFS' })));

    expect(reason).toBe(
      'restore testing job 8F2E4D6C-0B1A-4938-8776-5D4C3B2A1F0E restored a EFS: validated types are DynamoDB, RDS, S3, EBS',
    );
  });

  it('says why an Aurora restore test is not validated', async () => {
    const reason = skipOf(await decide(withDetail(event(), { resourceType: 'Aurora' })));

    expect(reason).toContain(
      'validated types are DynamoDB, RDS, S3, EBS (Aurora: restore testing restores the cluster without an instance;',
    );
  });

  it.each(['RDS', 'S3', 'EBS'])('asks for a validation of a %s restore test', async (resourceType) => {
    const request = requestOf(await decide(withDetail(event(), { resourceType })));

    expect(request).toMatchObject({ mode: 'validate', source: { resourceType } });
  });

  it('starts one execution named after the restore job; a redelivery starts nothing', async () => {
    // Prepare
    sfn
      .on(StartExecutionCommand)
      .resolvesOnce({ executionArn: `${STATE_MACHINE_ARN}:x` })
      .rejects(new ExecutionAlreadyExists({ message: 'exists', $metadata: {} }));

    // Act
    const first = await handler(event(), lambdaContext());
    const second = await handler(event(), lambdaContext());

    // Assess
    expect(first.started.map((s) => s.drillId)).toEqual([
      'restore-test-8f2e4d6c-0b1a-4938-8776-5d4c3b2a1f0e',
    ]);
    expect(second.started).toEqual([]);
    expect(second.skipped[0]?.reason).toContain('duplicate trigger: restore testing job 8F2E4D6C');
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      name: 'restore-test-8f2e4d6c-0b1a-4938-8776-5d4c3b2a1f0e',
    });
    // No claim and no open-drill place: a validation restores nothing.
    expect(dynamo.commandCalls(PutCommand)).toEqual([]);
  });
});
