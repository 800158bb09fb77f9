import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { sdkStreamMixin } from '@smithy/core/serde';
import { SimulatedAwsError } from '../aws-errors.js';
import { tagContext, tagsOf } from '../iam-keys.js';
import type { IamRequest, RequestEnvironment } from '../iam-requests.js';
import type { RestoredResource } from '../world.js';
import { hitByCorruption, seededObjectKey, seededWrittenAt } from './seeded-data.js';
import { type IamMapper, type SandboxResourceType, type ServiceApi, text } from './types.js';

/**
 * Amazon S3 buckets that S3 restores create, with their objects. The central evidence bucket is the world's
 * (world.putObject/deleteObject, 'S3.PutObject'/'S3.DeleteObject' in services.ts); the operations here are
 * the bucket-level ones a drill's checks and teardown use, and they answer NoSuchBucket for any other bucket.
 */
export interface RestoredObjectVersion {
  key: string;
  versionId: string;
  size: number;
  isLatest: boolean;
  /** When the source wrote it (ms): its LastModified, which a restore keeps. */
  lastModified: number;
  /** data=corrupt: the bytes S3 serves no longer match the checksum stored with the object (bit rot). */
  damaged?: boolean;
}

/**
 * The bytes the source wrote: an order document padded to the object's size. Computed when read rather than
 * kept (a burst of drills restores tens of thousands of objects, up to 20 kB each).
 */
export function writtenBody(version: RestoredObjectVersion): Buffer {
  const head = `${JSON.stringify({ key: version.key, writtenAt: new Date(version.lastModified).toISOString() })}\n`;
  const body = Buffer.alloc(Math.max(version.size, head.length), ' ');
  body.write(head);
  return body;
}

const storedChecksums = new WeakMap<RestoredObjectVersion, string>();

/** The full-object SHA-256 (base64) stored with the object at upload, as ChecksumSHA256 returns it. */
export function storedChecksum(version: RestoredObjectVersion): string {
  let checksum = storedChecksums.get(version);
  if (checksum === undefined) {
    checksum = createHash('sha256').update(writtenBody(version)).digest('base64');
    storedChecksums.set(version, checksum);
  }
  return checksum;
}

/** What GetObject returns: the written bytes, one flipped in a damaged object. */
function servedBody(version: RestoredObjectVersion): Buffer {
  const body = writtenBody(version);
  if (version.damaged) body[body.length - 1] = (body[body.length - 1] ?? 0) ^ 0x01;
  return body;
}

export interface Bucket extends RestoredResource {
  kind: 'bucket';
  versioning: 'Enabled' | 'Suspended' | undefined;
  blockPublicAccess: {
    BlockPublicAcls: boolean;
    IgnorePublicAcls: boolean;
    BlockPublicPolicy: boolean;
    RestrictPublicBuckets: boolean;
  };
  encryption?: { algorithm: string; key?: string };
  versions: RestoredObjectVersion[];
}

export class S3State {
  readonly buckets = new Map<string, Bucket>();

  /** A bucket by name, wherever it is (bucket names are global); NoSuchBucket when none. */
  bucket(name: string): Bucket {
    const found = this.buckets.get(name);
    if (!found || found.phase === 'deleted')
      throw new SimulatedAwsError('NoSuchBucket', 'The specified bucket does not exist');
    return found;
  }

  /** The bucket a request names, checked against ExpectedBucketOwner as S3 does (403 for another owner). */
  owned(input: { Bucket?: string; ExpectedBucketOwner?: string }): Bucket {
    const bucket = this.bucket(input.Bucket ?? '');
    if (input.ExpectedBucketOwner !== undefined && input.ExpectedBucketOwner !== bucket.account)
      throw new SimulatedAwsError('AccessDenied', 'Access Denied');
    return bucket;
  }
}

const bucketArn = (name: string) => `arn:aws:s3:::${name}`;

/**
 * A bucket-level request as IAM sees it. A bucket ARN names no account: IAM takes aws:ResourceAccount from the
 * bucket's owner, which for the restored buckets the DR role may touch is the caller's own account (the
 * request's ExpectedBucketOwner makes S3 refuse any other owner before anything happens).
 */
function onBucket(action: string): IamMapper {
  return (input, env) => {
    const arn = bucketArn(text(input.Bucket));
    return [
      {
        action,
        resource: arn,
        resourceAccount: env.account,
        context: { 's3:ResourceAccount': env.account },
        taggedResource: arn,
      },
    ];
  };
}

/** DeleteObjects is authorized per object: s3:DeleteObjectVersion for each versioned key (S3 User Guide). */
function deleteObjectsRequests(input: Record<string, unknown>, env: RequestEnvironment): IamRequest[] {
  const bucket = text(input.Bucket);
  const del = input.Delete as { Objects?: { Key?: string; VersionId?: string }[] } | undefined;
  return (del?.Objects ?? []).map((object) => ({
    action: object.VersionId ? 's3:DeleteObjectVersion' : 's3:DeleteObject',
    resource: `${bucketArn(bucket)}/${object.Key ?? ''}`,
    resourceAccount: env.account,
    context: { 's3:ResourceAccount': env.account },
  }));
}

export const s3Api: ServiceApi = {
  service: 'S3',
  operations(world) {
    const state = world.state(S3State);
    type BucketInput = { Bucket?: string; ExpectedBucketOwner?: string };
    return {
      'S3.GetBucketVersioning': (_caller, input: BucketInput) => ({ Status: state.owned(input).versioning }),
      'S3.GetPublicAccessBlock': (_caller, input: BucketInput) => ({
        PublicAccessBlockConfiguration: { ...state.owned(input).blockPublicAccess },
      }),
      'S3.GetBucketEncryption': (_caller, input: BucketInput) => {
        const encryption = state.owned(input).encryption;
        if (!encryption)
          throw new SimulatedAwsError(
            'ServerSideEncryptionConfigurationNotFoundError',
            'The server side encryption configuration was not found',
          );
        return {
          ServerSideEncryptionConfiguration: {
            Rules: [
              {
                ApplyServerSideEncryptionByDefault: {
                  SSEAlgorithm: encryption.algorithm,
                  KMSMasterKeyID: encryption.key,
                },
                BucketKeyEnabled: true,
              },
            ],
          },
        };
      },
      'S3.GetBucketTagging': (_caller, input: BucketInput) => {
        const tags = Object.entries(state.owned(input).tags);
        if (tags.length === 0) throw new SimulatedAwsError('NoSuchTagSet', 'The TagSet does not exist');
        return { TagSet: tags.map(([Key, Value]) => ({ Key, Value })) };
      },
      // PutBucketTagging replaces the whole tag set, as S3 does.
      'S3.PutBucketTagging': (_caller, input: BucketInput & { Tagging?: { TagSet?: unknown } }) => {
        const bucket = state.owned(input);
        const set = tagsOf(input.Tagging?.TagSet);
        bucket.tags = Object.fromEntries(set.map((tag) => [tag.Key ?? '', tag.Value ?? '']));
        return {};
      },
      'S3.ListObjectsV2': (
        _caller,
        input: BucketInput & { MaxKeys?: number; ContinuationToken?: string; Prefix?: string },
      ) => {
        const prefix = input.Prefix ?? '';
        const current = state
          .owned(input)
          .versions.filter((v) => v.isLatest && v.key.startsWith(prefix))
          .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
        const start = Number(input.ContinuationToken ?? 0);
        const page = current.slice(start, start + Math.min(1000, input.MaxKeys ?? 1000));
        const next = start + page.length;
        return {
          Contents: page.map((v) => ({
            Key: v.key,
            Size: v.size,
            LastModified: new Date(v.lastModified),
            ChecksumAlgorithm: ['SHA256'],
            ChecksumType: 'FULL_OBJECT',
            StorageClass: 'STANDARD',
          })),
          Prefix: prefix,
          KeyCount: page.length,
          IsTruncated: next < current.length,
          NextContinuationToken: next < current.length ? String(next) : undefined,
        };
      },
      'S3.GetObject': (
        caller,
        input: BucketInput & { Key?: string; VersionId?: string; ChecksumMode?: string },
      ) => {
        const bucket = state.owned(input);
        // data=unreachable: the objects cannot be read (a bucket policy's explicit deny, an organisation's
        // data perimeter the drill did not expect); the bucket and its listing are there.
        if (world.faults.unreachableData)
          throw new SimulatedAwsError(
            'AccessDenied',
            `User: ${caller.sessionArn} is not authorized to perform: s3:GetObject on resource: "${bucket.arn}/${input.Key ?? ''}" with an explicit deny in a resource-based policy`,
          );
        const version = bucket.versions.find(
          (v) => v.key === input.Key && (input.VersionId ? v.versionId === input.VersionId : v.isLatest),
        );
        if (!version) throw new SimulatedAwsError('NoSuchKey', 'The specified key does not exist.');
        const body = servedBody(version);
        return {
          Body: sdkStreamMixin(Readable.from([body])),
          ContentLength: body.length,
          ContentType: 'application/json',
          LastModified: new Date(version.lastModified),
          VersionId: version.versionId,
          ETag: `"${createHash('md5').update(writtenBody(version)).digest('hex')}"`,
          // S3 returns the stored checksum only when asked (ChecksumMode ENABLED).
          ...(input.ChecksumMode === 'ENABLED'
            ? { ChecksumSHA256: storedChecksum(version), ChecksumType: 'FULL_OBJECT' }
            : {}),
        };
      },
      'S3.ListObjectVersions': (_caller, input: BucketInput & { MaxKeys?: number }) => {
        const versions = state.owned(input).versions.slice(0, Math.min(1000, input.MaxKeys ?? 1000));
        return {
          Versions: versions.map((v) => ({
            Key: v.key,
            VersionId: v.versionId,
            IsLatest: v.isLatest,
            Size: v.size,
          })),
          DeleteMarkers: [],
          IsTruncated: versions.length < state.owned(input).versions.length,
        };
      },
      'S3.DeleteObjects': (
        _caller,
        input: BucketInput & { Delete?: { Objects?: { Key?: string; VersionId?: string }[] } },
      ) => {
        const bucket = state.owned(input);
        const objects = input.Delete?.Objects ?? [];
        if (objects.length > 1000)
          throw new SimulatedAwsError('MalformedXML', 'DeleteObjects takes at most 1000 keys');
        const gone = new Set(objects.map((o) => `${o.Key}\u0000${o.VersionId}`));
        bucket.versions = bucket.versions.filter((v) => !gone.has(`${v.key}\u0000${v.versionId}`));
        return { Deleted: objects.map((o) => ({ Key: o.Key, VersionId: o.VersionId })), Errors: [] };
      },
      'S3.DeleteBucket': (_caller, input: BucketInput) => {
        const bucket = state.owned(input);
        if (bucket.versions.length > 0)
          throw new SimulatedAwsError('BucketNotEmpty', 'The bucket you tried to delete is not empty');
        world.teardownFault('OperationAborted');
        // S3 deletes a bucket at once: no API sees it after this call.
        bucket.phase = 'deleted';
        bucket.status = 'deleted';
        bucket.deletedAt = world.now;
        return {};
      },
    };
  },
  iam: {
    'S3.GetBucketVersioning': onBucket('s3:GetBucketVersioning'),
    'S3.GetPublicAccessBlock': onBucket('s3:GetBucketPublicAccessBlock'),
    'S3.GetBucketEncryption': onBucket('s3:GetEncryptionConfiguration'),
    'S3.GetBucketTagging': onBucket('s3:GetBucketTagging'),
    'S3.PutBucketTagging': (input, env) =>
      onBucket('s3:PutBucketTagging')(input, env).map((request) => ({
        ...request,
        context: {
          ...request.context,
          ...tagContext(tagsOf((input.Tagging as { TagSet?: unknown } | undefined)?.TagSet)),
        },
      })),
    'S3.ListObjectsV2': onBucket('s3:ListBucket'),
    'S3.ListObjectVersions': onBucket('s3:ListBucketVersions'),
    'S3.DeleteObjects': deleteObjectsRequests,
    'S3.DeleteBucket': onBucket('s3:DeleteBucket'),
  },
};

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Amazon S3: AWS Backup's S3 recovery points are `arn:aws:backup:…:recovery-point:ID`; a restore into a new
 * bucket creates it (versioned, Block Public Access on, as new buckets are) and puts back the latest version
 * of every object.
 */
export const s3: SandboxResourceType = {
  type: 'S3',
  sizeGiB: (random) => random.int(1, 200),
  // Bucket ARNs name no account and no region.
  sourceResourceArn: ({ index }) => `arn:aws:s3:::orders-archive-${index}`,
  recoveryPointArn: ({ account, region, random }) =>
    `arn:aws:backup:${region}:${account}:recovery-point:${random.uuid()}`,
  recoveryPointForm: {
    describe: 'arn:aws:backup:REGION:ACCOUNT:recovery-point:ID',
    fits: (arn) => arn.service === 'backup' && /^recovery-point:[A-Za-z0-9-]+$/.test(arn.resource),
  },
  sourceMetadata: ({ resourceArn, account, region, random }) => ({
    DestinationBucketName: resourceArn.split(':').pop() ?? 'orders-archive',
    NewBucket: 'false',
    Encrypted: 'true',
    EncryptionType: 'SSE-KMS',
    KMSKey: `arn:aws:kms:${region}:${account}:key/${random.uuid()}`,
    ObjectCount: String(random.int(20, 400)),
    VersioningStatus: 'Enabled',
  }),
  // A bucket restore copies every object back: tens of minutes, longer for big buckets.
  restoreDurationMs: (random, sizeGiB) => random.seconds(10 * 60, 30 * 60) + sizeGiB * 2000,

  validateRestore(world, _caller, metadata) {
    const name = metadata.DestinationBucketName ?? '';
    if (!BUCKET_NAME.test(name))
      throw new SimulatedAwsError(
        'InvalidParameterValueException',
        `Restore metadata needs a valid DestinationBucketName (got "${name}")`,
      );
    const existing = world.state(S3State).buckets.get(name);
    if (metadata.NewBucket === 'true' && existing && existing.phase !== 'deleted')
      throw new SimulatedAwsError('InvalidParameterValueException', `Bucket ${name} already exists`);
  },

  // The S3 bucket quota (10,000 general purpose buckets per account) is far above any drill burst.
  quotaExceeded: () => undefined,

  restore(world, job, point, metadata) {
    const name = metadata.DestinationBucketName ?? `restored-${world.random.hex(8)}`;
    const count = Number(metadata.ObjectCount ?? 50);
    // What the source held at the recovery point (seeded-data.ts); an unhealthy restore skipped every object.
    const restored = world.faults.unhealthy ? 0 : count;
    const bucket: Bucket = {
      arn: bucketArn(name),
      account: job.account,
      region: job.region,
      kind: 'bucket',
      id: name,
      status: 'available',
      phase: 'present',
      tags: {},
      createdAt: world.now,
      versioning: 'Enabled',
      blockPublicAccess: {
        BlockPublicAcls: true,
        IgnorePublicAcls: true,
        BlockPublicPolicy: true,
        RestrictPublicBuckets: true,
      },
      encryption:
        metadata.Encrypted === 'true'
          ? metadata.EncryptionType === 'SSE-KMS'
            ? { algorithm: 'aws:kms', key: metadata.KMSKey }
            : { algorithm: 'AES256' }
          : undefined,
      versions: Array.from({ length: restored }, (_, i) => ({
        key: seededObjectKey(i),
        versionId: world.random.hex(16),
        size: world.random.int(200, 20_000),
        isLatest: true,
        lastModified: seededWrittenAt(i, count, point.createdAt, world.faults.staleData),
        damaged: world.faults.corruptData && hitByCorruption(i),
      })),
    };
    world.state(S3State).buckets.set(name, bucket);
    world.track(bucket);
    return bucket.arn;
  },

  present: (world, account) =>
    [...world.state(S3State).buckets.values()].filter((b) => b.account === account && b.phase !== 'deleted')
      .length,

  // Restore testing infers a new bucket named awsbackup-restore-test-…; the DR account's selection overrides
  // the encryption to SSE-KMS with the account's key (restore testing's default is SSE-S3).
  restoreTestMetadata: ({ metadata, name, account, region }) => ({
    ...metadata,
    DestinationBucketName: name,
    NewBucket: 'true',
    Encrypted: 'true',
    EncryptionType: 'SSE-KMS',
    KMSKey: `arn:aws:kms:${region}:${account}:alias/aws/s3`,
  }),
  restoreTestName: (arn) => /^arn:aws:s3:::([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])$/.exec(arn)?.[1],
};
