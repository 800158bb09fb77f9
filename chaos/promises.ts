import type { Sandbox } from '../sandbox/index.js';
import type { RunReport } from '../sandbox/report.js';
import type { Scenario, Surface } from './matrix.js';

/**
 * The promises (README, "The promises, and how they are kept"), each a check that returns undefined when kept
 * or a one-line reason when broken. A scenario passes when every check that applies to its expectation does.
 */
export interface Outcome {
  report: RunReport;
  sandbox: Sandbox;
  /** Source recovery points the scenario triggered drills for. */
  recoveryPoints: string[];
  /** How often the injected api fault fired, and how often the crashed function was invoked. */
  fired: { api: number; lambda: number };
}

type Check = (
  scenario: Scenario,
  outcome: Outcome,
  surface: Pick<Surface, 'restoreLimits'>,
) => string | undefined;

const MANAGED = 'pilotlight:managed';

/** The injected fault fired: otherwise the scenario proves nothing (a harness check, not a promise). */
const faultFired: Check = (scenario, { fired }) => {
  if (scenario.mustFire?.api && fired.api === 0) return `the fault on ${scenario.mustFire.api} never fired`;
  if (scenario.mustFire?.lambda && fired.lambda === 0)
    return `lambda ${scenario.mustFire.lambda} was never invoked, so its crash never fired`;
  return undefined;
};

/** A terminal state: no drill execution is still running after settling. */
const terminal: Check = (_s, { report }) => {
  const running = report.drills.filter((d) => d.status === 'RUNNING');
  return running.length
    ? `${running.length} drill(s) still RUNNING: ${running.map((d) => d.drillId).join(', ')}`
    : undefined;
};

/** One drill per recovery point (a skipped duplicate is no drill), and at most one restore job per drill. */
const oneDrillPerRecoveryPoint: Check = (_s, { report, sandbox }) => {
  const perPoint = new Map<string, number>();
  for (const drill of report.drills) {
    const key = `${drill.mode}#${drill.source.recoveryPointArn || drill.drillId}`;
    perPoint.set(key, (perPoint.get(key) ?? 0) + 1);
  }
  const doubled = [...perPoint].filter(([, n]) => n > 1);
  if (doubled.length)
    return `${doubled.length} recovery point(s) drilled more than once (${doubled.map(([k, n]) => `${k.slice(-40)} x${n}`).join(', ')})`;
  const restores = [...sandbox.world.jobs.values()].filter((job) => job.kind === 'restore').length;
  if (restores > report.drills.length) return `${restores} restore jobs for ${report.drills.length} drill(s)`;
  return undefined;
};

/** Exactly one drill for each recovery point triggered, all SUCCEEDED with evidence. */
const allSucceeded: Check = (_s, { report, recoveryPoints }) => {
  const failed = report.drills.filter((d) => d.status !== 'SUCCEEDED');
  if (failed.length)
    return `${failed.length} drill(s) not SUCCEEDED: ${failed
      .slice(0, 2)
      .map(
        (d) => `${d.drillId} ${d.status} ${d.error?.name ?? ''}: ${(d.error?.message ?? '').slice(0, 140)}`,
      )
      .join('; ')}`;
  const drilled = new Set(report.drills.map((d) => d.source.recoveryPointArn));
  const missing = recoveryPoints.filter((arn) => !drilled.has(arn));
  if (missing.length)
    return `${missing.length} of ${recoveryPoints.length} recovery point(s) never drilled${reasonsFor(report)}`;
  if (report.drills.length !== recoveryPoints.length)
    return `${report.drills.length} drills for ${recoveryPoints.length} recovery point(s)`;
  return undefined;
};

function reasonsFor(report: RunReport): string {
  const why = [...report.lostTriggers, ...report.skipped].map((s) => s.reason).filter(Boolean);
  return why.length ? ` (${why[0]?.slice(0, 160)})` : '';
}

/** A SUCCEEDED drill has its evidence; a FAILED one its evidence and an alert, or the documented substitutes. */
const failuresAlerted: Check = (scenario, { report }) => {
  const alertsNotSent = report.sandbox.metrics.some((m) => m.name === 'AlertsNotSent' && m.value > 0);
  for (const drill of report.drills) {
    if (drill.status === 'SUCCEEDED') {
      if (!drill.evidence) return `${drill.drillId} SUCCEEDED without evidence`;
      continue;
    }
    if (drill.status !== 'FAILED') continue;
    const alerts = report.sandbox.alerts.filter((a) => `${a.subject}\n${a.message}`.includes(drill.drillId));
    if (!drill.evidence) {
      const said = alerts.some((a) => a.subject.includes('EVIDENCE NOT RECORDED'));
      // With the alert path down too, the alert cannot say it; AlertsNotSent then covers both.
      if (!(scenario.excuses.evidence && (said || (scenario.excuses.alert && alertsNotSent))))
        return `${drill.drillId} FAILED (${drill.error?.name}) without evidence${said ? '' : ' and no EVIDENCE NOT RECORDED alert'}`;
    }
    if (alerts.length === 0) {
      // SNS failing: AlertsNotSent. publishResult itself dying: only the failed execution (its own alarm).
      const excused = scenario.excuses.alert === 'execution' || (scenario.excuses.alert && alertsNotSent);
      if (!excused)
        return `${drill.drillId} FAILED (${drill.error?.name}) without an alert naming it${alertsNotSent ? ' (AlertsNotSent was counted)' : ''}`;
    }
  }
  return undefined;
};

/** No alert at all, but a failover's (which always alerts). */
const noAlert: Check = (_s, { report }) => {
  const failover = new Set(report.drills.filter((d) => d.mode === 'failover').map((d) => d.drillId));
  const stray = report.sandbox.alerts.filter(
    (a) => ![...failover].some((id) => `${a.subject}${a.message}`.includes(id)),
  );
  return stray.length ? `unexpected alert: ${stray[0]?.subject}` : undefined;
};

/** A trigger that started no drill is visible: skipped with a reason, a lost trigger, or a dead letter. */
const triggersAccounted: Check = (_s, { report, recoveryPoints }) => {
  if (report.drills.length >= recoveryPoints.length) return undefined;
  const visible =
    report.skipped.some((s) => s.reason) ||
    report.lostTriggers.length > 0 ||
    report.sandbox.deadLetters.length > 0;
  return visible
    ? undefined
    : `${recoveryPoints.length - report.drills.length} trigger(s) started no drill and nothing says why`;
};

/** Nothing left after settling; where teardown itself fails for good, the leftover carries the managed tag. */
const nothingLeft: Check = (scenario, { sandbox, report }) => {
  const left = sandbox.leftBehind();
  if (left.length === 0) return undefined;
  const untagged = left.filter((r) => r.tags[MANAGED] !== 'true');
  const what = (r: (typeof left)[number]) => `${r.arn.split(':').slice(-1)[0]} (${r.status})`;
  // A permanent fault on the tagging path leaves a restore nothing may delete (deletes need the tag, by IAM
  // design); contained when the orphan sweeper found it through its restore job and raised OrphanedResources.
  const reported = Math.max(
    0,
    ...report.sandbox.metrics.filter((m) => m.name === 'OrphanedResources').map((m) => m.value),
  );
  if (scenario.expect === 'contain' && reported >= left.length) return undefined;
  if (!scenario.excuses.leftover)
    return `${left.length} resource(s) left after settling: ${left.slice(0, 3).map(what).join(', ')}${untagged.length ? ' [untagged]' : ''}`;
  if (untagged.length)
    return `${untagged.length} resource(s) left without ${MANAGED}=true, invisible to the sweeper: ${untagged.slice(0, 3).map(what).join(', ')}`;
  return undefined;
};

/** Admission control held in a burst, and no restore failed on a service quota. */
const burstAdmitted: Check = (_s, { sandbox }, surface) => {
  for (const [key, peak] of sandbox.world.peakInUse) {
    const type = key.split('/')[1] ?? '';
    const limit = surface.restoreLimits[type] ?? surface.restoreLimits.default ?? Number.POSITIVE_INFINITY;
    if (peak > limit) return `peak ${type} in use ${peak} > restoreConcurrency ${limit}`;
  }
  if (sandbox.world.quotaFailures.length)
    return `${sandbox.world.quotaFailures.length} restore(s) failed on a quota: ${sandbox.world.quotaFailures[0]}`;
  return undefined;
};

const CHECKS: Record<Scenario['expect'], Check[]> = {
  succeed: [
    faultFired,
    terminal,
    oneDrillPerRecoveryPoint,
    allSucceeded,
    failuresAlerted,
    noAlert,
    nothingLeft,
  ],
  contain: [faultFired, terminal, oneDrillPerRecoveryPoint, failuresAlerted, triggersAccounted, nothingLeft],
  burst: [terminal, oneDrillPerRecoveryPoint, allSucceeded, noAlert, burstAdmitted, nothingLeft],
};

/** The first promise the outcome breaks, as one line; undefined when every promise is kept. */
export function judge(
  scenario: Scenario,
  outcome: Outcome,
  surface: Pick<Surface, 'restoreLimits'>,
): string | undefined {
  for (const check of CHECKS[scenario.expect]) {
    const reason = check(scenario, outcome, surface);
    if (reason) return reason.replace(/\s+/g, ' ');
  }
  return undefined;
}
