import { type ParseArgsConfig, parseArgs } from 'node:util';
import * as z from 'zod';
import { canonicalResourceType, supportedResourceTypes } from '../functions/resources/index.js';
import { isQuotaName, QUOTAS, type Quotas } from '../sandbox/world.js';

/** Bad command-line input: exit status 2, one line on stderr, nothing started. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

/**
 * node's parseArgs, strict, with its error turned into one line for the user. Every command parses its flags
 * through this, then through its own zod schema.
 */
export function parseFlags(
  command: string,
  argv: readonly string[],
  options: Options,
): { values: Values; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: true,
      options,
    });
    return { values, positionals };
  } catch (error) {
    // parseArgs goes on to explain how to pass a positional that starts with '-': the first sentence is enough.
    const message = (error instanceof Error ? error.message : String(error)).split(/\.\s|\n/)[0] ?? '';
    throw new UsageError(`${command}: ${message} (see pilotlight ${command} --help)`, { cause: error });
  }
}

/** The first zod issue as `--flag message`: the flag named as the user typed it. */
export function flagIssue(error: z.ZodError, rename: Record<string, string> = {}): UsageError {
  const issue = error.issues[0];
  const key = String(issue?.path[0] ?? '');
  const flag = rename[key] ?? key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  return new UsageError(`--${flag} ${issue?.message ?? 'is invalid'}`, { cause: error });
}

export function noPositionals(command: string, positionals: readonly string[]): void {
  if (positionals.length > 0)
    throw new UsageError(
      `${command}: unexpected argument "${positionals[0]}" (see pilotlight ${command} --help)`,
    );
}

/**
 * A whole number written in decimal digits, as typed: `0x10`, `1e2`, `1.0`, ` 5` or `5 ` are not (Number()
 * would accept them all).
 */
export const decimal = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a number written in decimal digits (no sign, point, exponent, hex or spaces)')
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

/** The flags that select a deployed stack instead of the sandbox. */
export const AWS_FLAGS = {
  aws: { type: 'boolean' },
  stage: { type: 'string' },
  region: { type: 'string' },
  profile: { type: 'string' },
} as const satisfies Options;

export const AwsTarget = z.object({
  stage: z
    .string()
    .regex(/^[a-zA-Z0-9-]+$/, 'must be a Serverless stage name (letters, digits, -)')
    .default('prod'),
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as us-east-2')
    .optional(),
  profile: z.string().min(1, 'needs a profile name').optional(),
});
export type AwsTarget = z.infer<typeof AwsTarget>;

const DRILL_FLAGS = {
  'resource-type': { type: 'string' },
  count: { type: 'string' },
  event: { type: 'string', multiple: true },
  'source-account': { type: 'string', multiple: true },
  seed: { type: 'string' },
  mode: { type: 'string' },
  fault: { type: 'string', multiple: true },
  quota: { type: 'string', multiple: true },
  'evidence-dir': { type: 'string' },
  json: { type: 'boolean' },
  'recovery-point': { type: 'string' },
  vault: { type: 'string' },
  yes: { type: 'boolean' },
  ...AWS_FLAGS,
} as const satisfies Options;

const DrillOptions = z.object({
  resourceType: z
    .string()
    .default('RDS')
    // Case-insensitive (`ebs` is EBS); `all` drills every supported type in turn. Anything else is bad input.
    .transform((typed, ctx) => {
      if (typed.toLowerCase() === 'all') return 'all';
      const type = canonicalResourceType(typed);
      if (type) return type;
      ctx.addIssue({
        code: 'custom',
        message: `"${typed.slice(0, 40)}" is not a supported resource type (supported: ${supportedResourceTypes.join(', ')}, or all)`,
      });
      return z.NEVER;
    }),
  count: decimal(1, 1000).default(1),
  /** Event files, delivered in order, each at its `time`. */
  events: z.array(z.string().min(1, 'needs a file')).default([]),
  /** Accounts added to the deployment's sourceAccounts (as `--param sourceAccounts=…` when deploying). */
  sourceAccounts: z.array(z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id')).default([]),
  seed: decimal(0, 2 ** 32 - 1).default(1),
  mode: z.enum(['drill', 'failover'], { error: 'must be drill or failover' }).default('drill'),
  faults: z.array(z.string()).default([]),
  /** Service quota overrides, NAME=N (the names and defaults: QUOTAS in sandbox/world.ts). */
  quotas: z
    .array(z.string())
    .default([])
    .transform((pairs, ctx) => {
      const quotas: Partial<Quotas> = {};
      for (const pair of pairs) {
        const [name = '', value = ''] = pair.split('=');
        if (!isQuotaName(name)) {
          ctx.addIssue({
            code: 'custom',
            message: `"${pair}": unknown quota (known: ${Object.keys(QUOTAS).join(', ')})`,
          });
          return z.NEVER;
        }
        if (!/^\d+$/.test(value) || Number(value) < 1) {
          ctx.addIssue({ code: 'custom', message: `"${pair}": N must be a whole number of at least 1` });
          return z.NEVER;
        }
        quotas[name] = Number(value);
      }
      return quotas;
    }),
  /** Also write each drill's evidence document (and its SHA-256) here. */
  evidenceDir: z.string().min(1, 'needs a directory').optional(),
  json: z.boolean().default(false),
});
export type DrillOptions = z.infer<typeof DrillOptions>;

const AwsDrillOptions = AwsTarget.extend({
  recoveryPoint: z
    .string({ error: 'is required: the ARN of the recovery point to restore' })
    .startsWith('arn:aws', 'must be a recovery point ARN'),
  resourceType: z
    .string()
    .regex(/^[A-Za-z0-9]+$/, 'must be an AWS Backup resource type such as RDS or EBS')
    .transform((type) => supportedResourceTypes.find((t) => t.toLowerCase() === type.toLowerCase()) ?? type)
    .optional(),
  mode: z.enum(['drill', 'failover'], { error: 'must be drill or failover' }).default('drill'),
  /** The source account, for a recovery point ARN that names none (EBS snapshots, AMIs). */
  sourceAccount: z
    .string()
    .regex(/^\d{12}$/, 'must be a 12-digit AWS account id')
    .optional(),
  /** The source vault the recovery point is in. */
  vault: z.string().min(2, 'needs a backup vault name').default('Default'),
  yes: z.boolean().default(false),
  json: z.boolean().default(false),
});
export type AwsDrillOptions = z.infer<typeof AwsDrillOptions>;

const RENAME = { faults: 'fault', events: 'event', quotas: 'quota', sourceAccounts: 'source-account' };

export type ParsedDrill = { aws: false; options: DrillOptions } | { aws: true; options: AwsDrillOptions };

/** `pilotlight drill …` (after the command name): the sandbox run, or with `--aws` a deployed stack's. */
export function parseDrillArgs(argv: readonly string[]): ParsedDrill {
  const { values, positionals } = parseFlags('drill', argv, DRILL_FLAGS);
  noPositionals('drill', positionals);
  if (values.aws === true) {
    const sandboxOnly = ['count', 'event', 'seed', 'fault', 'quota', 'evidence-dir'].filter(
      (flag) => values[flag] !== undefined,
    );
    if (sandboxOnly.length > 0)
      throw new UsageError(`--${sandboxOnly[0]} is a sandbox flag; it cannot be combined with --aws`);
    const parsed = AwsDrillOptions.safeParse({
      stage: values.stage,
      region: values.region,
      profile: values.profile,
      recoveryPoint: values['recovery-point'],
      resourceType: values['resource-type'],
      mode: values.mode,
      sourceAccount: Array.isArray(values['source-account']) ? values['source-account'][0] : undefined,
      vault: values.vault,
      yes: values.yes,
      json: values.json,
    });
    if (!parsed.success) throw flagIssue(parsed.error);
    return { aws: true, options: parsed.data };
  }
  const awsOnly = ['stage', 'region', 'profile', 'recovery-point', 'vault', 'yes'].filter(
    (flag) => values[flag] !== undefined,
  );
  if (awsOnly.length > 0) throw new UsageError(`--${awsOnly[0]} needs --aws (a deployed stack)`);
  const parsed = DrillOptions.safeParse({
    resourceType: values['resource-type'],
    count: values.count,
    events: values.event,
    sourceAccounts: values['source-account'],
    seed: values.seed,
    mode: values.mode,
    faults: values.fault,
    quotas: values.quota,
    evidenceDir: values['evidence-dir'],
    json: values.json,
  });
  if (!parsed.success) throw flagIssue(parsed.error, RENAME);
  if (
    parsed.data.events.length > 0 &&
    (values.mode !== undefined || values.count !== undefined || values['resource-type'] !== undefined)
  ) {
    throw new UsageError(
      '--event delivers events as they are; it cannot be combined with --mode, --count or --resource-type',
    );
  }
  return { aws: false, options: parsed.data };
}
