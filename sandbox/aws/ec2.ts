import { SimulatedAwsError } from '../aws-errors.js';
import { accountOf, tagContext, tagsOf } from '../iam-keys.js';
import type { IamRequest, RequestEnvironment } from '../iam-requests.js';
import { applyTags, type ServiceApi, tagList, text } from '../resources/types.js';
import type { Caller, RestoredResource, World } from '../world.js';
import { findNamed } from './find.js';

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

/** An instance an EC2 restore launched from an AMI (its volumes are Volumes attached to it). */
export interface Ec2Instance extends RestoredResource {
  kind: 'instance';
  instanceType: string;
  imageId: string;
  subnetId: string;
  availabilityZone: string;
  securityGroupIds: string[];
  publicIpAddress?: string;
  keyName?: string;
  iamInstanceProfileArn?: string;
  disableApiTermination: boolean;
  disableApiStop: boolean;
  /** Why the instance is not running (StateReason), when it failed to boot. */
  stateReason?: string;
}

export class Ec2State {
  readonly volumes = new Map<string, Volume>();
  readonly instances = new Map<string, Ec2Instance>();

  addInstance(
    world: World,
    input: Omit<Ec2Instance, 'kind' | 'phase' | 'createdAt' | 'tagConditionPrefix' | 'conditionKeys' | 'arn'>,
  ): Ec2Instance {
    const instance: Ec2Instance = {
      ...input,
      arn: `arn:aws:ec2:${input.region}:${input.account}:instance/${input.id}`,
      kind: 'instance',
      phase: 'present',
      createdAt: world.now,
      tagConditionPrefix: 'ec2:ResourceTag/',
      conditionKeys: {
        'ec2:AvailabilityZone': input.availabilityZone,
        'ec2:InstanceType': input.instanceType,
      },
    };
    this.instances.set(instance.arn, instance);
    world.track(instance);
    return instance;
  }

  /**
   * An instance by id: terminated instances stay visible (state terminated) as EC2 keeps them listed for
   * about an hour; the sandbox's runs are shorter than that.
   */
  instance(caller: Caller, id: string): Ec2Instance {
    const found = [...this.instances.values()].find(
      (i) => (i.id === id || i.arn === id) && i.account === caller.account && i.region === caller.region,
    );
    if (!found)
      throw new SimulatedAwsError('InvalidInstanceID.NotFound', `The instance ID '${id}' does not exist`);
    return found;
  }

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
    const found = findNamed(this.volumes.values(), caller, id);
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

function describeInstance(i: Ec2Instance) {
  return {
    InstanceId: i.id,
    ImageId: i.imageId,
    InstanceType: i.instanceType,
    State: { Name: i.status, Code: INSTANCE_STATE_CODES[i.status] ?? 0 },
    StateReason: i.stateReason ? { Code: i.stateReason, Message: i.stateReason } : undefined,
    SubnetId: i.status === 'terminated' ? undefined : i.subnetId,
    Placement: { AvailabilityZone: i.availabilityZone, Tenancy: 'default' },
    SecurityGroups: i.securityGroupIds.map((id) => ({ GroupId: id, GroupName: id })),
    PublicIpAddress: i.status === 'running' ? i.publicIpAddress : undefined,
    KeyName: i.keyName,
    IamInstanceProfile: i.iamInstanceProfileArn ? { Arn: i.iamInstanceProfileArn } : undefined,
    MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled' },
    Tags: tagList(i.tags),
    LaunchTime: new Date(i.createdAt),
  };
}

/** EC2's instance state codes (InstanceState.Code). */
const INSTANCE_STATE_CODES: Record<string, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

/** How long a terminating instance shuts down, and how long its DeleteOnTermination volumes take after that. */
const SHUTDOWN_SECONDS = 60;
const VOLUME_DELETE_SECONDS = 30;

/** DescribeVolumes' filters the functions use (attachment.instance-id); any other filter is refused. */
function matchesFilters(v: Volume, filters: { Name?: string; Values?: string[] }[] | undefined): boolean {
  return (filters ?? []).every((filter) => {
    if (filter.Name !== 'attachment.instance-id')
      throw new SimulatedAwsError('InvalidParameterValue', `The filter '${filter.Name}' is not simulated`);
    return v.attachedTo !== undefined && (filter.Values ?? []).includes(v.attachedTo);
  });
}

const ec2Kind = (id: string) => (id.startsWith('i-') ? 'instance' : 'volume');

export const ec2Api: ServiceApi = {
  service: 'EC2',
  operations(world) {
    const state = world.state(Ec2State);
    return {
      'EC2.DescribeVolumes': (
        caller,
        input: { VolumeIds?: string[]; Filters?: { Name?: string; Values?: string[] }[] },
      ) => {
        if (input.VolumeIds)
          return { Volumes: input.VolumeIds.map((id) => describeVolume(state.volume(caller, id))) };
        const volumes = [...state.volumes.values()].filter(
          (v) =>
            v.account === caller.account &&
            v.region === caller.region &&
            v.phase !== 'deleted' &&
            matchesFilters(v, input.Filters),
        );
        return { Volumes: volumes.map(describeVolume) };
      },
      'EC2.DescribeInstances': (caller, input: { InstanceIds?: string[] }) => ({
        Reservations: (input.InstanceIds ?? []).map((id) => {
          const instance = state.instance(caller, id);
          return {
            ReservationId: `r-0${instance.id.slice(3)}`,
            OwnerId: instance.account,
            Instances: [describeInstance(instance)],
          };
        }),
      }),
      'EC2.TerminateInstances': (caller, input: { InstanceIds?: string[] }) => {
        const instances = (input.InstanceIds ?? []).map((id) => state.instance(caller, id));
        for (const instance of instances) {
          if (instance.disableApiTermination)
            throw new SimulatedAwsError(
              'OperationNotPermitted',
              `The instance '${instance.id}' may not be terminated. Modify its 'disableApiTermination' instance attribute and try again.`,
            );
        }
        world.teardownFault('IncorrectInstanceState');
        return {
          TerminatingInstances: instances.map((instance) => {
            const previous = instance.status;
            // Terminating a terminated or terminating instance succeeds and changes nothing, as in EC2.
            if (instance.phase === 'present') {
              world.beginDelete(instance, SHUTDOWN_SECONDS, 'shutting-down', 'terminated');
              world.clock.schedule(SHUTDOWN_SECONDS * 1000, () => {
                for (const volume of state.volumes.values()) {
                  if (
                    volume.attachedTo === instance.id &&
                    volume.deleteOnTermination &&
                    volume.phase === 'present'
                  )
                    world.beginDelete(volume, VOLUME_DELETE_SECONDS, 'deleting', 'deleted');
                }
              });
            }
            return {
              InstanceId: instance.id,
              PreviousState: { Name: previous, Code: INSTANCE_STATE_CODES[previous] ?? 0 },
              CurrentState: { Name: instance.status, Code: INSTANCE_STATE_CODES[instance.status] ?? 0 },
            };
          }),
        };
      },
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
    'EC2.DescribeInstances': (_input, env) => [
      { action: 'ec2:DescribeInstances', resource: '*', resourceAccount: env.account, context: {} },
    ],
    'EC2.TerminateInstances': (input, env) =>
      (Array.isArray(input.InstanceIds) ? input.InstanceIds : []).map((id): IamRequest => {
        const arn = ec2Arn(env, 'instance', text(id));
        return {
          action: 'ec2:TerminateInstances',
          resource: arn,
          resourceAccount: accountOf(arn) || env.account,
          context: {},
          taggedResource: arn,
        };
      }),
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
