import { CreateTagsCommand, DeleteVolumeCommand, DescribeVolumesCommand } from '@aws-sdk/client-ec2';
import { ResourceNotReady } from '../lib/errors.js';
import { check, type ResourceModule, resourceIdFromArn } from './types.js';

/** EC2 reports a missing volume with this error code (EC2 errors are not modeled as classes). */
const NOT_FOUND = 'InvalidVolume.NotFound';

function isNotFound(error: unknown): boolean {
  return error instanceof Error && error.name === NOT_FOUND;
}

export const ebs: ResourceModule = {
  type: 'EBS',
  taggingType: 'ec2:volume',

  restoreMetadata(base, _drill, config) {
    const metadata = { ...base };
    // A key from the source account cannot be used in the DR account; the DR account's default EBS key is.
    delete metadata.kmsKeyId;
    return { ...metadata, availabilityZone: config.RESTORE_AVAILABILITY_ZONE, encrypted: 'true' };
  },

  async tag(clients, resourceArn, tags) {
    await clients.ec2.send(
      new CreateTagsCommand({
        Resources: [resourceIdFromArn(resourceArn)],
        Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
  },

  async readTags(clients, resourceArn) {
    try {
      const result = await clients.ec2.send(
        new DescribeVolumesCommand({ VolumeIds: [resourceIdFromArn(resourceArn)] }),
      );
      const volume = result.Volumes?.[0];
      if (!volume) return undefined;
      return Object.fromEntries((volume.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']));
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  },

  async checkHealth({ clients, resourceArn, expected, drillId, config }) {
    const volumeId = resourceIdFromArn(resourceArn);
    const result = await clients.ec2.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] }));
    const volume = result.Volumes?.[0];
    if (!volume) return [check('resource-exists', false, `volume ${volumeId} not found`)];
    const state = volume.State ?? 'unknown';
    if (state === 'creating') throw new ResourceNotReady(`volume ${volumeId} is creating`);

    const tags = Object.fromEntries((volume.Tags ?? []).map((tag) => [tag.Key, tag.Value]));
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
      check(
        'tagged',
        tags['pilotlight:drill-id'] === drillId,
        `pilotlight:drill-id=${tags['pilotlight:drill-id'] ?? '(missing)'}`,
      ),
      check(
        'data-integrity',
        !Number.isFinite(expectedSize) || volume.Size === expectedSize,
        `size ${volume.Size} GiB (backup: ${expected.volumeSize ?? 'n/a'} GiB), snapshot ${volume.SnapshotId ?? 'n/a'}`,
      ),
    ];
  },

  async lifecycle(clients, resourceArn) {
    try {
      const result = await clients.ec2.send(
        new DescribeVolumesCommand({ VolumeIds: [resourceIdFromArn(resourceArn)] }),
      );
      const state = result.Volumes?.[0]?.State;
      if (state === undefined || state === 'deleted') return 'gone';
      return state === 'deleting' ? 'deleting' : 'present';
    } catch (error) {
      if (isNotFound(error)) return 'gone';
      throw error;
    }
  },

  async delete(clients, resourceArn) {
    try {
      await clients.ec2.send(new DeleteVolumeCommand({ VolumeId: resourceIdFromArn(resourceArn) }));
      return 'deleted';
    } catch (error) {
      if (isNotFound(error)) return 'already-gone';
      throw error;
    }
  },
};
