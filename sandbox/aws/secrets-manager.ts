import { createHash } from 'node:crypto';
import { SimulatedAwsError } from '../aws-errors.js';
import { accountOf } from '../iam-keys.js';
import { type ServiceApi, text } from '../resources/types.js';
import type { Caller, World } from '../world.js';

/**
 * AWS Secrets Manager in the sandbox: the secrets RDS creates for a DB instance whose master password it
 * manages (`ManageMasterUserPassword`), named `rds!db-…` as RDS names them, holding `{username, password}`.
 */
export interface Secret {
  arn: string;
  account: string;
  region: string;
  /** The secret's text (JSON); never logged. */
  value: string;
  deleted: boolean;
}

export class SecretsState {
  readonly secrets = new Map<string, Secret>();

  add(secret: Omit<Secret, 'deleted'>): Secret {
    const made = { ...secret, deleted: false };
    this.secrets.set(made.arn, made);
    return made;
  }

  find(caller: Caller, idOrArn: string): Secret {
    const found = [...this.secrets.values()].find(
      (s) =>
        (s.arn === idOrArn ||
          s.arn
            .split(':')
            .pop()
            ?.replace(/-[A-Za-z0-9]{6}$/, '') === idOrArn) &&
        s.account === caller.account &&
        s.region === caller.region &&
        !s.deleted,
    );
    if (!found)
      throw new SimulatedAwsError(
        'ResourceNotFoundException',
        "Secrets Manager can't find the specified secret.",
      );
    return found;
  }
}

/**
 * The ARN of the secret RDS manages for a DB instance: `rds!db-<id>` and the six characters Secrets Manager
 * appends (derived from the name here, so IAM sees the same ARN before the secret exists).
 */
export function rdsManagedSecretArn(account: string, region: string, instanceId: string): string {
  const name = `rds!db-${instanceId}`;
  const suffix = createHash('sha256').update(name).digest('base64url').replace(/[-_]/g, 'x').slice(0, 6);
  return `arn:aws:secretsmanager:${region}:${account}:secret:${name}-${suffix}`;
}

export const secretsManagerApi: ServiceApi = {
  service: 'SecretsManager',
  operations(world: World) {
    const state = world.state(SecretsState);
    return {
      'SecretsManager.GetSecretValue': (caller, input: { SecretId?: string }) => {
        const secret = state.find(caller, input.SecretId ?? '');
        return {
          ARN: secret.arn,
          Name: secret.arn.split(':').pop(),
          SecretString: secret.value,
          VersionStages: ['AWSCURRENT'],
        };
      },
    };
  },
  iam: {
    'SecretsManager.GetSecretValue': (input, env) => {
      const id = text(input.SecretId);
      const arn = id.startsWith('arn:')
        ? id
        : `arn:aws:secretsmanager:${env.region}:${env.account}:secret:${id}`;
      return [
        {
          action: 'secretsmanager:GetSecretValue',
          resource: arn,
          resourceAccount: accountOf(arn) || env.account,
          context: {},
        },
      ];
    },
  },
};
