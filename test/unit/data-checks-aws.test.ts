import 'aws-sdk-client-mock-vitest/extend';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { runDynamoDbChecks } from '../../functions/lib/dynamodb-checks.js';
import { runS3Checks } from '../../functions/lib/s3-checks.js';
import { parseValidationProfiles } from '../../functions/lib/validation-profiles-file.js';
import { builtInChecks, type DataCheck } from '../../functions/lib/validations.js';

const RECOVERY_POINT_AT = new Date('2026-01-05T01:50:00.000Z');
const TABLE = 'pl-ddb-20260105t0157-5b0c1f2e9a';
const BUCKET = 'pl-s3-20260105t0157-5b0c1f2e9a';

/** Checks as a profile in validations.yml declares them. */
function checks(yaml: string): DataCheck[] {
  return builtInChecks(parseValidationProfiles(`profiles:\n  p:\n${yaml}`).profiles.p ?? []);
}

/** A GetObject body as the SDK returns it (a stream with the SDK's transform helpers). */
function objectBody(text: string) {
  const bytes = new TextEncoder().encode(text);
  return Object.assign(Readable.from([bytes]), {
    transformToByteArray: async () => bytes,
    transformToString: async () => text,
    transformToWebStream: (): ReadableStream => {
      throw new Error('not used by the checks');
    },
  });
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('base64');
}

describe('DynamoDB data checks', () => {
  const documents = mockClient(DynamoDBDocumentClient);

  beforeEach(() => {
    documents.reset();
  });

  it('counts items page by page and stops as soon as a lower bound is met', async () => {
    // Prepare
    documents
      .on(ScanCommand)
      .resolvesOnce({ Count: 600, ScannedCount: 600, LastEvaluatedKey: { pk: 'a' } })
      .resolvesOnce({ Count: 600, ScannedCount: 600, LastEvaluatedKey: { pk: 'b' } })
      .resolves({ Count: 600, ScannedCount: 600 });

    // Act
    const report = await runDynamoDbChecks({
      client: new DynamoDBClient({}),
      tableName: TABLE,
      checks: checks("    - dynamodbCount: { expect: { op: '>=', value: 1000 } }\n"),
      recoveryPointCreatedAt: RECOVERY_POINT_AT,
    });

    // Assess
    expect(report.checks).toEqual([
      { name: 'item count', passed: true, observed: 1200, expected: '>= 1000' },
    ]);
    expect(documents).toHaveReceivedCommandTimes(ScanCommand, 2);
    expect(documents).toHaveReceivedCommandWith(ScanCommand, {
      TableName: TABLE,
      Select: 'COUNT',
      ConsistentRead: true,
    });
  });

  it('fails an exact count it could not finish within the scan limit', async () => {
    // Prepare
    documents.on(ScanCommand).resolves({ Count: 10, ScannedCount: 10, LastEvaluatedKey: { pk: 'more' } });

    // Act
    const report = await runDynamoDbChecks({
      client: new DynamoDBClient({}),
      tableName: TABLE,
      checks: checks("    - dynamodbCount: { expect: { op: '==', value: 25 } }\n"),
      recoveryPointCreatedAt: RECOVERY_POINT_AT,
      limits: { maxScannedItems: 20, pageSize: 10 },
    });

    // Assess
    expect(report.checks[0]).toEqual({
      name: 'item count',
      passed: false,
      observed: 'more than 20 (scan limit 20 items)',
      expected: '== 25',
    });
  });

  it('names the sample keys that are missing from the restored table', async () => {
    // Prepare
    documents.on(GetCommand, { Key: { pk: 'customer#1' } }).resolves({ Item: { pk: 'customer#1' } });
    documents.on(GetCommand, { Key: { pk: 'customer#2' } }).resolves({});

    // Act
    const report = await runDynamoDbChecks({
      client: new DynamoDBClient({}),
      tableName: TABLE,
      checks: checks("    - dynamodbKeys: { keys: [{ pk: 'customer#1' }, { pk: 'customer#2' }] }\n"),
      recoveryPointCreatedAt: RECOVERY_POINT_AT,
    });

    // Assess
    expect(report.checks[0]).toEqual({
      name: '2 sample keys exist',
      passed: false,
      observed: '1 of 2 keys found; missing {"pk":"customer#2"}',
      expected: '2 of 2 keys found',
    });
    expect(documents).toHaveReceivedCommandWith(GetCommand, { TableName: TABLE, ConsistentRead: true });
  });

  it('measures the data RPO from the newest timestamp attribute (ISO strings and epoch seconds)', async () => {
    // Prepare
    documents
      .on(ScanCommand)
      .resolvesOnce({
        Items: [{ updatedAt: '2026-01-05T01:40:00.000Z' }, { updatedAt: 1_767_577_500 }],
        ScannedCount: 2,
        LastEvaluatedKey: { pk: 'a' },
      })
      .resolves({ Items: [{ updatedAt: '2026-01-05T00:00:00.000Z' }, {}], ScannedCount: 2 });

    // Act
    const report = await runDynamoDbChecks({
      client: new DynamoDBClient({}),
      tableName: TABLE,
      checks: checks('    - freshness: { attribute: updatedAt, withinMinutes: 15 }\n'),
      recoveryPointCreatedAt: RECOVERY_POINT_AT,
    });

    // Assess: 1767577500 is 2026-01-05T01:45:00Z, the newest: five minutes before the recovery point.
    expect(report.dataRpoSeconds).toBe(300);
    expect(report.checks[0]).toMatchObject({ passed: true, dataRpoSeconds: 300 });
    expect(documents).toHaveReceivedCommandWith(ScanCommand, {
      ProjectionExpression: '#at',
      ExpressionAttributeNames: { '#at': 'updatedAt' },
    });
  });

  it('fails a check whose call is denied, with the error as the observed value', async () => {
    // Prepare
    documents
      .on(ScanCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));

    // Act
    const report = await runDynamoDbChecks({
      client: new DynamoDBClient({}),
      tableName: TABLE,
      checks: checks("    - dynamodbCount: { expect: { op: '>', value: 0 } }\n"),
      recoveryPointCreatedAt: RECOVERY_POINT_AT,
    });

    // Assess
    expect(report.checks[0]).toEqual({
      name: 'item count',
      passed: false,
      observed: 'error: not authorized',
      expected: '> 0',
    });
  });
});

describe('S3 data checks', () => {
  const s3 = mockClient(S3Client);

  beforeEach(() => {
    s3.reset();
  });

  it('counts the objects under a prefix across pages', async () => {
    // Prepare
    s3.on(ListObjectsV2Command)
      .resolvesOnce({
        Contents: [{ Key: 'invoices/1' }, { Key: 'invoices/2' }],
        IsTruncated: true,
        NextContinuationToken: 't1',
      })
      .resolves({ Contents: [{ Key: 'invoices/3' }], IsTruncated: false });

    // Act
    const report = await runS3Checks({
      client: new S3Client({}),
      bucket: BUCKET,
      checks: checks("    - s3Count: { prefix: invoices/, expect: { op: '==', value: 3 } }\n"),
      recoveryPointCreatedAt: RECOVERY_POINT_AT,
    });

    // Assess
    expect(report.checks[0]).toEqual({
      name: 'object count under "invoices/"',
      passed: true,
      observed: 3,
      expected: '== 3',
    });
    expect(s3).toHaveReceivedCommandWith(ListObjectsV2Command, {
      Bucket: BUCKET,
      Prefix: 'invoices/',
      ContinuationToken: 't1',
    });
  });

  it('downloads sampled objects with ChecksumMode ENABLED and verifies their bytes against the stored checksum', async () => {
    // Prepare
    s3.on(ListObjectsV2Command).resolves({
      Contents: [
        { Key: 'invoices/a', Size: 5 },
        { Key: 'invoices/b', Size: 5 },
        { Key: 'invoices/c', Size: 5 },
      ],
    });
    s3.on(GetObjectCommand, { Key: 'invoices/a' }).resolves({
      Body: objectBody('alpha'),
      ChecksumSHA256: sha256('alpha'),
    });
    s3.on(GetObjectCommand, { Key: 'invoices/b' }).resolves({
      Body: objectBody('bravo'),
      ChecksumSHA256: sha256('BRAVO'),
    });
    s3.on(GetObjectCommand, { Key: 'invoices/c' }).resolves({ Body: objectBody('charl') });

    // Act
    const report = await runS3Checks({
      client: new S3Client({}),
      bucket: BUCKET,
      checks: checks('    - s3Checksums: { prefix: invoices/, sample: 3 }\n'),
      recoveryPointCreatedAt: RECOVERY_POINT_AT,
    });

    // Assess
    expect(report.checks[0]).toEqual({
      name: 'checksums of 3 objects under "invoices/"',
      passed: false,
      observed:
        '1 of 3 sampled objects verified; failed: invoices/b (SHA-256 mismatch), invoices/c (no stored checksum)',
      expected: '3 sampled objects verify',
    });
    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, {
      Bucket: BUCKET,
      Key: 'invoices/a',
      ChecksumMode: 'ENABLED',
    });
  });

  it('samples across the whole prefix, not only its first keys, and passes when every sample verifies', async () => {
    // Prepare
    const keys = Array.from({ length: 10 }, (_, index) => `logs/${index}`);
    s3.on(ListObjectsV2Command).resolves({ Contents: keys.map((Key) => ({ Key, Size: 2 })) });
    s3.on(GetObjectCommand).callsFake(async (input: { Key: string }) => ({
      Body: objectBody(input.Key),
      ChecksumSHA256: sha256(input.Key),
    }));

    // Act
    const report = await runS3Checks({
      client: new S3Client({}),
      bucket: BUCKET,
      checks: checks('    - s3Checksums: { prefix: logs/, sample: 2 }\n'),
      recoveryPointCreatedAt: RECOVERY_POINT_AT,
    });

    // Assess
    expect(report.checks[0]).toMatchObject({ passed: true, observed: '2 of 2 sampled objects verified' });
    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, { Key: 'logs/0' });
    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, { Key: 'logs/5' });
  });

  it('measures the data RPO from the newest LastModified under the prefix', async () => {
    // Prepare
    s3.on(ListObjectsV2Command).resolves({
      Contents: [
        { Key: 'a', LastModified: new Date('2026-01-04T23:50:00.000Z') },
        { Key: 'b', LastModified: new Date('2026-01-05T01:20:00.000Z') },
      ],
    });

    // Act
    const report = await runS3Checks({
      client: new S3Client({}),
      bucket: BUCKET,
      checks: checks("    - freshness: { prefix: '', withinMinutes: 20 }\n"),
      recoveryPointCreatedAt: RECOVERY_POINT_AT,
    });

    // Assess
    expect(report.checks[0]).toMatchObject({ passed: false, dataRpoSeconds: 1_800 });
    expect(report.checks[0]?.expected).toBe(
      'newest data within 20 min of the recovery point (2026-01-05T01:50:00.000Z)',
    );
  });
});
