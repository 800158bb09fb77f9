import { accountOf, parseArn } from '../lib/arn.js';
import type { AccountClients } from '../lib/clients.js';
import { MANAGED_TAG, MODE_TAG } from '../lib/drill.js';
import { TeardownRefused } from '../lib/errors.js';
import { lazySdk } from './sdk/lazy.js';
import { check, drillResourceName, type ResourceModule, taggedCheck, tagList, tagsOf } from './types.js';

/** The S3 SDK, loaded on first use: only drills of this type pay for it (see docs/architecture.md). */
const s3Sdk = lazySdk(() => import('./sdk/s3.js'));

/** At most this many ListObjectsV2 pages (1000 keys each) are read to count what a restore put back. */
const MAX_LIST_PAGES = 10;

/**
 * S3 answers some "nothing here" conditions with error codes the SDK does not model as classes: a bucket
 * without tags (NoSuchTagSet), without a Block Public Access configuration, without default encryption.
 */
function isError(error: unknown, name: string): boolean {
  return error instanceof Error && error.name === name;
}

function isNoSuchBucket(error: unknown): boolean {
  // By name only: the SDK's NoSuchBucket class lives in the lazily loaded SDK, and is named so.
  return isError(error, 'NoSuchBucket');
}

/** Bucket names: 3–63 lower-case letters, digits, hyphens; start and end with a letter or digit. */
export function bucketNameFor(drillId: string): string {
  return drillResourceName(drillId, 63);
}

/** The DR account's AWS managed S3 key: restored objects are never encrypted with a source-account key. */
export function drBucketKeyArn(region: string, account: string): string {
  return `arn:aws:kms:${region}:${account}:alias/aws/s3`;
}

/** `arn:aws:s3:::NAME` → NAME. */
function bucketOf(arn: string): string {
  return parseArn(arn)?.resource ?? '';
}

/**
 * Amazon S3 buckets. AWS Backup's S3 recovery points are `arn:aws:backup:REGION:ACCOUNT:recovery-point:ID`; a
 * restore to a new bucket creates `arn:aws:s3:::NAME`. A bucket ARN names no account and no region, so the
 * DR account is proven on every call instead: each request goes through the DR account's role session and
 * carries ExpectedBucketOwner = that account (S3 answers 403 AccessDenied for a bucket owned by anyone else),
 * and the DR roles' S3 statements allow only `pl-*` buckets with aws:ResourceAccount = the DR account.
 */
export const s3: ResourceModule = {
  type: 'S3',
  taggingTypes: ['s3'],
  // Only drill-named buckets (`pl-…`, as bucketNameFor makes them): no other bucket is ever this type's.
  // Its recovery points' own ARN form (AWS Backup's `recovery-point:` ARNs name no type: none here).
  ownsRecoveryPoint: () => false,
  owns: (arn) => {
    const parsed = parseArn(arn);
    return (
      parsed?.service === 's3' &&
      parsed.region === '' &&
      parsed.account === '' &&
      /^pl-[a-z0-9-]{1,60}[a-z0-9]$/.test(parsed.resource)
    );
  },
  // The bucket exists, with its objects, when the restore job completes.
  readiness: { budgetSeconds: 3600 },
  typicalRestore: { seconds: 1200, perGiBSeconds: 2 },

  restoreMetadata(base, drill, config) {
    const metadata = { ...base };
    // Restore the whole bucket, into a new one, with the DR account's key (never the source's).
    delete metadata.ItemsToRestore;
    delete metadata.KMSKey;
    return {
      ...metadata,
      DestinationBucketName: bucketNameFor(drill.drillId),
      NewBucket: 'true',
      Encrypted: 'true',
      EncryptionType: 'SSE-KMS',
      KMSKey: drBucketKeyArn(config.DR_REGION, config.DR_ACCOUNT_ID),
      // The same drill asks for the same bucket: a retried StartRestoreJob does not create a second one.
      CreationToken: drill.drillId,
    };
  },

  async tag(clients, resourceArn, tags) {
    const { PutBucketTaggingCommand, S3Client } = await s3Sdk();
    const bucket = bucketOf(resourceArn);
    // PutBucketTagging replaces the whole tag set: keep what the bucket already carries.
    const existing = (await s3.readTags(clients, resourceArn)) ?? {};
    await clients.client(S3Client).send(
      new PutBucketTaggingCommand({
        Bucket: bucket,
        ExpectedBucketOwner: clients.account,
        Tagging: { TagSet: tagList({ ...existing, ...tags }) },
      }),
    );
  },

  async readTags(clients, resourceArn) {
    const { GetBucketTaggingCommand, S3Client } = await s3Sdk();
    try {
      const result = await clients.client(S3Client).send(
        new GetBucketTaggingCommand({
          Bucket: bucketOf(resourceArn),
          ExpectedBucketOwner: clients.account,
        }),
      );
      return tagsOf(result.TagSet);
    } catch (error) {
      if (isNoSuchBucket(error)) return undefined;
      if (isError(error, 'NoSuchTagSet')) return {};
      throw error;
    }
  },

  async checkHealth({ clients, resourceArn, expected, drill, config }) {
    const { GetBucketVersioningCommand, S3Client } = await s3Sdk();
    const bucket = bucketOf(resourceArn);
    const owner = clients.account;
    let versioning: string;
    try {
      const result = await clients
        .client(S3Client)
        .send(new GetBucketVersioningCommand({ Bucket: bucket, ExpectedBucketOwner: owner }));
      versioning = result.Status ?? 'Disabled';
    } catch (error) {
      if (isNoSuchBucket(error)) return [check('resource-exists', false, `bucket ${bucket} not found`)];
      throw error;
    }
    const block = await publicAccessBlock(clients, bucket);
    const encryption = await defaultEncryption(clients, bucket);
    const tags = (await s3.readTags(clients, resourceArn)) ?? {};
    const counted = await countObjects(clients, bucket);
    const expectedObjects = Number(expected.ObjectCount);
    // AWS Backup backs up only versioned buckets, and a restore into a new bucket keeps it versioned.
    const expectedVersioning = expected.VersioningStatus ?? 'Enabled';
    const allBlocked =
      block.BlockPublicAcls === true &&
      block.IgnorePublicAcls === true &&
      block.BlockPublicPolicy === true &&
      block.RestrictPublicBuckets === true;

    return [
      check('resource-available', true, `bucket ${bucket} exists in ${owner}`),
      check(
        'isolated',
        allBlocked,
        `Block Public Access: BlockPublicAcls=${block.BlockPublicAcls} IgnorePublicAcls=${block.IgnorePublicAcls} BlockPublicPolicy=${block.BlockPublicPolicy} RestrictPublicBuckets=${block.RestrictPublicBuckets}`,
      ),
      check(
        'encrypted',
        encryption.algorithm === 'aws:kms' && accountOf(encryption.key) === config.DR_ACCOUNT_ID,
        `default encryption ${encryption.algorithm || 'none'} with ${encryption.key || 'no key'}`,
      ),
      taggedCheck(tags, drill.drillId),
      check(
        'data-integrity',
        versioning === expectedVersioning &&
          (!Number.isFinite(expectedObjects) || !counted.complete || counted.count === expectedObjects),
        `${counted.count}${counted.complete ? '' : '+'} objects (backup: ${expected.ObjectCount ?? 'n/a'}), versioning ${versioning} (backup: ${expectedVersioning})`,
      ),
    ];
  },

  // The profile's checks read the restored bucket through the DR role: S3's API is the data's only door, so
  // no probe is needed (ListObjectsV2, GetObject; accounts/dr-account.yaml ReadRestoredBuckets/Objects).
  async dataChecks({ clients, resourceArn, checks, recoveryPointCreatedAt }) {
    // Loaded with the S3 SDK, on first use: only drills of this type pay for them.
    const [{ S3Client }, { runS3Checks }] = await Promise.all([s3Sdk(), import('../lib/s3-checks.js')]);
    return runS3Checks({
      client: clients.client(S3Client),
      bucket: bucketOf(resourceArn),
      expectedBucketOwner: clients.account,
      checks,
      recoveryPointCreatedAt,
    });
  },

  async lifecycle(clients, resourceArn) {
    const { GetBucketVersioningCommand, S3Client } = await s3Sdk();
    try {
      await clients.client(S3Client).send(
        new GetBucketVersioningCommand({
          Bucket: bucketOf(resourceArn),
          ExpectedBucketOwner: clients.account,
        }),
      );
      // S3 deletes a bucket at once: there is no 'deleting'.
      return 'present';
    } catch (error) {
      if (isNoSuchBucket(error)) return 'gone';
      throw error;
    }
  },

  /**
   * A versioned bucket is deleted in steps: every object version and delete marker first (up to 1000 per
   * call, what one ListObjectVersions page and one DeleteObjects request hold), then the empty bucket.
   */
  async delete(clients, resourceArn) {
    const { DeleteBucketCommand, DeleteObjectsCommand, ListObjectVersionsCommand, S3Client } = await s3Sdk();
    const bucket = bucketOf(resourceArn);
    const owner = clients.account;
    try {
      // IAM cannot condition S3 deletes on the bucket's tags (see accounts/dr-account.yaml): refuse here.
      const tags = await s3.readTags(clients, resourceArn);
      if (tags === undefined) return { status: 'already-gone', deleted: [] };
      if (tags[MANAGED_TAG] !== 'true' || tags[MODE_TAG] === 'failover')
        throw new TeardownRefused(
          `bucket ${bucket} is not a drill's (pilotlight:managed=${tags[MANAGED_TAG] ?? 'missing'}, pilotlight:mode=${tags[MODE_TAG] ?? 'missing'})`,
        );
      const listed = await clients
        .client(S3Client)
        .send(new ListObjectVersionsCommand({ Bucket: bucket, ExpectedBucketOwner: owner, MaxKeys: 1000 }));
      const versions = [...(listed.Versions ?? []), ...(listed.DeleteMarkers ?? [])].map((version) => ({
        Key: version.Key ?? '',
        VersionId: version.VersionId,
      }));
      if (versions.length > 0) {
        const result = await clients.client(S3Client).send(
          new DeleteObjectsCommand({
            Bucket: bucket,
            ExpectedBucketOwner: owner,
            Delete: { Objects: versions, Quiet: true },
          }),
        );
        const failed = result.Errors ?? [];
        if (failed.length > 0)
          throw new BucketNotEmptied(
            `${failed.length} object versions of ${bucket} could not be deleted: ${failed[0]?.Code} ${failed[0]?.Message}`,
          );
        return {
          status: 'deleted',
          deleted: versions.map((version) => `${resourceArn}/${version.Key}?versionId=${version.VersionId}`),
        };
      }
      await clients
        .client(S3Client)
        .send(new DeleteBucketCommand({ Bucket: bucket, ExpectedBucketOwner: owner }));
      return { status: 'deleted', deleted: [resourceArn] };
    } catch (error) {
      if (isNoSuchBucket(error)) return { status: 'already-gone', deleted: [] };
      throw error;
    }
  },
};

/** DeleteObjects answered with per-object errors: the bucket cannot be deleted yet. */
export class BucketNotEmptied extends Error {
  override readonly name = 'BucketNotEmptied';
}

async function publicAccessBlock(clients: AccountClients, bucket: string) {
  const { GetPublicAccessBlockCommand, S3Client } = await s3Sdk();
  try {
    const result = await clients
      .client(S3Client)
      .send(new GetPublicAccessBlockCommand({ Bucket: bucket, ExpectedBucketOwner: clients.account }));
    return result.PublicAccessBlockConfiguration ?? {};
  } catch (error) {
    // No configuration at all: nothing is blocked.
    if (isError(error, 'NoSuchPublicAccessBlockConfiguration')) return {};
    throw error;
  }
}

async function defaultEncryption(clients: AccountClients, bucket: string) {
  const { GetBucketEncryptionCommand, S3Client } = await s3Sdk();
  try {
    const result = await clients
      .client(S3Client)
      .send(new GetBucketEncryptionCommand({ Bucket: bucket, ExpectedBucketOwner: clients.account }));
    const rule = result.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault;
    return { algorithm: rule?.SSEAlgorithm ?? '', key: rule?.KMSMasterKeyID ?? '' };
  } catch (error) {
    if (isError(error, 'ServerSideEncryptionConfigurationNotFoundError')) return { algorithm: '', key: '' };
    throw error;
  }
}

/** Counts current objects, at most MAX_LIST_PAGES pages: `complete` says whether every key was seen. */
async function countObjects(clients: AccountClients, bucket: string) {
  const { ListObjectsV2Command, S3Client } = await s3Sdk();
  let count = 0;
  let token: string | undefined;
  for (let page = 0; page < MAX_LIST_PAGES; page++) {
    const result = await clients.client(S3Client).send(
      new ListObjectsV2Command({
        Bucket: bucket,
        ExpectedBucketOwner: clients.account,
        ContinuationToken: token,
      }),
    );
    count += result.KeyCount ?? 0;
    if (!result.IsTruncated) return { count, complete: true };
    token = result.NextContinuationToken;
  }
  return { count, complete: false };
}
