import { RdsState } from '../aws/rds.js';
import { SimulatedAwsError } from '../aws-errors.js';
import type { Random } from '../random.js';
import type { SandboxResourceType } from './types.js';

/**
 * The DB-cluster types (Aurora, DocumentDB, Neptune) as the sandbox simulates them, built by one factory
 * (mirroring functions/resources/db-cluster.ts): a restore of a cluster snapshot creates the cluster alone;
 * the drill instance comes from Pilotlight's CreateDBInstance (sandbox/aws/rds.ts).
 */
export interface ClusterSimulation {
  type: string;
  /** The engine of the production clusters backed up, and the other engines of the type. */
  engines: readonly string[];
  /** The engine version of the backup, and the one a restore lands on when the data fault is set. */
  engineVersion: string;
  otherEngineVersion: string;
  port: number;
  /** The production cluster's name (`orders-aurora`): the source ARN is `cluster:NAME-INDEX`. */
  sourceName: string;
  /** Size of a backup in GiB. */
  sizeGiB: (random: Random) => number;
}

export function clusterSimulation(options: ClusterSimulation): SandboxResourceType {
  const engine = options.engines[0] ?? '';
  const ofType = (engineName: string) => options.engines.includes(engineName);
  return {
    type: options.type,
    sizeGiB: options.sizeGiB,
    sourceResourceArn: ({ account, region, index }) =>
      `arn:aws:rds:${region}:${account}:cluster:${options.sourceName}-${index}`,
    // AWS Backup's recovery point of a DB cluster is a cluster snapshot it names awsbackup:job-… (copyjob-… for
    // a copy), for Aurora, DocumentDB and Neptune alike.
    recoveryPointArn: ({ account, region, random, copy }) =>
      `arn:aws:rds:${region}:${account}:cluster-snapshot:awsbackup:${copy ? 'copyjob' : 'job'}-${random.uuid()}`,
    recoveryPointForm: {
      describe: 'arn:aws:rds:REGION:ACCOUNT:cluster-snapshot:awsbackup:…',
      fits: (arn) => arn.service === 'rds' && /^cluster-snapshot:awsbackup:[A-Za-z0-9-]+$/.test(arn.resource),
    },
    // RestoreDBClusterFromSnapshot's parameters, as the production cluster had them.
    sourceMetadata: ({ resourceArn, account, region, random }) => ({
      DBClusterIdentifier: resourceArn.split(':').pop() ?? options.sourceName,
      Engine: engine,
      EngineVersion: options.engineVersion,
      EngineMode: 'provisioned',
      Port: String(options.port),
      AvailabilityZones: JSON.stringify([`${region}a`, `${region}b`, `${region}c`]),
      DBSubnetGroupName: 'prod-private',
      VpcSecurityGroupIds: '["sg-0f00d0prod0000001"]',
      DBClusterParameterGroupName: `${options.sourceName}-params`,
      StorageEncrypted: 'true',
      KmsKeyId: `arn:aws:kms:${region}:${account}:key/${random.uuid()}`,
      DeletionProtection: 'true',
      CopyTagsToSnapshot: 'true',
    }),
    // A cluster restore rebuilds the cluster volume: twenty minutes for a small one, up to an hour and a half.
    restoreDurationMs: (random, sizeGiB) =>
      Math.min(90 * 60_000, random.seconds(20 * 60, 30 * 60) + Math.round(sizeGiB * 1500)),

    validateRestore(world, caller, metadata) {
      const id = metadata.DBClusterIdentifier;
      if (!id)
        throw new SimulatedAwsError(
          'InvalidParameterValueException',
          'Restore metadata needs DBClusterIdentifier',
        );
      const taken = [...world.state(RdsState).clusters.values()].some(
        (c) =>
          c.id === id && c.account === caller.account && c.region === caller.region && c.phase !== 'deleted',
      );
      if (taken)
        throw new SimulatedAwsError('InvalidParameterValueException', `DB cluster ${id} already exists`);
    },

    quotaExceeded(world, job) {
      // Amazon RDS "DB clusters": Aurora, DocumentDB and Neptune clusters of the account and Region all count.
      const quota = world.settings.quotas['rds-db-clusters'];
      const clusters = [...world.state(RdsState).clusters.values()].filter(
        (c) => c.account === job.account && c.region === job.region && c.phase !== 'deleted',
      ).length;
      if (clusters >= quota)
        return `DBClusterQuotaExceededFault: the DB cluster quota (${quota}) of ${job.account} in ${job.region} is reached`;
      return undefined;
    },

    restore(world, job, point, metadata) {
      const cluster = world.state(RdsState).addCluster(world, {
        account: job.account,
        region: job.region,
        id: metadata.DBClusterIdentifier ?? `restored-${world.random.hex(8)}`,
        // A restore whose parameters the cluster cannot use ends in incompatible-restore (RDS cluster status).
        status: world.faults.unhealthy ? 'incompatible-restore' : 'creating',
        tags: {},
        engine: metadata.Engine ?? engine,
        engineVersion: world.faults.corruptData
          ? options.otherEngineVersion
          : (metadata.EngineVersion ?? options.engineVersion),
        port: Number(metadata.Port ?? options.port),
        subnetGroup: metadata.DBSubnetGroupName,
        securityGroups: JSON.parse(metadata.VpcSecurityGroupIds ?? '[]') as string[],
        deletionProtection: metadata.DeletionProtection === 'true',
        // Without KmsKeyId the restore keeps the recovery point's encryption, under the DR account's key.
        storageEncrypted: metadata.StorageEncrypted !== 'false',
        kmsKeyId:
          metadata.StorageEncrypted !== 'false'
            ? (metadata.KmsKeyId ?? `arn:aws:kms:${job.region}:${job.account}:key/${world.random.uuid()}`)
            : undefined,
        // What the source database held at the recovery point (sandbox/engines/drill-databases.ts).
        restoredFrom: { sourceArn: point.resourceArn, createdAt: point.createdAt },
      });
      if (!world.faults.unhealthy) {
        world.clock.schedule(world.random.seconds(60, 5 * 60), () => {
          if (cluster.status === 'creating') cluster.status = 'available';
        });
      }
      return cluster.arn;
    },

    present: (world, account) =>
      [...world.state(RdsState).clusters.values()].filter(
        (c) => c.account === account && c.phase !== 'deleted' && ofType(c.engine),
      ).length,
  };
}
