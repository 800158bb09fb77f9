import * as z from 'zod';
import type { DataCheck, Expectation } from './validations.js';

/**
 * What every data check reports, whichever store it ran against: the evidence shows the observed value next
 * to the expectation, so an auditor sees what was proven, and a failure says exactly what was missing.
 */
export const DataCheckResult = z.object({
  name: z.string(),
  passed: z.boolean(),
  observed: z.union([z.string(), z.number(), z.null()]),
  expected: z.string(),
  /** For a freshness check: recovery point creation time − newest data timestamp, in seconds. */
  dataRpoSeconds: z.number().optional(),
});
export type DataCheckResult = z.infer<typeof DataCheckResult>;

export const DataCheckReport = z.object({
  checks: z.array(DataCheckResult),
  /** The worst (largest) data RPO of the profile's freshness checks; absent when it has none. */
  dataRpoSeconds: z.number().optional(),
});
export type DataCheckReport = z.infer<typeof DataCheckReport>;

export function describeExpectation(expect: Expectation): string {
  return `${expect.op} ${expect.value}`;
}

export function meets(observed: number, expect: Expectation): boolean {
  switch (expect.op) {
    case '>=':
      return observed >= expect.value;
    case '<=':
      return observed <= expect.value;
    case '==':
      return observed === expect.value;
    case '>':
      return observed > expect.value;
    case '<':
      return observed < expect.value;
  }
}

/** The label a check carries in results and evidence: its `name`, else what it checks. */
export function checkLabel(check: DataCheck): string {
  if (check.name) return check.name;
  switch (check.kind) {
    case 'sql':
      return `sql: ${check.query}`;
    case 'tableExists':
      return `table ${check.table} exists`;
    case 'dynamodbCount':
      return `item count${check.table ? ` of ${check.table}` : ''}`;
    case 'dynamodbKeys':
      return `${check.keys.length} sample keys exist`;
    case 's3Count':
      return `object count under "${check.prefix}"`;
    case 's3Checksums':
      return `checksums of ${check.sample} objects under "${check.prefix}"`;
    case 'freshness':
      if ('query' in check) return `freshness: ${check.query}`;
      if ('attribute' in check) return `freshness of attribute ${check.attribute}`;
      return `freshness of objects under "${check.prefix}"`;
  }
}

/** A scalar as a number: drivers return bigint counts as strings (pg) or bigints, booleans as true/false. */
function numeric(observed: unknown): number | undefined {
  if (typeof observed === 'number') return observed;
  if (typeof observed === 'bigint') return Number(observed);
  if (typeof observed === 'boolean') return observed ? 1 : 0;
  if (typeof observed === 'string' && observed.trim() !== '') return Number(observed);
  return undefined;
}

/**
 * A count or scalar check's result against its expectation (a boolean is 1 or 0); a value that is not a
 * number fails.
 */
export function expectationResult(name: string, observed: unknown, expect: Expectation): DataCheckResult {
  const value = numeric(observed);
  const expected = describeExpectation(expect);
  if (value === undefined || Number.isNaN(value)) {
    return {
      name,
      passed: false,
      observed: observed === null || observed === undefined ? null : String(observed),
      expected,
    };
  }
  return { name, passed: meets(value, expect), observed: value, expected };
}

/**
 * A timestamp as data stores keep it: a Date (pg), an ISO-8601 string, or epoch seconds or milliseconds
 * (a number or numeric string; values above 10^11 are taken as milliseconds, i.e. after 1973 in ms).
 */
export function toTimestamp(value: unknown): Date | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value;
  const numeric =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\d+(\.\d+)?$/.test(value.trim())
        ? Number(value)
        : undefined;
  if (numeric !== undefined) return new Date(numeric > 1e11 ? numeric : numeric * 1000);
  if (typeof value === 'string') {
    const parsed = new Date(value);
    return Number.isNaN(parsed.getTime()) ? undefined : parsed;
  }
  return undefined;
}

/**
 * Data RPO: how much a failover to this copy would lose, measured in the data itself. The recovery point
 * claims a time; the newest timestamp in the restored data says what it really holds.
 */
export function freshnessResult(
  name: string,
  newest: unknown,
  recoveryPointCreatedAt: Date,
  withinMinutes: number,
): DataCheckResult {
  const expected = `newest data within ${withinMinutes} min of the recovery point (${recoveryPointCreatedAt.toISOString()})`;
  const newestAt = toTimestamp(newest);
  if (!newestAt) {
    return {
      name,
      passed: false,
      observed: newest === null || newest === undefined ? null : String(newest),
      expected,
    };
  }
  const dataRpoSeconds = (recoveryPointCreatedAt.getTime() - newestAt.getTime()) / 1000;
  return {
    name,
    passed: dataRpoSeconds <= withinMinutes * 60,
    observed: `newest ${newestAt.toISOString()} (data RPO ${dataRpoSeconds} s)`,
    expected,
    dataRpoSeconds,
  };
}

/** A check that could not run (query error, missing table, access denied): it fails with the reason. */
export function erroredResult(name: string, expected: string, error: unknown): DataCheckResult {
  return { name, passed: false, observed: `error: ${errorSummary(error)}`, expected };
}

/** `code message` of an error, first line only (a connection error to a dual-stack host is an AggregateError). */
export function errorSummary(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return errorSummary(error.errors[0]);
  if (!(error instanceof Error)) return String(error);
  const code = 'code' in error && typeof error.code === 'string' ? `${error.code} ` : '';
  return `${code}${error.message}`.split('\n')[0] ?? error.name;
}

export function reportOf(checks: DataCheckResult[]): DataCheckReport {
  const rpos = checks.flatMap((check) => (check.dataRpoSeconds === undefined ? [] : [check.dataRpoSeconds]));
  return rpos.length > 0 ? { checks, dataRpoSeconds: Math.max(...rpos) } : { checks };
}

/** What each check expects, worded once for results of checks that errored. */
export function expectedOf(check: DataCheck): string {
  switch (check.kind) {
    case 'sql':
    case 'dynamodbCount':
    case 's3Count':
      return describeExpectation(check.expect);
    case 'tableExists':
      return 'exists';
    case 'dynamodbKeys':
      return `${check.keys.length} of ${check.keys.length} keys found`;
    case 's3Checksums':
      return `${check.sample} sampled objects verify`;
    case 'freshness':
      return `newest data within ${check.withinMinutes} min of the recovery point`;
  }
}
