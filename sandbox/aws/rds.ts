import { randomBytes } from 'node:crypto';
import { SimulatedAwsError } from '../aws-errors.js';
import { accountOf, tagContext, tagsOf } from '../iam-keys.js';
import type { IamRequest, RequestEnvironment } from '../iam-requests.js';
import { applyTags, type IamMapper, type ServiceApi, tagList, text } from '../resources/types.js';
import type { Caller, RestoredResource, World } from '../world.js';
import { findNamed } from './find.js';
import { rdsManagedSecretArn, SecretsState } from './secrets-manager.js';

/**
 * Amazon RDS in the sandbox: the DB instances an RDS restore creates, and the DB clusters Aurora, DocumentDB
 * and Neptune restores create with the instances Pilotlight adds to them (DocumentDB and Neptune are managed
 * through the RDS API: same endpoint, same `rds:` actions). Output shapes are the SDK's; errors are RDS's.
 */
export interface DbInstance extends RestoredResource {
  kind: 'db-instance';
  engine: string;
  instanceClass: string;
  allocatedStorage: number;
  publiclyAccessible: boolean;
  subnetGroup?: string;
  securityGroups: string[];
  deletionProtection: boolean;
  port: number;
  /** The cluster it belongs to (Aurora, DocumentDB, Neptune). */
  clusterId?: string;
  /** The source resource and recovery point it was restored from: its data is a real database (PostgreSQL). */
  restoredFrom?: { sourceArn: string; createdAt: number };
  /** The RDS-managed master user secret (ManageMasterUserPassword). */
  masterUserSecret?: { arn: string; status: 'creating' | 'active' };
}

/** A DB cluster (Aurora, DocumentDB, Neptune): what their restores create, without any instance. */
export interface DbCluster extends RestoredResource {
  kind: 'db-cluster';
  engine: string;
  engineVersion: string;
  port: number;
  subnetGroup?: string;
  securityGroups: string[];
  deletionProtection: boolean;
  storageEncrypted: boolean;
  kmsKeyId?: string;
  /** The source resource and recovery point it was restored from: its data is a real database (PostgreSQL). */
  restoredFrom?: { sourceArn: string; createdAt: number };
  /** The RDS-managed master user secret (ManageMasterUserPassword). */
  masterUserSecret?: { arn: string; status: 'creating' | 'active' };
}

/** The host name RDS gives an endpoint of the engine's service (DocumentDB and Neptune have their own domains). */
function endpointDomain(engine: string): string {
  if (engine === 'docdb') return 'docdb.amazonaws.com';
  if (engine === 'neptune') return 'neptune.amazonaws.com';
  return 'rds.amazonaws.com';
}

export class RdsState {
  readonly instances = new Map<string, DbInstance>();
  readonly clusters = new Map<string, DbCluster>();

  addCluster(
    world: World,
    input: Omit<DbCluster, 'kind' | 'phase' | 'createdAt' | 'tagConditionPrefix' | 'arn'> & {
      createdAt?: number;
    },
  ): DbCluster {
    const cluster: DbCluster = {
      ...input,
      arn: `arn:aws:rds:${input.region}:${input.account}:cluster:${input.id}`,
      kind: 'db-cluster',
      phase: 'present',
      createdAt: input.createdAt ?? world.now,
      tagConditionPrefix: 'rds:cluster-tag/',
    };
    this.clusters.set(cluster.arn, cluster);
    world.track(cluster);
    return cluster;
  }

  cluster(caller: Caller, idOrArn: string): DbCluster {
    const found = findNamed(this.clusters.values(), caller, idOrArn);
    if (!found) throw new SimulatedAwsError('DBClusterNotFoundFault', `DBCluster ${idOrArn} not found.`);
    return found;
  }

  /** A cluster's instances that RDS still lists (deleting ones included, as DBClusterMembers does). */
  membersOf(cluster: DbCluster): DbInstance[] {
    return [...this.instances.values()].filter(
      (i) =>
        i.clusterId === cluster.id &&
        i.account === cluster.account &&
        i.region === cluster.region &&
        i.phase !== 'deleted',
    );
  }

  addInstance(
    world: World,
    input: Omit<DbInstance, 'kind' | 'phase' | 'createdAt' | 'tagConditionPrefix' | 'arn'> & {
      createdAt?: number;
    },
  ): DbInstance {
    const instance: DbInstance = {
      ...input,
      arn: `arn:aws:rds:${input.region}:${input.account}:db:${input.id}`,
      kind: 'db-instance',
      phase: 'present',
      createdAt: input.createdAt ?? world.now,
      tagConditionPrefix: 'rds:db-tag/',
    };
    this.instances.set(instance.arn, instance);
    world.track(instance);
    return instance;
  }

  instance(caller: Caller, idOrArn: string): DbInstance {
    const found = findNamed(this.instances.values(), caller, idOrArn);
    if (!found) throw new SimulatedAwsError('DBInstanceNotFoundFault', `DBInstance ${idOrArn} not found.`);
    return found;
  }
}

/** The instance's endpoint DNS name (the probe's network resolves it: sandbox/aws/lambda.ts). */
export function endpointAddress(r: DbInstance): string {
  return `${r.id}.c9sandbox0.${r.region}.rds.amazonaws.com`;
}

export function describeDbInstance(r: DbInstance) {
  return {
    DBInstanceIdentifier: r.id,
    DBInstanceArn: r.arn,
    DBInstanceStatus: r.status,
    DBInstanceClass: r.instanceClass,
    Engine: r.engine,
    AllocatedStorage: r.allocatedStorage,
    PubliclyAccessible: r.publiclyAccessible,
    DeletionProtection: r.deletionProtection,
    DBClusterIdentifier: r.clusterId,
    DBSubnetGroup: { DBSubnetGroupName: r.subnetGroup },
    VpcSecurityGroups: r.securityGroups.map((id) => ({ VpcSecurityGroupId: id, Status: 'active' })),
    Endpoint:
      r.status === 'available' || r.status === 'backing-up' || r.status === 'resetting-master-credentials'
        ? { Address: endpointAddress(r), Port: r.port }
        : undefined,
    MasterUserSecret: r.masterUserSecret
      ? { SecretArn: r.masterUserSecret.arn, SecretStatus: r.masterUserSecret.status }
      : undefined,
    TagList: tagList(r.tags),
    InstanceCreateTime: new Date(r.createdAt),
  };
}

/** The cluster (writer) endpoint's host name. */
export function clusterEndpointAddress(c: DbCluster): string {
  return `${c.id}.cluster-c9sandbox0.${c.region}.${endpointDomain(c.engine)}`;
}

export function describeDbCluster(c: DbCluster, members: DbInstance[]) {
  return {
    DBClusterIdentifier: c.id,
    DBClusterArn: c.arn,
    Status: c.status,
    Engine: c.engine,
    EngineVersion: c.engineVersion,
    Port: c.port,
    // A cluster's endpoints exist from its creation, before it has an instance.
    Endpoint: c.phase === 'present' ? clusterEndpointAddress(c) : undefined,
    ReaderEndpoint:
      c.phase === 'present'
        ? `${c.id}.cluster-ro-c9sandbox0.${c.region}.${endpointDomain(c.engine)}`
        : undefined,
    DBSubnetGroup: c.subnetGroup,
    VpcSecurityGroups: c.securityGroups.map((id) => ({ VpcSecurityGroupId: id, Status: 'active' })),
    StorageEncrypted: c.storageEncrypted,
    KmsKeyId: c.kmsKeyId,
    MasterUserSecret: c.masterUserSecret
      ? { SecretArn: c.masterUserSecret.arn, SecretStatus: c.masterUserSecret.status }
      : undefined,
    DeletionProtection: c.deletionProtection,
    DBClusterMembers: members.map((m, index) => ({
      DBInstanceIdentifier: m.id,
      IsClusterWriter: index === 0,
      DBClusterParameterGroupStatus: 'in-sync',
      PromotionTier: 1,
    })),
    TagList: tagList(c.tags),
    ClusterCreateTime: new Date(c.createdAt),
    AllocatedStorage: 1,
  };
}

/** An RDS resource name (identifier or ARN) as IAM sees it: the ARN of the resource. */
export function rdsArn(env: RequestEnvironment, kind: 'db-instance' | 'db-cluster', idOrArn: string): string {
  const arnKind = kind === 'db-instance' ? 'db' : 'cluster';
  return env.resourceArn(
    kind,
    idOrArn,
    env.account,
    env.region,
    `arn:aws:rds:${env.region}:${env.account}:${arnKind}:${idOrArn}`,
  );
}

/** Resource-scoped RDS actions: authorized on the named resource, with its tags. */
export function onRdsResource(action: string, kind: 'db-instance' | 'db-cluster', field: string): IamMapper {
  return (input, env) => {
    const arn = rdsArn(env, kind, text(input[field]));
    return [{ action, resource: arn, resourceAccount: env.account, context: {}, taggedResource: arn }];
  };
}

/**
 * ManageMasterUserPassword on an instance or a cluster: RDS creates the managed secret (once), the resource is
 * resetting-master-credentials for a while, then available with the secret active.
 */
function manageMasterPassword(world: World, resource: DbInstance | DbCluster): void {
  if (resource.masterUserSecret) return;
  const secret = world.state(SecretsState).addManaged(
    world,
    resource,
    // Not from the seeded random: the password changes nothing the simulation decides.
    JSON.stringify({ username: 'postgres', password: randomBytes(24).toString('base64url') }),
  );
  resource.masterUserSecret = { arn: secret.arn, status: 'creating' };
  resource.status = 'resetting-master-credentials';
  world.clock.schedule(90_000, () => {
    if (resource.masterUserSecret) resource.masterUserSecret.status = 'active';
    if (resource.status === 'resetting-master-credentials') resource.status = 'available';
  });
}

/**
 * What ManageMasterUserPassword adds to a Modify request's authorization: RDS creates and tags the managed
 * secret with the caller's permissions (RDS User Guide, "Permissions required for Secrets Manager integration").
 */
function managedSecretRequests(ownerArn: string, account: string): IamRequest[] {
  return ['secretsmanager:CreateSecret', 'secretsmanager:TagResource'].map((action) => ({
    action,
    resource: rdsManagedSecretArn(ownerArn),
    resourceAccount: account,
    context: {},
  }));
}

/** The operations on DB instances every RDS-family type shares. */
export const rdsApi: ServiceApi = {
  service: 'RDS',
  operations(world) {
    const state = world.state(RdsState);
    const byName = (caller: Caller, name: string) => {
      const instance = [...state.instances.values()].find((i) => i.arn === name && i.phase !== 'deleted');
      if (instance) return instance;
      const resource = world.findResourceByArn(caller, name);
      if (!resource && name.includes(':cluster:'))
        throw new SimulatedAwsError('DBClusterNotFoundFault', `DBCluster ${name} not found.`);
      if (!resource) throw new SimulatedAwsError('DBInstanceNotFoundFault', `DBInstance ${name} not found.`);
      return resource;
    };
    return {
      'RDS.DescribeDBInstances': (caller, input: { DBInstanceIdentifier?: string }) => ({
        DBInstances: [describeDbInstance(state.instance(caller, input.DBInstanceIdentifier ?? ''))],
      }),
      'RDS.ModifyDBInstance': (
        caller,
        input: { DBInstanceIdentifier?: string; ManageMasterUserPassword?: boolean },
      ) => {
        const instance = state.instance(caller, input.DBInstanceIdentifier ?? '');
        if (instance.status !== 'available' || instance.phase !== 'present')
          throw new SimulatedAwsError(
            'InvalidDBInstanceStateFault',
            `Database instance is not in available state: ${instance.status}`,
          );
        if (input.ManageMasterUserPassword) manageMasterPassword(world, instance);
        return { DBInstance: describeDbInstance(instance) };
      },
      'RDS.ListTagsForResource': (caller, input: { ResourceName?: string }) => ({
        TagList: tagList(byName(caller, input.ResourceName ?? '').tags),
      }),
      'RDS.AddTagsToResource': (caller, input: { ResourceName?: string; Tags?: unknown }) => {
        applyTags(byName(caller, input.ResourceName ?? '').tags, input.Tags);
        return {};
      },
      'RDS.DeleteDBInstance': (
        caller,
        input: { DBInstanceIdentifier?: string; SkipFinalSnapshot?: boolean },
      ) => {
        const instance = state.instance(caller, input.DBInstanceIdentifier ?? '');
        if (instance.deletionProtection)
          throw new SimulatedAwsError(
            'InvalidParameterCombination',
            'Cannot delete protected DB Instance, please disable deletion protection and try again.',
          );
        if (instance.phase === 'deleting')
          throw new SimulatedAwsError(
            'InvalidDBInstanceStateFault',
            `DB instance ${instance.id} is already being deleted.`,
          );
        if (!input.SkipFinalSnapshot && !instance.clusterId)
          throw new SimulatedAwsError(
            'InvalidParameterCombination',
            'FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.',
          );
        world.teardownFault('InvalidDBInstanceStateFault');
        world.beginDelete(instance, 300, 'deleting', 'deleted');
        world.state(SecretsState).deleteManagedOf(world, instance.arn);
        return { DBInstance: describeDbInstance(instance) };
      },
      'RDS.ModifyDBCluster': (
        caller,
        input: { DBClusterIdentifier?: string; ManageMasterUserPassword?: boolean },
      ) => {
        const cluster = state.cluster(caller, input.DBClusterIdentifier ?? '');
        if (cluster.status !== 'available' || cluster.phase !== 'present')
          throw new SimulatedAwsError(
            'InvalidDBClusterStateFault',
            `DB cluster is not in available state: ${cluster.status}`,
          );
        if (input.ManageMasterUserPassword) manageMasterPassword(world, cluster);
        return { DBCluster: describeDbCluster(cluster, state.membersOf(cluster)) };
      },
      'RDS.DescribeDBClusters': (caller, input: { DBClusterIdentifier?: string }) => {
        const cluster = state.cluster(caller, input.DBClusterIdentifier ?? '');
        return { DBClusters: [describeDbCluster(cluster, state.membersOf(cluster))] };
      },
      'RDS.CreateDBInstance': (
        caller,
        input: {
          DBInstanceIdentifier?: string;
          DBClusterIdentifier?: string;
          Engine?: string;
          DBInstanceClass?: string;
          PubliclyAccessible?: boolean;
          Tags?: unknown;
        },
      ) => createClusterInstance(world, state, caller, input),
      'RDS.DeleteDBCluster': (
        caller,
        input: {
          DBClusterIdentifier?: string;
          SkipFinalSnapshot?: boolean;
          FinalDBSnapshotIdentifier?: string;
        },
      ) => {
        const cluster = state.cluster(caller, input.DBClusterIdentifier ?? '');
        if (cluster.deletionProtection)
          throw new SimulatedAwsError(
            'InvalidParameterCombination',
            'Cannot delete protected Cluster, please disable deletion protection and try again.',
          );
        if (cluster.phase === 'deleting')
          throw new SimulatedAwsError(
            'InvalidDBClusterStateFault',
            `DB cluster ${cluster.id} is already being deleted.`,
          );
        if (state.membersOf(cluster).some((member) => member.phase === 'present'))
          throw new SimulatedAwsError(
            'InvalidDBClusterStateFault',
            'Cluster cannot be deleted, it still contains DB instances in non-deleting state.',
          );
        if (!input.SkipFinalSnapshot && !input.FinalDBSnapshotIdentifier)
          throw new SimulatedAwsError(
            'InvalidParameterCombination',
            'FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.',
          );
        world.teardownFault('InvalidDBClusterStateFault');
        // Deleting a cluster without instances takes a few minutes.
        world.beginDelete(cluster, world.random.seconds(3 * 60, 8 * 60) / 1000, 'deleting', 'deleted');
        world.state(SecretsState).deleteManagedOf(world, cluster.arn);
        return { DBCluster: describeDbCluster(cluster, []) };
      },
    };
  },
  iam: {
    'RDS.DescribeDBInstances': (input, env) => {
      const id = text(input.DBInstanceIdentifier);
      if (!id)
        return [
          { action: 'rds:DescribeDBInstances', resource: '*', resourceAccount: env.account, context: {} },
        ];
      return onRdsResource('rds:DescribeDBInstances', 'db-instance', 'DBInstanceIdentifier')(input, env);
    },
    'RDS.ListTagsForResource': (input, env) => {
      const arn = text(input.ResourceName);
      return [
        {
          action: 'rds:ListTagsForResource',
          resource: arn,
          resourceAccount: accountOf(arn) || env.account,
          context: {},
          taggedResource: arn,
        },
      ];
    },
    'RDS.AddTagsToResource': (input, env) => {
      const arn = text(input.ResourceName);
      const context = tagContext(tagsOf(input.Tags));
      return [
        {
          action: 'rds:AddTagsToResource',
          resource: arn,
          resourceAccount: accountOf(arn) || env.account,
          context,
          taggedResource: arn,
        },
      ];
    },
    'RDS.DeleteDBInstance': onRdsResource('rds:DeleteDBInstance', 'db-instance', 'DBInstanceIdentifier'),
    'RDS.DescribeDBClusters': (input, env) => {
      if (!text(input.DBClusterIdentifier))
        return [
          { action: 'rds:DescribeDBClusters', resource: '*', resourceAccount: env.account, context: {} },
        ];
      return onRdsResource('rds:DescribeDBClusters', 'db-cluster', 'DBClusterIdentifier')(input, env);
    },
    'RDS.CreateDBInstance': createDbInstanceIam,
    // With a final snapshot, DeleteDBCluster is also authorized on the cluster snapshot it creates.
    'RDS.DeleteDBCluster': (input, env) => {
      const requests = onRdsResource('rds:DeleteDBCluster', 'db-cluster', 'DBClusterIdentifier')(input, env);
      const snapshot = text(input.FinalDBSnapshotIdentifier);
      if (input.SkipFinalSnapshot !== true && snapshot)
        requests.push({
          action: 'rds:DeleteDBCluster',
          resource: `arn:aws:rds:${env.region}:${env.account}:cluster-snapshot:${snapshot}`,
          resourceAccount: env.account,
          context: {},
        });
      return requests;
    },
    'RDS.ModifyDBCluster': (input, env) => {
      const requests = onRdsResource('rds:ModifyDBCluster', 'db-cluster', 'DBClusterIdentifier')(input, env);
      if (input.ManageMasterUserPassword !== true) return requests;
      const cluster = rdsArn(env, 'db-cluster', text(input.DBClusterIdentifier));
      return [...requests, ...managedSecretRequests(cluster, env.account)];
    },
    'RDS.ModifyDBInstance': (input, env) => {
      const requests = onRdsResource(
        'rds:ModifyDBInstance',
        'db-instance',
        'DBInstanceIdentifier',
      )(input, env);
      if (input.ManageMasterUserPassword !== true) return requests;
      const instance = rdsArn(env, 'db-instance', text(input.DBInstanceIdentifier));
      return [...requests, ...managedSecretRequests(instance, env.account)];
    },
  },
};

/**
 * CreateDBInstance into a cluster (the drill instance of an Aurora, DocumentDB or Neptune restore). RDS checks
 * the cluster is available and the engine is the cluster's; the instance counts against the DB instance quota.
 */
function createClusterInstance(
  world: World,
  state: RdsState,
  caller: Caller,
  input: {
    DBInstanceIdentifier?: string;
    DBClusterIdentifier?: string;
    Engine?: string;
    DBInstanceClass?: string;
    PubliclyAccessible?: boolean;
    Tags?: unknown;
  },
) {
  const id = input.DBInstanceIdentifier ?? '';
  if (!/^[a-zA-Z][a-zA-Z0-9-]{0,62}$/.test(id) || id.endsWith('-') || id.includes('--'))
    throw new SimulatedAwsError('InvalidParameterValue', `Invalid DB instance identifier: ${id}`);
  if (!input.DBClusterIdentifier)
    throw new SimulatedAwsError(
      'InvalidParameterCombination',
      'The sandbox creates DB instances only in a DB cluster (DBClusterIdentifier).',
    );
  const cluster = state.cluster(caller, input.DBClusterIdentifier);
  if (cluster.status !== 'available')
    throw new SimulatedAwsError(
      'InvalidDBClusterStateFault',
      `DB cluster ${cluster.id} is ${cluster.status}.`,
    );
  if (input.Engine !== cluster.engine)
    throw new SimulatedAwsError(
      'InvalidParameterCombination',
      `The engine ${input.Engine} does not match the engine ${cluster.engine} of DB cluster ${cluster.id}.`,
    );
  const taken = [...state.instances.values()].some(
    (i) => i.id === id && i.account === caller.account && i.region === caller.region && i.phase !== 'deleted',
  );
  if (taken) throw new SimulatedAwsError('DBInstanceAlreadyExistsFault', `DB instance already exists`);
  const quota = world.settings.quotas['rds-db-instances'];
  const instances = [...state.instances.values()].filter(
    (i) => i.account === caller.account && i.region === caller.region && i.phase !== 'deleted',
  ).length;
  if (instances >= quota)
    throw new SimulatedAwsError(
      'InstanceQuotaExceededFault',
      `The DB instance quota (${quota}) of ${caller.account} in ${caller.region} is reached`,
    );
  const tags: Record<string, string> = {};
  applyTags(tags, input.Tags);
  const instance = state.addInstance(world, {
    account: caller.account,
    region: caller.region,
    id,
    status: 'creating',
    tags,
    engine: cluster.engine,
    instanceClass: input.DBInstanceClass ?? 'db.t4g.medium',
    // Cluster storage is the cluster volume's: an instance of a cluster reports 1, as RDS does.
    allocatedStorage: 1,
    publiclyAccessible: input.PubliclyAccessible === true,
    subnetGroup: cluster.subnetGroup,
    securityGroups: [...cluster.securityGroups],
    deletionProtection: false,
    port: cluster.port,
    clusterId: cluster.id,
  });
  // A cluster's instance is created in eight to fifteen minutes.
  world.clock.schedule(world.random.seconds(8 * 60, 15 * 60), () => {
    if (instance.status === 'creating') instance.status = 'available';
  });
  return { DBInstance: describeDbInstance(instance) };
}

/**
 * CreateDBInstance is authorized on the new db (required), on the cluster it joins (the Service Authorization
 * Reference lists cluster, og, pg, secgrp and subgrp as optional resource types: only what the request names is
 * checked), and, with Tags, as rds:AddTagsToResource on the new db (RDS, "Grant permission to tag resources
 * during creation"). The request's tags are aws:RequestTag/* for each; the db's engine and class, resource
 * condition keys of the db it will be, come from the request.
 */
function createDbInstanceIam(input: Record<string, unknown>, env: RequestEnvironment): IamRequest[] {
  const db = rdsArn(env, 'db-instance', text(input.DBInstanceIdentifier));
  const tags = tagContext(tagsOf(input.Tags));
  const dbContext: Record<string, string | string[]> = {
    ...tags,
    'rds:DatabaseEngine': text(input.Engine),
    'rds:DatabaseClass': text(input.DBInstanceClass),
  };
  if (typeof input.PubliclyAccessible === 'boolean')
    dbContext['rds:PubliclyAccessible'] = String(input.PubliclyAccessible);
  const requests: IamRequest[] = [
    { action: 'rds:CreateDBInstance', resource: db, resourceAccount: env.account, context: dbContext },
  ];
  const clusterId = text(input.DBClusterIdentifier);
  if (clusterId) {
    const cluster = rdsArn(env, 'db-cluster', clusterId);
    requests.push({
      action: 'rds:CreateDBInstance',
      resource: cluster,
      resourceAccount: env.account,
      context: tags,
      taggedResource: cluster,
    });
  }
  if (tagsOf(input.Tags).length > 0)
    requests.push({
      action: 'rds:AddTagsToResource',
      resource: db,
      resourceAccount: env.account,
      context: tags,
      taggedResource: db,
    });
  return requests;
}
