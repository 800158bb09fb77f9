import { SendTaskFailureCommand, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { resourceModule } from '../resources/index.js';
import { drClients, sfn } from './clients.js';
import { config } from './config.js';
import { DRILL_TAG, drillTags } from './drill.js';
import { CopyJobFailed, RestoreJobFailed } from './errors.js';
import { logger } from './observability.js';
import { claimJob, type PendingJob, releaseJob, updateDrill } from './state-store.js';

/** A finished copy or restore job, read from its event or from Describe*Job. */
export interface JobOutcome {
  jobId: string;
  state: string;
  statusMessage?: string;
  createdResourceArn?: string;
  drRecoveryPointArn?: string;
  startedAt?: string;
  completedAt?: string;
}

export type ResumeResult = 'resumed' | 'already-resolved' | 'drill-closed';

/** Errors Step Functions returns for a token whose task is no longer waiting (timed out, or drill ended). */
const CLOSED_TOKEN = new Set(['TaskTimedOut', 'InvalidToken', 'TaskDoesNotExist']);

function iso(value: string | undefined, fallback: string): string {
  if (!value) return fallback;
  const parsed = new Date(value);
  return Number.isNaN(parsed.getTime()) ? fallback : parsed.toISOString();
}

/**
 * Resumes the drill waiting on a job exactly once: the job event and the reconciler may both try; only the
 * one that claims the job record sends the callback. A restored resource is tagged before the drill hears of
 * it, so teardown can always prove it belongs to the drill.
 */
export async function resumeDrill(job: PendingJob, outcome: JobOutcome): Promise<ResumeResult> {
  if (!(await claimJob(job.jobId))) return 'already-resolved';
  const now = new Date().toISOString();
  try {
    if (outcome.state !== 'COMPLETED') {
      const error = job.kind === 'copy' ? new CopyJobFailed('') : new RestoreJobFailed('');
      await sfn.send(
        new SendTaskFailureCommand({
          taskToken: job.taskToken,
          error: error.name,
          cause: `${job.kind} job ${job.jobId} ended ${outcome.state}${outcome.statusMessage ? `: ${outcome.statusMessage}` : ''}`,
        }),
      );
      return 'resumed';
    }
    let output: Record<string, unknown>;
    if (job.kind === 'restore') {
      if (!outcome.createdResourceArn)
        throw new Error(`restore job ${job.jobId} completed without a created resource`);
      await resourceModule(job.resourceType).tag(
        drClients(),
        outcome.createdResourceArn,
        drillTags(job.drillId, job.mode, config.DRILL_STATE_MACHINE_ARN),
      );
      await updateDrill(job.drillId, { createdResourceArn: outcome.createdResourceArn });
      output = {
        restoreJobId: job.jobId,
        createdResourceArn: outcome.createdResourceArn,
        startedAt: iso(outcome.startedAt, job.startedAt),
        completedAt: iso(outcome.completedAt, now),
      };
    } else {
      if (!outcome.drRecoveryPointArn)
        throw new Error(`copy job ${job.jobId} completed without a destination recovery point`);
      output = {
        copyJobId: job.jobId,
        drRecoveryPointArn: outcome.drRecoveryPointArn,
        skipped: false,
        startedAt: iso(outcome.startedAt, job.startedAt),
        completedAt: iso(outcome.completedAt, now),
      };
    }
    await sfn.send(new SendTaskSuccessCommand({ taskToken: job.taskToken, output: JSON.stringify(output) }));
    return 'resumed';
  } catch (error) {
    if (error instanceof Error && CLOSED_TOKEN.has(error.name)) {
      await cleanUpLateRestore(job, outcome);
      return 'drill-closed';
    }
    // Give the job back so the reconciler tries again; the error still fails this invocation (and alarms).
    await releaseJob(job.jobId);
    throw error;
  }
}

/**
 * The drill stopped waiting (its restore timed out) and the restore finished afterwards: delete what it made,
 * so nothing is left behind. Failover restores are kept.
 */
async function cleanUpLateRestore(job: PendingJob, outcome: JobOutcome): Promise<void> {
  if (job.kind !== 'restore' || job.mode === 'failover' || !outcome.createdResourceArn) return;
  const module = resourceModule(job.resourceType);
  const tags = await module.readTags(drClients(), outcome.createdResourceArn);
  if (tags?.[DRILL_TAG] !== job.drillId) return;
  const result = await module.delete(drClients(), outcome.createdResourceArn);
  logger.warn('deleted a restore that finished after its drill ended', {
    drillId: job.drillId,
    resourceArn: outcome.createdResourceArn,
    result,
  });
}
