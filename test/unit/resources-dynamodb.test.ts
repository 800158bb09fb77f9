import {
  DeleteTableCommand,
  DescribeContinuousBackupsCommand,
  DescribeTableCommand,
  DynamoDBClient,
  DynamoDBServiceException,
  ListTagsOfResourceCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  ScanCommand,
  type TableDescription,
  TagResourceCommand,
} from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  ScanCommand as ScanDocumentsCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { drClients } from '../../functions/lib/clients.js';
import { config } from '../../functions/lib/config.js';
import { ResourceNotReady } from '../../functions/lib/errors.js';
import { parseValidationProfiles } from '../../functions/lib/validation-profiles-file.js';
import { builtInChecks } from '../../functions/lib/validations.js';
import { dynamodb } from '../../functions/resources/dynamodb.js';
import { DRILL_ID, rdsDrill } from './support.js';

const client = mockClient(DynamoDBClient);

const TABLE = 'pl-rds-20260105t0157-5b0c1f2e9a';
const RESTORED_TABLE_ARN = `arn:aws:dynamodb:us-west-2:333333333333:table/${TABLE}`;
const DR_KEY = 'arn:aws:kms:us-west-2:333333333333:alias/aws/dynamodb';

const SOURCE_METADATA: Record<string, string> = {
  originalTableName: 'orders',
  encryptionType: 'KMS',
  kmsMasterKeyArn: 'arn:aws:kms:us-east-2:111111111111:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b',
  ItemCount: '120',
};

function healthyTable(overrides: Partial<TableDescription> = {}): TableDescription {
  return {
    TableName: TABLE,
    TableStatus: 'ACTIVE',
    ItemCount: 120,
    TableSizeBytes: 36_000,
    DeletionProtectionEnabled: false,
    SSEDescription: { Status: 'ENABLED', SSEType: 'KMS', KMSMasterKeyArn: DR_KEY },
    ...overrides,
  };
}

function failedChecks(checks: { name: string; passed: boolean }[]): string[] {
  return checks.filter((check) => !check.passed).map((check) => check.name);
}

async function checkHealthOf(
  table: TableDescription,
  options: { pitr?: 'ENABLED' | 'DISABLED'; count?: number; tags?: { Key: string; Value: string }[] } = {},
) {
  client.on(DescribeTableCommand).resolves({ Table: table });
  client.on(DescribeContinuousBackupsCommand).resolves({
    ContinuousBackupsDescription: {
      ContinuousBackupsStatus: 'ENABLED',
      PointInTimeRecoveryDescription: { PointInTimeRecoveryStatus: options.pitr ?? 'DISABLED' },
    },
  });
  client.on(ListTagsOfResourceCommand).resolves({
    Tags: options.tags ?? [{ Key: 'pilotlight:drill-id', Value: DRILL_ID }],
  });
  client.on(ScanCommand).resolves({ Count: options.count ?? 120 });
  return dynamodb.checkHealth({
    clients: drClients(),
    resourceArn: RESTORED_TABLE_ARN,
    expected: { ItemCount: '120' },
    drill: rdsDrill(),
    config,
  });
}

const notFound = () =>
  new ResourceNotFoundException({ message: 'Requested resource not found', $metadata: {} });

beforeEach(() => {
  client.reset();
});

describe('dynamodb.owns', () => {
  it('claims table ARNs, not their backups or indexes', () => {
    expect(dynamodb.owns(RESTORED_TABLE_ARN)).toBe(true);
    expect(dynamodb.owns(`${RESTORED_TABLE_ARN}/backup/01767578400000-1a2b3c4d`)).toBe(false);
    expect(dynamodb.owns(`${RESTORED_TABLE_ARN}/index/by-status`)).toBe(false);
  });
});

describe('dynamodb.restoreMetadata', () => {
  it('restores to a new table named after the drill, encrypted with the DR account key, never the source key', () => {
    // Prepare
    const drill = rdsDrill();

    // Act
    const metadata = dynamodb.restoreMetadata(SOURCE_METADATA, drill, config);

    // Assess
    expect(metadata).toEqual({
      originalTableName: 'orders',
      ItemCount: '120',
      targetTableName: TABLE,
      encryptionType: 'KMS',
      kmsMasterKeyArn: DR_KEY,
    });
  });
});

describe('dynamodb.tag and readTags', () => {
  it('tags the table by its ARN', async () => {
    client.on(TagResourceCommand).resolves({});

    await dynamodb.tag(drClients(), RESTORED_TABLE_ARN, { 'pilotlight:managed': 'true' });

    expect(client).toHaveReceivedCommandWith(TagResourceCommand, {
      ResourceArn: RESTORED_TABLE_ARN,
      Tags: [{ Key: 'pilotlight:managed', Value: 'true' }],
    });
  });

  it('reads no tags of a table that is gone', async () => {
    client.on(ListTagsOfResourceCommand).rejects(notFound());

    await expect(dynamodb.readTags(drClients(), RESTORED_TABLE_ARN)).resolves.toBeUndefined();
  });
});

describe('dynamodb.checkHealth', () => {
  it.each(['CREATING', 'UPDATING'])('throws ResourceNotReady while the table is %s', async (status) => {
    await expect(checkHealthOf(healthyTable({ TableStatus: status as 'CREATING' }))).rejects.toBeInstanceOf(
      ResourceNotReady,
    );
  });

  it("passes every check for an active, unreplicated, DR-encrypted, tagged table with the backup's items", async () => {
    // Act
    const checks = await checkHealthOf(healthyTable());

    // Assess
    expect(checks.map((check) => check.name)).toEqual([
      'resource-available',
      'isolated',
      'encrypted',
      'tagged',
      'data-integrity',
    ]);
    expect(failedChecks(checks)).toEqual([]);
    expect(client).toHaveReceivedCommandWith(ScanCommand, { TableName: TABLE, Select: 'COUNT' });
  });

  it.each([
    [
      'with a stream',
      healthyTable({ StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' } }),
    ],
    ['replicated to another region', healthyTable({ Replicas: [{ RegionName: 'us-east-2' }] })],
    ['protected from deletion', healthyTable({ DeletionProtectionEnabled: true })],
  ])('fails the isolation check for a table %s', async (_case, table) => {
    const checks = await checkHealthOf(table);

    expect(failedChecks(checks)).toEqual(['isolated']);
  });

  it('fails the isolation check for a table with point-in-time recovery', async () => {
    const checks = await checkHealthOf(healthyTable(), { pitr: 'ENABLED' });

    expect(failedChecks(checks)).toEqual(['isolated']);
  });

  it('fails the encryption check for a table encrypted with a key of another account', async () => {
    const table = healthyTable({
      SSEDescription: { Status: 'ENABLED', SSEType: 'KMS', KMSMasterKeyArn: SOURCE_METADATA.kmsMasterKeyArn },
    });

    const checks = await checkHealthOf(table);

    expect(failedChecks(checks)).toEqual(['encrypted']);
  });

  it("fails the tag check for a table without this drill's tag", async () => {
    const checks = await checkHealthOf(healthyTable(), { tags: [] });

    expect(failedChecks(checks)).toEqual(['tagged']);
  });

  it('fails the data check when the table holds fewer items than the backup', async () => {
    const checks = await checkHealthOf(healthyTable({ ItemCount: 60 }), { count: 60 });

    expect(failedChecks(checks)).toEqual(['data-integrity']);
  });

  it('counts a table larger than the bounded scan by its ItemCount', async () => {
    // Prepare: every page says there is more.
    client.on(DescribeTableCommand).resolves({ Table: healthyTable() });
    client.on(DescribeContinuousBackupsCommand).resolves({});
    client
      .on(ListTagsOfResourceCommand)
      .resolves({ Tags: [{ Key: 'pilotlight:drill-id', Value: DRILL_ID }] });
    client.on(ScanCommand).resolves({ Count: 10, LastEvaluatedKey: { orderId: { S: 'x' } } });

    // Act
    const checks = await dynamodb.checkHealth({
      clients: drClients(),
      resourceArn: RESTORED_TABLE_ARN,
      expected: { ItemCount: '120' },
      drill: rdsDrill(),
      config,
    });

    // Assess
    expect(failedChecks(checks)).toEqual([]);
    expect(client).toHaveReceivedCommandTimes(ScanCommand, 10);
  });

  it('fails the data check, saying why, when the table refuses to let its items be read', async () => {
    // Prepare: a resource policy denies the DR role's Scan.
    client.on(DescribeTableCommand).resolves({ Table: healthyTable() });
    client.on(DescribeContinuousBackupsCommand).resolves({});
    client
      .on(ListTagsOfResourceCommand)
      .resolves({ Tags: [{ Key: 'pilotlight:drill-id', Value: DRILL_ID }] });
    client.on(ScanCommand).rejects(
      new DynamoDBServiceException({
        name: 'AccessDeniedException',
        $fault: 'client',
        $metadata: { httpStatusCode: 403 },
        message: 'explicit deny in a resource-based policy',
      }),
    );

    // Act
    const checks = await dynamodb.checkHealth({
      clients: drClients(),
      resourceArn: RESTORED_TABLE_ARN,
      expected: { ItemCount: '120' },
      drill: rdsDrill(),
      config,
    });

    // Assess
    expect(failedChecks(checks)).toEqual(['data-integrity']);
    expect(checks.find((check) => check.name === 'data-integrity')?.detail).toMatch(
      /^items cannot be read \(.*explicit deny in a resource-based policy\) \(backup: 120\)/,
    );
  });

  it('lets any other failure to count the items fail the task (Step Functions retries it)', async () => {
    client.on(DescribeTableCommand).resolves({ Table: healthyTable() });
    client.on(DescribeContinuousBackupsCommand).resolves({});
    client.on(ListTagsOfResourceCommand).resolves({ Tags: [] });
    client.on(ScanCommand).rejects(
      new DynamoDBServiceException({
        name: 'InternalServerError',
        $fault: 'server',
        $metadata: { httpStatusCode: 500 },
        message: 'internal',
      }),
    );

    await expect(
      dynamodb.checkHealth({
        clients: drClients(),
        resourceArn: RESTORED_TABLE_ARN,
        expected: {},
        drill: rdsDrill(),
        config,
      }),
    ).rejects.toMatchObject({ name: 'InternalServerError' });
  });

  it('reports a single failed existence check when the table is not found', async () => {
    client.on(DescribeTableCommand).rejects(notFound());

    const checks = await dynamodb.checkHealth({
      clients: drClients(),
      resourceArn: RESTORED_TABLE_ARN,
      expected: {},
      drill: rdsDrill(),
      config,
    });

    expect(checks).toEqual([{ name: 'resource-exists', passed: false, detail: `table ${TABLE} not found` }]);
  });
});

describe('dynamodb.lifecycle and delete', () => {
  it('deletes the table and reports it', async () => {
    client.on(DeleteTableCommand).resolves({});

    await expect(dynamodb.delete(drClients(), RESTORED_TABLE_ARN)).resolves.toEqual({
      status: 'deleted',
      deleted: [RESTORED_TABLE_ARN],
    });
    expect(client).toHaveReceivedCommandWith(DeleteTableCommand, { TableName: TABLE });
  });

  it('reports a table that is already gone', async () => {
    client.on(DeleteTableCommand).rejects(notFound());

    await expect(dynamodb.delete(drClients(), RESTORED_TABLE_ARN)).resolves.toEqual({
      status: 'already-gone',
      deleted: [],
    });
  });

  it('lets a table that is still in use fail the delete (teardown retries)', async () => {
    client.on(DeleteTableCommand).rejects(new ResourceInUseException({ message: 'in use', $metadata: {} }));

    await expect(dynamodb.delete(drClients(), RESTORED_TABLE_ARN)).rejects.toBeInstanceOf(
      ResourceInUseException,
    );
  });

  it.each([
    ['ACTIVE', 'present'],
    ['DELETING', 'deleting'],
  ])('says a table that is %s is %s', async (status, lifecycle) => {
    client.on(DescribeTableCommand).resolves({ Table: healthyTable({ TableStatus: status as 'ACTIVE' }) });

    await expect(dynamodb.lifecycle(drClients(), RESTORED_TABLE_ARN)).resolves.toBe(lifecycle);
  });

  it('says a table DynamoDB no longer finds is gone', async () => {
    client.on(DescribeTableCommand).rejects(notFound());

    await expect(dynamodb.lifecycle(drClients(), RESTORED_TABLE_ARN)).resolves.toBe('gone');
  });
});

describe('dynamodb.dataChecks', () => {
  const documents = mockClient(DynamoDBDocumentClient);
  beforeEach(() => {
    documents.reset();
  });

  it("runs the profile's checks against the restored table, with consistent reads", async () => {
    // Prepare: the table holds 120 orders, the newest updated four minutes before the recovery point.
    documents.on(ScanDocumentsCommand, { Select: 'COUNT' }).resolves({ Count: 120, ScannedCount: 120 });
    documents
      .on(ScanDocumentsCommand, { ProjectionExpression: '#at' })
      .resolves({ Items: [{ updatedAt: '2026-01-05T01:46:00.000Z' }], ScannedCount: 120 });
    documents.on(GetCommand).resolves({ Item: { orderId: 'order-000001' } });
    const checks = builtInChecks(
      parseValidationProfiles(
        [
          'profiles:',
          '  p:',
          "    - dynamodbCount: { expect: { op: '>=', value: 30 } }",
          '    - dynamodbKeys: { keys: [{ orderId: order-000001 }] }',
          '    - freshness: { attribute: updatedAt, withinMinutes: 60 }',
        ].join('\n'),
      ).profiles.p ?? [],
    );

    // Act
    const report = await dynamodb.dataChecks?.({
      clients: drClients(),
      resourceArn: RESTORED_TABLE_ARN,
      drill: rdsDrill(),
      config,
      checks,
      recoveryPointCreatedAt: new Date('2026-01-05T01:50:00.000Z'),
    });

    // Assess
    expect(report?.checks.map((check) => [check.name, check.passed, check.observed])).toEqual([
      ['item count', true, 120],
      ['1 sample keys exist', true, '1 of 1 keys found'],
      ['freshness of attribute updatedAt', true, 'newest 2026-01-05T01:46:00.000Z (data RPO 240 s)'],
    ]);
    expect(report?.dataRpoSeconds).toBe(240);
    expect(documents).toHaveReceivedCommandWith(GetCommand, {
      TableName: TABLE,
      Key: { orderId: 'order-000001' },
      ConsistentRead: true,
    });
  });
});
