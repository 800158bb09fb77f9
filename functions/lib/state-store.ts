import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { dynamo } from './clients.js';
import { config } from './config.js';
import { DataCheckResult } from './data-checks.js';
import { Check, DrillMode } from './drill.js';
import { UnexpectedRecord } from './errors.js';
import { logger } from './observability.js';

/**
 * The orchestrator's state table. Two kinds of items:
 * - `JOB#<jobId>`: an AWS Backup copy/restore job a drill waits on, with the task token to resume it.
 *   Resolved exactly once (conditional update), whether by the job event or by the reconciler. While it is
 *   PENDING it carries `openJob` (OPEN_JOB), the key of the sparse `byOpenJob` index: the job check finds the
 *   open jobs with one Query, whatever the number of drill records the table keeps.
 * - `DRILL#<drillId>`: what a drill has created so far, so teardown can find it even when a step failed.
 */
const JobKind = z.enum(['copy', 'restore']);
export type JobKind = z.infer<typeof JobKind>;

const PendingJob = z.object({
  jobId: z.string(),
  kind: JobKind,
  drillId: z.string(),
  mode: DrillMode,
  resourceType: z.string(),
  taskToken: z.string(),
  account: z.string(),
  region: z.string(),
  status: z.enum(['PENDING', 'RESOLVED']),
  startedAt: z.string(),
});
export type PendingJob = z.infer<typeof PendingJob>;

/** What the data checks found (docs/validation.md): the profile that judged the copy and every result. */
export const DataChecksRecord = z.object({
  profile: z.string(),
  selectedBy: z.enum(['tag', 'default']),
  /** SHA-256 of validations.yml: which profile text judged the drill. */
  profilesSha256: z.string(),
  results: z.array(DataCheckResult),
  /** Recovery point creation time − newest data timestamp (the largest over the freshness checks). */
  dataRpoSeconds: z.number().optional(),
});
export type DataChecksRecord = z.infer<typeof DataChecksRecord>;

const DrillRecord = z.object({
  drillId: z.string(),
  copyJobId: z.string().optional(),
  restoreJobId: z.string().optional(),
  createdResourceArn: z.string().optional(),
  resourceType: z.string().optional(),
  /** Written before StartRestoreJob: the restore was asked for at this time, from this DR recovery point. */
  restoreRequestedAt: z.string().optional(),
  drRecoveryPointArn: z.string().optional(),
  /** Teardown started deleting this resource (its deletion may take minutes to finish). */
  deletedResourceArn: z.string().optional(),
  deletedMembers: z.array(z.string()).optional(),
  checks: z.array(Check).optional(),
  dataChecks: DataChecksRecord.optional(),
  status: z.enum(['RUNNING', 'SUCCEEDED', 'FAILED']).optional(),
  /** Mode `validate`: the final status put to AWS Backup (PutRestoreValidationResult), once. */
  validationStatus: z.enum(['SUCCESSFUL', 'FAILED', 'TIMED_OUT']).optional(),
  validationMessage: z.string().optional(),
  updatedAt: z.string(),
});
export type DrillRecord = z.infer<typeof DrillRecord>;

function parseItem<T extends z.ZodType>(schema: T, item: unknown, what: string): z.infer<T> {
  const parsed = schema.safeParse(item);
  if (!parsed.success) throw new UnexpectedRecord(`state item ${what} is malformed: ${parsed.error.message}`);
  return parsed.data;
}

const TTL_DAYS = 90;
const ttl = () => Math.floor(Date.now() / 1000) + TTL_DAYS * 86400;

/** The `openJob` value of a PENDING job: the one partition of the sparse `byOpenJob` index. */
const OPEN_JOB = 'PENDING';
const OPEN_JOB_INDEX = 'byOpenJob';

export async function rememberJob(job: Omit<PendingJob, 'status'>): Promise<void> {
  await dynamo().send(
    new PutCommand({
      TableName: config.STATE_TABLE,
      Item: { pk: `JOB#${job.jobId}`, ...job, status: 'PENDING', openJob: OPEN_JOB, expiresAt: ttl() },
    }),
  );
}

export async function findJob(jobId: string): Promise<PendingJob | undefined> {
  const result = await dynamo().send(
    new GetCommand({ TableName: config.STATE_TABLE, Key: { pk: `JOB#${jobId}` }, ConsistentRead: true }),
  );
  return result.Item ? parseItem(PendingJob, result.Item, `JOB#${jobId}`) : undefined;
}

/** Marks a job resolved; returns false when someone else (event or reconciler) already resolved it. */
export function claimJob(jobId: string): Promise<boolean> {
  return resolveJob(jobId);
}

/**
 * Closes a job nobody waits on any more (its drill ended) whose state cannot be read or acted on, so the job
 * check stops failing on it every minute. A restore it may still finish is found by the orphan sweeper through
 * the DR account's restore jobs and this item (kept, with the reason, until its TTL).
 */
export function abandonJob(jobId: string, reason: string): Promise<boolean> {
  return resolveJob(jobId, reason.slice(0, 1000));
}

/** PENDING → RESOLVED exactly once (conditional update), with the reason when the job is abandoned. */
async function resolveJob(jobId: string, abandonedBecause?: string): Promise<boolean> {
  try {
    await dynamo().send(
      new UpdateCommand({
        TableName: config.STATE_TABLE,
        Key: { pk: `JOB#${jobId}` },
        UpdateExpression: `SET #status = :resolved, resolvedAt = :now${abandonedBecause === undefined ? '' : ', abandonedBecause = :reason'} REMOVE openJob`,
        ConditionExpression: '#status = :pending',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':resolved': 'RESOLVED',
          ':pending': 'PENDING',
          ':now': new Date().toISOString(),
          ...(abandonedBecause === undefined ? {} : { ':reason': abandonedBecause }),
        },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}

/** Returns a claimed job to PENDING so the reconciler retries it (used when resuming the drill failed). */
export async function releaseJob(jobId: string): Promise<void> {
  await dynamo().send(
    new UpdateCommand({
      TableName: config.STATE_TABLE,
      Key: { pk: `JOB#${jobId}` },
      UpdateExpression: 'SET #status = :pending, openJob = :open',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':pending': 'PENDING', ':open': OPEN_JOB },
    }),
  );
}

/**
 * Every job still waiting. `index` (the job check, every minute) queries the sparse `byOpenJob` index: only
 * PENDING jobs are in it, so its cost does not grow with the drill records the table keeps for 90 days.
 * `scan` (the whole reconciliation, every `reconcileRate`) reads the table, which also finds a PENDING job
 * written before the index existed (a drill in flight across the upgrade) and one the index (eventually
 * consistent) does not show yet.
 */
export async function pendingJobs(via: 'index' | 'scan' = 'scan'): Promise<PendingJob[]> {
  if (via === 'index') {
    try {
      return await readPendingJobs('index');
    } catch (error) {
      // Right after the upgrade that adds it, the index is being built (backfilled) and DynamoDB refuses to read
      // it with a ValidationException: the check scans meanwhile, as it did before the index existed.
      if (!(error instanceof Error && error.name === 'ValidationException')) throw error;
      logger.warn('the index of open jobs cannot be read; scanning the state table instead', { error });
    }
  }
  return readPendingJobs('scan');
}

async function readPendingJobs(via: 'index' | 'scan'): Promise<PendingJob[]> {
  const jobs: PendingJob[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await dynamo().send(
      via === 'index'
        ? new QueryCommand({
            TableName: config.STATE_TABLE,
            IndexName: OPEN_JOB_INDEX,
            KeyConditionExpression: 'openJob = :open',
            FilterExpression: '#status = :pending',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':open': OPEN_JOB, ':pending': 'PENDING' },
            ExclusiveStartKey: startKey,
          })
        : new ScanCommand({
            TableName: config.STATE_TABLE,
            FilterExpression: '#status = :pending AND begins_with(pk, :job)',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':pending': 'PENDING', ':job': 'JOB#' },
            ExclusiveStartKey: startKey,
          }),
    );
    jobs.push(...(page.Items ?? []).map((item) => parseItem(PendingJob, item, 'JOB#')));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return jobs;
}

export async function updateDrill(
  drillId: string,
  fields: Partial<Omit<DrillRecord, 'drillId'>>,
): Promise<void> {
  const entries = Object.entries({ ...fields, updatedAt: new Date().toISOString() }).filter(
    ([, value]) => value !== undefined,
  );
  await dynamo().send(
    new UpdateCommand({
      TableName: config.STATE_TABLE,
      Key: { pk: `DRILL#${drillId}` },
      UpdateExpression: `SET ${entries.map((_, i) => `#f${i} = :v${i}`).join(', ')}, drillId = :id, expiresAt = :ttl`,
      ExpressionAttributeNames: Object.fromEntries(entries.map(([name], i) => [`#f${i}`, name])),
      ExpressionAttributeValues: {
        ...Object.fromEntries(entries.map(([, value], i) => [`:v${i}`, value])),
        ':id': drillId,
        ':ttl': ttl(),
      },
    }),
  );
}

export async function readDrill(drillId: string): Promise<DrillRecord | undefined> {
  const result = await dynamo().send(
    new GetCommand({ TableName: config.STATE_TABLE, Key: { pk: `DRILL#${drillId}` }, ConsistentRead: true }),
  );
  return result.Item ? parseItem(DrillRecord, result.Item, `DRILL#${drillId}`) : undefined;
}
