import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  DeleteBucketCommand,
  DeleteObjectsCommand,
  GetBucketEncryptionCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  GetPublicAccessBlockCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  NoSuchBucket,
  PutBucketTaggingCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { sdkStreamMixin } from '@smithy/core/serde';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { drClients } from '../../functions/lib/clients.js';
import { config } from '../../functions/lib/config.js';
import { TeardownRefused } from '../../functions/lib/errors.js';
import { parseValidationProfiles } from '../../functions/lib/validation-profiles-file.js';
import { builtInChecks } from '../../functions/lib/validations.js';
import { s3 } from '../../functions/resources/s3.js';
import { DRILL_ID, rdsDrill } from './support.js';

const client = mockClient(S3Client);

const BUCKET = 'pl-rds-20260105t0157-5b0c1f2e9a';
const RESTORED_BUCKET_ARN = `arn:aws:s3:::${BUCKET}`;
const DR_ACCOUNT = '333333333333';
const DR_KEY = 'arn:aws:kms:us-west-2:333333333333:alias/aws/s3';
const DRILL_TAGS = [
  { Key: 'pilotlight:drill-id', Value: DRILL_ID },
  { Key: 'pilotlight:managed', Value: 'true' },
  { Key: 'pilotlight:mode', Value: 'drill' },
];

const SOURCE_METADATA: Record<string, string> = {
  DestinationBucketName: 'orders-archive',
  NewBucket: 'false',
  Encrypted: 'true',
  EncryptionType: 'SSE-KMS',
  KMSKey: 'arn:aws:kms:us-east-2:111111111111:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b',
  ItemsToRestore: '["s3://orders-archive/one.json"]',
  ObjectCount: '3',
};

/** S3 errors the SDK does not model as classes arrive as service exceptions named after the code. */
function s3Error(code: string): S3ServiceException {
  return new S3ServiceException({
    name: code,
    $fault: 'client',
    $metadata: { httpStatusCode: 404 },
    message: code,
  });
}

const noSuchBucket = () =>
  new NoSuchBucket({ message: 'The specified bucket does not exist', $metadata: {} });

function failedChecks(checks: { name: string; passed: boolean }[]): string[] {
  return checks.filter((check) => !check.passed).map((check) => check.name);
}

interface BucketState {
  versioning?: 'Enabled' | 'Suspended';
  blocked?: boolean;
  encryption?: { SSEAlgorithm: 'aws:kms' | 'AES256'; KMSMasterKeyID?: string };
  objects?: number;
  tags?: { Key: string; Value: string }[];
}

async function checkHealthOf(bucket: BucketState = {}) {
  client.on(GetBucketVersioningCommand).resolves({ Status: bucket.versioning ?? 'Enabled' });
  const blocked = bucket.blocked ?? true;
  client.on(GetPublicAccessBlockCommand).resolves({
    PublicAccessBlockConfiguration: {
      BlockPublicAcls: true,
      IgnorePublicAcls: true,
      BlockPublicPolicy: blocked,
      RestrictPublicBuckets: true,
    },
  });
  client.on(GetBucketEncryptionCommand).resolves({
    ServerSideEncryptionConfiguration: {
      Rules: [
        {
          ApplyServerSideEncryptionByDefault: bucket.encryption ?? {
            SSEAlgorithm: 'aws:kms',
            KMSMasterKeyID: DR_KEY,
          },
        },
      ],
    },
  });
  client.on(GetBucketTaggingCommand).resolves({ TagSet: bucket.tags ?? DRILL_TAGS });
  client.on(ListObjectsV2Command).resolves({ KeyCount: bucket.objects ?? 3, IsTruncated: false });
  return s3.checkHealth({
    clients: drClients(),
    resourceArn: RESTORED_BUCKET_ARN,
    expected: { ObjectCount: '3', VersioningStatus: 'Enabled' },
    drill: rdsDrill(),
    config,
  });
}

beforeEach(() => {
  client.reset();
});

describe('s3.owns', () => {
  it('claims drill-named bucket ARNs only: not other buckets, not objects', () => {
    expect(s3.owns(RESTORED_BUCKET_ARN)).toBe(true);
    expect(s3.owns('arn:aws:s3:::pilotlight-prod-evidence')).toBe(false);
    expect(s3.owns(`${RESTORED_BUCKET_ARN}/orders/1.json`)).toBe(false);
  });
});

describe('s3.restoreMetadata', () => {
  it('restores the whole bucket into a new drill-named bucket, encrypted with the DR account key', () => {
    // Prepare
    const drill = rdsDrill();

    // Act
    const metadata = s3.restoreMetadata(SOURCE_METADATA, drill, config);

    // Assess
    expect(metadata).toEqual({
      DestinationBucketName: BUCKET,
      NewBucket: 'true',
      Encrypted: 'true',
      EncryptionType: 'SSE-KMS',
      KMSKey: DR_KEY,
      CreationToken: DRILL_ID,
      ObjectCount: '3',
    });
    expect(metadata).not.toHaveProperty('ItemsToRestore');
  });
});

describe('s3.tag and readTags', () => {
  it('adds the drill tags to what the bucket carries, proving the owner on every call', async () => {
    // Prepare
    client.on(GetBucketTaggingCommand).resolves({ TagSet: [{ Key: 'team', Value: 'orders' }] });
    client.on(PutBucketTaggingCommand).resolves({});

    // Act
    await s3.tag(drClients(), RESTORED_BUCKET_ARN, { 'pilotlight:managed': 'true' });

    // Assess
    expect(client).toHaveReceivedCommandWith(PutBucketTaggingCommand, {
      Bucket: BUCKET,
      ExpectedBucketOwner: DR_ACCOUNT,
      Tagging: {
        TagSet: [
          { Key: 'team', Value: 'orders' },
          { Key: 'pilotlight:managed', Value: 'true' },
        ],
      },
    });
  });

  it('reads an empty tag set of a bucket without tags, and none of a bucket that is gone', async () => {
    client.on(GetBucketTaggingCommand).rejectsOnce(s3Error('NoSuchTagSet')).rejectsOnce(noSuchBucket());

    await expect(s3.readTags(drClients(), RESTORED_BUCKET_ARN)).resolves.toEqual({});
    await expect(s3.readTags(drClients(), RESTORED_BUCKET_ARN)).resolves.toBeUndefined();
  });
});

describe('s3.checkHealth', () => {
  it("passes every check for a private, DR-encrypted, versioned, tagged bucket with the backup's objects", async () => {
    // Act
    const checks = await checkHealthOf();

    // Assess
    expect(checks.map((check) => check.name)).toEqual([
      'resource-available',
      'isolated',
      'encrypted',
      'tagged',
      'data-integrity',
    ]);
    expect(failedChecks(checks)).toEqual([]);
    expect(client).toHaveReceivedCommandWith(GetPublicAccessBlockCommand, {
      Bucket: BUCKET,
      ExpectedBucketOwner: DR_ACCOUNT,
    });
  });

  it('fails the isolation check when any Block Public Access setting is off', async () => {
    expect(failedChecks(await checkHealthOf({ blocked: false }))).toEqual(['isolated']);
  });

  it('fails the isolation check for a bucket with no Block Public Access configuration', async () => {
    client.on(GetPublicAccessBlockCommand).rejects(s3Error('NoSuchPublicAccessBlockConfiguration'));
    client.on(GetBucketVersioningCommand).resolves({ Status: 'Enabled' });
    client.on(GetBucketEncryptionCommand).resolves({
      ServerSideEncryptionConfiguration: {
        Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: DR_KEY } }],
      },
    });
    client.on(GetBucketTaggingCommand).resolves({ TagSet: DRILL_TAGS });
    client.on(ListObjectsV2Command).resolves({ KeyCount: 3, IsTruncated: false });

    const checks = await s3.checkHealth({
      clients: drClients(),
      resourceArn: RESTORED_BUCKET_ARN,
      expected: { ObjectCount: '3' },
      drill: rdsDrill(),
      config,
    });

    expect(failedChecks(checks)).toEqual(['isolated']);
  });

  it('fails the encryption check for S3-managed keys or a key of another account', async () => {
    expect(failedChecks(await checkHealthOf({ encryption: { SSEAlgorithm: 'AES256' } }))).toEqual([
      'encrypted',
    ]);
    expect(
      failedChecks(
        await checkHealthOf({
          encryption: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: SOURCE_METADATA.KMSKey },
        }),
      ),
    ).toEqual(['encrypted']);
  });

  it("fails the tag check for a bucket without this drill's tag", async () => {
    expect(failedChecks(await checkHealthOf({ tags: [] }))).toEqual(['tagged']);
  });

  it('fails the data check for missing objects or versioning that differs from the backup', async () => {
    expect(failedChecks(await checkHealthOf({ objects: 1 }))).toEqual(['data-integrity']);
    expect(failedChecks(await checkHealthOf({ versioning: 'Suspended' }))).toEqual(['data-integrity']);
  });

  it('reports a single failed existence check when the bucket does not exist', async () => {
    client.on(GetBucketVersioningCommand).rejects(noSuchBucket());

    const checks = await s3.checkHealth({
      clients: drClients(),
      resourceArn: RESTORED_BUCKET_ARN,
      expected: {},
      drill: rdsDrill(),
      config,
    });

    expect(checks).toEqual([
      { name: 'resource-exists', passed: false, detail: `bucket ${BUCKET} not found` },
    ]);
  });
});

describe('s3.delete and lifecycle', () => {
  it('empties the bucket of every version and delete marker first, and reports them', async () => {
    // Prepare
    client.on(GetBucketTaggingCommand).resolves({ TagSet: DRILL_TAGS });
    client.on(ListObjectVersionsCommand).resolves({
      Versions: [{ Key: 'a.json', VersionId: 'v1' }],
      DeleteMarkers: [{ Key: 'b.json', VersionId: 'v2' }],
    });
    client.on(DeleteObjectsCommand).resolves({ Deleted: [{ Key: 'a.json' }, { Key: 'b.json' }] });

    // Act
    const outcome = await s3.delete(drClients(), RESTORED_BUCKET_ARN);

    // Assess
    expect(outcome).toEqual({
      status: 'deleted',
      deleted: [`${RESTORED_BUCKET_ARN}/a.json?versionId=v1`, `${RESTORED_BUCKET_ARN}/b.json?versionId=v2`],
    });
    expect(client).toHaveReceivedCommandWith(DeleteObjectsCommand, {
      Bucket: BUCKET,
      ExpectedBucketOwner: DR_ACCOUNT,
      Delete: {
        Objects: [
          { Key: 'a.json', VersionId: 'v1' },
          { Key: 'b.json', VersionId: 'v2' },
        ],
        Quiet: true,
      },
    });
    expect(client).not.toHaveReceivedCommand(DeleteBucketCommand);
  });

  it('deletes the bucket once it is empty', async () => {
    client.on(GetBucketTaggingCommand).resolves({ TagSet: DRILL_TAGS });
    client.on(ListObjectVersionsCommand).resolves({});
    client.on(DeleteBucketCommand).resolves({});

    await expect(s3.delete(drClients(), RESTORED_BUCKET_ARN)).resolves.toEqual({
      status: 'deleted',
      deleted: [RESTORED_BUCKET_ARN],
    });
    expect(client).toHaveReceivedCommandWith(DeleteBucketCommand, {
      Bucket: BUCKET,
      ExpectedBucketOwner: DR_ACCOUNT,
    });
  });

  it('reports a bucket that is already gone', async () => {
    client.on(GetBucketTaggingCommand).rejects(noSuchBucket());

    await expect(s3.delete(drClients(), RESTORED_BUCKET_ARN)).resolves.toEqual({
      status: 'already-gone',
      deleted: [],
    });
  });

  it.each([
    ['a failover', [...DRILL_TAGS.slice(0, 2), { Key: 'pilotlight:mode', Value: 'failover' }]],
    ['not managed by Pilotlight', [{ Key: 'team', Value: 'orders' }]],
  ])('refuses to touch a bucket that is %s', async (_case, tags) => {
    client.on(GetBucketTaggingCommand).resolves({ TagSet: tags });

    await expect(s3.delete(drClients(), RESTORED_BUCKET_ARN)).rejects.toBeInstanceOf(TeardownRefused);
    expect(client).not.toHaveReceivedCommand(ListObjectVersionsCommand);
  });

  it('says a bucket is present until S3 no longer finds it', async () => {
    client.on(GetBucketVersioningCommand).resolvesOnce({ Status: 'Enabled' }).rejectsOnce(noSuchBucket());

    await expect(s3.lifecycle(drClients(), RESTORED_BUCKET_ARN)).resolves.toBe('present');
    await expect(s3.lifecycle(drClients(), RESTORED_BUCKET_ARN)).resolves.toBe('gone');
  });
});

describe('s3.dataChecks', () => {
  it("runs the profile's checks against the restored bucket, proving its owner on every read", async () => {
    // Prepare: two objects, the newest written four minutes before the recovery point, checksums stored.
    const body = '{"orderId":"order-000001"}';
    client.on(ListObjectsV2Command).resolves({
      Contents: [
        { Key: 'orders/1.json', Size: body.length, LastModified: new Date('2026-01-05T01:40:00.000Z') },
        { Key: 'orders/2.json', Size: body.length, LastModified: new Date('2026-01-05T01:46:00.000Z') },
      ],
      IsTruncated: false,
    });
    client.on(GetObjectCommand).callsFake(() => ({
      Body: sdkStreamMixin(Readable.from([Buffer.from(body)])),
      ChecksumSHA256: createHash('sha256').update(body).digest('base64'),
    }));
    const checks = builtInChecks(
      parseValidationProfiles(
        [
          'profiles:',
          '  p:',
          "    - s3Count: { prefix: orders/, expect: { op: '>=', value: 2 } }",
          '    - s3Checksums: { prefix: orders/, sample: 2 }',
          '    - freshness: { prefix: orders/, withinMinutes: 60 }',
        ].join('\n'),
      ).profiles.p ?? [],
    );

    // Act
    const report = await s3.dataChecks?.({
      clients: drClients(),
      resourceArn: RESTORED_BUCKET_ARN,
      drill: rdsDrill(),
      config,
      checks,
      recoveryPointCreatedAt: new Date('2026-01-05T01:50:00.000Z'),
    });

    // Assess
    expect(report?.checks.map((check) => [check.name, check.passed])).toEqual([
      ['object count under "orders/"', true],
      ['checksums of 2 objects under "orders/"', true],
      ['freshness of objects under "orders/"', true],
    ]);
    expect(report?.dataRpoSeconds).toBe(240);
    expect(client).toHaveReceivedCommandWith(ListObjectsV2Command, {
      Bucket: BUCKET,
      Prefix: 'orders/',
      ExpectedBucketOwner: DR_ACCOUNT,
    });
    expect(client).toHaveReceivedCommandWith(GetObjectCommand, {
      Bucket: BUCKET,
      Key: 'orders/2.json',
      ExpectedBucketOwner: DR_ACCOUNT,
      ChecksumMode: 'ENABLED',
    });
  });
});
