import * as z from 'zod';
import type { AccountClients } from '../lib/clients.js';
import type { Config } from '../lib/config.js';
import { DataCheckReport } from '../lib/data-checks.js';
import { DataProbeFailed, ResourceNotReady, UnexpectedRecord } from '../lib/errors.js';
import { type DataCheck, writtenCheck } from '../lib/validations.js';
import { lazySdk } from './sdk/lazy.js';

/**
 * The SQL data checks of the database types (RDS instances, Aurora clusters): run by the probe Lambda that
 * accounts/dr-account.yaml deploys in the DR account's isolated network, invoked cross-account with the DR
 * role. The probe reads the drill copy's own password from its RDS-managed secret itself, so neither the
 * password nor the secret's text passes through the orchestrator (docs/validation.md).
 */

/** The Lambda SDK, loaded on first use: only drills with SQL checks pay for it. */
const lambdaSdk = lazySdk(() => import('./sdk/lambda.js'));

/** The probe Lambda accounts/dr-account.yaml deploys in the DR account's isolated network. */
export const PROBE_FUNCTION_NAME = 'pilotlight-probe';

export function probeFunctionArn(config: Pick<Config, 'DR_ACCOUNT_ID' | 'DR_REGION'>): string {
  return `arn:aws:lambda:${config.DR_REGION}:${config.DR_ACCOUNT_ID}:function:${PROBE_FUNCTION_NAME}`;
}

/** Engines the probe has a driver for: `pg` for the PostgreSQL ones, `mysql2` for MySQL and MariaDB. */
export const sqlEngines: ReadonlySet<string> = new Set([
  'postgres',
  'aurora-postgresql',
  'mysql',
  'aurora-mysql',
  'mariadb',
]);

/** What the probe answers when its handler threw (Lambda's error payload). */
const ProbeError = z.object({ errorType: z.string().default('Error'), errorMessage: z.string().default('') });

/** The restored database as DescribeDBInstances / DescribeDBClusters report it. */
export interface ProbeTarget {
  /** "DB instance pl-…" or "DB cluster pl-…", for messages. */
  label: string;
  engine: string;
  address?: string;
  port?: number;
  /** The RDS-managed master user secret (MasterUserSecret.SecretArn). */
  secretArn?: string;
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
  kind: 'instance' | 'cluster',
): DataCheckReport {
  return {
    checks: [
      {
        name: 'data checks ran',
        passed: false,
        observed: `not run: ${label} is ${status}`,
        expected: `an available ${kind} with its own master password`,
      },
    ],
  };
}

/**
 * Runs the checks through the probe. A database the probe cannot reach holds no proof of data: that is a
 * failing check ("database reachable", observed against expected), so the drill fails and tears down with
 * a reason rather than an unexplained error. Any other probe failure is DataProbeFailed.
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
  if (!target.address || !target.port || !target.secretArn)
    throw new ResourceNotReady(`${target.label} has no endpoint or master user secret yet`);
  const payload = {
    engine: target.engine,
    host: target.address,
    port: target.port,
    database: target.database ?? (target.engine.includes('postgres') ? 'postgres' : 'mysql'),
    secretArn: target.secretArn,
    checks: input.checks.map(writtenCheck),
    recoveryPointCreatedAt: input.recoveryPointCreatedAt.toISOString(),
  };
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
    if (errorType !== 'DatabaseUnreachable') throw error;
    return {
      checks: [
        {
          name: 'database reachable',
          passed: false,
          observed: error.message,
          expected: `a connection from the probe to ${target.address}:${target.port}`,
        },
      ],
    };
  }
  const report = DataCheckReport.safeParse(json);
  if (!report.success)
    throw new UnexpectedRecord(`the data probe's report is malformed: ${report.error.message}`, {
      cause: report.error,
    });
  return report.data;
}
