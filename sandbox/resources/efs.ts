import { findNamed } from '../aws/find.js';
import { SimulatedAwsError } from '../aws-errors.js';
import { tagContext, tagsOf } from '../iam-keys.js';
import type { IamRequest, RequestEnvironment } from '../iam-requests.js';
import type { Caller, RestoredResource, World } from '../world.js';
import {
  applyTags,
  type IamMapper,
  type SandboxResourceType,
  type ServiceApi,
  tagList,
  text,
} from './types.js';

/**
 * Amazon EFS in the sandbox: the file systems EFS restores create (a full restore to a new file system) and
 * their mount targets. Only the EFS type uses this service, so it lives here. Output shapes are the SDK's
 * (DescribeFileSystems → FileSystems[]); errors are EFS's (FileSystemNotFound, FileSystemInUse…).
 */
export interface EfsFileSystem extends RestoredResource {
  kind: 'file-system';
  creationToken: string;
  performanceMode: string;
  throughputMode: string;
  encrypted: boolean;
  kmsKeyId?: string;
  sizeBytes: number;
}

export interface MountTarget {
  id: string;
  fileSystemId: string;
  subnetId: string;
  status: 'available' | 'deleting' | 'deleted';
}

/** What an empty file system meters (EFS reports 6 KiB for the root directory's metadata). */
const EMPTY_BYTES = 6144;

/** Amazon EFS "File systems per account": 1,000 per Region by default (Amazon EFS quotas). */
const FILE_SYSTEMS_PER_ACCOUNT = 1000;

export class EfsState {
  readonly fileSystems = new Map<string, EfsFileSystem>();
  readonly mountTargets = new Map<string, MountTarget>();

  fileSystem(caller: Caller, idOrArn: string): EfsFileSystem {
    const found = findNamed(this.fileSystems.values(), caller, idOrArn);
    if (!found) throw new SimulatedAwsError('FileSystemNotFound', `File system '${idOrArn}' does not exist.`);
    return found;
  }

  mountTargetsOf(fileSystemId: string): MountTarget[] {
    return [...this.mountTargets.values()].filter(
      (target) => target.fileSystemId === fileSystemId && target.status !== 'deleted',
    );
  }
}

function describeFileSystem(f: EfsFileSystem, mountTargets: number) {
  return {
    OwnerId: f.account,
    CreationToken: f.creationToken,
    FileSystemId: f.id,
    FileSystemArn: f.arn,
    CreationTime: new Date(f.createdAt),
    LifeCycleState: f.status,
    Name: f.tags.Name,
    NumberOfMountTargets: mountTargets,
    SizeInBytes: { Value: f.sizeBytes, Timestamp: new Date(f.createdAt) },
    PerformanceMode: f.performanceMode,
    ThroughputMode: f.throughputMode,
    Encrypted: f.encrypted,
    KmsKeyId: f.kmsKeyId,
    Tags: tagList(f.tags),
  };
}

function fileSystemArn(env: RequestEnvironment, idOrArn: string): string {
  return env.resourceArn(
    'file-system',
    idOrArn,
    env.account,
    env.region,
    `arn:aws:elasticfilesystem:${env.region}:${env.account}:file-system/${idOrArn}`,
  );
}

/** EFS actions are authorized on the file system (DeleteMountTarget too: on the mount target's file system). */
function onFileSystem(action: string, field: string): IamMapper {
  return (input, env) => {
    const arn = fileSystemArn(env, text(input[field]));
    const context = field === 'ResourceId' && 'Tags' in input ? tagContext(tagsOf(input.Tags)) : {};
    return [{ action, resource: arn, resourceAccount: env.account, context, taggedResource: arn }];
  };
}

/**
 * Mount target → file system, for IAM (which authorizes DeleteMountTarget on the file system). Mount target
 * ids are random per world, so one map serves every world in the process.
 */
const fileSystemOfMountTarget = new Map<string, string>();

export const efsApi: ServiceApi = {
  service: 'EFS',
  operations(world) {
    const state = world.state(EfsState);
    return {
      'EFS.DescribeFileSystems': (caller, input: { FileSystemId?: string }) => {
        const f = state.fileSystem(caller, input.FileSystemId ?? '');
        return { FileSystems: [describeFileSystem(f, state.mountTargetsOf(f.id).length)] };
      },
      'EFS.DescribeMountTargets': (caller, input: { FileSystemId?: string }) => {
        const f = state.fileSystem(caller, input.FileSystemId ?? '');
        return {
          MountTargets: state.mountTargetsOf(f.id).map((target) => ({
            OwnerId: f.account,
            MountTargetId: target.id,
            FileSystemId: f.id,
            SubnetId: target.subnetId,
            LifeCycleState: target.status,
          })),
        };
      },
      'EFS.TagResource': (caller, input: { ResourceId?: string; Tags?: unknown }) => {
        applyTags(state.fileSystem(caller, input.ResourceId ?? '').tags, input.Tags);
        return {};
      },
      'EFS.ListTagsForResource': (caller, input: { ResourceId?: string }) => ({
        Tags: tagList(state.fileSystem(caller, input.ResourceId ?? '').tags),
      }),
      'EFS.DeleteMountTarget': (_caller, input: { MountTargetId?: string }) => {
        const target = state.mountTargets.get(input.MountTargetId ?? '');
        if (!target || target.status === 'deleted')
          throw new SimulatedAwsError(
            'MountTargetNotFound',
            `Mount target '${input.MountTargetId}' does not exist.`,
          );
        target.status = 'deleting';
        world.clock.schedule(20_000, () => {
          target.status = 'deleted';
        });
        return {};
      },
      'EFS.DeleteFileSystem': (caller, input: { FileSystemId?: string }) => {
        const f = state.fileSystem(caller, input.FileSystemId ?? '');
        if (state.mountTargetsOf(f.id).length > 0)
          throw new SimulatedAwsError('FileSystemInUse', `File system '${f.id}' has mount targets.`);
        if (f.phase === 'deleting') return {};
        world.teardownFault('FileSystemInUse');
        world.beginDelete(f, 30, 'deleting', 'deleted');
        return {};
      },
    };
  },
  iam: {
    'EFS.DescribeFileSystems': onFileSystem('elasticfilesystem:DescribeFileSystems', 'FileSystemId'),
    'EFS.DescribeMountTargets': onFileSystem('elasticfilesystem:DescribeMountTargets', 'FileSystemId'),
    'EFS.TagResource': onFileSystem('elasticfilesystem:TagResource', 'ResourceId'),
    'EFS.ListTagsForResource': onFileSystem('elasticfilesystem:ListTagsForResource', 'ResourceId'),
    'EFS.DeleteFileSystem': onFileSystem('elasticfilesystem:DeleteFileSystem', 'FileSystemId'),
    'EFS.DeleteMountTarget': (input, env): IamRequest[] => {
      const id = text(input.MountTargetId);
      const arn = fileSystemArn(env, fileSystemOfMountTarget.get(id) ?? id);
      return [
        {
          action: 'elasticfilesystem:DeleteMountTarget',
          resource: arn,
          resourceAccount: env.account,
          context: {},
          taggedResource: arn,
        },
      ];
    },
  },
};

/** Adds a mount target to a file system (a restore creates none; tests add them to exercise teardown). */
export function addMountTarget(world: World, fileSystem: EfsFileSystem, subnetId: string): MountTarget {
  const target: MountTarget = {
    id: `fsmt-0${world.random.hex(16)}`,
    fileSystemId: fileSystem.id,
    subnetId,
    status: 'available',
  };
  world.state(EfsState).mountTargets.set(target.id, target);
  fileSystemOfMountTarget.set(target.id, fileSystem.arn);
  return target;
}

/**
 * Amazon EFS file systems: a backup is an AWS Backup recovery point; a full restore to a new file system
 * creates one, encrypted as the metadata asks, with no mount targets.
 */
export const efs: SandboxResourceType = {
  type: 'EFS',
  sizeGiB: (random) => 10 * random.int(1, 50),
  sourceResourceArn: ({ account, region, random }) =>
    `arn:aws:elasticfilesystem:${region}:${account}:file-system/fs-0${random.hex(16)}`,
  recoveryPointArn: ({ account, region, random }) =>
    `arn:aws:backup:${region}:${account}:recovery-point:${random.uuid().toUpperCase()}`,
  recoveryPointForm: {
    describe: 'arn:aws:backup:REGION:ACCOUNT:recovery-point:<uuid>',
    fits: (arn) => arn.service === 'backup' && /^recovery-point:[0-9A-Fa-f-]{36}$/.test(arn.resource),
  },
  // The keys AWS Backup documents for an EFS restore, as GetRecoveryPointRestoreMetadata gives them.
  sourceMetadata: ({ resourceArn, account, region, random }) => ({
    'file-system-id': resourceArn.split('/').pop() ?? '',
    Encrypted: 'true',
    KmsKeyId: `arn:aws:kms:${region}:${account}:key/${random.uuid()}`,
    PerformanceMode: 'generalPurpose',
    CreationToken: 'prod-shared-home',
    newFileSystem: 'false',
  }),
  // An EFS restore copies every file back: minutes for a small file system, longer with its size.
  restoreDurationMs: (random, sizeGiB) => random.seconds(8 * 60, 20 * 60) + sizeGiB * 3_000,

  validateRestore(world, caller, metadata) {
    // The sandbox simulates restores to a new file system only (in-place restores write into the source).
    if (metadata.newFileSystem !== 'true')
      throw new SimulatedAwsError(
        'InvalidParameterValueException',
        'The sandbox restores EFS recovery points to a new file system only (newFileSystem=true)',
      );
    if (metadata.Encrypted !== 'true' && metadata.KmsKeyId)
      throw new SimulatedAwsError('InvalidParameterValueException', 'KmsKeyId requires Encrypted=true');
    const token = metadata.CreationToken;
    if (!token)
      throw new SimulatedAwsError(
        'InvalidParameterValueException',
        'A new file system needs a CreationToken',
      );
    const taken = [...world.state(EfsState).fileSystems.values()].some(
      (f) =>
        f.creationToken === token &&
        f.account === caller.account &&
        f.region === caller.region &&
        f.phase !== 'deleted',
    );
    if (taken)
      throw new SimulatedAwsError(
        'InvalidParameterValueException',
        `A file system with token ${token} exists`,
      );
  },

  quotaExceeded(world, job) {
    const count = [...world.state(EfsState).fileSystems.values()].filter(
      (f) => f.account === job.account && f.region === job.region && f.phase !== 'deleted',
    ).length;
    if (count >= FILE_SYSTEMS_PER_ACCOUNT)
      return `FileSystemLimitExceeded: ${job.account} has ${count} file systems in ${job.region}`;
    return undefined;
  },

  restore(world, job, point, metadata) {
    const id = `fs-0${world.random.hex(16)}`;
    const fileSystem: EfsFileSystem = {
      arn: `arn:aws:elasticfilesystem:${job.region}:${job.account}:file-system/${id}`,
      account: job.account,
      region: job.region,
      kind: 'file-system',
      id,
      // AWS Backup reports the job complete once the data is in: the file system is available by then.
      status: world.faults.unhealthy ? 'error' : 'available',
      phase: 'present',
      tags: {},
      createdAt: world.now,
      creationToken: metadata.CreationToken ?? '',
      performanceMode: metadata.PerformanceMode ?? 'generalPurpose',
      throughputMode: 'bursting',
      encrypted: metadata.Encrypted === 'true',
      kmsKeyId:
        metadata.Encrypted === 'true'
          ? (metadata.KmsKeyId ?? `arn:aws:kms:${job.region}:${job.account}:alias/aws/elasticfilesystem`)
          : undefined,
      // data=corrupt: the restore brought no files back.
      sizeBytes: world.faults.corruptData ? EMPTY_BYTES : Math.round(point.sizeBytes * 0.97),
    };
    world.state(EfsState).fileSystems.set(fileSystem.arn, fileSystem);
    world.track(fileSystem);
    return fileSystem.arn;
  },

  present: (world, account) =>
    [...world.state(EfsState).fileSystems.values()].filter(
      (f) => f.account === account && f.phase !== 'deleted',
    ).length,
};
