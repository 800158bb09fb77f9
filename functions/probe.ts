import { GetClusterCredentialsCommand, RedshiftClient } from '@aws-sdk/client-redshift';
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
 * Secrets Manager in the DR account (RDS, Aurora) or asks Redshift for temporary credentials of the drill
 * cluster's master user (GetClusterCredentials); the password is never logged, returned or put in an error.
 */

/** The probe's input does not match ProbeInput. Not retried. */
export class ProbeInputInvalid extends Error {
  override readonly name = 'ProbeInputInvalid';
}

/** The database secret cannot be read or is not `{username, password}` JSON (RDS-managed secret shape). */
export class DatabaseSecretUnreadable extends Error {
  override readonly name = 'DatabaseSecretUnreadable';
}

/** Redshift would not issue the drill cluster's temporary credentials (denied, cluster gone). Not retried. */
export class DatabaseCredentialsUnavailable extends Error {
  override readonly name = 'DatabaseCredentialsUnavailable';
}

const dialectOfEngine = {
  postgres: 'postgres',
  'aurora-postgresql': 'postgres',
  mysql: 'mysql',
  'aurora-mysql': 'mysql',
  mariadb: 'mariadb',
  redshift: 'redshift',
} as const satisfies Record<string, SqlDialect>;

/** The RDS engines (a restored instance's or cluster's `Engine`), whose password is an RDS-managed secret. */
export const RdsProbeEngine = z.enum(['postgres', 'aurora-postgresql', 'mysql', 'aurora-mysql', 'mariadb']);

/**
 * How long Redshift's temporary credentials last: its minimum (15 minutes), far more than a probe's checks
 * take (the probe's own Lambda timeout is 90 s). The probe role may ask for no longer (accounts/dr-account.yaml).
 */
export const REDSHIFT_CREDENTIALS_SECONDS = 900;

const databaseTarget = {
  host: z.string().min(1),
  port: z.number().int().min(1).max(65_535),
  database: z.string().min(1),
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
};

export const ProbeInput = z.discriminatedUnion('engine', [
  z.strictObject({
    /** The restored instance's or cluster's `Engine` (DescribeDBInstances, DescribeDBClusters). */
    engine: RdsProbeEngine,
    ...databaseTarget,
    /** Defaults to the secret's `username`. */
    user: z.string().min(1).optional(),
    /** The drill copy's master user secret in the DR account (RDS-managed: `MasterUserSecret.SecretArn`). */
    secretArn: z
      .string()
      .regex(
        /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:/,
        'must be a Secrets Manager secret ARN',
      ),
  }),
  z.strictObject({
    /** A restored Redshift cluster, reached over the PostgreSQL wire protocol. */
    engine: z.literal('redshift'),
    ...databaseTarget,
    /** The drill cluster (its ClusterIdentifier), whose temporary credentials the probe asks for. */
    clusterIdentifier: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'must be a Redshift cluster identifier'),
    /** The cluster's MasterUsername (DescribeClusters): the user the credentials are for. */
    dbUser: z.string().min(1).max(128),
  }),
]);
export type ProbeInput = z.input<typeof ProbeInput>;
/** A probe input for an RDS instance or cluster (its managed secret). */
export type RdsProbeInput = Extract<ProbeInput, { secretArn: string }>;
/** A probe input for a Redshift cluster (temporary credentials). */
export type RedshiftProbeInput = Extract<ProbeInput, { engine: 'redshift' }>;

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

/**
 * Temporary credentials of the drill cluster's master user, from Redshift itself: nothing stores a password,
 * and what Redshift returns (the user as `IAM:<name>`, a password valid 15 minutes) stays in this process.
 */
async function redshiftCredentials(
  redshift: RedshiftClient,
  input: { clusterIdentifier: string; dbUser: string; database: string },
): Promise<{ user: string; password: string }> {
  const about = `${input.dbUser} on Redshift cluster ${input.clusterIdentifier}`;
  let issued: { DbUser?: string; DbPassword?: string };
  try {
    issued = await redshift.send(
      new GetClusterCredentialsCommand({
        ClusterIdentifier: input.clusterIdentifier,
        DbUser: input.dbUser,
        DbName: input.database,
        DurationSeconds: REDSHIFT_CREDENTIALS_SECONDS,
        // The master user exists; creating users (redshift:CreateClusterUser) is not the probe's to do.
        AutoCreate: false,
      }),
    );
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : 'error';
    throw new DatabaseCredentialsUnavailable(`cannot get temporary credentials for ${about}: ${reason}`, {
      cause: error,
    });
  }
  if (!issued.DbUser || !issued.DbPassword)
    throw new DatabaseCredentialsUnavailable(`Redshift issued no user or password for ${about}`);
  return { user: issued.DbUser, password: issued.DbPassword };
}

/** Created once per container; the probe's role reads only the DR account's drill secrets. */
const secretsManager = new SecretsManagerClient({});
/** Created once per container; the probe's role gets credentials only for drill clusters' users. */
const redshiftClient = new RedshiftClient({});

/** The probe's SDK clients; a test or the sandbox passes its own (signed as the probe's role). */
export interface ProbeClients {
  secrets: SecretsManagerClient;
  redshift: RedshiftClient;
}

export async function runProbe(
  event: unknown,
  clients: Partial<ProbeClients> = {},
): Promise<DataCheckReport> {
  const deps: ProbeClients = {
    secrets: clients.secrets ?? secretsManager,
    redshift: clients.redshift ?? redshiftClient,
  };
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
  const { user, password } = await loginOf(input, deps);
  const limits: SqlLimits = { ...defaultSqlLimits, ...input.limits };
  const report = await runSqlChecks({
    target: {
      dialect: dialectOfEngine[input.engine],
      host: input.host,
      port: input.port,
      database: input.database,
      user,
      password,
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

/** The user and password the probe logs in with: the copy's managed secret, or Redshift's temporary credentials. */
async function loginOf(
  input: z.output<typeof ProbeInput>,
  deps: ProbeClients,
): Promise<{ user: string; password: string }> {
  if (input.engine === 'redshift') return redshiftCredentials(deps.redshift, input);
  const secret = await readDatabaseSecret(deps.secrets, input.secretArn);
  const user = input.user ?? secret.username;
  if (!user)
    throw new DatabaseSecretUnreadable(
      `secret ${input.secretArn} has no "username" and the input names no user`,
    );
  return { user, password: secret.password };
}

export const handler = lambdaHandler(async (event: unknown) => runProbe(event));
