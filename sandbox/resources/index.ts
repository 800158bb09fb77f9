import { ec2Api } from '../aws/ec2.js';
import { lambdaApi } from '../aws/lambda.js';
import { rdsApi } from '../aws/rds.js';
import { secretsManagerApi } from '../aws/secrets-manager.js';
import { ebs } from './ebs.js';
import { rds } from './rds.js';
import type { SandboxResourceType, ServiceApi } from './types.js';

/**
 * The resource types the sandbox simulates, one module each (mirroring functions/resources/index.ts: a test
 * checks the two registries name the same types), and the service APIs their restored resources live in.
 */
export const sandboxTypes: readonly SandboxResourceType[] = [rds, ebs];

export const serviceApis: readonly ServiceApi[] = [rdsApi, ec2Api, secretsManagerApi, lambdaApi];

export class UnknownResourceType extends Error {
  override readonly name = 'UnknownResourceType';
}

/** The type's module; an unknown type is an error, never a default. */
export function sandboxType(type: string): SandboxResourceType {
  const found = sandboxTypes.find((candidate) => candidate.type === type);
  if (!found)
    throw new UnknownResourceType(
      `the sandbox does not simulate resource type "${type}" (it simulates ${sandboxTypes.map((t) => t.type).join(', ')})`,
    );
  return found;
}
