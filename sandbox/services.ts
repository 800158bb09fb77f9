import { SimulatedAwsError } from './aws-errors.js';
import { registerPrincipal } from './identity.js';
import type { ApiCall } from './interceptor.js';
import type { Random } from './random.js';
import type { StepFunctionsSimulator } from './step-functions.js';
import type { Caller, RestoredResource, World } from './world.js';

/**
 * The API surface the handlers use, translated into the world's state. Responses have the SDK's output
 * shapes (dates as Date, lists as the service names them). An operation not listed fails loudly, so a
 * handler calling something the sandbox does not model is caught by the tests.
 */
type Operation = (caller: Caller, input: Record<string, never>) => unknown;

function tagList(tags: Record<string, string>) {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

function dbInstance(r: RestoredResource) {
  return {
    DBInstanceIdentifier: r.id,
    DBInstanceArn: r.arn,
    DBInstanceStatus: r.status,
    Engine: r.engine,
    AllocatedStorage: r.allocatedStorage,
    PubliclyAccessible: r.publiclyAccessible,
    DeletionProtection: r.deletionProtection,
    DBSubnetGroup: { DBSubnetGroupName: r.subnetGroup },
    VpcSecurityGroups: (r.securityGroups ?? []).map((id) => ({ VpcSecurityGroupId: id, Status: 'active' })),
    Endpoint:
      r.status === 'available' || r.status === 'backing-up'
        ? { Address: `${r.id}.c9sandbox0.${r.region}.rds.amazonaws.com`, Port: 5432 }
        : undefined,
    TagList: tagList(r.tags),
    InstanceCreateTime: new Date(r.createdAt),
  };
}

function volume(r: RestoredResource) {
  return {
    VolumeId: r.id,
    Size: r.size,
    State: r.status,
    AvailabilityZone: r.availabilityZone,
    Encrypted: r.encrypted,
    SnapshotId: r.snapshotId,
    Attachments: [],
    Tags: tagList(r.tags),
    CreateTime: new Date(r.createdAt),
  };
}

export function serviceOperations(
  world: World,
  stepFunctions: StepFunctionsSimulator,
  random: Random,
): Record<string, Operation> {
  const s = world.settings;
  const db = (caller: Caller, id: string) => {
    const found = world.findResource(caller, 'db-instance', id);
    if (!found) throw new SimulatedAwsError('DBInstanceNotFoundFault', `DBInstance ${id} not found.`);
    return found;
  };
  const vol = (caller: Caller, id: string) => {
    const found = world.findResource(caller, 'volume', id);
    if (!found) throw new SimulatedAwsError('InvalidVolume.NotFound', `The volume '${id}' does not exist.`);
    return found;
  };
  const teardownFault = (code: string) => {
    if (world.failTeardownOnce())
      throw new SimulatedAwsError(
        code,
        'sandbox fault teardown=fail: the resource is in a state that does not allow deletion',
      );
  };

  return {
    'STS.AssumeRole': (
      caller,
      input: { RoleArn?: string; ExternalId?: string; DurationSeconds?: number },
    ) => {
      const match = (input.RoleArn ?? '').match(/^arn:aws:iam::(\d{12}):role\/(.+)$/);
      const account = match?.[1] ?? '';
      const role = match?.[2] ?? '';
      const trusted =
        caller.account === s.centralAccount &&
        input.ExternalId === s.externalId &&
        ((account === s.drAccount && (role === s.drRoleName || role === s.drTeardownRoleName)) ||
          (s.sourceAccounts.includes(account) && role === s.sourceRoleName));
      if (!trusted) {
        throw new SimulatedAwsError(
          'AccessDenied',
          `User: ${caller.roleArn} is not authorized to perform: sts:AssumeRole on resource: ${input.RoleArn}`,
        );
      }
      const accessKeyId = `ASIASBX${random.hex(13).toUpperCase()}`;
      const expiresAt = Date.now() + (input.DurationSeconds ?? 3600) * 1000;
      registerPrincipal(accessKeyId, { account, roleArn: input.RoleArn ?? '', expiresAt });
      return {
        Credentials: {
          AccessKeyId: accessKeyId,
          SecretAccessKey: random.hex(40),
          SessionToken: random.hex(64),
          Expiration: new Date(expiresAt),
        },
        AssumedRoleUser: {
          Arn: `arn:aws:sts::${account}:assumed-role/${role}/pilotlight`,
          AssumedRoleId: `AROA${random.hex(16).toUpperCase()}:pilotlight`,
        },
      };
    },
    'STS.GetCallerIdentity': (caller) => ({
      Account: caller.account,
      Arn: caller.roleArn,
      UserId: 'sandbox',
    }),

    'Backup.DescribeRecoveryPoint': (caller, input) => world.describeRecoveryPoint(caller, input),
    'Backup.GetRecoveryPointRestoreMetadata': (caller, input) =>
      world.getRecoveryPointRestoreMetadata(caller, input),
    'Backup.StartCopyJob': (caller, input) => world.startCopyJob(caller, input),
    'Backup.DescribeCopyJob': (caller, input) => world.describeCopyJob(caller, input),
    'Backup.StartRestoreJob': (caller, input) => world.startRestoreJob(caller, input),
    'Backup.DescribeRestoreJob': (caller, input) => world.describeRestoreJob(caller, input),
    'Backup.ListRestoreJobs': (caller, input) => world.listRestoreJobs(caller, input),
    'Backup.ListBackupJobs': (caller, input) => world.listBackupJobs(caller, input),

    'RDS.DescribeDBInstances': (caller, input: { DBInstanceIdentifier?: string }) => ({
      DBInstances: [dbInstance(db(caller, input.DBInstanceIdentifier ?? ''))],
    }),
    'RDS.ListTagsForResource': (caller, input: { ResourceName?: string }) => ({
      TagList: tagList(db(caller, input.ResourceName ?? '').tags),
    }),
    'RDS.AddTagsToResource': (
      caller,
      input: { ResourceName?: string; Tags?: { Key?: string; Value?: string }[] },
    ) => {
      const resource = db(caller, input.ResourceName ?? '');
      for (const tag of input.Tags ?? []) resource.tags[tag.Key ?? ''] = tag.Value ?? '';
      return {};
    },
    'RDS.DeleteDBInstance': (
      caller,
      input: { DBInstanceIdentifier?: string; SkipFinalSnapshot?: boolean },
    ) => {
      const resource = db(caller, input.DBInstanceIdentifier ?? '');
      world.authorizeDelete(caller, resource);
      if (resource.deletionProtection)
        throw new SimulatedAwsError(
          'InvalidParameterCombination',
          'Cannot delete protected DB Instance, please disable deletion protection and try again.',
        );
      if (resource.status === 'deleting')
        throw new SimulatedAwsError(
          'InvalidDBInstanceStateFault',
          `DB instance ${resource.id} is already being deleted.`,
        );
      teardownFault('InvalidDBInstanceStateFault');
      world.beginDelete(resource, 300);
      return { DBInstance: dbInstance(resource) };
    },

    'EC2.DescribeVolumes': (caller, input: { VolumeIds?: string[] }) => ({
      Volumes: (input.VolumeIds ?? []).map((id) => volume(vol(caller, id))),
    }),
    'EC2.CreateTags': (
      caller,
      input: { Resources?: string[]; Tags?: { Key?: string; Value?: string }[] },
    ) => {
      for (const id of input.Resources ?? []) {
        const resource = vol(caller, id);
        for (const tag of input.Tags ?? []) resource.tags[tag.Key ?? ''] = tag.Value ?? '';
      }
      return {};
    },
    'EC2.DeleteVolume': (caller, input: { VolumeId?: string }) => {
      const resource = vol(caller, input.VolumeId ?? '');
      world.authorizeDelete(caller, resource);
      teardownFault('IncorrectState');
      world.beginDelete(resource, 20);
      return {};
    },

    'ResourceGroupsTaggingAPI.GetResources': (caller, input) => world.getResources(caller, input),

    'S3.PutObject': (caller, input) => world.putObject(caller, input),
    'S3.DeleteObject': (caller, input) => world.deleteObject(caller, input),
    'SNS.Publish': (caller, input) => world.publish(caller, input),

    'SFN.StartExecution': (_caller, input) => stepFunctions.startExecution(input),
    'SFN.DescribeExecution': (_caller, input) => stepFunctions.describeExecution(input),
    'SFN.SendTaskSuccess': (_caller, input) => stepFunctions.sendTaskSuccess(input),
    'SFN.SendTaskFailure': (_caller, input) => stepFunctions.sendTaskFailure(input),
  };
}

export function dispatch(operations: Record<string, Operation>, call: ApiCall): unknown {
  const operation = operations[`${call.service}.${call.operation}`];
  if (!operation) throw new Error(`the sandbox does not simulate ${call.service}.${call.operation}`);
  return operation(call.caller, call.input as Record<string, never>);
}
