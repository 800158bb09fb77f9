import { parseArgs } from 'node:util';
import { z } from 'zod';

/** Bad command-line input: exit status 2, one line on stderr, nothing started. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const USAGE =
  'usage: pilotlight drill [--resource-type T] [--count N] [--event FILE] [--seed N] [--mode drill|failover] [--fault SPEC]... [--json]';

const DrillOptions = z.object({
  resourceType: z
    .string()
    .regex(/^[A-Za-z0-9]+$/, 'must be an AWS Backup resource type such as RDS or EBS')
    .default('RDS'),
  count: z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(100, 'must be at most 100')
    .default(1),
  event: z.string().min(1).optional(),
  seed: z.coerce
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(0, 'must be 0 or more')
    .default(1),
  mode: z.enum(['drill', 'failover'], { error: 'must be drill or failover' }).default('drill'),
  faults: z.array(z.string()).default([]),
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
        event: { type: 'string' },
        seed: { type: 'string' },
        mode: { type: 'string' },
        fault: { type: 'string', multiple: true },
        json: { type: 'boolean' },
      },
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message.split('\n')[0] : String(error));
  }
  const parsed = DrillOptions.safeParse({
    resourceType: values['resource-type'],
    count: values.count,
    event: values.event,
    seed: values.seed,
    mode: values.mode,
    faults: values.fault,
    json: values.json,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const flag = String(issue?.path[0] ?? '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    throw new UsageError(`--${flag === 'faults' ? 'fault' : flag} ${issue?.message ?? 'is invalid'}`);
  }
  if (
    parsed.data.event &&
    (values.mode !== undefined || values.count !== undefined || values['resource-type'] !== undefined)
  ) {
    throw new UsageError(
      '--event delivers one event as it is; it cannot be combined with --mode, --count or --resource-type',
    );
  }
  return parsed.data;
}
