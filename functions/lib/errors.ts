/**
 * Errors that the drill state machine routes on. Each class's `name` is exactly the string used in an
 * `ErrorEquals` of statemachines/drill.asl.yaml: Lambda reports `error.name` as the errorType, and Step
 * Functions matches Retry/Catch on it.
 */
abstract class DrillError extends Error {
  abstract override readonly name: string;
}

/** The drill input (event or manual start) cannot be turned into a drill. Not retried. */
export class InvalidDrillInput extends DrillError {
  override readonly name = 'InvalidDrillInput';
}

/**
 * The drill names a source account that is not one of this deployment's source accounts (param
 * sourceAccounts), or a recovery point of another account than the one it names. Not retried: nothing is read
 * from, copied out of or restored for an account Pilotlight is not configured to drill.
 */
export class SourceAccountNotAllowed extends DrillError {
  override readonly name = 'SourceAccountNotAllowed';
}

/** The resource type has no module in functions/resources. Not retried. */
export class UnsupportedResourceType extends DrillError {
  override readonly name = 'UnsupportedResourceType';
}

/** The restored resource exists but is still in a transitional state; the state machine retries. */
export class ResourceNotReady extends DrillError {
  override readonly name = 'ResourceNotReady';
}

/** The restored resource did not become ready within its type's readiness budget. Not retried. */
export class ReadinessTimedOut extends DrillError {
  override readonly name = 'ReadinessTimedOut';
}

/** The restored resource, or its data, failed a check. Not retried: the drill fails. */
export class HealthCheckFailed extends DrillError {
  override readonly name = 'HealthCheckFailed';
}

/** A copy job ended FAILED, ABORTED, or EXPIRED (reported through SendTaskFailure). */
export class CopyJobFailed extends DrillError {
  override readonly name = 'CopyJobFailed';
}

/** A restore job ended FAILED or ABORTED (reported through SendTaskFailure). */
export class RestoreJobFailed extends DrillError {
  override readonly name = 'RestoreJobFailed';
}

/** Teardown could not delete everything this drill created; the state machine retries, then alerts. */
export class TeardownIncomplete extends DrillError {
  override readonly name = 'TeardownIncomplete';
}

/**
 * Teardown deleted the resource and its deletion has not finished yet; the state machine retries until it
 * is gone, so the drill's restore slot (and the quota the resource counts against) is only freed then.
 */
export class ResourceStillDeleting extends DrillError {
  override readonly name = 'ResourceStillDeleting';
}

/** Teardown found a resource that does not carry this drill's tag and refused to touch it. */
export class TeardownRefused extends DrillError {
  override readonly name = 'TeardownRefused';
}

/** Name and message of anything thrown, for logs and evidence. */
export function describeError(error: unknown): { name: string; message: string } {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: 'Error', message: String(error) };
}

/**
 * Step Functions reports a Lambda failure's Cause as the JSON the Lambda runtime produced
 * (`{"errorType","errorMessage","trace"}`); callback failures carry the plain cause string.
 */
export function causeMessage(cause: string | undefined): string {
  if (!cause) return '';
  try {
    const parsed: unknown = JSON.parse(cause);
    if (parsed && typeof parsed === 'object' && 'errorMessage' in parsed) {
      return String((parsed as { errorMessage: unknown }).errorMessage);
    }
  } catch {
    // not JSON: a plain cause string
  }
  return cause;
}

/**
 * Another drill of the same source recovery point (and mode) is running. The state machine ends the
 * execution as skipped, not failed: one drill per recovery point is the promise, not an error.
 */
export class DrillAlreadyRunning extends DrillError {
  override readonly name = 'DrillAlreadyRunning';
}

/**
 * The restored resource could not be tagged for a reason retrying will not fix (e.g. AccessDenied). The
 * drill fails at once with the real error instead of waiting for its timeout; teardown still deletes it.
 */
export class RestoreNotTagged extends DrillError {
  override readonly name = 'RestoreNotTagged';
}

/** An alert could not be sent to the topic; the AlertsNotSent metric (with its own alarm) says so. */
export class AlertNotSent extends DrillError {
  override readonly name = 'AlertNotSent';
}

/** A state-table item or an AWS answer does not have the shape Pilotlight wrote or expects. */
export class UnexpectedRecord extends DrillError {
  override readonly name = 'UnexpectedRecord';
}

/**
 * The data probe (functions/probe.ts, in the DR account) failed instead of reporting checks: the database was
 * unreachable (`DatabaseUnreachable`), its secret unreadable, or its input invalid. `errorType` is the probe's.
 */
export class DataProbeFailed extends DrillError {
  override readonly name = 'DataProbeFailed';
  constructor(
    readonly errorType: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`data probe failed: ${errorType}: ${message}`, options);
  }
}

const TRANSIENT_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
]);

/**
 * Whether an AWS error may go away by itself (throttling or a server fault) — the SDK has already retried
 * it — as opposed to one that only a change of configuration fixes (AccessDenied, validation, not found).
 */
export function isTransientAwsError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const fault = (error as { $fault?: unknown }).$fault;
  return fault === 'server' || TRANSIENT_NAMES.has(error.name);
}

/** The orphan sweeper could not judge some resources this run (Lambda retries it, then dead-letters it). */
export class SweepIncomplete extends Error {
  override readonly name = 'SweepIncomplete';
}
