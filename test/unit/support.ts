import 'aws-sdk-client-mock-vitest/extend';
import { readFileSync } from 'node:fs';
import type { DBInstance } from '@aws-sdk/client-rds';
import { DynamoDBDocumentClient, UpdateCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { Uint8ArrayBlobAdapter } from '@smithy/core/serde';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import type { SinonSpyCall } from 'sinon';
import type { Drill, DrillState } from '../../functions/lib/drill.js';
import type { BackupEvent } from '../../functions/lib/events.js';
import type { PendingJob } from '../../functions/lib/state-store.js';

/** A sample event from events/, the one source of event shapes (real AWS Backup events). */
export function loadEvent<T = BackupEvent>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../../events/${name}.json`, import.meta.url), 'utf8')) as T;
}

/** The same event with some detail fields changed (an EventBridge event's detail is untyped). */
export function withDetail(event: BackupEvent, changes: Record<string, unknown>): BackupEvent {
  return { ...event, detail: { ...(event.detail as Record<string, unknown>), ...changes } };
}

/** The Lambda context the middy middleware reads (Powertools puts its fields in every log line). */
export function lambdaContext(functionName = 'pilotlight-unit'): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-2:222222222222:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2026/01/05/[$LATEST]0123456789abcdef',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export const DR_ACCOUNT = '333333333333';
export const SOURCE_ACCOUNT = '111111111111';
export const DRILL_ID = 'rds-20260105T0157-5b0c1f2e9a';
export const DR_VAULT_ARN = 'arn:aws:backup:us-west-2:333333333333:backup-vault:pilotlight-dr';
export const DR_RECOVERY_POINT_ARN =
  'arn:aws:rds:us-west-2:333333333333:snapshot:awsbackup:copyjob-6a5b4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d';
export const RESTORED_DB_ARN = 'arn:aws:rds:us-west-2:333333333333:db:pl-rds-20260105t0157-5b0c1f2e9a';
export const RESTORED_VOLUME_ARN = 'arn:aws:ec2:us-west-2:333333333333:volume/vol-0123456789abcdef0';
export const TRIGGERED_AT = '2026-01-05T01:57:59.120Z';

/** A prepared RDS drill, as prepare-drill returns it for events/backup-job-completed-rds.json. */
export function rdsDrill(overrides: Partial<Drill> = {}): Drill {
  return {
    drillId: DRILL_ID,
    mode: 'drill',
    trigger: {
      kind: 'backup-job',
      eventId: '5f8f3c2e-6f0a-4d7e-9c43-1d0b8a7e2c11',
      jobId: '4C1E9A2B',
      at: TRIGGERED_AT,
    },
    source: {
      account: SOURCE_ACCOUNT,
      region: 'us-east-2',
      resourceType: 'RDS',
      resourceArn: 'arn:aws:rds:us-east-2:111111111111:db:orders-db-1',
      recoveryPointArn:
        'arn:aws:rds:us-east-2:111111111111:snapshot:awsbackup:job-4c1e9a2b-7d3f-4e8a-b5c6-0f1e2d3c4b5a',
      backupVaultName: 'Default',
      recoveryPointCreatedAt: '2026-01-05T01:31:40.512Z',
    },
    target: { account: DR_ACCOUNT, region: 'us-west-2', vault: 'pilotlight-dr', vaultArn: DR_VAULT_ARN },
    needsCopy: true,
    preparedAt: '2026-01-05T01:58:30.000Z',
    ...overrides,
  };
}

/** A whole successful drill state as the closing tasks see it: copied, restored, validated, torn down. */
export function succeededState(overrides: Partial<DrillState['state']> = {}): DrillState {
  return {
    executionName: DRILL_ID,
    state: {
      drill: rdsDrill(),
      copy: {
        copyJobId: '6A5B4C3D-2E1F-4A0B-9C8D-7E6F5A4B3C2D',
        drRecoveryPointArn: DR_RECOVERY_POINT_ARN,
        skipped: false,
        startedAt: '2026-01-05T02:02:10.000Z',
        completedAt: '2026-01-05T02:40:58.000Z',
      },
      restore: {
        restoreJobId: '1A2B3C4D-5E6F-4A7B-8C9D-0E1F2A3B4C5D',
        createdResourceArn: RESTORED_DB_ARN,
        startedAt: '2026-01-05T02:41:30.000Z',
        completedAt: '2026-01-05T03:10:31.000Z',
      },
      health: {
        checks: [{ name: 'resource-available', passed: true, detail: 'DBInstanceStatus is available' }],
        validatedAt: '2026-01-05T03:15:00.000Z',
      },
      teardown: { deleted: [RESTORED_DB_ARN], alreadyGone: [], completedAt: '2026-01-05T03:16:00.000Z' },
      ...overrides,
    },
  };
}

/** A job a drill waits on, as start-restore / start-copy remember it. */
export function pendingJob(overrides: Partial<PendingJob> = {}): PendingJob {
  return {
    jobId: '1A2B3C4D-5E6F-4A7B-8C9D-0E1F2A3B4C5D',
    kind: 'restore',
    drillId: DRILL_ID,
    mode: 'drill',
    resourceType: 'RDS',
    taskToken: 'AQCEAAAAKgAAAAMAAAAAAAAAAaaa-restore-token',
    account: DR_ACCOUNT,
    region: 'us-west-2',
    status: 'PENDING',
    startedAt: '2026-01-05T02:41:30.000Z',
    ...overrides,
  };
}

/** The state-store mock every handler test uses (DocumentClient calls are stubbed on the class). */
export const dynamo = mockClient(DynamoDBDocumentClient);

/** Decodes the UpdateItem calls on DRILL# items back into the fields each one set. */
export function drillRecordUpdates(): { pk: string; fields: Record<string, unknown> }[] {
  return dynamo
    .commandCalls(UpdateCommand)
    .map((call) => call.args[0].input)
    .filter((input) => String(input.Key?.pk).startsWith('DRILL#'))
    .map((input) => {
      const names = input.ExpressionAttributeNames ?? {};
      const values = input.ExpressionAttributeValues ?? {};
      const fields: Record<string, unknown> = {};
      for (const [placeholder, name] of Object.entries(names)) {
        fields[name] = values[placeholder.replace('#f', ':v')];
      }
      return { pk: String(input.Key?.pk), fields };
    });
}

/** The UpdateItem calls on JOB# items (claim and release), in order. */
export function jobUpdates(): UpdateCommandInput[] {
  return dynamo
    .commandCalls(UpdateCommand)
    .map((call) => call.args[0].input)
    .filter((input) => String(input.Key?.pk).startsWith('JOB#'));
}

/** A restored DB instance that passes every check; override fields to break one. */
export function restoredDbInstance(overrides: Partial<DBInstance> = {}): DBInstance {
  return {
    DBInstanceIdentifier: 'pl-rds-20260105t0157-5b0c1f2e9a',
    DBInstanceStatus: 'available',
    Engine: 'postgres',
    AllocatedStorage: 50,
    Endpoint: { Address: 'pl-rds-20260105t0157-5b0c1f2e9a.c0ffee.us-west-2.rds.amazonaws.com', Port: 5432 },
    PubliclyAccessible: false,
    DBSubnetGroup: { DBSubnetGroupName: 'pilotlight-restore' },
    VpcSecurityGroups: [{ VpcSecurityGroupId: 'sg-0a1b2c3d4e5f60718', Status: 'active' }],
    TagList: [
      { Key: 'pilotlight:drill-id', Value: DRILL_ID },
      { Key: 'pilotlight:managed', Value: 'true' },
    ],
    // The drill copy's own password, already set (functions/resources/rds.ts ensureDrillPassword).
    MasterUserSecret: { SecretArn: DRILL_COPY_SECRET_ARN, SecretStatus: 'active' },
    ...overrides,
  };
}

export const DRILL_COPY_SECRET_ARN =
  'arn:aws:secretsmanager:us-west-2:333333333333:secret:rds!db-pl-rds-20260105t0157-5b0c1f2e9a-Ab12Cd';

/**
 * Whether one SDK call happened before another, across mocked clients (sinon numbers every call globally).
 * False when either call is missing, so an order assertion also fails when a call never happened.
 */
// biome-ignore lint/suspicious/noExplicitAny: any mocked command call
type AnyCall = SinonSpyCall<any[], any>;
export function happenedBefore(first: AnyCall | undefined, second: AnyCall | undefined): boolean {
  return first !== undefined && second !== undefined && first.calledBefore(second);
}

/**
 * The SQL data check the probe-driven types' unit tests run (RDS, Redshift), the probe's report of it, and how the
 * probe's Lambda payload is encoded.
 */
export const probeOrdersCheck = {
  checks: [
    {
      kind: 'sql' as const,
      name: 'orders row count',
      query: 'SELECT count(*) FROM orders',
      expect: { op: '>=' as const, value: 1000 },
    },
  ],
  recoveryPointCreatedAt: new Date('2026-01-05T01:57:00.000Z'),
  report: {
    checks: [{ name: 'orders row count', passed: true, observed: 1200, expected: '>= 1000' }],
  },
  encode: (value: unknown) => Uint8ArrayBlobAdapter.fromString(JSON.stringify(value)),
};
