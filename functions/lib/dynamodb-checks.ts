import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import {
  checkLabel,
  type DataCheckReport,
  type DataCheckResult,
  erroredResult,
  expectationResult,
  expectedOf,
  freshnessResult,
  reportOf,
  toTimestamp,
} from './data-checks.js';
import type { DataCheck, DynamoDbCountCheck, DynamoDbKeysCheck } from './validations.js';

/**
 * Data checks against a restored DynamoDB table, through the DR role's client. Scans are bounded: a count
 * stops as soon as a lower bound is met or after `maxScannedItems`; every read is consistent.
 */

export interface DynamoDbLimits {
  /** Items a count or freshness scan reads at most (a restore of a big table is not scanned whole). */
  maxScannedItems: number;
  pageSize: number;
}

export const defaultDynamoDbLimits: DynamoDbLimits = { maxScannedItems: 100_000, pageSize: 1_000 };

async function countItems(
  documents: DynamoDBDocumentClient,
  tableName: string,
  check: DynamoDbCountCheck,
  limits: DynamoDbLimits,
): Promise<DataCheckResult> {
  const name = checkLabel(check);
  const lowerBound = check.expect.op === '>=' || check.expect.op === '>';
  let count = 0;
  let scanned = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(
      new ScanCommand({
        TableName: tableName,
        Select: 'COUNT',
        ConsistentRead: true,
        Limit: Math.min(limits.pageSize, limits.maxScannedItems - scanned),
        ExclusiveStartKey: startKey,
      }),
    );
    count += page.Count ?? 0;
    scanned += page.ScannedCount ?? 0;
    startKey = page.LastEvaluatedKey;
    // A lower bound that is met stays met however many items follow.
    if (lowerBound && expectationResult(name, count, check.expect).passed)
      return expectationResult(name, count, check.expect);
  } while (startKey && scanned < limits.maxScannedItems);
  if (startKey) {
    return {
      name,
      passed: false,
      observed: `more than ${count} (scan limit ${limits.maxScannedItems} items)`,
      expected: expectedOf(check),
    };
  }
  return expectationResult(name, count, check.expect);
}

async function sampleKeysExist(
  documents: DynamoDBDocumentClient,
  tableName: string,
  check: DynamoDbKeysCheck,
): Promise<DataCheckResult> {
  const missing: string[] = [];
  for (const key of check.keys) {
    const found = await documents.send(
      new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }),
    );
    if (!found.Item) missing.push(JSON.stringify(key));
  }
  const foundCount = check.keys.length - missing.length;
  return {
    name: checkLabel(check),
    passed: missing.length === 0,
    observed: `${foundCount} of ${check.keys.length} keys found${missing.length > 0 ? `; missing ${missing.slice(0, 5).join(', ')}` : ''}`,
    expected: expectedOf(check),
  };
}

async function newestAttribute(
  documents: DynamoDBDocumentClient,
  tableName: string,
  attribute: string,
  limits: DynamoDbLimits,
): Promise<Date | undefined> {
  let newest: Date | undefined;
  let scanned = 0;
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(
      new ScanCommand({
        TableName: tableName,
        ProjectionExpression: '#at',
        ExpressionAttributeNames: { '#at': attribute },
        ConsistentRead: true,
        Limit: Math.min(limits.pageSize, limits.maxScannedItems - scanned),
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) {
      const at = toTimestamp(item[attribute]);
      if (at && (!newest || at > newest)) newest = at;
    }
    scanned += page.ScannedCount ?? 0;
    startKey = page.LastEvaluatedKey;
  } while (startKey && scanned < limits.maxScannedItems);
  return newest;
}

async function runOne(
  documents: DynamoDBDocumentClient,
  tableName: string,
  check: DataCheck,
  recoveryPointCreatedAt: Date,
  limits: DynamoDbLimits,
): Promise<DataCheckResult> {
  const name = checkLabel(check);
  try {
    switch (check.kind) {
      case 'dynamodbCount':
        return await countItems(documents, check.table ?? tableName, check, limits);
      case 'dynamodbKeys':
        return await sampleKeysExist(documents, tableName, check);
      case 'freshness':
        if ('attribute' in check) {
          const newest = await newestAttribute(documents, tableName, check.attribute, limits);
          return freshnessResult(name, newest ?? null, recoveryPointCreatedAt, check.withinMinutes);
        }
        return erroredResult(name, expectedOf(check), 'not a DynamoDB freshness check');
      default:
        return erroredResult(
          name,
          expectedOf(check),
          `a ${check.kind} check cannot run against a DynamoDB table`,
        );
    }
  } catch (error) {
    return erroredResult(name, expectedOf(check), error);
  }
}

/**
 * Runs a profile's DynamoDB checks against the restored table `tableName` (a `dynamodbCount` may name
 * another table). A check whose call fails (access denied, table missing) fails with the error observed.
 */
export async function runDynamoDbChecks(input: {
  client: DynamoDBClient | DynamoDBDocumentClient;
  tableName: string;
  checks: readonly DataCheck[];
  recoveryPointCreatedAt: Date;
  limits?: DynamoDbLimits;
}): Promise<DataCheckReport> {
  const documents =
    input.client instanceof DynamoDBDocumentClient ? input.client : DynamoDBDocumentClient.from(input.client);
  const results: DataCheckResult[] = [];
  for (const check of input.checks) {
    results.push(
      await runOne(
        documents,
        input.tableName,
        check,
        input.recoveryPointCreatedAt,
        input.limits ?? defaultDynamoDbLimits,
      ),
    );
  }
  return reportOf(results);
}
