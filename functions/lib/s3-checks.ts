import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { type _Object, GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import {
  checkLabel,
  type DataCheckReport,
  type DataCheckResult,
  erroredResult,
  expectationResult,
  expectedOf,
  freshnessResult,
  reportOf,
} from './data-checks.js';
import type { DataCheck, S3ChecksumsCheck, S3CountCheck } from './validations.js';

/**
 * Data checks against a restored S3 bucket, through the DR role's client. Listings are bounded; sampled
 * objects are downloaded with `ChecksumMode: ENABLED` and their bytes checked against the checksum S3
 * stored at upload (the SDK validates it too; this check also proves one was stored at all).
 */

export interface S3Limits {
  /** Objects a count, a sample or a freshness check lists at most. */
  maxListedObjects: number;
  /** Sampled objects larger than this are not downloaded (not sampled). */
  maxObjectBytes: number;
}

export const defaultS3Limits: S3Limits = { maxListedObjects: 100_000, maxObjectBytes: 64 * 1024 * 1024 };

/**
 * The bucket the checks read, and its owner: every request carries ExpectedBucketOwner when one is given, so
 * S3 refuses (403) a bucket of the same name owned by anyone else.
 */
interface Target {
  s3: S3Client;
  bucket: string;
  owner?: string;
}

/** Lists under `prefix` until `enough` says stop or the limit is reached; `complete` says all were listed. */
async function listObjects(
  { s3, bucket, owner }: Target,
  prefix: string,
  limits: S3Limits,
  enough: (listed: readonly _Object[]) => boolean = () => false,
): Promise<{ objects: _Object[]; complete: boolean }> {
  const objects: _Object[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        ExpectedBucketOwner: owner,
        Prefix: prefix,
        ContinuationToken: token,
        MaxKeys: Math.min(1_000, limits.maxListedObjects - objects.length),
      }),
    );
    objects.push(...(page.Contents ?? []));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
    if (enough(objects)) return { objects, complete: !token };
  } while (token && objects.length < limits.maxListedObjects);
  return { objects, complete: !token };
}

async function countObjects(target: Target, check: S3CountCheck, limits: S3Limits) {
  const name = checkLabel(check);
  const lowerBound = check.expect.op === '>=' || check.expect.op === '>';
  const { objects, complete } = await listObjects(
    target,
    check.prefix,
    limits,
    (listed) => lowerBound && expectationResult(name, listed.length, check.expect).passed,
  );
  if (!complete && !lowerBound) {
    return {
      name,
      passed: false,
      observed: `more than ${objects.length} (listing limit ${limits.maxListedObjects})`,
      expected: expectedOf(check),
    };
  }
  return expectationResult(name, objects.length, check.expect);
}

/** Every `n`th object of the listing, so the sample spreads over the prefix rather than its first keys. */
function spread<T>(items: readonly T[], count: number): T[] {
  if (items.length <= count) return [...items];
  const step = items.length / count;
  return Array.from({ length: count }, (_, index) => items[Math.floor(index * step)]).filter(
    (item): item is T => item !== undefined,
  );
}

type ChecksumVerdict = { verified: true } | { verified: false; reason: string };

/** Checks the bytes against the stored full-object checksum the algorithms Node computes can verify. */
function verifyChecksum(
  bytes: Uint8Array,
  stored: { sha256?: string; sha1?: string; crc32?: string; crc32c?: string; crc64nvme?: string },
): ChecksumVerdict {
  const base64 = (buffer: Buffer) => buffer.toString('base64');
  if (stored.sha256) {
    if (stored.sha256.includes('-')) return { verified: true }; // composite (multipart): the SDK validated it
    const actual = base64(createHash('sha256').update(bytes).digest());
    return actual === stored.sha256 ? { verified: true } : { verified: false, reason: 'SHA-256 mismatch' };
  }
  if (stored.sha1) {
    if (stored.sha1.includes('-')) return { verified: true };
    const actual = base64(createHash('sha1').update(bytes).digest());
    return actual === stored.sha1 ? { verified: true } : { verified: false, reason: 'SHA-1 mismatch' };
  }
  if (stored.crc32) {
    if (stored.crc32.includes('-')) return { verified: true };
    const word = Buffer.alloc(4);
    word.writeUInt32BE(crc32(bytes));
    return base64(word) === stored.crc32 ? { verified: true } : { verified: false, reason: 'CRC32 mismatch' };
  }
  // CRC32C and CRC64NVME: Node has no implementation; the SDK validated the body while it was read.
  if (stored.crc32c || stored.crc64nvme) return { verified: true };
  return { verified: false, reason: 'no stored checksum' };
}

async function verifySample(target: Target, check: S3ChecksumsCheck, limits: S3Limits) {
  const { s3, bucket, owner } = target;
  const name = checkLabel(check);
  const { objects } = await listObjects(target, check.prefix, limits);
  const eligible = objects.filter((object) => object.Key && (object.Size ?? 0) <= limits.maxObjectBytes);
  const sample = spread(eligible, check.sample);
  if (sample.length === 0) {
    return { name, passed: false, observed: 'no objects to sample', expected: expectedOf(check) };
  }
  const failures: string[] = [];
  for (const object of sample) {
    const key = object.Key ?? '';
    try {
      const response = await s3.send(
        new GetObjectCommand({
          Bucket: bucket,
          Key: key,
          ExpectedBucketOwner: owner,
          ChecksumMode: 'ENABLED',
        }),
      );
      const bytes = response.Body ? await response.Body.transformToByteArray() : new Uint8Array();
      const verdict = verifyChecksum(bytes, {
        sha256: response.ChecksumSHA256,
        sha1: response.ChecksumSHA1,
        crc32: response.ChecksumCRC32,
        crc32c: response.ChecksumCRC32C,
        crc64nvme: response.ChecksumCRC64NVME,
      });
      if (!verdict.verified) failures.push(`${key} (${verdict.reason})`);
    } catch (error) {
      failures.push(`${key} (${error instanceof Error ? error.name : 'error'})`);
    }
  }
  const verified = sample.length - failures.length;
  return {
    name,
    passed: failures.length === 0 && sample.length === Math.min(check.sample, eligible.length),
    observed: `${verified} of ${sample.length} sampled objects verified${failures.length > 0 ? `; failed: ${failures.slice(0, 5).join(', ')}` : ''}`,
    expected: expectedOf(check),
  };
}

async function runOne(
  target: Target,
  check: DataCheck,
  recoveryPointCreatedAt: Date,
  limits: S3Limits,
): Promise<DataCheckResult> {
  const name = checkLabel(check);
  try {
    switch (check.kind) {
      case 's3Count':
        return await countObjects(target, check, limits);
      case 's3Checksums':
        return await verifySample(target, check, limits);
      case 'freshness':
        if ('prefix' in check) {
          const { objects } = await listObjects(target, check.prefix, limits);
          const newest = objects.reduce<Date | undefined>(
            (latest, object) =>
              object.LastModified && (!latest || object.LastModified > latest) ? object.LastModified : latest,
            undefined,
          );
          return freshnessResult(name, newest ?? null, recoveryPointCreatedAt, check.withinMinutes);
        }
        return erroredResult(name, expectedOf(check), 'not an S3 freshness check');
      default:
        return erroredResult(
          name,
          expectedOf(check),
          `a ${check.kind} check cannot run against an S3 bucket`,
        );
    }
  } catch (error) {
    return erroredResult(name, expectedOf(check), error);
  }
}

/** Runs a profile's S3 checks against the restored bucket. A failing call fails its check, error observed. */
export async function runS3Checks(input: {
  client: S3Client;
  bucket: string;
  /** The account that must own the bucket (ExpectedBucketOwner on every request). */
  expectedBucketOwner?: string;
  checks: readonly DataCheck[];
  recoveryPointCreatedAt: Date;
  limits?: S3Limits;
}): Promise<DataCheckReport> {
  const results: DataCheckResult[] = [];
  for (const check of input.checks) {
    results.push(
      await runOne(
        { s3: input.client, bucket: input.bucket, owner: input.expectedBucketOwner },
        check,
        input.recoveryPointCreatedAt,
        input.limits ?? defaultS3Limits,
      ),
    );
  }
  return reportOf(results);
}
