import * as z from 'zod';
import { Ec2State } from '../aws/ec2.js';
import { SimulatedAwsError } from '../aws-errors.js';
import type { SandboxResourceType } from './types.js';

/** The size of an instance's root volume in the sandbox's backups, GiB (the rest is its data volume). */
const ROOT_GIB = 30;

const Mappings = z.array(
  z.looseObject({
    DeviceName: z.string().optional(),
    Ebs: z
      .looseObject({
        VolumeSize: z.number().optional(),
        Encrypted: z.boolean().optional(),
        DeleteOnTermination: z.boolean().optional(),
      })
      .optional(),
  }),
);
const NetworkInterfaces = z.array(z.looseObject({ AssociatePublicIpAddress: z.boolean().optional() }));

function json<T>(schema: z.ZodType<T>, value: string | undefined, key: string): T | undefined {
  if (value === undefined) return undefined;
  try {
    return schema.parse(JSON.parse(value));
  } catch (error) {
    throw new SimulatedAwsError(
      'InvalidParameterValueException',
      `Restore metadata ${key} is not valid: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/**
 * Amazon EC2 instances: a backup is an AMI (with an EBS snapshot per volume); a restore launches one instance
 * from it with the metadata's network, identity and protection settings, its volumes attached.
 */
export const ec2: SandboxResourceType = {
  type: 'EC2',
  sizeGiB: (random) => ROOT_GIB + 50 * random.int(1, 8),
  sourceResourceArn: ({ account, region, random }) =>
    `arn:aws:ec2:${region}:${account}:instance/i-0${random.hex(16)}`,
  // AMI ARNs have no account field; a copy to another region is a new AMI there.
  recoveryPointArn: ({ region, random }) => `arn:aws:ec2:${region}::image/ami-0${random.hex(16)}`,
  recoveryPointForm: {
    describe: 'arn:aws:ec2:REGION::image/ami-…',
    fits: (arn) =>
      arn.service === 'ec2' && arn.account === '' && /^image\/ami-[0-9a-f]{8,17}$/.test(arn.resource),
  },
  // What GetRecoveryPointRestoreMetadata returns for an instance in a production VPC: its ENI with a public
  // IP, key pair, instance profile and termination protection, as the source instance had them.
  sourceMetadata: ({ account, region, sizeGiB, random }) => ({
    InstanceType: 'm6i.large',
    SubnetId: 'subnet-0f00d0prod0000001',
    SecurityGroupIds: '["sg-0f00d0prod0000002"]',
    NetworkInterfaces: JSON.stringify([
      {
        DeviceIndex: 0,
        SubnetId: 'subnet-0f00d0prod0000001',
        Groups: ['sg-0f00d0prod0000002'],
        AssociatePublicIpAddress: true,
        DeleteOnTermination: true,
      },
    ]),
    Placement: JSON.stringify({ AvailabilityZone: `${region}a`, Tenancy: 'default' }),
    KeyName: 'prod-ops',
    IamInstanceProfileName: 'prod-app-instance-profile',
    DisableApiTermination: 'true',
    DisableApiStop: 'true',
    RequireIMDSv2: 'false',
    EbsOptimized: 'true',
    InstanceInitiatedShutdownBehavior: 'stop',
    BlockDeviceMappings: JSON.stringify([
      {
        DeviceName: '/dev/xvda',
        Ebs: {
          VolumeSize: ROOT_GIB,
          VolumeType: 'gp3',
          Encrypted: true,
          DeleteOnTermination: true,
          KmsKeyId: `arn:aws:kms:${region}:${account}:key/${random.uuid()}`,
        },
      },
      {
        DeviceName: '/dev/sdf',
        Ebs: {
          VolumeSize: sizeGiB - ROOT_GIB,
          VolumeType: 'gp3',
          Encrypted: false,
          DeleteOnTermination: false,
        },
      },
    ]),
  }),
  // Registering the AMI's snapshots as volumes and booting: minutes to tens of minutes.
  restoreDurationMs: (random) => random.seconds(5 * 60, 25 * 60),

  validateRestore(_world, _caller, metadata) {
    if (!metadata.InstanceType)
      throw new SimulatedAwsError('InvalidParameterValueException', 'Restore metadata needs InstanceType');
    // EC2 RunInstances refuses an instance-level subnet or security groups together with network interfaces.
    if (metadata.NetworkInterfaces && (metadata.SubnetId || metadata.SecurityGroupIds))
      throw new SimulatedAwsError(
        'InvalidParameterValueException',
        'Network interfaces and an instance-level subnet ID or security groups may not be specified on the same request',
      );
    json(Mappings, metadata.BlockDeviceMappings, 'BlockDeviceMappings');
    json(NetworkInterfaces, metadata.NetworkInterfaces, 'NetworkInterfaces');
    json(z.array(z.string()), metadata.SecurityGroupIds, 'SecurityGroupIds');
  },

  // The On-Demand vCPU quota is not simulated: a drill's instance is far below it.
  quotaExceeded: () => undefined,

  restore(world, job, point, metadata) {
    const state = world.state(Ec2State);
    const id = `i-0${world.random.hex(16)}`;
    const availabilityZone = `${job.region}a`;
    const interfaces = json(NetworkInterfaces, metadata.NetworkInterfaces, 'NetworkInterfaces') ?? [];
    // Without a subnet EC2 launches into the default VPC, whose subnets map public IPs on launch.
    const publicIp =
      interfaces.some((eni) => eni.AssociatePublicIpAddress === true) || !metadata.SubnetId
        ? `3.${world.random.int(0, 255)}.${world.random.int(0, 255)}.${world.random.int(1, 254)}`
        : undefined;
    const instance = state.addInstance(world, {
      account: job.account,
      region: job.region,
      id,
      status: 'pending',
      tags: {},
      instanceType: metadata.InstanceType ?? 'm6i.large',
      imageId: point.arn.split('/').pop() ?? '',
      subnetId: metadata.SubnetId ?? 'subnet-0default000000001',
      availabilityZone,
      securityGroupIds: json(z.array(z.string()), metadata.SecurityGroupIds, 'SecurityGroupIds') ?? [],
      publicIpAddress: publicIp,
      keyName: metadata.KeyName || undefined,
      iamInstanceProfileArn: metadata.IamInstanceProfileName
        ? `arn:aws:iam::${job.account}:instance-profile/${metadata.IamInstanceProfileName}`
        : undefined,
      disableApiTermination: metadata.DisableApiTermination === 'true',
      disableApiStop: metadata.DisableApiStop === 'true',
    });
    const mappings = json(Mappings, metadata.BlockDeviceMappings, 'BlockDeviceMappings') ?? [];
    mappings.forEach((mapping, index) => {
      const size = mapping.Ebs?.VolumeSize ?? ROOT_GIB;
      const volumeId = `vol-0${world.random.hex(16)}`;
      state.addVolume(world, {
        arn: `arn:aws:ec2:${job.region}:${job.account}:volume/${volumeId}`,
        account: job.account,
        region: job.region,
        id: volumeId,
        status: 'in-use',
        tags: {},
        // data=corrupt: the data volume comes back smaller than it was backed up.
        size: world.faults.corruptData && index > 0 ? Math.max(1, size - 8) : size,
        availabilityZone,
        encrypted: mapping.Ebs?.Encrypted === true,
        attachedTo: id,
        partOf: instance.arn,
        deleteOnTermination: mapping.Ebs?.DeleteOnTermination === true,
      });
    });
    world.clock.schedule(world.random.seconds(30, 120), () => {
      if (instance.status !== 'pending') return;
      if (world.faults.unhealthy) {
        // health=unhealthy: the instance fails to boot and stops.
        instance.status = 'stopped';
        instance.stateReason = 'Server.InternalError';
      } else instance.status = 'running';
    });
    return instance.arn;
  },

  present: (world, account) =>
    [...world.state(Ec2State).instances.values()].filter(
      (i) => i.account === account && i.phase !== 'deleted',
    ).length,
};
