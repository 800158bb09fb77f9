import { type Check, type DrillState, measure, queuedSeconds, requestOf, secondsBetween } from './drill.js';
import { causeMessage } from './errors.js';
import type { DataChecksRecord } from './state-store.js';

/**
 * The evidence document an auditor reads: what was restored from which backup, where, when each step ran,
 * every check with its result, RTO and RPO against target, the error if any, and what teardown removed.
 */
export interface Evidence {
  schemaVersion: 1;
  drillId: string;
  executionName: string;
  status: 'SUCCEEDED' | 'FAILED';
  mode: string;
  trigger: unknown;
  source: unknown;
  target: unknown;
  timeline: { step: string; startedAt?: string; endedAt?: string; seconds: number | null }[];
  checks: Check[];
  rtoSeconds: number | null;
  rpoSeconds: number | null;
  /**
   * The data RPO: recovery point creation time − newest timestamp found in the restored data (what a failover
   * to this copy would lose), beside the snapshot RPO. Null when no freshness check ran.
   */
  dataRpoSeconds: number | null;
  /** The validation profile that judged the restored data, its file's SHA-256, and each data check's result. */
  dataChecks: DataChecksRecord | null;
  /** Time spent waiting for an admission slot behind other drills (not counted in the RTO). */
  queuedSeconds: number;
  /** The tier's target when a policy started the drill, else the deployment's (rtoTargetSeconds). */
  rtoTargetSeconds: number;
  rtoTargetMet: boolean | null;
  /** A policy's drill: its tier's RPO and data-RPO targets (null: no target for this drill). */
  rpoTargetSeconds: number | null;
  rpoTargetMet: boolean | null;
  /** The tier's data RPO target, else the deployment's (param dataRpoTargetSeconds). */
  dataRpoTargetSeconds: number | null;
  dataRpoTargetMet: boolean | null;
  /** The policy (policies.yml) that started the drill, and its tier; null for every other trigger. */
  policy: { name: string; tier: string } | null;
  restoredResourceArn: string | null;
  /** A manual re-drill: the drill of this recovery point before this one. */
  redrillOf: string | null;
  teardown: unknown;
  error: { name: string; message: string } | null;
  teardownError: { name: string; message: string } | null;
  recordedAt: string;
  /** The package version that ran the drill (CODE_VERSION). */
  codeVersion: string;
  /** The copy into the DR vault (skipped when the trigger was a copy already there). */
  copy: { copyJobId: string | null; drRecoveryPointArn: string | null; skipped: boolean } | null;
  restore: { restoreJobId: string | null; startedAt: string | null } | null;
}

/** A drill failed if any step recorded an error: the drill itself, its teardown, or its evidence. */
export function drillStatus(state: DrillState['state']): 'SUCCEEDED' | 'FAILED' {
  return state.error || state.teardownError || state.evidenceError ? 'FAILED' : 'SUCCEEDED';
}

export function buildEvidence(
  input: DrillState,
  extra: {
    checks: Check[];
    rtoTargetSeconds: number;
    /** The deployment's data RPO target (a policy's tier may set its own). */
    dataRpoTargetSeconds?: number;
    restoredResourceArn?: string;
    codeVersion: string;
    /** The drill record's job ids: a job that failed left no result in the state, only there. */
    jobs?: {
      copyJobId?: string;
      restoreJobId?: string;
      restoreRequestedAt?: string;
      drRecoveryPointArn?: string;
    };
    dataChecks?: DataChecksRecord;
  },
): Evidence {
  const { state, executionName } = input;
  const { rtoSeconds, rpoSeconds } = measure(state);
  const drill = state.drill;
  const request = drill ? undefined : requestOf(state);
  const policy = drill?.policy ?? request?.policy;
  const targets = policy?.targets;
  const rtoTarget = targets?.rtoSeconds ?? extra.rtoTargetSeconds;
  const rpoTarget = targets?.rpoSeconds ?? null;
  const dataRpoTarget = targets?.dataRpoSeconds ?? extra.dataRpoTargetSeconds ?? null;
  const dataRpoSeconds = state.health?.dataRpoSeconds ?? extra.dataChecks?.dataRpoSeconds ?? null;
  const step = (name: string, startedAt?: string, endedAt?: string) => ({
    step: name,
    startedAt,
    endedAt,
    seconds: secondsBetween(startedAt, endedAt),
  });
  return {
    schemaVersion: 1,
    drillId: drill?.drillId ?? executionName,
    executionName,
    status: drillStatus(state),
    mode: drill?.mode ?? request?.mode ?? 'unknown',
    trigger: drill?.trigger ?? request?.trigger ?? null,
    source: drill?.source ?? request?.source ?? null,
    target: drill?.target ?? null,
    timeline: [
      step('prepare', drill?.trigger.at, drill?.preparedAt),
      step('wait for a copy slot', drill?.preparedAt, state.copySlot?.admittedAt),
      step('copy', state.copy?.startedAt, state.copy?.completedAt),
      step(
        'wait for a restore slot',
        state.copy?.completedAt ?? drill?.preparedAt,
        state.restoreSlot?.admittedAt,
      ),
      // A restore that failed has no result in the state; the record says when it was asked for.
      step('restore', state.restore?.startedAt ?? extra.jobs?.restoreRequestedAt, state.restore?.completedAt),
      step('validate', state.restore?.completedAt, state.health?.validatedAt),
      step('teardown', state.health?.validatedAt ?? state.restore?.completedAt, state.teardown?.completedAt),
    ],
    checks: extra.checks,
    rtoSeconds,
    rpoSeconds,
    dataRpoSeconds,
    dataChecks: extra.dataChecks ?? null,
    queuedSeconds: queuedSeconds(state),
    rtoTargetSeconds: rtoTarget,
    rtoTargetMet: rtoSeconds === null ? null : rtoSeconds <= rtoTarget,
    rpoTargetSeconds: rpoTarget,
    rpoTargetMet: rpoSeconds === null || rpoTarget === null ? null : rpoSeconds <= rpoTarget,
    dataRpoTargetSeconds: dataRpoTarget,
    dataRpoTargetMet:
      dataRpoSeconds === null || dataRpoTarget === null ? null : dataRpoSeconds <= dataRpoTarget,
    policy: policy ? { name: policy.name, tier: policy.tier } : null,
    restoredResourceArn: state.restore?.createdResourceArn ?? extra.restoredResourceArn ?? null,
    redrillOf: drill?.previousDrillId ?? null,
    teardown: state.teardown ?? null,
    error: state.error ? { name: state.error.Error, message: causeMessage(state.error.Cause) } : null,
    teardownError: state.teardownError
      ? { name: state.teardownError.Error, message: causeMessage(state.teardownError.Cause) }
      : null,
    recordedAt: new Date().toISOString(),
    codeVersion: extra.codeVersion,
    copy: state.copy
      ? {
          copyJobId: state.copy.copyJobId ?? null,
          drRecoveryPointArn: state.copy.drRecoveryPointArn,
          skipped: state.copy.skipped,
        }
      : extra.jobs?.copyJobId
        ? {
            copyJobId: extra.jobs.copyJobId,
            drRecoveryPointArn: extra.jobs.drRecoveryPointArn ?? null,
            skipped: false,
          }
        : null,
    restore: state.restore
      ? { restoreJobId: state.restore.restoreJobId, startedAt: state.restore.startedAt }
      : extra.jobs?.restoreJobId
        ? { restoreJobId: extra.jobs.restoreJobId, startedAt: extra.jobs.restoreRequestedAt ?? null }
        : null,
  };
}
