import {
  BackupEvent,
  COPY_JOB,
  CopyJobDetail,
  RESTORE_JOB,
  RestoreJobDetail,
  TERMINAL_STATES,
} from './lib/events.js';
import { lambdaHandler } from './lib/handler.js';
import { logger } from './lib/observability.js';
import { describeJob, type JobOutcome, resumeDrill } from './lib/resume.js';
import { findJob } from './lib/state-store.js';

export type ResumeDrillResult =
  | { resumed: true; jobId: string; drillId: string }
  | { resumed: false; reason: string };

function outcomeOf(event: BackupEvent): JobOutcome | string {
  if (event['detail-type'] === COPY_JOB) {
    const detail = CopyJobDetail.parse(event.detail);
    return {
      jobId: detail.copyJobId,
      state: detail.state,
      statusMessage: detail.statusMessage,
      drRecoveryPointArn: detail.destinationRecoveryPointArn,
      startedAt: detail.creationDate,
      completedAt: detail.completionDate,
    };
  }
  if (event['detail-type'] === RESTORE_JOB) {
    const detail = RestoreJobDetail.parse(event.detail);
    return {
      jobId: detail.restoreJobId,
      state: detail.status,
      statusMessage: detail.statusMessage,
      createdResourceArn: detail.createdResourceArn,
      startedAt: detail.creationDate,
      completedAt: detail.completionDate,
    };
  }
  return `detail-type "${event['detail-type']}" does not resume drills`;
}

/** A copy or restore job changed state: resume the drill that waits on it, if any. */
export const handler = lambdaHandler(async (raw: unknown): Promise<ResumeDrillResult> => {
  const event = BackupEvent.parse(raw);
  const outcome = outcomeOf(event);
  if (typeof outcome === 'string') return { resumed: false, reason: outcome };
  if (!TERMINAL_STATES.has(outcome.state)) {
    return { resumed: false, reason: `job ${outcome.jobId} is ${outcome.state}, not finished` };
  }
  const job = await findJob(outcome.jobId);
  if (!job) return { resumed: false, reason: `no drill waits for job ${outcome.jobId}` };
  logger.appendKeys({ drillId: job.drillId });
  // The event only says which job changed; what happened is read from AWS Backup (see describeJob).
  const current = await describeJob(job);
  if (!TERMINAL_STATES.has(current.state)) {
    return { resumed: false, reason: `job ${job.jobId} is ${current.state} in AWS Backup, not finished` };
  }
  const result = await resumeDrill(job, current);
  logger.info('job event handled', { jobId: job.jobId, state: outcome.state, result });
  if (result === 'resumed') return { resumed: true, jobId: job.jobId, drillId: job.drillId };
  return { resumed: false, reason: `job ${job.jobId} was already handled (${result})` };
});
