import type { DBCluster } from '@aws-sdk/client-rds';
import { parseArn, resourceIdFromArn } from '../lib/arn.js';
import type { AccountClients } from '../lib/clients.js';
import { drillTags } from '../lib/drill.js';
import { ResourceNotReady, UnexpectedRecord } from '../lib/errors.js';
import { lazySdk } from './sdk/lazy.js';
import { dataChecksNotRun, probeDatabase, sqlEngines } from './sql-probe.js';
import { check, drillResourceName, type ResourceModule, taggedCheck, tagList, tagsOf } from './types.js';

/**
 * The DB-cluster resource types (Aurora, DocumentDB, Neptune), built by one factory: AWS Backup restores the
 * cluster from a cluster snapshot, without any instance (AWS Backup, "Restoring an Amazon Aurora cluster"), so
 * Pilotlight creates one small drill instance in it to prove it serves, and deletes that instance before the
 * cluster. DocumentDB and Neptune clusters are managed through the RDS API (same endpoint, same `rds:` IAM
 * actions, same cluster ARN form), so all three use RDSClient.
 */
export interface ClusterTypeOptions {
  /** The AWS Backup resource type string. */
  type: string;
  /** The engines a cluster of this type runs (the `Engine` of CreateDBInstance must be the cluster's). */
  engines: readonly string[];
  /** The drill instance's class: the smallest every engine of the type offers. */
  instanceClass: string;
  /** Seconds after the restore job the cluster and its drill instance may take to become available. */
  budgetSeconds: number;
  /** ResourceModule.typicalRestore: the cluster restore, the drill instance, checks and teardown. */
  typicalRestore: { seconds: number; perGiBSeconds: number };
  /**
   * Whether the probe runs the validation profile's SQL against the cluster (Aurora PostgreSQL and MySQL):
   * the drill copy then gets its own RDS-managed master password first.
   */
  sqlDataChecks?: boolean;
}

/** The RDS SDK, loaded on first use: only drills of this type pay for it (see docs/architecture.md). */
const rdsSdk = lazySdk(() => import('./sdk/rds.js'));

/** Cluster statuses that settle by themselves (RDS User Guide, "Viewing DB cluster status"). */
const CLUSTER_TRANSITIONAL = new Set([
  'creating',
  'backing-up',
  'modifying',
  'migrating',
  'preparing-data-migration',
  'renaming',
  'resetting-master-credentials',
  'starting',
  'upgrading',
  'maintenance',
]);

/** Instance statuses that settle by themselves shortly after CreateDBInstance. */
const INSTANCE_TRANSITIONAL = new Set([
  'creating',
  'backing-up',
  'modifying',
  'configuring-enhanced-monitoring',
  'configuring-log-exports',
  'rebooting',
  'starting',
  'upgrading',
]);

/**
 * Restore metadata (RestoreDBClusterFromSnapshot's parameters, as GetRecoveryPointRestoreMetadata returns them)
 * that names things of the source account or its Availability Zones and must not follow the restore: the DR
 * account's defaults (default parameter and option groups, the key of the DR copy) apply instead.
 */
const SOURCE_ONLY_KEYS = [
  'AvailabilityZones',
  'DBClusterParameterGroupName',
  'OptionGroupName',
  'KmsKeyId',
  'Domain',
  'DomainIAMRoleName',
  'DBClusterInstanceClass',
  'EnableCloudwatchLogsExports',
];

/** DB cluster identifiers: letters, digits, hyphens; start with a letter; at most 63 characters. */
export function clusterIdentifierFor(drillId: string): string {
  return drillResourceName(drillId, 63);
}

/** The drill instance Pilotlight adds to the restored cluster (its own, distinguishable name). */
export function drillInstanceIdentifierFor(drillId: string): string {
  return drillResourceName(drillId, 63, '-i1');
}

// By name: the SDK's error classes live in the lazily loaded SDK, and an SDK service error is named as its class.
const isClusterGone = (error: unknown) => error instanceof Error && error.name === 'DBClusterNotFoundFault';
const isInstanceGone = (error: unknown) => error instanceof Error && error.name === 'DBInstanceNotFoundFault';

async function describeCluster(clients: AccountClients, identifier: string): Promise<DBCluster | undefined> {
  const sdk = await rdsSdk();
  try {
    const result = await clients
      .client(sdk.RDSClient)
      .send(new sdk.DescribeDBClustersCommand({ DBClusterIdentifier: identifier }));
    return result.DBClusters?.[0];
  } catch (error) {
    if (isClusterGone(error)) return undefined;
    throw error;
  }
}

/** The cluster's members as RDS reports them (instance identifier and status), skipping ones already gone. */
async function membersOf(clients: AccountClients, cluster: DBCluster) {
  const sdk = await rdsSdk();
  const members: { id: string; arn: string; status: string; publiclyAccessible: boolean | undefined }[] = [];
  for (const member of cluster.DBClusterMembers ?? []) {
    const id = member.DBInstanceIdentifier;
    if (!id) continue;
    try {
      const result = await clients
        .client(sdk.RDSClient)
        .send(new sdk.DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));
      const instance = result.DBInstances?.[0];
      if (instance)
        members.push({
          id,
          arn: instance.DBInstanceArn ?? '',
          status: instance.DBInstanceStatus ?? 'unknown',
          publiclyAccessible: instance.PubliclyAccessible,
        });
    } catch (error) {
      if (!isInstanceGone(error)) throw error;
    }
  }
  return members;
}

/**
 * Gives the drill copy of a cluster a fresh master password only the DR account knows (an RDS-managed secret,
 * ModifyDBCluster ManageMasterUserPassword), so the probe never uses a production credential. Idempotent:
 * returns once the cluster's managed secret is active; until then asks for one (once) and throws
 * ResourceNotReady.
 */
export async function ensureClusterPassword(clients: AccountClients, cluster: DBCluster): Promise<void> {
  const sdk = await rdsSdk();
  const identifier = cluster.DBClusterIdentifier ?? '';
  const secret = cluster.MasterUserSecret;
  if (secret?.SecretArn && secret.SecretStatus === 'active') return;
  if (secret?.SecretArn)
    throw new ResourceNotReady(`DB cluster ${identifier}: its master user secret is ${secret.SecretStatus}`);
  try {
    await clients.client(sdk.RDSClient).send(
      new sdk.ModifyDBClusterCommand({
        DBClusterIdentifier: identifier,
        ManageMasterUserPassword: true,
        ApplyImmediately: true,
      }),
    );
  } catch (error) {
    // Another attempt already started the change (the cluster is no longer 'available'): wait for it.
    if (error instanceof sdk.InvalidDBClusterStateFault)
      throw new ResourceNotReady(`DB cluster ${identifier} is changing: ${error.message}`, { cause: error });
    throw error;
  }
  throw new ResourceNotReady(`DB cluster ${identifier}: a fresh master password is being set`);
}

export function clusterModule(options: ClusterTypeOptions): ResourceModule {
  return {
    type: options.type,
    // The restored cluster, then the instance Pilotlight adds to it.
    taggingTypes: ['rds:cluster', 'rds:db'],
    // All three types restore to the same ARN form; whichever module the sweeper picks deletes it the same way.
    // The ARN form of this type's recovery points, where the service names them (not AWS Backup's `recovery-point:`).
    ownsRecoveryPoint: (arn) =>
      parseArn(arn)?.service === 'rds' && (parseArn(arn)?.resource ?? '').startsWith('cluster-snapshot:'),
    owns: (arn) => {
      const parsed = parseArn(arn);
      return parsed?.service === 'rds' && /^cluster:[a-z][a-z0-9-]*$/.test(parsed.resource);
    },
    readiness: { budgetSeconds: options.budgetSeconds },
    typicalRestore: options.typicalRestore,

    restoreMetadata(base, drill, config) {
      const overrides = {
        DBClusterIdentifier: clusterIdentifierFor(drill.drillId),
        DBSubnetGroupName: config.RESTORE_DB_SUBNET_GROUP,
        VpcSecurityGroupIds: JSON.stringify(config.RESTORE_SECURITY_GROUP_IDS),
        DeletionProtection: 'false',
        CopyTagsToSnapshot: 'false',
      };
      // AWS Backup reads restore metadata keys case-insensitively (its docs spell them dbSubnetGroupName,
      // this API's parameters DBSubnetGroupName): a key is dropped or replaced whatever its case, so no
      // source value can survive beside an override under another spelling.
      const replaced = new Set(
        [...SOURCE_ONLY_KEYS, ...Object.keys(overrides)].map((key) => key.toLowerCase()),
      );
      const kept = Object.entries(base).filter(([key]) => !replaced.has(key.toLowerCase()));
      return { ...Object.fromEntries(kept), ...overrides };
    },

    async tag(clients, resourceArn, tags) {
      const sdk = await rdsSdk();
      await clients
        .client(sdk.RDSClient)
        .send(new sdk.AddTagsToResourceCommand({ ResourceName: resourceArn, Tags: tagList(tags) }));
    },

    async readTags(clients, resourceArn) {
      const sdk = await rdsSdk();
      try {
        const result = await clients
          .client(sdk.RDSClient)
          .send(new sdk.ListTagsForResourceCommand({ ResourceName: resourceArn }));
        return tagsOf(result.TagList);
      } catch (error) {
        if (isClusterGone(error)) return undefined;
        throw error;
      }
    },

    async checkHealth({ clients, resourceArn, expected, drill, config }) {
      const sdk = await rdsSdk();
      const identifier = resourceIdFromArn(resourceArn);
      const cluster = await describeCluster(clients, identifier);
      if (!cluster) return [check('resource-exists', false, `DB cluster ${identifier} not found`)];
      const status = cluster.Status ?? 'unknown';
      if (CLUSTER_TRANSITIONAL.has(status))
        throw new ResourceNotReady(`DB cluster ${identifier} is ${status}`);

      const members = status === 'available' ? await membersOf(clients, cluster) : [];
      if (status === 'available' && members.length === 0) {
        // A restored cluster has no instance: the drill adds one, tagged at creation so that only this
        // drill's teardown (pilotlight:managed) can delete it. Another attempt may have created it already.
        const instanceId = drillInstanceIdentifierFor(drill.drillId);
        try {
          await clients.client(sdk.RDSClient).send(
            new sdk.CreateDBInstanceCommand({
              DBInstanceIdentifier: instanceId,
              DBClusterIdentifier: identifier,
              Engine: cluster.Engine,
              DBInstanceClass: options.instanceClass,
              PubliclyAccessible: false,
              Tags: tagList(drillTags(drill.drillId, drill.mode, config.DRILL_STATE_MACHINE_ARN)),
            }),
          );
        } catch (error) {
          if (!(error instanceof sdk.DBInstanceAlreadyExistsFault)) throw error;
        }
        throw new ResourceNotReady(`DB cluster ${identifier} has no instance yet: creating ${instanceId}`);
      }
      const notReady = members.find((member) => INSTANCE_TRANSITIONAL.has(member.status));
      if (notReady)
        throw new ResourceNotReady(`DB instance ${notReady.id} of ${identifier} is ${notReady.status}`);

      const instancesAvailable =
        members.length > 0 && members.every((member) => member.status === 'available');
      // Before anything connects: the drill copy's own password, in the DR account's Secrets Manager.
      if (
        options.sqlDataChecks &&
        status === 'available' &&
        instancesAvailable &&
        sqlEngines.has(cluster.Engine ?? '')
      )
        await ensureClusterPassword(clients, cluster);

      const tags = tagsOf(cluster.TagList);
      const securityGroups = (cluster.VpcSecurityGroups ?? []).map((group) => group.VpcSecurityGroupId ?? '');
      const outsideGroups = securityGroups.filter((id) => !config.RESTORE_SECURITY_GROUP_IDS.includes(id));
      const publicMembers = members
        .filter((member) => member.publiclyAccessible !== false)
        .map((member) => member.id);
      const engineOk =
        cluster.Engine !== undefined &&
        options.engines.includes(cluster.Engine) &&
        (!expected.Engine || cluster.Engine === expected.Engine);
      const versionOk = !expected.EngineVersion || cluster.EngineVersion === expected.EngineVersion;
      // A backup of an unencrypted cluster restores unencrypted; every other restore must be encrypted.
      const encryptionRequired = expected.StorageEncrypted !== 'false';

      return [
        check(
          'resource-available',
          status === 'available' && instancesAvailable,
          `cluster ${status}; instances ${members.map((member) => `${member.id}=${member.status}`).join(', ') || 'none'}`,
        ),
        check(
          'endpoint-reachable',
          Boolean(cluster.Endpoint && cluster.Port),
          cluster.Endpoint ? `${cluster.Endpoint}:${cluster.Port}` : 'no endpoint',
        ),
        check(
          'isolated-network',
          cluster.DBSubnetGroup === config.RESTORE_DB_SUBNET_GROUP &&
            outsideGroups.length === 0 &&
            securityGroups.length > 0 &&
            publicMembers.length === 0,
          `subnetGroup=${cluster.DBSubnetGroup} securityGroups=${securityGroups.join(',')} publicInstances=${publicMembers.join(',') || 'none'}`,
        ),
        check(
          'encrypted',
          cluster.StorageEncrypted === true || !encryptionRequired,
          `StorageEncrypted=${cluster.StorageEncrypted} (backup: ${expected.StorageEncrypted ?? 'n/a'})`,
        ),
        taggedCheck(tags, drill.drillId),
        check(
          'data-integrity',
          engineOk && versionOk,
          `engine ${cluster.Engine} ${cluster.EngineVersion} (backup: ${expected.Engine ?? 'n/a'} ${expected.EngineVersion ?? 'n/a'})`,
        ),
      ];
    },

    async connection(clients, resourceArn) {
      const cluster = await describeCluster(clients, resourceIdFromArn(resourceArn));
      return {
        address: cluster?.Endpoint,
        port: cluster?.Port,
        database: cluster?.DatabaseName,
        secretArn: cluster?.MasterUserSecret?.SecretArn,
      };
    },

    ...(options.sqlDataChecks
      ? {
          async dataChecks({ clients, resourceArn, config, checks, recoveryPointCreatedAt }) {
            const identifier = resourceIdFromArn(resourceArn);
            const cluster = await describeCluster(clients, identifier);
            if (!cluster)
              throw new UnexpectedRecord(`DB cluster ${identifier} not found for its data checks`);
            const status = cluster.Status ?? 'unknown';
            if (status !== 'available')
              return dataChecksNotRun(`DB cluster ${identifier}`, status, 'cluster');
            return probeDatabase({
              clients,
              config,
              target: {
                label: `DB cluster ${identifier}`,
                engine: cluster.Engine ?? '',
                address: cluster.Endpoint,
                port: cluster.Port,
                secretArn: cluster.MasterUserSecret?.SecretArn,
                database: cluster.DatabaseName,
              },
              checks,
              recoveryPointCreatedAt,
            });
          },
        }
      : {}),

    async lifecycle(clients, resourceArn) {
      const cluster = await describeCluster(clients, resourceIdFromArn(resourceArn));
      if (!cluster) return 'gone';
      if (cluster.Status === 'deleting') return 'deleting';
      const members = await membersOf(clients, cluster);
      // Instances go first; while one is being deleted there is nothing to do but wait.
      if (members.some((member) => member.status !== 'deleting')) return 'present';
      return members.length > 0 ? 'deleting' : 'present';
    },

    async delete(clients, resourceArn) {
      const sdk = await rdsSdk();
      const identifier = resourceIdFromArn(resourceArn);
      const cluster = await describeCluster(clients, identifier);
      if (!cluster) return { status: 'already-gone', deleted: [] };
      if (cluster.Status === 'deleting') return { status: 'deleted', deleted: [] };
      const members = await membersOf(clients, cluster);
      if (members.length > 0) {
        // RDS refuses to delete a cluster that still has instances: delete them, the cluster next time.
        const deleted: string[] = [];
        for (const member of members.filter((m) => m.status !== 'deleting')) {
          try {
            await clients
              .client(sdk.RDSClient)
              .send(new sdk.DeleteDBInstanceCommand({ DBInstanceIdentifier: member.id }));
            deleted.push(member.arn || member.id);
          } catch (error) {
            // Gone meanwhile: nothing more to ask. Any other refusal (an instance modifying, say) is teardown's
            // to report and retry, not to wait out silently.
            if (!isInstanceGone(error)) throw error;
          }
        }
        return { status: 'deleted', deleted };
      }
      try {
        await clients
          .client(sdk.RDSClient)
          .send(new sdk.DeleteDBClusterCommand({ DBClusterIdentifier: identifier, SkipFinalSnapshot: true }));
        return { status: 'deleted', deleted: [resourceArn] };
      } catch (error) {
        if (isClusterGone(error)) return { status: 'already-gone', deleted: [] };
        throw error;
      }
    },
  };
}
