import {
  CreateTagsCommand,
  DescribeInstancesCommand,
  DescribeVolumesCommand,
  EC2Client,
  EC2ServiceException,
  type Instance,
  type InstanceStateName,
  TerminateInstancesCommand,
  type Volume,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { drClients } from '../../functions/lib/clients.js';
import { config } from '../../functions/lib/config.js';
import { ResourceNotReady } from '../../functions/lib/errors.js';
import { ec2 } from '../../functions/resources/ec2.js';
import { DRILL_ID, rdsDrill } from './support.js';

const ec2Mock = mockClient(EC2Client);

const INSTANCE_ID = 'i-0123456789abcdef0';
const RESTORED_INSTANCE_ARN = `arn:aws:ec2:us-west-2:333333333333:instance/${INSTANCE_ID}`;
const DR_SUBNET = 'subnet-0a1b2c3d4e5f60711';
const DR_GROUP = 'sg-0a1b2c3d4e5f60718';

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
  InstanceType: 'm6i.large',
  SubnetId: 'subnet-0f00d0prod0000001',
  SecurityGroupIds: '["sg-0f00d0prod0000002"]',
  NetworkInterfaces:
    '[{"DeviceIndex":0,"SubnetId":"subnet-0f00d0prod0000001","Groups":["sg-0f00d0prod0000002"],"AssociatePublicIpAddress":true}]',
  Placement: '{"AvailabilityZone":"us-east-2a","Tenancy":"default"}',
  KeyName: 'prod-ops',
  IamInstanceProfileName: 'prod-app-instance-profile',
  DisableApiTermination: 'true',
  DisableApiStop: 'true',
  RequireIMDSv2: 'false',
  EbsOptimized: 'true',
  BlockDeviceMappings: JSON.stringify([
    {
      DeviceName: '/dev/xvda',
      Ebs: {
        VolumeSize: 30,
        Encrypted: true,
        DeleteOnTermination: true,
        KmsKeyId: 'arn:aws:kms:us-east-2:111111111111:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b',
      },
    },
    { DeviceName: '/dev/sdf', Ebs: { VolumeSize: 100, Encrypted: false, DeleteOnTermination: false } },
  ]),
};

function healthyInstance(overrides: Partial<Instance> = {}): Instance {
  return {
    InstanceId: INSTANCE_ID,
    InstanceType: 'm6i.large',
    State: { Name: 'running', Code: 16 },
    SubnetId: DR_SUBNET,
    SecurityGroups: [{ GroupId: DR_GROUP }],
    Tags: [{ Key: 'pilotlight:drill-id', Value: DRILL_ID }],
    ...overrides,
  };
}

function attachedVolume(id: string, size: number, overrides: Partial<Volume> = {}): Volume {
  return {
    VolumeId: id,
    Size: size,
    State: 'in-use',
    Encrypted: true,
    Attachments: [{ InstanceId: INSTANCE_ID, State: 'attached', DeleteOnTermination: true }],
    ...overrides,
  };
}

const HEALTHY_VOLUMES = [
  attachedVolume('vol-0aaaaaaaaaaaaaaa1', 30),
  attachedVolume('vol-0aaaaaaaaaaaaaaa2', 100),
];

function failedChecks(checks: { name: string; passed: boolean }[]): string[] {
  return checks.filter((check) => !check.passed).map((check) => check.name);
}

async function checkHealthOf(instance: Instance, volumes: Volume[] = HEALTHY_VOLUMES) {
  ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [instance] }] });
  ec2Mock.on(DescribeVolumesCommand).resolves({ Volumes: volumes });
  return ec2.checkHealth({
    clients: drClients(),
    resourceArn: RESTORED_INSTANCE_ARN,
    expected: SOURCE_METADATA,
    drill: rdsDrill(),
    config,
  });
}

beforeEach(() => {
  ec2Mock.reset();
});

describe('ec2.restoreMetadata', () => {
  it('launches into the DR subnet and security groups, with no public IP, key pair or instance profile', () => {
    // Prepare
    const drill = rdsDrill();

    // Act
    const metadata = ec2.restoreMetadata(SOURCE_METADATA, drill, config);

    // Assess
    expect(metadata.SubnetId).toBe(config.RESTORE_SUBNET_IDS[0]);
    expect(JSON.parse(metadata.SecurityGroupIds ?? '')).toEqual(config.RESTORE_SECURITY_GROUP_IDS);
    // The production ENI layout (with its public IP) and the source AZ do not follow the restore.
    expect(metadata).not.toHaveProperty('NetworkInterfaces');
    expect(metadata).not.toHaveProperty('Placement');
    expect(metadata).not.toHaveProperty('KeyName');
    expect(metadata).not.toHaveProperty('IamInstanceProfileName');
    expect(metadata.InstanceType).toBe('m6i.large');
  });

  it('turns termination and stop protection off and requires IMDSv2', () => {
    // Act
    const metadata = ec2.restoreMetadata(SOURCE_METADATA, rdsDrill(), config);

    // Assess
    expect(metadata.DisableApiTermination).toBe('false');
    expect(metadata.DisableApiStop).toBe('false');
    expect(metadata.RequireIMDSv2).toBe('true');
  });

  it('encrypts every volume with the DR account key and deletes it with the instance', () => {
    // Act
    const metadata = ec2.restoreMetadata(SOURCE_METADATA, rdsDrill(), config);

    // Assess
    expect(JSON.parse(metadata.BlockDeviceMappings ?? '')).toEqual([
      { DeviceName: '/dev/xvda', Ebs: { VolumeSize: 30, Encrypted: true, DeleteOnTermination: true } },
      { DeviceName: '/dev/sdf', Ebs: { VolumeSize: 100, Encrypted: true, DeleteOnTermination: true } },
    ]);
  });
});

describe('ec2.checkHealth', () => {
  it('throws ResourceNotReady while the instance is pending', async () => {
    // Act
    const checking = checkHealthOf(healthyInstance({ State: { Name: 'pending', Code: 0 } }));

    // Assess
    await expect(checking).rejects.toBeInstanceOf(ResourceNotReady);
  });

  it('passes every check for a running, isolated, encrypted, tagged instance with the backed-up volumes', async () => {
    // Act
    const checks = await checkHealthOf(healthyInstance());

    // Assess
    expect(checks.map((check) => check.name)).toEqual([
      'resource-available',
      'isolated-network',
      'encrypted',
      'tagged',
      'data-integrity',
    ]);
    expect(failedChecks(checks)).toEqual([]);
    expect(ec2Mock).toHaveReceivedCommandWith(DescribeVolumesCommand, {
      Filters: [{ Name: 'attachment.instance-id', Values: [INSTANCE_ID] }],
    });
  });

  it('fails the availability check for an instance that stopped', async () => {
    // Act
    const checks = await checkHealthOf(healthyInstance({ State: { Name: 'stopped', Code: 80 } }));

    // Assess
    expect(failedChecks(checks)).toEqual(['resource-available']);
  });

  it.each<[string, Partial<Instance>]>([
    ['a public IP', { PublicIpAddress: '3.4.5.6' }],
    ['a subnet outside the DR VPC', { SubnetId: 'subnet-0f00d0prod0000001' }],
    ['a security group that is not a drill group', { SecurityGroups: [{ GroupId: 'sg-0f00d0prod0000002' }] }],
    ['a key pair', { KeyName: 'prod-ops' }],
    ['an instance profile', { IamInstanceProfile: { Arn: 'arn:aws:iam::333333333333:instance-profile/p' } }],
  ])('fails the isolation check for an instance with %s', async (_what, overrides) => {
    // Act
    const checks = await checkHealthOf(healthyInstance(overrides));

    // Assess
    expect(failedChecks(checks)).toEqual(['isolated-network']);
  });

  it('fails the encryption check when an attached volume is not encrypted', async () => {
    // Prepare
    const volumes = [
      attachedVolume('vol-0aaaaaaaaaaaaaaa1', 30),
      attachedVolume('vol-0aaaaaaaaaaaaaaa2', 100, { Encrypted: false }),
    ];

    // Act
    const checks = await checkHealthOf(healthyInstance(), volumes);

    // Assess
    expect(failedChecks(checks)).toEqual(['encrypted']);
  });

  it('fails the tag check for an instance tagged for another drill', async () => {
    // Act
    const checks = await checkHealthOf(
      healthyInstance({ Tags: [{ Key: 'pilotlight:drill-id', Value: 'ec2-20260101T0000-0000000000' }] }),
    );

    // Assess
    expect(failedChecks(checks)).toEqual(['tagged']);
  });

  it('fails the data check when a volume comes back smaller than it was backed up', async () => {
    // Prepare
    const volumes = [
      attachedVolume('vol-0aaaaaaaaaaaaaaa1', 30),
      attachedVolume('vol-0aaaaaaaaaaaaaaa2', 92),
    ];

    // Act
    const checks = await checkHealthOf(healthyInstance(), volumes);

    // Assess
    expect(failedChecks(checks)).toEqual(['data-integrity']);
  });
});

describe('ec2.tag and ec2.readTags', () => {
  it('tags the instance by its id', async () => {
    // Prepare
    ec2Mock.on(CreateTagsCommand).resolves({});

    // Act
    await ec2.tag(drClients(), RESTORED_INSTANCE_ARN, { 'pilotlight:drill-id': DRILL_ID });

    // Assess
    expect(ec2Mock).toHaveReceivedCommandWith(CreateTagsCommand, {
      Resources: [INSTANCE_ID],
      Tags: [{ Key: 'pilotlight:drill-id', Value: DRILL_ID }],
    });
  });

  it('reads no tags for an instance EC2 no longer knows', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).rejects(ec2Error('InvalidInstanceID.NotFound', 'gone'));

    // Act
    const tags = await ec2.readTags(drClients(), RESTORED_INSTANCE_ARN);

    // Assess
    expect(tags).toBeUndefined();
  });
});

describe('ec2.lifecycle', () => {
  it.each<[InstanceStateName, Volume[], string]>([
    ['running', [], 'present'],
    ['stopped', [], 'present'],
    ['shutting-down', HEALTHY_VOLUMES, 'deleting'],
    ['terminated', [attachedVolume('vol-0aaaaaaaaaaaaaaa1', 30, { State: 'deleting' })], 'deleting'],
    ['terminated', [], 'gone'],
  ])('an instance %s with attached volumes %j is %s', async (state, volumes, expected) => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [{ Instances: [healthyInstance({ State: { Name: state } })] }],
    });
    ec2Mock.on(DescribeVolumesCommand).resolves({ Volumes: volumes });

    // Act
    const lifecycle = await ec2.lifecycle(drClients(), RESTORED_INSTANCE_ARN);

    // Assess
    expect(lifecycle).toBe(expected);
  });

  it('is gone when EC2 no longer knows the instance and no volume of it is left', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).rejects(ec2Error('InvalidInstanceID.NotFound', 'gone'));
    ec2Mock.on(DescribeVolumesCommand).resolves({ Volumes: [] });

    // Act
    const lifecycle = await ec2.lifecycle(drClients(), RESTORED_INSTANCE_ARN);

    // Assess
    expect(lifecycle).toBe('gone');
  });
});

describe('ec2.delete', () => {
  it('terminates the instance and reports its volumes and the instance as deleted', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [healthyInstance()] }] });
    ec2Mock.on(DescribeVolumesCommand).resolves({ Volumes: HEALTHY_VOLUMES });
    ec2Mock.on(TerminateInstancesCommand).resolves({});

    // Act
    const result = await ec2.delete(drClients(), RESTORED_INSTANCE_ARN);

    // Assess
    expect(ec2Mock).toHaveReceivedCommandWith(TerminateInstancesCommand, { InstanceIds: [INSTANCE_ID] });
    expect(result).toEqual({
      status: 'deleted',
      deleted: [
        'arn:aws:ec2:us-west-2:333333333333:volume/vol-0aaaaaaaaaaaaaaa1',
        'arn:aws:ec2:us-west-2:333333333333:volume/vol-0aaaaaaaaaaaaaaa2',
        RESTORED_INSTANCE_ARN,
      ],
    });
  });

  it('reports already-gone for a terminated instance without terminating it again', async () => {
    // Prepare
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolves({ Reservations: [{ Instances: [healthyInstance({ State: { Name: 'terminated' } })] }] });

    // Act
    const result = await ec2.delete(drClients(), RESTORED_INSTANCE_ARN);

    // Assess
    expect(result).toEqual({ status: 'already-gone', deleted: [] });
    expect(ec2Mock).not.toHaveReceivedCommand(TerminateInstancesCommand);
  });

  it('reports already-gone when EC2 says InvalidInstanceID.NotFound', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).rejects(ec2Error('InvalidInstanceID.NotFound', 'gone'));

    // Act
    const result = await ec2.delete(drClients(), RESTORED_INSTANCE_ARN);

    // Assess
    expect(result.status).toBe('already-gone');
  });

  it('rethrows any other failure', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [healthyInstance()] }] });
    ec2Mock.on(DescribeVolumesCommand).resolves({ Volumes: [] });
    ec2Mock.on(TerminateInstancesCommand).rejects(ec2Error('IncorrectInstanceState', 'not now'));

    // Act
    const deleting = ec2.delete(drClients(), RESTORED_INSTANCE_ARN);

    // Assess
    await expect(deleting).rejects.toThrow('not now');
  });
});

describe('ec2.owns', () => {
  it('owns instance ARNs, not volumes or AMIs', () => {
    expect(ec2.owns(RESTORED_INSTANCE_ARN)).toBe(true);
    expect(ec2.owns('arn:aws:ec2:us-west-2:333333333333:volume/vol-0123456789abcdef0')).toBe(false);
    expect(ec2.owns('arn:aws:ec2:us-west-2::image/ami-0123456789abcdef0')).toBe(false);
  });
});
