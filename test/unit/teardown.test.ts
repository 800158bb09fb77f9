import { BackupClient, DescribeRestoreJobCommand, ListRestoreJobsCommand } from '@aws-sdk/client-backup';
import {
  AddTagsToResourceCommand,
  DBInstanceNotFoundFault,
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  InvalidDBInstanceStateFault,
  ListTagsForResourceCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { DrillState } from '../../functions/lib/drill.js';
import {
  ResourceStillDeleting,
  TeardownIncomplete,
  TeardownRefused,
  UnexpectedRecord,
} from '../../functions/lib/errors.js';
import { teardown } from '../../functions/teardown.js';
import {
  DR_RECOVERY_POINT_ARN,
  DRILL_ID,
  dynamo,
  happenedBefore,
  pendingJob,
  RESTORED_DB_ARN,
  rdsDrill,
  succeededState,
} from './support.js';

const backup = mockClient(BackupClient);
const rds = mockClient(RDSClient);

const RESTORE_JOB_ID = '1A2B3C4D-5E6F-4A7B-8C9D-0E1F2A3B4C5D';

/** A drill that failed while waiting on its restore: the state has no `restore` result. */
function stateWithoutRestore(): DrillState {
  return {
    executionName: DRILL_ID,
    state: { drill: rdsDrill(), error: { Error: 'States.Timeout', Cause: 'restore took too long' } },
  };
}

function taggedFor(drillId: string) {
  return {
    TagList: [
      { Key: 'pilotlight:drill-id', Value: drillId },
      { Key: 'pilotlight:managed', Value: 'true' },
    ],
  };
}

const RESTORE_ROLE_ARN = 'arn:aws:iam::333333333333:role/pilotlight-backup-restore';
const UPDATED_AT = '2026-01-05T02:41:31.000Z';

/** The drill record as start-restore leaves it (intent, then the job id when StartRestoreJob answered). */
function drillRecord(fields: Record<string, unknown>) {
  return {
    Item: {
      pk: `DRILL#${DRILL_ID}`,
      drillId: DRILL_ID,
      updatedAt: UPDATED_AT,
      // Teardown records what it deleted; the static mock answers as after the delete.
      deletedResourceArn: RESTORED_DB_ARN,
      ...fields,
    },
  };
}

/** What DescribeDBInstances answers next, call by call ('gone' once the list is used up). */
let instanceStates: ('available' | 'deleting' | 'gone')[] = [];
function instanceIs(...states: ('available' | 'deleting' | 'gone')[]) {
  instanceStates = states;
}

beforeEach(() => {
  backup.reset();
  rds.reset();
  dynamo.reset();
  dynamo.on(GetCommand).resolves({});
  dynamo.on(PutCommand).resolves({});
  dynamo.on(UpdateCommand).resolves({});
  // What this teardown deleted, as the drill record remembers it for the attempt that sees it gone.
  dynamo
    .on(GetCommand, { Key: { pk: `DRILL#${DRILL_ID}` } })
    .resolves(drillRecord({ deletedResourceArn: RESTORED_DB_ARN }));
  // Present when teardown looks, gone once it has deleted it.
  instanceIs('available', 'gone');
  rds.on(DescribeDBInstancesCommand).callsFake(() => {
    const state = instanceStates.shift() ?? 'gone';
    if (state === 'gone') throw new DBInstanceNotFoundFault({ message: 'not found', $metadata: {} });
    return { DBInstances: [{ DBInstanceStatus: state }] };
  });
  rds.on(DeleteDBInstanceCommand).resolves({});
  rds.on(AddTagsToResourceCommand).resolves({});
  // The drill's restore job, the only source of what teardown may delete.
  backup.on(DescribeRestoreJobCommand, { RestoreJobId: RESTORE_JOB_ID }).resolves({
    RestoreJobId: RESTORE_JOB_ID,
    Status: 'COMPLETED',
    CreatedResourceArn: RESTORED_DB_ARN,
  });
});

describe('teardown', () => {
  it('deletes the restored instance when it carries this drill tag', async () => {
    // Prepare
    rds.on(ListTagsForResourceCommand, { ResourceName: RESTORED_DB_ARN }).resolves(taggedFor(DRILL_ID));

    // Act
    const result = await teardown(succeededState());

    // Assess
    expect(result.deleted).toEqual([RESTORED_DB_ARN]);
    expect(result.alreadyGone).toEqual([]);
    expect(Number.isNaN(Date.parse(result.completedAt))).toBe(false);
    expect(rds).toHaveReceivedCommandWith(DeleteDBInstanceCommand, {
      DBInstanceIdentifier: 'pl-rds-20260105t0157-5b0c1f2e9a',
    });
    expect(backup).toHaveReceivedCommandWith(DescribeRestoreJobCommand, { RestoreJobId: RESTORE_JOB_ID });
    expect(rds).not.toHaveReceivedCommand(AddTagsToResourceCommand);
  });

  it('tags, then deletes, an untagged instance that its own restore job created', async () => {
    // Prepare
    rds.on(ListTagsForResourceCommand).resolves({ TagList: [{ Key: 'team', Value: 'payments' }] });

    // Act
    const result = await teardown(succeededState());

    // Assess
    expect(result.deleted).toEqual([RESTORED_DB_ARN]);
    expect(rds).toHaveReceivedCommandWith(AddTagsToResourceCommand, {
      ResourceName: RESTORED_DB_ARN,
      Tags: expect.arrayContaining([
        { Key: 'pilotlight:drill-id', Value: DRILL_ID },
        { Key: 'pilotlight:managed', Value: 'true' },
      ]),
    });
    const tagged = rds.commandCalls(AddTagsToResourceCommand)[0];
    const deleted = rds.commandCalls(DeleteDBInstanceCommand)[0];
    expect(happenedBefore(tagged, deleted)).toBe(true);
  });

  it('acts on what the restore job created, not on the ARN the state names', async () => {
    // Prepare: the state names some other instance; the restore job says what the drill created.
    const otherArn = 'arn:aws:rds:us-west-2:333333333333:db:pilotlight-estate-db';
    const state = succeededState();
    const input: DrillState = {
      ...state,
      state: {
        ...state.state,
        restore: {
          restoreJobId: RESTORE_JOB_ID,
          createdResourceArn: otherArn,
          startedAt: '2026-01-05T02:41:30.000Z',
          completedAt: '2026-01-05T03:10:31.000Z',
        },
      },
    };
    rds.on(ListTagsForResourceCommand).resolves(taggedFor(DRILL_ID));

    // Act
    const result = await teardown(input);

    // Assess
    expect(result.deleted).toEqual([RESTORED_DB_ARN]);
    expect(rds).not.toHaveReceivedCommandWith(ListTagsForResourceCommand, { ResourceName: otherArn });
    expect(rds).toHaveReceivedCommandTimes(DeleteDBInstanceCommand, 1);
  });

  it("refuses to delete an instance that carries another drill's tag", async () => {
    // Prepare
    rds.on(ListTagsForResourceCommand).resolves(taggedFor('rds-20260104T0157-0123456789'));

    // Act
    const tearingDown = teardown(succeededState());

    // Assess
    await expect(tearingDown).rejects.toBeInstanceOf(TeardownRefused);
    await expect(tearingDown).rejects.toThrow(
      `${RESTORED_DB_ARN} carries pilotlight:drill-id=rds-20260104T0157-0123456789, not ${DRILL_ID}; refusing to delete it`,
    );
    expect(rds).not.toHaveReceivedCommand(AddTagsToResourceCommand);
    expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
  });

  it('refuses to touch a resource in an account other than the DR account, without reading it', async () => {
    // Prepare
    const productionArn = 'arn:aws:rds:us-east-2:111111111111:db:orders-db-1';
    backup
      .on(DescribeRestoreJobCommand, { RestoreJobId: RESTORE_JOB_ID })
      .resolves({ RestoreJobId: RESTORE_JOB_ID, Status: 'COMPLETED', CreatedResourceArn: productionArn });
    rds.on(ListTagsForResourceCommand).resolves(taggedFor(DRILL_ID));

    // Act
    const tearingDown = teardown(succeededState());

    // Assess
    await expect(tearingDown).rejects.toBeInstanceOf(TeardownRefused);
    await expect(tearingDown).rejects.toThrow('is not in the DR account 333333333333');
    expect(rds).not.toHaveReceivedCommand(ListTagsForResourceCommand);
    expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
  });

  it('reports TeardownIncomplete, naming the resource and the cause, when the delete fails', async () => {
    // Prepare
    rds.on(ListTagsForResourceCommand).resolves(taggedFor(DRILL_ID));
    rds
      .on(DeleteDBInstanceCommand)
      .rejects(
        new InvalidDBInstanceStateFault({ message: 'Instance is currently backing-up', $metadata: {} }),
      );

    // Act
    const tearingDown = teardown(succeededState());

    // Assess
    await expect(tearingDown).rejects.toBeInstanceOf(TeardownIncomplete);
    await expect(tearingDown).rejects.toThrow(
      `could not delete ${RESTORED_DB_ARN}: InvalidDBInstanceStateFault: Instance is currently backing-up`,
    );
  });

  it('reports an instance that no longer exists as already gone', async () => {
    // Prepare
    rds
      .on(ListTagsForResourceCommand)
      .rejects(new DBInstanceNotFoundFault({ message: 'DBInstance not found', $metadata: {} }));

    // Act
    const result = await teardown(succeededState());

    // Assess
    expect(result.deleted).toEqual([]);
    expect(result.alreadyGone).toEqual([RESTORED_DB_ARN]);
    expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
  });

  it('finds the restore job on the drill record when the state has no restore result, and asks it what it created', async () => {
    // Prepare: the record's createdResourceArn is not trusted on its own; the restore job is.
    dynamo
      .on(GetCommand, { Key: { pk: `DRILL#${DRILL_ID}` } })
      .resolves(drillRecord({ restoreJobId: RESTORE_JOB_ID, createdResourceArn: RESTORED_DB_ARN }));
    rds.on(ListTagsForResourceCommand, { ResourceName: RESTORED_DB_ARN }).resolves(taggedFor(DRILL_ID));

    // Act
    const result = await teardown(stateWithoutRestore());

    // Assess
    expect(result.deleted).toEqual([RESTORED_DB_ARN]);
    expect(backup).toHaveReceivedCommandExactlyOnceWith(DescribeRestoreJobCommand, {
      RestoreJobId: RESTORE_JOB_ID,
    });
    expect(backup).not.toHaveReceivedCommand(ListRestoreJobsCommand);
  });

  it('finds a restore job whose id was never recorded through ListRestoreJobs, by recovery point, role and time', async () => {
    // Prepare: start-restore wrote its intent, then StartRestoreJob answered and nothing else was written.
    const requestedAt = '2026-01-05T02:41:30.000Z';
    dynamo
      .on(GetCommand, { Key: { pk: `DRILL#${DRILL_ID}` } })
      .resolves(drillRecord({ restoreRequestedAt: requestedAt, drRecoveryPointArn: DR_RECOVERY_POINT_ARN }));
    backup.on(ListRestoreJobsCommand).resolves({
      RestoreJobs: [
        {
          RestoreJobId: 'other-point',
          RecoveryPointArn: `${DR_RECOVERY_POINT_ARN}-x`,
          IamRoleArn: RESTORE_ROLE_ARN,
        },
        {
          RestoreJobId: 'other-role',
          RecoveryPointArn: DR_RECOVERY_POINT_ARN,
          IamRoleArn: 'arn:aws:iam::333333333333:role/someone-else',
        },
        {
          RestoreJobId: RESTORE_JOB_ID,
          RecoveryPointArn: DR_RECOVERY_POINT_ARN,
          IamRoleArn: RESTORE_ROLE_ARN,
        },
      ],
    });
    rds.on(ListTagsForResourceCommand, { ResourceName: RESTORED_DB_ARN }).resolves(taggedFor(DRILL_ID));

    // Act
    const result = await teardown(stateWithoutRestore());

    // Assess
    expect(result.deleted).toEqual([RESTORED_DB_ARN]);
    expect(backup).toHaveReceivedCommandWith(ListRestoreJobsCommand, {
      ByAccountId: '333333333333',
      ByCreatedAfter: new Date('2026-01-05T02:40:30.000Z'),
    });
    expect(backup).toHaveReceivedCommandExactlyOnceWith(DescribeRestoreJobCommand, {
      RestoreJobId: RESTORE_JOB_ID,
    });
  });

  it('deletes nothing when ListRestoreJobs finds no restore job of this drill', async () => {
    // Prepare
    dynamo.on(GetCommand, { Key: { pk: `DRILL#${DRILL_ID}` } }).resolves(
      drillRecord({
        restoreRequestedAt: '2026-01-05T02:41:30.000Z',
        drRecoveryPointArn: DR_RECOVERY_POINT_ARN,
      }),
    );
    backup.on(ListRestoreJobsCommand).resolves({
      RestoreJobs: [
        {
          RestoreJobId: 'not-ours',
          RecoveryPointArn: `${DR_RECOVERY_POINT_ARN}-x`,
          IamRoleArn: RESTORE_ROLE_ARN,
        },
      ],
    });

    // Act
    const result = await teardown(stateWithoutRestore());

    // Assess
    expect(result).toEqual({ deleted: [], alreadyGone: [], completedAt: expect.any(String) });
    expect(backup).not.toHaveReceivedCommand(DescribeRestoreJobCommand);
    expect(rds).not.toHaveReceivedAnyCommand();
  });

  it('fails with UnexpectedRecord on a malformed drill record', async () => {
    // Prepare
    dynamo
      .on(GetCommand, { Key: { pk: `DRILL#${DRILL_ID}` } })
      .resolves({ Item: { drillId: DRILL_ID, restoreJobId: RESTORE_JOB_ID } });

    // Act
    const tearingDown = teardown(stateWithoutRestore());

    // Assess
    await expect(tearingDown).rejects.toBeInstanceOf(UnexpectedRecord);
    expect(rds).not.toHaveReceivedAnyCommand();
  });

  it('finds the restored instance through DescribeRestoreJob when only the restore job id is recorded', async () => {
    // Prepare
    dynamo
      .on(GetCommand, { Key: { pk: `DRILL#${DRILL_ID}` } })
      .resolves(drillRecord({ restoreJobId: RESTORE_JOB_ID, status: 'RUNNING' }));
    rds.on(ListTagsForResourceCommand, { ResourceName: RESTORED_DB_ARN }).resolves(taggedFor(DRILL_ID));

    // Act
    const result = await teardown(stateWithoutRestore());

    // Assess
    expect(result.deleted).toEqual([RESTORED_DB_ARN]);
    expect(result.pendingRestoreJobId).toBeUndefined();
  });

  it('reports the restore job as pending, and deletes nothing, while it is still running', async () => {
    // Prepare
    dynamo
      .on(GetCommand, { Key: { pk: `DRILL#${DRILL_ID}` } })
      .resolves(drillRecord({ restoreJobId: RESTORE_JOB_ID, status: 'RUNNING' }));
    backup.on(DescribeRestoreJobCommand).resolves({ RestoreJobId: RESTORE_JOB_ID, Status: 'RUNNING' });

    // Act
    const result = await teardown(stateWithoutRestore());

    // Assess
    expect(result.pendingRestoreJobId).toBe(RESTORE_JOB_ID);
    expect(result.deleted).toEqual([]);
    expect(result.alreadyGone).toEqual([]);
    expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
  });

  it("writes the running restore job's record when it is missing, so its completion deletes what it creates", async () => {
    // Prepare: no JOB# item (start-restore failed before rememberJob).
    dynamo
      .on(GetCommand, { Key: { pk: `DRILL#${DRILL_ID}` } })
      .resolves(drillRecord({ restoreJobId: RESTORE_JOB_ID }));
    backup.on(DescribeRestoreJobCommand).resolves({ RestoreJobId: RESTORE_JOB_ID, Status: 'PENDING' });

    // Act
    const result = await teardown(stateWithoutRestore());

    // Assess
    expect(result.pendingRestoreJobId).toBe(RESTORE_JOB_ID);
    expect(dynamo).toHaveReceivedCommandWith(GetCommand, { Key: { pk: `JOB#${RESTORE_JOB_ID}` } });
    expect(dynamo).toHaveReceivedCommandExactlyOnceWith(PutCommand, {
      Item: expect.objectContaining({
        pk: `JOB#${RESTORE_JOB_ID}`,
        kind: 'restore',
        drillId: DRILL_ID,
        taskToken: `ended:${DRILL_ID}`,
        account: '333333333333',
        region: 'us-west-2',
        status: 'PENDING',
      }),
    });
  });

  it("leaves the running restore job's record alone when it exists", async () => {
    // Prepare
    dynamo
      .on(GetCommand, { Key: { pk: `DRILL#${DRILL_ID}` } })
      .resolves(drillRecord({ restoreJobId: RESTORE_JOB_ID }));
    dynamo.on(GetCommand, { Key: { pk: `JOB#${RESTORE_JOB_ID}` } }).resolves({ Item: pendingJob() });
    backup.on(DescribeRestoreJobCommand).resolves({ RestoreJobId: RESTORE_JOB_ID, Status: 'RUNNING' });

    // Act
    const result = await teardown(stateWithoutRestore());

    // Assess
    expect(result.pendingRestoreJobId).toBe(RESTORE_JOB_ID);
    expect(dynamo).not.toHaveReceivedCommand(PutCommand);
  });

  it('deletes nothing when the drill never started a restore', async () => {
    // Prepare
    const input = stateWithoutRestore();

    // Act
    const result = await teardown(input);

    // Assess
    expect(result).toEqual({ deleted: [], alreadyGone: [], completedAt: expect.any(String) });
    expect(backup).not.toHaveReceivedCommand(DescribeRestoreJobCommand);
    expect(rds).not.toHaveReceivedAnyCommand();
  });

  it('does nothing when the drill failed before it was prepared', async () => {
    // Prepare
    const input: DrillState = { executionName: DRILL_ID, state: { error: { Error: 'InvalidDrillInput' } } };

    // Act
    const result = await teardown(input);

    // Assess
    expect(result.deleted).toEqual([]);
    expect(dynamo).not.toHaveReceivedAnyCommand();
    expect(rds).not.toHaveReceivedAnyCommand();
  });
});

describe('teardown waits until the resource is gone', () => {
  it('reports ResourceStillDeleting while the deletion it started runs, so its slot is not freed yet', async () => {
    rds.on(ListTagsForResourceCommand).resolves(taggedFor(DRILL_ID));
    instanceIs('available', 'deleting');

    await expect(teardown(succeededState())).rejects.toThrow(ResourceStillDeleting);
    expect(rds).toHaveReceivedCommandTimes(DeleteDBInstanceCommand, 1);
    expect(dynamo).toHaveReceivedCommandWith(UpdateCommand, {
      Key: { pk: `DRILL#${DRILL_ID}` },
      ExpressionAttributeValues: expect.objectContaining({ ':v0': RESTORED_DB_ARN }),
    });
  });

  it('does not delete again on the retry, and reports the resource deleted once it is gone', async () => {
    rds.on(ListTagsForResourceCommand).resolves(taggedFor(DRILL_ID));
    instanceIs('deleting', 'deleting');
    await expect(teardown(succeededState())).rejects.toThrow(ResourceStillDeleting);
    instanceIs('gone');

    const result = await teardown(succeededState());

    expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
    expect(result.deleted).toEqual([RESTORED_DB_ARN]);
  });
});
