import type { TableDescription } from '@aws-sdk/client-dynamodb';
import { accountOf, parseArn, resourceIdFromArn } from '../lib/arn.js';
import type { AccountClients } from '../lib/clients.js';
import { errorSummary } from '../lib/data-checks.js';
import { ResourceNotReady } from '../lib/errors.js';
import { lazySdk } from './sdk/lazy.js';
import { check, drillResourceName, type ResourceModule, taggedCheck, tagList, tagsOf } from './types.js';

/** The dynamodb SDK, loaded on first use: only drills of this type pay for it (see docs/architecture.md). */
const dynamodbSdk = lazySdk(() => import('./sdk/dynamodb.js'));

/** Table statuses that settle by themselves (a restored table is CREATING until its data is loaded). */
const TRANSITIONAL = new Set(['CREATING', 'UPDATING']);

/** At most this many Scan pages are read to count a restored table's items (a bounded, cheap read). */
const MAX_SCAN_PAGES = 10;

/**
 * Restore metadata keys that name the source table's key or replication: a key of the source account cannot
 * be used in the DR account, and a restore must not bring streams or replicas with it.
 */
const SOURCE_ONLY_KEYS = ['kmsMasterKeyArn', 'encryptionType'];

/** Table names: letters, digits, `_`, `-`, `.`; 3 to 255 characters. The drill's name fits. */
export function tableNameFor(drillId: string): string {
  return drillResourceName(drillId, 255);
}

/** The DR account's AWS managed DynamoDB key: the restored table never uses a key of the source account. */
export function drTableKeyArn(region: string, account: string): string {
  return `arn:aws:kms:${region}:${account}:alias/aws/dynamodb`;
}

/**
 * Counts the table's items with Scan (Select COUNT), at most MAX_SCAN_PAGES pages: `complete` says whether
 * the whole table was counted. DescribeTable's ItemCount is only refreshed about every six hours by DynamoDB,
 * so a complete count is what the check prefers.
 */
async function countItems(
  clients: AccountClients,
  table: string,
): Promise<{ count: number; complete: boolean }> {
  const { DynamoDBClient, ScanCommand } = await dynamodbSdk();
  let count = 0;
  let startKey: Record<string, never> | undefined;
  for (let page = 0; page < MAX_SCAN_PAGES; page++) {
    const result = await clients
      .client(DynamoDBClient)
      .send(new ScanCommand({ TableName: table, Select: 'COUNT', ExclusiveStartKey: startKey }));
    count += result.Count ?? 0;
    if (!result.LastEvaluatedKey) return { count, complete: true };
    startKey = result.LastEvaluatedKey as Record<string, never>;
  }
  return { count, complete: false };
}

/** What the table's own `data-integrity` check says about its items, or why they could not be counted. */
async function itemsOf(clients: AccountClients, table: TableDescription, name: string) {
  try {
    const counted = await countItems(clients, name);
    const count = counted.complete ? counted.count : (table.ItemCount ?? 0);
    return {
      count,
      detail: `${count} items${counted.complete ? '' : ' (ItemCount; table larger than the bounded scan)'}`,
    };
  } catch (error) {
    // A table whose items the DR role may not read (a resource policy's deny): it holds no proof of data,
    // which the check says, rather than the drill failing on an unexplained error.
    if (error instanceof Error && error.name === 'AccessDeniedException')
      return { count: undefined, detail: `items cannot be read (${errorSummary(error)})` };
    throw error;
  }
}

/**
 * Amazon DynamoDB tables. AWS Backup gives tables with advanced backup features (required for cross-account
 * copies, so for every Pilotlight drill) recovery points `arn:aws:backup:REGION:ACCOUNT:recovery-point:ID`;
 * older DynamoDB-managed backups are `arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/backup/ID`. Either restores
 * to a new table, named after the drill.
 */
export const dynamodb: ResourceModule = {
  type: 'DynamoDB',
  taggingTypes: ['dynamodb:table'],
  // The ARN form of this type's recovery points, where the service names them (not AWS Backup's `recovery-point:`).
  ownsRecoveryPoint: (arn) =>
    parseArn(arn)?.service === 'dynamodb' && (parseArn(arn)?.resource ?? '').includes('/backup/'),
  owns: (arn) => {
    const parsed = parseArn(arn);
    return parsed?.service === 'dynamodb' && /^table\/[A-Za-z0-9_.-]{3,255}$/.test(parsed.resource);
  },
  // The table is ACTIVE when its restore job completes; a few minutes of slack for index backfills.
  readiness: { budgetSeconds: 3600 },
  typicalRestore: { seconds: 900, perGiBSeconds: 30 },

  restoreMetadata(base, drill, config) {
    const metadata = { ...base };
    for (const key of SOURCE_ONLY_KEYS) delete metadata[key];
    return {
      ...metadata,
      targetTableName: tableNameFor(drill.drillId),
      encryptionType: 'KMS',
      kmsMasterKeyArn: drTableKeyArn(config.DR_REGION, config.DR_ACCOUNT_ID),
    };
  },

  async tag(clients, resourceArn, tags) {
    const { DynamoDBClient, TagResourceCommand } = await dynamodbSdk();
    await clients
      .client(DynamoDBClient)
      .send(new TagResourceCommand({ ResourceArn: resourceArn, Tags: tagList(tags) }));
  },

  async readTags(clients, resourceArn) {
    const { DynamoDBClient, ListTagsOfResourceCommand, ResourceNotFoundException } = await dynamodbSdk();
    try {
      const result = await clients
        .client(DynamoDBClient)
        .send(new ListTagsOfResourceCommand({ ResourceArn: resourceArn }));
      return tagsOf(result.Tags);
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return undefined;
      throw error;
    }
  },

  async checkHealth({ clients, resourceArn, expected, drill, config }) {
    const {
      DescribeContinuousBackupsCommand,
      DescribeTableCommand,
      DynamoDBClient,
      ResourceNotFoundException,
    } = await dynamodbSdk();
    const name = resourceIdFromArn(resourceArn);
    let table: TableDescription | undefined;
    try {
      table = (await clients.client(DynamoDBClient).send(new DescribeTableCommand({ TableName: name })))
        .Table;
    } catch (error) {
      if (error instanceof ResourceNotFoundException)
        return [check('resource-exists', false, `table ${name} not found`)];
      throw error;
    }
    if (!table) return [check('resource-exists', false, `table ${name} not found`)];
    const status = table.TableStatus ?? 'unknown';
    if (TRANSITIONAL.has(status)) throw new ResourceNotReady(`table ${name} is ${status}`);

    const backups = await clients
      .client(DynamoDBClient)
      .send(new DescribeContinuousBackupsCommand({ TableName: name }));
    const pitr =
      backups.ContinuousBackupsDescription?.PointInTimeRecoveryDescription?.PointInTimeRecoveryStatus ??
      'DISABLED';
    const streams = table.StreamSpecification?.StreamEnabled === true;
    const replicas = (table.Replicas ?? []).length;
    const keyArn = table.SSEDescription?.KMSMasterKeyArn ?? '';
    const tags = (await dynamodb.readTags(clients, resourceArn)) ?? {};
    const expectedItems = Number(expected.ItemCount);
    const items = await itemsOf(clients, table, name);

    return [
      check('resource-available', status === 'ACTIVE', `TableStatus is ${status}`),
      check(
        'isolated',
        !streams && pitr !== 'ENABLED' && replicas === 0 && table.DeletionProtectionEnabled !== true,
        `streams=${streams} pointInTimeRecovery=${pitr} replicas=${replicas} deletionProtection=${table.DeletionProtectionEnabled === true}`,
      ),
      check(
        'encrypted',
        table.SSEDescription?.Status === 'ENABLED' && accountOf(keyArn) === config.DR_ACCOUNT_ID,
        `SSE ${table.SSEDescription?.Status ?? 'n/a'} with ${keyArn || 'no key'}`,
      ),
      taggedCheck(tags, drill.drillId),
      check(
        'data-integrity',
        items.count !== undefined && (!Number.isFinite(expectedItems) || items.count === expectedItems),
        `${items.detail} (backup: ${expected.ItemCount ?? 'n/a'}), ${table.TableSizeBytes ?? 0} bytes (backup: ${expected.TableSizeBytes ?? 'n/a'})`,
      ),
    ];
  },

  // The profile's checks read the restored table through the DR role: DynamoDB's API is the data's only
  // door, so no probe is needed (Scan, GetItem; accounts/dr-account.yaml ReadRestoredTables).
  async dataChecks({ clients, resourceArn, checks, recoveryPointCreatedAt }) {
    // Loaded with the DynamoDB SDK, on first use: only drills of this type pay for them.
    const [{ DynamoDBClient }, { runDynamoDbChecks }] = await Promise.all([
      dynamodbSdk(),
      import('../lib/dynamodb-checks.js'),
    ]);
    return runDynamoDbChecks({
      client: clients.client(DynamoDBClient),
      tableName: resourceIdFromArn(resourceArn),
      checks,
      recoveryPointCreatedAt,
    });
  },

  async lifecycle(clients, resourceArn) {
    const { DescribeTableCommand, DynamoDBClient, ResourceNotFoundException } = await dynamodbSdk();
    try {
      const result = await clients
        .client(DynamoDBClient)
        .send(new DescribeTableCommand({ TableName: resourceIdFromArn(resourceArn) }));
      const status = result.Table?.TableStatus;
      if (status === undefined) return 'gone';
      return status === 'DELETING' ? 'deleting' : 'present';
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return 'gone';
      throw error;
    }
  },

  async delete(clients, resourceArn) {
    const { DeleteTableCommand, DynamoDBClient, ResourceNotFoundException } = await dynamodbSdk();
    try {
      await clients
        .client(DynamoDBClient)
        .send(new DeleteTableCommand({ TableName: resourceIdFromArn(resourceArn) }));
      return { status: 'deleted', deleted: [resourceArn] };
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return { status: 'already-gone', deleted: [] };
      throw error;
    }
  },
};
