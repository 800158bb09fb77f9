import { SimulatedAwsError } from './aws-errors.js';
import { registerPrincipal } from './identity.js';
import type { ApiCall } from './interceptor.js';
import type { Random } from './random.js';
import { serviceApis } from './resources/index.js';
import type { Operation } from './resources/types.js';
import type { StepFunctionsSimulator } from './step-functions.js';
import type { World } from './world.js';

/**
 * The API surface the handlers use, translated into the world's state. Responses have the SDK's output
 * shapes (dates as Date, lists as the service names them). An operation not listed fails loudly, so a
 * handler calling something the sandbox does not model is caught by the tests.
 */

/** Session keys issued in this process (see STS.AssumeRole). */
let issuedKeys = 0;

export function serviceOperations(
  world: World,
  stepFunctions: StepFunctionsSimulator,
  random: Random,
): Record<string, Operation> {
  return {
    // Trust (the role's trust policy, ExternalId, the caller's own sts:AssumeRole permission) is IAM's
    // (sandbox/iam.ts), evaluated before this runs: here STS only issues the session.
    'STS.AssumeRole': (
      caller,
      input: { RoleArn?: string; RoleSessionName?: string; ExternalId?: string; DurationSeconds?: number },
    ) => {
      const match = (input.RoleArn ?? '').match(/^arn:aws:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/);
      if (!match) throw new SimulatedAwsError('ValidationError', `${input.RoleArn} is not a valid role ARN`);
      const [, account = '', role = ''] = match;
      const session = input.RoleSessionName ?? 'session';
      // Unique in the process: handler modules keep role sessions across sandboxes, so a key must never be
      // issued again for another role (the registry would then answer for the wrong principal).
      issuedKeys += 1;
      const accessKeyId = `ASIASBX${issuedKeys.toString(16).toUpperCase().padStart(13, '0')}`;
      const expiresAt = Date.now() + (input.DurationSeconds ?? 3600) * 1000;
      const sessionArn = `arn:aws:sts::${account}:assumed-role/${role}/${session}`;
      registerPrincipal(accessKeyId, {
        account,
        roleArn: input.RoleArn ?? '',
        sessionArn,
        expiresAt,
        assumedBy: caller.functionKey ?? '',
        externalId: input.ExternalId,
      });
      return {
        Credentials: {
          AccessKeyId: accessKeyId,
          SecretAccessKey: random.hex(40),
          SessionToken: random.hex(64),
          Expiration: new Date(expiresAt),
        },
        AssumedRoleUser: {
          Arn: sessionArn,
          AssumedRoleId: `AROA${random.hex(16).toUpperCase()}:${session}`,
        },
      };
    },
    'STS.GetCallerIdentity': (caller) => ({
      Account: caller.account,
      Arn: caller.sessionArn,
      UserId: 'sandbox',
    }),

    'Backup.DescribeRecoveryPoint': (caller, input) => world.backup.describeRecoveryPoint(caller, input),
    'Backup.GetRecoveryPointRestoreMetadata': (caller, input) =>
      world.backup.getRecoveryPointRestoreMetadata(caller, input),
    'Backup.StartCopyJob': (caller, input) => world.backup.startCopyJob(caller, input),
    'Backup.DescribeCopyJob': (caller, input) => world.backup.describeCopyJob(caller, input),
    'Backup.StartRestoreJob': (caller, input) => world.backup.startRestoreJob(caller, input),
    'Backup.DescribeRestoreJob': (caller, input) => world.backup.describeRestoreJob(caller, input),
    'Backup.PutRestoreValidationResult': (caller, input) =>
      world.backup.putRestoreValidationResult(caller, input),
    'Backup.ListRestoreJobs': (caller, input) => world.backup.listRestoreJobs(caller, input),
    'Backup.ListCopyJobs': (caller, input) => world.backup.listCopyJobs(caller, input),
    'Backup.ListBackupJobs': (caller, input) => world.backup.listBackupJobs(caller, input),
    'Backup.ListProtectedResources': (caller, input) => world.backup.listProtectedResources(caller, input),
    'Backup.ListRecoveryPointsByResource': (caller, input) =>
      world.backup.listRecoveryPointsByResource(caller, input),

    'ResourceGroupsTaggingAPI.GetResources': (caller, input) => world.tagging.getResources(caller, input),

    'S3.PutObject': (caller, input) => world.s3.putObject(caller, input),
    'S3.DeleteObject': (caller, input) => world.s3.deleteObject(caller, input),
    'SNS.Publish': (caller, input) => world.sns.publish(caller, input),

    'SFN.StartExecution': (_caller, input) => stepFunctions.startExecution(input),
    'SFN.DescribeExecution': (_caller, input) => stepFunctions.describeExecution(input),
    'SFN.ListExecutions': (_caller, input) => stepFunctions.listExecutions(input),
    'SFN.SendTaskSuccess': (_caller, input) => stepFunctions.sendTaskSuccess(input),
    'SFN.SendTaskFailure': (_caller, input) => stepFunctions.sendTaskFailure(input),
    // The services restored resources live in, one module each (sandbox/aws, sandbox/resources).
    ...serviceApiOperations(world),
  };
}

/** Every service module's operations; two modules simulating the same operation is a mistake, not an override. */
function serviceApiOperations(world: World): Record<string, Operation> {
  const merged: Record<string, Operation> = {};
  for (const api of serviceApis) {
    for (const [name, operation] of Object.entries(api.operations(world))) {
      if (name in merged) throw new Error(`two sandbox service modules simulate ${name}`);
      merged[name] = operation;
    }
  }
  return merged;
}

export function dispatch(operations: Record<string, Operation>, call: ApiCall): unknown {
  const operation = operations[`${call.service}.${call.operation}`];
  if (!operation) throw new Error(`the sandbox does not simulate ${call.service}.${call.operation}`);
  return operation(call.caller, call.input as Record<string, never>);
}
