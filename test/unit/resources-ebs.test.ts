import {
  CreateTagsCommand,
  DeleteVolumeCommand,
  DescribeVolumesCommand,
  EC2Client,
  EC2ServiceException,
  type Volume,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { drClients } from '../../functions/lib/clients.js';
import { config } from '../../functions/lib/config.js';
import { ResourceNotReady } from '../../functions/lib/errors.js';
import { ebs } from '../../functions/resources/ebs.js';
import { DRILL_ID, RESTORED_VOLUME_ARN, rdsDrill } from './support.js';

const ec2 = mockClient(EC2Client);

/** EC2 errors are not modeled as classes: the SDK raises a service exception named after the error code. */
function ec2Error(code: string, message: string): EC2ServiceException {
  return new EC2ServiceException({
    name: code,
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message,
  });
}

const SOURCE_METADATA: Record<string, string> = {
  availabilityZone: 'us-east-2b',
  encrypted: 'false',
  kmsKeyId: 'arn:aws:kms:us-east-2:111111111111:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b',
  volumeSize: '100',
  volumeType: 'gp3',
  iops: '3000',
};

function healthyVolume(overrides: Partial<Volume> = {}): Volume {
  return {
    VolumeId: 'vol-0123456789abcdef0',
    State: 'available',
    Encrypted: true,
    AvailabilityZone: 'us-west-2a',
    Attachments: [],
    Size: 100,
    SnapshotId: 'snap-0a1b2c3d4e5f60718',
    Tags: [{ Key: 'pilotlight:drill-id', Value: DRILL_ID }],
    ...overrides,
  };
}

function failedChecks(checks: { name: string; passed: boolean }[]): string[] {
  return checks.filter((check) => !check.passed).map((check) => check.name);
}

async function checkHealthOf(volume: Volume) {
  ec2.on(DescribeVolumesCommand).resolves({ Volumes: [volume] });
  return ebs.checkHealth({
    clients: drClients(),
    resourceArn: RESTORED_VOLUME_ARN,
    expected: { volumeSize: '100' },
    drill: rdsDrill(),
    config,
  });
}

beforeEach(() => {
  ec2.reset();
});

describe('ebs.restoreMetadata', () => {
  it('forces the DR availability zone and encryption and drops the source KMS key', () => {
    // Prepare
    const drill = rdsDrill();

    // Act
    const metadata = ebs.restoreMetadata(SOURCE_METADATA, drill, config);

    // Assess
    expect(metadata).toEqual({
      availabilityZone: 'us-west-2a',
      encrypted: 'true',
      volumeSize: '100',
      volumeType: 'gp3',
      iops: '3000',
    });
    expect(metadata).not.toHaveProperty('kmsKeyId');
  });
});

describe('ebs.checkHealth', () => {
  it('throws ResourceNotReady while the volume is creating', async () => {
    // Prepare
    const volume = healthyVolume({ State: 'creating' });

    // Act
    const checking = checkHealthOf(volume);

    // Assess
    await expect(checking).rejects.toBeInstanceOf(ResourceNotReady);
  });

  it('passes every check for an available, encrypted, unattached, tagged volume of the backed-up size', async () => {
    // Prepare
    const volume = healthyVolume();

    // Act
    const checks = await checkHealthOf(volume);

    // Assess
    expect(checks.map((check) => check.name)).toEqual([
      'resource-available',
      'encrypted',
      'isolated-network',
      'tagged',
      'data-integrity',
    ]);
    expect(failedChecks(checks)).toEqual([]);
    expect(ec2).toHaveReceivedCommandWith(DescribeVolumesCommand, { VolumeIds: ['vol-0123456789abcdef0'] });
  });

  it('fails the isolation check for a volume attached to an instance', async () => {
    // Prepare
    const volume = healthyVolume({
      State: 'in-use',
      Attachments: [{ InstanceId: 'i-0123456789abcdef0', State: 'attached' }],
    });

    // Act
    const checks = await checkHealthOf(volume);

    // Assess
    expect(failedChecks(checks)).toEqual(['resource-available', 'isolated-network']);
  });

  it('fails the isolation check for a volume outside the DR availability zone', async () => {
    // Prepare
    const volume = healthyVolume({ AvailabilityZone: 'us-west-2c' });

    // Act
    const checks = await checkHealthOf(volume);

    // Assess
    expect(failedChecks(checks)).toEqual(['isolated-network']);
  });

  it('fails the encryption check for an unencrypted volume', async () => {
    // Prepare
    const volume = healthyVolume({ Encrypted: false });

    // Act
    const checks = await checkHealthOf(volume);

    // Assess
    expect(failedChecks(checks)).toEqual(['encrypted']);
  });

  it('fails the tag check for a volume tagged for another drill', async () => {
    // Prepare
    const volume = healthyVolume({
      Tags: [{ Key: 'pilotlight:drill-id', Value: 'ebs-20260101T0000-0000000000' }],
    });

    // Act
    const checks = await checkHealthOf(volume);

    // Assess
    expect(failedChecks(checks)).toEqual(['tagged']);
  });

  it('fails the data check when the restored size differs from the backup', async () => {
    // Prepare
    const volume = healthyVolume({ Size: 8 });

    // Act
    const checks = await checkHealthOf(volume);

    // Assess
    expect(failedChecks(checks)).toEqual(['data-integrity']);
  });

  it('reports a single failed existence check when no volume is described', async () => {
    // Prepare
    ec2.on(DescribeVolumesCommand).resolves({ Volumes: [] });

    // Act
    const checks = await ebs.checkHealth({
      clients: drClients(),
      resourceArn: RESTORED_VOLUME_ARN,
      expected: {},
      drill: rdsDrill(),
      config,
    });

    // Assess
    expect(checks).toEqual([
      { name: 'resource-exists', passed: false, detail: 'volume vol-0123456789abcdef0 not found' },
    ]);
  });
});

describe('ebs.tag and ebs.readTags', () => {
  it('tags the volume by its id', async () => {
    // Prepare
    ec2.on(CreateTagsCommand).resolves({});

    // Act
    await ebs.tag(drClients(), RESTORED_VOLUME_ARN, { 'pilotlight:drill-id': DRILL_ID });

    // Assess
    expect(ec2).toHaveReceivedCommandWith(CreateTagsCommand, {
      Resources: ['vol-0123456789abcdef0'],
      Tags: [{ Key: 'pilotlight:drill-id', Value: DRILL_ID }],
    });
  });

  it('reads no tags for a volume that no longer exists', async () => {
    // Prepare
    ec2
      .on(DescribeVolumesCommand)
      .rejects(ec2Error('InvalidVolume.NotFound', "The volume 'vol-0123' does not exist."));

    // Act
    const tags = await ebs.readTags(drClients(), RESTORED_VOLUME_ARN);

    // Assess
    expect(tags).toBeUndefined();
  });
});

describe('ebs.delete', () => {
  it('deletes the volume and reports it deleted', async () => {
    // Prepare
    ec2.on(DeleteVolumeCommand).resolves({});

    // Act
    const result = await ebs.delete(drClients(), RESTORED_VOLUME_ARN);

    // Assess
    expect(result.status).toBe('deleted');
    expect(ec2).toHaveReceivedCommandWith(DeleteVolumeCommand, { VolumeId: 'vol-0123456789abcdef0' });
  });

  it('reports already-gone when EC2 says InvalidVolume.NotFound', async () => {
    // Prepare
    ec2
      .on(DeleteVolumeCommand)
      .rejects(ec2Error('InvalidVolume.NotFound', "The volume 'vol-0123' does not exist."));

    // Act
    const result = await ebs.delete(drClients(), RESTORED_VOLUME_ARN);

    // Assess
    expect(result.status).toBe('already-gone');
  });

  it('rethrows any other delete failure', async () => {
    // Prepare
    ec2.on(DeleteVolumeCommand).rejects(ec2Error('VolumeInUse', 'vol-0123 is currently attached to i-0123'));

    // Act
    const deleting = ebs.delete(drClients(), RESTORED_VOLUME_ARN);

    // Assess
    await expect(deleting).rejects.toThrow('currently attached');
  });
});
