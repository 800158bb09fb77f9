import { accountOf, tagContext, tagsOf } from './iam-keys.js';
import { serviceApis } from './resources/index.js';

export { accountOf, tagContext, tagsOf };

import type { IamMapper } from './resources/types.js';

/**
 * What IAM is asked for each API call the handlers make: the action, the resource ARN and its account, and
 * the request's own context keys (tags in the request, ExternalId, the service a role is passed to). One
 * call can need several authorizations, as in AWS: StartRestoreJob is also iam:PassRole on the restore role;
 * a PutObject with a retention date is also s3:PutObjectRetention; a PutObject into an SSE-KMS bucket or a
 * Publish to an encrypted topic is also kms:GenerateDataKey on the key, on the caller's behalf.
 *
 * An operation not listed here throws: a handler calling something new must get a mapping (and its
 * permission) before the sandbox lets it through — nothing is allowed by default.
 */
export interface IamRequest {
  action: string;
  resource: string;
  /** The account that owns the resource ('*' for actions without resource-level permissions: the caller's). */
  resourceAccount: string;
  /** Request-specific context keys (the evaluator adds the global ones and the resource's tags). */
  context: Record<string, string | string[]>;
  /** The resource whose tags are aws:ResourceTag/* (the ARN of a restored resource), if any. */
  taggedResource?: string;
  /** The resource policy that applies (bucket, topic, key, vault, trust policy), by the ARN it is stored under. */
  resourcePolicyOf?: string;
  /** A service acting for the caller (kms:ViaService): the denial is reported by the service called. */
  via?: string;
}

export interface RequestEnvironment {
  /** The caller's account and the region it addressed. */
  account: string;
  region: string;
  /** The account of the Pilotlight stack (its bucket, topic, table, state machine). */
  centralAccount: string;
  /** The KMS key a bucket or topic encrypts with (SSE-KMS), by bucket name or topic ARN. */
  encryptionKeyOf: (resource: string) => string | undefined;
  /**
   * A resource's ARN from its identifier or ARN (`kind` as the service names it); `fallback` when no such
   * resource exists (IAM still authorizes the request, on the ARN it would have).
   */
  resourceArn: (kind: string, idOrArn: string, account: string, region: string, fallback: string) => string;
  /** The vault a recovery point is in (for the vault's access policy). */
  vaultOfRecoveryPoint: (arn: string) => string | undefined;
}

type Input = Record<string, unknown>;
const text = (value: unknown): string => (typeof value === 'string' ? value : '');

function single(
  action: string,
  resource: string,
  resourceAccount: string,
  extra: Partial<IamRequest> = {},
): IamRequest[] {
  return [{ action, resource, resourceAccount, context: {}, ...extra }];
}

function passRole(roleArn: string, service: string): IamRequest {
  return {
    action: 'iam:PassRole',
    resource: roleArn,
    resourceAccount: accountOf(roleArn),
    context: { 'iam:PassedToService': service },
  };
}

function viaKms(
  env: RequestEnvironment,
  keyArn: string | undefined,
  service: string,
  actions: string[],
): IamRequest[] {
  if (!keyArn) return [];
  return actions.map((action) => ({
    action,
    resource: keyArn,
    resourceAccount: accountOf(keyArn),
    context: { 'kms:ViaService': `${service}.${env.region}.amazonaws.com`, 'kms:CallerAccount': env.account },
    resourcePolicyOf: keyArn,
    via: service,
  }));
}

type Mapper = IamMapper;

const recoveryPoint =
  (action: string): Mapper =>
  (input, env) => {
    const arn = text(input.RecoveryPointArn);
    // A recovery point's ARN is the backup's own (an RDS or EBS snapshot); its account is the vault's.
    return single(`backup:${action}`, arn, accountOf(arn) || env.account, {
      resourcePolicyOf: env.vaultOfRecoveryPoint(arn),
    });
  };

export const operationActions: Record<string, Mapper> = {
  'STS.AssumeRole': (input) => {
    const roleArn = text(input.RoleArn);
    const context: Record<string, string | string[]> = {};
    if (typeof input.ExternalId === 'string') context['sts:ExternalId'] = input.ExternalId;
    if (typeof input.RoleSessionName === 'string') context['sts:RoleSessionName'] = input.RoleSessionName;
    return [
      {
        action: 'sts:AssumeRole',
        resource: roleArn,
        resourceAccount: accountOf(roleArn),
        context,
        resourcePolicyOf: roleArn,
      },
    ];
  },
  // GetCallerIdentity needs no permission: an explicit deny cannot stop it either.
  'STS.GetCallerIdentity': () => [],

  'Backup.DescribeRecoveryPoint': recoveryPoint('DescribeRecoveryPoint'),
  'Backup.GetRecoveryPointRestoreMetadata': recoveryPoint('GetRecoveryPointRestoreMetadata'),
  'Backup.StartCopyJob': (input, env) => [
    ...recoveryPoint('StartCopyJob')(input, env),
    passRole(text(input.IamRoleArn), 'backup.amazonaws.com'),
  ],
  'Backup.StartRestoreJob': (input, env) => [
    ...recoveryPoint('StartRestoreJob')(input, env),
    passRole(text(input.IamRoleArn), 'backup.amazonaws.com'),
  ],
  'Backup.DescribeCopyJob': (_input, env) => single('backup:DescribeCopyJob', '*', env.account),
  'Backup.DescribeRestoreJob': (_input, env) => single('backup:DescribeRestoreJob', '*', env.account),
  // No resource types and no condition keys (Service Authorization Reference): always `*`.
  'Backup.PutRestoreValidationResult': (_input, env) =>
    single('backup:PutRestoreValidationResult', '*', env.account),
  // No resource-level permissions for the job listings (Service Authorization Reference).
  'Backup.ListRestoreJobs': (_input, env) => single('backup:ListRestoreJobs', '*', env.account),
  'Backup.ListCopyJobs': (_input, env) => single('backup:ListCopyJobs', '*', env.account),
  'Backup.ListBackupJobs': (_input, env) => single('backup:ListBackupJobs', '*', env.account),
  // Nor for these two listings (drills by policy, functions/lib/plan.ts).
  'Backup.ListProtectedResources': (_input, env) => single('backup:ListProtectedResources', '*', env.account),
  'Backup.ListRecoveryPointsByResource': (_input, env) =>
    single('backup:ListRecoveryPointsByResource', '*', env.account),

  'ResourceGroupsTaggingAPI.GetResources': (_input, env) => single('tag:GetResources', '*', env.account),

  'S3.PutObject': (input, env) => {
    const bucket = text(input.Bucket);
    const object = `arn:aws:s3:::${bucket}/${text(input.Key)}`;
    const requests: IamRequest[] = [
      {
        action: 's3:PutObject',
        resource: object,
        resourceAccount: env.centralAccount,
        context: { 's3:TlsVersion': '1.3', 's3:ResourceAccount': env.centralAccount },
        resourcePolicyOf: `arn:aws:s3:::${bucket}`,
      },
    ];
    if (input.ObjectLockMode || input.ObjectLockRetainUntilDate) {
      const context: Record<string, string | string[]> = {
        's3:TlsVersion': '1.3',
        's3:ResourceAccount': env.centralAccount,
      };
      if (typeof input.ObjectLockMode === 'string') context['s3:object-lock-mode'] = input.ObjectLockMode;
      if (input.ObjectLockRetainUntilDate instanceof Date) {
        const until = input.ObjectLockRetainUntilDate;
        context['s3:object-lock-retain-until-date'] = until.toISOString();
        context['s3:object-lock-remaining-retention-days'] = String(
          Math.ceil((until.getTime() - Date.now()) / 86_400_000),
        );
      }
      requests.push({
        action: 's3:PutObjectRetention',
        resource: object,
        resourceAccount: env.centralAccount,
        context,
        resourcePolicyOf: `arn:aws:s3:::${bucket}`,
      });
    }
    return [...requests, ...viaKms(env, env.encryptionKeyOf(bucket), 's3', ['kms:GenerateDataKey'])];
  },
  // Data checks of a restored bucket (functions/lib/s3-checks.ts): the bucket is the caller's account's.
  'S3.ListObjectsV2': (input, env) => {
    const bucket = `arn:aws:s3:::${text(input.Bucket)}`;
    return single('s3:ListBucket', bucket, env.account, {
      context: { 's3:prefix': text(input.Prefix) },
      resourcePolicyOf: bucket,
    });
  },
  'S3.GetObject': (input, env) => {
    const bucket = text(input.Bucket);
    return [
      ...single('s3:GetObject', `arn:aws:s3:::${bucket}/${text(input.Key)}`, env.account, {
        resourcePolicyOf: `arn:aws:s3:::${bucket}`,
      }),
      ...viaKms(env, env.encryptionKeyOf(bucket), 's3', ['kms:Decrypt']),
    ];
  },
  'SNS.Publish': (input, env) => {
    const topic = text(input.TopicArn);
    return [
      ...single('sns:Publish', topic, accountOf(topic), { resourcePolicyOf: topic }),
      ...viaKms(env, env.encryptionKeyOf(topic), 'sns', ['kms:GenerateDataKey', 'kms:Decrypt']),
    ];
  },

  'SFN.StartExecution': (input) => {
    const arn = text(input.stateMachineArn);
    return single('states:StartExecution', arn, accountOf(arn));
  },
  'SFN.DescribeExecution': (input) => {
    const arn = text(input.executionArn);
    return single('states:DescribeExecution', arn, accountOf(arn));
  },
  'SFN.ListExecutions': (input) => {
    const arn = text(input.stateMachineArn);
    return single('states:ListExecutions', arn, accountOf(arn));
  },
  // The task token names no resource: Step Functions authorizes the callbacks without resource-level permissions.
  'SFN.SendTaskSuccess': (_input, env) => single('states:SendTaskSuccess', '*', env.account),
  'SFN.SendTaskFailure': (_input, env) => single('states:SendTaskFailure', '*', env.account),

  'DynamoDB.GetItem': (input, env) => tableRequest('dynamodb:GetItem', input, env),
  'DynamoDB.PutItem': (input, env) => tableRequest('dynamodb:PutItem', input, env),
  'DynamoDB.UpdateItem': (input, env) => tableRequest('dynamodb:UpdateItem', input, env),
  'DynamoDB.DeleteItem': (input, env) => tableRequest('dynamodb:DeleteItem', input, env),
  'DynamoDB.Query': (input, env) => tableRequest('dynamodb:Query', input, env),
  'DynamoDB.Scan': (input, env) => tableRequest('dynamodb:Scan', input, env),
};

/** What IAM is asked for the operations of the services restored resources live in (their own modules). */
let serviceIamCache: Record<string, Mapper> | undefined;
// Built on first use: the service modules import this one (for its helpers), so it cannot read them at load.
const serviceIam = (): Record<string, Mapper> => {
  serviceIamCache ??= Object.assign({}, ...serviceApis.map((api) => api.iam));
  return serviceIamCache ?? {};
};

function tableRequest(action: string, input: Input, env: RequestEnvironment): IamRequest[] {
  const table = `arn:aws:dynamodb:${env.region}:${env.account}:table/${text(input.TableName)}`;
  // A Query or Scan of an index is authorized on the index's ARN, not the table's.
  const index = text(input.IndexName);
  // The table's tags are aws:ResourceTag/* (a restored table's; the state table is no world resource).
  return single(action, index ? `${table}/index/${index}` : table, env.account, { taggedResource: table });
}

/** The authorizations one API call needs; throws for an operation the sandbox cannot map. */
export function iamRequestsFor(
  service: string,
  operation: string,
  input: Input,
  env: RequestEnvironment,
): IamRequest[] {
  const mapper = operationActions[`${service}.${operation}`] ?? serviceIam()[`${service}.${operation}`];
  if (!mapper)
    throw new Error(
      `IAM: the sandbox does not know what ${service}.${operation} is authorized as (add it to sandbox/iam-requests.ts)`,
    );
  return mapper(input, env);
}
