import * as z from 'zod';

/**
 * Configuration shared by every function, set in serverless.yml (provider.environment) and validated once
 * at load time: a function with missing or malformed configuration fails at cold start, not mid-drill.
 */
const accountId = z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id');
const region = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as us-west-2');

/** A comma-separated list of values of one schema (blanks around commas ignored). */
function commaList(item: z.ZodString) {
  return z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((part) => part.trim())
        .filter(Boolean),
    )
    .pipe(z.array(item));
}

const ConfigSchema = z.object({
  STATE_TABLE: z.string().min(3),
  ALERT_TOPIC_ARN: z.string().startsWith('arn:aws'),
  EVIDENCE_BUCKET: z.string().min(3),
  EVIDENCE_RETENTION_DAYS: z.coerce.number().int().min(1),
  DR_ACCOUNT_ID: accountId,
  DR_REGION: region,
  DR_VAULT_NAME: z.string().min(2),
  /** The DR account role for reading, restoring, checking and tagging: it cannot delete anything. */
  DR_ROLE_NAME: z.string().min(1),
  /** The DR account role that deletes drill resources (tag-guarded): it cannot tag anything. */
  DR_TEARDOWN_ROLE_NAME: z.string().min(1),
  SOURCE_ROLE_NAME: z.string().min(1),
  EXTERNAL_ID: z.string().min(8),
  COPY_ROLE_NAME: z.string().min(1),
  RESTORE_ROLE_NAME: z.string().min(1),
  RESTORE_DB_SUBNET_GROUP: z.string().min(1),
  RESTORE_SECURITY_GROUP_IDS: z
    .string()
    .transform((value) => value.split(',').map((id) => id.trim()))
    .pipe(z.array(z.string().regex(/^sg-[0-9a-f]+$/, 'must be a security group id')).min(1)),
  RESTORE_AVAILABILITY_ZONE: z.string().min(4),
  /** The DR VPC's private subnets: where EC2 instances, EFS mount targets and FSx file systems are restored. */
  RESTORE_SUBNET_IDS: commaList(z.string().regex(/^subnet-[0-9a-f]+$/, 'must be a subnet id')).pipe(
    z.array(z.string()).min(1, 'needs at least one subnet'),
  ),
  /** The Redshift cluster subnet group in the DR VPC. */
  RESTORE_REDSHIFT_SUBNET_GROUP: z.string().min(1),
  RTO_TARGET_SECONDS: z.coerce.number().int().positive(),
  /** The package version deployed (package.json), recorded in every evidence document. */
  CODE_VERSION: z.string().min(1),
  /** The data RPO target (docs/validation.md): newest restored data at most this old at the recovery point. */
  DATA_RPO_TARGET_SECONDS: z.coerce.number().int().positive(),
  /** The region this deployment runs in (set by Lambda). A deployment in the DR region is the standby. */
  AWS_REGION: region,
  /**
   * 'true' once an operator declares the primary deployment down: the standby then drills backup events
   * too. Until then the standby only runs what it is asked to (manual drills and failovers).
   */
  PRIMARY_DECLARED_DOWN: z.enum(['true', 'false']).transform((value) => value === 'true'),
  /**
   * Admission control: restored resources of one type that may exist at once in the DR account
   * (`TYPE=N` pairs, `default=N` for the rest). Below the service quota each type is bounded by (the RDS
   * "DB instances" quota is 40 per region by default), leaving room for the pilot-light estate itself.
   */
  RESTORE_CONCURRENCY: z.string().transform((value, ctx) => {
    const limits: Record<string, number> = {};
    for (const pair of value
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean)) {
      const match = /^([A-Za-z0-9]+)=(\d+)$/.exec(pair);
      const limit = Number(match?.[2]);
      if (!match?.[1] || !(limit >= 1)) {
        ctx.addIssue({ code: 'custom', message: `"${pair}" is not TYPE=N with N >= 1` });
        return z.NEVER;
      }
      limits[match[1]] = limit;
    }
    if (limits.default === undefined) {
      ctx.addIssue({ code: 'custom', message: 'needs a default=N entry' });
      return z.NEVER;
    }
    return limits;
  }),
  /** Admission control: copies from one source account into the DR region that may run at once. */
  COPY_CONCURRENCY: z.coerce.number().int().min(1),
  /**
   * The source accounts and regions whose completed backup jobs the reconciler lists, to drill the backups
   * whose event was lost (comma-separated).
   */
  SOURCE_ACCOUNTS: commaList(accountId),
  SOURCE_REGIONS: commaList(region),
  /**
   * The most drills intake and the reconciler may have open at once (functions/lib/claims.ts, open drills).
   * Beyond it a backup is deferred, not dropped: the reconciler drills it once a place is free. At most 5000,
   * because the open drills are one state item (DynamoDB's 400 KB item limit; see claims.ts).
   */
  MAX_OPEN_DRILLS: z.coerce.number().int().min(1).max(5000),
  /** Days a drill's copy stays in the DR vault (StartCopyJob Lifecycle.DeleteAfterDays). */
  DRILL_COPY_RETENTION_DAYS: z.coerce.number().int().min(1),
  /** This deployment's drill state machine: executions are started on it and resources are tagged with it. */
  DRILL_STATE_MACHINE_ARN: z
    .string()
    .regex(/^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[\w-]+$/, 'must be a state machine ARN'),
});

export type Config = z.infer<typeof ConfigSchema>;

export function parseConfig(env: NodeJS.ProcessEnv): Config {
  const result = ConfigSchema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`Pilotlight configuration is invalid: ${problems.join('; ')}`);
  }
  return result.data;
}

export const config: Config = parseConfig(process.env);

export const drVaultArn = `arn:aws:backup:${config.DR_REGION}:${config.DR_ACCOUNT_ID}:backup-vault:${config.DR_VAULT_NAME}`;

/** How many restored resources of this type may exist at once in the DR account. */
export function restoreLimit(resourceType: string): number {
  return config.RESTORE_CONCURRENCY[resourceType] ?? config.RESTORE_CONCURRENCY.default ?? 1;
}

/**
 * Whether backup and copy job events from this account are drilled: only the configured source accounts'
 * are (param sourceAccounts). Any account of the organization may send events to the bus; a misconfigured
 * plan or a forged event in another account must not start copies and restores.
 */
export function isSourceAccount(account: string): boolean {
  return config.SOURCE_ACCOUNTS.includes(account);
}

/** The regions whose completed backup jobs the reconciler lists: sourceRegions, or this deployment's region. */
export const reconciledRegions: readonly string[] =
  config.SOURCE_REGIONS.length > 0 ? config.SOURCE_REGIONS : [config.AWS_REGION];

/** This deployment runs in the DR region: the standby of the primary deployment. */
export const isStandby = config.AWS_REGION === config.DR_REGION;

/** The ARN of one drill's execution: the execution name is the drill id. */
export function executionArnOf(drillId: string): string {
  return `${config.DRILL_STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${drillId}`;
}
