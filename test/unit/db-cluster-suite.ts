import {
  AddTagsToResourceCommand,
  CreateDBInstanceCommand,
  type DBCluster,
  DBClusterNotFoundFault,
  type DBInstance,
  DBInstanceAlreadyExistsFault,
  DBInstanceNotFoundFault,
  DeleteDBClusterCommand,
  DeleteDBInstanceCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  InvalidDBClusterStateFault,
  InvalidDBInstanceStateFault,
  ListTagsForResourceCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { drClients } from '../../functions/lib/clients.js';
import { config } from '../../functions/lib/config.js';
import type { Drill } from '../../functions/lib/drill.js';
import { ResourceNotReady } from '../../functions/lib/errors.js';
import { clusterIdentifierFor, drillInstanceIdentifierFor } from '../../functions/resources/db-cluster.js';
import type { ResourceModule } from '../../functions/resources/types.js';
import { rdsDrill } from './support.js';

/**
 * The unit tests every DB-cluster type (Aurora, DocumentDB, Neptune) passes: the three modules come from one
 * factory (functions/resources/db-cluster.ts) and differ in type, engines and the backup's metadata. Each
 * type's test file (resources-<type>.test.ts) runs this suite with its own module and engine.
 */
export interface ClusterSuite {
  module: ResourceModule;
  type: string;
  engine: string;
  engineVersion: string;
  port: number;
  /** An engine of another cluster type, which this type's module must not accept. */
  foreignEngine: string;
}

const rdsMock = mockClient(RDSClient);

export function clusterModuleSuite({
  module,
  type,
  engine,
  engineVersion,
  port,
  foreignEngine,
}: ClusterSuite) {
  const drillId = `${type.toLowerCase()}-20260105T0157-5b0c1f2e9a`;
  const clusterId = `pl-${type.toLowerCase()}-20260105t0157-5b0c1f2e9a`;
  const instanceId = `${clusterId}-i1`;
  const clusterArn = `arn:aws:rds:us-west-2:333333333333:cluster:${clusterId}`;
  const instanceArn = `arn:aws:rds:us-west-2:333333333333:db:${instanceId}`;

  const drill = (): Drill =>
    rdsDrill({
      drillId,
      source: {
        ...rdsDrill().source,
        resourceType: type,
        resourceArn: 'arn:aws:rds:us-east-2:111111111111:cluster:orders-1',
        recoveryPointArn:
          'arn:aws:rds:us-east-2:111111111111:cluster-snapshot:awsbackup:job-4c1e9a2b-7d3f-4e8a-b5c6-0f1e2d3c4b5a',
      },
    });

  /** What GetRecoveryPointRestoreMetadata returns for the production cluster's snapshot. */
  const sourceMetadata: Record<string, string> = {
    DBClusterIdentifier: 'orders-1',
    Engine: engine,
    EngineVersion: engineVersion,
    EngineMode: 'provisioned',
    Port: String(port),
    AvailabilityZones: '["us-east-2a","us-east-2b","us-east-2c"]',
    DBSubnetGroupName: 'prod-private',
    VpcSecurityGroupIds: '["sg-0ffee0ffee0ffee00"]',
    DBClusterParameterGroupName: 'orders-params',
    OptionGroupName: 'orders-options',
    KmsKeyId: 'arn:aws:kms:us-east-2:111111111111:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
    StorageEncrypted: 'true',
    DeletionProtection: 'true',
    CopyTagsToSnapshot: 'true',
  };
  const expected = { Engine: engine, EngineVersion: engineVersion, StorageEncrypted: 'true' };

  const restoredCluster = (overrides: Partial<DBCluster> = {}): DBCluster => ({
    DBClusterIdentifier: clusterId,
    DBClusterArn: clusterArn,
    Status: 'available',
    Engine: engine,
    EngineVersion: engineVersion,
    Endpoint: `${clusterId}.cluster-c0ffee.us-west-2.rds.amazonaws.com`,
    Port: port,
    DBSubnetGroup: 'pilotlight-restore',
    VpcSecurityGroups: [{ VpcSecurityGroupId: 'sg-0a1b2c3d4e5f60718', Status: 'active' }],
    StorageEncrypted: true,
    DeletionProtection: false,
    DBClusterMembers: [{ DBInstanceIdentifier: instanceId, IsClusterWriter: true }],
    // The drill copy's own password, already set (Aurora: functions/resources/db-cluster.ts ensureClusterPassword).
    MasterUserSecret: {
      SecretArn:
        'arn:aws:secretsmanager:us-west-2:333333333333:secret:rds!cluster-0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0-AbCdEf',
      SecretStatus: 'active',
    },
    TagList: [
      { Key: 'pilotlight:drill-id', Value: drillId },
      { Key: 'pilotlight:managed', Value: 'true' },
    ],
    ...overrides,
  });

  const drillInstance = (overrides: Partial<DBInstance> = {}): DBInstance => ({
    DBInstanceIdentifier: instanceId,
    DBInstanceArn: instanceArn,
    DBInstanceStatus: 'available',
    DBClusterIdentifier: clusterId,
    Engine: engine,
    PubliclyAccessible: false,
    ...overrides,
  });

  function given(cluster: DBCluster | undefined, instance: DBInstance | undefined = drillInstance()) {
    if (cluster) rdsMock.on(DescribeDBClustersCommand).resolves({ DBClusters: [cluster] });
    else
      rdsMock
        .on(DescribeDBClustersCommand)
        .rejects(new DBClusterNotFoundFault({ message: `DBCluster ${clusterId} not found.`, $metadata: {} }));
    if (instance) rdsMock.on(DescribeDBInstancesCommand).resolves({ DBInstances: [instance] });
    else
      rdsMock
        .on(DescribeDBInstancesCommand)
        .rejects(
          new DBInstanceNotFoundFault({ message: `DBInstance ${instanceId} not found.`, $metadata: {} }),
        );
  }

  const checkHealth = () =>
    module.checkHealth({ clients: drClients(), resourceArn: clusterArn, expected, drill: drill(), config });

  const failed = (checks: { name: string; passed: boolean }[]) =>
    checks.filter((check) => !check.passed).map((check) => check.name);

  beforeEach(() => {
    rdsMock.reset();
  });

  describe(`${type}: the module`, () => {
    it('is the AWS Backup type, owns DB cluster ARNs only, and waits hours for a restored cluster', () => {
      expect(module.type).toBe(type);
      expect(module.taggingTypes).toEqual(['rds:cluster', 'rds:db']);
      expect(module.owns(clusterArn)).toBe(true);
      expect(module.owns(instanceArn)).toBe(false);
      expect(module.owns('arn:aws:rds:us-west-2:333333333333:cluster-snapshot:awsbackup:copyjob-1')).toBe(
        false,
      );
      expect(module.readiness.budgetSeconds).toBeGreaterThanOrEqual(3 * 3600);
    });

    it('names the cluster and its drill instance after the drill, validly and distinctly', () => {
      const long = `${type}_${'x'.repeat(70)}`;
      for (const id of [clusterIdentifierFor(long), drillInstanceIdentifierFor(long)]) {
        expect(id.length).toBeLessThanOrEqual(63);
        expect(id).toMatch(/^pl-[a-z][a-z0-9-]*[a-z0-9]$/);
        expect(id).not.toContain('--');
      }
      expect(drillInstanceIdentifierFor(drillId)).toBe(instanceId);
      expect(clusterIdentifierFor(drillId)).toBe(clusterId);
    });
  });

  describe(`${type}: restoreMetadata`, () => {
    it('lands the cluster in the DR network, deletable, named after the drill, without source-only settings', () => {
      // Act
      const metadata = module.restoreMetadata(sourceMetadata, drill(), config);

      // Assess
      expect(metadata).toEqual({
        DBClusterIdentifier: clusterId,
        Engine: engine,
        EngineVersion: engineVersion,
        EngineMode: 'provisioned',
        Port: String(port),
        DBSubnetGroupName: 'pilotlight-restore',
        VpcSecurityGroupIds: '["sg-0a1b2c3d4e5f60718"]',
        StorageEncrypted: 'true',
        DeletionProtection: 'false',
        CopyTagsToSnapshot: 'false',
      });
    });

    it("drops the source's Availability Zones, parameter and option groups and KMS key", () => {
      const metadata = module.restoreMetadata(sourceMetadata, drill(), config);

      for (const key of ['AvailabilityZones', 'DBClusterParameterGroupName', 'OptionGroupName', 'KmsKeyId'])
        expect(metadata).not.toHaveProperty(key);
    });

    it('replaces source settings whatever the case AWS Backup spells their keys in', () => {
      const camel = {
        dbClusterIdentifier: 'orders-1',
        dbSubnetGroupName: 'prod-private',
        vpcSecurityGroupIds: '["sg-0ffee0ffee0ffee00"]',
        availabilityZones: '["us-east-2a"]',
        kmsKeyId: 'arn:aws:kms:us-east-2:111111111111:key/0f1e2d3c',
        deletionProtection: 'true',
        engine,
      };

      const metadata = module.restoreMetadata(camel, drill(), config);

      expect(metadata).toEqual({
        engine,
        DBClusterIdentifier: clusterId,
        DBSubnetGroupName: 'pilotlight-restore',
        VpcSecurityGroupIds: '["sg-0a1b2c3d4e5f60718"]',
        DeletionProtection: 'false',
        CopyTagsToSnapshot: 'false',
      });
    });

    it('does not change the metadata object it was given', () => {
      const base = { ...sourceMetadata };

      module.restoreMetadata(base, drill(), config);

      expect(base).toEqual(sourceMetadata);
    });
  });

  describe(`${type}: checkHealth`, () => {
    it.each(['creating', 'backing-up', 'modifying', 'upgrading'])(
      'throws ResourceNotReady while the cluster is %s',
      async (status) => {
        // Prepare
        given(restoredCluster({ Status: status, DBClusterMembers: [] }));

        // Act
        const checking = checkHealth();

        // Assess
        await expect(checking).rejects.toBeInstanceOf(ResourceNotReady);
        await expect(checking).rejects.toThrow(`is ${status}`);
        expect(rdsMock).not.toHaveReceivedCommand(CreateDBInstanceCommand);
      },
    );

    it('creates one private drill instance in an available cluster, tagged at creation, then waits for it', async () => {
      // Prepare
      given(restoredCluster({ DBClusterMembers: [] }));
      rdsMock
        .on(CreateDBInstanceCommand)
        .resolves({ DBInstance: drillInstance({ DBInstanceStatus: 'creating' }) });

      // Act
      const checking = checkHealth();

      // Assess
      await expect(checking).rejects.toBeInstanceOf(ResourceNotReady);
      expect(rdsMock).toHaveReceivedCommandTimes(CreateDBInstanceCommand, 1);
      expect(rdsMock).toHaveReceivedCommandWith(CreateDBInstanceCommand, {
        DBInstanceIdentifier: instanceId,
        DBClusterIdentifier: clusterId,
        Engine: engine,
        DBInstanceClass: 'db.t4g.medium',
        PubliclyAccessible: false,
        Tags: [
          { Key: 'pilotlight:drill-id', Value: drillId },
          { Key: 'pilotlight:managed', Value: 'true' },
          { Key: 'pilotlight:mode', Value: 'drill' },
          { Key: 'pilotlight:owner', Value: config.DRILL_STATE_MACHINE_ARN },
        ],
      });
    });

    it('keeps waiting when an earlier attempt already created the drill instance', async () => {
      // Prepare
      given(restoredCluster({ DBClusterMembers: [] }));
      rdsMock
        .on(CreateDBInstanceCommand)
        .rejects(new DBInstanceAlreadyExistsFault({ message: 'DB instance already exists', $metadata: {} }));

      // Act
      const checking = checkHealth();

      // Assess
      await expect(checking).rejects.toBeInstanceOf(ResourceNotReady);
    });

    it.each(['creating', 'backing-up', 'configuring-enhanced-monitoring'])(
      'throws ResourceNotReady while the drill instance is %s',
      async (status) => {
        given(restoredCluster(), drillInstance({ DBInstanceStatus: status }));

        await expect(checkHealth()).rejects.toThrow(`DB instance ${instanceId} of ${clusterId} is ${status}`);
        expect(rdsMock).not.toHaveReceivedCommand(CreateDBInstanceCommand);
      },
    );

    it('passes every check for an available, isolated, encrypted, tagged cluster of the backed-up engine', async () => {
      given(restoredCluster());

      const checks = await checkHealth();

      expect(checks.map((check) => check.name)).toEqual([
        'resource-available',
        'endpoint-reachable',
        'isolated-network',
        'encrypted',
        'tagged',
        'data-integrity',
      ]);
      expect(failed(checks)).toEqual([]);
      expect(rdsMock).toHaveReceivedCommandWith(DescribeDBClustersCommand, {
        DBClusterIdentifier: clusterId,
      });
    });

    it('fails the isolation check for a publicly accessible instance', async () => {
      given(restoredCluster(), drillInstance({ PubliclyAccessible: true }));

      const checks = await checkHealth();

      expect(failed(checks)).toEqual(['isolated-network']);
      expect(checks.find((check) => check.name === 'isolated-network')?.detail).toContain(instanceId);
    });

    it('fails the isolation check for a cluster in a security group outside the DR set', async () => {
      given(
        restoredCluster({
          VpcSecurityGroups: [
            { VpcSecurityGroupId: 'sg-0a1b2c3d4e5f60718' },
            { VpcSecurityGroupId: 'sg-0bad0bad0bad0bad0' },
          ],
        }),
      );

      expect(failed(await checkHealth())).toEqual(['isolated-network']);
    });

    it('fails the isolation check for a cluster in another subnet group', async () => {
      given(restoredCluster({ DBSubnetGroup: 'default' }));

      expect(failed(await checkHealth())).toEqual(['isolated-network']);
    });

    it('fails the encryption check for an unencrypted restore of an encrypted backup', async () => {
      given(restoredCluster({ StorageEncrypted: false }));

      expect(failed(await checkHealth())).toEqual(['encrypted']);
    });

    it('accepts an unencrypted restore of an unencrypted backup', async () => {
      given(restoredCluster({ StorageEncrypted: false }));

      const checks = await module.checkHealth({
        clients: drClients(),
        resourceArn: clusterArn,
        expected: { ...expected, StorageEncrypted: 'false' },
        drill: drill(),
        config,
      });

      expect(failed(checks)).toEqual([]);
    });

    it('fails the tag check for a cluster without this drill tag', async () => {
      given(restoredCluster({ TagList: [] }));

      const checks = await checkHealth();

      expect(failed(checks)).toEqual(['tagged']);
    });

    it('fails the data check when the restored engine version differs from the backup', async () => {
      given(restoredCluster({ EngineVersion: '0.0.1' }));

      expect(failed(await checkHealth())).toEqual(['data-integrity']);
    });

    it("fails the data check for a cluster of another type's engine", async () => {
      given(restoredCluster({ Engine: foreignEngine }));

      const checks = await module.checkHealth({
        clients: drClients(),
        resourceArn: clusterArn,
        expected: { EngineVersion: engineVersion },
        drill: drill(),
        config,
      });

      expect(failed(checks)).toEqual(['data-integrity']);
    });

    it('fails availability for a cluster whose restore was incompatible, without adding an instance', async () => {
      given(restoredCluster({ Status: 'incompatible-restore', DBClusterMembers: [] }));

      const checks = await checkHealth();

      expect(failed(checks)).toEqual(['resource-available']);
      expect(rdsMock).not.toHaveReceivedCommand(CreateDBInstanceCommand);
    });

    it('reports a single failed existence check when the cluster is not found', async () => {
      given(undefined);

      expect(await checkHealth()).toEqual([
        { name: 'resource-exists', passed: false, detail: `DB cluster ${clusterId} not found` },
      ]);
    });
  });

  describe(`${type}: tag and readTags`, () => {
    it('tags the restored cluster by its ARN', async () => {
      rdsMock.on(AddTagsToResourceCommand).resolves({});

      await module.tag(drClients(), clusterArn, {
        'pilotlight:drill-id': drillId,
        'pilotlight:managed': 'true',
      });

      expect(rdsMock).toHaveReceivedCommandWith(AddTagsToResourceCommand, {
        ResourceName: clusterArn,
        Tags: [
          { Key: 'pilotlight:drill-id', Value: drillId },
          { Key: 'pilotlight:managed', Value: 'true' },
        ],
      });
    });

    it('reads the tags as a record', async () => {
      rdsMock
        .on(ListTagsForResourceCommand)
        .resolves({ TagList: [{ Key: 'pilotlight:drill-id', Value: drillId }] });

      expect(await module.readTags(drClients(), clusterArn)).toEqual({ 'pilotlight:drill-id': drillId });
    });

    it('reads no tags for a cluster that no longer exists', async () => {
      rdsMock
        .on(ListTagsForResourceCommand)
        .rejects(new DBClusterNotFoundFault({ message: 'DBCluster not found', $metadata: {} }));

      expect(await module.readTags(drClients(), clusterArn)).toBeUndefined();
    });
  });

  describe(`${type}: lifecycle`, () => {
    it.each([
      ['gone', 'the cluster is not found', undefined, drillInstance()],
      [
        'deleting',
        'the cluster is deleting',
        restoredCluster({ Status: 'deleting', DBClusterMembers: [] }),
        undefined,
      ],
      ['present', 'the drill instance is still there', restoredCluster(), drillInstance()],
      [
        'deleting',
        'the drill instance is deleting',
        restoredCluster(),
        drillInstance({ DBInstanceStatus: 'deleting' }),
      ],
      ['present', 'only the cluster is left', restoredCluster({ DBClusterMembers: [] }), undefined],
      ['present', 'a listed member is already gone', restoredCluster(), undefined],
    ] as const)('is %s when %s', async (state, _when, cluster, instance) => {
      given(cluster, instance);

      expect(await module.lifecycle(drClients(), clusterArn)).toBe(state);
    });
  });

  describe(`${type}: delete`, () => {
    it('deletes the drill instance first, not yet the cluster, and reports the instance', async () => {
      given(restoredCluster());
      rdsMock.on(DeleteDBInstanceCommand).resolves({});

      const outcome = await module.delete(drClients(), clusterArn);

      expect(outcome).toEqual({ status: 'deleted', deleted: [instanceArn] });
      expect(rdsMock).toHaveReceivedCommandWith(DeleteDBInstanceCommand, {
        DBInstanceIdentifier: instanceId,
      });
      expect(rdsMock).not.toHaveReceivedCommand(DeleteDBClusterCommand);
    });

    it('deletes the cluster without a final snapshot once it has no instance', async () => {
      given(restoredCluster({ DBClusterMembers: [] }));
      rdsMock.on(DeleteDBClusterCommand).resolves({});

      const outcome = await module.delete(drClients(), clusterArn);

      expect(outcome).toEqual({ status: 'deleted', deleted: [clusterArn] });
      expect(rdsMock).toHaveReceivedCommandWith(DeleteDBClusterCommand, {
        DBClusterIdentifier: clusterId,
        SkipFinalSnapshot: true,
      });
    });

    it('asks nothing more while the instance or the cluster is already being deleted', async () => {
      given(restoredCluster(), drillInstance({ DBInstanceStatus: 'deleting' }));

      expect(await module.delete(drClients(), clusterArn)).toEqual({ status: 'deleted', deleted: [] });
      expect(rdsMock).not.toHaveReceivedCommand(DeleteDBInstanceCommand);
      expect(rdsMock).not.toHaveReceivedCommand(DeleteDBClusterCommand);
    });

    it('tolerates an instance that vanished before its delete, but rethrows a refused one', async () => {
      given(restoredCluster());
      rdsMock
        .on(DeleteDBInstanceCommand)
        .rejectsOnce(new DBInstanceNotFoundFault({ message: 'DBInstance not found', $metadata: {} }))
        .rejects(
          new InvalidDBInstanceStateFault({ message: 'Instance is currently modifying', $metadata: {} }),
        );

      expect(await module.delete(drClients(), clusterArn)).toEqual({ status: 'deleted', deleted: [] });
      await expect(module.delete(drClients(), clusterArn)).rejects.toBeInstanceOf(
        InvalidDBInstanceStateFault,
      );
    });

    it('reports already-gone when the cluster does not exist, or vanishes before its delete', async () => {
      given(undefined);
      expect(await module.delete(drClients(), clusterArn)).toEqual({ status: 'already-gone', deleted: [] });

      rdsMock.reset();
      given(restoredCluster({ DBClusterMembers: [] }));
      rdsMock
        .on(DeleteDBClusterCommand)
        .rejects(new DBClusterNotFoundFault({ message: 'DBCluster not found', $metadata: {} }));
      expect(await module.delete(drClients(), clusterArn)).toEqual({ status: 'already-gone', deleted: [] });
    });

    it('rethrows any other delete failure', async () => {
      given(restoredCluster({ DBClusterMembers: [] }));
      rdsMock
        .on(DeleteDBClusterCommand)
        .rejects(new InvalidDBClusterStateFault({ message: 'cluster is modifying', $metadata: {} }));

      await expect(module.delete(drClients(), clusterArn)).rejects.toBeInstanceOf(InvalidDBClusterStateFault);
    });
  });
}
