import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DescribeCopyJobCommand, DescribeRestoreJobCommand } from '@aws-sdk/client-backup';
import { drClients, sourceClients } from './lib/clients.js';
import { TERMINAL_STATES } from './lib/events.js';
import { lambdaHandler } from './lib/handler.js';
import { logger, metrics } from './lib/observability.js';
import { type JobOutcome, resumeDrill } from './lib/resume.js';
import { type PendingJob, pendingJobs } from './lib/state-store.js';

/** Reads a job's current state from AWS Backup, in the account that owns the job. */
async function describe(job: PendingJob): Promise<JobOutcome> {
  if (job.kind === 'copy') {
    const { CopyJob } = await sourceClients(job.account, job.region).backup.send(
      new DescribeCopyJobCommand({ CopyJobId: job.jobId }),
    );
    return {
      jobId: job.jobId,
      state: CopyJob?.State ?? 'UNKNOWN',
      statusMessage: CopyJob?.StatusMessage,
      drRecoveryPointArn: CopyJob?.DestinationRecoveryPointArn,
      startedAt: CopyJob?.CreationDate?.toISOString(),
      completedAt: CopyJob?.CompletionDate?.toISOString(),
    };
  }
  const restore = await drClients().backup.send(new DescribeRestoreJobCommand({ RestoreJobId: job.jobId }));
  return {
    jobId: job.jobId,
    state: restore.Status ?? 'UNKNOWN',
    statusMessage: restore.StatusMessage,
    createdResourceArn: restore.CreatedResourceArn,
    startedAt: restore.CreationDate?.toISOString(),
    completedAt: restore.CompletionDate?.toISOString(),
  };
}

export interface ReconcileResult {
  checked: number;
  resumed: string[];
  failed: string[];
}

/**
 * The safety net for best-effort AWS Backup events: every open job is read from AWS Backup and, if it has
 * finished, its drill is resumed. One job failing does not stop the others.
 */
export async function reconcile(): Promise<ReconcileResult> {
  const jobs = await pendingJobs();
  const result: ReconcileResult = { checked: jobs.length, resumed: [], failed: [] };
  for (const job of jobs) {
    try {
      const outcome = await describe(job);
      if (!TERMINAL_STATES.has(outcome.state)) continue;
      if ((await resumeDrill(job, outcome)) === 'resumed') {
        result.resumed.push(job.jobId);
        logger.warn('resumed a drill whose job event never arrived', {
          drillId: job.drillId,
          jobId: job.jobId,
        });
      }
    } catch (error) {
      result.failed.push(job.jobId);
      logger.error('could not reconcile job', { jobId: job.jobId, drillId: job.drillId, error });
    }
  }
  metrics.addMetric('ReconciledJobs', MetricUnit.Count, result.resumed.length);
  metrics.addMetric('OpenJobs', MetricUnit.Count, jobs.length - result.resumed.length);
  if (result.failed.length > 0) throw new Error(`could not reconcile jobs ${result.failed.join(', ')}`);
  return result;
}

export const handler = lambdaHandler(async () => reconcile(), { publishesMetrics: true });
