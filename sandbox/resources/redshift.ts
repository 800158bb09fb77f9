import { randomBytes } from 'node:crypto';
import { findNamed } from '../aws/find.js';
import { SimulatedAwsError } from '../aws-errors.js';
import { accountOf, tagContext, tagsOf } from '../iam-keys.js';
import type { RequestEnvironment } from '../iam-requests.js';
import type { Caller, RestoredResource } from '../world.js';
import {
  applyTags,
  type IamMapper,
  type SandboxResourceType,
  type ServiceApi,
  tagList,
  text,
} from './types.js';

/**
 * Amazon Redshift provisioned clusters in the sandbox: AWS Backup's recovery points are cluster snapshots, a
 * restore creates a cluster. Output shapes are the SDK's (DescribeClusters → Clusters[], DescribeTags →
 * TaggedResources[]); errors are Redshift's codes.
 */
export interface Cluster extends RestoredResource {
  kind: 'cluster';
  nodeType: string;
  numberOfNodes: number;
  publiclyAccessible: boolean;
  elasticIp?: string;
  subnetGroup?: string;
  securityGroups: string[];
  encrypted: boolean;
  enhancedVpcRouting: boolean;
  /** The snapshot's master user and database (RestoreFromClusterSnapshot keeps the source's). */
  masterUsername: string;
  dbName: string;
  /** The source cluster and the recovery point's creation time: what its data is (engines/drill-databases.ts). */
  restoredFrom?: { sourceArn: string; createdAt: number };
}

/** Temporary database credentials GetClusterCredentials issued, as the cluster's login checks them. */
export interface IssuedCredentials {
  clusterArn: string;
  /** The user to log in as: `IAM:<DbUser>`, as Redshift names it. */
  user: string;
  database: string;
  /** Never logged, never in state or evidence. */
  password: string;
  expiresAt: number;
}

/** The master user and database of the sandbox's Redshift sources (Redshift's own defaults). */
export const SOURCE_MASTER_USERNAME = 'awsuser';
export const SOURCE_DB_NAME = 'dev';

export class RedshiftState {
  readonly clusters = new Map<string, Cluster>();
  /** What GetClusterCredentials issued; a login is accepted while its credentials are unexpired. */
  readonly credentials: IssuedCredentials[] = [];

  /** Whether `user`/`password` may log in to `database` on the cluster now (sandbox/engines/password-gate.ts). */
  accepts(
    clusterArn: string,
    login: { user: string; password: string; database: string },
    now: number,
  ): boolean {
    return this.credentials.some(
      (issued) =>
        issued.clusterArn === clusterArn &&
        issued.user === login.user &&
        issued.password === login.password &&
        issued.database === login.database &&
        now < issued.expiresAt,
    );
  }

  cluster(caller: Caller, id: string): Cluster {
    const found = findNamed(this.clusters.values(), caller, id);
    if (!found) throw new SimulatedAwsError('ClusterNotFound', `Cluster ${id} not found.`);
    return found;
  }
}

/** The cluster's endpoint address in the DR VPC (what the probe is given, and resolves to its database). */
export function redshiftEndpointAddress(c: Pick<Cluster, 'id' | 'region'>): string {
  return `${c.id}.c0sandbox0.${c.region}.redshift.amazonaws.com`;
}

function describeCluster(c: Cluster) {
  return {
    ClusterIdentifier: c.id,
    ClusterNamespaceArn: `arn:aws:redshift:${c.region}:${c.account}:namespace:${c.id}`,
    ClusterStatus: c.status,
    NodeType: c.nodeType,
    NumberOfNodes: c.numberOfNodes,
    PubliclyAccessible: c.publiclyAccessible,
    ElasticIpStatus: c.elasticIp ? { ElasticIp: c.elasticIp, Status: 'active' } : undefined,
    ClusterSubnetGroupName: c.subnetGroup,
    VpcSecurityGroups: c.securityGroups.map((id) => ({ VpcSecurityGroupId: id, Status: 'active' })),
    Encrypted: c.encrypted,
    EnhancedVpcRouting: c.enhancedVpcRouting,
    Endpoint: c.status === 'available' ? { Address: redshiftEndpointAddress(c), Port: 5439 } : undefined,
    MasterUsername: c.masterUsername,
    DBName: c.dbName,
    Tags: tagList(c.tags),
    ClusterCreateTime: new Date(c.createdAt),
  };
}

/** A cluster identifier or ARN as IAM sees it: the cluster's ARN in the caller's account and region. */
function clusterArn(env: RequestEnvironment, idOrArn: string): string {
  return env.resourceArn(
    'cluster',
    idOrArn,
    env.account,
    env.region,
    `arn:aws:redshift:${env.region}:${env.account}:cluster:${idOrArn}`,
  );
}

function onCluster(action: string, field: string): IamMapper {
  return (input, env) => {
    const arn = clusterArn(env, text(input[field]));
    return [
      {
        action,
        resource: arn,
        resourceAccount: accountOf(arn) || env.account,
        context: {},
        taggedResource: arn,
      },
    ];
  };
}

export const redshiftApi: ServiceApi = {
  service: 'Redshift',
  operations(world) {
    const state = world.state(RedshiftState);
    // Tags are read and written by resource ARN; an ARN of no cluster is Redshift's ResourceNotFound.
    const byName = (caller: Caller, name: string) => {
      const found = world.findResourceByArn(caller, name);
      if (found?.kind !== 'cluster')
        throw new SimulatedAwsError('ResourceNotFoundFault', `The resource ${name} could not be found.`);
      return found;
    };
    return {
      'Redshift.DescribeClusters': (caller, input: { ClusterIdentifier?: string }) => ({
        Clusters: [describeCluster(state.cluster(caller, input.ClusterIdentifier ?? ''))],
      }),
      'Redshift.DescribeTags': (caller, input: { ResourceName?: string }) => {
        const resource = byName(caller, input.ResourceName ?? '');
        return {
          TaggedResources: tagList(resource.tags).map((tag) => ({
            Tag: tag,
            ResourceName: resource.arn,
            ResourceType: 'cluster',
          })),
        };
      },
      'Redshift.CreateTags': (caller, input: { ResourceName?: string; Tags?: unknown }) => {
        applyTags(byName(caller, input.ResourceName ?? '').tags, input.Tags);
        return {};
      },
      'Redshift.DeleteCluster': (
        caller,
        input: { ClusterIdentifier?: string; SkipFinalClusterSnapshot?: boolean },
      ) => {
        const cluster = state.cluster(caller, input.ClusterIdentifier ?? '');
        if (cluster.phase === 'deleting')
          throw new SimulatedAwsError(
            'InvalidClusterState',
            `There is an operation running on the Cluster ${cluster.id}. Please try to delete it at a later time.`,
          );
        if (!input.SkipFinalClusterSnapshot)
          throw new SimulatedAwsError(
            'InvalidParameterCombination',
            'FinalClusterSnapshotIdentifier is required unless SkipFinalClusterSnapshot is specified.',
          );
        world.teardownFault('InvalidClusterState');
        world.beginDelete(cluster, world.random.int(240, 900), 'deleting', 'deleted');
        return { Cluster: describeCluster(cluster) };
      },
      'Redshift.GetClusterCredentials': (
        caller,
        input: {
          ClusterIdentifier?: string;
          DbUser?: string;
          DbName?: string;
          DurationSeconds?: number;
          AutoCreate?: boolean;
        },
      ) => {
        const cluster = state.cluster(caller, input.ClusterIdentifier ?? '');
        const duration = input.DurationSeconds ?? 900;
        if (!Number.isInteger(duration) || duration < 900 || duration > 3600)
          throw new SimulatedAwsError(
            'InvalidParameterValue',
            'DurationSeconds must be between 900 and 3600 seconds.',
          );
        if (!input.DbUser) throw new SimulatedAwsError('InvalidParameterValue', 'DbUser is required.');
        if (cluster.status !== 'available')
          throw new SimulatedAwsError(
            'InvalidClusterState',
            `The cluster ${cluster.id} is ${cluster.status}; it must be available.`,
          );
        // Without AutoCreate only an existing user gets credentials that log in (the restored master user).
        const user = `IAM:${input.DbUser}`;
        // Not from world.random: a password is never observable, and drawing it must not shift what the
        // seeded world does next.
        const password = `Pl${randomBytes(24).toString('base64url')}9`;
        const expiresAt = world.now + duration * 1000;
        if (input.DbUser === cluster.masterUsername || input.AutoCreate)
          state.credentials.push({
            clusterArn: cluster.arn,
            user,
            database: input.DbName ?? cluster.dbName,
            password,
            expiresAt,
          });
        return { DbUser: user, DbPassword: password, Expiration: new Date(expiresAt) };
      },
    };
  },
  iam: {
    'Redshift.DescribeClusters': onCluster('redshift:DescribeClusters', 'ClusterIdentifier'),
    // redshift:DescribeTags has no resource-level permissions (Service Authorization Reference).
    'Redshift.DescribeTags': (_input, env) => [
      { action: 'redshift:DescribeTags', resource: '*', resourceAccount: env.account, context: {} },
    ],
    'Redshift.CreateTags': (input, env) => {
      const arn = text(input.ResourceName);
      return [
        {
          action: 'redshift:CreateTags',
          resource: arn,
          resourceAccount: accountOf(arn) || env.account,
          context: tagContext(tagsOf(input.Tags)),
          taggedResource: arn,
        },
      ];
    },
    'Redshift.DeleteCluster': onCluster('redshift:DeleteCluster', 'ClusterIdentifier'),
    // Authorized on the database user (required) and, when the call names one, the database (Service
    // Authorization Reference: dbuser, dbname), with the call's DbUser, DbName and DurationSeconds as keys.
    'Redshift.GetClusterCredentials': (input, env) => {
      const cluster = text(input.ClusterIdentifier);
      const dbUser = text(input.DbUser);
      const dbName = text(input.DbName);
      const duration = typeof input.DurationSeconds === 'number' ? input.DurationSeconds : 900;
      const context: Record<string, string> = {
        'redshift:DbUser': dbUser,
        'redshift:DurationSeconds': String(duration),
        ...(dbName ? { 'redshift:DbName': dbName } : {}),
      };
      const base = `arn:aws:redshift:${env.region}:${env.account}`;
      return [
        {
          action: 'redshift:GetClusterCredentials',
          resource: `${base}:dbuser:${cluster}/${dbUser}`,
          resourceAccount: env.account,
          context,
        },
        ...(dbName
          ? [
              {
                action: 'redshift:GetClusterCredentials',
                resource: `${base}:dbname:${cluster}/${dbName}`,
                resourceAccount: env.account,
                context,
              },
            ]
          : []),
      ];
    },
  },
};

/** Amazon Redshift: a restore creates a provisioned cluster from an AWS Backup cluster snapshot. */
export const redshift: SandboxResourceType = {
  type: 'Redshift',
  sizeGiB: (random) => 128 * random.int(1, 16),
  sourceResourceArn: ({ account, region, index }) =>
    `arn:aws:redshift:${region}:${account}:cluster:analytics-${index}`,
  recoveryPointArn: ({ account, region, random, copy }) =>
    `arn:aws:redshift:${region}:${account}:snapshot:analytics/awsbackup:${copy ? 'copyjob' : 'job'}-${random.uuid()}`,
  recoveryPointForm: {
    describe: 'arn:aws:redshift:REGION:ACCOUNT:snapshot:CLUSTER/awsbackup:job-…',
    fits: (arn) =>
      arn.service === 'redshift' && /^snapshot:[a-z][a-z0-9-]*\/awsbackup:[A-Za-z0-9-]+$/.test(arn.resource),
  },
  sourceMetadata: ({ resourceArn, account, region, random }) => ({
    ClusterIdentifier: resourceArn.split(':').pop() ?? 'analytics',
    NodeType: 'ra3.xlplus',
    NumberOfNodes: String(random.int(2, 4)),
    Port: '5439',
    AvailabilityZone: `${region}a`,
    ClusterSubnetGroupName: 'prod-analytics',
    VpcSecurityGroupIds: '["sg-0f00d0prod0000002"]',
    ClusterParameterGroupName: 'prod-analytics-params',
    PubliclyAccessible: 'false',
    Encrypted: 'true',
    KmsKeyId: `arn:aws:kms:${region}:${account}:key/${random.uuid()}`,
    EnhancedVpcRouting: 'false',
    AutomatedSnapshotRetentionPeriod: '7',
  }),
  // Restoring a cluster snapshot creates the nodes and streams the data in: half an hour to two hours.
  restoreDurationMs: (random) => random.seconds(30 * 60, 120 * 60),

  validateRestore(world, caller, metadata) {
    const id = metadata.ClusterIdentifier;
    if (!id)
      throw new SimulatedAwsError(
        'InvalidParameterValueException',
        'Restore metadata needs ClusterIdentifier',
      );
    const taken = [...world.state(RedshiftState).clusters.values()].some(
      (c) =>
        c.id === id && c.account === caller.account && c.region === caller.region && c.phase !== 'deleted',
    );
    if (taken) throw new SimulatedAwsError('InvalidParameterValueException', `Cluster ${id} already exists`);
  },

  // Redshift's node quota (200 per account) is far above what admission control lets a burst restore.
  quotaExceeded: () => undefined,

  restore(world, job, point, metadata) {
    const id = metadata.ClusterIdentifier ?? `restored-${world.random.hex(8)}`;
    const nodes = Number(metadata.NumberOfNodes ?? 2);
    const cluster: Cluster = {
      arn: `arn:aws:redshift:${job.region}:${job.account}:cluster:${id}`,
      account: job.account,
      region: job.region,
      kind: 'cluster',
      id,
      // A snapshot restore that cannot be completed leaves the cluster in this terminal state.
      status: world.faults.unhealthy ? 'incompatible-restore' : 'modifying',
      phase: 'present',
      tags: {},
      createdAt: world.now,
      nodeType: metadata.NodeType ?? 'ra3.xlplus',
      numberOfNodes: world.faults.corruptData ? Math.max(1, nodes - 1) : nodes,
      publiclyAccessible: metadata.PubliclyAccessible === 'true',
      elasticIp: metadata.ElasticIp,
      subnetGroup: metadata.ClusterSubnetGroupName,
      securityGroups: JSON.parse(metadata.VpcSecurityGroupIds ?? '[]') as string[],
      encrypted: metadata.Encrypted === 'true',
      enhancedVpcRouting: metadata.EnhancedVpcRouting === 'true',
      masterUsername: SOURCE_MASTER_USERNAME,
      dbName: SOURCE_DB_NAME,
      // What the source cluster held at the recovery point (sandbox/engines/drill-databases.ts): the same
      // seeded orders history as the RDS sources, served by a real PostgreSQL for the probe.
      restoredFrom: { sourceArn: point.resourceArn, createdAt: point.createdAt },
    };
    world.state(RedshiftState).clusters.set(cluster.arn, cluster);
    world.track(cluster);
    if (!world.faults.unhealthy) {
      // After the restore job, the cluster applies its new VPC settings before it is available.
      world.clock.schedule(world.random.seconds(2 * 60, 10 * 60), () => {
        if (cluster.status === 'modifying') cluster.status = 'available';
      });
    }
    return cluster.arn;
  },

  present: (world, account) =>
    [...world.state(RedshiftState).clusters.values()].filter(
      (c) => c.account === account && c.phase !== 'deleted',
    ).length,
};
