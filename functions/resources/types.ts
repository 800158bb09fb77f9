import type { AccountClients } from '../lib/clients.js';
import type { Config } from '../lib/config.js';
import type { Check, Drill } from '../lib/drill.js';

/**
 * Everything Pilotlight needs to know about one AWS Backup resource type. Adding a type means adding one
 * module that implements this interface and registering it in ./index.ts.
 */
export interface ResourceModule {
  /** The AWS Backup resource type string (`ResourceType` in the Backup API and events). */
  readonly type: string;
  /** The resource type in the Resource Groups Tagging API (`service:type`), used to find orphans by tag. */
  readonly taggingType: string;
  /**
   * Restore metadata for StartRestoreJob: the recovery point's own metadata (GetRecoveryPointRestoreMetadata)
   * with overrides that make the restore land isolated in the DR account: Pilotlight's network, never
   * public, no deletion protection, named after the drill.
   */
  restoreMetadata(base: Record<string, string>, drill: Drill, config: Config): Record<string, string>;
  /** Tags the restored resource (called as soon as the restore job reports it). */
  tag(clients: AccountClients, resourceArn: string, tags: Record<string, string>): Promise<void>;
  /** Current tags, or undefined when the resource no longer exists. */
  readTags(clients: AccountClients, resourceArn: string): Promise<Record<string, string> | undefined>;
  /**
   * Readiness and health checks of the restored resource against what the backup says it holds.
   * Throws ResourceNotReady while the resource is still transitioning; otherwise returns every check.
   */
  checkHealth(input: {
    clients: AccountClients;
    resourceArn: string;
    expected: Record<string, string>;
    drillId: string;
    config: Config;
  }): Promise<Check[]>;
  /**
   * Whether the resource still exists: 'deleting' once a delete has been accepted, 'gone' when no API
   * returns it any more. The Tagging API lags behind deletions, so the orphan sweeper asks this.
   */
  lifecycle(clients: AccountClients, resourceArn: string): Promise<'present' | 'deleting' | 'gone'>;
  /** Deletes the resource; 'already-gone' when it does not exist. Callers check the drill tag first. */
  delete(clients: AccountClients, resourceArn: string): Promise<'deleted' | 'already-gone'>;
}

export function check(name: string, passed: boolean, detail: string): Check {
  return { name, passed, detail };
}

/** The last `/`- or `:`-separated segment of an ARN: the resource id for RDS and EC2 ARNs. */
export function resourceIdFromArn(arn: string): string {
  const id = arn.split(/[:/]/).pop();
  if (!id) throw new Error(`cannot read a resource id from ${arn}`);
  return id;
}

/** The account field of an ARN (empty for ARNs without one). */
export function accountOf(arn: string): string {
  return arn.split(':')[4] ?? '';
}
