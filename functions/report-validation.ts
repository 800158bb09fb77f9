import {
  BackupClient,
  DescribeRestoreJobCommand,
  PutRestoreValidationResultCommand,
  type RestoreValidationStatus,
} from '@aws-sdk/client-backup';
import * as z from 'zod';
import { drClients } from './lib/clients.js';
import { Drill, DrillState, type RestoreResult, type RestoreTestRequest, requestOf } from './lib/drill.js';
import { causeMessage, InvalidDrillInput } from './lib/errors.js';
import { lambdaHandler } from './lib/handler.js';
import { logger } from './lib/observability.js';
import { readDrill, updateDrill } from './lib/state-store.js';

/** The statuses after which AWS Backup takes no other (a status is final once set). */
export const FINAL_STATUSES = ['SUCCESSFUL', 'FAILED', 'TIMED_OUT'] as const;
export type FinalStatus = (typeof FINAL_STATUSES)[number];
const isFinal = (status: string | undefined): status is FinalStatus =>
  FINAL_STATUSES.some((final) => final === status);

/** Errors of the validation path that mean the checks did not finish in time, not that they failed. */
const TIMEOUTS = new Set(['ReadinessTimedOut', 'States.Timeout']);

/** ValidationStatusMessage is free text; kept short enough to read in the AWS Backup console. */
const MAX_MESSAGE = 500;

const Start = z.object({ phase: z.literal('start'), drill: Drill });
const Verdict = DrillState.extend({ phase: z.literal('verdict') });
const Input = z.discriminatedUnion('phase', [Start, Verdict]);

export interface VerdictResult {
  status: FinalStatus;
  message: string;
  /** False when AWS Backup (or the state table) already had the final status: nothing was put again. */
  put: boolean;
}

function backup(): BackupClient {
  return drClients().client(BackupClient);
}

async function validationStatusOf(restoreJobId: string): Promise<string | undefined> {
  const job = await backup().send(new DescribeRestoreJobCommand({ RestoreJobId: restoreJobId }));
  return job.ValidationStatus;
}

/**
 * Reports `VALIDATING` for the restore testing job before its checks run (once: a retry that finds any status
 * already set puts nothing) and hands the state machine the restore it judges, as a drill's restore result.
 */
export async function reportValidating(drill: Drill): Promise<RestoreResult> {
  logger.appendKeys({ drillId: drill.drillId });
  const test = drill.restoreTest;
  if (!test) throw new InvalidDrillInput(`drill ${drill.drillId} has no restore testing job to validate`);
  const current = await validationStatusOf(test.restoreJobId);
  if (current === undefined) {
    await backup().send(
      new PutRestoreValidationResultCommand({
        RestoreJobId: test.restoreJobId,
        ValidationStatus: 'VALIDATING',
        ValidationStatusMessage: `Pilotlight ${drill.drillId} is checking ${test.createdResourceArn}`,
      }),
    );
  } else logger.info('validation status already set', { validationStatus: current });
  return {
    restoreJobId: test.restoreJobId,
    createdResourceArn: test.createdResourceArn,
    startedAt: test.startedAt,
    completedAt: test.completedAt,
  };
}

/** The one final status the execution's outcome amounts to, and why. */
export function verdictOf(
  state: DrillState['state'],
  recordedChecks: { name: string; passed: boolean }[] = [],
): { status: FinalStatus; message: string } {
  const checks = state.health?.checks ?? recordedChecks;
  const failed = checks.filter((c) => !c.passed).map((c) => c.name);
  const error = state.error;
  if (!error && state.health && failed.length === 0)
    return { status: 'SUCCESSFUL', message: `${checks.length} checks passed` };
  if (error && TIMEOUTS.has(error.Error))
    return { status: 'TIMED_OUT', message: `checks did not finish: ${causeMessage(error.Cause)}` };
  const message =
    failed.length > 0
      ? `failed checks: ${failed.join(', ')}`
      : `${error?.Error ?? 'NoHealthResult'}: ${causeMessage(error?.Cause) || 'the checks did not run'}`;
  return { status: 'FAILED', message };
}

/**
 * Puts the execution's final status on the restore testing job, exactly once: a retry, or a second execution,
 * that finds a final status already set (in the state table, or in AWS Backup itself) puts nothing; a put
 * that AWS Backup refuses because the status became final meanwhile is read back, not failed.
 */
export async function reportVerdict(input: z.infer<typeof Verdict>): Promise<VerdictResult> {
  const { state } = input;
  const drillId = state.drill?.drillId ?? input.executionName;
  logger.appendKeys({ drillId });
  const test: RestoreTestRequest | undefined = state.drill?.restoreTest ?? requestOf(state)?.restoreTest;
  if (!test) throw new InvalidDrillInput(`execution ${drillId} names no restore testing job to report to`);
  const record = await readDrill(drillId);
  if (record?.validationStatus) {
    logger.info('final validation status already reported', { validationStatus: record.validationStatus });
    return { status: record.validationStatus, message: record.validationMessage ?? '', put: false };
  }
  const { status, message } = verdictOf(state, record?.checks);
  const short = message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 1)}…` : message;
  const already = await validationStatusOf(test.restoreJobId);
  if (isFinal(already)) return remember(drillId, already, 'set before this execution reported', false);
  try {
    await backup().send(
      new PutRestoreValidationResultCommand({
        RestoreJobId: test.restoreJobId,
        ValidationStatus: status satisfies RestoreValidationStatus,
        ValidationStatusMessage: short,
      }),
    );
  } catch (error) {
    const now =
      error instanceof Error && error.name === 'InvalidRequestException'
        ? await validationStatusOf(test.restoreJobId)
        : undefined;
    if (!isFinal(now)) throw error;
    return remember(drillId, now, 'set meanwhile', false);
  }
  logger.info('validation result reported', { restoreJobId: test.restoreJobId, status, message: short });
  return remember(drillId, status, short, true);
}

async function remember(drillId: string, status: FinalStatus, message: string, put: boolean) {
  await updateDrill(drillId, { validationStatus: status, validationMessage: message });
  return { status, message, put };
}

export const handler = lambdaHandler(async (event: unknown) => {
  const input = Input.parse(event);
  return input.phase === 'start' ? reportValidating(input.drill) : reportVerdict(input);
});
