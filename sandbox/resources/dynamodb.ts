import { findNamed } from '../aws/find.js';
import { SimulatedAwsError } from '../aws-errors.js';
import { DynaliteError, dynaliteCall, dynaliteTableActive, startDynalite } from '../dynamodb.js';
import { accountOf, tagContext, tagsOf } from '../iam-keys.js';
import type { RequestEnvironment } from '../iam-requests.js';
import type { ApiCall } from '../interceptor.js';
import type { Caller, RestoredResource, World } from '../world.js';
import {
  hitByCorruption,
  SEEDED_KEY_ATTRIBUTE,
  SEEDED_TIME_ATTRIBUTE,
  seededKey,
  seededWrittenAt,
} from './seeded-data.js';
import {
  applyTags,
  type IamMapper,
  type SandboxResourceType,
  type ServiceApi,
  tagList,
  text,
} from './types.js';

/**
 * Amazon DynamoDB tables that restores create, kept apart from Pilotlight's own state table: every simulated
 * account other than the central one gets its own dynalite server (started on its first restore, closed with
 * the sandbox), so a restored table in the DR account never shares a namespace with the state table.
 *
 * What is dynalite's and what is the sandbox's, for those accounts:
 * - dynalite holds the table and its items: a restore really creates the table there and writes the backup's
 *   items (BatchWriteItem); Scan and every other data-plane call passes through to it.
 * - the sandbox answers DescribeTable (dynalite's table, with what dynalite does not model laid over it: the
 *   table's ARN in the DR account, its status while the restore loads it, SSE with the restore's key,
 *   deletion protection), DescribeContinuousBackups (dynalite has none), TagResource / ListTagsOfResource
 *   (dynalite has them, but the tags must be the world's, where IAM reads aws:ResourceTag and the Tagging API
 *   finds them) and DeleteTable (deleted in dynalite too, and DELETING for a while, as DynamoDB does).
 */
export interface Table extends RestoredResource {
  kind: 'table';
  /** The KMS key of its server-side encryption; undefined for a DynamoDB-owned key (no SSEDescription). */
  kmsKeyArn?: string;
  streamEnabled: boolean;
  pointInTimeRecovery: boolean;
  deletionProtection: boolean;
}

/**
 * The calls that read a table's items. Under data=unreachable the sandbox answers them itself, refusing them as
 * a table resource policy with an explicit deny would (an organisation's data perimeter the drill did not
 * expect): the table is there, its data cannot be read.
 */
const DATA_READS = new Set(['Scan', 'Query', 'GetItem']);

/** The operations the sandbox answers itself for tables in the simulated accounts' dynalite servers. */
const SANDBOX_OPERATIONS = new Set([
  'DescribeTable',
  'DescribeContinuousBackups',
  'TagResource',
  'ListTagsOfResource',
  'DeleteTable',
]);

export class DynamoDbState {
  readonly tables = new Map<string, Table>();
  private readonly servers = new Map<string, Promise<string>>();
  private readonly routes = new Map<string, { hostname: string; port: number }>();

  /** The account's dynalite endpoint, starting its server on first use. */
  endpoint(world: World, account: string): Promise<string> {
    let server = this.servers.get(account);
    if (!server) {
      server = startDynalite().then(({ endpoint, close }) => {
        world.onDispose(close);
        const url = new URL(endpoint);
        this.routes.set(account, { hostname: url.hostname, port: Number(url.port) });
        return endpoint;
      });
      this.servers.set(account, server);
    }
    return server;
  }

  /** Where the account's DynamoDB requests go, once its dynalite runs. */
  route(account: string): { hostname: string; port: number } | undefined {
    return this.routes.get(account);
  }

  table(caller: Caller, nameOrArn: string): Table {
    const found = findNamed(this.tables.values(), caller, nameOrArn);
    if (!found)
      throw new SimulatedAwsError(
        'ResourceNotFoundException',
        `Requested resource not found: Table: ${nameOrArn} not found`,
      );
    return found;
  }
}

interface LiveTable {
  TableName?: string;
  TableId?: string;
  KeySchema?: unknown;
  AttributeDefinitions?: unknown;
  ItemCount?: number;
  TableSizeBytes?: number;
  BillingModeSummary?: unknown;
  CreationDateTime?: number;
}

/** A table name or ARN as IAM sees it: the table's ARN in the caller's account and region. */
function tableArn(env: RequestEnvironment, nameOrArn: string): string {
  return env.resourceArn(
    'table',
    nameOrArn,
    env.account,
    env.region,
    nameOrArn.startsWith('arn:')
      ? nameOrArn
      : `arn:aws:dynamodb:${env.region}:${env.account}:table/${nameOrArn}`,
  );
}

function onTable(action: string, field: string): IamMapper {
  return (input, env) => {
    const arn = tableArn(env, text(input[field]));
    return [
      {
        action,
        resource: arn,
        resourceAccount: accountOf(arn) || env.account,
        context: {},
        taggedResource: arn,
      },
    ];
  };
}

export const dynamodbApi: ServiceApi = {
  service: 'DynamoDB',
  passThrough(world: World, call: ApiCall) {
    // The central account's calls are the state table's: the sandbox's own dynalite (its default).
    if (call.caller.account === world.settings.centralAccount) return undefined;
    if (SANDBOX_OPERATIONS.has(call.operation)) return false;
    if (world.faults.unreachableData && DATA_READS.has(call.operation)) return false;
    // Before the account's first restore there is no dynalite and no table: `operations` answers not found.
    return world.state(DynamoDbState).route(call.caller.account) ?? false;
  },
  operations(world) {
    const state = world.state(DynamoDbState);
    const byArn = (caller: Caller, arn: string) => {
      const found = world.findResourceByArn(caller, arn);
      if (found?.kind !== 'table')
        throw new SimulatedAwsError(
          'ResourceNotFoundException',
          `Requested resource not found: ResourcArn: ${arn} not found`,
        );
      return found;
    };
    const notFound = (name: string) =>
      new SimulatedAwsError(
        'ResourceNotFoundException',
        `Requested resource not found: Table: ${name} not found`,
      );
    return {
      'DynamoDB.DescribeTable': async (caller, input: { TableName?: string }) => {
        const table = state.table(caller, input.TableName ?? '');
        const base = {
          TableName: table.id,
          TableArn: table.arn,
          TableStatus: table.status,
          DeletionProtectionEnabled: table.deletionProtection,
          SSEDescription: table.kmsKeyArn
            ? { Status: 'ENABLED', SSEType: 'KMS', KMSMasterKeyArn: table.kmsKeyArn }
            : undefined,
          StreamSpecification: table.streamEnabled
            ? { StreamEnabled: true, StreamViewType: 'NEW_IMAGE' }
            : undefined,
        };
        if (table.phase === 'deleting') return { Table: base };
        let live: LiveTable | undefined;
        try {
          const endpoint = await state.endpoint(world, caller.account);
          live = (
            (await dynaliteCall(endpoint, 'DescribeTable', { TableName: table.id })) as { Table?: LiveTable }
          ).Table;
        } catch (error) {
          // Still being created by the restore: dynalite does not have it yet.
          if (!(error instanceof DynaliteError && error.errorType === 'ResourceNotFoundException'))
            throw error;
        }
        return {
          Table: {
            ...base,
            TableId: live?.TableId,
            KeySchema: live?.KeySchema,
            AttributeDefinitions: live?.AttributeDefinitions,
            BillingModeSummary: live?.BillingModeSummary,
            ItemCount: live?.ItemCount ?? 0,
            TableSizeBytes: live?.TableSizeBytes ?? 0,
            CreationDateTime: new Date(table.createdAt),
          },
        };
      },
      'DynamoDB.DescribeContinuousBackups': (caller, input: { TableName?: string }) => {
        const table = state.table(caller, input.TableName ?? '');
        return {
          ContinuousBackupsDescription: {
            ContinuousBackupsStatus: 'ENABLED',
            PointInTimeRecoveryDescription: {
              PointInTimeRecoveryStatus: table.pointInTimeRecovery ? 'ENABLED' : 'DISABLED',
            },
          },
        };
      },
      'DynamoDB.TagResource': (caller, input: { ResourceArn?: string; Tags?: unknown }) => {
        applyTags(byArn(caller, input.ResourceArn ?? '').tags, input.Tags);
        return {};
      },
      'DynamoDB.ListTagsOfResource': (caller, input: { ResourceArn?: string }) => ({
        Tags: tagList(byArn(caller, input.ResourceArn ?? '').tags),
      }),
      'DynamoDB.DeleteTable': async (caller, input: { TableName?: string }) => {
        const table = state.table(caller, input.TableName ?? '');
        if (table.phase === 'deleting' || table.status === 'CREATING')
          throw new SimulatedAwsError(
            'ResourceInUseException',
            `Attempt to change a resource which is still in use: Table is being ${table.phase === 'deleting' ? 'deleted' : 'created'}: ${table.id}`,
          );
        if (table.deletionProtection)
          throw new SimulatedAwsError(
            'ValidationException',
            `Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.`,
          );
        world.teardownFault('ResourceInUseException');
        const endpoint = await state.endpoint(world, caller.account);
        await dynaliteCall(endpoint, 'DeleteTable', { TableName: table.id });
        world.beginDelete(table, world.random.int(5, 60), 'DELETING', 'deleted');
        return { TableDescription: { TableName: table.id, TableArn: table.arn, TableStatus: 'DELETING' } };
      },
      // Before the account's first restore (no dynalite yet): no table exists; under data=unreachable the
      // items of a restored table cannot be read.
      ...Object.fromEntries(
        [...DATA_READS].map((operation) => [
          `DynamoDB.${operation}`,
          (caller: ApiCall['caller'], input: { TableName?: string }) => {
            const name = input.TableName ?? '';
            const table = world.faults.unreachableData ? state.table(caller, name) : undefined;
            if (!table) throw notFound(name);
            throw new SimulatedAwsError(
              'AccessDeniedException',
              `User: ${caller.sessionArn} is not authorized to perform: dynamodb:${operation} on resource: ${table.arn} with an explicit deny in a resource-based policy`,
            );
          },
        ]),
      ),
    };
  },
  iam: {
    'DynamoDB.DescribeTable': onTable('dynamodb:DescribeTable', 'TableName'),
    'DynamoDB.DescribeContinuousBackups': onTable('dynamodb:DescribeContinuousBackups', 'TableName'),
    'DynamoDB.ListTagsOfResource': onTable('dynamodb:ListTagsOfResource', 'ResourceArn'),
    'DynamoDB.TagResource': (input, env) =>
      onTable('dynamodb:TagResource', 'ResourceArn')(input, env).map((request) => ({
        ...request,
        context: tagContext(tagsOf(input.Tags)),
      })),
    'DynamoDB.DeleteTable': onTable('dynamodb:DeleteTable', 'TableName'),
  },
};

/** Items in one BatchWriteItem request (DynamoDB's limit). */
const BATCH = 25;

/**
 * The items a source table held when its recovery point was created (sandbox/resources/seeded-data.ts): its
 * `count` orders, one written a minute, the newest a few minutes before the backup, as the restore loads
 * them (data=corrupt: every second one lost; data=stale: as the table was two hours earlier).
 */
export function restoredItems(
  count: number,
  createdAt: number,
  fault: { corrupt: boolean; stale: boolean },
): Record<string, { S: string } | { N: string }>[] {
  return Array.from({ length: count }, (_, index) => index)
    .filter((index) => !(fault.corrupt && hitByCorruption(index)))
    .map((index) => ({
      [SEEDED_KEY_ATTRIBUTE]: { S: seededKey(index) },
      [SEEDED_TIME_ATTRIBUTE]: {
        S: new Date(seededWrittenAt(index, count, createdAt, fault.stale)).toISOString(),
      },
      totalCents: { N: String(1000 + ((index * 7919) % 90_000)) },
      status: { S: 'SHIPPED' },
    }));
}

/** Writes a restored table into the account's dynalite: the table, then the backup's items. */
async function loadTable(world: World, table: Table, items: ReturnType<typeof restoredItems>): Promise<void> {
  const state = world.state(DynamoDbState);
  const endpoint = await state.endpoint(world, table.account);
  await dynaliteCall(endpoint, 'CreateTable', {
    TableName: table.id,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [{ AttributeName: SEEDED_KEY_ATTRIBUTE, AttributeType: 'S' }],
    KeySchema: [{ AttributeName: SEEDED_KEY_ATTRIBUTE, KeyType: 'HASH' }],
  });
  await dynaliteTableActive(endpoint, table.id);
  for (let start = 0; start < items.length; start += BATCH) {
    const requests = items.slice(start, start + BATCH).map((Item) => ({ PutRequest: { Item } }));
    await dynaliteCall(endpoint, 'BatchWriteItem', { RequestItems: { [table.id]: requests } });
  }
  // The restore job completes when the data is in: the table is ACTIVE from then on.
  if (table.status === 'CREATING') table.status = 'ACTIVE';
}

/**
 * Amazon DynamoDB: AWS Backup's advanced backups (which cross-account copies require) have recovery points
 * `arn:aws:backup:REGION:ACCOUNT:recovery-point:ID`; DynamoDB's own backups are
 * `arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/backup/ID`. A restore creates a new table.
 */
export const dynamodb: SandboxResourceType = {
  type: 'DynamoDB',
  sizeGiB: (random) => random.int(1, 40),
  sourceResourceArn: ({ account, region, index }) =>
    `arn:aws:dynamodb:${region}:${account}:table/orders-${index}`,
  recoveryPointArn: ({ account, region, random }) =>
    `arn:aws:backup:${region}:${account}:recovery-point:${random.uuid()}`,
  recoveryPointForm: {
    describe:
      'arn:aws:backup:REGION:ACCOUNT:recovery-point:ID (advanced backups) or arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/backup/ID',
    fits: (arn) =>
      (arn.service === 'backup' && /^recovery-point:[A-Za-z0-9-]+$/.test(arn.resource)) ||
      (arn.service === 'dynamodb' &&
        /^table\/[A-Za-z0-9_.-]{3,255}\/backup\/[0-9]{13}-[0-9a-f]{8}$/.test(arn.resource)),
  },
  sourceMetadata: ({ resourceArn, account, region, random }) => {
    const items = random.int(30, 300);
    return {
      originalTableName: resourceArn.split('/').pop() ?? 'orders',
      encryptionType: 'KMS',
      kmsMasterKeyArn: `arn:aws:kms:${region}:${account}:key/${random.uuid()}`,
      ItemCount: String(items),
      TableSizeBytes: String(items * random.int(150, 400)),
    };
  },
  // Restoring a table takes minutes for small tables, longer with size.
  restoreDurationMs: (random, sizeGiB) => random.seconds(5 * 60, 20 * 60) + sizeGiB * 30_000,

  validateRestore(world, caller, metadata) {
    const name = metadata.targetTableName ?? '';
    if (!/^[A-Za-z0-9_.-]{3,255}$/.test(name))
      throw new SimulatedAwsError(
        'InvalidParameterValueException',
        `Restore metadata needs a valid targetTableName (got "${name}")`,
      );
    const taken = [...world.state(DynamoDbState).tables.values()].some(
      (t) =>
        t.id === name && t.account === caller.account && t.region === caller.region && t.phase !== 'deleted',
    );
    if (taken) throw new SimulatedAwsError('InvalidParameterValueException', `Table already exists: ${name}`);
  },

  // DynamoDB's table quota (2,500 per account and Region) is far above any drill burst.
  quotaExceeded: () => undefined,

  restore(world, job, point, metadata) {
    const name = metadata.targetTableName ?? `restored-${world.random.hex(8)}`;
    const items = Number(metadata.ItemCount ?? 50);
    const table: Table = {
      arn: `arn:aws:dynamodb:${job.region}:${job.account}:table/${name}`,
      account: job.account,
      region: job.region,
      kind: 'table',
      id: name,
      status: 'CREATING',
      phase: 'present',
      tags: {},
      createdAt: world.now,
      kmsKeyArn: metadata.encryptionType === 'KMS' ? metadata.kmsMasterKeyArn : undefined,
      // A restored table never has streams or point-in-time recovery until someone turns them on.
      streamEnabled: false,
      pointInTimeRecovery: false,
      deletionProtection: false,
    };
    world.state(DynamoDbState).tables.set(table.arn, table);
    world.track(table);
    // What the source held at the recovery point; an unhealthy restore loaded none of it.
    const loaded = world.faults.unhealthy
      ? []
      : restoredItems(items, point.createdAt, {
          corrupt: world.faults.corruptData,
          stale: world.faults.staleData,
        });
    world.defer(loadTable(world, table, loaded));
    return table.arn;
  },

  present: (world, account) =>
    [...world.state(DynamoDbState).tables.values()].filter(
      (t) => t.account === account && t.phase !== 'deleted',
    ).length,

  // Restore testing infers targetTableName; its selection overrides the key to the DR account's.
  restoreTestMetadata: ({ metadata, name, account, region }) => ({
    ...metadata,
    targetTableName: name,
    encryptionType: 'KMS',
    kmsMasterKeyArn: `arn:aws:kms:${region}:${account}:alias/aws/dynamodb`,
  }),
  restoreTestName: (arn) => arn.split(':table/')[1],
};
