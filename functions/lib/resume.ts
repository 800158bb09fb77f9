import {
  BackupClient,
  type CopyJob,
  DescribeCopyJobCommand,
  DescribeRestoreJobCommand,
  paginateListCopyJobs,
  paginateListRestoreJobs,
  type RestoreJobsListMember,
} from '@aws-sdk/client-backup';
import { SendTaskFailureCommand, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { resourceModule } from '../resources/index.js';
import { accountOf } from './arn.js';
import { drClients, drTeardownClients, sfn, sourceClients } from './clients.js';
import { config, drVaultArn } from './config.js';
import { DRILL_TAG, drillTags } from './drill.js';
import {
  CopyJobFailed,
  describeError,
  isTransientAwsError,
  RestoreJobFailed,
  RestoreNotTagged,
  UnexpectedRecord,
} from './errors.js';
import { TERMINAL_STATES } from './events.js';
import { executionStatus } from './executions.js';
import { logger } from './observability.js';
import {
  abandonJob,
  claimJob,
  type PendingJob,
  pendingJobs,
  releaseJob,
  updateDrill,
} from './state-store.js';

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

/** Execution statuses of a drill that has ended: nobody waits on its jobs any more. */
const ENDED_EXECUTION = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']);

/**
 * How long a completed restore may stay untagged because tagging keeps failing with a transient error (throttling,
 * 5xx) before its drill is failed with RestoreNotTagged: the job check retries every minute meanwhile. Without a
 * bound the drill would wait out its restore task's 6 hours for a tag a service outage will not give it.
 */
export const TAGGING_DEADLINE_MS = 15 * 60_000;

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
      await sfn().send(
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
      // The outcome comes from DescribeRestoreJob in the DR account (describeJob), never from an event: a
      // forged or misrouted event must not steer tagging (and so teardown) to another resource.
      const createdResourceArn = inDrAccount(job, outcome.createdResourceArn);
      // Recorded before tagging: if tagging fails, teardown and the sweeper still know what to delete.
      await updateDrill(job.drillId, { createdResourceArn });
      try {
        await resourceModule(job.resourceType).tag(
          drClients(),
          createdResourceArn,
          drillTags(job.drillId, job.mode, config.DRILL_STATE_MACHINE_ARN),
        );
      } catch (error) {
        const completedAt = Date.parse(outcome.completedAt ?? '');
        const untaggedFor = Number.isNaN(completedAt) ? 0 : Date.now() - completedAt;
        if (isTransientAwsError(error) && untaggedFor < TAGGING_DEADLINE_MS) throw error;
        // Retrying cannot fix AccessDenied or a validation error, and a transient one has failed for the whole
        // deadline: fail the drill now, with the real error.
        const { name, message } = describeError(error);
        const since = isTransientAwsError(error)
          ? `, still failing ${Math.round(untaggedFor / 60_000)} minutes after the restore completed`
          : '';
        await sfn().send(
          new SendTaskFailureCommand({
            taskToken: job.taskToken,
            error: new RestoreNotTagged('').name,
            cause:
              `could not tag ${createdResourceArn} (restore job ${job.jobId})${since}: ${name}: ${message}`.slice(
                0,
                32_000,
              ),
          }),
        );
        return 'resumed';
      }
      outcome.createdResourceArn = createdResourceArn;
      output = {
        restoreJobId: job.jobId,
        createdResourceArn,
        startedAt: iso(outcome.startedAt, job.startedAt),
        completedAt: iso(outcome.completedAt, now),
      };
    } else {
      if (!outcome.drRecoveryPointArn)
        throw new UnexpectedRecord(`copy job ${job.jobId} completed without a destination recovery point`);
      output = {
        copyJobId: job.jobId,
        drRecoveryPointArn: outcome.drRecoveryPointArn,
        skipped: false,
        startedAt: iso(outcome.startedAt, job.startedAt),
        completedAt: iso(outcome.completedAt, now),
      };
    }
    await sfn().send(
      new SendTaskSuccessCommand({ taskToken: job.taskToken, output: JSON.stringify(output) }),
    );
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
 * How the open jobs are read. `describe`: one Describe*Job each (the reconciler, every 10 minutes: it also
 * closes the jobs that cannot be read). `list`: one paginated ListCopyJobs per source account and region and one
 * ListRestoreJobs in the DR account, of the jobs completed since the oldest open one started (the job check,
 * every minute: its cost no longer grows with the number of open jobs times the minutes they stay open).
 */
export type JobReading = 'describe' | 'list';

/**
 * Every open job read from AWS Backup; a drill whose job has finished is resumed (its event was lost or is
 * late). One job failing does not stop the others. Run every minute by checkJobs (listing) and by the
 * reconciler (describing each).
 */
export async function resumeFinishedJobs(reading: JobReading = 'describe'): Promise<{
  checked: number;
  resumed: string[];
  failed: string[];
  /** Jobs of ended drills that could not be read or resumed: closed instead of failing every minute. */
  abandoned: string[];
}> {
  // The job check (listing) finds the open jobs through their index; the whole reconciliation scans.
  const jobs = await pendingJobs(reading === 'list' ? 'index' : 'scan');
  const result = {
    checked: jobs.length,
    resumed: [] as string[],
    failed: [] as string[],
    abandoned: [] as string[],
  };
  const listed = reading === 'list' ? await listFinishedJobs(jobs) : undefined;
  for (const job of jobs) {
    try {
      const outcome = listed ? listed(job) : await describeJob(job);
      if (!outcome || !TERMINAL_STATES.has(outcome.state)) continue;
      if ((await resumeDrill(job, outcome)) === 'resumed') {
        result.resumed.push(job.jobId);
        logger.warn('resumed a drill whose job event never arrived', {
          drillId: job.drillId,
          jobId: job.jobId,
        });
      }
    } catch (error) {
      if (await abandonedAfterItsDrill(job, error)) {
        result.abandoned.push(job.jobId);
        continue;
      }
      result.failed.push(job.jobId);
      logger.error('could not reconcile job', { jobId: job.jobId, drillId: job.drillId, error });
    }
  }
  return result;
}

/**
 * A job that cannot be read or resumed is retried every minute while its drill waits on it. Once the drill has
 * ended (its wait timed out, or it failed), nobody waits: the job is closed with the reason instead of failing
 * the job check (and its alarm) every minute until the item expires. A restore it may still complete is the
 * orphan sweeper's (sweep-orphans.ts reads the DR account's restore jobs and this item).
 */
async function abandonedAfterItsDrill(job: PendingJob, error: unknown): Promise<boolean> {
  let status: string;
  try {
    status = await executionStatus(job.drillId);
  } catch {
    return false;
  }
  if (!ENDED_EXECUTION.has(status)) return false;
  const { name, message } = describeError(error);
  const closed = await abandonJob(job.jobId, `drill ${status}; last error ${name}: ${message}`).catch(
    () => false,
  );
  if (closed)
    logger.warn('closed the job of an ended drill that could not be reconciled', {
      jobId: job.jobId,
      drillId: job.drillId,
      drill: status,
      error,
    });
  return closed;
}

/**
 * The resource a restore job of this drill created, as AWS Backup in the DR account reports it. Refuses an
 * ARN outside the DR account.
 */
export async function createdResourceOf(job: Pick<PendingJob, 'jobId' | 'drillId'>): Promise<string> {
  const described = await drClients()
    .client(BackupClient)
    .send(new DescribeRestoreJobCommand({ RestoreJobId: job.jobId }));
  return inDrAccount(job, described.CreatedResourceArn);
}

function inDrAccount(job: Pick<PendingJob, 'jobId' | 'drillId'>, arn: string | undefined): string {
  if (!arn)
    throw new UnexpectedRecord(
      `restore job ${job.jobId} of drill ${job.drillId} reports no created resource`,
    );
  if (accountOf(arn) !== '' && accountOf(arn) !== config.DR_ACCOUNT_ID) {
    throw new UnexpectedRecord(
      `restore job ${job.jobId} created ${arn} outside the DR account ${config.DR_ACCOUNT_ID}`,
    );
  }
  return arn;
}

/**
 * The finished open jobs, from the job listings: copy jobs are listed in the account and region that own them
 * (to the DR vault only), restore jobs in the DR account, each from 1 minute before the oldest open job of its
 * group started (so no completion is missed, whatever the clocks), page by page. What a listing cannot read
 * is that group's failure: its jobs throw when asked (so they are counted failed, or closed if their drill
 * ended); a job not listed has not finished.
 */
async function listFinishedJobs(jobs: PendingJob[]): Promise<(job: PendingJob) => JobOutcome | undefined> {
  const groups = new Map<string, PendingJob[]>();
  for (const job of jobs) {
    const key = job.kind === 'copy' ? `copy ${job.account} ${job.region}` : 'restore';
    groups.set(key, [...(groups.get(key) ?? []), job]);
  }
  const outcomes = new Map<string, JobOutcome>();
  const failures = new Map<string, unknown>();
  for (const [key, group] of groups) {
    const since = new Date(Math.min(...group.map((job) => Date.parse(job.startedAt) || 0)) - 60_000);
    const [first] = group;
    if (!first) continue;
    try {
      if (first.kind === 'copy') {
        const client = sourceClients(first.account, first.region).client(BackupClient);
        for await (const page of paginateListCopyJobs(
          { client },
          { ByDestinationVaultArn: drVaultArn, ByCompleteAfter: since },
        ))
          for (const job of page.CopyJobs ?? [])
            if (job.CopyJobId) outcomes.set(job.CopyJobId, copyOutcome(job));
      } else {
        const client = drClients().client(BackupClient);
        for await (const page of paginateListRestoreJobs({ client }, { ByCompleteAfter: since }))
          for (const job of page.RestoreJobs ?? [])
            if (job.RestoreJobId) outcomes.set(job.RestoreJobId, restoreOutcome(job));
      }
    } catch (error) {
      for (const job of group) failures.set(job.jobId, error);
      logger.error('could not list jobs', { jobs: key, error });
    }
  }
  return (job) => {
    if (failures.has(job.jobId)) throw failures.get(job.jobId);
    return outcomes.get(job.jobId);
  };
}

function copyOutcome(job: CopyJob): JobOutcome {
  return {
    jobId: job.CopyJobId ?? '',
    state: job.State ?? 'UNKNOWN',
    statusMessage: job.StatusMessage,
    drRecoveryPointArn: job.DestinationRecoveryPointArn,
    startedAt: job.CreationDate?.toISOString(),
    completedAt: job.CompletionDate?.toISOString(),
  };
}

function restoreOutcome(job: RestoreJobsListMember): JobOutcome {
  return {
    jobId: job.RestoreJobId ?? '',
    state: job.Status ?? 'UNKNOWN',
    statusMessage: job.StatusMessage,
    createdResourceArn: job.CreatedResourceArn,
    startedAt: job.CreationDate?.toISOString(),
    completedAt: job.CompletionDate?.toISOString(),
  };
}

/**
 * A job's current state, read from AWS Backup in the account that owns the job. The job events only say
 * which job to look at; what happened is always read here.
 */
export async function describeJob(job: PendingJob): Promise<JobOutcome> {
  if (job.kind === 'copy') {
    const { CopyJob } = await sourceClients(job.account, job.region)
      .client(BackupClient)
      .send(new DescribeCopyJobCommand({ CopyJobId: job.jobId }));
    return { ...copyOutcome(CopyJob ?? {}), jobId: job.jobId };
  }
  const restore = await drClients()
    .client(BackupClient)
    .send(new DescribeRestoreJobCommand({ RestoreJobId: job.jobId }));
  return { ...restoreOutcome(restore), jobId: job.jobId };
}

/**
 * The drill stopped waiting (its restore timed out) and the restore finished afterwards: delete what it made,
 * so nothing is left behind. Failover restores are kept.
 */
async function cleanUpLateRestore(job: PendingJob, outcome: JobOutcome): Promise<void> {
  if (job.kind !== 'restore' || job.mode === 'failover' || outcome.state !== 'COMPLETED') return;
  const arn = inDrAccount(job, outcome.createdResourceArn);
  const module = resourceModule(job.resourceType);
  const tags = await module.readTags(drTeardownClients(), arn);
  if (tags === undefined) return;
  if (tags[DRILL_TAG] === undefined) {
    // Proven this drill's by its own restore job: tag it so the tag-guarded delete may act on it.
    await module.tag(drClients(), arn, drillTags(job.drillId, job.mode, config.DRILL_STATE_MACHINE_ARN));
  } else if (tags[DRILL_TAG] !== job.drillId) {
    return;
  }
  const result = await module.delete(drTeardownClients(), arn);
  logger.warn('deleted a restore that finished after its drill ended', {
    drillId: job.drillId,
    resourceArn: arn,
    result,
  });
}
