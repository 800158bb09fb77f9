import { BackupClient, DescribeRestoreJobCommand } from '@aws-sdk/client-backup';
import {
  DBInstanceNotFoundFault,
  DeleteDBInstanceCommand,
  InvalidDBInstanceStateFault,
  ListTagsForResourceCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { DrillState } from '../../functions/lib/drill.js';
import { TeardownIncomplete, TeardownRefused } from '../../functions/lib/errors.js';
import { teardown } from '../../functions/teardown.js';
import { DRILL_ID, dynamo, RESTORED_DB_ARN, rdsDrill, succeededState } from './support.js';

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

beforeEach(() => {
  backup.reset();
  rds.reset();
  dynamo.reset();
  dynamo.on(GetCommand).resolves({});
  rds.on(DeleteDBInstanceCommand).resolves({});
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
  });

  it('refuses to delete an instance that carries no drill tag', async () => {
    // Prepare
    rds.on(ListTagsForResourceCommand).resolves({ TagList: [{ Key: 'team', Value: 'payments' }] });

    // Act
    const tearingDown = teardown(succeededState());

    // Assess
    await expect(tearingDown).rejects.toBeInstanceOf(TeardownRefused);
    expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
  });

  it("refuses to delete an instance that carries another drill's tag", async () => {
    // Prepare
    rds.on(ListTagsForResourceCommand).resolves(taggedFor('rds-20260104T0157-0123456789'));

    // Act
    const tearingDown = teardown(succeededState());

    // Assess
    await expect(tearingDown).rejects.toThrow(
      `${RESTORED_DB_ARN} does not carry pilotlight:drill-id=${DRILL_ID}; refusing to delete it`,
    );
    expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
  });

  it('refuses to touch a resource in an account other than the DR account, without reading it', async () => {
    // Prepare
    const productionArn = 'arn:aws:rds:us-east-2:111111111111:db:orders-db-1';
    const state = succeededState();
    const input: DrillState = {
      ...state,
      state: {
        ...state.state,
        restore: {
          restoreJobId: RESTORE_JOB_ID,
          createdResourceArn: productionArn,
          startedAt: '2026-01-05T02:41:30.000Z',
          completedAt: '2026-01-05T03:10:31.000Z',
        },
      },
    };
    rds.on(ListTagsForResourceCommand).resolves(taggedFor(DRILL_ID));

    // Act
    const tearingDown = teardown(input);

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

  it('finds the restored instance on the drill record when the state has no restore result', async () => {
    // Prepare
    dynamo.on(GetCommand, { Key: { pk: `DRILL#${DRILL_ID}` } }).resolves({
      Item: { drillId: DRILL_ID, restoreJobId: RESTORE_JOB_ID, createdResourceArn: RESTORED_DB_ARN },
    });
    rds.on(ListTagsForResourceCommand, { ResourceName: RESTORED_DB_ARN }).resolves(taggedFor(DRILL_ID));

    // Act
    const result = await teardown(stateWithoutRestore());

    // Assess
    expect(result.deleted).toEqual([RESTORED_DB_ARN]);
    expect(backup).not.toHaveReceivedCommand(DescribeRestoreJobCommand);
  });

  it('finds the restored instance through DescribeRestoreJob when only the restore job id is recorded', async () => {
    // Prepare
    dynamo
      .on(GetCommand, { Key: { pk: `DRILL#${DRILL_ID}` } })
      .resolves({ Item: { drillId: DRILL_ID, restoreJobId: RESTORE_JOB_ID, status: 'RUNNING' } });
    backup
      .on(DescribeRestoreJobCommand, { RestoreJobId: RESTORE_JOB_ID })
      .resolves({ RestoreJobId: RESTORE_JOB_ID, Status: 'COMPLETED', CreatedResourceArn: RESTORED_DB_ARN });
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
      .resolves({ Item: { drillId: DRILL_ID, restoreJobId: RESTORE_JOB_ID, status: 'RUNNING' } });
    backup.on(DescribeRestoreJobCommand).resolves({ RestoreJobId: RESTORE_JOB_ID, Status: 'RUNNING' });

    // Act
    const result = await teardown(stateWithoutRestore());

    // Assess
    expect(result.pendingRestoreJobId).toBe(RESTORE_JOB_ID);
    expect(result.deleted).toEqual([]);
    expect(result.alreadyGone).toEqual([]);
    expect(rds).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
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
