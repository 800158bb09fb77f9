import type { DBInstance, RDSClient } from '@aws-sdk/client-rds';
import { parseArn, resourceIdFromArn } from '../lib/arn.js';
import { ResourceNotReady, UnexpectedRecord } from '../lib/errors.js';
import { lazySdk } from './sdk/lazy.js';
import { dataChecksNotRun, probeDatabase } from './sql-probe.js';
import { check, drillResourceName, type ResourceModule, taggedCheck, tagList, tagsOf } from './types.js';

/** The RDS SDK, loaded on first use: only drills of this type pay for it (see docs/architecture.md). */
const rdsSdk = lazySdk(() => import('./sdk/rds.js'));

/** RDS instance statuses that settle by themselves shortly after a restore. */
const TRANSITIONAL = new Set([
  'creating',
  'backing-up',
  'modifying',
  'configuring-enhanced-monitoring',
  'configuring-log-exports',
  'rebooting',
  'resetting-master-credentials',
  'renaming',
  'starting',
  'storage-optimization',
  'upgrading',
]);

/** Metadata that names things in the source account or region and must not follow the restore. */
const SOURCE_ONLY_KEYS = [
  'AvailabilityZone',
  'OptionGroupName',
  'DBParameterGroupName',
  'DBClusterIdentifier',
];

/**
 * Gives the drill copy a fresh master password that only the DR account knows (an RDS-managed secret in its
 * Secrets Manager), so the probe never uses a production credential. Idempotent: once the instance has an
 * active managed secret it returns its ARN; until then it asks for one (once) and throws ResourceNotReady.
 */
export async function ensureDrillPassword(rdsClient: RDSClient, instance: DBInstance): Promise<string> {
  const sdk = await rdsSdk();
  const identifier = instance.DBInstanceIdentifier ?? '';
  const secret = instance.MasterUserSecret;
  if (secret?.SecretArn && secret.SecretStatus === 'active') return secret.SecretArn;
  if (secret?.SecretArn)
    throw new ResourceNotReady(`DB instance ${identifier}: its master user secret is ${secret.SecretStatus}`);
  try {
    await rdsClient.send(
      new sdk.ModifyDBInstanceCommand({
        DBInstanceIdentifier: identifier,
        ManageMasterUserPassword: true,
        ApplyImmediately: true,
      }),
    );
  } catch (error) {
    // Another attempt already started the change (the instance is no longer 'available'): wait for it.
    if (error instanceof sdk.InvalidDBInstanceStateFault)
      throw new ResourceNotReady(`DB instance ${identifier} is changing: ${error.message}`, { cause: error });
    throw error;
  }
  throw new ResourceNotReady(`DB instance ${identifier}: a fresh master password is being set`);
}

/** DB instance identifiers: letters, digits, hyphens; start with a letter; at most 63 characters. */
export function instanceIdentifierFor(drillId: string): string {
  return drillResourceName(drillId, 63);
}

export const rds: ResourceModule = {
  type: 'RDS',
  taggingTypes: ['rds:db'],
  // The ARN form of this type's recovery points, where the service names them (not AWS Backup's `recovery-point:`).
  ownsRecoveryPoint: (arn) =>
    parseArn(arn)?.service === 'rds' && (parseArn(arn)?.resource ?? '').startsWith('snapshot:'),
  owns: (arn) => {
    const parsed = parseArn(arn);
    return parsed?.service === 'rds' && /^db:[a-z][a-z0-9-]*$/.test(parsed.resource);
  },
  // RDS takes an automated backup of a restored instance before it is available: minutes, an hour at most.
  readiness: { budgetSeconds: 3 * 3600 },
  typicalRestore: { seconds: 3300, perGiBSeconds: 0 },

  restoreMetadata(base, drill, config) {
    const metadata = { ...base };
    for (const key of SOURCE_ONLY_KEYS) delete metadata[key];
    return {
      ...metadata,
      DBInstanceIdentifier: instanceIdentifierFor(drill.drillId),
      DBSubnetGroupName: config.RESTORE_DB_SUBNET_GROUP,
      VpcSecurityGroupIds: JSON.stringify(config.RESTORE_SECURITY_GROUP_IDS),
      PubliclyAccessible: 'false',
      DeletionProtection: 'false',
      MultiAZ: 'false',
      CopyTagsToSnapshot: 'false',
    };
  },

  async tag(clients, resourceArn, tags) {
    const sdk = await rdsSdk();
    await clients.client(sdk.RDSClient).send(
      new sdk.AddTagsToResourceCommand({
        ResourceName: resourceArn,
        Tags: tagList(tags),
      }),
    );
  },

  async readTags(clients, resourceArn) {
    const sdk = await rdsSdk();
    try {
      const result = await clients
        .client(sdk.RDSClient)
        .send(new sdk.ListTagsForResourceCommand({ ResourceName: resourceArn }));
      return tagsOf(result.TagList);
    } catch (error) {
      if (error instanceof sdk.DBInstanceNotFoundFault) return undefined;
      throw error;
    }
  },

  async checkHealth({ clients, resourceArn, expected, drill, config }) {
    const sdk = await rdsSdk();
    const identifier = resourceIdFromArn(resourceArn);
    const result = await clients
      .client(sdk.RDSClient)
      .send(new sdk.DescribeDBInstancesCommand({ DBInstanceIdentifier: identifier }));
    const instance = result.DBInstances?.[0];
    if (!instance) return [check('resource-exists', false, `DB instance ${identifier} not found`)];
    const status = instance.DBInstanceStatus ?? 'unknown';
    if (TRANSITIONAL.has(status)) throw new ResourceNotReady(`DB instance ${identifier} is ${status}`);
    // Before anything connects: the drill copy's own password, in the DR account's Secrets Manager.
    if (status === 'available') await ensureDrillPassword(clients.client(sdk.RDSClient), instance);

    const tags = tagsOf(instance.TagList);
    const securityGroups = (instance.VpcSecurityGroups ?? []).map((group) => group.VpcSecurityGroupId ?? '');
    const outsideGroups = securityGroups.filter((id) => !config.RESTORE_SECURITY_GROUP_IDS.includes(id));
    const subnetGroup = instance.DBSubnetGroup?.DBSubnetGroupName;
    const expectedStorage = Number(expected.AllocatedStorage);
    const expectedEngine = expected.Engine;

    return [
      check('resource-available', status === 'available', `DBInstanceStatus is ${status}`),
      check(
        'endpoint-reachable',
        Boolean(instance.Endpoint?.Address && instance.Endpoint.Port),
        instance.Endpoint?.Address ? `${instance.Endpoint.Address}:${instance.Endpoint.Port}` : 'no endpoint',
      ),
      check(
        'isolated-network',
        instance.PubliclyAccessible === false &&
          subnetGroup === config.RESTORE_DB_SUBNET_GROUP &&
          outsideGroups.length === 0,
        `public=${instance.PubliclyAccessible} subnetGroup=${subnetGroup} securityGroups=${securityGroups.join(',')}`,
      ),
      taggedCheck(tags, drill.drillId),
      check(
        'data-integrity',
        (!expectedEngine || instance.Engine === expectedEngine) &&
          (!Number.isFinite(expectedStorage) || instance.AllocatedStorage === expectedStorage),
        `engine ${instance.Engine} (backup: ${expectedEngine ?? 'n/a'}), storage ${instance.AllocatedStorage} GiB (backup: ${expected.AllocatedStorage ?? 'n/a'} GiB)`,
      ),
    ];
  },

  async connection(clients, resourceArn) {
    const sdk = await rdsSdk();
    const result = await clients
      .client(sdk.RDSClient)
      .send(new sdk.DescribeDBInstancesCommand({ DBInstanceIdentifier: resourceIdFromArn(resourceArn) }));
    const instance = result.DBInstances?.[0];
    return {
      address: instance?.Endpoint?.Address,
      port: instance?.Endpoint?.Port,
      database: instance?.DBName,
      secretArn: instance?.MasterUserSecret?.SecretArn,
    };
  },

  async dataChecks({ clients, resourceArn, config, checks, recoveryPointCreatedAt }) {
    const sdk = await rdsSdk();
    const identifier = resourceIdFromArn(resourceArn);
    const result = await clients
      .client(sdk.RDSClient)
      .send(new sdk.DescribeDBInstancesCommand({ DBInstanceIdentifier: identifier }));
    const instance = result.DBInstances?.[0];
    if (!instance) throw new UnexpectedRecord(`DB instance ${identifier} not found for its data checks`);
    const status = instance.DBInstanceStatus ?? 'unknown';
    if (status !== 'available') return dataChecksNotRun(`DB instance ${identifier}`, status, 'instance');
    return probeDatabase({
      clients,
      config,
      target: {
        label: `DB instance ${identifier}`,
        engine: instance.Engine ?? '',
        address: instance.Endpoint?.Address,
        port: instance.Endpoint?.Port,
        secretArn: instance.MasterUserSecret?.SecretArn,
        database: instance.DBName,
      },
      checks,
      recoveryPointCreatedAt,
    });
  },

  async lifecycle(clients, resourceArn) {
    const sdk = await rdsSdk();
    try {
      const result = await clients
        .client(sdk.RDSClient)
        .send(new sdk.DescribeDBInstancesCommand({ DBInstanceIdentifier: resourceIdFromArn(resourceArn) }));
      const status = result.DBInstances?.[0]?.DBInstanceStatus;
      if (status === undefined) return 'gone';
      return status === 'deleting' ? 'deleting' : 'present';
    } catch (error) {
      if (error instanceof sdk.DBInstanceNotFoundFault) return 'gone';
      throw error;
    }
  },

  async delete(clients, resourceArn) {
    const sdk = await rdsSdk();
    const identifier = resourceIdFromArn(resourceArn);
    try {
      await clients.client(sdk.RDSClient).send(
        new sdk.DeleteDBInstanceCommand({
          DBInstanceIdentifier: identifier,
          SkipFinalSnapshot: true,
          DeleteAutomatedBackups: true,
        }),
      );
      return { status: 'deleted', deleted: [resourceArn] };
    } catch (error) {
      if (error instanceof sdk.DBInstanceNotFoundFault) return { status: 'already-gone', deleted: [] };
      throw error;
    }
  },
};
