import {
  AddTagsToResourceCommand,
  DBInstanceNotFoundFault,
  DeleteDBInstanceCommand,
  DescribeDBInstancesCommand,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-rds';
import { ResourceNotReady } from '../lib/errors.js';
import { check, type ResourceModule, resourceIdFromArn } from './types.js';

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
  return `pl-${drillId.replace(/[^a-zA-Z0-9]+/g, '-').toLowerCase()}`.slice(0, 63).replace(/-+$/, '');
}

export const rds: ResourceModule = {
  type: 'RDS',
  taggingType: 'rds:db',

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
    await clients.rds.send(
      new AddTagsToResourceCommand({
        ResourceName: resourceArn,
        Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
  },

  async readTags(clients, resourceArn) {
    try {
      const result = await clients.rds.send(new ListTagsForResourceCommand({ ResourceName: resourceArn }));
      return Object.fromEntries((result.TagList ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']));
    } catch (error) {
      if (error instanceof DBInstanceNotFoundFault) return undefined;
      throw error;
    }
  },

  async checkHealth({ clients, resourceArn, expected, drillId, config }) {
    const identifier = resourceIdFromArn(resourceArn);
    const result = await clients.rds.send(
      new DescribeDBInstancesCommand({ DBInstanceIdentifier: identifier }),
    );
    const instance = result.DBInstances?.[0];
    if (!instance) return [check('resource-exists', false, `DB instance ${identifier} not found`)];
    const status = instance.DBInstanceStatus ?? 'unknown';
    if (TRANSITIONAL.has(status)) throw new ResourceNotReady(`DB instance ${identifier} is ${status}`);

    const tags = Object.fromEntries((instance.TagList ?? []).map((tag) => [tag.Key, tag.Value]));
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
      check(
        'tagged',
        tags['pilotlight:drill-id'] === drillId,
        `pilotlight:drill-id=${tags['pilotlight:drill-id'] ?? '(missing)'}`,
      ),
      check(
        'data-integrity',
        (!expectedEngine || instance.Engine === expectedEngine) &&
          (!Number.isFinite(expectedStorage) || instance.AllocatedStorage === expectedStorage),
        `engine ${instance.Engine} (backup: ${expectedEngine ?? 'n/a'}), storage ${instance.AllocatedStorage} GiB (backup: ${expected.AllocatedStorage ?? 'n/a'} GiB)`,
      ),
    ];
  },

  async lifecycle(clients, resourceArn) {
    try {
      const result = await clients.rds.send(
        new DescribeDBInstancesCommand({ DBInstanceIdentifier: resourceIdFromArn(resourceArn) }),
      );
      const status = result.DBInstances?.[0]?.DBInstanceStatus;
      if (status === undefined) return 'gone';
      return status === 'deleting' ? 'deleting' : 'present';
    } catch (error) {
      if (error instanceof DBInstanceNotFoundFault) return 'gone';
      throw error;
    }
  },

  async delete(clients, resourceArn) {
    try {
      await clients.rds.send(
        new DeleteDBInstanceCommand({
          DBInstanceIdentifier: resourceIdFromArn(resourceArn),
          SkipFinalSnapshot: true,
          DeleteAutomatedBackups: true,
        }),
      );
      return 'deleted';
    } catch (error) {
      if (error instanceof DBInstanceNotFoundFault) return 'already-gone';
      throw error;
    }
  },
};
