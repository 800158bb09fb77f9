import type { DeleteFileSystemRequest, FileSystem } from '@aws-sdk/client-fsx';
import * as z from 'zod';
import { parseArn, resourceIdFromArn } from '../lib/arn.js';
import type { AccountClients } from '../lib/clients.js';
import type { Config } from '../lib/config.js';
import { ResourceNotReady } from '../lib/errors.js';
import { lazySdk } from './sdk/lazy.js';
import { check, type ResourceModule, taggedCheck, tagList, tagsOf } from './types.js';

/** The FSX SDK, loaded on first use: only drills of this type pay for it (see docs/architecture.md). */
const fsxSdk = lazySdk(() => import('./sdk/fsx.js'));

/** The FSx file system variants AWS Backup restores (FileSystemType). */
export type FsxVariant = 'WINDOWS' | 'LUSTRE' | 'ONTAP' | 'OPENZFS';

/** The restore metadata key holding each variant's own settings (JSON), as CreateFileSystemFromBackup names them. */
const CONFIGURATION_KEY: Record<FsxVariant, string> = {
  WINDOWS: 'WindowsConfiguration',
  LUSTRE: 'LustreConfiguration',
  ONTAP: 'OntapConfiguration',
  OPENZFS: 'OpenZFSConfiguration',
};

/** Deployment types that span two Availability Zones: they need two subnets and a preferred one. */
const MULTI_AZ = new Set(['MULTI_AZ_1', 'MULTI_AZ_2']);

/**
 * Settings of the source file system that name production resources or keep the drill's copy alive after it:
 * route tables and endpoint ranges of the production VPC, the S3 data repository a Lustre file system syncs
 * with, and the automatic backups a restored file system would otherwise take.
 */
const SOURCE_ONLY_SETTINGS = [
  'PreferredSubnetId',
  'RouteTableIds',
  'EndpointIpAddressRange',
  'EndpointIpv6AddressRange',
  'ImportPath',
  'ExportPath',
  'AutoImportPolicy',
  'DailyAutomaticBackupStartTime',
];

const Settings = z.record(z.string(), z.unknown());

function settingsOf(value: string | undefined): Record<string, unknown> {
  if (!value) return {};
  try {
    const parsed = Settings.safeParse(JSON.parse(value));
    return parsed.success ? parsed.data : {};
  } catch {
    // Not JSON: AWS Backup would reject it too; the restore is started without the source's settings.
    return {};
  }
}

export function variantOf(value: string | undefined): FsxVariant | undefined {
  return value === 'WINDOWS' || value === 'LUSTRE' || value === 'ONTAP' || value === 'OPENZFS'
    ? value
    : undefined;
}

/** The variant's settings with the DR network: one DR subnet for a single-AZ file system, two for multi-AZ. */
function isolatedSettings(
  variant: FsxVariant,
  source: Record<string, unknown>,
  config: Config,
): { settings: Record<string, unknown>; subnets: string[] } {
  const settings: Record<string, unknown> = { ...source };
  for (const key of SOURCE_ONLY_SETTINGS) delete settings[key];
  const multiAz = typeof settings.DeploymentType === 'string' && MULTI_AZ.has(settings.DeploymentType);
  // Lustre file systems live in one subnet whatever their deployment type.
  const subnets = config.RESTORE_SUBNET_IDS.slice(0, multiAz && variant !== 'LUSTRE' ? 2 : 1);
  if (multiAz && variant !== 'LUSTRE') settings.PreferredSubnetId = subnets[0];
  // A drill's copy takes no backups of its own: nothing of it outlives teardown.
  settings.AutomaticBackupRetentionDays = 0;
  if (variant !== 'ONTAP') settings.CopyTagsToBackups = false;
  return { settings, subnets };
}

async function describeFileSystem(
  clients: AccountClients,
  fileSystemId: string,
): Promise<FileSystem | undefined> {
  const { DescribeFileSystemsCommand, FSxClient } = await fsxSdk();
  const result = await clients
    .client(FSxClient)
    .send(new DescribeFileSystemsCommand({ FileSystemIds: [fileSystemId] }));
  return result.FileSystems?.[0];
}

/** An ONTAP file system's volumes other than its SVMs' root volumes (those go with their SVM). */
async function ontapVolumesOf(clients: AccountClients, fileSystemId: string) {
  const { DescribeVolumesCommand, FSxClient } = await fsxSdk();
  const result = await clients
    .client(FSxClient)
    .send(new DescribeVolumesCommand({ Filters: [{ Name: 'file-system-id', Values: [fileSystemId] }] }));
  return (result.Volumes ?? []).filter(
    (volume) => volume.OntapConfiguration?.StorageVirtualMachineRoot !== true,
  );
}

async function ontapSvmsOf(clients: AccountClients, fileSystemId: string) {
  const { DescribeStorageVirtualMachinesCommand, FSxClient } = await fsxSdk();
  const result = await clients.client(FSxClient).send(
    new DescribeStorageVirtualMachinesCommand({
      Filters: [{ Name: 'file-system-id', Values: [fileSystemId] }],
    }),
  );
  return result.StorageVirtualMachines ?? [];
}

/** What DeleteFileSystem needs per variant so that it takes no final backup. */
function deleteRequest(fileSystem: FileSystem, fileSystemId: string): DeleteFileSystemRequest {
  switch (fileSystem.FileSystemType) {
    case 'WINDOWS':
      return { FileSystemId: fileSystemId, WindowsConfiguration: { SkipFinalBackup: true } };
    case 'LUSTRE':
      return { FileSystemId: fileSystemId, LustreConfiguration: { SkipFinalBackup: true } };
    case 'OPENZFS':
      // The restored file system's child volumes and snapshots go with it.
      return {
        FileSystemId: fileSystemId,
        OpenZFSConfiguration: { SkipFinalBackup: true, Options: ['DELETE_CHILD_VOLUMES_AND_SNAPSHOTS'] },
      };
    default:
      // ONTAP: final backups are per volume (DeleteVolume below); the file system itself takes none.
      return { FileSystemId: fileSystemId };
  }
}

function memberArn(
  fileSystemArn: string,
  kind: 'volume' | 'storage-virtual-machine',
  fileSystemId: string,
  id: string,
) {
  const arn = parseArn(fileSystemArn);
  return `arn:${arn?.partition ?? 'aws'}:fsx:${arn?.region ?? ''}:${arn?.account ?? ''}:${kind}/${fileSystemId}/${id}`;
}

/**
 * Amazon FSx file systems (Windows File Server, Lustre, OpenZFS; ONTAP at the file-system level): the recovery
 * point is an FSx backup (arn:aws:fsx:REGION:ACCOUNT:backup/backup-…); the restore creates a file system of the
 * backup's variant in the DR subnets.
 *
 * Gap: AWS Backup backs up FSx for ONTAP by volume and restores such a backup into a volume of an existing
 * SVM, which Pilotlight does not run in the DR account. This module handles a restored ONTAP *file system*
 * (its volumes, then its SVMs, then the file system go at teardown), not a restored ONTAP volume.
 */
export const fsx: ResourceModule = {
  type: 'FSx',
  taggingTypes: ['fsx:file-system'],
  // The ARN form of this type's recovery points, where the service names them (not AWS Backup's `recovery-point:`).
  ownsRecoveryPoint: (arn) =>
    parseArn(arn)?.service === 'fsx' && (parseArn(arn)?.resource ?? '').startsWith('backup/'),
  owns: (arn) => {
    const parsed = parseArn(arn);
    return parsed?.service === 'fsx' && /^file-system\/fs-[0-9a-f]+$/.test(parsed.resource);
  },
  // A restore of a large file system takes hours, and the file system may stay CREATING for a while after.
  readiness: { budgetSeconds: 8 * 3600 },
  typicalRestore: { seconds: 5400, perGiBSeconds: 0 },

  restoreMetadata(base, _drill, config) {
    const metadata: Record<string, string> = { ...base };
    // A key of the source account cannot be used here: FSx then encrypts with the DR account's aws/fsx key.
    delete metadata.KmsKeyId;
    const variant = variantOf(metadata.FileSystemType);
    let subnets = config.RESTORE_SUBNET_IDS.slice(0, 1);
    if (variant) {
      const key = CONFIGURATION_KEY[variant];
      const isolated = isolatedSettings(variant, settingsOf(metadata[key]), config);
      metadata[key] = JSON.stringify(isolated.settings);
      subnets = isolated.subnets;
    }
    return {
      ...metadata,
      SubnetIds: JSON.stringify(subnets),
      SecurityGroupIds: JSON.stringify(config.RESTORE_SECURITY_GROUP_IDS),
    };
  },

  async tag(clients, resourceArn, tags) {
    const { FSxClient, TagResourceCommand } = await fsxSdk();
    await clients
      .client(FSxClient)
      .send(new TagResourceCommand({ ResourceARN: resourceArn, Tags: tagList(tags) }));
  },

  async readTags(clients, resourceArn) {
    const { FSxClient, FileSystemNotFound, ListTagsForResourceCommand } = await fsxSdk();
    try {
      const result = await clients
        .client(FSxClient)
        .send(new ListTagsForResourceCommand({ ResourceARN: resourceArn }));
      return tagsOf(result.Tags);
    } catch (error) {
      if (error instanceof FileSystemNotFound) return undefined;
      throw error;
    }
  },

  async checkHealth({ clients, resourceArn, expected, drill, config }) {
    const fileSystemId = resourceIdFromArn(resourceArn);
    const fileSystem = await describeFileSystem(clients, fileSystemId);
    if (!fileSystem) return [check('resource-exists', false, `file system ${fileSystemId} not found`)];
    const lifecycle = fileSystem.Lifecycle ?? 'unknown';
    if (lifecycle === 'CREATING' || lifecycle === 'UPDATING')
      throw new ResourceNotReady(`file system ${fileSystemId} is ${lifecycle}`);

    const subnets = fileSystem.SubnetIds ?? [];
    const outside = subnets.filter((subnet) => !config.RESTORE_SUBNET_IDS.includes(subnet));
    const expectedCapacity = Number(expected.StorageCapacity);
    const expectedVariant = variantOf(expected.FileSystemType);
    return [
      check(
        'resource-available',
        lifecycle === 'AVAILABLE',
        `Lifecycle is ${lifecycle}${fileSystem.FailureDetails?.Message ? ` (${fileSystem.FailureDetails.Message})` : ''}`,
      ),
      check(
        'isolated-network',
        subnets.length > 0 && outside.length === 0,
        `subnets ${subnets.join(',') || 'none'}, outside the DR subnets: ${outside.join(',') || 'none'}`,
      ),
      // FSx encrypts every file system at rest; a restore with no key named uses the DR account's aws/fsx key.
      check('encrypted', Boolean(fileSystem.KmsKeyId), `KmsKeyId ${fileSystem.KmsKeyId ?? 'none'}`),
      taggedCheck(tagsOf(fileSystem.Tags), drill.drillId),
      check(
        'data-integrity',
        (!expectedVariant || fileSystem.FileSystemType === expectedVariant) &&
          (!Number.isFinite(expectedCapacity) || (fileSystem.StorageCapacity ?? 0) >= expectedCapacity),
        `${fileSystem.FileSystemType} (backup: ${expected.FileSystemType ?? 'n/a'}), ${fileSystem.StorageCapacity} GiB (backup: ${expected.StorageCapacity ?? 'n/a'} GiB)`,
      ),
    ];
  },

  async lifecycle(clients, resourceArn) {
    const { FileSystemNotFound } = await fsxSdk();
    const fileSystemId = resourceIdFromArn(resourceArn);
    try {
      const fileSystem = await describeFileSystem(clients, fileSystemId);
      if (!fileSystem) return 'gone';
      if (fileSystem.Lifecycle === 'DELETING') return 'deleting';
      if (fileSystem.FileSystemType !== 'ONTAP') return 'present';
      // An ONTAP file system waits for its volumes, then its SVMs, to be deleted before it can go.
      const volumes = await ontapVolumesOf(clients, fileSystemId);
      if (volumes.length > 0)
        return volumes.every((v) => v.Lifecycle === 'DELETING') ? 'deleting' : 'present';
      const svms = await ontapSvmsOf(clients, fileSystemId);
      if (svms.length > 0) return svms.every((s) => s.Lifecycle === 'DELETING') ? 'deleting' : 'present';
      return 'present';
    } catch (error) {
      if (error instanceof FileSystemNotFound) return 'gone';
      throw error;
    }
  },

  async delete(clients, resourceArn) {
    const { DeleteFileSystemCommand, FSxClient, FileSystemNotFound } = await fsxSdk();
    const fileSystemId = resourceIdFromArn(resourceArn);
    try {
      const fileSystem = await describeFileSystem(clients, fileSystemId);
      if (!fileSystem) return { status: 'already-gone', deleted: [] };
      if (fileSystem.Lifecycle === 'DELETING') return { status: 'deleted', deleted: [] };
      if (fileSystem.FileSystemType === 'ONTAP') {
        const members = await deleteOntapMembers(clients, resourceArn, fileSystemId);
        if (members) return { status: 'deleted', deleted: members };
      }
      await clients
        .client(FSxClient)
        .send(new DeleteFileSystemCommand(deleteRequest(fileSystem, fileSystemId)));
      return { status: 'deleted', deleted: [resourceArn] };
    } catch (error) {
      if (error instanceof FileSystemNotFound) return { status: 'already-gone', deleted: [] };
      throw error;
    }
  },
};

/**
 * The ONTAP members that must go before the file system (FSx answers BadRequest otherwise): its volumes
 * (no final backup), then its SVMs. Returns what it asked to delete, or undefined when none is left.
 */
async function deleteOntapMembers(
  clients: AccountClients,
  resourceArn: string,
  fileSystemId: string,
): Promise<string[] | undefined> {
  const {
    DeleteStorageVirtualMachineCommand,
    DeleteVolumeCommand,
    FSxClient,
    StorageVirtualMachineNotFound,
    VolumeNotFound,
  } = await fsxSdk();
  const volumes = await ontapVolumesOf(clients, fileSystemId);
  if (volumes.length > 0) {
    const deleted: string[] = [];
    for (const volume of volumes) {
      if (volume.Lifecycle === 'DELETING' || !volume.VolumeId) continue;
      try {
        await clients.client(FSxClient).send(
          new DeleteVolumeCommand({
            VolumeId: volume.VolumeId,
            OntapConfiguration: { SkipFinalBackup: true },
          }),
        );
        deleted.push(memberArn(resourceArn, 'volume', fileSystemId, volume.VolumeId));
      } catch (error) {
        if (!(error instanceof VolumeNotFound)) throw error;
      }
    }
    return deleted;
  }
  const svms = await ontapSvmsOf(clients, fileSystemId);
  if (svms.length === 0) return undefined;
  const deleted: string[] = [];
  for (const svm of svms) {
    if (svm.Lifecycle === 'DELETING' || !svm.StorageVirtualMachineId) continue;
    try {
      await clients
        .client(FSxClient)
        .send(
          new DeleteStorageVirtualMachineCommand({ StorageVirtualMachineId: svm.StorageVirtualMachineId }),
        );
      deleted.push(
        memberArn(resourceArn, 'storage-virtual-machine', fileSystemId, svm.StorageVirtualMachineId),
      );
    } catch (error) {
      if (!(error instanceof StorageVirtualMachineNotFound)) throw error;
    }
  }
  return deleted;
}
