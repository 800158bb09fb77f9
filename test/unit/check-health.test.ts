import { BackupClient, GetRecoveryPointRestoreMetadataCommand } from '@aws-sdk/client-backup';
import { DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { checkHealth } from '../../functions/check-health.js';
import { HealthCheckFailed, ReadinessTimedOut, ResourceNotReady } from '../../functions/lib/errors.js';
import {
  DR_RECOVERY_POINT_ARN,
  DRILL_ID,
  drillRecordUpdates,
  dynamo,
  restoredDbInstance,
  succeededState,
} from './support.js';

const backup = mockClient(BackupClient);
const rds = mockClient(RDSClient);

function input() {
  const { drill, copy, restore } = succeededState().state;
  if (!drill || !copy || !restore) throw new Error('fixture lacks drill, copy or restore');
  return { drill, copy, restore };
}

beforeEach(() => {
  backup.reset();
  rds.reset();
  dynamo.reset();
  dynamo.on(UpdateCommand).resolves({});
  backup.on(GetRecoveryPointRestoreMetadataCommand).resolves({
    RestoreMetadata: { Engine: 'postgres', AllocatedStorage: '50', DBInstanceClass: 'db.m6g.large' },
  });
  rds.on(DescribeDBInstancesCommand).resolves({ DBInstances: [restoredDbInstance()] });
});

describe('checkHealth', () => {
  it('returns every passing check of a healthy restore with the time it was validated', async () => {
    // Prepare
    const before = Date.now();

    // Act
    const result = await checkHealth(input());

    // Assess
    expect(result.checks).toHaveLength(5);
    expect(result.checks.every((check) => check.passed)).toBe(true);
    expect(Date.parse(result.validatedAt)).toBeGreaterThanOrEqual(before);
    expect(rds).toHaveReceivedCommandWith(DescribeDBInstancesCommand, {
      DBInstanceIdentifier: 'pl-rds-20260105t0157-5b0c1f2e9a',
    });
  });

  it('compares the restore with the metadata of the DR copy it was restored from', async () => {
    // Prepare
    rds
      .on(DescribeDBInstancesCommand)
      .resolves({ DBInstances: [restoredDbInstance({ AllocatedStorage: 100 })] });

    // Act
    const checking = checkHealth(input());

    // Assess
    await expect(checking).rejects.toThrow('data-integrity');
    expect(backup).toHaveReceivedCommandWith(GetRecoveryPointRestoreMetadataCommand, {
      BackupVaultName: 'pilotlight-dr',
      RecoveryPointArn: DR_RECOVERY_POINT_ARN,
    });
  });

  it('throws HealthCheckFailed naming each failed check and only those', async () => {
    // Prepare
    rds
      .on(DescribeDBInstancesCommand)
      .resolves({ DBInstances: [restoredDbInstance({ PubliclyAccessible: true, TagList: [] })] });

    // Act
    const checking = checkHealth(input());

    // Assess
    await expect(checking).rejects.toBeInstanceOf(HealthCheckFailed);
    const error: unknown = await checking.catch((caught: unknown) => caught);
    const message = error instanceof Error ? error.message : '';
    expect(message).toMatch(/^2 of 5 checks failed: /);
    expect(message).toContain('isolated-network (public=true');
    expect(message).toContain('tagged (pilotlight:drill-id=(missing))');
    expect(message).not.toContain('resource-available');
    expect(message).not.toContain('data-integrity');
  });

  it('saves every check on the drill record, even when the drill fails on them', async () => {
    // Prepare
    rds
      .on(DescribeDBInstancesCommand)
      .resolves({ DBInstances: [restoredDbInstance({ PubliclyAccessible: true })] });

    // Act
    await checkHealth(input()).catch(() => undefined);

    // Assess
    const updates = drillRecordUpdates();
    expect(updates).toHaveLength(1);
    expect(updates[0]?.pk).toBe(`DRILL#${DRILL_ID}`);
    const checks = updates[0]?.fields.checks as { name: string; passed: boolean }[];
    expect(checks.map((check) => [check.name, check.passed])).toEqual([
      ['resource-available', true],
      ['endpoint-reachable', true],
      ['isolated-network', false],
      ['tagged', true],
      ['data-integrity', true],
    ]);
  });

  it('lets ResourceNotReady through, saving nothing, while the instance is still being created', async () => {
    // Prepare
    rds
      .on(DescribeDBInstancesCommand)
      .resolves({ DBInstances: [restoredDbInstance({ DBInstanceStatus: 'creating' })] });

    const { drill, copy, restore } = input();
    const justRestored = { ...restore, completedAt: new Date(Date.now() - 10 * 60_000).toISOString() };

    // Act
    const checking = checkHealth({ drill, copy, restore: justRestored });

    // Assess
    await expect(checking).rejects.toBeInstanceOf(ResourceNotReady);
    expect(dynamo).not.toHaveReceivedAnyCommand();
  });

  it("fails with ReadinessTimedOut once the type's readiness budget has passed since the restore", async () => {
    // Prepare: RDS allows three hours; the restore completed four hours ago and the instance is still creating.
    rds
      .on(DescribeDBInstancesCommand)
      .resolves({ DBInstances: [restoredDbInstance({ DBInstanceStatus: 'creating' })] });
    const { drill, copy, restore } = input();
    const longAgo = { ...restore, completedAt: new Date(Date.now() - 4 * 3600_000).toISOString() };

    // Act
    const checking = checkHealth({ drill, copy, restore: longAgo });

    // Assess
    await expect(checking).rejects.toBeInstanceOf(ReadinessTimedOut);
    await expect(checking).rejects.toThrow(/RDS budget is 10800 s/);
    expect(dynamo).not.toHaveReceivedAnyCommand();
  });
});
