import * as z from 'zod';

/**
 * The shapes that travel through the drill state machine. Every handler parses its input with these
 * schemas (manual StartExecution input is user input); inside a handler the types are trusted.
 */
/**
 * `drill` restores, checks and tears down; `failover` restores and keeps; `validate` only checks what an AWS
 * Backup restore testing plan restored in the DR account (no copy, no restore, no teardown) and reports the
 * verdict to AWS Backup (PutRestoreValidationResult).
 */
export const DrillMode = z.enum(['drill', 'failover', 'validate']);
export type DrillMode = z.infer<typeof DrillMode>;

const isoTime = z.iso.datetime({ offset: true });
const accountId = z.string().regex(/^\d{12}$/);

export const Trigger = z.object({
  kind: z.enum(['backup-job', 'copy-job', 'manual', 'schedule', 'restore-test']),
  eventId: z.string().optional(),
  jobId: z.string().optional(),
  /** When the trigger happened (backup job completion, or the manual start): the start of the RTO clock. */
  at: isoTime,
});
export type Trigger = z.infer<typeof Trigger>;

const seconds = z.number().int().positive();

/** A tier's recovery targets (policies.yml), in seconds. */
export const TierTargets = z.strictObject({
  rtoSeconds: seconds,
  rpoSeconds: seconds,
  dataRpoSeconds: seconds.optional(),
});
export type TierTargets = z.infer<typeof TierTargets>;

/** What a drill started by a policy carries: the policy, its tier and the tier's targets. */
export const PolicyRef = z.object({ name: z.string().min(1), tier: z.string().min(1), targets: TierTargets });
export type PolicyRef = z.infer<typeof PolicyRef>;

/** The AWS Backup restore testing job a `validate` execution judges (from its "Restore Job State Change"). */
export const RestoreTestRequest = z.object({
  restoreJobId: z.string().min(1),
  restoreTestingPlanArn: z.string().startsWith('arn:'),
});
export type RestoreTestRequest = z.infer<typeof RestoreTestRequest>;

/** What the DR account's DescribeRestoreJob said about that job when the validation was prepared. */
export const RestoreTestRef = RestoreTestRequest.extend({
  createdResourceArn: z.string().startsWith('arn:'),
  startedAt: isoTime,
  completedAt: isoTime,
});
export type RestoreTestRef = z.infer<typeof RestoreTestRef>;

/** What intake (or an operator) asks for: restore this recovery point in the DR account. */
export const DrillRequest = z.object({
  mode: DrillMode.default('drill'),
  trigger: Trigger.optional(),
  source: z.object({
    account: accountId,
    region: z.string().min(4),
    resourceType: z.string().min(1),
    resourceArn: z.string().startsWith('arn:').optional(),
    recoveryPointArn: z.string().startsWith('arn:'),
    backupVaultName: z.string().min(1).default('Default'),
  }),
  /** Set when the recovery point already sits in the DR vault (a copy-job trigger): the copy is skipped. */
  drRecoveryPointArn: z.string().startsWith('arn:').optional(),
  /** A drill started by a policy (functions/plan.ts): judged against its tier's targets. */
  policy: PolicyRef.optional(),
  /** Mode `validate`: the restore testing job whose restored resource is checked (docs/validation.md). */
  restoreTest: RestoreTestRequest.optional(),
});
export type DrillRequest = z.infer<typeof DrillRequest>;

/** The prepared drill: the request resolved against configuration and the recovery point itself. */
export const Drill = z.object({
  drillId: z.string().min(1),
  mode: DrillMode,
  trigger: Trigger,
  source: z.object({
    account: accountId,
    region: z.string(),
    resourceType: z.string(),
    resourceArn: z.string().optional(),
    recoveryPointArn: z.string(),
    backupVaultName: z.string(),
    recoveryPointCreatedAt: isoTime,
  }),
  target: z.object({
    account: accountId,
    region: z.string(),
    vault: z.string(),
    vaultArn: z.string(),
  }),
  needsCopy: z.boolean(),
  drRecoveryPointArn: z.string().optional(),
  preparedAt: isoTime,
  /** A manual re-drill of a recovery point already drilled: the drill before this one. */
  previousDrillId: z.string().optional(),
  /** The policy that started the drill, with its tier's targets (absent: the deployment's RTO target). */
  policy: PolicyRef.optional(),
  /**
   * The source resource's `pilotlight:validation` tag when the drill was prepared: the validation profile its
   * data checks run (validations.yml); absent, the type's default profile.
   */
  validationTag: z.string().min(1).optional(),
  /** Mode `validate`: the restore testing job and what it restored (read from AWS Backup, never the event). */
  restoreTest: RestoreTestRef.optional(),
  /**
   * How long the copy and the restore are expected to hold their admission slots (functions/lib/admission.ts
   * `estimateDrill`), from the recovery point's size and the type: the order among drills queued together.
   */
  estimate: z
    .object({ copySeconds: z.number().nonnegative(), restoreSeconds: z.number().nonnegative() })
    .optional(),
});
export type Drill = z.infer<typeof Drill>;

/** The tag a source resource selects its validation profile with (validations.yml, docs/validation.md). */
export const VALIDATION_TAG = 'pilotlight:validation';

export const CopyResult = z.object({
  copyJobId: z.string().optional(),
  drRecoveryPointArn: z.string(),
  skipped: z.boolean().default(false),
  startedAt: isoTime.optional(),
  completedAt: isoTime.optional(),
});
export type CopyResult = z.infer<typeof CopyResult>;

export const RestoreResult = z.object({
  restoreJobId: z.string(),
  createdResourceArn: z.string(),
  startedAt: isoTime,
  completedAt: isoTime,
});
export type RestoreResult = z.infer<typeof RestoreResult>;

export const Check = z.object({
  name: z.string(),
  passed: z.boolean(),
  detail: z.string(),
  /** What a check measured and what it required, where it records them (the data checks). */
  observed: z.unknown().optional(),
  expected: z.unknown().optional(),
});
export type Check = z.infer<typeof Check>;

export const HealthResult = z.object({
  checks: z.array(Check),
  validatedAt: isoTime,
  /** The data RPO the freshness checks measured (docs/validation.md), when the profile has one. */
  dataRpoSeconds: z.number().optional(),
});
export type HealthResult = z.infer<typeof HealthResult>;

export const TeardownResult = z.object({
  deleted: z.array(z.string()),
  alreadyGone: z.array(z.string()),
  /** What else the deletion removed with the resource (a cluster's instances, an instance's volumes). */
  members: z.array(z.string()).optional(),
  completedAt: isoTime,
});
export type TeardownResult = z.infer<typeof TeardownResult>;

export const StateError = z.object({ Error: z.string(), Cause: z.string().optional() });

/** What a drill waited for admission (lib/admission.ts). */
export const SlotResult = z.object({ pool: z.string(), queuedSeconds: z.number(), admittedAt: isoTime });
export type StateError = z.infer<typeof StateError>;

export const EvidenceRef = z.object({
  bucket: z.string(),
  key: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  versionId: z.string().optional(),
  /** The data RPO the evidence records: a failed drill has no health result, its data checks still measured it. */
  dataRpoSeconds: z.number().optional(),
});
export type EvidenceRef = z.infer<typeof EvidenceRef>;

/** The whole execution state as the closing tasks (teardown, evidence, result) see it. */
export const DrillState = z.object({
  executionName: z.string(),
  state: z
    .object({
      drill: Drill.optional(),
      copy: CopyResult.optional(),
      restore: RestoreResult.optional(),
      health: HealthResult.optional(),
      teardown: TeardownResult.optional(),
      evidence: EvidenceRef.optional(),
      copySlot: SlotResult.optional(),
      restoreSlot: SlotResult.optional(),
      error: StateError.optional(),
      teardownError: StateError.optional(),
      evidenceError: StateError.optional(),
      releaseError: StateError.optional(),
      /** The execution's input as it arrived (any JSON), kept by the first state. */
      request: z.unknown().optional(),
    })
    .passthrough(),
});
export type DrillState = z.infer<typeof DrillState>;

/**
 * What the execution was asked for, read back from its input (the state machine keeps the request at the
 * top of the state): for a drill that failed before PrepareDrill resolved it, so its alert and evidence
 * still say which resource type and which mode (a failover that cannot start is the loudest alert of all).
 * Undefined when the input itself was invalid.
 */
export function requestOf(state: DrillState['state']): DrillRequest | undefined {
  const parsed = DrillRequest.safeParse(state.request);
  return parsed.success ? parsed.data : undefined;
}

/** The tag that marks everything a drill creates; teardown deletes nothing without it. */
export const DRILL_TAG = 'pilotlight:drill-id';
export const MANAGED_TAG = 'pilotlight:managed';
export const MODE_TAG = 'pilotlight:mode';
/**
 * The state machine of the deployment that ran the drill. The primary and the DR-region deployments share
 * the DR account; each one's orphan sweeper only judges the resources its own drills created.
 */
export const OWNER_TAG = 'pilotlight:owner';

export function drillTags(drillId: string, mode: DrillMode, owner: string): Record<string, string> {
  return { [DRILL_TAG]: drillId, [MANAGED_TAG]: 'true', [MODE_TAG]: mode, [OWNER_TAG]: owner };
}

/** Seconds the drill waited in admission control's queues (time spent behind other drills, not restoring). */
export function queuedSeconds(state: DrillState['state']): number {
  return (state.copySlot?.queuedSeconds ?? 0) + (state.restoreSlot?.queuedSeconds ?? 0);
}

/**
 * RTO: trigger → validated restore, less the time the drill queued behind other drills for a slot (a burst of
 * drills is Pilotlight's scheduling, not the recovery's duration; the queue time is reported beside it).
 * RPO: age of the recovery point when the trigger happened.
 */
export function measure(state: DrillState['state']): {
  rtoSeconds: number | null;
  rpoSeconds: number | null;
} {
  const drill = state.drill;
  if (!drill) return { rtoSeconds: null, rpoSeconds: null };
  const triggeredAt = Date.parse(drill.trigger.at);
  const rpoSeconds = Math.max(
    0,
    Math.round((triggeredAt - Date.parse(drill.source.recoveryPointCreatedAt)) / 1000),
  );
  const rtoSeconds =
    state.health && !state.error
      ? Math.max(
          0,
          Math.round((Date.parse(state.health.validatedAt) - triggeredAt) / 1000) - queuedSeconds(state),
        )
      : null;
  return { rtoSeconds, rpoSeconds };
}

export function secondsBetween(start: string | undefined, end: string | undefined): number | null {
  if (!start || !end) return null;
  return Math.max(0, Math.round((Date.parse(end) - Date.parse(start)) / 1000));
}
