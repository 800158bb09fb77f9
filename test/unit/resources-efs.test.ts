import {
  DeleteFileSystemCommand,
  DeleteMountTargetCommand,
  DescribeFileSystemsCommand,
  DescribeMountTargetsCommand,
  EFSClient,
  type FileSystemDescription,
  FileSystemInUse,
  FileSystemNotFound,
  type LifeCycleState,
  ListTagsForResourceCommand,
  type MountTargetDescription,
  TagResourceCommand,
} from '@aws-sdk/client-efs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { drClients } from '../../functions/lib/clients.js';
import { config } from '../../functions/lib/config.js';
import { ResourceNotReady } from '../../functions/lib/errors.js';
import { creationTokenFor, efs } from '../../functions/resources/efs.js';
import { DRILL_ID, rdsDrill } from './support.js';

const efsMock = mockClient(EFSClient);

const FILE_SYSTEM_ID = 'fs-0123456789abcdef0';
const RESTORED_FILE_SYSTEM_ARN = `arn:aws:elasticfilesystem:us-west-2:333333333333:file-system/${FILE_SYSTEM_ID}`;

const SOURCE_METADATA: Record<string, string> = {
  'file-system-id': 'fs-0f00d0prod00000001',
  Encrypted: 'false',
  KmsKeyId: 'arn:aws:kms:us-east-2:111111111111:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b',
  PerformanceMode: 'generalPurpose',
  CreationToken: 'prod-shared-home',
  newFileSystem: 'false',
};

const notFound = () =>
  new FileSystemNotFound({
    message: 'File system does not exist.',
    $metadata: {},
    ErrorCode: 'FileSystemNotFound',
  });

function healthyFileSystem(overrides: Partial<FileSystemDescription> = {}): FileSystemDescription {
  return {
    OwnerId: '333333333333',
    CreationToken: creationTokenFor(DRILL_ID),
    FileSystemId: FILE_SYSTEM_ID,
    CreationTime: new Date('2026-01-05T03:00:00Z'),
    LifeCycleState: 'available',
    NumberOfMountTargets: 0,
    SizeInBytes: { Value: 21_474_836_480 },
    PerformanceMode: 'generalPurpose',
    Encrypted: true,
    Tags: [{ Key: 'pilotlight:drill-id', Value: DRILL_ID }],
    ...overrides,
  };
}

function mountTarget(
  subnetId: string,
  overrides: Partial<MountTargetDescription> = {},
): MountTargetDescription {
  return {
    MountTargetId: `fsmt-0${subnetId.slice(-8)}`,
    FileSystemId: FILE_SYSTEM_ID,
    SubnetId: subnetId,
    LifeCycleState: 'available',
    ...overrides,
  };
}

function failedChecks(checks: { name: string; passed: boolean }[]): string[] {
  return checks.filter((check) => !check.passed).map((check) => check.name);
}

async function checkHealthOf(fileSystem: FileSystemDescription, mountTargets: MountTargetDescription[] = []) {
  efsMock.on(DescribeFileSystemsCommand).resolves({ FileSystems: [fileSystem] });
  efsMock.on(DescribeMountTargetsCommand).resolves({ MountTargets: mountTargets });
  return efs.checkHealth({
    clients: drClients(),
    resourceArn: RESTORED_FILE_SYSTEM_ARN,
    expected: SOURCE_METADATA,
    drill: rdsDrill(),
    config,
  });
}

beforeEach(() => {
  efsMock.reset();
});

describe('efs.restoreMetadata', () => {
  it('restores to a new, encrypted file system named after the drill, without the source account key', () => {
    // Act
    const metadata = efs.restoreMetadata(SOURCE_METADATA, rdsDrill(), config);

    // Assess
    expect(metadata).toEqual({
      'file-system-id': 'fs-0f00d0prod00000001',
      PerformanceMode: 'generalPurpose',
      newFileSystem: 'true',
      Encrypted: 'true',
      CreationToken: creationTokenFor(DRILL_ID),
    });
    expect(metadata).not.toHaveProperty('KmsKeyId');
  });

  it('names the file system with a creation token EFS accepts', () => {
    // Act
    const token = creationTokenFor(DRILL_ID);

    // Assess
    expect(token).toBe('pl-rds-20260105t0157-5b0c1f2e9a');
    expect(token.length).toBeLessThanOrEqual(64);
  });
});

describe('efs.checkHealth', () => {
  it('throws ResourceNotReady while the file system is creating', async () => {
    // Act
    const checking = checkHealthOf(healthyFileSystem({ LifeCycleState: 'creating' }));

    // Assess
    await expect(checking).rejects.toBeInstanceOf(ResourceNotReady);
  });

  it('passes every check for an available, encrypted, tagged file system with data and no mount targets', async () => {
    // Act
    const checks = await checkHealthOf(healthyFileSystem());

    // Assess
    expect(checks.map((check) => check.name)).toEqual([
      'resource-available',
      'encrypted',
      'isolated-network',
      'tagged',
      'data-integrity',
    ]);
    expect(failedChecks(checks)).toEqual([]);
  });

  it('accepts mount targets in the DR subnets', async () => {
    // Act
    const checks = await checkHealthOf(healthyFileSystem(), [
      mountTarget(config.RESTORE_SUBNET_IDS[0] ?? ''),
    ]);

    // Assess
    expect(failedChecks(checks)).toEqual([]);
  });

  it('fails the isolation check for a mount target outside the DR subnets', async () => {
    // Act
    const checks = await checkHealthOf(healthyFileSystem(), [mountTarget('subnet-0f00d0prod0000001')]);

    // Assess
    expect(failedChecks(checks)).toEqual(['isolated-network']);
  });

  it('fails the availability check for a file system in error', async () => {
    // Act
    const checks = await checkHealthOf(healthyFileSystem({ LifeCycleState: 'error' }));

    // Assess
    expect(failedChecks(checks)).toEqual(['resource-available']);
  });

  it('fails the encryption check for an unencrypted file system', async () => {
    // Act
    const checks = await checkHealthOf(healthyFileSystem({ Encrypted: false }));

    // Assess
    expect(failedChecks(checks)).toEqual(['encrypted']);
  });

  it('fails the tag check for a file system tagged for another drill', async () => {
    // Act
    const checks = await checkHealthOf(
      healthyFileSystem({ Tags: [{ Key: 'pilotlight:drill-id', Value: 'efs-20260101T0000-0000000000' }] }),
    );

    // Assess
    expect(failedChecks(checks)).toEqual(['tagged']);
  });

  it('fails the data check for a restore that brought no data back', async () => {
    // Act
    const checks = await checkHealthOf(healthyFileSystem({ SizeInBytes: { Value: 6144 } }));

    // Assess
    expect(failedChecks(checks)).toEqual(['data-integrity']);
  });

  it('fails the data check for a performance mode other than the backup’s', async () => {
    // Act
    const checks = await checkHealthOf(healthyFileSystem({ PerformanceMode: 'maxIO' }));

    // Assess
    expect(failedChecks(checks)).toEqual(['data-integrity']);
  });
});

describe('efs.tag and efs.readTags', () => {
  it('tags the file system with the EFS tagging API', async () => {
    // Prepare
    efsMock.on(TagResourceCommand).resolves({});

    // Act
    await efs.tag(drClients(), RESTORED_FILE_SYSTEM_ARN, { 'pilotlight:drill-id': DRILL_ID });

    // Assess
    expect(efsMock).toHaveReceivedCommandWith(TagResourceCommand, {
      ResourceId: FILE_SYSTEM_ID,
      Tags: [{ Key: 'pilotlight:drill-id', Value: DRILL_ID }],
    });
  });

  it('reads no tags for a file system that no longer exists', async () => {
    // Prepare
    efsMock.on(ListTagsForResourceCommand).rejects(notFound());

    // Act
    const tags = await efs.readTags(drClients(), RESTORED_FILE_SYSTEM_ARN);

    // Assess
    expect(tags).toBeUndefined();
  });
});

describe('efs.lifecycle', () => {
  it.each<[LifeCycleState, MountTargetDescription[], string]>([
    ['available', [], 'present'],
    ['available', [mountTarget('subnet-0a1b2c3d4e5f60711')], 'present'],
    ['available', [mountTarget('subnet-0a1b2c3d4e5f60711', { LifeCycleState: 'deleting' })], 'deleting'],
    ['deleting', [], 'deleting'],
  ])('a file system %s with mount targets %j is %s', async (state, targets, expected) => {
    // Prepare
    efsMock
      .on(DescribeFileSystemsCommand)
      .resolves({ FileSystems: [healthyFileSystem({ LifeCycleState: state })] });
    efsMock.on(DescribeMountTargetsCommand).resolves({ MountTargets: targets });

    // Act
    const lifecycle = await efs.lifecycle(drClients(), RESTORED_FILE_SYSTEM_ARN);

    // Assess
    expect(lifecycle).toBe(expected);
  });

  it('is gone when EFS answers FileSystemNotFound', async () => {
    // Prepare
    efsMock.on(DescribeFileSystemsCommand).rejects(notFound());

    // Act
    const lifecycle = await efs.lifecycle(drClients(), RESTORED_FILE_SYSTEM_ARN);

    // Assess
    expect(lifecycle).toBe('gone');
  });
});

describe('efs.delete', () => {
  it('deletes a file system without mount targets', async () => {
    // Prepare
    efsMock.on(DescribeMountTargetsCommand).resolves({ MountTargets: [] });
    efsMock.on(DeleteFileSystemCommand).resolves({});

    // Act
    const result = await efs.delete(drClients(), RESTORED_FILE_SYSTEM_ARN);

    // Assess
    expect(result).toEqual({ status: 'deleted', deleted: [RESTORED_FILE_SYSTEM_ARN] });
    expect(efsMock).toHaveReceivedCommandWith(DeleteFileSystemCommand, { FileSystemId: FILE_SYSTEM_ID });
  });

  it('deletes the mount targets first and leaves the file system for the next call', async () => {
    // Prepare
    efsMock.on(DescribeMountTargetsCommand).resolves({
      MountTargets: [
        mountTarget('subnet-0a1b2c3d4e5f60711', { MountTargetId: 'fsmt-0aaaaaaaa' }),
        mountTarget('subnet-0a1b2c3d4e5f60722', {
          MountTargetId: 'fsmt-0bbbbbbbb',
          LifeCycleState: 'deleting',
        }),
      ],
    });
    efsMock.on(DeleteMountTargetCommand).resolves({});

    // Act
    const result = await efs.delete(drClients(), RESTORED_FILE_SYSTEM_ARN);

    // Assess
    expect(result).toEqual({ status: 'deleted', deleted: ['fsmt-0aaaaaaaa'] });
    expect(efsMock).toHaveReceivedCommandTimes(DeleteMountTargetCommand, 1);
    expect(efsMock).not.toHaveReceivedCommand(DeleteFileSystemCommand);
  });

  it('reports already-gone when EFS answers FileSystemNotFound', async () => {
    // Prepare
    efsMock.on(DescribeMountTargetsCommand).rejects(notFound());

    // Act
    const result = await efs.delete(drClients(), RESTORED_FILE_SYSTEM_ARN);

    // Assess
    expect(result).toEqual({ status: 'already-gone', deleted: [] });
  });

  it('rethrows FileSystemInUse', async () => {
    // Prepare
    efsMock.on(DescribeMountTargetsCommand).resolves({ MountTargets: [] });
    efsMock
      .on(DeleteFileSystemCommand)
      .rejects(
        new FileSystemInUse({ message: 'has mount targets', $metadata: {}, ErrorCode: 'FileSystemInUse' }),
      );

    // Act
    const deleting = efs.delete(drClients(), RESTORED_FILE_SYSTEM_ARN);

    // Assess
    await expect(deleting).rejects.toBeInstanceOf(FileSystemInUse);
  });
});
