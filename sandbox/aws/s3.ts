import { createHash } from 'node:crypto';
import { SimulatedAwsError } from '../aws-errors.js';
import type { Caller, StoredObject, World } from '../world.js';

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * Amazon S3 in the central account: the evidence bucket, with Object Lock as its CloudFormation resource
 * declares it (default retention, COMPLIANCE), SHA-256 checked on upload as S3 checks ChecksumSHA256.
 */
export class S3 {
  readonly objects: StoredObject[] = [];

  constructor(private readonly world: World) {}

  putObject(
    caller: Caller,
    input: {
      Bucket?: string;
      Key?: string;
      Body?: unknown;
      ChecksumSHA256?: string;
      ObjectLockMode?: string;
      ObjectLockRetainUntilDate?: Date;
      Metadata?: Record<string, string>;
    },
  ) {
    const bucket = this.world.settings.buckets.find((b) => b.name === input.Bucket);
    if (!bucket || caller.account !== this.world.settings.centralAccount)
      throw new SimulatedAwsError('NoSuchBucket', `The specified bucket does not exist: ${input.Bucket}`);
    const body =
      typeof input.Body === 'string'
        ? input.Body
        : input.Body instanceof Uint8Array
          ? Buffer.from(input.Body).toString('utf8')
          : '';
    const digest = createHash('sha256').update(body);
    if (input.ChecksumSHA256 && digest.copy().digest('base64') !== input.ChecksumSHA256) {
      throw new SimulatedAwsError(
        'BadDigest',
        'The SHA256 you specified did not match the calculated checksum.',
      );
    }
    if (input.ObjectLockMode && bucket.objectLockDays === undefined) {
      throw new SimulatedAwsError('InvalidRequest', 'Bucket is missing Object Lock Configuration');
    }
    const retainUntil =
      input.ObjectLockRetainUntilDate?.getTime() ??
      (bucket.objectLockDays ? this.world.clock.now + bucket.objectLockDays * 86_400_000 : undefined);
    const stored: StoredObject = {
      bucket: bucket.name,
      key: input.Key ?? '',
      versionId: this.world.random.hex(32),
      body,
      sha256: digest.digest('hex'),
      lockMode: input.ObjectLockMode ?? (bucket.objectLockDays ? 'COMPLIANCE' : undefined),
      retainUntil,
      metadata: input.Metadata ?? {},
      storedAt: this.world.clock.now,
    };
    this.objects.push(stored);
    return {
      VersionId: stored.versionId,
      ETag: `"${stored.sha256.slice(0, 32)}"`,
      ChecksumSHA256: input.ChecksumSHA256,
    };
  }

  deleteObject(_caller: Caller, input: { Bucket?: string; Key?: string; VersionId?: string }) {
    const version = this.objects.find(
      (o) =>
        o.bucket === input.Bucket &&
        o.key === input.Key &&
        (!input.VersionId || o.versionId === input.VersionId),
    );
    if (!version) return {};
    if (
      input.VersionId &&
      version.lockMode === 'COMPLIANCE' &&
      (version.retainUntil ?? 0) > this.world.clock.now
    ) {
      throw new SimulatedAwsError(
        'AccessDenied',
        `Object ${input.Key} version ${input.VersionId} is under COMPLIANCE retention until ${iso(version.retainUntil ?? 0)}`,
      );
    }
    if (input.VersionId) this.objects.splice(this.objects.indexOf(version), 1);
    return { DeleteMarker: !input.VersionId, VersionId: input.VersionId };
  }
}
