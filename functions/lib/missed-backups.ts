import { BackupClient, paginateListBackupJobs } from '@aws-sdk/client-backup';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { isSupported } from '../resources/index.js';
import { readClaim } from './claims.js';
import { dynamo, sourceClients } from './clients.js';
import { config, isStandby, reconciledRegions } from './config.js';
import type { DrillRequest } from './drill.js';
import { UnexpectedRecord } from './errors.js';
import { logger } from './observability.js';

/**
 * AWS Backup delivers its events best-effort: a "Backup Job State Change" can be lost, and then no drill
 * starts. The reconciler therefore lists the completed backup jobs of every configured source account and
 * region since a watermark, and starts the drill of each one that has none (the claim says which).
 *
 * A job is only looked at once its event had time to arrive (EVENT_GRACE_MS after completion), so the usual
 * path stays the event; if both act, the claim keeps it to one drill.
 */
const EVENT_GRACE_MS = 15 * 60_000;
/**
 * How far back a run looks while no watermark is stored yet (the first run, and every run until one
 * succeeds): a deployment catches up on the last hours of backups, and a reconciler that keeps failing from
 * the start does not let its window slide past the backups it could not check.
 */
const FIRST_LOOKBACK_MS = 6 * 3600_000;

const Watermark = z.object({ pk: z.string(), completedBefore: z.iso.datetime({ offset: true }) });

export interface MissedBackups {
  checked: number;
  /** Drill ids started for backups whose event never produced a drill. */
  started: string[];
  /** Backups without a drill left for a later run because MAX_OPEN_DRILLS drills are open. */
  deferred: number;
}

type Start = (
  request: DrillRequest,
  eventId: string,
) => Promise<{ started: { drillId: string }[]; deferred: unknown[] }>;

export async function drillMissedBackups(start: Start): Promise<MissedBackups> {
  const result: MissedBackups = { checked: 0, started: [], deferred: 0 };
  // A standby deployment leaves backups to the primary until the primary is declared down.
  if (isStandby && !config.PRIMARY_DECLARED_DOWN) return result;
  for (const account of config.SOURCE_ACCOUNTS) {
    for (const region of reconciledRegions) {
      const key = `WATERMARK#backup-jobs#${account}#${region}`;
      const stored = await dynamo().send(
        new GetCommand({ TableName: config.STATE_TABLE, Key: { pk: key }, ConsistentRead: true }),
      );
      const watermark = stored.Item ? Watermark.safeParse(stored.Item) : undefined;
      if (watermark && !watermark.success) {
        throw new UnexpectedRecord(`state item ${key} is malformed: ${watermark.error.message}`);
      }
      const after = watermark?.data
        ? new Date(watermark.data.completedBefore)
        : new Date(Date.now() - FIRST_LOOKBACK_MS);
      const before = new Date(Date.now() - EVENT_GRACE_MS);
      if (before <= after) continue;
      /**
       * The watermark must not pass a backup that is still without a drill: once MAX_OPEN_DRILLS drills are
       * open, the rest of this window is deferred (not started, so no place is asked for each), and the next
       * watermark stays just before the earliest deferred completion, so a later run lists it again (the
       * claims skip what was drilled meanwhile).
       */
      let full = false;
      let earliestDeferred: number | undefined;
      const defer = (job: { CompletionDate?: Date }) => {
        result.deferred += 1;
        const completed = job.CompletionDate?.getTime() ?? after.getTime() + 1;
        earliestDeferred = Math.min(earliestDeferred ?? completed, completed);
      };
      const pages = paginateListBackupJobs(
        { client: sourceClients(account, region).client(BackupClient) },
        { ByState: 'COMPLETED', ByCompleteAfter: after, ByCompleteBefore: before },
      );
      for await (const page of pages) {
        for (const job of page.BackupJobs ?? []) {
          result.checked += 1;
          const recoveryPointArn = job.RecoveryPointArn;
          if (!recoveryPointArn || !job.ResourceType || !isSupported(job.ResourceType)) continue;
          // Restored by a drill or by a failover: either proves the backup restores.
          if ((await readClaim(recoveryPointArn, 'drill')) || (await readClaim(recoveryPointArn, 'failover')))
            continue;
          const request: DrillRequest = {
            mode: 'drill',
            trigger: {
              kind: 'backup-job',
              jobId: job.BackupJobId,
              at: (job.CompletionDate ?? before).toISOString(),
            },
            source: {
              account,
              region,
              resourceType: job.ResourceType,
              resourceArn: job.ResourceArn,
              recoveryPointArn,
              backupVaultName: job.BackupVaultName ?? 'Default',
            },
          };
          if (full) {
            defer(job);
            continue;
          }
          const started = await start(request, `missed-backup-job:${job.BackupJobId ?? recoveryPointArn}`);
          if (started.deferred.length > 0) {
            full = true;
            defer(job);
          }
          for (const drill of started.started) {
            result.started.push(drill.drillId);
            logger.warn('drilled a backup whose event never started a drill', {
              backupJobId: job.BackupJobId,
              drillId: drill.drillId,
            });
          }
        }
      }
      // ListBackupJobs' ByCompleteAfter is exclusive: 1 ms before the earliest deferred backup lists it again.
      const next =
        earliestDeferred === undefined ? before : new Date(Math.max(after.getTime(), earliestDeferred - 1));
      if (earliestDeferred !== undefined)
        logger.warn('backups deferred until drills end (maxOpenDrills)', {
          account,
          region,
          deferred: result.deferred,
          watermark: next.toISOString(),
        });
      await dynamo().send(
        new PutCommand({
          TableName: config.STATE_TABLE,
          Item: { pk: key, completedBefore: next.toISOString() },
        }),
      );
    }
  }
  return result;
}
