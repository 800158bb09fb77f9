import { BackupClient, ListRestoreJobsCommand } from '@aws-sdk/client-backup';
import {
  DeleteVolumeCommand,
  DescribeVolumesCommand,
  EC2Client,
  EC2ServiceException,
  type VolumeState,
} from '@aws-sdk/client-ec2';
import {
  AddTagsToResourceCommand,
  DBInstanceNotFoundFault,
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  ListTagsForResourceCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import {
  GetResourcesCommand,
  ResourceGroupsTaggingAPIClient,
} from '@aws-sdk/client-resource-groups-tagging-api';
import { DescribeExecutionCommand, ExecutionDoesNotExist, SFNClient } from '@aws-sdk/client-sfn';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { drClients } from '../../functions/lib/clients.js';
import { config } from '../../functions/lib/config.js';
import { ebs } from '../../functions/resources/ebs.js';
import { taggingTypes } from '../../functions/resources/index.js';
import { rds } from '../../functions/resources/rds.js';
import { sweepOrphans } from '../../functions/sweep-orphans.js';
import {
  DRILL_ID,
  dynamo,
  pendingJob,
  RESTORED_DB_ARN,
  RESTORED_VOLUME_ARN,
  restoredDbInstance,
} from './support.js';

const tagging = mockClient(ResourceGroupsTaggingAPIClient);
const sfn = mockClient(SFNClient);
const rdsMock = mockClient(RDSClient);
const ec2 = mockClient(EC2Client);
const backup = mockClient(BackupClient);

const EXECUTIONS = config.DRILL_STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:');
const VOLUME_DRILL = 'ebs-20260105T0157-0a0a0a0a0a';

function mapping(arn: string, drillId: string, mode = 'drill') {
  return {
    ResourceARN: arn,
    Tags: [
      { Key: 'pilotlight:drill-id', Value: drillId },
      { Key: 'pilotlight:managed', Value: 'true' },
      { Key: 'pilotlight:mode', Value: mode },
      { Key: 'pilotlight:owner', Value: config.DRILL_STATE_MACHINE_ARN },
    ],
  };
}

function execution(drillId: string, status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'ABORTED') {
  sfn.on(DescribeExecutionCommand, { executionArn: `${EXECUTIONS}:${drillId}` }).resolves({
    executionArn: `${EXECUTIONS}:${drillId}`,
    stateMachineArn: config.DRILL_STATE_MACHINE_ARN,
    status,
    startDate: new Date('2026-01-05T02:00:00Z'),
  });
}

function volumeState(state: VolumeState) {
  ec2.on(DescribeVolumesCommand).resolves({ Volumes: [{ VolumeId: 'vol-0123456789abcdef0', State: state }] });
}

beforeEach(() => {
  tagging.reset();
  backup.reset();
  dynamo.reset();
  backup.on(ListRestoreJobsCommand).resolves({ RestoreJobs: [] });
  sfn.reset();
  rdsMock.reset();
  ec2.reset();
  rdsMock.on(DescribeDBInstancesCommand).resolves({ DBInstances: [restoredDbInstance()] });
  rdsMock.on(DeleteDBInstanceCommand).resolves({});
  ec2.on(DeleteVolumeCommand).resolves({});
  volumeState('available');
});

describe('sweepOrphans', () => {
  it("asks the Tagging API for this deployment's resources of every supported type", async () => {
    tagging.on(GetResourcesCommand).resolves({ ResourceTagMappingList: [] });

    const result = await sweepOrphans();

    expect(result).toEqual({ checked: 0, inUse: 0, failover: 0, orphans: [], unchecked: [], untagged: [] });
    expect(tagging).toHaveReceivedCommandWith(GetResourcesCommand, {
      TagFilters: [
        { Key: 'pilotlight:managed', Values: ['true'] },
        { Key: 'pilotlight:owner', Values: [config.DRILL_STATE_MACHINE_ARN] },
      ],
      ResourceTypeFilters: [...taggingTypes],
    });
    expect(taggingTypes).toEqual(expect.arrayContaining(['rds:db', 'ec2:volume', 'rds:cluster']));
  });

  it('deletes resources whose drill ended, on every page, and leaves running drills and failovers', async () => {
    tagging
      .on(GetResourcesCommand)
      .resolvesOnce({
        ResourceTagMappingList: [
          mapping(RESTORED_DB_ARN, DRILL_ID),
          mapping('arn:aws:rds:us-west-2:333333333333:db:pl-failover-orders', 'failover-orders', 'failover'),
        ],
        PaginationToken: 'page-2',
      })
      .resolvesOnce({
        ResourceTagMappingList: [mapping(RESTORED_VOLUME_ARN, VOLUME_DRILL)],
        PaginationToken: '',
      });
    execution(DRILL_ID, 'FAILED');
    execution(VOLUME_DRILL, 'RUNNING');

    const result = await sweepOrphans();

    expect(result).toEqual({
      checked: 3,
      inUse: 1,
      failover: 1,
      orphans: [{ resourceArn: RESTORED_DB_ARN, drillId: DRILL_ID, drill: 'FAILED', action: 'deleted' }],
      unchecked: [],
      untagged: [],
    });
    expect(tagging).toHaveReceivedCommandTimes(GetResourcesCommand, 2);
    expect(tagging).toHaveReceivedNthCommandWith(GetResourcesCommand, 2, { PaginationToken: 'page-2' });
    expect(rdsMock).toHaveReceivedCommandTimes(DeleteDBInstanceCommand, 1);
    expect(rdsMock).toHaveReceivedCommandWith(DeleteDBInstanceCommand, {
      DBInstanceIdentifier: 'pl-rds-20260105t0157-5b0c1f2e9a',
      SkipFinalSnapshot: true,
    });
    expect(ec2).not.toHaveReceivedCommand(DeleteVolumeCommand);
  });

  it('treats a resource whose execution does not exist (purged, or stopped long ago) as an orphan', async () => {
    tagging
      .on(GetResourcesCommand)
      .resolves({ ResourceTagMappingList: [mapping(RESTORED_VOLUME_ARN, VOLUME_DRILL)] });
    sfn
      .on(DescribeExecutionCommand)
      .rejects(new ExecutionDoesNotExist({ $metadata: {}, message: 'Execution Does Not Exist' }));

    const result = await sweepOrphans();

    expect(result.orphans).toEqual([
      { resourceArn: RESTORED_VOLUME_ARN, drillId: VOLUME_DRILL, drill: 'NOT_FOUND', action: 'deleted' },
    ]);
    expect(ec2).toHaveReceivedCommandWith(DeleteVolumeCommand, { VolumeId: 'vol-0123456789abcdef0' });
  });

  it('does not count resources that are already being deleted or gone (the Tagging API lags)', async () => {
    tagging.on(GetResourcesCommand).resolves({
      ResourceTagMappingList: [
        mapping(RESTORED_DB_ARN, DRILL_ID),
        mapping(RESTORED_VOLUME_ARN, VOLUME_DRILL),
      ],
    });
    execution(DRILL_ID, 'SUCCEEDED');
    execution(VOLUME_DRILL, 'SUCCEEDED');
    rdsMock
      .on(DescribeDBInstancesCommand)
      .rejects(new DBInstanceNotFoundFault({ $metadata: {}, message: 'DBInstance not found' }));
    volumeState('deleting');

    const result = await sweepOrphans();

    expect(result).toEqual({ checked: 2, inUse: 0, failover: 0, orphans: [], unchecked: [], untagged: [] });
    expect(rdsMock).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
    expect(ec2).not.toHaveReceivedCommand(DeleteVolumeCommand);
  });

  it('reports an orphan it could not delete and goes on with the others', async () => {
    tagging.on(GetResourcesCommand).resolves({
      ResourceTagMappingList: [
        mapping(RESTORED_DB_ARN, DRILL_ID),
        mapping(RESTORED_VOLUME_ARN, VOLUME_DRILL),
      ],
    });
    execution(DRILL_ID, 'ABORTED');
    execution(VOLUME_DRILL, 'FAILED');
    rdsMock
      .on(DeleteDBInstanceCommand)
      .rejects(
        Object.assign(new Error('DB instance is being modified'), { name: 'InvalidDBInstanceStateFault' }),
      );

    const result = await sweepOrphans();

    expect(result.orphans).toEqual([
      {
        resourceArn: RESTORED_DB_ARN,
        drillId: DRILL_ID,
        drill: 'ABORTED',
        action: 'delete-failed',
        error: 'InvalidDBInstanceStateFault: DB instance is being modified',
      },
      { resourceArn: RESTORED_VOLUME_ARN, drillId: VOLUME_DRILL, drill: 'FAILED', action: 'deleted' },
    ]);
  });

  it('never deletes outside the DR account or a resource without a drill id', async () => {
    const elsewhere = mapping('arn:aws:rds:us-west-2:111111111111:db:orders-db-1', DRILL_ID);
    const untagged = {
      ResourceARN: RESTORED_VOLUME_ARN,
      Tags: [{ Key: 'pilotlight:managed', Value: 'true' }],
    };
    tagging.on(GetResourcesCommand).resolves({ ResourceTagMappingList: [elsewhere, untagged] });
    execution(DRILL_ID, 'FAILED');

    const result = await sweepOrphans();

    expect(result).toEqual({ checked: 0, inUse: 0, failover: 0, orphans: [], unchecked: [], untagged: [] });
    expect(rdsMock).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
    expect(ec2).not.toHaveReceivedCommand(DeleteVolumeCommand);
  });

  it('deletes nothing it cannot check, sweeps the rest, then fails the invocation', async () => {
    tagging.on(GetResourcesCommand).resolves({
      ResourceTagMappingList: [
        mapping(RESTORED_DB_ARN, DRILL_ID),
        mapping(RESTORED_VOLUME_ARN, VOLUME_DRILL),
      ],
    });
    sfn
      .on(DescribeExecutionCommand, { executionArn: `${EXECUTIONS}:${DRILL_ID}` })
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    execution(VOLUME_DRILL, 'FAILED');

    await expect(sweepOrphans()).rejects.toThrow(`could not check ${RESTORED_DB_ARN}`);
    expect(rdsMock).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
    expect(ec2).toHaveReceivedCommandWith(DeleteVolumeCommand, { VolumeId: 'vol-0123456789abcdef0' });
  });
});

describe('lifecycle of restored resources', () => {
  it.each([
    ['available', 'present'],
    ['backing-up', 'present'],
    ['deleting', 'deleting'],
  ])('reads an RDS instance in status %s as %s', async (status, expected) => {
    rdsMock
      .on(DescribeDBInstancesCommand)
      .resolves({ DBInstances: [restoredDbInstance({ DBInstanceStatus: status })] });
    await expect(rds.lifecycle(drClients(), RESTORED_DB_ARN)).resolves.toBe(expected);
  });

  it('reads a missing RDS instance as gone', async () => {
    rdsMock
      .on(DescribeDBInstancesCommand)
      .rejects(new DBInstanceNotFoundFault({ $metadata: {}, message: 'DBInstance not found' }));
    await expect(rds.lifecycle(drClients(), RESTORED_DB_ARN)).resolves.toBe('gone');
  });

  it.each<[VolumeState, string]>([
    ['available', 'present'],
    ['in-use', 'present'],
    ['deleting', 'deleting'],
    ['deleted', 'gone'],
  ])('reads an EBS volume in state %s as %s', async (state, expected) => {
    volumeState(state);
    await expect(ebs.lifecycle(drClients(), RESTORED_VOLUME_ARN)).resolves.toBe(expected);
  });

  it('reads a missing EBS volume as gone', async () => {
    ec2.on(DescribeVolumesCommand).rejects(
      new EC2ServiceException({
        name: 'InvalidVolume.NotFound',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
        message: "The volume 'vol-0123456789abcdef0' does not exist.",
      }),
    );
    await expect(ebs.lifecycle(drClients(), RESTORED_VOLUME_ARN)).resolves.toBe('gone');
  });
});

describe('sweepOrphans: restores whose tagging failed', () => {
  const RESTORE_ROLE = 'arn:aws:iam::333333333333:role/pilotlight-backup-restore';

  function restoreJob(jobId: string, createdResourceArn: string, iamRoleArn = RESTORE_ROLE) {
    return {
      RestoreJobId: jobId,
      Status: 'COMPLETED' as const,
      CreatedResourceArn: createdResourceArn,
      IamRoleArn: iamRoleArn,
    };
  }

  beforeEach(() => {
    tagging.on(GetResourcesCommand).resolves({ ResourceTagMappingList: [] });
    rdsMock.on(ListTagsForResourceCommand).resolves({ TagList: [] });
    rdsMock.on(AddTagsToResourceCommand).resolves({});
  });

  it('tags and deletes an untagged restore of an ended drill, found through its restore job', async () => {
    backup.on(ListRestoreJobsCommand).resolves({ RestoreJobs: [restoreJob('job-1', RESTORED_DB_ARN)] });
    dynamo.on(GetCommand, { Key: { pk: 'JOB#job-1' } }).resolves({ Item: pendingJob({ jobId: 'job-1' }) });
    execution(DRILL_ID, 'FAILED');

    const result = await sweepOrphans();

    expect(result.untagged).toEqual([
      { resourceArn: RESTORED_DB_ARN, drillId: DRILL_ID, drill: 'FAILED', action: 'deleted' },
    ]);
    expect(rdsMock).toHaveReceivedCommandWith(AddTagsToResourceCommand, { ResourceName: RESTORED_DB_ARN });
    expect(rdsMock).toHaveReceivedCommand(DeleteDBInstanceCommand);
  });

  it.each([
    ['a restore job no drill of this deployment recorded', undefined, 'FAILED', RESTORE_ROLE],
    ['a failover restore', pendingJob({ jobId: 'job-1', mode: 'failover' }), 'SUCCEEDED', RESTORE_ROLE],
    ['a restore whose drill still runs', pendingJob({ jobId: 'job-1' }), 'RUNNING', RESTORE_ROLE],
    [
      'a restore made with another role',
      pendingJob({ jobId: 'job-1' }),
      'FAILED',
      'arn:aws:iam::333333333333:role/ops',
    ],
  ] as const)('never touches %s', async (_name, record, status, role) => {
    backup.on(ListRestoreJobsCommand).resolves({ RestoreJobs: [restoreJob('job-1', RESTORED_DB_ARN, role)] });
    dynamo.on(GetCommand, { Key: { pk: 'JOB#job-1' } }).resolves({ Item: record });
    execution(DRILL_ID, status);

    const result = await sweepOrphans();

    expect(result.untagged).toEqual([]);
    expect(rdsMock).not.toHaveReceivedCommand(AddTagsToResourceCommand);
    expect(rdsMock).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
  });
});
