import { ec2Api } from '../aws/ec2.js';
import { lambdaApi } from '../aws/lambda.js';
import { rdsApi } from '../aws/rds.js';
import { secretsManagerApi } from '../aws/secrets-manager.js';
import type { ApiCall } from '../interceptor.js';
import type { World } from '../world.js';
import { aurora } from './aurora.js';
import { documentdb } from './documentdb.js';
import { dynamodb, dynamodbApi } from './dynamodb.js';
import { ebs } from './ebs.js';
import { ec2 } from './ec2.js';
import { efs, efsApi } from './efs.js';
import { fsx, fsxApi } from './fsx.js';
import { neptune } from './neptune.js';
import { rds } from './rds.js';
import { redshift, redshiftApi } from './redshift.js';
import { s3, s3Api } from './s3.js';
import type { SandboxResourceType, ServiceApi } from './types.js';

/**
 * The resource types the sandbox simulates, one module each (mirroring functions/resources/index.ts: a test
 * checks the two registries name the same types), and the service APIs their restored resources live in.
 */
export const sandboxTypes: readonly SandboxResourceType[] = [
  rds,
  ebs,
  ec2,
  efs,
  fsx,
  dynamodb,
  s3,
  redshift,
  aurora,
  documentdb,
  neptune,
];

export const serviceApis: readonly ServiceApi[] = [
  rdsApi,
  ec2Api,
  efsApi,
  fsxApi,
  dynamodbApi,
  s3Api,
  redshiftApi,
  secretsManagerApi,
  lambdaApi,
];

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

/** Where a service module sends a call instead of its simulated operations (ServiceApi.passThrough), if it says. */
export function servicePassThrough(
  world: World,
  call: ApiCall,
): { hostname: string; port: number } | boolean | undefined {
  for (const api of serviceApis) {
    if (api.service !== call.service || !api.passThrough) continue;
    const route = api.passThrough(world, call);
    if (route !== undefined) return route;
  }
  return undefined;
}
