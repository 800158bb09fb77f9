import type { Sandbox } from './index.js';
import type { Json } from './serverless-config.js';

/** The `--json` contract of `pilotlight drill` (DESIGN.md). Extend only additively. */
export interface DrillReport {
  drillId: string;
  executionName: string;
  /** TIMED_OUT: the execution ran past the state machine's TimeoutSeconds (7 days for a drill). */
  status: 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'RUNNING';
  mode: string;
  trigger: Json;
  source: {
    account: string;
    region: string;
    resourceType: string;
    resourceArn: string | null;
    recoveryPointArn: string;
  };
  target: { account: string; region: string; vault: string };
  steps: { name: string; startedAt: string; endedAt: string | null; status: string; attempts: number }[];
  rtoSeconds: number | null;
  rpoSeconds: number | null;
  /** Recovery point creation time − newest timestamp in the restored data (docs/validation.md); null without a freshness check. */
  dataRpoSeconds: number | null;
  checks: { name: string; passed: boolean; detail: string }[];
  evidence: {
    bucket: string;
    key: string;
    sha256: string;
    versionId: string;
    retainUntil: string | null;
  } | null;
  error: { name: string; message: string } | null;
  /**
   * Mode `validate`: the last validation status AWS Backup accepted for the restore testing job
   * (PutRestoreValidationResult: the final SUCCESSFUL, FAILED or TIMED_OUT, or VALIDATING when no final one was
   * put); null for drills and failovers, or when nothing was put.
   */
  restoreValidation: { status: string; message: string | null } | null;
}

export interface RunReport {
  drills: DrillReport[];
  skipped: { eventId: string; reason: string }[];
  /** Trigger events a rule accepted whose target failed for good (after Lambda's retries): no drill ran. */
  lostTriggers: { eventId: string; reason: string }[];
  sandbox: {
    /** Restored resources still there when the run ended (after settling, for `pilotlight drill`). */
    resourcesLeft: number;
    leftBehind: string[];
    /** Of those, what a failover restored and keeps on purpose (tag pilotlight:mode=failover). */
    kept: string[];
    /** What the orphan sweeper deleted during the run (resource ARNs). */
    swept: string[];
    alerts: { subject: string; message: string; at: string }[];
    metrics: {
      name: string;
      value: number;
      unit: string;
      dimensions: Record<string, string>;
      timestamp: string;
    }[];
    deadLetters: { function: string; error: string }[];
    transitions: number;
    lambdaInvocations: number;
    apiCalls: number;
    peakConcurrentRestores: number;
    simulatedSeconds: number;
    wallMs: number;
    seed: number;
    startedAt: string;
  };
}

type Evidence = {
  mode?: string;
  trigger?: Json;
  source?: {
    account?: string;
    region?: string;
    resourceType?: string;
    resourceArn?: string;
    recoveryPointArn?: string;
  };
  target?: { account?: string; region?: string; vault?: string };
  checks?: DrillReport['checks'];
  rtoSeconds?: number | null;
  rpoSeconds?: number | null;
  dataRpoSeconds?: number | null;
  error?: { name: string; message: string } | null;
  teardownError?: { name: string; message: string } | null;
};

function reasonsOf(outcomes: { target: string; result?: Json; error?: string }[]): string[] {
  return outcomes.flatMap((outcome) => {
    if (outcome.error) return [`${outcome.target} failed: ${outcome.error}`];
    const result = outcome.result as {
      skipped?: { reason: string }[];
      deferred?: { reason: string }[];
      resumed?: boolean;
      reason?: string;
      started?: unknown[];
    } | null;
    const reasons = [...(result?.skipped ?? []), ...(result?.deferred ?? [])];
    if (reasons.length > 0) return reasons.map((s) => s.reason);
    if (result?.resumed === false && result.reason) return [result.reason];
    return [];
  });
}

function acted(outcomes: { result?: Json }[]): boolean {
  return outcomes.some((outcome) => {
    const result = outcome.result as { started?: unknown[]; resumed?: boolean } | null;
    return (result?.started?.length ?? 0) > 0 || result?.resumed === true;
  });
}

/** An execution the state machine ended as a skipped duplicate (DuplicateSkipped): its reason, else undefined. */
function duplicateReason(output: Json | undefined): string | undefined {
  const result = output as { skipped?: boolean; reason?: string } | null | undefined;
  if (result?.skipped !== true) return undefined;
  try {
    return String(
      (JSON.parse(result.reason ?? '') as { errorMessage?: string }).errorMessage ?? result.reason,
    );
  } catch {
    return result.reason ?? 'skipped';
  }
}

/** The last status PutRestoreValidationResult put on a restore testing job, or null. */
function restoreValidationOf(
  sandbox: Sandbox,
  restoreJobId: string | undefined,
): DrillReport['restoreValidation'] {
  if (!restoreJobId) return null;
  const put = sandbox.validationResults.filter((r) => r.restoreJobId === restoreJobId).at(-1);
  return put ? { status: put.status, message: put.message ?? null } : null;
}

export function buildReport(sandbox: Sandbox, seed: number, startedAt: string): RunReport {
  const executions = [...sandbox.stepFunctions.executions.values()];
  const duplicates = executions.flatMap((execution) => {
    const reason = duplicateReason(execution.output);
    return reason === undefined ? [] : [{ eventId: execution.name, reason }];
  });
  const drills: DrillReport[] = executions
    .filter((execution) => duplicateReason(execution.output) === undefined)
    .map((execution) => {
      const stored = sandbox.world.objects.filter((o) => o.metadata['drill-id'] === execution.name).at(-1);
      const evidence = stored ? (JSON.parse(stored.body) as Evidence) : undefined;
      const input: unknown = JSON.parse(execution.input);
      const request = (input !== null && typeof input === 'object' && !Array.isArray(input) ? input : {}) as {
        mode?: string;
        trigger?: Json;
        source?: Evidence['source'];
        restoreTest?: { restoreJobId?: string };
      };
      const source = evidence?.source ?? request.source ?? {};
      const target = evidence?.target ?? {};
      const error =
        evidence?.error ??
        evidence?.teardownError ??
        (execution.status === 'FAILED' || execution.status === 'TIMED_OUT'
          ? { name: execution.error ?? 'Unknown', message: execution.cause ?? '' }
          : null);
      return {
        drillId: execution.name,
        executionName: execution.name,
        status: execution.status,
        mode: evidence?.mode ?? request.mode ?? 'drill',
        trigger: evidence?.trigger ?? request.trigger ?? { kind: 'manual' },
        source: {
          account: source.account ?? '',
          region: source.region ?? '',
          resourceType: source.resourceType ?? '',
          resourceArn: source.resourceArn ?? null,
          recoveryPointArn: source.recoveryPointArn ?? '',
        },
        target: { account: target.account ?? '', region: target.region ?? '', vault: target.vault ?? '' },
        steps: execution.steps.map((step) => ({ ...step, endedAt: step.endedAt ?? null })),
        rtoSeconds: evidence?.rtoSeconds ?? null,
        rpoSeconds: evidence?.rpoSeconds ?? null,
        dataRpoSeconds: evidence?.dataRpoSeconds ?? null,
        checks: evidence?.checks ?? [],
        evidence: stored
          ? {
              bucket: stored.bucket,
              key: stored.key,
              sha256: stored.sha256,
              versionId: stored.versionId,
              retainUntil: stored.retainUntil ? new Date(stored.retainUntil).toISOString() : null,
            }
          : null,
        error,
        restoreValidation: restoreValidationOf(sandbox, request.restoreTest?.restoreJobId),
      };
    });

  const lost = sandbox.deliveries.filter(
    (d) => d.external && d.matched && !acted(d.outcomes) && d.outcomes.some((outcome) => outcome.error),
  );
  const lostTriggers = lost.map((d) => ({
    eventId: d.event.id,
    reason: [...new Set(reasonsOf(d.outcomes))].join('; '),
  }));
  const skippedEvents = sandbox.deliveries
    .filter((d) => d.external && !acted(d.outcomes) && !lost.includes(d))
    .map((d) => {
      const detail = d.event.detail as { state?: Json; status?: Json };
      const state = detail.state ?? detail.status;
      const reasons = d.matched
        ? reasonsOf(d.outcomes)
        : [
            `no Pilotlight rule matches "${d.event['detail-type']}"${state === undefined ? '' : ` in state ${String(state)}`}: not a drill trigger`,
          ];
      return { eventId: d.event.id, reason: [...new Set(reasons)].join('; ') || 'the event started nothing' };
    });
  const skipped = [...skippedEvents, ...duplicates];

  const left = sandbox.world.resourcesLeft();
  const leftBehind = new Set(sandbox.leftBehind().map((r) => r.arn));
  const swept = sandbox.scheduledRuns.flatMap((run) =>
    run.outcomes.flatMap((outcome) => {
      const result = outcome.result as {
        orphans?: { resourceArn?: string; action?: string }[];
        untagged?: { resourceArn?: string; action?: string }[];
      } | null;
      return [...(result?.orphans ?? []), ...(result?.untagged ?? [])]
        .filter((o) => o.action === 'deleted')
        .map((o) => String(o.resourceArn));
    }),
  );
  return {
    drills,
    skipped,
    lostTriggers,
    sandbox: {
      resourcesLeft: left.length,
      leftBehind: left.map((r) => r.arn),
      kept: left.filter((r) => !leftBehind.has(r.arn)).map((r) => r.arn),
      swept: [...new Set(swept)],
      alerts: sandbox.world.alerts.map(({ subject, message, at }) => ({ subject, message, at })),
      metrics: sandbox.metrics.map(({ name, value, unit, dimensions, timestamp }) => ({
        name,
        value,
        unit,
        dimensions,
        timestamp,
      })),
      deadLetters: sandbox.deadLetters,
      transitions: sandbox.stepFunctions.transitions,
      lambdaInvocations: sandbox.lambda.invocations,
      apiCalls: sandbox.apiCalls,
      peakConcurrentRestores: sandbox.world.peakConcurrentRestores,
      simulatedSeconds: sandbox.simulatedSeconds,
      wallMs: sandbox.wallMs,
      seed,
      startedAt,
    },
  };
}
