import type { Instance, Volume } from '@aws-sdk/client-ec2';
import * as z from 'zod';
import { parseArn, resourceIdFromArn } from '../lib/arn.js';
import type { AccountClients } from '../lib/clients.js';
import { ResourceNotReady } from '../lib/errors.js';
import { lazySdk } from './sdk/lazy.js';
import { check, type ResourceModule, taggedCheck, tagList, tagsOf } from './types.js';

/** The EC2 SDK, loaded on first use: only drills of this type pay for it (see docs/architecture.md). */
const ec2Sdk = lazySdk(() => import('./sdk/ec2.js'));

/** EC2 reports a missing instance with this error code (EC2 errors are not modeled as classes). */
const NOT_FOUND = 'InvalidInstanceID.NotFound';

function isNotFound(error: unknown): boolean {
  return error instanceof Error && error.name === NOT_FOUND;
}

/**
 * Restore metadata keys (GetRecoveryPointRestoreMetadata of an EC2 recovery point) that carry the source
 * account's network, keys or identity and must not follow the restore: the ENI layout names production
 * subnets and may ask for a public IP (and EC2 refuses NetworkInterfaces together with SubnetId), Placement
 * names the source Availability Zone, a key pair and an instance profile grant production access.
 */
const SOURCE_ONLY_KEYS = ['NetworkInterfaces', 'Placement', 'KeyName', 'IamInstanceProfileName'];

/** The backup's block device mappings (a JSON string in the restore metadata). */
const BlockDeviceMappings = z.array(
  z.looseObject({
    DeviceName: z.string().optional(),
    Ebs: z
      .looseObject({
        VolumeSize: z.coerce.number().optional(),
        Encrypted: z.unknown().optional(),
        KmsKeyId: z.string().optional(),
      })
      .optional(),
  }),
);

function blockDeviceMappingsOf(value: string | undefined): z.infer<typeof BlockDeviceMappings> | undefined {
  if (!value) return undefined;
  try {
    const parsed = BlockDeviceMappings.safeParse(JSON.parse(value));
    return parsed.success ? parsed.data : undefined;
  } catch {
    // Metadata that is not JSON is passed through untouched; AWS Backup then judges it.
    return undefined;
  }
}

/** Instance states that settle by themselves (a restored instance boots; a stopped one is not healthy). */
const TRANSITIONAL = new Set(['pending']);

async function describeInstance(clients: AccountClients, instanceId: string): Promise<Instance | undefined> {
  const { DescribeInstancesCommand, EC2Client } = await ec2Sdk();
  const result = await clients
    .client(EC2Client)
    .send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  return result.Reservations?.flatMap((reservation) => reservation.Instances ?? [])[0];
}

/** The volumes attached to (or still detaching from) an instance. */
async function volumesOf(clients: AccountClients, instanceId: string): Promise<Volume[]> {
  const { DescribeVolumesCommand, EC2Client } = await ec2Sdk();
  const result = await clients
    .client(EC2Client)
    .send(
      new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [instanceId] }] }),
    );
  return (result.Volumes ?? []).filter((volume) => volume.State !== 'deleted');
}

function volumeArn(instanceArn: string, volumeId: string): string {
  const arn = parseArn(instanceArn);
  return `arn:${arn?.partition ?? 'aws'}:ec2:${arn?.region ?? ''}:${arn?.account ?? ''}:volume/${volumeId}`;
}

/**
 * Amazon EC2 instances: the recovery point is an AMI (arn:aws:ec2:REGION::image/ami-…); the restore launches
 * one instance from it, with its EBS volumes attached and deleted on termination.
 */
export const ec2: ResourceModule = {
  type: 'EC2',
  // Only the instance is tagged: its volumes go with it (DeleteOnTermination), and tagging them would hand
  // them to the EBS module's sweep, which cannot delete an attached volume.
  taggingTypes: ['ec2:instance'],
  // The ARN form of this type's recovery points, where the service names them (not AWS Backup's `recovery-point:`).
  ownsRecoveryPoint: (arn) =>
    parseArn(arn)?.service === 'ec2' && (parseArn(arn)?.resource ?? '').startsWith('image/'),
  owns: (arn) => {
    const parsed = parseArn(arn);
    return parsed?.service === 'ec2' && /^instance\/i-[0-9a-f]+$/.test(parsed.resource);
  },
  // An instance from an AMI boots in minutes; large volumes restore lazily from their snapshots.
  readiness: { budgetSeconds: 3600 },
  typicalRestore: { seconds: 1200, perGiBSeconds: 0 },

  restoreMetadata(base, _drill, config) {
    const metadata: Record<string, string> = { ...base };
    for (const key of SOURCE_ONLY_KEYS) delete metadata[key];
    const mappings = blockDeviceMappingsOf(metadata.BlockDeviceMappings);
    if (mappings) {
      // The source account's KMS keys cannot be used here: every volume encrypted with the DR account's key.
      metadata.BlockDeviceMappings = JSON.stringify(
        mappings.map((mapping) => {
          if (!mapping.Ebs) return mapping;
          const { KmsKeyId: _sourceKey, ...ebs } = mapping.Ebs;
          return { ...mapping, Ebs: { ...ebs, Encrypted: true, DeleteOnTermination: true } };
        }),
      );
    }
    return {
      ...metadata,
      // The DR VPC's first private subnet: it maps no public IP on launch and has no route out.
      SubnetId: config.RESTORE_SUBNET_IDS[0] ?? '',
      SecurityGroupIds: JSON.stringify(config.RESTORE_SECURITY_GROUP_IDS),
      DisableApiTermination: 'false',
      DisableApiStop: 'false',
      RequireIMDSv2: 'true',
      InstanceInitiatedShutdownBehavior: 'stop',
    };
  },

  async tag(clients, resourceArn, tags) {
    const { CreateTagsCommand, EC2Client } = await ec2Sdk();
    await clients
      .client(EC2Client)
      .send(new CreateTagsCommand({ Resources: [resourceIdFromArn(resourceArn)], Tags: tagList(tags) }));
  },

  async readTags(clients, resourceArn) {
    try {
      // A terminated instance is still described (about an hour) with its tags: teardown still owns it
      // until its volumes are gone.
      const instance = await describeInstance(clients, resourceIdFromArn(resourceArn));
      return instance ? tagsOf(instance.Tags) : undefined;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  },

  async checkHealth({ clients, resourceArn, expected, drill, config }) {
    const instanceId = resourceIdFromArn(resourceArn);
    const instance = await describeInstance(clients, instanceId);
    if (!instance) return [check('resource-exists', false, `instance ${instanceId} not found`)];
    const state = instance.State?.Name ?? 'unknown';
    if (TRANSITIONAL.has(state)) throw new ResourceNotReady(`instance ${instanceId} is ${state}`);

    const volumes = await volumesOf(clients, instanceId);
    const attached = volumes.filter((volume) =>
      (volume.Attachments ?? []).some((a) => a.InstanceId === instanceId && a.State === 'attached'),
    );
    const securityGroups = (instance.SecurityGroups ?? []).map((group) => group.GroupId ?? '');
    const outsideGroups = securityGroups.filter((id) => !config.RESTORE_SECURITY_GROUP_IDS.includes(id));
    const inDrSubnet = config.RESTORE_SUBNET_IDS.includes(instance.SubnetId ?? '');
    const publicIp = instance.PublicIpAddress;
    const profile = instance.IamInstanceProfile?.Arn;
    const mappings = blockDeviceMappingsOf(expected.BlockDeviceMappings) ?? [];
    const expectedSizes = mappings
      .map((mapping) => mapping.Ebs?.VolumeSize)
      .filter((size): size is number => size !== undefined && Number.isFinite(size))
      .sort((a, b) => a - b);
    const restoredSizes = attached.map((volume) => volume.Size ?? 0).sort((a, b) => a - b);
    const expectedType = expected.InstanceType;

    return [
      check('resource-available', state === 'running', `instance state is ${state}`),
      check(
        'isolated-network',
        inDrSubnet &&
          outsideGroups.length === 0 &&
          securityGroups.length > 0 &&
          !publicIp &&
          !instance.KeyName &&
          !profile,
        `subnet ${instance.SubnetId ?? 'n/a'}, securityGroups=${securityGroups.join(',')}, publicIp=${publicIp ?? 'none'}, keyName=${instance.KeyName ?? 'none'}, instanceProfile=${profile ?? 'none'}`,
      ),
      check(
        'encrypted',
        attached.length > 0 && attached.every((volume) => volume.Encrypted === true),
        `${attached.filter((volume) => volume.Encrypted === true).length}/${attached.length} attached volumes encrypted`,
      ),
      taggedCheck(tagsOf(instance.Tags), drill.drillId),
      check(
        'data-integrity',
        (!expectedType || instance.InstanceType === expectedType) &&
          (expectedSizes.length === 0 || JSON.stringify(restoredSizes) === JSON.stringify(expectedSizes)),
        `type ${instance.InstanceType} (backup: ${expectedType ?? 'n/a'}), volumes ${restoredSizes.join('+') || 'none'} GiB (backup: ${expectedSizes.join('+') || 'n/a'} GiB)`,
      ),
    ];
  },

  async lifecycle(clients, resourceArn) {
    const instanceId = resourceIdFromArn(resourceArn);
    let state: string | undefined;
    try {
      state = (await describeInstance(clients, instanceId))?.State?.Name;
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    if (state === 'shutting-down') return 'deleting';
    if (state !== undefined && state !== 'terminated') return 'present';
    // Terminated (or no longer listed): the drill is over only once its DeleteOnTermination volumes are gone.
    return (await volumesOf(clients, instanceId)).length > 0 ? 'deleting' : 'gone';
  },

  async delete(clients, resourceArn) {
    const { EC2Client, TerminateInstancesCommand } = await ec2Sdk();
    const instanceId = resourceIdFromArn(resourceArn);
    try {
      const instance = await describeInstance(clients, instanceId);
      if (!instance || instance.State?.Name === 'terminated') return { status: 'already-gone', deleted: [] };
      const volumes = await volumesOf(clients, instanceId);
      await clients.client(EC2Client).send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
      // The volumes go with the instance (DeleteOnTermination): reported as deleted by this call, members first.
      return {
        status: 'deleted',
        deleted: [...volumes.map((volume) => volumeArn(resourceArn, volume.VolumeId ?? '')), resourceArn],
      };
    } catch (error) {
      if (isNotFound(error)) return { status: 'already-gone', deleted: [] };
      throw error;
    }
  },
};
