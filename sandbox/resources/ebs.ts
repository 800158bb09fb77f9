import { Ec2State } from '../aws/ec2.js';
import { SimulatedAwsError } from '../aws-errors.js';
import type { SandboxResourceType } from './types.js';

/** Amazon EBS volumes: a restore creates one volume from an EBS snapshot in the Availability Zone asked for. */
export const ebs: SandboxResourceType = {
  type: 'EBS',
  sizeGiB: (random) => 50 * random.int(1, 10),
  sourceResourceArn: ({ account, region, random }) =>
    `arn:aws:ec2:${region}:${account}:volume/vol-0${random.hex(16)}`,
  // EBS snapshot ARNs have no account field.
  recoveryPointArn: ({ region, random }) => `arn:aws:ec2:${region}::snapshot/snap-0${random.hex(16)}`,
  recoveryPointForm: {
    describe: 'arn:aws:ec2:REGION::snapshot/snap-…',
    fits: (arn) =>
      arn.service === 'ec2' && arn.account === '' && /^snapshot\/snap-[0-9a-f]{8,17}$/.test(arn.resource),
  },
  sourceMetadata: ({ account, region, sizeGiB, random }) => ({
    availabilityZone: `${region}b`,
    volumeSize: String(sizeGiB),
    volumeType: 'gp3',
    encrypted: 'true',
    kmsKeyId: `arn:aws:kms:${region}:${account}:key/${random.uuid()}`,
  }),
  // A volume from a snapshot is created in minutes (its blocks load lazily afterwards).
  restoreDurationMs: (random) => random.seconds(2 * 60, 9 * 60),

  validateRestore(_world, _caller, metadata) {
    if (!metadata.availabilityZone)
      throw new SimulatedAwsError(
        'InvalidParameterValueException',
        'Restore metadata needs availabilityZone',
      );
  },

  quotaExceeded(world, job, point, metadata) {
    // Amazon EBS gp3 storage per account and Region, in TiB.
    const quotaGiB = world.settings.quotas['ebs-gp3-storage-tib'] * 1024;
    const usedGiB = [...world.state(Ec2State).volumes.values()]
      .filter((v) => v.account === job.account && v.region === job.region && v.phase !== 'deleted')
      .reduce((sum, v) => sum + v.size, 0);
    const size = Number(metadata.volumeSize ?? point.sizeBytes / 2 ** 30);
    if (usedGiB + size > quotaGiB)
      return `VolumeLimitExceeded: gp3 storage (${quotaGiB} GiB) of ${job.account} in ${job.region} would be exceeded`;
    return undefined;
  },

  restore(world, job, point, metadata) {
    const id = `vol-0${world.random.hex(16)}`;
    const size = Number(metadata.volumeSize ?? point.sizeBytes / 2 ** 30);
    const volume = world.state(Ec2State).addVolume(world, {
      arn: `arn:aws:ec2:${job.region}:${job.account}:volume/${id}`,
      account: job.account,
      region: job.region,
      id,
      status: world.faults.unhealthy ? 'error' : 'available',
      tags: {},
      size: world.faults.corruptData ? Math.max(1, size - 8) : size,
      availabilityZone: metadata.availabilityZone ?? '',
      encrypted: metadata.encrypted === 'true',
      snapshotId: point.arn.split('/').pop(),
    });
    return volume.arn;
  },

  present: (world, account) =>
    [...world.state(Ec2State).volumes.values()].filter(
      (v) => v.account === account && v.phase !== 'deleted' && v.attachedTo === undefined,
    ).length,

  // Restore testing infers an encrypted volume in a random Availability Zone; the DR account's selection
  // overrides the zone to the restore subnet's. The source's key does not follow (the DR account's default).
  restoreTestMetadata: ({ metadata, network }) => {
    const { kmsKeyId: _sourceKey, ...rest } = metadata;
    return { ...rest, availabilityZone: network.availabilityZone, encrypted: 'true' };
  },
  tagsRestoreTests: true,
};
