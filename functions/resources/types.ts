import type * as z from 'zod';
import type { AccountClients } from '../lib/clients.js';
import type { Config } from '../lib/config.js';
import type { DataCheckReport } from '../lib/data-checks.js';
import type { Check, Drill } from '../lib/drill.js';
import type { DataCheck } from '../lib/validations.js';

/**
 * Everything Pilotlight knows about one AWS Backup resource type. Adding a type means adding one module that
 * implements this interface and registering it in ./index.ts; nothing else in functions/ names a type.
 */
export interface ResourceModule {
  /** The AWS Backup resource type string (`ResourceType` in the Backup API and events). */
  readonly type: string;
  /**
   * The Resource Groups Tagging API types (`service:type`) of what a restore of this type leaves in the DR
   * account: the restored resource first, then what Pilotlight adds to it (a cluster's instance).
   */
  readonly taggingTypes: readonly string[];
  /** Whether an ARN is the kind of resource a restore of this type creates (ARN forms differ per type). */
  owns(resourceArn: string): boolean;
  /**
   * Whether a recovery point ARN is this type's, where the ARN says it (RDS and Redshift snapshots, EBS
   * snapshots, AMIs, FSx and DynamoDB backups); AWS Backup's own `recovery-point:` ARNs name no type (false).
   */
  ownsRecoveryPoint(recoveryPointArn: string): boolean;
  /**
   * How long the restored resource may take to become ready after its restore job completes, and how often
   * it is checked (checkHealth throws ResourceNotReady until then, ReadinessTimedOut after).
   */
  readonly readiness: { budgetSeconds: number };
  /**
   * How long a drill of this type typically holds its restore slot (the restore job, readiness, the checks and
   * the teardown): `seconds` plus `perGiBSeconds` per GiB of the recovery point. An estimate used only to order
   * drills queued for a slot at the same time (functions/lib/admission.ts, longest first); never a limit.
   */
  readonly typicalRestore: { seconds: number; perGiBSeconds: number };
  /** Settings this type needs from the environment (serverless.yml), checked when the module is used. */
  readonly settings?: z.ZodObject;
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
   * Readiness and health checks of the restored resource against what the backup says it holds. Throws
   * ResourceNotReady while the resource is still transitioning (a cluster type also creates its drill
   * instance here, tagged at creation); otherwise returns every check.
   */
  checkHealth(input: {
    clients: AccountClients;
    resourceArn: string;
    expected: Record<string, string>;
    drill: Drill;
    config: Config;
  }): Promise<Check[]>;
  /**
   * Runs a validation profile's data checks against the restored copy (docs/validation.md): SQL types through
   * the probe in the DR account, DynamoDB and S3 with the DR role's clients. Called by checkHealth after
   * `checkHealth` returned; types without it get no data checks.
   */
  dataChecks?(input: {
    clients: AccountClients;
    resourceArn: string;
    drill: Drill;
    config: Config;
    checks: DataCheck[];
    recoveryPointCreatedAt: Date;
  }): Promise<DataCheckReport>;
  /**
   * How your validator reaches the restored copy (functions/lib/validators.ts): the database endpoint and the
   * copy's own RDS-managed master user secret. Types without it give validators only the ARN.
   */
  connection?(
    clients: AccountClients,
    resourceArn: string,
  ): Promise<{ address?: string; port?: number; database?: string; secretArn?: string }>;
  /**
   * Whether the resource (with what Pilotlight added to it) still exists: 'present' when there is something
   * to delete next (for a cluster: its instance, then, once that is gone, the cluster), 'deleting' while AWS
   * deletes, 'gone' when no API returns it any more. The Tagging API lags behind deletions, so the sweeper asks this.
   */
  lifecycle(clients: AccountClients, resourceArn: string): Promise<'present' | 'deleting' | 'gone'>;
  /**
   * Moves the deletion forward and says what it asked AWS to delete (the resource, its members): callers call
   * it whenever lifecycle says 'present', until it says 'gone'. 'already-gone' when nothing was there.
   * Callers check the drill tag first.
   */
  delete(clients: AccountClients, resourceArn: string): Promise<DeleteOutcome>;
}

export interface DeleteOutcome {
  status: 'deleted' | 'already-gone';
  /** Every ARN or id this call asked AWS to delete (members first). */
  deleted: string[];
}

export function check(name: string, passed: boolean, detail: string): Check {
  return { name, passed, detail };
}

export function tagsOf(
  list: readonly { Key?: string; Value?: string }[] | undefined,
): Record<string, string> {
  return Object.fromEntries((list ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? '']));
}

export function tagList(tags: Record<string, string>): { Key: string; Value: string }[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

/** The `tagged` check every type runs: the restored resource carries this drill's id. */
export function taggedCheck(tags: Record<string, string | undefined>, drillId: string): Check {
  return check(
    'tagged',
    tags['pilotlight:drill-id'] === drillId,
    `pilotlight:drill-id=${tags['pilotlight:drill-id'] ?? '(missing)'}`,
  );
}

/**
 * A name for what a drill creates (DB instance and cluster identifiers, table and bucket names): `pl-` and the
 * drill id, lower case, letters, digits and hyphens, at most `max` characters, not ending in a hyphen.
 */
export function drillResourceName(drillId: string, max = 63, suffix = ''): string {
  const base = `pl-${drillId.replace(/[^a-zA-Z0-9]+/g, '-').toLowerCase()}`;
  return `${base.slice(0, max - suffix.length).replace(/-+$/, '')}${suffix}`;
}
