import {
  AddTagsToResourceCommand,
  type DBInstance,
  DBInstanceNotFoundFault,
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  InvalidDBInstanceStateFault,
  ListTagsForResourceCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { drClients } from '../../functions/lib/clients.js';
import { config } from '../../functions/lib/config.js';
import { ResourceNotReady } from '../../functions/lib/errors.js';
import { instanceIdentifierFor, rds } from '../../functions/resources/rds.js';
import { DRILL_ID, RESTORED_DB_ARN, rdsDrill, restoredDbInstance } from './support.js';

const rdsMock = mockClient(RDSClient);

/** What GetRecoveryPointRestoreMetadata returns for a production Postgres instance's snapshot. */
const SOURCE_METADATA: Record<string, string> = {
  DBInstanceIdentifier: 'orders-db-1',
  DBInstanceClass: 'db.m6g.large',
  Engine: 'postgres',
  AllocatedStorage: '50',
  AvailabilityZone: 'us-east-2b',
  DBSubnetGroupName: 'prod-private',
  VpcSecurityGroupIds: '["sg-0ffee0ffee0ffee00"]',
  OptionGroupName: 'default:postgres-16',
  DBParameterGroupName: 'orders-pg16',
  DBClusterIdentifier: 'orders-cluster',
  PubliclyAccessible: 'true',
  DeletionProtection: 'true',
  MultiAZ: 'true',
  CopyTagsToSnapshot: 'true',
  Port: '5432',
};

const EXPECTED = { Engine: 'postgres', AllocatedStorage: '50' };

function failedChecks(checks: { name: string; passed: boolean }[]): string[] {
  return checks.filter((check) => !check.passed).map((check) => check.name);
}

async function checkHealthOf(instance: DBInstance) {
  rdsMock.on(DescribeDBInstancesCommand).resolves({ DBInstances: [instance] });
  return rds.checkHealth({
    clients: drClients(),
    resourceArn: RESTORED_DB_ARN,
    expected: EXPECTED,
    drill: rdsDrill(),
    config,
  });
}

beforeEach(() => {
  rdsMock.reset();
});

describe('rds.restoreMetadata', () => {
  it('lands the restore in the DR network, private, deletable and named after the drill', () => {
    // Prepare
    const drill = rdsDrill();

    // Act
    const metadata = rds.restoreMetadata(SOURCE_METADATA, drill, config);

    // Assess
    expect(metadata).toEqual({
      DBInstanceIdentifier: 'pl-rds-20260105t0157-5b0c1f2e9a',
      DBInstanceClass: 'db.m6g.large',
      Engine: 'postgres',
      AllocatedStorage: '50',
      DBSubnetGroupName: 'pilotlight-restore',
      VpcSecurityGroupIds: '["sg-0a1b2c3d4e5f60718"]',
      PubliclyAccessible: 'false',
      DeletionProtection: 'false',
      MultiAZ: 'false',
      CopyTagsToSnapshot: 'false',
      Port: '5432',
    });
  });

  it('drops every key that names something in the source account or region', () => {
    // Prepare
    const drill = rdsDrill();

    // Act
    const metadata = rds.restoreMetadata(SOURCE_METADATA, drill, config);

    // Assess
    for (const key of [
      'AvailabilityZone',
      'OptionGroupName',
      'DBParameterGroupName',
      'DBClusterIdentifier',
    ]) {
      expect(metadata).not.toHaveProperty(key);
    }
  });

  it('does not change the metadata object it was given', () => {
    // Prepare
    const base = { ...SOURCE_METADATA };

    // Act
    rds.restoreMetadata(base, rdsDrill(), config);

    // Assess
    expect(base).toEqual(SOURCE_METADATA);
  });
});

describe('instanceIdentifierFor', () => {
  it('makes a valid DB instance identifier of at most 63 characters with no trailing hyphen', () => {
    // Prepare
    const drillId = `EBS_${'x'.repeat(58)}--extra`;

    // Act
    const identifier = instanceIdentifierFor(drillId);

    // Assess
    expect(identifier.length).toBeLessThanOrEqual(63);
    expect(identifier).toMatch(/^[a-z][a-z0-9-]*[a-z0-9]$/);
    expect(identifier).not.toContain('--');
    expect(identifier.startsWith('pl-ebs-xxx')).toBe(true);
  });
});

describe('rds.checkHealth', () => {
  it.each(['creating', 'backing-up', 'modifying', 'rebooting', 'configuring-enhanced-monitoring'])(
    'throws ResourceNotReady while the instance is %s',
    async (status) => {
      // Prepare
      const instance = restoredDbInstance({ DBInstanceStatus: status });

      // Act
      const checking = checkHealthOf(instance);

      // Assess
      await expect(checking).rejects.toBeInstanceOf(ResourceNotReady);
      await expect(checking).rejects.toThrow(`is ${status}`);
    },
  );

  it('passes every check for an available, private, isolated, tagged instance of the backed-up size', async () => {
    // Prepare
    const instance = restoredDbInstance();

    // Act
    const checks = await checkHealthOf(instance);

    // Assess
    expect(checks.map((check) => check.name)).toEqual([
      'resource-available',
      'endpoint-reachable',
      'isolated-network',
      'tagged',
      'data-integrity',
    ]);
    expect(failedChecks(checks)).toEqual([]);
    expect(rdsMock).toHaveReceivedCommandWith(DescribeDBInstancesCommand, {
      DBInstanceIdentifier: 'pl-rds-20260105t0157-5b0c1f2e9a',
    });
  });

  it('fails the isolation check for a publicly accessible instance', async () => {
    // Prepare
    const instance = restoredDbInstance({ PubliclyAccessible: true });

    // Act
    const checks = await checkHealthOf(instance);

    // Assess
    expect(failedChecks(checks)).toEqual(['isolated-network']);
  });

  it('fails the isolation check for an instance in a security group outside the DR set', async () => {
    // Prepare
    const instance = restoredDbInstance({
      VpcSecurityGroups: [
        { VpcSecurityGroupId: 'sg-0a1b2c3d4e5f60718' },
        { VpcSecurityGroupId: 'sg-0badbadbadbad0000' },
      ],
    });

    // Act
    const checks = await checkHealthOf(instance);

    // Assess
    expect(failedChecks(checks)).toEqual(['isolated-network']);
    expect(checks.find((check) => check.name === 'isolated-network')?.detail).toContain(
      'sg-0badbadbadbad0000',
    );
  });

  it('fails the isolation check for an instance in another subnet group', async () => {
    // Prepare
    const instance = restoredDbInstance({ DBSubnetGroup: { DBSubnetGroupName: 'default' } });

    // Act
    const checks = await checkHealthOf(instance);

    // Assess
    expect(failedChecks(checks)).toEqual(['isolated-network']);
  });

  it('fails the tag check for an instance without this drill tag', async () => {
    // Prepare
    const instance = restoredDbInstance({ TagList: [] });

    // Act
    const checks = await checkHealthOf(instance);

    // Assess
    expect(failedChecks(checks)).toEqual(['tagged']);
    expect(checks.find((check) => check.name === 'tagged')?.detail).toBe('pilotlight:drill-id=(missing)');
  });

  it('fails the data check when the restored storage differs from the backup', async () => {
    // Prepare
    const instance = restoredDbInstance({ AllocatedStorage: 20 });

    // Act
    const checks = await checkHealthOf(instance);

    // Assess
    expect(failedChecks(checks)).toEqual(['data-integrity']);
  });

  it('fails the data check when the restored engine differs from the backup', async () => {
    // Prepare
    const instance = restoredDbInstance({ Engine: 'mysql' });

    // Act
    const checks = await checkHealthOf(instance);

    // Assess
    expect(failedChecks(checks)).toEqual(['data-integrity']);
  });

  it('fails the availability and endpoint checks for a stopped instance without an endpoint', async () => {
    // Prepare
    const instance = restoredDbInstance({ DBInstanceStatus: 'stopped', Endpoint: undefined });

    // Act
    const checks = await checkHealthOf(instance);

    // Assess
    expect(failedChecks(checks)).toEqual(['resource-available', 'endpoint-reachable']);
  });

  it('reports a single failed existence check when the instance is not found', async () => {
    // Prepare
    rdsMock.on(DescribeDBInstancesCommand).resolves({ DBInstances: [] });

    // Act
    const checks = await rds.checkHealth({
      clients: drClients(),
      resourceArn: RESTORED_DB_ARN,
      expected: EXPECTED,
      drill: rdsDrill(),
      config,
    });

    // Assess
    expect(checks).toEqual([
      {
        name: 'resource-exists',
        passed: false,
        detail: 'DB instance pl-rds-20260105t0157-5b0c1f2e9a not found',
      },
    ]);
  });
});

describe('rds.tag and rds.readTags', () => {
  it('tags the restored instance by its ARN', async () => {
    // Prepare
    rdsMock.on(AddTagsToResourceCommand).resolves({});

    // Act
    await rds.tag(drClients(), RESTORED_DB_ARN, {
      'pilotlight:drill-id': DRILL_ID,
      'pilotlight:managed': 'true',
    });

    // Assess
    expect(rdsMock).toHaveReceivedCommandWith(AddTagsToResourceCommand, {
      ResourceName: RESTORED_DB_ARN,
      Tags: [
        { Key: 'pilotlight:drill-id', Value: DRILL_ID },
        { Key: 'pilotlight:managed', Value: 'true' },
      ],
    });
  });

  it('reads the tags as a record', async () => {
    // Prepare
    rdsMock
      .on(ListTagsForResourceCommand)
      .resolves({ TagList: [{ Key: 'pilotlight:drill-id', Value: DRILL_ID }] });

    // Act
    const tags = await rds.readTags(drClients(), RESTORED_DB_ARN);

    // Assess
    expect(tags).toEqual({ 'pilotlight:drill-id': DRILL_ID });
  });

  it('reads no tags for an instance that no longer exists', async () => {
    // Prepare
    rdsMock
      .on(ListTagsForResourceCommand)
      .rejects(new DBInstanceNotFoundFault({ message: 'DBInstance not found', $metadata: {} }));

    // Act
    const tags = await rds.readTags(drClients(), RESTORED_DB_ARN);

    // Assess
    expect(tags).toBeUndefined();
  });
});

describe('rds.delete', () => {
  it('deletes the instance without a final snapshot and reports it deleted', async () => {
    // Prepare
    rdsMock.on(DeleteDBInstanceCommand).resolves({});

    // Act
    const result = await rds.delete(drClients(), RESTORED_DB_ARN);

    // Assess
    expect(result.status).toBe('deleted');
    expect(rdsMock).toHaveReceivedCommandWith(DeleteDBInstanceCommand, {
      DBInstanceIdentifier: 'pl-rds-20260105t0157-5b0c1f2e9a',
      SkipFinalSnapshot: true,
      DeleteAutomatedBackups: true,
    });
  });

  it('reports already-gone when the instance does not exist', async () => {
    // Prepare
    rdsMock
      .on(DeleteDBInstanceCommand)
      .rejects(new DBInstanceNotFoundFault({ message: 'DBInstance not found', $metadata: {} }));

    // Act
    const result = await rds.delete(drClients(), RESTORED_DB_ARN);

    // Assess
    expect(result.status).toBe('already-gone');
  });

  it('rethrows any other delete failure', async () => {
    // Prepare
    rdsMock
      .on(DeleteDBInstanceCommand)
      .rejects(
        new InvalidDBInstanceStateFault({ message: 'Instance is currently modifying', $metadata: {} }),
      );

    // Act
    const deleting = rds.delete(drClients(), RESTORED_DB_ARN);

    // Assess
    await expect(deleting).rejects.toBeInstanceOf(InvalidDBInstanceStateFault);
  });
});
