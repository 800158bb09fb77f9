import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DrillState } from '../../functions/lib/drill.js';
import { metrics } from '../../functions/lib/observability.js';
import { handler, type PublishedResult, publishResult } from '../../functions/publish-result.js';
import { DRILL_ID, lambdaContext, rdsDrill, succeededState, TRIGGERED_AT } from './support.js';

const sns = mockClient(SNSClient);

interface Emf {
  _aws: {
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
  [key: string]: unknown;
}

let stdout: string[] = [];

/** Invokes the deployed handler (middleware included) and returns its result and the EMF it printed. */
async function invoke(input: DrillState): Promise<{ result: PublishedResult; emf: Emf[] }> {
  const result = await handler(input, lambdaContext('pilotlight-publish-result'));
  const emf = stdout
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line) as Emf);
  return { result, emf };
}

/** A successful drill validated `seconds` after its trigger. */
function validatedAfter(seconds: number): DrillState {
  const validatedAt = new Date(Date.parse(TRIGGERED_AT) + seconds * 1000).toISOString();
  return succeededState({ health: { checks: [], validatedAt } });
}

/** The drill's own EMF document (the one with the ResourceType dimension). */
function drillDocument(emf: Emf[]): Emf | undefined {
  return emf.find((document) => 'ResourceType' in document);
}

/** The AlertsNotSent EMF document: its own document, with the service dimension only. */
function alertsDocument(emf: Emf[]): Emf | undefined {
  return emf.find((document) => 'AlertsNotSent' in document);
}

function subjects(): string[] {
  return sns.commandCalls(PublishCommand).map((call) => call.args[0].input.Subject ?? '');
}

beforeEach(() => {
  sns.reset();
  sns.on(PublishCommand).resolves({ MessageId: '6f2c9a7e-4b1d-4e8a-9c3f-0a1b2c3d4e5f' });
  metrics.clearMetrics();
  metrics.clearDimensions();
  stdout = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(String(chunk));
    return true;
  });
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('publishResult', () => {
  it('publishes no alert for a successful drill within the RTO target', async () => {
    // Prepare
    const input = succeededState();

    // Act
    const result = await publishResult(input);

    // Assess
    expect(result).toEqual({ status: 'SUCCEEDED', alerts: [] });
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
  });

  it('alerts on a failed drill with the error and its cause in the message', async () => {
    // Prepare
    const input: DrillState = {
      executionName: DRILL_ID,
      state: {
        drill: rdsDrill(),
        error: {
          Error: 'RestoreJobFailed',
          Cause: JSON.stringify({
            errorType: 'RestoreJobFailed',
            errorMessage: 'restore job 1A2B ended FAILED',
          }),
        },
      },
    };

    // Act
    const result = await publishResult(input);

    // Assess
    expect(result.status).toBe('FAILED');
    expect(subjects()).toEqual([
      `Pilotlight: drill FAILED (RestoreJobFailed) — RDS ${DRILL_ID} in us-east-2`,
    ]);
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      TopicArn: 'arn:aws:sns:us-east-2:222222222222:pilotlight-test-alerts',
      MessageAttributes: expect.objectContaining({
        drillId: { DataType: 'String', StringValue: DRILL_ID },
        status: { DataType: 'String', StringValue: 'FAILED' },
      }),
    });
    const message = sns.commandCalls(PublishCommand)[0]?.args[0].input.Message ?? '';
    expect(message.split('\n')[0]).toBe('What failed: RestoreJobFailed: restore job 1A2B ended FAILED');
  });

  it('alerts when teardown left resources in the DR account', async () => {
    // Prepare
    const input = succeededState({ teardownError: { Error: 'TeardownRefused', Cause: 'no drill tag' } });

    // Act
    const result = await publishResult(input);

    // Assess
    expect(result.status).toBe('FAILED');
    expect(subjects()).toEqual([
      `Pilotlight: TEARDOWN FAILED, resources left in DR account — RDS ${DRILL_ID}`,
    ]);
  });

  it('alerts when the RTO is over the 14400 s target', async () => {
    // Prepare
    const input = validatedAfter(14_401);

    // Act
    const result = await publishResult(input);

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(subjects()).toEqual([`Pilotlight: RTO 14401s over target 14400s — RDS ${DRILL_ID} in us-east-2`]);
  });

  it('does not alert when the RTO is exactly on target', async () => {
    // Prepare
    const input = validatedAfter(14_400);

    // Act
    const result = await publishResult(input);

    // Assess
    expect(result.alerts).toEqual([]);
  });

  it('alerts on every failover, even a successful one', async () => {
    // Prepare
    const input = succeededState({ drill: rdsDrill({ mode: 'failover' }), teardown: undefined });

    // Act
    const result = await publishResult(input);

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(subjects()).toEqual([
      `Pilotlight: FAILOVER SUCCEEDED: restored resources are kept — RDS ${DRILL_ID}`,
    ]);
  });

  it('flushes the drill metrics as EMF, by resource type, when the handler returns', async () => {
    // Prepare
    const input = validatedAfter(3600);

    // Act
    const { result, emf } = await invoke(input);

    // Assess
    expect(result).toEqual({ status: 'SUCCEEDED', alerts: [] });
    expect(emf).toHaveLength(2);
    const document = drillDocument(emf);
    const directive = document?._aws.CloudWatchMetrics[0];
    expect(directive?.Namespace).toBe('Pilotlight');
    expect(directive?.Dimensions[0]).toContain('ResourceType');
    expect(directive?.Metrics.map((metric) => metric.Name)).toEqual(
      expect.arrayContaining([
        'DrillSucceeded',
        'RtoSeconds',
        'RpoSeconds',
        'CopySeconds',
        'RestoreSeconds',
        'RtoTargetBreached',
        'QueuedSeconds',
      ]),
    );
    expect(document).toMatchObject({
      ResourceType: 'RDS',
      DrillSucceeded: 1,
      RtoSeconds: 3600,
      RpoSeconds: 1579,
      CopySeconds: 2328,
      RestoreSeconds: 1741,
      RtoTargetBreached: 0,
      QueuedSeconds: 0,
    });
    expect(alertsDocument(emf)).toMatchObject({ AlertsNotSent: 0 });
  });

  it('publishes the data RPO by resource type, and whether it breached the data RPO target', async () => {
    // Prepare: the newest restored row is 2 hours older than the recovery point (target: 3600 s).
    const validatedAt = new Date(Date.parse(TRIGGERED_AT) + 3600_000).toISOString();
    const input = succeededState({ health: { checks: [], validatedAt, dataRpoSeconds: 7200 } });

    // Act
    const { emf } = await invoke(input);

    // Assess
    expect(drillDocument(emf)).toMatchObject({
      ResourceType: 'RDS',
      DataRpoSeconds: 7200,
      DataRpoTargetBreached: 1,
    });
  });

  it('publishes no data RPO for a drill whose type has no freshness check', async () => {
    // Act
    const { emf } = await invoke(validatedAfter(3600));

    // Assess
    expect(drillDocument(emf)).not.toHaveProperty('DataRpoSeconds');
    expect(drillDocument(emf)).not.toHaveProperty('DataRpoTargetBreached');
  });

  it('flushes DrillFailed and TeardownFailed for a drill that failed and left resources behind', async () => {
    // Prepare
    const input: DrillState = {
      executionName: DRILL_ID,
      state: {
        drill: rdsDrill(),
        error: { Error: 'HealthCheckFailed', Cause: 'isolated-network' },
        teardownError: { Error: 'TeardownIncomplete', Cause: 'could not delete' },
      },
    };

    // Act
    const { result, emf } = await invoke(input);

    // Assess
    expect(result.alerts).toHaveLength(2);
    expect(drillDocument(emf)).toMatchObject({ ResourceType: 'RDS', DrillFailed: 1, TeardownFailed: 1 });
    expect(drillDocument(emf)).not.toHaveProperty('DrillSucceeded');
    expect(drillDocument(emf)).not.toHaveProperty('RtoSeconds');
  });

  it('names the mode and resource type from the request when the drill failed before it was prepared', async () => {
    // Prepare: the state machine keeps the raw input under $.request; PrepareDrill never returned.
    const input = {
      executionName: 'failover-orders-db',
      state: {
        request: {
          mode: 'failover',
          source: {
            account: '111111111111',
            region: 'us-east-2',
            resourceType: 'RDS',
            recoveryPointArn: 'arn:aws:rds:us-east-2:111111111111:snapshot:awsbackup:job-1',
          },
        },
        error: { Error: 'ServiceUnavailableException', Cause: 'the region is unavailable' },
      },
    } as DrillState;

    // Act
    const { result, emf } = await invoke(input);

    // Assess
    expect(result.alerts).toEqual([
      'Pilotlight: drill FAILED (ServiceUnavailableException) — RDS failover-orders-db in us-east-2',
      'Pilotlight: FAILOVER FAILED: restored resources are kept — RDS failover-orders-db in us-east-2',
    ]);
    expect(drillDocument(emf)).toMatchObject({ ResourceType: 'RDS', DrillFailed: 1 });
    expect(drillDocument(emf)).not.toHaveProperty('QueuedSeconds');
    const message = sns.commandCalls(PublishCommand)[0]?.args[0].input.Message ?? '';
    expect(message).toContain('Drill: failover-orders-db (failover, trigger');
    expect(message).toContain('Recovery point: arn:aws:rds:us-east-2:111111111111:snapshot:awsbackup:job-1');
  });

  it('keeps "Unknown" when the input itself was not a drill request', async () => {
    const input = {
      executionName: 'bad-input',
      state: {
        request: { nonsense: true },
        error: { Error: 'InvalidDrillInput', Cause: 'source: required' },
      },
    } as DrillState;

    const { result, emf } = await invoke(input);

    expect(result.alerts).toEqual(['Pilotlight: drill FAILED (InvalidDrillInput) — Unknown bad-input']);
    expect(drillDocument(emf)).toMatchObject({ ResourceType: 'Unknown', DrillFailed: 1 });
  });

  it('alerts, and counts the drill FAILED, when its evidence could not be recorded', async () => {
    // Prepare
    const input = succeededState({
      evidenceError: { Error: 'AccessDenied', Cause: 'not authorized to perform s3:PutObject' },
    });

    // Act
    const { result, emf } = await invoke(input);

    // Assess
    expect(result).toEqual({
      status: 'FAILED',
      alerts: [`Pilotlight: EVIDENCE NOT RECORDED — RDS ${DRILL_ID} in us-east-2`],
    });
    const message = sns.commandCalls(PublishCommand)[0]?.args[0].input.Message ?? '';
    expect(message).toContain('What failed: evidence: AccessDenied: not authorized to perform s3:PutObject');
    expect(drillDocument(emf)).toMatchObject({ DrillFailed: 1, EvidenceFailed: 1 });
  });

  it('reports the queued seconds and leaves them out of the RTO', async () => {
    // Prepare: validated 3600 s after the trigger, of which 600 s waiting for slots.
    const input = validatedAfter(3600);
    input.state.copySlot = { pool: 'COPY#111111111111', queuedSeconds: 400, admittedAt: TRIGGERED_AT };
    input.state.restoreSlot = { pool: 'RESTORE#RDS', queuedSeconds: 200, admittedAt: TRIGGERED_AT };

    // Act
    const { emf } = await invoke(input);

    // Assess
    expect(drillDocument(emf)).toMatchObject({ RtoSeconds: 3000, QueuedSeconds: 600 });
  });

  it('tries every alert, publishes AlertsNotSent with the service dimension only, then throws AlertNotSent', async () => {
    // Prepare: a failed failover raises two alerts; the topic refuses the first one only.
    const input: DrillState = {
      executionName: DRILL_ID,
      state: {
        drill: rdsDrill({ mode: 'failover' }),
        error: { Error: 'RestoreJobFailed', Cause: 'quota' },
      },
    };
    sns
      .on(PublishCommand)
      .rejectsOnce(Object.assign(new Error('topic is gone'), { name: 'NotFoundException' }))
      .resolves({ MessageId: 'm-2' });

    // Act
    const invocation = handler(input, lambdaContext('pilotlight-publish-result'));

    // Assess
    await expect(invocation).rejects.toMatchObject({
      name: 'AlertNotSent',
      message: expect.stringContaining('1 of 2 alerts could not be sent'),
    });
    await expect(invocation).rejects.toThrow('NotFoundException: topic is gone');
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 2);
    const emf = stdout
      .flatMap((chunk) => chunk.split('\n'))
      .filter((line) => line.includes('"_aws"'))
      .map((line) => JSON.parse(line) as Emf);
    const alerts = alertsDocument(emf);
    expect(alerts).toMatchObject({ AlertsNotSent: 1 });
    expect(alerts).not.toHaveProperty('ResourceType');
    expect(alerts?._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['service']]);
  });
});

describe('alerts people can act on', () => {
  const EXECUTION_ARN = `arn:aws:states:us-east-2:222222222222:execution:pilotlight-test-drill:${DRILL_ID}`;

  function published(index = 0) {
    const input = sns.commandCalls(PublishCommand)[index]?.args[0].input;
    return {
      subject: input?.Subject ?? '',
      message: input?.Message ?? '',
      attributes: input?.MessageAttributes,
    };
  }

  it('says what failed, where, which drill, each failing check observed against expected, the execution link and the next step', async () => {
    // Prepare: checkHealth failed; only its error says which checks
    const input: DrillState = succeededState({
      health: undefined,
      teardown: undefined,
      error: {
        Error: 'HealthCheckFailed',
        Cause: JSON.stringify({
          errorType: 'HealthCheckFailed',
          errorMessage:
            '2 of 5 checks failed: resource-available (DBInstanceStatus is failed); endpoint-reachable (no endpoint)',
        }),
      },
    });

    // Act
    await publishResult(input);

    // Assess
    const { subject, message } = published();
    expect(subject).toBe(`Pilotlight: drill FAILED (HealthCheckFailed) — RDS ${DRILL_ID} in us-east-2`);
    const lines = message.split('\n');
    expect(lines.slice(0, 3)).toEqual([
      'What failed: HealthCheckFailed: 2 of 5 checks failed: resource-available (DBInstanceStatus is failed); endpoint-reachable (no endpoint)',
      'Failing check: resource-available: observed "DBInstanceStatus is failed", expected the check to pass',
      'Failing check: endpoint-reachable: observed "no endpoint", expected the check to pass',
    ]);
    expect(lines).toContain(
      'Where: source 111111111111 us-east-2 arn:aws:rds:us-east-2:111111111111:db:orders-db-1; DR 333333333333 us-west-2 (vault pilotlight-dr)',
    );
    expect(lines).toContain(
      `Execution: https://us-east-2.console.aws.amazon.com/states/home?region=us-east-2#/v2/executions/details/${encodeURIComponent(EXECUTION_ARN)}`,
    );
    expect(lines.at(-1)).toMatch(
      /^Next step: .*then re-drill: pilotlight drill --aws --region us-east-2 --recovery-point arn:aws:rds:us-east-2:111111111111:snapshot:awsbackup:job-4c1e9a2b/,
    );
  });

  it('shows a check that records them with its observed and expected values', async () => {
    // Prepare
    const input = succeededState({
      error: { Error: 'HealthCheckFailed', Cause: 'row count' },
      health: {
        checks: [
          {
            name: 'row-count',
            passed: false,
            detail: 'orders rows',
            observed: 12,
            expected: { op: '>=', value: 1000 },
          },
          { name: 'resource-available', passed: true, detail: 'available' },
        ],
        validatedAt: '2026-01-05T03:15:00.000Z',
      },
    });

    // Act
    await publishResult(input);

    // Assess
    expect(published().message).toContain(
      'Failing check: row-count: observed 12, expected {"op":">=","value":1000} (orders rows)',
    );
  });

  it('gives machines the facts as message attributes, at most the ten SNS allows', async () => {
    // Prepare
    const input = succeededState({ error: { Error: 'RestoreJobFailed', Cause: 'ended FAILED' } });

    // Act
    await publishResult(input);

    // Assess
    const { attributes } = published();
    const text = (value: string) => ({ DataType: 'String', StringValue: value });
    expect(attributes).toEqual({
      drillId: text(DRILL_ID),
      status: text('FAILED'),
      alert: text('failed'),
      mode: text('drill'),
      resourceType: text('RDS'),
      sourceAccount: text('111111111111'),
      sourceRegion: text('us-east-2'),
      executionArn: text(EXECUTION_ARN),
      error: text('RestoreJobFailed'),
    });
    expect(Object.keys(attributes ?? {}).length).toBeLessThanOrEqual(10);
  });

  it('judges a policy drill against its tier: RTO and RPO over the tier targets alert, with the tier named', async () => {
    // Prepare: validated 3 h after the trigger, from a recovery point 26 min older than the trigger; gold wants 2 h / 10 min
    const policy = { name: 'gold-daily', tier: 'gold', targets: { rtoSeconds: 7200, rpoSeconds: 600 } };
    const validatedAt = new Date(Date.parse(TRIGGERED_AT) + 3 * 3600 * 1000).toISOString();
    const input = succeededState({
      drill: rdsDrill({
        policy,
        trigger: { kind: 'schedule', eventId: 'policy:gold-daily', at: TRIGGERED_AT },
      }),
      health: { checks: [], validatedAt },
    });

    // Act
    const result = await publishResult(input);

    // Assess
    expect(result.alerts).toEqual([
      `Pilotlight: RTO 10800s over target 7200s — RDS ${DRILL_ID} in us-east-2`,
      expect.stringMatching(
        new RegExp(`^Pilotlight: RPO \\d+s over target 600s — RDS ${DRILL_ID} in us-east-2$`),
      ),
    ]);
    expect(published(0).message.split('\n')[0]).toBe(
      'What failed: RTO 10800 s observed, 7200 s expected at most (tier gold)',
    );
    expect(published(0).message).toContain(
      'Drill: rds-20260105T0157-5b0c1f2e9a (drill, trigger schedule, policy gold-daily, tier gold)',
    );
    expect(published(0).attributes?.tier).toEqual({ DataType: 'String', StringValue: 'gold' });
  });

  it('keeps every subject within the 100 characters SNS allows, the drill id kept', async () => {
    // Prepare
    const input = succeededState({
      drill: rdsDrill({ drillId: 'dynamodb-20260105T0200-92bd18417bef' }),
      teardownError: { Error: 'TeardownIncomplete', Cause: 'still deleting' },
    });

    // Act
    const result = await publishResult(input);

    // Assess
    for (const subject of result.alerts) {
      expect(subject.length).toBeLessThan(100);
      expect(subject).toContain('dynamodb-20260105T0200-92bd18417bef');
    }
    expect(published().message).toMatch(
      /^Next step: Resources tagged pilotlight:drill-id=dynamodb-20260105T0200-92bd18417bef may be left/m,
    );
  });
});
