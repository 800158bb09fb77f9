import { createHash } from 'node:crypto';
import { SimulatedAwsError } from '../aws-errors.js';
import { accountOf } from '../iam-keys.js';
import { type ServiceApi, text } from '../resources/types.js';
import type { Caller, RestoredResource, World } from '../world.js';

/**
 * AWS Secrets Manager in the sandbox: the secrets RDS creates for a DB instance or cluster whose master
 * password it manages (`ManageMasterUserPassword`), holding `{username, password}`. As RDS does, it names
 * them `rds!db-<uuid>` / `rds!cluster-<uuid>` (the UUID is not the identifier: IAM cannot tell a drill copy's
 * secret by its name) and tags them with the owner's ARN (`aws:rds:primaryDBInstanceArn` or
 * `aws:rds:primaryDBClusterArn`), which is what IAM policies scope by; RDS deletes the secret with its owner.
 * A secret is a tracked resource (part of its owner), so IAM sees its tags like any other resource's.
 */
export interface Secret extends RestoredResource {
  kind: 'secret';
  /** The secret's text (JSON); never logged. */
  value: string;
}

export class SecretsState {
  readonly secrets = new Map<string, Secret>();

  /** The managed secret of the DB instance or cluster `owner` (its ARN): created, tagged, part of it. */
  addManaged(world: World, owner: RestoredResource, value: string): Secret {
    const arn = rdsManagedSecretArn(owner.arn);
    const ownerKey = owner.arn.includes(':cluster:')
      ? 'aws:rds:primaryDBClusterArn'
      : 'aws:rds:primaryDBInstanceArn';
    const secret: Secret = {
      arn,
      account: owner.account,
      region: owner.region,
      kind: 'secret',
      id: arn.split(':').pop() ?? '',
      status: 'available',
      phase: 'present',
      tags: { [ownerKey]: owner.arn, 'aws:secretsmanager:owningService': 'rds' },
      createdAt: world.now,
      partOf: owner.arn,
      value,
    };
    this.secrets.set(arn, secret);
    world.track(secret);
    return secret;
  }

  /** The owner was deleted: RDS deletes its managed secret. */
  deleteManagedOf(world: World, ownerArn: string): void {
    for (const secret of this.secrets.values()) {
      if (secret.partOf !== ownerArn || secret.phase === 'deleted') continue;
      secret.phase = 'deleted';
      secret.status = 'deleted';
      secret.deletedAt = world.now;
    }
  }

  find(caller: Caller, idOrArn: string): Secret {
    const found = [...this.secrets.values()].find(
      (s) =>
        (s.arn === idOrArn || s.id.replace(/-[A-Za-z0-9]{6}$/, '') === idOrArn) &&
        s.account === caller.account &&
        s.region === caller.region &&
        s.phase !== 'deleted',
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
 * The ARN of the secret RDS manages for the DB instance or cluster `ownerArn`: `rds!db-<uuid>` or
 * `rds!cluster-<uuid>` and the six characters Secrets Manager appends. Derived from the owner's ARN, so IAM
 * sees the same ARN before the secret exists.
 */
export function rdsManagedSecretArn(ownerArn: string): string {
  const [, , , region = '', account = '', kind = ''] = ownerArn.split(':');
  const hex = createHash('sha256').update(ownerArn).digest('hex');
  const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
  const name = `rds!${kind === 'cluster' ? 'cluster' : 'db'}-${uuid}`;
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
          Name: secret.id.replace(/-[A-Za-z0-9]{6}$/, ''),
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
          taggedResource: arn,
        },
      ];
    },
  },
};
