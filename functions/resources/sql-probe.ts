import * as z from 'zod';
import type { AccountClients } from '../lib/clients.js';
import type { Config } from '../lib/config.js';
import { DataCheckReport } from '../lib/data-checks.js';
import { DataProbeFailed, ResourceNotReady, UnexpectedRecord } from '../lib/errors.js';
import { type DataCheck, writtenCheck } from '../lib/validations.js';
import { lazySdk } from './sdk/lazy.js';

/**
 * The SQL data checks of the database types (RDS instances, Aurora clusters, Redshift clusters): run by the
 * probe Lambda that accounts/dr-account.yaml deploys in the DR account's isolated network, invoked
 * cross-account with the DR role. The probe gets the drill copy's credentials itself (its RDS-managed secret;
 * Redshift's temporary credentials from GetClusterCredentials), so no password passes through the
 * orchestrator (docs/validation.md).
 */

/** The Lambda SDK, loaded on first use: only drills with SQL checks pay for it. */
const lambdaSdk = lazySdk(() => import('./sdk/lambda.js'));

/** The probe Lambda accounts/dr-account.yaml deploys in the DR account's isolated network. */
export const PROBE_FUNCTION_NAME = 'pilotlight-probe';

export function probeFunctionArn(config: Pick<Config, 'DR_ACCOUNT_ID' | 'DR_REGION'>): string {
  return `arn:aws:lambda:${config.DR_REGION}:${config.DR_ACCOUNT_ID}:function:${PROBE_FUNCTION_NAME}`;
}

/**
 * Engines the probe has a driver for: `pg` for the PostgreSQL ones and Redshift (its PostgreSQL wire
 * protocol), `mysql2` for MySQL and MariaDB.
 */
export const sqlEngines: ReadonlySet<string> = new Set([
  'postgres',
  'aurora-postgresql',
  'mysql',
  'aurora-mysql',
  'mariadb',
  'redshift',
]);

/** The probe's errors that mean "no proof of data" (a failing check), not a broken probe. */
const failingCheckOf: ReadonlyMap<string, (target: ProbeTarget) => { name: string; expected: string }> =
  new Map([
    [
      'DatabaseUnreachable',
      (target: ProbeTarget) => ({
        name: 'database reachable',
        expected: `a connection from the probe to ${target.address}:${target.port}`,
      }),
    ],
    [
      'DatabaseCredentialsUnavailable',
      (target: ProbeTarget) => ({
        name: 'database credentials',
        expected: `temporary credentials for ${target.redshift?.dbUser ?? 'the master user'} (redshift:GetClusterCredentials)`,
      }),
    ],
  ]);

/** What the probe answers when its handler threw (Lambda's error payload). */
const ProbeError = z.object({ errorType: z.string().default('Error'), errorMessage: z.string().default('') });

/** The restored database as DescribeDBInstances / DescribeDBClusters / DescribeClusters report it. */
export interface ProbeTarget {
  /** "DB instance pl-…", "DB cluster pl-…" or "Redshift cluster pl-…", for messages. */
  label: string;
  engine: string;
  address?: string;
  port?: number;
  /** The RDS-managed master user secret (MasterUserSecret.SecretArn). */
  secretArn?: string;
  /**
   * A Redshift cluster: its identifier and MasterUsername, whose temporary credentials the probe asks
   * Redshift for (GetClusterCredentials) instead of reading a secret.
   */
  redshift?: { clusterIdentifier: string; dbUser?: string };
  /** The database to connect to (DBName / DatabaseName), else the engine's default. */
  database?: string;
}

/**
 * The data checks of a database that is not available (failed, stopped): nothing to probe, and its own checks
 * already fail the drill; the data checks say why they did not run.
 */
export function dataChecksNotRun(
  label: string,
  status: string,
  kind: 'instance' | 'cluster' | 'Redshift cluster',
): DataCheckReport {
  return {
    checks: [
      {
        name: 'data checks ran',
        passed: false,
        observed: `not run: ${label} is ${status}`,
        expected:
          kind === 'Redshift cluster'
            ? 'an available Redshift cluster'
            : `an available ${kind} with its own master password`,
      },
    ],
  };
}

/**
 * Runs the checks through the probe. A database the probe cannot reach, or a Redshift cluster whose
 * credentials Redshift would not issue, holds no proof of data: that is a failing check ("database
 * reachable", "database credentials", observed against expected), so the drill fails and tears down with a
 * reason rather than an unexplained error. Any other probe failure is DataProbeFailed.
 */
export async function probeDatabase(input: {
  clients: AccountClients;
  config: Pick<Config, 'DR_ACCOUNT_ID' | 'DR_REGION'>;
  target: ProbeTarget;
  checks: DataCheck[];
  recoveryPointCreatedAt: Date;
}): Promise<DataCheckReport> {
  const { target } = input;
  if (!sqlEngines.has(target.engine))
    throw new UnexpectedRecord(`${target.label}: engine ${target.engine} has no SQL probe`);
  const common = {
    engine: target.engine,
    host: target.address,
    port: target.port,
    checks: input.checks.map(writtenCheck),
    recoveryPointCreatedAt: input.recoveryPointCreatedAt.toISOString(),
  };
  let payload: Record<string, unknown>;
  if (target.engine === 'redshift') {
    const { clusterIdentifier, dbUser } = target.redshift ?? {};
    if (!target.address || !target.port || !clusterIdentifier || !dbUser)
      throw new ResourceNotReady(`${target.label} has no endpoint or master user yet`);
    // Redshift's default database is `dev`; the probe asks for credentials for that user on that database.
    payload = { ...common, database: target.database ?? 'dev', clusterIdentifier, dbUser };
  } else {
    if (!target.address || !target.port || !target.secretArn)
      throw new ResourceNotReady(`${target.label} has no endpoint or master user secret yet`);
    payload = {
      ...common,
      database: target.database ?? (target.engine.includes('postgres') ? 'postgres' : 'mysql'),
      secretArn: target.secretArn,
    };
  }
  const { InvokeCommand, LambdaClient } = await lambdaSdk();
  const out = await input.clients.client(LambdaClient).send(
    new InvokeCommand({
      FunctionName: probeFunctionArn(input.config),
      Payload: new TextEncoder().encode(JSON.stringify(payload)),
    }),
  );
  const text = out.Payload ? new TextDecoder().decode(out.Payload) : '';
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UnexpectedRecord(`the data probe answered something that is not JSON`, { cause: error });
  }
  if (out.FunctionError) {
    const failure = ProbeError.safeParse(json);
    const { errorType, errorMessage } = failure.success
      ? failure.data
      : { errorType: 'Error', errorMessage: 'unreadable error payload' };
    const error = new DataProbeFailed(errorType, errorMessage);
    const failing = failingCheckOf.get(errorType);
    if (!failing) throw error;
    return { checks: [{ ...failing(target), passed: false, observed: error.message }] };
  }
  const report = DataCheckReport.safeParse(json);
  if (!report.success)
    throw new UnexpectedRecord(`the data probe's report is malformed: ${report.error.message}`, {
      cause: report.error,
    });
  return report.data;
}
