import { RdsState } from '../aws/rds.js';
import { SimulatedAwsError } from '../aws-errors.js';
import type { SandboxResourceType } from './types.js';

/** Amazon RDS DB instances (not Aurora): a restore creates one instance from a DB snapshot. */
export const rds: SandboxResourceType = {
  type: 'RDS',
  sizeGiB: (random) => 20 * random.int(1, 25),
  sourceResourceArn: ({ account, region, index }) => `arn:aws:rds:${region}:${account}:db:orders-db-${index}`,
  recoveryPointArn: ({ account, region, random, copy }) =>
    `arn:aws:rds:${region}:${account}:snapshot:awsbackup:${copy ? 'copyjob' : 'job'}-${random.uuid()}`,
  recoveryPointForm: {
    describe: 'arn:aws:rds:REGION:ACCOUNT:snapshot:awsbackup:…',
    fits: (arn) => arn.service === 'rds' && /^snapshot:awsbackup:[A-Za-z0-9-]+$/.test(arn.resource),
  },
  sourceMetadata: ({ resourceArn, region, sizeGiB }) => ({
    DBInstanceIdentifier: resourceArn.split(':').pop() ?? 'orders-db',
    DBInstanceClass: 'db.t4g.medium',
    Engine: 'postgres',
    AllocatedStorage: String(sizeGiB),
    StorageType: 'gp3',
    Port: '5432',
    AvailabilityZone: `${region}a`,
    DBSubnetGroupName: 'prod-private',
    VpcSecurityGroupIds: '["sg-0f00d0prod0000001"]',
    PubliclyAccessible: 'false',
    MultiAZ: 'true',
    DeletionProtection: 'true',
    CopyTagsToSnapshot: 'true',
  }),
  // Restoring a DB snapshot takes tens of minutes.
  restoreDurationMs: (random) => random.seconds(15 * 60, 55 * 60),

  validateRestore(world, caller, metadata) {
    const id = metadata.DBInstanceIdentifier;
    if (!id)
      throw new SimulatedAwsError(
        'InvalidParameterValueException',
        'Restore metadata needs DBInstanceIdentifier',
      );
    const taken = [...world.state(RdsState).instances.values()].some(
      (i) =>
        i.id === id && i.account === caller.account && i.region === caller.region && i.phase !== 'deleted',
    );
    if (taken)
      throw new SimulatedAwsError('InvalidParameterValueException', `DB instance ${id} already exists`);
  },

  quotaExceeded(world, job) {
    // Amazon RDS "DB instances": every instance in the account and Region counts, whatever restored it.
    const quota = world.settings.quotas['rds-db-instances'];
    const instances = [...world.state(RdsState).instances.values()].filter(
      (i) => i.account === job.account && i.region === job.region && i.phase !== 'deleted',
    ).length;
    if (instances >= quota)
      return `InstanceQuotaExceeded: the DB instance quota (${quota}) of ${job.account} in ${job.region} is reached`;
    return undefined;
  },

  restore(world, job, point, metadata) {
    const storage = Number(metadata.AllocatedStorage ?? 20);
    const instance = world.state(RdsState).addInstance(world, {
      account: job.account,
      region: job.region,
      id: metadata.DBInstanceIdentifier ?? `restored-${world.random.hex(8)}`,
      // Right after a restore RDS takes an automated backup before the instance is 'available'.
      status: world.faults.unhealthy ? 'failed' : 'backing-up',
      tags: {},
      engine: metadata.Engine ?? 'postgres',
      instanceClass: metadata.DBInstanceClass ?? 'db.t4g.medium',
      allocatedStorage: world.faults.corruptData ? Math.max(5, Math.floor(storage / 2)) : storage,
      publiclyAccessible: metadata.PubliclyAccessible === 'true',
      subnetGroup: metadata.DBSubnetGroupName,
      securityGroups: JSON.parse(metadata.VpcSecurityGroupIds ?? '[]') as string[],
      deletionProtection: metadata.DeletionProtection === 'true',
      port: Number(metadata.Port ?? 5432),
      // What the source database held at the recovery point (sandbox/engines/drill-databases.ts).
      restoredFrom: { sourceArn: point.resourceArn, createdAt: point.createdAt },
    });
    if (!world.faults.unhealthy) {
      world.clock.schedule(world.random.seconds(3 * 60, 9 * 60), () => {
        if (instance.status === 'backing-up') instance.status = 'available';
      });
    }
    return instance.arn;
  },

  present: (world, account) =>
    [...world.state(RdsState).instances.values()].filter(
      (i) => i.account === account && i.phase !== 'deleted' && i.clusterId === undefined,
    ).length,

  // Restore testing infers the identifier (awsbackup-restore-test-…), no deletion protection and a single AZ;
  // the DR account's selection overrides the subnet group and security groups into the isolated network.
  restoreTestMetadata: ({ metadata, name, region, network }) => ({
    ...metadata,
    DBInstanceIdentifier: name,
    AvailabilityZone: `${region}a`,
    DBSubnetGroupName: network.subnetGroup,
    VpcSecurityGroupIds: JSON.stringify(network.securityGroupIds),
    PubliclyAccessible: 'false',
    MultiAZ: 'false',
    DeletionProtection: 'false',
  }),
  restoreTestName: (arn) => /:db:([a-z][a-z0-9-]*)$/.exec(arn)?.[1],
  tagsRestoreTests: true,
};
