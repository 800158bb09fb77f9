import { parseArn, resourceIdFromArn } from '../lib/arn.js';
import type { AccountClients } from '../lib/clients.js';
import { ResourceNotReady, UnexpectedRecord } from '../lib/errors.js';
import { lazySdk } from './sdk/lazy.js';
import { dataChecksNotRun, probeDatabase } from './sql-probe.js';
import { check, drillResourceName, type ResourceModule, taggedCheck, tagList } from './types.js';

/** The redshift SDK, loaded on first use: only drills of this type pay for it (see docs/architecture.md). */
const redshiftSdk = lazySdk(() => import('./sdk/redshift.js'));

/** Cluster statuses that settle by themselves while a snapshot restore finishes. */
const TRANSITIONAL = new Set(['creating', 'restoring', 'modifying', 'rebooting', 'renaming', 'resizing']);

/**
 * Restore metadata that names things in the source account or region (its zone, parameter group, Elastic IP,
 * KMS key, HSM, IAM roles, snapshot schedule) and must not follow the restore into the DR account.
 */
const SOURCE_ONLY_KEYS = [
  'AvailabilityZone',
  'ClusterParameterGroupName',
  'ClusterSecurityGroups',
  'DefaultIamRoleArn',
  'ElasticIp',
  'HsmClientCertificateIdentifier',
  'HsmConfigurationIdentifier',
  'IamRoles',
  'KmsKeyId',
  'MaintenanceTrackName',
  'OwnerAccount',
  'SnapshotScheduleIdentifier',
];

/**
 * Cluster identifiers: lower-case letters, digits and hyphens, start with a letter, at most 63 characters,
 * no two consecutive hyphens, not ending in one.
 */
export function clusterIdentifierFor(drillId: string): string {
  return drillResourceName(drillId, 63).replace(/-{2,}/g, '-');
}

/** By name: the SDK's error classes live in the lazily loaded SDK, and an SDK service error is named as its class. */
function isNotFound(error: unknown): boolean {
  return error instanceof Error && ['ClusterNotFoundFault', 'ResourceNotFoundFault'].includes(error.name);
}

/**
 * Amazon Redshift provisioned clusters. AWS Backup's recovery points are cluster snapshots
 * (`arn:aws:redshift:REGION:ACCOUNT:snapshot:CLUSTER/awsbackup:job-…`); a restore creates a cluster
 * (`arn:aws:redshift:REGION:ACCOUNT:cluster:ID`) in the DR VPC's cluster subnet group.
 */
export const redshift: ResourceModule = {
  type: 'Redshift',
  taggingTypes: ['redshift:cluster'],
  // The ARN form of this type's recovery points, where the service names them (not AWS Backup's `recovery-point:`).
  ownsRecoveryPoint: (arn) =>
    parseArn(arn)?.service === 'redshift' && (parseArn(arn)?.resource ?? '').startsWith('snapshot:'),
  owns: (arn) => {
    const parsed = parseArn(arn);
    return parsed?.service === 'redshift' && /^cluster:[a-z][a-z0-9-]{0,62}$/.test(parsed.resource);
  },
  // Restoring a cluster snapshot loads the data in the background for hours on large clusters; the cluster
  // stays 'restoring'/'modifying' meanwhile.
  readiness: { budgetSeconds: 6 * 3600 },
  typicalRestore: { seconds: 5400, perGiBSeconds: 0 },

  restoreMetadata(base, drill, config) {
    const metadata = { ...base };
    for (const key of SOURCE_ONLY_KEYS) delete metadata[key];
    return {
      ...metadata,
      ClusterIdentifier: clusterIdentifierFor(drill.drillId),
      ClusterSubnetGroupName: config.RESTORE_REDSHIFT_SUBNET_GROUP,
      VpcSecurityGroupIds: JSON.stringify(config.RESTORE_SECURITY_GROUP_IDS),
      PubliclyAccessible: 'false',
      // Traffic to and from the cluster (COPY, UNLOAD) stays inside the DR VPC.
      EnhancedVpcRouting: 'true',
      Encrypted: 'true',
      // A drill cluster takes no snapshots of its own: nothing of it outlives the drill.
      AutomatedSnapshotRetentionPeriod: '0',
    };
  },

  async tag(clients, resourceArn, tags) {
    const { CreateTagsCommand, RedshiftClient } = await redshiftSdk();
    await clients
      .client(RedshiftClient)
      .send(new CreateTagsCommand({ ResourceName: resourceArn, Tags: tagList(tags) }));
  },

  async readTags(clients, resourceArn) {
    const { DescribeTagsCommand, RedshiftClient } = await redshiftSdk();
    try {
      const result = await clients
        .client(RedshiftClient)
        .send(new DescribeTagsCommand({ ResourceName: resourceArn }));
      return Object.fromEntries(
        (result.TaggedResources ?? []).map((tagged) => [tagged.Tag?.Key ?? '', tagged.Tag?.Value ?? '']),
      );
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  },

  async checkHealth({ clients, resourceArn, expected, drill, config }) {
    const identifier = resourceIdFromArn(resourceArn);
    let cluster: Awaited<ReturnType<typeof describe>>;
    try {
      cluster = await describe(clients, identifier);
    } catch (error) {
      if (isNotFound(error)) return [check('resource-exists', false, `cluster ${identifier} not found`)];
      throw error;
    }
    if (!cluster) return [check('resource-exists', false, `cluster ${identifier} not found`)];
    const status = cluster.ClusterStatus ?? 'unknown';
    if (TRANSITIONAL.has(status)) throw new ResourceNotReady(`cluster ${identifier} is ${status}`);

    const tags = (await redshift.readTags(clients, resourceArn)) ?? {};
    const securityGroups = (cluster.VpcSecurityGroups ?? []).map((group) => group.VpcSecurityGroupId ?? '');
    const outsideGroups = securityGroups.filter((id) => !config.RESTORE_SECURITY_GROUP_IDS.includes(id));
    const expectedNodes = Number(expected.NumberOfNodes);
    const expectedType = expected.NodeType;

    return [
      check('resource-available', status === 'available', `ClusterStatus is ${status}`),
      check(
        'isolated-network',
        cluster.PubliclyAccessible === false &&
          cluster.ElasticIpStatus === undefined &&
          cluster.ClusterSubnetGroupName === config.RESTORE_REDSHIFT_SUBNET_GROUP &&
          outsideGroups.length === 0,
        `public=${cluster.PubliclyAccessible} elasticIp=${cluster.ElasticIpStatus?.ElasticIp ?? 'none'} subnetGroup=${cluster.ClusterSubnetGroupName} securityGroups=${securityGroups.join(',')}`,
      ),
      check('encrypted', cluster.Encrypted === true, `Encrypted=${cluster.Encrypted}`),
      taggedCheck(tags, drill.drillId),
      check(
        'data-integrity',
        (!expectedType || cluster.NodeType === expectedType) &&
          (!Number.isFinite(expectedNodes) || cluster.NumberOfNodes === expectedNodes),
        `${cluster.NumberOfNodes} × ${cluster.NodeType} (backup: ${expected.NumberOfNodes ?? 'n/a'} × ${expectedType ?? 'n/a'})`,
      ),
    ];
  },

  // SQL through the probe, over Redshift's PostgreSQL wire protocol. The probe logs in as the cluster's master
  // user with temporary credentials it asks Redshift for itself (GetClusterCredentials): no password is set,
  // stored, or passed through here (docs/validation.md).
  async dataChecks({ clients, resourceArn, config, checks, recoveryPointCreatedAt }) {
    const identifier = resourceIdFromArn(resourceArn);
    let cluster: Awaited<ReturnType<typeof describe>>;
    try {
      cluster = await describe(clients, identifier);
    } catch (error) {
      if (!isNotFound(error)) throw error;
      throw new UnexpectedRecord(`Redshift cluster ${identifier} not found for its data checks`, {
        cause: error,
      });
    }
    if (!cluster) throw new UnexpectedRecord(`Redshift cluster ${identifier} not found for its data checks`);
    const status = cluster.ClusterStatus ?? 'unknown';
    if (status !== 'available')
      return dataChecksNotRun(`Redshift cluster ${identifier}`, status, 'Redshift cluster');
    return probeDatabase({
      clients,
      config,
      target: {
        label: `Redshift cluster ${identifier}`,
        engine: 'redshift',
        address: cluster.Endpoint?.Address,
        port: cluster.Endpoint?.Port,
        database: cluster.DBName,
        redshift: { clusterIdentifier: identifier, dbUser: cluster.MasterUsername },
      },
      checks,
      recoveryPointCreatedAt,
    });
  },

  async lifecycle(clients, resourceArn) {
    try {
      const cluster = await describe(clients, resourceIdFromArn(resourceArn));
      const status = cluster?.ClusterStatus;
      if (status === undefined) return 'gone';
      return status === 'deleting' || status === 'final-snapshot' ? 'deleting' : 'present';
    } catch (error) {
      if (isNotFound(error)) return 'gone';
      throw error;
    }
  },

  async delete(clients, resourceArn) {
    const { DeleteClusterCommand, RedshiftClient } = await redshiftSdk();
    try {
      await clients.client(RedshiftClient).send(
        new DeleteClusterCommand({
          ClusterIdentifier: resourceIdFromArn(resourceArn),
          SkipFinalClusterSnapshot: true,
        }),
      );
      return { status: 'deleted', deleted: [resourceArn] };
    } catch (error) {
      if (isNotFound(error)) return { status: 'already-gone', deleted: [] };
      throw error;
    }
  },
};

async function describe(clients: AccountClients, identifier: string) {
  const { DescribeClustersCommand, RedshiftClient } = await redshiftSdk();
  const result = await clients
    .client(RedshiftClient)
    .send(new DescribeClustersCommand({ ClusterIdentifier: identifier }));
  return result.Clusters?.[0];
}
