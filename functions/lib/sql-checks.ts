import mysql from 'mysql2/promise';
import pg from 'pg';
import {
  checkLabel,
  type DataCheckReport,
  type DataCheckResult,
  erroredResult,
  errorSummary,
  expectationResult,
  expectedOf,
  freshnessResult,
  reportOf,
} from './data-checks.js';
import type { DataCheck } from './validations.js';

/**
 * Data checks against a restored relational database, with the engines' real drivers (`pg`, `mysql2`).
 * Every check runs on its own connection in a read-only transaction with a statement timeout and a row
 * limit, so a slow or failed check cannot hold a lock, leave an aborted transaction for the next one, or
 * pull a table into the probe's memory.
 */

/** The database could not be reached or refused the login: the drill fails (`data=unreachable`). */
export class DatabaseUnreachable extends Error {
  override readonly name = 'DatabaseUnreachable';
}

/** `redshift`: Amazon Redshift over its PostgreSQL wire protocol (`pg`), with Redshift's narrower SQL. */
export type SqlDialect = 'postgres' | 'redshift' | 'mysql' | 'mariadb';

export interface SqlTarget {
  dialect: SqlDialect;
  host: string;
  port: number;
  database: string;
  user: string;
  /**
   * Read from Secrets Manager (RDS) or issued by GetClusterCredentials (Redshift) by the caller; never logged,
   * never returned, never part of an error.
   */
  password: string;
  /** Verify the server's certificate (RDS: the CA bundle in NODE_EXTRA_CA_CERTS). Off only for loopback. */
  tls: boolean;
}

export interface SqlLimits {
  connectTimeoutMs: number;
  statementTimeoutMs: number;
  /** A check's query may return at most this many rows; more fails the check. */
  maxRows: number;
}

export const defaultSqlLimits: SqlLimits = {
  connectTimeoutMs: 5_000,
  statementTimeoutMs: 10_000,
  maxRows: 100,
};

/** A read-only transaction on one connection: runs one statement, returns at most limit rows (as arrays). */
type Run = (sql: string, params?: readonly (string | number | null)[]) => Promise<unknown[][]>;

/**
 * SELECT and WITH queries are wrapped so the server stops after maxRows + 1 rows. Any other statement runs
 * as written: the read-only transaction refuses writes, and its rows are still counted against the limit.
 */
export function boundedQuery(query: string, maxRows: number): string {
  return /^\s*(select|with)\b/i.test(query)
    ? // Line breaks around the query: a trailing `-- comment` in it must not swallow the closing parenthesis.
      `SELECT * FROM (\n${query}\n) AS pilotlight_check LIMIT ${maxRows + 1}`
    : query;
}

/**
 * How long the driver waits for any answer: the server's own statement timeout plus a grace (as long again,
 * at most 2 s), so a server that stops answering (or one that does not enforce the timeout) still ends it.
 */
export function clientTimeoutMs(limits: SqlLimits): number {
  return limits.statementTimeoutMs + Math.min(limits.statementTimeoutMs, 2_000);
}

async function withPostgres<T>(
  target: SqlTarget,
  limits: SqlLimits,
  work: (run: Run) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({
    host: target.host,
    port: target.port,
    database: target.database,
    user: target.user,
    password: target.password,
    ssl: target.tls ? { rejectUnauthorized: true } : false,
    connectionTimeoutMillis: limits.connectTimeoutMs,
    query_timeout: clientTimeoutMs(limits),
    application_name: 'pilotlight-probe',
  });
  // A server that drops the connection emits 'error' on the client; the pending query rejects with it.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw new DatabaseUnreachable(
      `cannot connect to ${target.host}:${target.port}/${target.database}: ${errorSummary(error)}`,
      {
        cause: error,
      },
    );
  }
  try {
    await client.query('BEGIN READ ONLY');
    await client.query(`SET LOCAL statement_timeout = ${Math.trunc(limits.statementTimeoutMs)}`);
    // Redshift has no lock_timeout (setting it would abort the transaction); its statement_timeout covers
    // the time a statement waits for a lock.
    if (target.dialect !== 'redshift')
      await client.query(`SET LOCAL lock_timeout = ${Math.trunc(limits.statementTimeoutMs)}`);
    const run: Run = async (sql, params = []) =>
      (await client.query({ text: sql, values: [...params], rowMode: 'array' })).rows;
    return await work(run);
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

async function withMysql<T>(
  target: SqlTarget,
  limits: SqlLimits,
  work: (run: Run) => Promise<T>,
): Promise<T> {
  let connection: mysql.Connection;
  try {
    connection = await mysql.createConnection({
      host: target.host,
      port: target.port,
      database: target.database,
      user: target.user,
      password: target.password,
      ssl: target.tls ? { rejectUnauthorized: true } : undefined,
      connectTimeout: limits.connectTimeoutMs,
      rowsAsArray: true,
      supportBigNumbers: true,
      multipleStatements: false,
    });
  } catch (error) {
    throw new DatabaseUnreachable(
      `cannot connect to ${target.host}:${target.port}/${target.database}: ${errorSummary(error)}`,
      {
        cause: error,
      },
    );
  }
  const timeout = clientTimeoutMs(limits);
  try {
    // MySQL bounds SELECTs in milliseconds; MariaDB every statement in seconds.
    if (target.dialect === 'mariadb') {
      await connection.query({
        sql: `SET SESSION max_statement_time = ${limits.statementTimeoutMs / 1000}`,
        timeout,
      });
    } else {
      await connection.query({
        sql: `SET SESSION MAX_EXECUTION_TIME = ${Math.trunc(limits.statementTimeoutMs)}`,
        timeout,
      });
    }
    await connection.query({ sql: 'START TRANSACTION READ ONLY', timeout });
    const run: Run = async (sql, params = []) => {
      const [rows]: [unknown, unknown] = await connection.query({ sql, values: [...params], timeout });
      return Array.isArray(rows) ? rows.filter((row: unknown): row is unknown[] => Array.isArray(row)) : [];
    };
    return await work(run);
  } finally {
    await connection.query('ROLLBACK').catch(() => undefined);
    await connection.end().catch(() => connection.destroy());
  }
}

function readOnlySession(target: SqlTarget, limits: SqlLimits) {
  return target.dialect === 'postgres' || target.dialect === 'redshift'
    ? <T>(work: (run: Run) => Promise<T>) => withPostgres(target, limits, work)
    : <T>(work: (run: Run) => Promise<T>) => withMysql(target, limits, work);
}

class RowLimitExceeded extends Error {
  override readonly name = 'RowLimitExceeded';
}

/** The first column of the only row a check's query must return (more than maxRows rows fails). */
async function scalar(run: Run, query: string, maxRows: number): Promise<unknown> {
  const rows = await run(boundedQuery(query, maxRows));
  if (rows.length > maxRows)
    throw new RowLimitExceeded(`query returned more than ${maxRows} rows (row limit)`);
  return rows[0]?.[0] ?? null;
}

function tableExistsQuery(dialect: SqlDialect, table: string): { sql: string; params: (string | null)[] } {
  if (dialect === 'postgres') return { sql: 'SELECT to_regclass($1) IS NOT NULL', params: [table] };
  // `schema.table`, or a table of the connection's database.
  const dot = table.indexOf('.');
  const schema = dot < 0 ? null : table.slice(0, dot);
  const name = dot < 0 ? table : table.slice(dot + 1);
  // Redshift has no to_regclass; its information_schema lists the tables the user can see.
  if (dialect === 'redshift')
    return {
      sql: 'SELECT count(*) > 0 FROM information_schema.tables WHERE table_schema = COALESCE($1::varchar, current_schema()) AND table_name = $2::varchar',
      params: [schema, name],
    };
  return {
    sql: 'SELECT count(*) > 0 FROM information_schema.tables WHERE table_schema = COALESCE(?, DATABASE()) AND table_name = ?',
    params: [schema, name],
  };
}

async function runOne(
  session: ReturnType<typeof readOnlySession>,
  target: SqlTarget,
  check: DataCheck,
  recoveryPointCreatedAt: Date,
  limits: SqlLimits,
): Promise<DataCheckResult> {
  const name = checkLabel(check);
  try {
    return await session(async (run) => {
      switch (check.kind) {
        case 'sql':
          return expectationResult(name, await scalar(run, check.query, limits.maxRows), check.expect);
        case 'tableExists': {
          const { sql, params } = tableExistsQuery(target.dialect, check.table);
          const rows = await run(sql, params);
          const exists = rows[0]?.[0] === true || rows[0]?.[0] === 1 || rows[0]?.[0] === '1';
          return { name, passed: exists, observed: exists ? 'exists' : 'missing', expected: 'exists' };
        }
        case 'freshness':
          if ('query' in check) {
            const newest = await scalar(run, check.query, limits.maxRows);
            return freshnessResult(name, newest, recoveryPointCreatedAt, check.withinMinutes);
          }
          return erroredResult(name, expectedOf(check), 'not a SQL freshness check');
        default:
          return erroredResult(
            name,
            expectedOf(check),
            `a ${check.kind} check cannot run against a database`,
          );
      }
    });
  } catch (error) {
    if (error instanceof DatabaseUnreachable) throw error;
    return erroredResult(name, expectedOf(check), error);
  }
}

/**
 * Runs a profile's checks against a database, in order, each in its own read-only transaction. A check
 * whose query fails (missing table, timeout, refused write) fails with the error as its observed value; a
 * database that cannot be reached at all throws DatabaseUnreachable.
 */
export async function runSqlChecks(input: {
  target: SqlTarget;
  checks: readonly DataCheck[];
  recoveryPointCreatedAt: Date;
  limits?: SqlLimits;
}): Promise<DataCheckReport> {
  const limits = input.limits ?? defaultSqlLimits;
  const session = readOnlySession(input.target, limits);
  const results: DataCheckResult[] = [];
  for (const check of input.checks) {
    results.push(await runOne(session, input.target, check, input.recoveryPointCreatedAt, limits));
  }
  return reportOf(results);
}
