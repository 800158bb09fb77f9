import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  AddTagsToResourceCommand,
  type DBInstance,
  DBInstanceNotFoundFault,
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  InvalidDBInstanceStateFault,
  ListTagsForResourceCommand,
  ModifyDBInstanceCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { drClients } from '../../functions/lib/clients.js';
import { config } from '../../functions/lib/config.js';
import { DataProbeFailed, ResourceNotReady, UnexpectedRecord } from '../../functions/lib/errors.js';
import { ensureDrillPassword, instanceIdentifierFor, rds } from '../../functions/resources/rds.js';
import { probeFunctionArn } from '../../functions/resources/sql-probe.js';
import {
  DRILL_COPY_SECRET_ARN,
  DRILL_ID,
  probeOrdersCheck,
  RESTORED_DB_ARN,
  rdsDrill,
  restoredDbInstance,
} from './support.js';

const rdsMock = mockClient(RDSClient);
const lambdaMock = mockClient(LambdaClient);

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

describe('ensureDrillPassword (a fresh master password before anything connects)', () => {
  it('asks RDS to manage a new master password and waits while it is set', async () => {
    // Prepare
    const instance = restoredDbInstance({ MasterUserSecret: undefined });
    rdsMock.on(ModifyDBInstanceCommand).resolves({});

    // Act
    const ensuring = ensureDrillPassword(new RDSClient({}), instance);

    // Assess
    await expect(ensuring).rejects.toBeInstanceOf(ResourceNotReady);
    expect(rdsMock).toHaveReceivedCommandWith(ModifyDBInstanceCommand, {
      DBInstanceIdentifier: 'pl-rds-20260105t0157-5b0c1f2e9a',
      ManageMasterUserPassword: true,
      ApplyImmediately: true,
    });
  });

  it('does not ask again while the managed secret is being created', async () => {
    // Prepare
    const instance = restoredDbInstance({
      MasterUserSecret: { SecretArn: DRILL_COPY_SECRET_ARN, SecretStatus: 'creating' },
    });

    // Act
    const ensuring = ensureDrillPassword(new RDSClient({}), instance);

    // Assess
    await expect(ensuring).rejects.toThrow(/master user secret is creating/);
    expect(rdsMock).not.toHaveReceivedCommand(ModifyDBInstanceCommand);
  });

  it('returns the active managed secret without changing anything', async () => {
    // Act
    const secretArn = await ensureDrillPassword(new RDSClient({}), restoredDbInstance());

    // Assess
    expect(secretArn).toBe(DRILL_COPY_SECRET_ARN);
    expect(rdsMock).not.toHaveReceivedCommand(ModifyDBInstanceCommand);
  });

  it('waits, rather than fails, when another attempt already started the change', async () => {
    // Prepare
    rdsMock
      .on(ModifyDBInstanceCommand)
      .rejects(new InvalidDBInstanceStateFault({ message: 'not available', $metadata: {} }));

    // Act
    const ensuring = ensureDrillPassword(
      new RDSClient({}),
      restoredDbInstance({ MasterUserSecret: undefined }),
    );

    // Assess
    await expect(ensuring).rejects.toBeInstanceOf(ResourceNotReady);
  });

  it('is called by checkHealth once the instance is available, and checkHealth then waits', async () => {
    // Prepare
    rdsMock.on(ModifyDBInstanceCommand).resolves({});

    // Act
    const checking = checkHealthOf(restoredDbInstance({ MasterUserSecret: undefined }));

    // Assess
    await expect(checking).rejects.toBeInstanceOf(ResourceNotReady);
    expect(rdsMock).toHaveReceivedCommandTimes(ModifyDBInstanceCommand, 1);
  });

  it('waits while RDS resets the master credentials, without asking again', async () => {
    // Act
    const checking = checkHealthOf(restoredDbInstance({ DBInstanceStatus: 'resetting-master-credentials' }));

    // Assess
    await expect(checking).rejects.toThrow(/is resetting-master-credentials/);
    expect(rdsMock).not.toHaveReceivedCommand(ModifyDBInstanceCommand);
  });
});

describe('rds.dataChecks (through the probe in the DR account)', () => {
  const { checks, recoveryPointCreatedAt, report, encode } = probeOrdersCheck;

  beforeEach(() => {
    lambdaMock.reset();
    rdsMock.on(DescribeDBInstancesCommand).resolves({ DBInstances: [restoredDbInstance()] });
  });

  it("invokes the DR account's probe with the endpoint, the secret's ARN and the written checks", async () => {
    // Prepare
    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 200, Payload: encode(report) });

    // Act
    const result = await rds.dataChecks?.({
      clients: drClients(),
      resourceArn: RESTORED_DB_ARN,
      drill: rdsDrill(),
      config,
      checks,
      recoveryPointCreatedAt,
    });

    // Assess
    expect(result).toEqual(report);
    const sent = lambdaMock.commandCalls(InvokeCommand)[0]?.args[0].input;
    expect(sent?.FunctionName).toBe(probeFunctionArn(config));
    expect(JSON.parse(new TextDecoder().decode(sent?.Payload as Uint8Array))).toEqual({
      engine: 'postgres',
      host: 'pl-rds-20260105t0157-5b0c1f2e9a.c0ffee.us-west-2.rds.amazonaws.com',
      port: 5432,
      database: 'postgres',
      secretArn: DRILL_COPY_SECRET_ARN,
      checks: [
        {
          sql: {
            name: 'orders row count',
            query: 'SELECT count(*) FROM orders',
            expect: { op: '>=', value: 1000 },
          },
        },
      ],
      recoveryPointCreatedAt: '2026-01-05T01:57:00.000Z',
    });
  });

  it("throws DataProbeFailed with the probe's error type when the probe fails", async () => {
    // Prepare
    lambdaMock.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: encode({
        errorType: 'DatabaseSecretUnreadable',
        errorMessage: 'secret has no "password" string',
      }),
    });

    // Act
    const error = await rds
      .dataChecks?.({
        clients: drClients(),
        resourceArn: RESTORED_DB_ARN,
        drill: rdsDrill(),
        config,
        checks,
        recoveryPointCreatedAt,
      })
      .catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(DataProbeFailed);
    expect(error).toMatchObject({ errorType: 'DatabaseSecretUnreadable' });
  });

  it('reports, without invoking the probe, that no data check could run on an instance that is not available', async () => {
    // Prepare
    rdsMock
      .on(DescribeDBInstancesCommand)
      .resolves({ DBInstances: [restoredDbInstance({ DBInstanceStatus: 'failed' })] });

    // Act
    const result = await rds.dataChecks?.({
      clients: drClients(),
      resourceArn: RESTORED_DB_ARN,
      drill: rdsDrill(),
      config,
      checks,
      recoveryPointCreatedAt,
    });

    // Assess
    expect(result?.checks).toEqual([
      expect.objectContaining({ passed: false, observed: expect.stringContaining('is failed') }),
    ]);
    expect(lambdaMock).not.toHaveReceivedCommand(InvokeCommand);
  });

  it('refuses a probe report that does not have the report shape', async () => {
    // Prepare
    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 200, Payload: encode({ checks: 'all good' }) });

    // Act
    const checking = rds.dataChecks?.({
      clients: drClients(),
      resourceArn: RESTORED_DB_ARN,
      drill: rdsDrill(),
      config,
      checks,
      recoveryPointCreatedAt,
    });

    // Assess
    await expect(checking).rejects.toBeInstanceOf(UnexpectedRecord);
  });
});
