import { SimulatedAwsError } from '../aws-errors.js';
import { accountOf, tagContext, tagsOf } from '../iam-keys.js';
import type { IamRequest, RequestEnvironment } from '../iam-requests.js';
import { applyTags, type ServiceApi, tagList, text } from '../resources/types.js';
import type { Caller, RestoredResource, World } from '../world.js';

/**
 * Amazon EC2 in the sandbox: the volumes EBS restores create (and, through the EC2 type, instances with their
 * volumes). Output shapes are the SDK's (DescribeVolumes → Volumes[]); errors are EC2's codes.
 */
export interface Volume extends RestoredResource {
  kind: 'volume';
  size: number;
  availabilityZone: string;
  encrypted: boolean;
  snapshotId?: string;
  /** The instance it is attached to (EC2 restores). */
  attachedTo?: string;
  deleteOnTermination?: boolean;
}

export class Ec2State {
  readonly volumes = new Map<string, Volume>();

  /** A volume in the account: restored by a drill, or already there (tests put bystanders in the DR account). */
  addVolume(
    world: World,
    input: Omit<Volume, 'kind' | 'phase' | 'createdAt' | 'tagConditionPrefix' | 'conditionKeys'> & {
      createdAt?: number;
    },
  ): Volume {
    const volume: Volume = {
      ...input,
      kind: 'volume',
      phase: 'present',
      createdAt: input.createdAt ?? world.now,
      tagConditionPrefix: 'ec2:ResourceTag/',
      conditionKeys: { 'ec2:AvailabilityZone': input.availabilityZone },
    };
    this.volumes.set(volume.arn, volume);
    world.track(volume);
    return volume;
  }

  volume(caller: Caller, id: string): Volume {
    const found = [...this.volumes.values()].find(
      (v) =>
        (v.id === id || v.arn === id) &&
        v.account === caller.account &&
        v.region === caller.region &&
        v.phase !== 'deleted',
    );
    if (!found) throw new SimulatedAwsError('InvalidVolume.NotFound', `The volume '${id}' does not exist.`);
    return found;
  }
}

function describeVolume(v: Volume) {
  return {
    VolumeId: v.id,
    Size: v.size,
    State: v.status,
    AvailabilityZone: v.availabilityZone,
    Encrypted: v.encrypted,
    SnapshotId: v.snapshotId,
    Attachments: v.attachedTo
      ? [
          {
            InstanceId: v.attachedTo,
            VolumeId: v.id,
            State: 'attached',
            DeleteOnTermination: v.deleteOnTermination,
          },
        ]
      : [],
    Tags: tagList(v.tags),
    CreateTime: new Date(v.createdAt),
  };
}

/** An EC2 resource id (vol-…, i-…) or ARN as IAM sees it: the ARN of the resource, in the caller's account. */
export function ec2Arn(env: RequestEnvironment, kind: string, id: string): string {
  return env.resourceArn(
    kind,
    id,
    env.account,
    env.region,
    `arn:aws:ec2:${env.region}:${env.account}:${kind}/${id}`,
  );
}

const ec2Kind = (id: string) => (id.startsWith('i-') ? 'instance' : 'volume');

export const ec2Api: ServiceApi = {
  service: 'EC2',
  operations(world) {
    const state = world.state(Ec2State);
    return {
      'EC2.DescribeVolumes': (caller, input: { VolumeIds?: string[] }) => ({
        Volumes: (input.VolumeIds ?? []).map((id) => describeVolume(state.volume(caller, id))),
      }),
      // CreateTags takes volumes and instances alike: whatever the ids name, in the caller's account and region.
      'EC2.CreateTags': (caller, input: { Resources?: string[]; Tags?: unknown }) => {
        const targets = (input.Resources ?? []).map((id) => {
          const found = world.findResource(caller, ec2Kind(id), id);
          if (!found)
            throw new SimulatedAwsError(
              ec2Kind(id) === 'volume' ? 'InvalidVolume.NotFound' : 'InvalidInstanceID.NotFound',
              `The ${ec2Kind(id)} '${id}' does not exist.`,
            );
          return found;
        });
        for (const target of targets) applyTags(target.tags, input.Tags);
        return {};
      },
      'EC2.DeleteVolume': (caller, input: { VolumeId?: string }) => {
        const volume = state.volume(caller, input.VolumeId ?? '');
        if (volume.attachedTo && world.findResource(caller, 'instance', volume.attachedTo))
          throw new SimulatedAwsError(
            'VolumeInUse',
            `Volume ${volume.id} is currently attached to ${volume.attachedTo}`,
          );
        if (volume.phase === 'deleting')
          throw new SimulatedAwsError('IncorrectState', `The volume '${volume.id}' is 'deleting'`);
        world.teardownFault('IncorrectState');
        world.beginDelete(volume, 20, 'deleting', 'deleted');
        return {};
      },
    };
  },
  iam: {
    // ec2:Describe* have no resource-level permissions.
    'EC2.DescribeVolumes': (_input, env) => [
      { action: 'ec2:DescribeVolumes', resource: '*', resourceAccount: env.account, context: {} },
    ],
    'EC2.CreateTags': (input, env) =>
      (Array.isArray(input.Resources) ? input.Resources : []).map((id): IamRequest => {
        const arn = ec2Arn(env, ec2Kind(text(id)), text(id));
        const context = tagContext(tagsOf(input.Tags));
        return {
          action: 'ec2:CreateTags',
          resource: arn,
          resourceAccount: env.account,
          context,
          taggedResource: arn,
        };
      }),
    'EC2.DeleteVolume': (input, env) => {
      const arn = ec2Arn(env, 'volume', text(input.VolumeId));
      return [
        {
          action: 'ec2:DeleteVolume',
          resource: arn,
          resourceAccount: accountOf(arn) || env.account,
          context: {},
          taggedResource: arn,
        },
      ];
    },
  },
};
