import { MetricUnit } from '@aws-lambda-powertools/metrics';
import * as z from 'zod';
import { startDrill } from './intake.js';
import { reconcileSlots } from './lib/admission.js';
import { freeEndedOpenDrills } from './lib/claims.js';
import { runningDrills } from './lib/executions.js';
import { lambdaHandler } from './lib/handler.js';
import { drillMissedBackups, type MissedBackups } from './lib/missed-backups.js';
import { logger, metrics } from './lib/observability.js';
import { resumeFinishedJobs } from './lib/resume.js';

export interface ReconcileResult {
  checked: number;
  resumed: string[];
  failed: string[];
  /** Jobs of ended drills that could not be read or resumed, closed (lib/resume.ts). */
  abandoned: string[];
  /** Admission slots freed because their drill had ended, and waiting drills admitted. */
  slots: { freed: number; admitted: number };
  /** Completed backup jobs checked for a lost event, and the drills started (or deferred) for them. */
  missedBackups: MissedBackups;
  /** Drills holding a place under MAX_OPEN_DRILLS after this run, and places freed of drills that had ended. */
  openDrills: { open: number; freed: number };
}

/** The reconciler could not check every open job or slot; the invocation fails so the dead-letter alarm shows it. */
class ReconcileIncomplete extends Error {
  override readonly name = 'ReconcileIncomplete';
}

/**
 * The safety net for best-effort AWS Backup events: every open job is read from AWS Backup and, if it has
 * finished, its drill is resumed (as checkJobs does every minute), admission slots and open-drill places of
 * ended drills are freed, and backups whose event was lost are drilled. One job failing does not stop the others.
 */
export async function reconcile(): Promise<ReconcileResult> {
  const jobs = await resumeFinishedJobs();
  const result: ReconcileResult = {
    ...jobs,
    slots: { freed: 0, admitted: 0 },
    missedBackups: { checked: 0, started: [], deferred: 0 },
    openDrills: { open: 0, freed: 0 },
  };
  // One listing of the running drills answers for every place and slot holder (confirmed one by one before
  // anything is freed).
  const isRunning = runningDrills();
  // Before the missed backups: the places of drills that ended go to the backups deferred at the cap.
  let placesFailed = false;
  try {
    result.openDrills = await freeEndedOpenDrills(isRunning);
  } catch (error) {
    placesFailed = true;
    logger.error('could not free the open-drill places of ended drills', { error });
  }
  let backupsFailed = false;
  try {
    result.missedBackups = await drillMissedBackups(startDrill);
  } catch (error) {
    backupsFailed = true;
    logger.error('could not check the source accounts for backups whose event was lost', { error });
  }
  let slotsFailed = false;
  try {
    result.slots = await reconcileSlots(isRunning);
  } catch (error) {
    slotsFailed = true;
    logger.error('could not reconcile admission slots', { error });
  }
  metrics.addMetric('ReconciledJobs', MetricUnit.Count, result.resumed.length);
  metrics.addMetric(
    'OpenJobs',
    MetricUnit.Count,
    jobs.checked - result.resumed.length - result.abandoned.length,
  );
  metrics.addMetric('SlotsFreed', MetricUnit.Count, result.slots.freed);
  metrics.addMetric('MissedBackupsDrilled', MetricUnit.Count, result.missedBackups.started.length);
  metrics.addMetric('DrillsDeferred', MetricUnit.Count, result.missedBackups.deferred);
  metrics.addMetric(
    'OpenDrills',
    MetricUnit.Count,
    result.openDrills.open + result.missedBackups.started.length,
  );
  if (result.failed.length > 0 || slotsFailed || backupsFailed || placesFailed) {
    const what = [
      ...(result.failed.length > 0 ? [`jobs ${result.failed.join(', ')}`] : []),
      ...(placesFailed ? ['the open-drill places'] : []),
      ...(slotsFailed ? ['the admission slots'] : []),
      ...(backupsFailed ? ['the completed backup jobs'] : []),
    ];
    throw new ReconcileIncomplete(`could not reconcile ${what.join(' and ')}`);
  }
  return result;
}

/** The job check's schedule input (serverless.yml, `jobCheckRate`): only the open jobs, every minute. */
const JobsOnly = z.object({ scope: z.literal('jobs') });

/** The open jobs only: resumes a drill whose job finished but whose event is late or lost. */
export async function checkJobs(): Promise<{
  checked: number;
  resumed: string[];
  failed: string[];
  abandoned: string[];
}> {
  const result = await resumeFinishedJobs('list');
  metrics.addMetric('ReconciledJobs', MetricUnit.Count, result.resumed.length);
  if (result.failed.length > 0)
    throw new ReconcileIncomplete(`could not reconcile jobs ${result.failed.join(', ')}`);
  return result;
}

/**
 * Two schedules: every `reconcileRate` the whole reconciliation, every `jobCheckRate` (a minute) only the open
 * jobs, so a lost or late job event delays a drill by at most about a minute. The job check reads the open jobs
 * (one Scan, then one ListCopyJobs per source account and region and one ListRestoreJobs, whatever the number of
 * jobs) and starts no state transition unless a job has finished; the whole reconciliation describes each job.
 */
export const handler = lambdaHandler(
  async (event: unknown) => (JobsOnly.safeParse(event).success ? checkJobs() : reconcile()),
  { publishesMetrics: true },
);
