import { parseArn, resourceIdFromArn } from '../lib/arn.js';
import { ResourceNotReady } from '../lib/errors.js';
import { lazySdk } from './sdk/lazy.js';
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
    const { AddTagsToResourceCommand, RDSClient } = await rdsSdk();
    await clients.client(RDSClient).send(
      new AddTagsToResourceCommand({
        ResourceName: resourceArn,
        Tags: tagList(tags),
      }),
    );
  },

  async readTags(clients, resourceArn) {
    const { DBInstanceNotFoundFault, ListTagsForResourceCommand, RDSClient } = await rdsSdk();
    try {
      const result = await clients
        .client(RDSClient)
        .send(new ListTagsForResourceCommand({ ResourceName: resourceArn }));
      return tagsOf(result.TagList);
    } catch (error) {
      if (error instanceof DBInstanceNotFoundFault) return undefined;
      throw error;
    }
  },

  async checkHealth({ clients, resourceArn, expected, drill, config }) {
    const { DescribeDBInstancesCommand, RDSClient } = await rdsSdk();
    const identifier = resourceIdFromArn(resourceArn);
    const result = await clients
      .client(RDSClient)
      .send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: identifier }));
    const instance = result.DBInstances?.[0];
    if (!instance) return [check('resource-exists', false, `DB instance ${identifier} not found`)];
    const status = instance.DBInstanceStatus ?? 'unknown';
    if (TRANSITIONAL.has(status)) throw new ResourceNotReady(`DB instance ${identifier} is ${status}`);

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

  async lifecycle(clients, resourceArn) {
    const { DBInstanceNotFoundFault, DescribeDBInstancesCommand, RDSClient } = await rdsSdk();
    try {
      const result = await clients
        .client(RDSClient)
        .send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: resourceIdFromArn(resourceArn) }));
      const status = result.DBInstances?.[0]?.DBInstanceStatus;
      if (status === undefined) return 'gone';
      return status === 'deleting' ? 'deleting' : 'present';
    } catch (error) {
      if (error instanceof DBInstanceNotFoundFault) return 'gone';
      throw error;
    }
  },

  async delete(clients, resourceArn) {
    const { DBInstanceNotFoundFault, DeleteDBInstanceCommand, RDSClient } = await rdsSdk();
    const identifier = resourceIdFromArn(resourceArn);
    try {
      await clients.client(RDSClient).send(
        new DeleteDBInstanceCommand({
          DBInstanceIdentifier: identifier,
          SkipFinalSnapshot: true,
          DeleteAutomatedBackups: true,
        }),
      );
      return { status: 'deleted', deleted: [resourceArn] };
    } catch (error) {
      if (error instanceof DBInstanceNotFoundFault) return { status: 'already-gone', deleted: [] };
      throw error;
    }
  },
};
