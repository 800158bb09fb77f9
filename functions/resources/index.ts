import { UnsupportedResourceType } from '../lib/errors.js';
import { aurora } from './aurora.js';
import { documentdb } from './documentdb.js';
import { dynamodb } from './dynamodb.js';
import { ebs } from './ebs.js';
import { ec2 } from './ec2.js';
import { efs } from './efs.js';
import { fsx } from './fsx.js';
import { neptune } from './neptune.js';
import { rds } from './rds.js';
import { redshift } from './redshift.js';
import { s3 } from './s3.js';
import type { ResourceModule } from './types.js';

/**
 * The resource types Pilotlight can drill: the only list. One module per type (functions/resources/<type>.ts);
 * the sandbox mirrors each in sandbox/resources/<type>.ts.
 */
export const resourceModules: readonly ResourceModule[] = [
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

export const supportedResourceTypes: readonly string[] = resourceModules.map((module) => module.type);

export function isSupported(resourceType: string): boolean {
  return supportedResourceTypes.includes(resourceType);
}

/** The registry's spelling of a type typed in any case (`ebs` → `EBS`), or undefined. */
export function canonicalResourceType(typed: string): string | undefined {
  return supportedResourceTypes.find((type) => type.toLowerCase() === typed.toLowerCase());
}

export function resourceModule(resourceType: string): ResourceModule {
  const found = resourceModules.find((module) => module.type === resourceType);
  if (!found) {
    throw new UnsupportedResourceType(
      `resource type ${resourceType} is not supported (supported: ${supportedResourceTypes.join(', ')})`,
    );
  }
  return found;
}

/** The module whose restores create resources like this ARN (the sweeper's view: it has only ARNs). */
export function moduleOwning(resourceArn: string): ResourceModule | undefined {
  return resourceModules.find((module) => module.owns(resourceArn));
}

/** Every Tagging API type a restore can leave behind (the sweeper's ResourceTypeFilters). */
export const taggingTypes: readonly string[] = [
  ...new Set(resourceModules.flatMap((module) => module.taggingTypes)),
];

/** The types whose recovery points have this ARN's form (several for a cluster snapshot; none for AWS Backup's own). */
export function typesOfRecoveryPoint(recoveryPointArn: string): string[] {
  return resourceModules
    .filter((module) => module.ownsRecoveryPoint(recoveryPointArn))
    .map((module) => module.type);
}
