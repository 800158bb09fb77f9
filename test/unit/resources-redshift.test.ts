import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  type Cluster,
  ClusterNotFoundFault,
  CreateTagsCommand,
  DeleteClusterCommand,
  DescribeClustersCommand,
  DescribeTagsCommand,
  RedshiftClient,
} from '@aws-sdk/client-redshift';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { drClients } from '../../functions/lib/clients.js';
import { config } from '../../functions/lib/config.js';
import { DataProbeFailed, ResourceNotReady } from '../../functions/lib/errors.js';
import { clusterIdentifierFor, redshift } from '../../functions/resources/redshift.js';
import { probeFunctionArn } from '../../functions/resources/sql-probe.js';
import { DRILL_ID, probeOrdersCheck, rdsDrill } from './support.js';

const client = mockClient(RedshiftClient);
const lambdaMock = mockClient(LambdaClient);

const CLUSTER_ID = 'pl-rds-20260105t0157-5b0c1f2e9a';
const RESTORED_CLUSTER_ARN = `arn:aws:redshift:us-west-2:333333333333:cluster:${CLUSTER_ID}`;

const SOURCE_METADATA: Record<string, string> = {
  ClusterIdentifier: 'analytics',
  NodeType: 'ra3.xlplus',
  NumberOfNodes: '2',
  Port: '5439',
  AvailabilityZone: 'us-east-2a',
  ClusterSubnetGroupName: 'prod-analytics',
  VpcSecurityGroupIds: '["sg-0f00d0prod0000002"]',
  ClusterParameterGroupName: 'prod-analytics-params',
  ElasticIp: '203.0.113.10',
  PubliclyAccessible: 'true',
  Encrypted: 'true',
  KmsKeyId: 'arn:aws:kms:us-east-2:111111111111:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b',
  IamRoles: '["arn:aws:iam::111111111111:role/redshift-copy"]',
  AutomatedSnapshotRetentionPeriod: '7',
};

function healthyCluster(overrides: Partial<Cluster> = {}): Cluster {
  return {
    ClusterIdentifier: CLUSTER_ID,
    ClusterStatus: 'available',
    NodeType: 'ra3.xlplus',
    NumberOfNodes: 2,
    PubliclyAccessible: false,
    ClusterSubnetGroupName: 'pilotlight-restore-redshift',
    VpcSecurityGroups: [{ VpcSecurityGroupId: 'sg-0a1b2c3d4e5f60718', Status: 'active' }],
    Encrypted: true,
    ...overrides,
  };
}

function failedChecks(checks: { name: string; passed: boolean }[]): string[] {
  return checks.filter((check) => !check.passed).map((check) => check.name);
}

async function checkHealthOf(cluster: Cluster, tags = [{ Key: 'pilotlight:drill-id', Value: DRILL_ID }]) {
  client.on(DescribeClustersCommand).resolves({ Clusters: [cluster] });
  client.on(DescribeTagsCommand).resolves({
    TaggedResources: tags.map((Tag) => ({
      Tag,
      ResourceName: RESTORED_CLUSTER_ARN,
      ResourceType: 'cluster',
    })),
  });
  return redshift.checkHealth({
    clients: drClients(),
    resourceArn: RESTORED_CLUSTER_ARN,
    expected: { NodeType: 'ra3.xlplus', NumberOfNodes: '2' },
    drill: rdsDrill(),
    config,
  });
}

const notFound = () => new ClusterNotFoundFault({ message: 'Cluster not found.', $metadata: {} });

beforeEach(() => {
  client.reset();
});

describe('redshift.owns', () => {
  it('claims cluster ARNs and nothing else', () => {
    expect(redshift.owns(RESTORED_CLUSTER_ARN)).toBe(true);
    expect(redshift.owns('arn:aws:redshift:us-west-2:333333333333:snapshot:analytics/awsbackup:job-1')).toBe(
      false,
    );
    expect(redshift.owns('arn:aws:rds:us-west-2:333333333333:cluster:pl-aurora')).toBe(false);
  });
});

describe('redshift.restoreMetadata', () => {
  it('lands the cluster private in the DR subnet group and security groups, encrypted, without source-only settings', () => {
    // Prepare
    const drill = rdsDrill();

    // Act
    const metadata = redshift.restoreMetadata(SOURCE_METADATA, drill, config);

    // Assess
    expect(metadata).toEqual({
      ClusterIdentifier: CLUSTER_ID,
      NodeType: 'ra3.xlplus',
      NumberOfNodes: '2',
      Port: '5439',
      ClusterSubnetGroupName: 'pilotlight-restore-redshift',
      VpcSecurityGroupIds: '["sg-0a1b2c3d4e5f60718"]',
      PubliclyAccessible: 'false',
      EnhancedVpcRouting: 'true',
      Encrypted: 'true',
      AutomatedSnapshotRetentionPeriod: '0',
    });
    for (const key of ['ElasticIp', 'KmsKeyId', 'AvailabilityZone', 'ClusterParameterGroupName', 'IamRoles'])
      expect(metadata).not.toHaveProperty(key);
  });

  it('names the cluster as Redshift allows: lower case, no double hyphens, at most 63 characters', () => {
    const identifier = clusterIdentifierFor(`Redshift--${'x'.repeat(80)}`);

    expect(identifier).toMatch(/^[a-z][a-z0-9-]{0,62}$/);
    expect(identifier).not.toContain('--');
    expect(identifier.endsWith('-')).toBe(false);
  });
});

describe('redshift.tag and readTags', () => {
  it('tags the cluster by its ARN with the Redshift tagging API', async () => {
    client.on(CreateTagsCommand).resolves({});

    await redshift.tag(drClients(), RESTORED_CLUSTER_ARN, { 'pilotlight:managed': 'true' });

    expect(client).toHaveReceivedCommandWith(CreateTagsCommand, {
      ResourceName: RESTORED_CLUSTER_ARN,
      Tags: [{ Key: 'pilotlight:managed', Value: 'true' }],
    });
  });

  it('reads no tags of a cluster that is gone', async () => {
    client.on(DescribeTagsCommand).rejects(notFound());

    await expect(redshift.readTags(drClients(), RESTORED_CLUSTER_ARN)).resolves.toBeUndefined();
  });
});

describe('redshift.checkHealth', () => {
  it.each(['creating', 'restoring', 'modifying'])(
    'throws ResourceNotReady while the cluster is %s',
    async (status) => {
      await expect(checkHealthOf(healthyCluster({ ClusterStatus: status }))).rejects.toBeInstanceOf(
        ResourceNotReady,
      );
    },
  );

  it('passes every check for an available, private, encrypted, tagged cluster of the backed-up shape', async () => {
    const checks = await checkHealthOf(healthyCluster());

    expect(checks.map((check) => check.name)).toEqual([
      'resource-available',
      'isolated-network',
      'encrypted',
      'tagged',
      'data-integrity',
    ]);
    expect(failedChecks(checks)).toEqual([]);
  });

  it('fails the availability check for a restore Redshift could not complete', async () => {
    const checks = await checkHealthOf(healthyCluster({ ClusterStatus: 'incompatible-restore' }));

    expect(failedChecks(checks)).toEqual(['resource-available']);
  });

  it.each([
    ['publicly accessible', { PubliclyAccessible: true }],
    ['with an Elastic IP', { ElasticIpStatus: { ElasticIp: '203.0.113.10', Status: 'active' } }],
    ['in another subnet group', { ClusterSubnetGroupName: 'prod-analytics' }],
    [
      "with a security group that is not the drill's",
      { VpcSecurityGroups: [{ VpcSecurityGroupId: 'sg-0f00d0prod0000002', Status: 'active' }] },
    ],
  ])('fails the isolation check for a cluster %s', async (_case, overrides: Partial<Cluster>) => {
    const checks = await checkHealthOf(healthyCluster(overrides));

    expect(failedChecks(checks)).toEqual(['isolated-network']);
  });

  it('fails the encryption check for an unencrypted cluster', async () => {
    const checks = await checkHealthOf(healthyCluster({ Encrypted: false }));

    expect(failedChecks(checks)).toEqual(['encrypted']);
  });

  it("fails the tag check for a cluster without this drill's tag", async () => {
    const checks = await checkHealthOf(healthyCluster(), []);

    expect(failedChecks(checks)).toEqual(['tagged']);
  });

  it('fails the data check when the node count or type differs from the backup', async () => {
    expect(failedChecks(await checkHealthOf(healthyCluster({ NumberOfNodes: 1 })))).toEqual([
      'data-integrity',
    ]);
    expect(failedChecks(await checkHealthOf(healthyCluster({ NodeType: 'dc2.large' })))).toEqual([
      'data-integrity',
    ]);
  });

  it('reports a single failed existence check when the cluster is not found', async () => {
    client.on(DescribeClustersCommand).rejects(notFound());

    const checks = await redshift.checkHealth({
      clients: drClients(),
      resourceArn: RESTORED_CLUSTER_ARN,
      expected: {},
      drill: rdsDrill(),
      config,
    });

    expect(checks).toEqual([
      { name: 'resource-exists', passed: false, detail: `cluster ${CLUSTER_ID} not found` },
    ]);
  });
});

describe('redshift.lifecycle and delete', () => {
  it('deletes the cluster without a final snapshot and reports it', async () => {
    client.on(DeleteClusterCommand).resolves({});

    const outcome = await redshift.delete(drClients(), RESTORED_CLUSTER_ARN);

    expect(outcome).toEqual({ status: 'deleted', deleted: [RESTORED_CLUSTER_ARN] });
    expect(client).toHaveReceivedCommandWith(DeleteClusterCommand, {
      ClusterIdentifier: CLUSTER_ID,
      SkipFinalClusterSnapshot: true,
    });
  });

  it('reports a cluster that is already gone', async () => {
    client.on(DeleteClusterCommand).rejects(notFound());

    await expect(redshift.delete(drClients(), RESTORED_CLUSTER_ARN)).resolves.toEqual({
      status: 'already-gone',
      deleted: [],
    });
  });

  it.each([
    ['available', 'present'],
    ['deleting', 'deleting'],
  ])('says a cluster that is %s is %s', async (status, lifecycle) => {
    client.on(DescribeClustersCommand).resolves({ Clusters: [healthyCluster({ ClusterStatus: status })] });

    await expect(redshift.lifecycle(drClients(), RESTORED_CLUSTER_ARN)).resolves.toBe(lifecycle);
  });

  it('says a cluster Redshift no longer finds is gone', async () => {
    client.on(DescribeClustersCommand).rejects(notFound());

    await expect(redshift.lifecycle(drClients(), RESTORED_CLUSTER_ARN)).resolves.toBe('gone');
  });
});

describe('redshift.dataChecks (through the probe in the DR account)', () => {
  const { checks, recoveryPointCreatedAt, report, encode } = probeOrdersCheck;
  const ENDPOINT = `${CLUSTER_ID}.c0ffee.us-west-2.redshift.amazonaws.com`;
  const availableCluster = (overrides: Partial<Cluster> = {}) =>
    healthyCluster({
      Endpoint: { Address: ENDPOINT, Port: 5439 },
      MasterUsername: 'awsuser',
      DBName: 'analytics',
      ...overrides,
    });
  const dataChecksOf = () =>
    redshift.dataChecks?.({
      clients: drClients(),
      resourceArn: RESTORED_CLUSTER_ARN,
      drill: rdsDrill(),
      config,
      checks,
      recoveryPointCreatedAt,
    });

  beforeEach(() => {
    client.reset();
    lambdaMock.reset();
    client.on(DescribeClustersCommand).resolves({ Clusters: [availableCluster()] });
  });

  it("invokes the DR account's probe with the endpoint, the cluster and its master user, and no password or secret", async () => {
    // Prepare
    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 200, Payload: encode(report) });

    // Act
    const result = await dataChecksOf();

    // Assess
    expect(result).toEqual(report);
    const sent = lambdaMock.commandCalls(InvokeCommand)[0]?.args[0].input;
    expect(sent?.FunctionName).toBe(probeFunctionArn(config));
    expect(JSON.parse(new TextDecoder().decode(sent?.Payload as Uint8Array))).toEqual({
      engine: 'redshift',
      host: ENDPOINT,
      port: 5439,
      database: 'analytics',
      clusterIdentifier: CLUSTER_ID,
      dbUser: 'awsuser',
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
    expect(client).toHaveReceivedCommandWith(DescribeClustersCommand, { ClusterIdentifier: CLUSTER_ID });
  });

  it("connects to Redshift's default database, dev, when the cluster names none", async () => {
    // Prepare
    client.on(DescribeClustersCommand).resolves({ Clusters: [availableCluster({ DBName: undefined })] });
    lambdaMock.on(InvokeCommand).resolves({ StatusCode: 200, Payload: encode(report) });

    // Act
    await dataChecksOf();

    // Assess
    const sent = lambdaMock.commandCalls(InvokeCommand)[0]?.args[0].input;
    expect(JSON.parse(new TextDecoder().decode(sent?.Payload as Uint8Array))).toMatchObject({
      database: 'dev',
    });
  });

  it('reports, without invoking the probe, that no data check could run on a cluster that is not available', async () => {
    // Prepare
    client.on(DescribeClustersCommand).resolves({
      Clusters: [availableCluster({ ClusterStatus: 'incompatible-restore', Endpoint: undefined })],
    });

    // Act
    const result = await dataChecksOf();

    // Assess
    expect(result?.checks).toEqual([
      {
        name: 'data checks ran',
        passed: false,
        observed: `not run: Redshift cluster ${CLUSTER_ID} is incompatible-restore`,
        expected: 'an available Redshift cluster',
      },
    ]);
    expect(lambdaMock).not.toHaveReceivedCommand(InvokeCommand);
  });

  it('waits (ResourceNotReady) for an available cluster that does not report its master user yet', async () => {
    // Prepare
    client
      .on(DescribeClustersCommand)
      .resolves({ Clusters: [availableCluster({ MasterUsername: undefined })] });

    // Act
    const checking = dataChecksOf();

    // Assess
    await expect(checking).rejects.toBeInstanceOf(ResourceNotReady);
    expect(lambdaMock).not.toHaveReceivedCommand(InvokeCommand);
  });

  it('fails the "database credentials" check, observed against expected, when the probe may not get credentials', async () => {
    // Prepare
    lambdaMock.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: encode({
        errorType: 'DatabaseCredentialsUnavailable',
        errorMessage: `cannot get temporary credentials for awsuser on Redshift cluster ${CLUSTER_ID}: AccessDenied: not authorized`,
      }),
    });

    // Act
    const result = await dataChecksOf();

    // Assess
    expect(result?.checks).toEqual([
      {
        name: 'database credentials',
        passed: false,
        observed: `data probe failed: DatabaseCredentialsUnavailable: cannot get temporary credentials for awsuser on Redshift cluster ${CLUSTER_ID}: AccessDenied: not authorized`,
        expected: 'temporary credentials for awsuser (redshift:GetClusterCredentials)',
      },
    ]);
  });

  it("throws DataProbeFailed with the probe's error type for any other probe failure", async () => {
    // Prepare
    lambdaMock.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: encode({ errorType: 'ProbeInputInvalid', errorMessage: 'probe input: dbUser: required' }),
    });

    // Act
    const error = await dataChecksOf()?.catch((caught: unknown) => caught);

    // Assess
    expect(error).toBeInstanceOf(DataProbeFailed);
    expect(error).toMatchObject({ errorType: 'ProbeInputInvalid' });
  });
});
