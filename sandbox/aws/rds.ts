import { randomBytes } from 'node:crypto';
import { SimulatedAwsError } from '../aws-errors.js';
import { DrillDatabases } from '../engines/drill-databases.js';
import { accountOf, tagContext, tagsOf } from '../iam-keys.js';
import type { RequestEnvironment } from '../iam-requests.js';
import { applyTags, type IamMapper, type ServiceApi, tagList, text } from '../resources/types.js';
import type { Caller, RestoredResource, World } from '../world.js';
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

export class RdsState {
  readonly instances = new Map<string, DbInstance>();

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
    const found = [...this.instances.values()].find(
      (i) =>
        (i.id === idOrArn || i.arn === idOrArn) &&
        i.account === caller.account &&
        i.region === caller.region &&
        i.phase !== 'deleted',
    );
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

/** An RDS resource name (identifier or ARN) as IAM sees it: the ARN of the resource. */
export function rdsArn(env: RequestEnvironment, kind: 'db-instance' | 'cluster', idOrArn: string): string {
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
export function onRdsResource(action: string, kind: 'db-instance' | 'cluster', field: string): IamMapper {
  return (input, env) => {
    const arn = rdsArn(env, kind, text(input[field]));
    return [{ action, resource: arn, resourceAccount: env.account, context: {}, taggedResource: arn }];
  };
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
      if (!resource) throw new SimulatedAwsError('DBInstanceNotFoundFault', `DBInstance ${name} not found.`);
      return resource;
    };
    const databases = world.state(DrillDatabases);
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
        if (input.ManageMasterUserPassword && !instance.masterUserSecret) {
          const secret = world.state(SecretsState).add({
            arn: rdsManagedSecretArn(instance.account, instance.region, instance.id),
            account: instance.account,
            region: instance.region,
            // Not from the seeded random: the password changes nothing the simulation decides.
            value: JSON.stringify({ username: 'postgres', password: randomBytes(24).toString('base64url') }),
          });
          instance.masterUserSecret = { arn: secret.arn, status: 'creating' };
          instance.status = 'resetting-master-credentials';
          world.clock.schedule(90_000, () => {
            if (instance.masterUserSecret) instance.masterUserSecret.status = 'active';
            if (instance.status === 'resetting-master-credentials') instance.status = 'available';
          });
        }
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
        databases.drop(instance.arn);
        return { DBInstance: describeDbInstance(instance) };
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
    'RDS.ModifyDBInstance': (input, env) => {
      const requests = onRdsResource(
        'rds:ModifyDBInstance',
        'db-instance',
        'DBInstanceIdentifier',
      )(input, env);
      if (input.ManageMasterUserPassword !== true) return requests;
      // RDS creates and tags the managed secret with the caller's permissions (RDS User Guide, "Permissions
      // required for Secrets Manager integration").
      const secret = rdsManagedSecretArn(env.account, env.region, text(input.DBInstanceIdentifier));
      return [
        ...requests,
        ...['secretsmanager:CreateSecret', 'secretsmanager:TagResource'].map((action) => ({
          action,
          resource: secret,
          resourceAccount: env.account,
          context: {},
        })),
      ];
    },
  },
};
