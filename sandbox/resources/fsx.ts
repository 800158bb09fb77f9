import * as z from 'zod';
import { findNamed } from '../aws/find.js';
import { SimulatedAwsError } from '../aws-errors.js';
import { tagContext, tagsOf } from '../iam-keys.js';
import type { IamRequest, RequestEnvironment } from '../iam-requests.js';
import type { Random } from '../random.js';
import type { Caller, RestoredResource } from '../world.js';
import { applyTags, type SandboxResourceType, type ServiceApi, tagList, text } from './types.js';

/**
 * Amazon FSx in the sandbox: the file systems FSx restores create (CreateFileSystemFromBackup, as AWS Backup
 * does it), of the Windows File Server, Lustre and OpenZFS variants. FSx for ONTAP is backed up by volume and
 * restored into a volume of an existing SVM, which the sandbox does not simulate: its ONTAP operations
 * answer as for an account with no ONTAP file system. Only the FSx type uses this service, so it lives here.
 */
export type FsxVariant = 'WINDOWS' | 'LUSTRE' | 'OPENZFS';

/** The variants the sandbox's backups come in; which one a backup is follows from the seeded random. */
export const SIMULATED_VARIANTS: readonly FsxVariant[] = ['WINDOWS', 'LUSTRE', 'OPENZFS'];

const CONFIGURATION_KEY: Record<FsxVariant, string> = {
  WINDOWS: 'WindowsConfiguration',
  LUSTRE: 'LustreConfiguration',
  OPENZFS: 'OpenZFSConfiguration',
};

export interface FsxFileSystem extends RestoredResource {
  kind: 'file-system';
  fileSystemType: FsxVariant;
  deploymentType: string;
  storageCapacity: number;
  subnetIds: string[];
  securityGroupIds: string[];
  kmsKeyId: string;
  automaticBackupRetentionDays: number;
  backupId: string;
}

/** A backup FSx takes when a file system is deleted without SkipFinalBackup: left behind, as in AWS. */
export interface FsxBackup extends RestoredResource {
  kind: 'backup';
  fileSystemId: string;
}

export class FsxState {
  readonly fileSystems = new Map<string, FsxFileSystem>();
  readonly backups = new Map<string, FsxBackup>();

  fileSystem(caller: Caller, idOrArn: string): FsxFileSystem {
    const found = findNamed(this.fileSystems.values(), caller, idOrArn);
    if (!found) throw new SimulatedAwsError('FileSystemNotFound', `File system ${idOrArn} does not exist.`);
    return found;
  }
}

const Settings = z.looseObject({
  DeploymentType: z.string().optional(),
  PreferredSubnetId: z.string().optional(),
  AutomaticBackupRetentionDays: z.number().optional(),
});

function parsed<T>(schema: z.ZodType<T>, value: string | undefined, key: string): T | undefined {
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

function variantOf(value: string | undefined): FsxVariant | undefined {
  return SIMULATED_VARIANTS.find((variant) => variant === value);
}

const MULTI_AZ = new Set(['MULTI_AZ_1', 'MULTI_AZ_2']);

function describeFileSystem(f: FsxFileSystem) {
  const multiAz = MULTI_AZ.has(f.deploymentType);
  const common = {
    DeploymentType: f.deploymentType,
    AutomaticBackupRetentionDays: f.automaticBackupRetentionDays,
  };
  return {
    OwnerId: f.account,
    CreationTime: new Date(f.createdAt),
    FileSystemId: f.id,
    FileSystemType: f.fileSystemType,
    Lifecycle: f.status,
    FailureDetails:
      f.status === 'FAILED' || f.status === 'MISCONFIGURED'
        ? { Message: 'The file system could not reach its network dependencies.' }
        : undefined,
    StorageCapacity: f.storageCapacity,
    StorageType: 'SSD',
    VpcId: 'vpc-0restore000000001',
    SubnetIds: f.subnetIds,
    NetworkInterfaceIds: f.subnetIds.map((_subnet, index) => `eni-0${f.id.slice(4, 18)}${index}`),
    DNSName: `${f.id}.fsx.${f.region}.amazonaws.com`,
    KmsKeyId: f.kmsKeyId,
    ResourceARN: f.arn,
    Tags: tagList(f.tags),
    WindowsConfiguration:
      f.fileSystemType === 'WINDOWS'
        ? { ...common, PreferredSubnetId: multiAz ? f.subnetIds[0] : undefined, ThroughputCapacity: 32 }
        : undefined,
    LustreConfiguration:
      f.fileSystemType === 'LUSTRE'
        ? { ...common, PerUnitStorageThroughput: 125, MountName: 'fsx' }
        : undefined,
    OpenZFSConfiguration:
      f.fileSystemType === 'OPENZFS'
        ? {
            ...common,
            PreferredSubnetId: multiAz ? f.subnetIds[0] : undefined,
            ThroughputCapacity: 160,
            RootVolumeId: `fsvol-0${f.id.slice(4)}`,
          }
        : undefined,
  };
}

function fileSystemArn(env: RequestEnvironment, idOrArn: string): string {
  return env.resourceArn(
    'file-system',
    idOrArn,
    env.account,
    env.region,
    `arn:aws:fsx:${env.region}:${env.account}:file-system/${idOrArn}`,
  );
}

function onResource(action: string, arn: string, env: RequestEnvironment, context = {}): IamRequest[] {
  return [{ action, resource: arn, resourceAccount: env.account, context, taggedResource: arn }];
}

export const fsxApi: ServiceApi = {
  service: 'FSx',
  operations(world) {
    const state = world.state(FsxState);
    return {
      'FSx.DescribeFileSystems': (caller, input: { FileSystemIds?: string[] }) => ({
        FileSystems: (input.FileSystemIds ?? []).map((id) =>
          describeFileSystem(state.fileSystem(caller, id)),
        ),
      }),
      'FSx.TagResource': (caller, input: { ResourceARN?: string; Tags?: unknown }) => {
        applyTags(state.fileSystem(caller, input.ResourceARN ?? '').tags, input.Tags);
        return {};
      },
      'FSx.ListTagsForResource': (caller, input: { ResourceARN?: string }) => ({
        Tags: tagList(state.fileSystem(caller, input.ResourceARN ?? '').tags),
      }),
      'FSx.DeleteFileSystem': (
        caller,
        input: {
          FileSystemId?: string;
          WindowsConfiguration?: { SkipFinalBackup?: boolean };
          LustreConfiguration?: { SkipFinalBackup?: boolean };
          OpenZFSConfiguration?: { SkipFinalBackup?: boolean };
        },
      ) => {
        const f = state.fileSystem(caller, input.FileSystemId ?? '');
        if (f.status === 'DELETING')
          throw new SimulatedAwsError('BadRequest', `File system ${f.id} is already being deleted.`);
        if (f.status === 'CREATING')
          throw new SimulatedAwsError(
            'BadRequest',
            `File system ${f.id} is CREATING and cannot be deleted yet.`,
          );
        world.teardownFault('BadRequest');
        const configuration = input[CONFIGURATION_KEY[f.fileSystemType] as keyof typeof input];
        const skip = typeof configuration === 'object' && configuration.SkipFinalBackup === true;
        let finalBackupId: string | undefined;
        // Without SkipFinalBackup, FSx keeps a final backup of the deleted file system (Lustre only takes
        // one when asked to, as it defaults to skipping).
        if (!skip && f.fileSystemType !== 'LUSTRE') {
          finalBackupId = `backup-0${world.random.hex(16)}`;
          const backup: FsxBackup = {
            arn: `arn:aws:fsx:${f.region}:${f.account}:backup/${finalBackupId}`,
            account: f.account,
            region: f.region,
            kind: 'backup',
            id: finalBackupId,
            status: 'AVAILABLE',
            phase: 'present',
            tags: { ...f.tags },
            createdAt: world.now,
            fileSystemId: f.id,
          };
          state.backups.set(backup.arn, backup);
          world.track(backup);
        }
        world.beginDelete(f, world.random.int(5, 15) * 60, 'DELETING', 'DELETED');
        const response = {
          FinalBackupId: finalBackupId,
          FinalBackupTags: finalBackupId ? tagList(f.tags) : [],
        };
        return {
          FileSystemId: f.id,
          Lifecycle: f.status,
          WindowsResponse: f.fileSystemType === 'WINDOWS' ? response : undefined,
          LustreResponse: f.fileSystemType === 'LUSTRE' ? response : undefined,
          OpenZFSResponse: f.fileSystemType === 'OPENZFS' ? response : undefined,
        };
      },
      // No ONTAP file systems in the sandbox: nothing to list, nothing to delete.
      'FSx.DescribeVolumes': () => ({ Volumes: [] }),
      'FSx.DescribeStorageVirtualMachines': () => ({ StorageVirtualMachines: [] }),
      'FSx.DeleteVolume': (_caller, input: { VolumeId?: string }) => {
        throw new SimulatedAwsError('VolumeNotFound', `Volume ${input.VolumeId} does not exist.`);
      },
      'FSx.DeleteStorageVirtualMachine': (_caller, input: { StorageVirtualMachineId?: string }) => {
        throw new SimulatedAwsError(
          'StorageVirtualMachineNotFound',
          `Storage virtual machine ${input.StorageVirtualMachineId} does not exist.`,
        );
      },
    };
  },
  iam: {
    // fsx:DescribeFileSystems has no resource-level permissions (Service Authorization Reference).
    'FSx.DescribeFileSystems': (_input, env) => [
      { action: 'fsx:DescribeFileSystems', resource: '*', resourceAccount: env.account, context: {} },
    ],
    'FSx.TagResource': (input, env) =>
      onResource(
        'fsx:TagResource',
        fileSystemArn(env, text(input.ResourceARN)),
        env,
        tagContext(tagsOf(input.Tags)),
      ),
    'FSx.ListTagsForResource': (input, env) =>
      onResource('fsx:ListTagsForResource', fileSystemArn(env, text(input.ResourceARN)), env),
    'FSx.DeleteFileSystem': (input, env) =>
      onResource('fsx:DeleteFileSystem', fileSystemArn(env, text(input.FileSystemId)), env),
    // Listed by a file-system-id filter: no resource named, authorized on '*'.
    'FSx.DescribeVolumes': (_input, env) => [
      { action: 'fsx:DescribeVolumes', resource: '*', resourceAccount: env.account, context: {} },
    ],
    'FSx.DescribeStorageVirtualMachines': (_input, env) => [
      {
        action: 'fsx:DescribeStorageVirtualMachines',
        resource: '*',
        resourceAccount: env.account,
        context: {},
      },
    ],
    'FSx.DeleteVolume': (input, env) =>
      onResource(
        'fsx:DeleteVolume',
        `arn:aws:fsx:${env.region}:${env.account}:volume/*/${text(input.VolumeId)}`,
        env,
      ),
    'FSx.DeleteStorageVirtualMachine': (input, env) =>
      onResource(
        'fsx:DeleteStorageVirtualMachine',
        `arn:aws:fsx:${env.region}:${env.account}:storage-virtual-machine/*/${text(input.StorageVirtualMachineId)}`,
        env,
      ),
  },
};

/** A production file system's variant settings, as GetRecoveryPointRestoreMetadata returns them (JSON). */
function sourceSettings(variant: FsxVariant, random: Random): Record<string, unknown> {
  const backups = { AutomaticBackupRetentionDays: 7, DailyAutomaticBackupStartTime: '05:00' };
  switch (variant) {
    case 'WINDOWS':
      return {
        ...backups,
        DeploymentType: random.int(0, 1) === 0 ? 'MULTI_AZ_1' : 'SINGLE_AZ_2',
        PreferredSubnetId: 'subnet-0f00d0prod0000001',
        ThroughputCapacity: 32,
        ActiveDirectoryId: `d-90${random.hex(8)}`,
        CopyTagsToBackups: true,
      };
    case 'LUSTRE':
      return {
        ...backups,
        DeploymentType: 'PERSISTENT_1',
        PerUnitStorageThroughput: 200,
        ImportPath: 's3://prod-data-lake/research',
        ExportPath: 's3://prod-data-lake/research/export',
        CopyTagsToBackups: true,
      };
    case 'OPENZFS':
      return {
        ...backups,
        DeploymentType: random.int(0, 1) === 0 ? 'MULTI_AZ_1' : 'SINGLE_AZ_2',
        PreferredSubnetId: 'subnet-0f00d0prod0000001',
        RouteTableIds: ['rtb-0f00d0prod0000001'],
        ThroughputCapacity: 160,
        CopyTagsToBackups: true,
      };
  }
}

/**
 * Amazon FSx file systems: a backup is an FSx backup; a restore creates a file system of the backup's variant
 * in the subnets the metadata names (one, or two for a multi-AZ deployment), CREATING for a while, then
 * AVAILABLE (health=unhealthy: MISCONFIGURED for Windows, whose directory is unreachable, FAILED otherwise).
 */
export const fsx: SandboxResourceType = {
  type: 'FSx',
  // Lustre's storage comes in 1.2 TiB steps; every variant accepts these sizes (1.2 to 3.6 TiB: a copy of hours).
  // Sizes that keep a drill (copy + restore) within the default RTO target of four hours.
  sizeGiB: (random) => 400 * random.int(1, 3),
  sourceResourceArn: ({ account, region, random }) =>
    `arn:aws:fsx:${region}:${account}:file-system/fs-0${random.hex(16)}`,
  recoveryPointArn: ({ account, region, random }) =>
    `arn:aws:fsx:${region}:${account}:backup/backup-0${random.hex(16)}`,
  recoveryPointForm: {
    describe: 'arn:aws:fsx:REGION:ACCOUNT:backup/backup-…',
    fits: (arn) => arn.service === 'fsx' && /^backup\/backup-[0-9a-f]{8,17}$/.test(arn.resource),
  },
  sourceMetadata: ({ account, region, sizeGiB, random }) => {
    const variant = SIMULATED_VARIANTS[random.int(0, SIMULATED_VARIANTS.length - 1)] ?? 'WINDOWS';
    const settings = sourceSettings(variant, random);
    const multiAz = typeof settings.DeploymentType === 'string' && MULTI_AZ.has(settings.DeploymentType);
    return {
      FileSystemType: variant,
      StorageCapacity: String(sizeGiB),
      StorageType: 'SSD',
      SubnetIds: JSON.stringify(
        multiAz ? ['subnet-0f00d0prod0000001', 'subnet-0f00d0prod0000002'] : ['subnet-0f00d0prod0000001'],
      ),
      SecurityGroupIds: '["sg-0f00d0prod0000003"]',
      KmsKeyId: `arn:aws:kms:${region}:${account}:key/${random.uuid()}`,
      [CONFIGURATION_KEY[variant]]: JSON.stringify(settings),
    };
  },
  // Restoring an FSx backup into a new file system takes from half an hour to hours with its size.
  restoreDurationMs: (random) => random.seconds(30 * 60, 120 * 60),

  validateRestore(_world, _caller, metadata) {
    const variant = variantOf(metadata.FileSystemType);
    if (!variant)
      throw new SimulatedAwsError(
        'InvalidParameterValueException',
        `The sandbox restores FSx file systems of types ${SIMULATED_VARIANTS.join(', ')}, not ${metadata.FileSystemType}`,
      );
    const subnets = parsed(z.array(z.string()), metadata.SubnetIds, 'SubnetIds') ?? [];
    const settings = parsed(Settings, metadata[CONFIGURATION_KEY[variant]], CONFIGURATION_KEY[variant]) ?? {};
    const multiAz = variant !== 'LUSTRE' && MULTI_AZ.has(settings.DeploymentType ?? '');
    // FSx: a multi-AZ file system needs exactly two subnets, one of them preferred; any other exactly one.
    if (subnets.length !== (multiAz ? 2 : 1))
      throw new SimulatedAwsError(
        'InvalidParameterValueException',
        `${variant} ${settings.DeploymentType ?? ''} needs ${multiAz ? 'two subnets' : 'one subnet'}, got ${subnets.length}`,
      );
    if (multiAz && !subnets.includes(settings.PreferredSubnetId ?? ''))
      throw new SimulatedAwsError(
        'InvalidParameterValueException',
        'PreferredSubnetId must be one of SubnetIds',
      );
    parsed(z.array(z.string()), metadata.SecurityGroupIds, 'SecurityGroupIds');
  },

  // FSx storage quotas (per file system type, TiB per account) are far above a drill's file systems.
  quotaExceeded: () => undefined,

  restore(world, job, point, metadata) {
    const variant = variantOf(metadata.FileSystemType) ?? 'WINDOWS';
    const settings = parsed(Settings, metadata[CONFIGURATION_KEY[variant]], CONFIGURATION_KEY[variant]) ?? {};
    const capacity = Number(metadata.StorageCapacity ?? point.sizeBytes / 2 ** 30);
    const id = `fs-0${world.random.hex(16)}`;
    const fileSystem: FsxFileSystem = {
      arn: `arn:aws:fsx:${job.region}:${job.account}:file-system/${id}`,
      account: job.account,
      region: job.region,
      kind: 'file-system',
      id,
      status: 'CREATING',
      phase: 'present',
      tags: {},
      createdAt: world.now,
      fileSystemType: variant,
      deploymentType: settings.DeploymentType ?? 'SINGLE_AZ_2',
      // data=corrupt: the restored file system is smaller than the backup it came from.
      storageCapacity: world.faults.corruptData ? Math.max(32, Math.floor(capacity / 2)) : capacity,
      subnetIds: parsed(z.array(z.string()), metadata.SubnetIds, 'SubnetIds') ?? [],
      securityGroupIds: parsed(z.array(z.string()), metadata.SecurityGroupIds, 'SecurityGroupIds') ?? [],
      kmsKeyId: metadata.KmsKeyId ?? `arn:aws:kms:${job.region}:${job.account}:key/aws-fsx-default`,
      automaticBackupRetentionDays: settings.AutomaticBackupRetentionDays ?? 0,
      backupId: point.arn.split('/').pop() ?? '',
    };
    world.state(FsxState).fileSystems.set(fileSystem.arn, fileSystem);
    world.track(fileSystem);
    world.clock.schedule(world.random.seconds(2 * 60, 10 * 60), () => {
      if (fileSystem.status !== 'CREATING') return;
      if (!world.faults.unhealthy) fileSystem.status = 'AVAILABLE';
      else fileSystem.status = variant === 'WINDOWS' ? 'MISCONFIGURED' : 'FAILED';
    });
    return fileSystem.arn;
  },

  present: (world, account) =>
    [...world.state(FsxState).fileSystems.values()].filter(
      (f) => f.account === account && f.phase !== 'deleted',
    ).length,
};
