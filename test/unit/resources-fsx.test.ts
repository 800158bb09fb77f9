import {
  DeleteFileSystemCommand,
  type DeleteFileSystemRequest,
  DeleteStorageVirtualMachineCommand,
  DeleteVolumeCommand,
  DescribeFileSystemsCommand,
  DescribeStorageVirtualMachinesCommand,
  DescribeVolumesCommand,
  type FileSystem,
  FileSystemNotFound,
  type FileSystemType,
  FSxClient,
  ListTagsForResourceCommand,
  TagResourceCommand,
} from '@aws-sdk/client-fsx';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { drClients } from '../../functions/lib/clients.js';
import { config } from '../../functions/lib/config.js';
import { ResourceNotReady } from '../../functions/lib/errors.js';
import { fsx } from '../../functions/resources/fsx.js';
import { DRILL_ID, rdsDrill } from './support.js';

const fsxMock = mockClient(FSxClient);

const FILE_SYSTEM_ID = 'fs-0123456789abcdef0';
const RESTORED_FILE_SYSTEM_ARN = `arn:aws:fsx:us-west-2:333333333333:file-system/${FILE_SYSTEM_ID}`;
const [SUBNET_A = '', SUBNET_B = ''] = config.RESTORE_SUBNET_IDS;

const notFound = () =>
  new FileSystemNotFound({ message: `File system ${FILE_SYSTEM_ID} does not exist.`, $metadata: {} });

const COMMON_SOURCE: Record<string, string> = {
  StorageCapacity: '1200',
  StorageType: 'SSD',
  SubnetIds: '["subnet-0f00d0prod0000001","subnet-0f00d0prod0000002"]',
  SecurityGroupIds: '["sg-0f00d0prod0000003"]',
  KmsKeyId: 'arn:aws:kms:us-east-2:111111111111:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b',
};

function source(variant: string, key: string, settings: Record<string, unknown>): Record<string, string> {
  return { ...COMMON_SOURCE, FileSystemType: variant, [key]: JSON.stringify(settings) };
}

function restored(metadata: Record<string, string>, key: string) {
  return {
    subnets: JSON.parse(metadata.SubnetIds ?? '[]') as string[],
    groups: JSON.parse(metadata.SecurityGroupIds ?? '[]') as string[],
    settings: JSON.parse(metadata[key] ?? '{}') as Record<string, unknown>,
  };
}

function healthyFileSystem(overrides: Partial<FileSystem> = {}): FileSystem {
  return {
    FileSystemId: FILE_SYSTEM_ID,
    FileSystemType: 'WINDOWS',
    Lifecycle: 'AVAILABLE',
    StorageCapacity: 1200,
    SubnetIds: [SUBNET_A],
    KmsKeyId: 'arn:aws:kms:us-west-2:333333333333:key/aws-fsx',
    ResourceARN: RESTORED_FILE_SYSTEM_ARN,
    Tags: [{ Key: 'pilotlight:drill-id', Value: DRILL_ID }],
    ...overrides,
  };
}

function failedChecks(checks: { name: string; passed: boolean }[]): string[] {
  return checks.filter((check) => !check.passed).map((check) => check.name);
}

async function checkHealthOf(fileSystem: FileSystem) {
  fsxMock.on(DescribeFileSystemsCommand).resolves({ FileSystems: [fileSystem] });
  return fsx.checkHealth({
    clients: drClients(),
    resourceArn: RESTORED_FILE_SYSTEM_ARN,
    expected: { ...COMMON_SOURCE, FileSystemType: 'WINDOWS' },
    drill: rdsDrill(),
    config,
  });
}

beforeEach(() => {
  fsxMock.reset();
});

describe('fsx.restoreMetadata', () => {
  it('puts every variant in the DR security groups and drops the source account key', () => {
    // Act
    const metadata = fsx.restoreMetadata(
      source('LUSTRE', 'LustreConfiguration', { DeploymentType: 'PERSISTENT_1' }),
      rdsDrill(),
      config,
    );

    // Assess
    expect(JSON.parse(metadata.SecurityGroupIds ?? '')).toEqual(config.RESTORE_SECURITY_GROUP_IDS);
    expect(metadata).not.toHaveProperty('KmsKeyId');
    expect(metadata.StorageCapacity).toBe('1200');
  });

  it('restores a multi-AZ Windows file system into two DR subnets, the first preferred, without backups', () => {
    // Prepare
    const base = source('WINDOWS', 'WindowsConfiguration', {
      DeploymentType: 'MULTI_AZ_1',
      PreferredSubnetId: 'subnet-0f00d0prod0000001',
      ThroughputCapacity: 32,
      AutomaticBackupRetentionDays: 7,
      DailyAutomaticBackupStartTime: '05:00',
      CopyTagsToBackups: true,
    });

    // Act
    const { subnets, settings } = restored(
      fsx.restoreMetadata(base, rdsDrill(), config),
      'WindowsConfiguration',
    );

    // Assess
    expect(subnets).toEqual([SUBNET_A, SUBNET_B]);
    expect(settings).toEqual({
      DeploymentType: 'MULTI_AZ_1',
      PreferredSubnetId: SUBNET_A,
      ThroughputCapacity: 32,
      AutomaticBackupRetentionDays: 0,
      CopyTagsToBackups: false,
    });
  });

  it('restores a single-AZ Windows file system into the first DR subnet only', () => {
    // Prepare
    const base = source('WINDOWS', 'WindowsConfiguration', {
      DeploymentType: 'SINGLE_AZ_2',
      PreferredSubnetId: 'subnet-0f00d0prod0000001',
    });

    // Act
    const { subnets, settings } = restored(
      fsx.restoreMetadata(base, rdsDrill(), config),
      'WindowsConfiguration',
    );

    // Assess
    expect(subnets).toEqual([SUBNET_A]);
    expect(settings).not.toHaveProperty('PreferredSubnetId');
  });

  it('restores Lustre into one DR subnet without the production S3 data repository', () => {
    // Prepare
    const base = source('LUSTRE', 'LustreConfiguration', {
      DeploymentType: 'PERSISTENT_1',
      PerUnitStorageThroughput: 200,
      ImportPath: 's3://prod-data-lake/research',
      ExportPath: 's3://prod-data-lake/research/export',
      AutoImportPolicy: 'NEW_CHANGED',
      AutomaticBackupRetentionDays: 7,
    });

    // Act
    const { subnets, settings } = restored(
      fsx.restoreMetadata(base, rdsDrill(), config),
      'LustreConfiguration',
    );

    // Assess
    expect(subnets).toEqual([SUBNET_A]);
    expect(settings).toEqual({
      DeploymentType: 'PERSISTENT_1',
      PerUnitStorageThroughput: 200,
      AutomaticBackupRetentionDays: 0,
      CopyTagsToBackups: false,
    });
  });

  it('restores a multi-AZ OpenZFS file system into two DR subnets without the production route tables', () => {
    // Prepare
    const base = source('OPENZFS', 'OpenZFSConfiguration', {
      DeploymentType: 'MULTI_AZ_1',
      PreferredSubnetId: 'subnet-0f00d0prod0000001',
      RouteTableIds: ['rtb-0f00d0prod0000001'],
      EndpointIpAddressRange: '198.19.255.0/24',
      ThroughputCapacity: 160,
    });

    // Act
    const { subnets, settings } = restored(
      fsx.restoreMetadata(base, rdsDrill(), config),
      'OpenZFSConfiguration',
    );

    // Assess
    expect(subnets).toEqual([SUBNET_A, SUBNET_B]);
    expect(settings).toEqual({
      DeploymentType: 'MULTI_AZ_1',
      PreferredSubnetId: SUBNET_A,
      ThroughputCapacity: 160,
      AutomaticBackupRetentionDays: 0,
      CopyTagsToBackups: false,
    });
  });

  it('restores an ONTAP file system into the DR subnets without its route tables', () => {
    // Prepare
    const base = source('ONTAP', 'OntapConfiguration', {
      DeploymentType: 'MULTI_AZ_1',
      PreferredSubnetId: 'subnet-0f00d0prod0000001',
      RouteTableIds: ['rtb-0f00d0prod0000001'],
      ThroughputCapacity: 128,
    });

    // Act
    const { subnets, settings } = restored(
      fsx.restoreMetadata(base, rdsDrill(), config),
      'OntapConfiguration',
    );

    // Assess
    expect(subnets).toEqual([SUBNET_A, SUBNET_B]);
    expect(settings).toEqual({
      DeploymentType: 'MULTI_AZ_1',
      PreferredSubnetId: SUBNET_A,
      ThroughputCapacity: 128,
      AutomaticBackupRetentionDays: 0,
    });
  });
});

describe('fsx.checkHealth', () => {
  it.each(['CREATING', 'UPDATING'] as const)(
    'throws ResourceNotReady while the file system is %s',
    async (state) => {
      // Act
      const checking = checkHealthOf(healthyFileSystem({ Lifecycle: state }));

      // Assess
      await expect(checking).rejects.toBeInstanceOf(ResourceNotReady);
    },
  );

  it('passes every check for an available file system in the DR subnets, tagged, of the backed-up size', async () => {
    // Act
    const checks = await checkHealthOf(healthyFileSystem());

    // Assess
    expect(checks.map((check) => check.name)).toEqual([
      'resource-available',
      'isolated-network',
      'encrypted',
      'tagged',
      'data-integrity',
    ]);
    expect(failedChecks(checks)).toEqual([]);
  });

  it.each(['FAILED', 'MISCONFIGURED'] as const)(
    'fails the availability check for a %s file system',
    async (state) => {
      // Act
      const checks = await checkHealthOf(healthyFileSystem({ Lifecycle: state }));

      // Assess
      expect(failedChecks(checks)).toEqual(['resource-available']);
    },
  );

  it('fails the isolation check for a file system in a subnet outside the DR VPC', async () => {
    // Act
    const checks = await checkHealthOf(
      healthyFileSystem({ SubnetIds: [SUBNET_A, 'subnet-0f00d0prod0000002'] }),
    );

    // Assess
    expect(failedChecks(checks)).toEqual(['isolated-network']);
  });

  it('fails the tag check for a file system tagged for another drill', async () => {
    // Act
    const checks = await checkHealthOf(
      healthyFileSystem({ Tags: [{ Key: 'pilotlight:drill-id', Value: 'fsx-20260101T0000-0000000000' }] }),
    );

    // Assess
    expect(failedChecks(checks)).toEqual(['tagged']);
  });

  it('fails the data check for a file system smaller than the backup, or of another variant', async () => {
    // Act
    const smaller = await checkHealthOf(healthyFileSystem({ StorageCapacity: 600 }));
    const other = await checkHealthOf(healthyFileSystem({ FileSystemType: 'LUSTRE' }));

    // Assess
    expect(failedChecks(smaller)).toEqual(['data-integrity']);
    expect(failedChecks(other)).toEqual(['data-integrity']);
  });
});

describe('fsx.tag and fsx.readTags', () => {
  it('tags the file system by its ARN', async () => {
    // Prepare
    fsxMock.on(TagResourceCommand).resolves({});

    // Act
    await fsx.tag(drClients(), RESTORED_FILE_SYSTEM_ARN, { 'pilotlight:drill-id': DRILL_ID });

    // Assess
    expect(fsxMock).toHaveReceivedCommandWith(TagResourceCommand, {
      ResourceARN: RESTORED_FILE_SYSTEM_ARN,
      Tags: [{ Key: 'pilotlight:drill-id', Value: DRILL_ID }],
    });
  });

  it('reads no tags for a file system that no longer exists', async () => {
    // Prepare
    fsxMock.on(ListTagsForResourceCommand).rejects(notFound());

    // Act
    const tags = await fsx.readTags(drClients(), RESTORED_FILE_SYSTEM_ARN);

    // Assess
    expect(tags).toBeUndefined();
  });
});

describe('fsx.delete', () => {
  it.each<[FileSystemType, Omit<DeleteFileSystemRequest, 'FileSystemId'>]>([
    ['WINDOWS', { WindowsConfiguration: { SkipFinalBackup: true } }],
    ['LUSTRE', { LustreConfiguration: { SkipFinalBackup: true } }],
    [
      'OPENZFS',
      { OpenZFSConfiguration: { SkipFinalBackup: true, Options: ['DELETE_CHILD_VOLUMES_AND_SNAPSHOTS'] } },
    ],
  ])('deletes a %s file system without a final backup', async (variant, configuration) => {
    // Prepare
    fsxMock
      .on(DescribeFileSystemsCommand)
      .resolves({ FileSystems: [healthyFileSystem({ FileSystemType: variant })] });
    fsxMock.on(DeleteFileSystemCommand).resolves({ FileSystemId: FILE_SYSTEM_ID, Lifecycle: 'DELETING' });

    // Act
    const result = await fsx.delete(drClients(), RESTORED_FILE_SYSTEM_ARN);

    // Assess
    expect(result).toEqual({ status: 'deleted', deleted: [RESTORED_FILE_SYSTEM_ARN] });
    expect(fsxMock).toHaveReceivedCommandWith(DeleteFileSystemCommand, {
      FileSystemId: FILE_SYSTEM_ID,
      ...configuration,
    });
  });

  it('deletes an ONTAP file system’s volumes first (no final backup), then its SVMs, then the file system', async () => {
    // Prepare
    fsxMock
      .on(DescribeFileSystemsCommand)
      .resolves({ FileSystems: [healthyFileSystem({ FileSystemType: 'ONTAP' })] });
    fsxMock
      .on(DescribeVolumesCommand)
      .resolvesOnce({
        Volumes: [
          { VolumeId: 'fsvol-0aaaaaaaaaaaaaaa1', OntapConfiguration: { StorageVirtualMachineRoot: false } },
          { VolumeId: 'fsvol-0aaaaaaaaaaaaaaa0', OntapConfiguration: { StorageVirtualMachineRoot: true } },
        ],
      })
      .resolves({ Volumes: [] });
    fsxMock
      .on(DescribeStorageVirtualMachinesCommand)
      .resolvesOnce({ StorageVirtualMachines: [{ StorageVirtualMachineId: 'svm-0aaaaaaaaaaaaaaa1' }] })
      .resolves({ StorageVirtualMachines: [] });
    fsxMock.on(DeleteVolumeCommand).resolves({});
    fsxMock.on(DeleteStorageVirtualMachineCommand).resolves({});
    fsxMock.on(DeleteFileSystemCommand).resolves({});

    // Act
    const first = await fsx.delete(drClients(), RESTORED_FILE_SYSTEM_ARN);
    const second = await fsx.delete(drClients(), RESTORED_FILE_SYSTEM_ARN);
    const third = await fsx.delete(drClients(), RESTORED_FILE_SYSTEM_ARN);

    // Assess
    expect(first.deleted).toEqual([
      `arn:aws:fsx:us-west-2:333333333333:volume/${FILE_SYSTEM_ID}/fsvol-0aaaaaaaaaaaaaaa1`,
    ]);
    expect(fsxMock).toHaveReceivedCommandWith(DeleteVolumeCommand, {
      VolumeId: 'fsvol-0aaaaaaaaaaaaaaa1',
      OntapConfiguration: { SkipFinalBackup: true },
    });
    expect(fsxMock).toHaveReceivedCommandTimes(DeleteVolumeCommand, 1);
    expect(second.deleted).toEqual([
      `arn:aws:fsx:us-west-2:333333333333:storage-virtual-machine/${FILE_SYSTEM_ID}/svm-0aaaaaaaaaaaaaaa1`,
    ]);
    expect(third).toEqual({ status: 'deleted', deleted: [RESTORED_FILE_SYSTEM_ARN] });
    expect(fsxMock).toHaveReceivedCommandWith(DeleteFileSystemCommand, { FileSystemId: FILE_SYSTEM_ID });
  });

  it('reports already-gone when FSx answers FileSystemNotFound', async () => {
    // Prepare
    fsxMock.on(DescribeFileSystemsCommand).rejects(notFound());

    // Act
    const result = await fsx.delete(drClients(), RESTORED_FILE_SYSTEM_ARN);

    // Assess
    expect(result).toEqual({ status: 'already-gone', deleted: [] });
    expect(fsxMock).not.toHaveReceivedCommand(DeleteFileSystemCommand);
  });

  it('asks nothing more of a file system that is already deleting', async () => {
    // Prepare
    fsxMock
      .on(DescribeFileSystemsCommand)
      .resolves({ FileSystems: [healthyFileSystem({ Lifecycle: 'DELETING' })] });

    // Act
    const result = await fsx.delete(drClients(), RESTORED_FILE_SYSTEM_ARN);

    // Assess
    expect(result).toEqual({ status: 'deleted', deleted: [] });
    expect(fsxMock).not.toHaveReceivedCommand(DeleteFileSystemCommand);
  });
});

describe('fsx.lifecycle', () => {
  it.each([
    ['AVAILABLE', 'present'],
    ['FAILED', 'present'],
    ['DELETING', 'deleting'],
  ] as const)('a %s file system is %s', async (state, expected) => {
    // Prepare
    fsxMock
      .on(DescribeFileSystemsCommand)
      .resolves({ FileSystems: [healthyFileSystem({ Lifecycle: state })] });

    // Act
    const lifecycle = await fsx.lifecycle(drClients(), RESTORED_FILE_SYSTEM_ARN);

    // Assess
    expect(lifecycle).toBe(expected);
  });

  it('waits while an ONTAP file system’s volumes are deleting', async () => {
    // Prepare
    fsxMock
      .on(DescribeFileSystemsCommand)
      .resolves({ FileSystems: [healthyFileSystem({ FileSystemType: 'ONTAP' })] });
    fsxMock
      .on(DescribeVolumesCommand)
      .resolves({ Volumes: [{ VolumeId: 'fsvol-0aaaaaaaaaaaaaaa1', Lifecycle: 'DELETING' }] });

    // Act
    const lifecycle = await fsx.lifecycle(drClients(), RESTORED_FILE_SYSTEM_ARN);

    // Assess
    expect(lifecycle).toBe('deleting');
  });

  it('is gone when FSx answers FileSystemNotFound', async () => {
    // Prepare
    fsxMock.on(DescribeFileSystemsCommand).rejects(notFound());

    // Act
    const lifecycle = await fsx.lifecycle(drClients(), RESTORED_FILE_SYSTEM_ARN);

    // Assess
    expect(lifecycle).toBe('gone');
  });
});
