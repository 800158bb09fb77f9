import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod';
import type { DataCheckReport } from './lib/data-checks.js';
import { lambdaHandler } from './lib/handler.js';
import { logger } from './lib/observability.js';
import { defaultSqlLimits, runSqlChecks, type SqlDialect, type SqlLimits } from './lib/sql-checks.js';
import { type DataCheck, DataCheckSchema, familyOf, isValidator } from './lib/validations.js';

/**
 * The probe: runs a validation profile's SQL checks against a restored database from inside the DR
 * account's network (accounts/dr-account.yaml, docs/validation.md). It reads the drill copy's password from
 * Secrets Manager in the DR account; the password is never logged, returned or put in an error.
 */

/** The probe's input does not match ProbeInput. Not retried. */
export class ProbeInputInvalid extends Error {
  override readonly name = 'ProbeInputInvalid';
}

/** The database secret cannot be read or is not `{username, password}` JSON (RDS-managed secret shape). */
export class DatabaseSecretUnreadable extends Error {
  override readonly name = 'DatabaseSecretUnreadable';
}

const dialectOfEngine = {
  postgres: 'postgres',
  'aurora-postgresql': 'postgres',
  mysql: 'mysql',
  'aurora-mysql': 'mysql',
  mariadb: 'mariadb',
} as const satisfies Record<string, SqlDialect>;

const engines = Object.keys(dialectOfEngine) as (keyof typeof dialectOfEngine)[];
export const ProbeEngine = z.enum(engines);

export const ProbeInput = z.strictObject({
  /** The restored instance's `Engine` (DescribeDBInstances). */
  engine: ProbeEngine,
  host: z.string().min(1),
  port: z.number().int().min(1).max(65_535),
  database: z.string().min(1),
  /** Defaults to the secret's `username`. */
  user: z.string().min(1).optional(),
  /** The drill copy's master user secret in the DR account (RDS-managed: `MasterUserSecret.SecretArn`). */
  secretArn: z
    .string()
    .regex(
      /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:/,
      'must be a Secrets Manager secret ARN',
    ),
  /** Verify the server certificate. Only the sandbox's loopback database turns it off. */
  tls: z.boolean().default(true),
  /** The selected profile's checks, as validations.yml writes them; only SQL-family checks run here. */
  checks: z
    .array(DataCheckSchema)
    .min(1)
    .transform((checks, ctx) => {
      const sql = checks.filter(
        (check): check is DataCheck => !isValidator(check) && familyOf(check) === 'sql',
      );
      if (sql.length === checks.length) return sql;
      ctx.addIssue({
        code: 'custom',
        message: 'the probe runs only sql, tableExists and freshness.query checks',
      });
      return z.NEVER;
    }),
  /** The recovery point's creation time: data RPO is measured from it. */
  recoveryPointCreatedAt: z.iso.datetime({ offset: true }),
  limits: z
    .strictObject({
      connectTimeoutMs: z.number().int().min(100).max(30_000),
      statementTimeoutMs: z.number().int().min(100).max(60_000),
      maxRows: z.number().int().min(1).max(10_000),
    })
    .partial()
    .default({}),
});
export type ProbeInput = z.input<typeof ProbeInput>;

const DatabaseSecret = z.object({ username: z.string().min(1).optional(), password: z.string().min(1) });

async function readDatabaseSecret(secrets: SecretsManagerClient, secretArn: string) {
  let text: string | undefined;
  try {
    text = (await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }))).SecretString;
  } catch (error) {
    throw new DatabaseSecretUnreadable(
      `cannot read secret ${secretArn}: ${error instanceof Error ? error.name : 'error'}`,
      {
        cause: error,
      },
    );
  }
  // The secret's text and the parser's messages stay out of the error: they could quote the password.
  let json: unknown;
  try {
    json = JSON.parse(text ?? '');
  } catch {
    throw new DatabaseSecretUnreadable(`secret ${secretArn} is not JSON`);
  }
  const parsed = DatabaseSecret.safeParse(json);
  if (!parsed.success) throw new DatabaseSecretUnreadable(`secret ${secretArn} has no "password" string`);
  return parsed.data;
}

/** Created once per container; the probe's role reads only the DR account's drill secrets. */
const secretsManager = new SecretsManagerClient({});

export async function runProbe(
  event: unknown,
  deps: { secrets: SecretsManagerClient } = { secrets: secretsManager },
): Promise<DataCheckReport> {
  const parsed = ProbeInput.safeParse(event);
  if (!parsed.success) {
    const [issue] = parsed.error.issues;
    throw new ProbeInputInvalid(
      `probe input: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`,
      {
        cause: parsed.error,
      },
    );
  }
  const input = parsed.data;
  const secret = await readDatabaseSecret(deps.secrets, input.secretArn);
  const user = input.user ?? secret.username;
  if (!user)
    throw new DatabaseSecretUnreadable(
      `secret ${input.secretArn} has no "username" and the input names no user`,
    );
  const limits: SqlLimits = { ...defaultSqlLimits, ...input.limits };
  const report = await runSqlChecks({
    target: {
      dialect: dialectOfEngine[input.engine],
      host: input.host,
      port: input.port,
      database: input.database,
      user,
      password: secret.password,
      tls: input.tls,
    },
    checks: input.checks,
    recoveryPointCreatedAt: new Date(input.recoveryPointCreatedAt),
    limits,
  });
  logger.info('probe checks ran', {
    engine: input.engine,
    host: input.host,
    passed: report.checks.filter((check) => check.passed).length,
    failed: report.checks.filter((check) => !check.passed).map((check) => check.name),
    dataRpoSeconds: report.dataRpoSeconds,
  });
  return report;
}

export const handler = lambdaHandler(async (event: unknown) => runProbe(event));
