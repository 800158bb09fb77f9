import { BackupClient, GetRecoveryPointRestoreMetadataCommand } from '@aws-sdk/client-backup';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { Uint8ArrayBlobAdapter } from '@smithy/core/serde';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { checkHealth } from '../../functions/check-health.js';
import type { DataCheckReport } from '../../functions/lib/data-checks.js';
import {
  DataProbeFailed,
  HealthCheckFailed,
  ReadinessTimedOut,
  ResourceNotReady,
} from '../../functions/lib/errors.js';
import {
  DR_RECOVERY_POINT_ARN,
  DRILL_ID,
  drillRecordUpdates,
  dynamo,
  restoredDbInstance,
  succeededState,
} from './support.js';

const backup = mockClient(BackupClient);
const rds = mockClient(RDSClient);
const lambda = mockClient(LambdaClient);

/** What the probe reports for the RDS default profile (validations.yml `orders`) on a good copy. */
const PROBE_REPORT: DataCheckReport = {
  checks: [
    { name: 'table orders exists', passed: true, observed: 'exists', expected: 'exists' },
    { name: 'orders row count', passed: true, observed: 1200, expected: '>= 1000' },
    {
      name: 'newest order',
      passed: true,
      observed: 'newest 2026-01-05T01:53:00.000Z (data RPO 240 s)',
      expected: 'newest data within 60 min of the recovery point',
      dataRpoSeconds: 240,
    },
  ],
  dataRpoSeconds: 240,
};

const payload = (value: unknown) => Uint8ArrayBlobAdapter.fromString(JSON.stringify(value));

function input() {
  const { drill, copy, restore } = succeededState().state;
  if (!drill || !copy || !restore) throw new Error('fixture lacks drill, copy or restore');
  return { drill, copy, restore };
}

beforeEach(() => {
  backup.reset();
  rds.reset();
  lambda.reset();
  lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload(PROBE_REPORT) });
  dynamo.reset();
  dynamo.on(UpdateCommand).resolves({});
  backup.on(GetRecoveryPointRestoreMetadataCommand).resolves({
    RestoreMetadata: { Engine: 'postgres', AllocatedStorage: '50', DBInstanceClass: 'db.m6g.large' },
  });
  rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [restoredDbInstance()] });
});

describe('checkHealth', () => {
  it('does not probe a database that will not become available, and says so in its data checks', async () => {
    // Prepare
    rds
      .on(DescribeDBInstancesCommand)
      .resolves({ DBInstances: [restoredDbInstance({ DBInstanceStatus: 'incompatible-restore' })] });

    // Act
    const checking = checkHealth(input());

    // Assess
    await expect(checking).rejects.toBeInstanceOf(HealthCheckFailed);
    await expect(checking).rejects.toThrow(
      'data: data checks ran (observed not run: DB instance pl-rds-20260105t0157-5b0c1f2e9a is incompatible-restore, expected an available instance with its own master password)',
    );
    expect(lambda).not.toHaveReceivedCommand(InvokeCommand);
  });

  it('returns every passing check of a healthy restore with the time it was validated', async () => {
    // Prepare
    const before = Date.now();

    // Act
    const result = await checkHealth(input());

    // Assess
    expect(result.checks).toHaveLength(8);
    expect(result.checks.every((check) => check.passed)).toBe(true);
    expect(Date.parse(result.validatedAt)).toBeGreaterThanOrEqual(before);
    expect(rds).toHaveReceivedCommandWith(DescribeDBInstancesCommand, {
      DBInstanceIdentifier: 'pl-rds-20260105t0157-5b0c1f2e9a',
    });
  });

  it('compares the restore with the metadata of the DR copy it was restored from', async () => {
    // Prepare
    rds
      .on(DescribeDBInstancesCommand)
      .resolves({ DBInstances: [restoredDbInstance({ AllocatedStorage: 100 })] });

    // Act
    const checking = checkHealth(input());

    // Assess
    await expect(checking).rejects.toThrow('data-integrity');
    expect(backup).toHaveReceivedCommandWith(GetRecoveryPointRestoreMetadataCommand, {
      BackupVaultName: 'pilotlight-dr',
      RecoveryPointArn: DR_RECOVERY_POINT_ARN,
    });
  });

  it('throws HealthCheckFailed naming each failed check and only those', async () => {
    // Prepare
    rds
      .on(DescribeDBInstancesCommand)
      .resolves({ DBInstances: [restoredDbInstance({ PubliclyAccessible: true, TagList: [] })] });

    // Act
    const checking = checkHealth(input());

    // Assess
    await expect(checking).rejects.toBeInstanceOf(HealthCheckFailed);
    const error: unknown = await checking.catch((caught: unknown) => caught);
    const message = error instanceof Error ? error.message : '';
    expect(message).toMatch(/^2 of 8 checks failed: /);
    expect(message).toContain('isolated-network (public=true');
    expect(message).toContain('tagged (pilotlight:drill-id=(missing))');
    expect(message).not.toContain('resource-available');
    expect(message).not.toContain('data-integrity');
  });

  it('saves every check on the drill record, even when the drill fails on them', async () => {
    // Prepare
    rds
      .on(DescribeDBInstancesCommand)
      .resolves({ DBInstances: [restoredDbInstance({ PubliclyAccessible: true })] });

    // Act
    await checkHealth(input()).catch(() => undefined);

    // Assess
    const updates = drillRecordUpdates();
    expect(updates).toHaveLength(1);
    expect(updates[0]?.pk).toBe(`DRILL#${DRILL_ID}`);
    const checks = updates[0]?.fields.checks as { name: string; passed: boolean }[];
    expect(checks.map((check) => [check.name, check.passed])).toEqual([
      ['resource-available', true],
      ['endpoint-reachable', true],
      ['isolated-network', false],
      ['tagged', true],
      ['data-integrity', true],
      ['data: table orders exists', true],
      ['data: orders row count', true],
      ['data: newest order', true],
    ]);
  });

  it('runs the RDS default profile through the probe and returns the data RPO', async () => {
    // Act
    const result = await checkHealth(input());

    // Assess
    expect(result.dataRpoSeconds).toBe(240);
    expect(lambda).toHaveReceivedCommandTimes(InvokeCommand, 1);
    const sent = lambda.commandCalls(InvokeCommand)[0]?.args[0].input;
    expect(sent?.FunctionName).toBe('arn:aws:lambda:us-west-2:333333333333:function:pilotlight-probe');
    const probeInput = JSON.parse(new TextDecoder().decode(sent?.Payload as Uint8Array));
    expect(probeInput).toMatchObject({
      engine: 'postgres',
      host: 'pl-rds-20260105t0157-5b0c1f2e9a.c0ffee.us-west-2.rds.amazonaws.com',
      port: 5432,
      database: 'postgres',
      secretArn: expect.stringContaining(':secret:rds!db-pl-'),
      checks: [
        { tableExists: { table: 'orders' } },
        { sql: expect.objectContaining({ name: 'orders row count' }) },
        { freshness: expect.objectContaining({ name: 'newest order' }) },
      ],
    });
    const record = drillRecordUpdates()[0]?.fields.dataChecks as { profile: string; selectedBy: string };
    expect(record).toMatchObject({ profile: 'orders', selectedBy: 'default', dataRpoSeconds: 240 });
    expect(record).toHaveProperty('profilesSha256', expect.stringMatching(/^[0-9a-f]{64}$/));
  });

  it('fails with HealthCheckFailed naming the data check, observed against expected', async () => {
    // Prepare
    const [exists, count, fresh] = PROBE_REPORT.checks;
    const lostRows = { ...PROBE_REPORT, checks: [exists, { ...count, passed: false, observed: 600 }, fresh] };
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload(lostRows) });

    // Act
    const checking = checkHealth(input());

    // Assess
    await expect(checking).rejects.toBeInstanceOf(HealthCheckFailed);
    await expect(checking).rejects.toThrow(
      '1 of 8 checks failed: data: orders row count (observed 600, expected >= 1000)',
    );
  });

  it('fails with a "database reachable" check, observed against expected, when the probe cannot connect', async () => {
    // Prepare
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: payload({ errorType: 'DatabaseUnreachable', errorMessage: 'cannot connect: ECONNREFUSED' }),
    });

    // Act
    const checking = checkHealth(input());

    // Assess
    await expect(checking).rejects.toBeInstanceOf(HealthCheckFailed);
    await expect(checking).rejects.toThrow(
      /data: database reachable \(observed data probe failed: DatabaseUnreachable: cannot connect: ECONNREFUSED, expected a connection from the probe to .+:5432\)/,
    );
  });

  it('lets any other probe failure through as DataProbeFailed, with its error type', async () => {
    // Prepare
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: payload({ errorType: 'DatabaseSecretUnreadable', errorMessage: 'cannot read secret' }),
    });

    // Act
    const error = await checkHealth(input()).catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(DataProbeFailed);
    expect(error).toMatchObject({ errorType: 'DatabaseSecretUnreadable' });
    expect(dynamo).not.toHaveReceivedAnyCommand();
  });

  it('lets ResourceNotReady through, saving nothing, while the instance is still being created', async () => {
    // Prepare
    rds
      .on(DescribeDBInstancesCommand)
      .resolves({ DBInstances: [restoredDbInstance({ DBInstanceStatus: 'creating' })] });

    const { drill, copy, restore } = input();
    const justRestored = { ...restore, completedAt: new Date(Date.now() - 10 * 60_000).toISOString() };

    // Act
    const checking = checkHealth({ drill, copy, restore: justRestored });

    // Assess
    await expect(checking).rejects.toBeInstanceOf(ResourceNotReady);
    expect(dynamo).not.toHaveReceivedAnyCommand();
  });

  it("fails with ReadinessTimedOut once the type's readiness budget has passed since the restore", async () => {
    // Prepare: RDS allows three hours; the restore completed four hours ago and the instance is still creating.
    rds
      .on(DescribeDBInstancesCommand)
      .resolves({ DBInstances: [restoredDbInstance({ DBInstanceStatus: 'creating' })] });
    const { drill, copy, restore } = input();
    const longAgo = { ...restore, completedAt: new Date(Date.now() - 4 * 3600_000).toISOString() };

    // Act
    const checking = checkHealth({ drill, copy, restore: longAgo });

    // Assess
    await expect(checking).rejects.toBeInstanceOf(ReadinessTimedOut);
    await expect(checking).rejects.toThrow(/RDS budget is 10800 s/);
    expect(dynamo).not.toHaveReceivedAnyCommand();
  });
});
