import { UnsupportedResourceType } from '../lib/errors.js';
import { ebs } from './ebs.js';
import { rds } from './rds.js';
import type { ResourceModule } from './types.js';

/** The resource types Pilotlight can drill. One module per type. */
const modules: readonly ResourceModule[] = [rds, ebs];

export const supportedResourceTypes: readonly string[] = modules.map((module) => module.type);

/** Every module, for work that spans types (the orphan sweeper). */
export const resourceModules: readonly ResourceModule[] = modules;

export function isSupported(resourceType: string): boolean {
  return supportedResourceTypes.includes(resourceType);
}

export function resourceModule(resourceType: string): ResourceModule {
  const found = modules.find((module) => module.type === resourceType);
  if (!found) {
    throw new UnsupportedResourceType(
      `resource type ${resourceType} is not supported (supported: ${supportedResourceTypes.join(', ')})`,
    );
  }
  return found;
}
