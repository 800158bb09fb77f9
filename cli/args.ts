import { parseArgs } from 'node:util';
import { z } from 'zod';
import { canonicalResourceType, supportedResourceTypes } from '../functions/resources/index.js';
import { isQuotaName, QUOTAS, type Quotas } from '../sandbox/world.js';

/** Bad command-line input: exit status 2, one line on stderr, nothing started. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const USAGE =
  'usage: pilotlight drill [--resource-type T] [--count N] [--event FILE]... [--source-account ACCOUNT]... [--seed N] [--mode drill|failover] [--fault SPEC]... [--quota NAME=N]... [--json]';

/**
 * A whole number written in decimal digits, as typed: `0x10`, `1e2`, `1.0`, ` 5` or `5 ` are not (Number()
 * would accept them all).
 */
const decimal = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a number written in decimal digits (no sign, point, exponent, hex or spaces)')
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

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
  json: z.boolean().default(false),
});
export type DrillOptions = z.infer<typeof DrillOptions>;

export function parseDrillArgs(argv: readonly string[]): DrillOptions {
  const [command, ...rest] = argv;
  if (command !== 'drill') throw new UsageError(command ? `unknown command "${command}" (${USAGE})` : USAGE);
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      args: rest,
      strict: true,
      allowPositionals: false,
      options: {
        'resource-type': { type: 'string' },
        count: { type: 'string' },
        event: { type: 'string', multiple: true },
        'source-account': { type: 'string', multiple: true },
        seed: { type: 'string' },
        mode: { type: 'string' },
        fault: { type: 'string', multiple: true },
        quota: { type: 'string', multiple: true },
        json: { type: 'boolean' },
      },
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message.split('\n')[0] : String(error));
  }
  const parsed = DrillOptions.safeParse({
    resourceType: values['resource-type'],
    count: values.count,
    events: values.event,
    sourceAccounts: values['source-account'],
    seed: values.seed,
    mode: values.mode,
    faults: values.fault,
    quotas: values.quota,
    json: values.json,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const flag = String(issue?.path[0] ?? '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    const name =
      { faults: 'fault', events: 'event', quotas: 'quota', 'source-accounts': 'source-account' }[flag] ??
      flag;
    throw new UsageError(`--${name} ${issue?.message ?? 'is invalid'}`);
  }
  if (
    parsed.data.events.length > 0 &&
    (values.mode !== undefined || values.count !== undefined || values['resource-type'] !== undefined)
  ) {
    throw new UsageError(
      '--event delivers events as they are; it cannot be combined with --mode, --count or --resource-type',
    );
  }
  return parsed.data;
}
