import { parseArn, resourceIdFromArn } from '../lib/arn.js';
import { ResourceNotReady } from '../lib/errors.js';
import { lazySdk } from './sdk/lazy.js';
import { check, type ResourceModule, taggedCheck, tagList, tagsOf } from './types.js';

/** The EC2 SDK, loaded on first use: only drills of this type pay for it (see docs/architecture.md). */
const ec2Sdk = lazySdk(() => import('./sdk/ec2.js'));

/** EC2 reports a missing volume with this error code (EC2 errors are not modeled as classes). */
const NOT_FOUND = 'InvalidVolume.NotFound';

function isNotFound(error: unknown): boolean {
  return error instanceof Error && error.name === NOT_FOUND;
}

export const ebs: ResourceModule = {
  type: 'EBS',
  taggingTypes: ['ec2:volume'],
  // The ARN form of this type's recovery points, where the service names them (not AWS Backup's `recovery-point:`).
  ownsRecoveryPoint: (arn) =>
    parseArn(arn)?.service === 'ec2' && (parseArn(arn)?.resource ?? '').startsWith('snapshot/'),
  owns: (arn) => {
    const parsed = parseArn(arn);
    return parsed?.service === 'ec2' && /^volume\/vol-[0-9a-f]+$/.test(parsed.resource);
  },
  // A restored volume is usable at once (blocks load lazily from the snapshot).
  readiness: { budgetSeconds: 3600 },
  typicalRestore: { seconds: 600, perGiBSeconds: 0 },

  restoreMetadata(base, _drill, config) {
    const metadata = { ...base };
    // A key from the source account cannot be used in the DR account; the DR account's default EBS key is.
    delete metadata.kmsKeyId;
    return { ...metadata, availabilityZone: config.RESTORE_AVAILABILITY_ZONE, encrypted: 'true' };
  },

  async tag(clients, resourceArn, tags) {
    const { CreateTagsCommand, EC2Client } = await ec2Sdk();
    await clients.client(EC2Client).send(
      new CreateTagsCommand({
        Resources: [resourceIdFromArn(resourceArn)],
        Tags: tagList(tags),
      }),
    );
  },

  async readTags(clients, resourceArn) {
    const { DescribeVolumesCommand, EC2Client } = await ec2Sdk();
    try {
      const result = await clients
        .client(EC2Client)
        .send(new DescribeVolumesCommand({ VolumeIds: [resourceIdFromArn(resourceArn)] }));
      const volume = result.Volumes?.[0];
      if (!volume) return undefined;
      return tagsOf(volume.Tags);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  },

  async checkHealth({ clients, resourceArn, expected, drill, config }) {
    const { DescribeVolumesCommand, EC2Client } = await ec2Sdk();
    const volumeId = resourceIdFromArn(resourceArn);
    const result = await clients
      .client(EC2Client)
      .send(new DescribeVolumesCommand({ VolumeIds: [volumeId] }));
    const volume = result.Volumes?.[0];
    if (!volume) return [check('resource-exists', false, `volume ${volumeId} not found`)];
    const state = volume.State ?? 'unknown';
    if (state === 'creating') throw new ResourceNotReady(`volume ${volumeId} is creating`);

    const tags = tagsOf(volume.Tags);
    const expectedSize = Number(expected.volumeSize);
    return [
      check('resource-available', state === 'available', `volume state is ${state}`),
      check('encrypted', volume.Encrypted === true, `Encrypted=${volume.Encrypted}`),
      check(
        'isolated-network',
        volume.AvailabilityZone === config.RESTORE_AVAILABILITY_ZONE &&
          (volume.Attachments ?? []).length === 0,
        `zone ${volume.AvailabilityZone}, ${(volume.Attachments ?? []).length} attachments`,
      ),
      taggedCheck(tags, drill.drillId),
      check(
        'data-integrity',
        !Number.isFinite(expectedSize) || volume.Size === expectedSize,
        `size ${volume.Size} GiB (backup: ${expected.volumeSize ?? 'n/a'} GiB), snapshot ${volume.SnapshotId ?? 'n/a'}`,
      ),
    ];
  },

  async lifecycle(clients, resourceArn) {
    const { DescribeVolumesCommand, EC2Client } = await ec2Sdk();
    try {
      const result = await clients
        .client(EC2Client)
        .send(new DescribeVolumesCommand({ VolumeIds: [resourceIdFromArn(resourceArn)] }));
      const state = result.Volumes?.[0]?.State;
      if (state === undefined || state === 'deleted') return 'gone';
      return state === 'deleting' ? 'deleting' : 'present';
    } catch (error) {
      if (isNotFound(error)) return 'gone';
      throw error;
    }
  },

  async delete(clients, resourceArn) {
    const { DeleteVolumeCommand, EC2Client } = await ec2Sdk();
    try {
      await clients
        .client(EC2Client)
        .send(new DeleteVolumeCommand({ VolumeId: resourceIdFromArn(resourceArn) }));
      return { status: 'deleted', deleted: [resourceArn] };
    } catch (error) {
      if (isNotFound(error)) return { status: 'already-gone', deleted: [] };
      throw error;
    }
  },
};
