import { createHash } from 'node:crypto';
import * as z from 'zod';
import { canonicalResourceType, supportedResourceTypes } from '../resources/index.js';
import { packagedFilePath, parseYamlDocument, readConfigFile } from './config-file.js';
import { type PolicyRef, TierTargets } from './drill.js';

/**
 * Drills by policy (policies.yml): which source resources are drilled on a schedule, selected by their tags,
 * how often, from which recovery point, and the recovery targets of their tier. The plan function
 * (functions/plan.ts) reads it; `serverless package` checks it first (serverless/drill-policies.mjs).
 */

/** policies.yml cannot be read, is not YAML, or does not match the schema. The message is one line. */
export class DrillPoliciesInvalid extends Error {
  override readonly name = 'DrillPoliciesInvalid';
}

/** `12h`, `1d`, `7d`: how often a resource is drilled. */
const Every = z.coerce
  .string()
  .regex(/^\d+[hd]$/, 'must be a duration such as 12h or 7d')
  .transform((text) => Number(text.slice(0, -1)) * (text.endsWith('d') ? 86_400_000 : 3_600_000))
  .pipe(z.number().min(3_600_000, 'must be at least 1h'));

const RecoveryPointRule = z.discriminatedUnion('rule', [
  z.strictObject({ rule: z.literal('latest') }),
  z.strictObject({ rule: z.literal('random'), windowDays: z.number().int().min(1).max(365) }),
]);
export type RecoveryPointRule = z.infer<typeof RecoveryPointRule>;

const ResourceType = z.string().transform((typed, ctx) => {
  const type = canonicalResourceType(typed);
  if (type) return type;
  ctx.addIssue({
    code: 'custom',
    message: `"${typed}" is not a supported resource type (${supportedResourceTypes.join(', ')})`,
  });
  return z.NEVER;
});

const TagKey = z.string().min(1).max(128);

export const DrillPolicy = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be lower-case letters, digits and -'),
  tier: z.string().min(1),
  select: z.strictObject({
    /** Every tag must be on the resource with this value. */
    tags: z.record(TagKey, z.string().max(256)).refine((tags) => Object.keys(tags).length > 0, {
      message: 'needs at least one tag',
    }),
    resourceTypes: z.array(ResourceType).min(1).optional(),
  }),
  every: Every,
  recoveryPoint: RecoveryPointRule,
  maxDrillsPerRun: z.number().int().min(1).max(1000).default(20),
});
export type DrillPolicy = z.infer<typeof DrillPolicy>;

export const DrillPolicies = z
  .strictObject({
    tiers: z.record(z.string().regex(/^[a-z0-9-]+$/, 'tier names are lower-case'), TierTargets),
    policies: z.array(DrillPolicy),
  })
  .superRefine((document, ctx) => {
    const names = new Set<string>();
    document.policies.forEach((policy, index) => {
      if (!Object.hasOwn(document.tiers, policy.tier))
        ctx.addIssue({
          code: 'custom',
          path: ['policies', index, 'tier'],
          message: `"${policy.tier}" is not a tier (tiers: ${Object.keys(document.tiers).join(', ') || 'none'})`,
        });
      const tier = document.tiers[policy.tier];
      const rule = policy.recoveryPoint;
      // RPO is the age of the restored recovery point when the drill starts: a window older than the tier's
      // RPO target would make the policy's own choices miss it.
      if (tier && rule.rule === 'random' && (rule.windowDays + 1) * 86_400 > tier.rpoSeconds)
        ctx.addIssue({
          code: 'custom',
          path: ['policies', index, 'recoveryPoint', 'windowDays'],
          message: `${rule.windowDays} days (plus a day for the backup window) is older than tier ${policy.tier}'s rpoSeconds ${tier.rpoSeconds}: every drill would miss its RPO target`,
        });
      if (names.has(policy.name))
        ctx.addIssue({
          code: 'custom',
          path: ['policies', index, 'name'],
          message: `"${policy.name}" is used by two policies`,
        });
      names.add(policy.name);
    });
  });
export type DrillPolicies = z.infer<typeof DrillPolicies>;

function oneLine(source: string, error: z.ZodError): string {
  // A misspelt key is also a missing one: the misspelling is what the author needs to see.
  const first = error.issues.find((issue) => issue.code === 'unrecognized_keys') ?? error.issues[0];
  if (!first) return `${source}: invalid`;
  const path = first.path
    .map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`))
    .join('');
  return `${source}: ${path.replace(/^\./, '') || '(top level)'}: ${first.message}`;
}

/** Parses policies.yml text; `source` names the file in the error message. */
export function parseDrillPolicies(text: string, source = 'policies.yml'): DrillPolicies {
  const document = parseYamlDocument(text, source, DrillPoliciesInvalid);
  const parsed = DrillPolicies.safeParse(document);
  if (!parsed.success) throw new DrillPoliciesInvalid(oneLine(source, parsed.error), { cause: parsed.error });
  return parsed.data;
}

/**
 * policies.yml next to the code: at the root of the Lambda package (`LAMBDA_TASK_ROOT`; the plan function's
 * `package.patterns` includes it), or at the repository root when run from source (tests, the sandbox).
 */
export function defaultDrillPoliciesPath(file = 'policies.yml'): string {
  return packagedFilePath(file);
}

export interface LoadedDrillPolicies {
  policies: DrillPolicies;
  /** SHA-256 (hex) of the file's bytes: which policy text planned the drills. */
  sha256: string;
}

export function loadDrillPolicies(path = defaultDrillPoliciesPath()): LoadedDrillPolicies {
  const { text, sha256 } = readConfigFile(path, DrillPoliciesInvalid);
  return { policies: parseDrillPolicies(text, path.split('/').at(-1) ?? path), sha256 };
}

/** The targets a policy's drill is judged against. */
export function policyRef(policies: DrillPolicies, policy: DrillPolicy): PolicyRef {
  const targets = policies.tiers[policy.tier];
  if (!targets) throw new DrillPoliciesInvalid(`policy ${policy.name}: no tier ${policy.tier}`);
  return { name: policy.name, tier: policy.tier, targets };
}

/** Whether a resource's tags satisfy a policy's selection. */
export function selects(policy: DrillPolicy, tags: Record<string, string>, resourceType: string): boolean {
  const types = policy.select.resourceTypes;
  if (types && !types.includes(resourceType)) return false;
  return Object.entries(policy.select.tags).every(([key, value]) => tags[key] === value);
}

/**
 * The recovery point a policy drills, among a resource's completed ones (any order): the newest, or one of
 * those created in the last `windowDays` days chosen by a hash of the policy, the resource and the day of the
 * run — the same run chooses the same point again (a retried plan, an auditor re-checking the choice), and
 * the next day's choice differs.
 */
export function chooseRecoveryPoint<P extends { createdAt: number }>(
  rule: RecoveryPointRule,
  points: readonly P[],
  at: { now: number; policy: string; resource: string },
): P | undefined {
  const newestFirst = [...points].sort((a, b) => b.createdAt - a.createdAt);
  if (rule.rule === 'latest') return newestFirst[0];
  const window = newestFirst.filter((p) => p.createdAt >= at.now - rule.windowDays * 86_400_000);
  if (window.length === 0) return undefined;
  const day = new Date(at.now).toISOString().slice(0, 10);
  const digest = createHash('sha256').update(`${at.policy}|${at.resource}|${day}`).digest();
  return window[digest.readUInt32BE(0) % window.length];
}
