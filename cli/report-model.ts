import type { EvidenceDocument, ManifestEntry, Verification, VerifiedEvidence } from './evidence.js';

/**
 * What the report says, computed once from the verified evidence and rendered as HTML or Markdown. Nothing
 * here is taken from anywhere but the evidence documents, their hashes and the manifest.
 */

export interface Step {
  name: string;
  startedAt: number | null;
  endedAt: number | null;
  seconds: number | null;
}

export interface Target {
  seconds: number | null;
  target: number | null;
  /** null: not measured, or no target to compare with. */
  met: boolean | null;
}

export interface CheckRow {
  name: string;
  passed: boolean;
  observed: string;
  expected: string;
  detail: string;
}

export interface Cleanup {
  status: 'cleaned up' | 'kept (failover)' | 'LEFT BEHIND' | 'TEARDOWN FAILED' | 'nothing created';
  removed: string[];
  leftovers: string[];
  completedAt: string | null;
  error: string | null;
}

/** Restored-resource hours times a list price: an order of magnitude for the budget, not a bill. */
export interface CostEstimate {
  usd: number | null;
  hours: number | null;
  basis: string;
}

export interface DrillView {
  file: string;
  drillId: string;
  status: 'SUCCEEDED' | 'FAILED' | 'UNKNOWN';
  mode: string;
  trigger: string;
  triggeredAt: string | null;
  resourceType: string;
  resource: string;
  recoveryPointArn: string;
  recoveryPointCreatedAt: string | null;
  source: string;
  target: string;
  copyJob: string;
  restoreJob: string;
  restoredResourceArn: string | null;
  codeVersion: string;
  steps: Step[];
  rto: Target;
  rpo: Target;
  dataRpo: Target | null;
  queuedSeconds: number;
  checks: CheckRow[];
  cleanup: Cleanup;
  cost: CostEstimate;
  error: string | null;
  recordedAt: string | null;
  verification: Verification;
  stored: ManifestEntry | undefined;
}

export interface ResourceSummary {
  resource: string;
  resourceType: string;
  drills: number;
  passed: number;
  /** RTO of each drill, oldest first (null: not measured). */
  rtoHistory: (number | null)[];
  trend: 'rising' | 'falling' | 'steady' | 'n/a';
  lastDrill: string;
}

export const REQUIREMENTS = [
  ['restore tested', 'the recovery point was restored in the DR account'],
  ['integrity tested', 'a data-integrity check compared the restored data with the backup, and passed'],
  ['RTO measured', 'backup event to validated restore was measured, and met the target'],
  ['cleanup verified', 'teardown removed every resource the drill created (a failover keeps them by design)'],
  ['evidence verified', "the document's SHA-256 matches the hash recorded when it was stored"],
] as const;
export type Requirement = (typeof REQUIREMENTS)[number][0];

export interface ComplianceRow {
  drillId: string;
  cells: Record<Requirement, { ok: boolean | null; why: string }>;
}

export interface ReportModel {
  generatedFrom: string;
  drills: DrillView[];
  /** Files that are not readable as evidence at all (missing, unparseable): flagged, never silently dropped. */
  unreadable: { file: string; verification: Verification }[];
  resources: ResourceSummary[];
  compliance: ComplianceRow[];
  verifiedCount: number;
  failedVerification: number;
}

/** List price per restored-resource hour assumed for the estimate (on-demand, us-west-2). */
export const HOURLY_PRICE_USD: Record<string, { usd: number; basis: string }> = {
  RDS: { usd: 0.136, basis: 'db.t4g.large single-AZ PostgreSQL, on-demand' },
  EBS: { usd: 0.011, basis: '100 GiB gp3 at $0.08 per GB-month' },
};

const time = (iso: string | undefined | null): number | null => {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
};

function show(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function triggerOf(document: EvidenceDocument): string {
  const kind = document.trigger?.kind ?? 'unknown';
  const label =
    kind === 'backup-job'
      ? 'event: Backup Job State Change'
      : kind === 'copy-job'
        ? 'event: Copy Job State Change'
        : kind;
  const policy = document.policy;
  if (kind === 'schedule' && policy) return `schedule: policy ${policy.name} (tier ${policy.tier})`;
  const id = document.trigger?.eventId ? ` (${document.trigger.eventId})` : '';
  return document.mode === 'failover' ? `failover (${label}${id})` : `${label}${id}`;
}

function target(seconds: number | null | undefined, goal: number | null | undefined): Target {
  const s = seconds ?? null;
  const t = goal ?? null;
  return { seconds: s, target: t, met: s === null || t === null ? null : s <= t };
}

function cleanupOf(document: EvidenceDocument): Cleanup {
  const teardown = document.teardown;
  const removed = [...(teardown?.deleted ?? []), ...(teardown?.alreadyGone ?? [])];
  const created = document.restoredResourceArn;
  const error = document.teardownError
    ? `${document.teardownError.name}: ${document.teardownError.message}`
    : null;
  const leftovers = created && !removed.includes(created) ? [created] : [];
  if (document.mode === 'failover')
    return {
      status: 'kept (failover)',
      removed,
      leftovers,
      completedAt: teardown?.completedAt ?? null,
      error,
    };
  let status: Cleanup['status'];
  if (error) status = 'TEARDOWN FAILED';
  else if (leftovers.length > 0) status = 'LEFT BEHIND';
  else if (!created && removed.length === 0) status = 'nothing created';
  else status = 'cleaned up';
  return { status, removed, leftovers, completedAt: teardown?.completedAt ?? null, error };
}

function costOf(document: EvidenceDocument, steps: Step[]): CostEstimate {
  const type = document.source?.resourceType ?? '';
  const price = HOURLY_PRICE_USD[type];
  const restored = steps.find((s) => s.name === 'restore')?.endedAt ?? null;
  // The resource exists from the end of the restore until teardown ends (a failover's keeps running).
  const gone = steps.find((s) => s.name === 'teardown')?.endedAt ?? null;
  if (!price) return { usd: null, hours: null, basis: `no list price assumed for ${type || 'this type'}` };
  if (restored === null) return { usd: 0, hours: 0, basis: 'nothing was restored' };
  if (gone === null)
    return { usd: null, hours: null, basis: `still running (${price.basis}, $${price.usd}/h)` };
  const hours = Math.max(0, gone - restored) / 3_600_000;
  return { usd: hours * price.usd, hours, basis: `${price.basis}, $${price.usd}/h` };
}

function drillView(evidence: VerifiedEvidence, document: EvidenceDocument): DrillView {
  const steps = document.timeline.map((s) => ({
    name: s.step,
    startedAt: time(s.startedAt),
    endedAt: time(s.endedAt),
    seconds: s.seconds,
  }));
  const source = document.source;
  const targetAt = document.target;
  const copy = document.copy;
  return {
    file: evidence.file,
    drillId: document.drillId,
    status: document.status,
    mode: document.mode,
    trigger: triggerOf(document),
    triggeredAt: document.trigger?.at ?? null,
    resourceType: source?.resourceType ?? 'unknown',
    resource: source?.resourceArn ?? source?.recoveryPointArn ?? 'unknown',
    recoveryPointArn: source?.recoveryPointArn ?? 'unknown',
    recoveryPointCreatedAt: source?.recoveryPointCreatedAt ?? null,
    source: source ? `${source.account} / ${source.region}` : 'unknown',
    target: targetAt ? `${targetAt.account} / ${targetAt.region} (vault ${targetAt.vault})` : 'not prepared',
    copyJob: copy
      ? copy.skipped
        ? 'skipped: the recovery point was already in the DR vault'
        : (copy.copyJobId ?? 'unknown')
      : 'not recorded',
    restoreJob: document.restore?.restoreJobId ?? 'not recorded',
    restoredResourceArn: document.restoredResourceArn,
    codeVersion: document.codeVersion ?? 'not recorded (evidence written before code versions were)',
    steps,
    rto: target(document.rtoSeconds, document.rtoTargetSeconds),
    rpo: target(document.rpoSeconds, document.rpoTargetSeconds),
    dataRpo:
      document.dataRpoSeconds === undefined
        ? null
        : target(document.dataRpoSeconds, document.dataRpoTargetSeconds),
    queuedSeconds: document.queuedSeconds ?? 0,
    checks: document.checks.map((c) => ({
      name: c.name,
      passed: c.passed,
      observed: show(c.observed),
      expected: show(c.expected),
      detail: c.detail,
    })),
    cleanup: cleanupOf(document),
    cost: costOf(document, steps),
    error: document.error ? `${document.error.name}: ${document.error.message}` : null,
    recordedAt: document.recordedAt,
    verification: evidence.verification,
    stored: evidence.stored,
  };
}

function trendOf(history: (number | null)[]): ResourceSummary['trend'] {
  const measured = history.filter((h): h is number => h !== null);
  const first = measured[0];
  const last = measured.at(-1);
  if (measured.length < 2 || first === undefined || last === undefined) return 'n/a';
  // Within 10% of the first measurement is noise, not a trend.
  if (Math.abs(last - first) <= first * 0.1) return 'steady';
  return last > first ? 'rising' : 'falling';
}

function complianceOf(drill: DrillView): ComplianceRow {
  const restored =
    drill.steps.find((s) => s.name === 'restore')?.endedAt != null && drill.restoredResourceArn;
  const integrity = drill.checks.filter((c) => /integrity|data/i.test(c.name));
  const verified = drill.verification.status === 'verified';
  return {
    drillId: drill.drillId,
    cells: {
      'restore tested': restored
        ? { ok: true, why: drill.restoredResourceArn ?? '' }
        : { ok: false, why: 'no resource was restored' },
      'integrity tested':
        integrity.length === 0
          ? { ok: false, why: 'no data-integrity check ran' }
          : integrity.every((c) => c.passed)
            ? { ok: true, why: integrity.map((c) => c.name).join(', ') }
            : {
                ok: false,
                why: `failed: ${integrity
                  .filter((c) => !c.passed)
                  .map((c) => c.name)
                  .join(', ')}`,
              },
      'RTO measured':
        drill.rto.seconds === null
          ? { ok: false, why: 'not measured (the drill did not reach a validated restore)' }
          : { ok: drill.rto.met, why: `${drill.rto.seconds} s against ${drill.rto.target ?? 'no'} s target` },
      'cleanup verified':
        drill.cleanup.status === 'kept (failover)'
          ? { ok: null, why: 'failover: kept by design' }
          : {
              ok: drill.cleanup.status === 'cleaned up' || drill.cleanup.status === 'nothing created',
              why: drill.cleanup.status,
            },
      'evidence verified': { ok: verified, why: drill.verification.status },
    },
  };
}

/** Failed verification first, then failed drills, then the rest; newest first within each. */
function rank(drill: DrillView): number {
  if (drill.verification.status !== 'verified') return 0;
  return drill.status === 'SUCCEEDED' ? 2 : 1;
}

export function buildReportModel(generatedFrom: string, evidence: readonly VerifiedEvidence[]): ReportModel {
  const drills = evidence
    .flatMap((e) => (e.document ? [drillView(e, e.document)] : []))
    .sort((a, b) => rank(a) - rank(b) || (b.recordedAt ?? '').localeCompare(a.recordedAt ?? ''));
  const unreadable = evidence
    .filter((e) => !e.document)
    .map((e) => ({ file: e.file, verification: e.verification }));
  const byResource = new Map<string, DrillView[]>();
  for (const drill of drills)
    byResource.set(drill.resource, [...(byResource.get(drill.resource) ?? []), drill]);
  const resources = [...byResource.entries()]
    .map(([resource, list]) => {
      const oldestFirst = [...list].sort((a, b) => (a.triggeredAt ?? '').localeCompare(b.triggeredAt ?? ''));
      const history = oldestFirst.map((d) => d.rto.seconds);
      return {
        resource,
        resourceType: list[0]?.resourceType ?? 'unknown',
        drills: list.length,
        passed: list.filter((d) => d.status === 'SUCCEEDED').length,
        rtoHistory: history,
        trend: trendOf(history),
        lastDrill: oldestFirst.at(-1)?.drillId ?? '',
      };
    })
    .sort((a, b) => a.passed / a.drills - b.passed / b.drills || a.resource.localeCompare(b.resource));
  const failedVerification = evidence.filter((e) => e.verification.status !== 'verified').length;
  return {
    generatedFrom,
    drills,
    unreadable,
    resources,
    compliance: drills.map(complianceOf),
    verifiedCount: evidence.length - failedVerification,
    failedVerification,
  };
}

export function duration(seconds: number | null): string {
  if (seconds === null) return 'n/a';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m${String(s % 60).padStart(2, '0')}s`;
  if (m > 0) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

export function againstTarget(t: Target): string {
  if (t.seconds === null) return 'not measured';
  if (t.target === null) return `${duration(t.seconds)} (no target)`;
  return `${duration(t.seconds)} / target ${duration(t.target)} — ${t.met ? 'met' : 'MISSED'}`;
}

export function verificationText(v: Verification): string {
  switch (v.status) {
    case 'verified':
      return `verified: SHA-256 ${v.sha256} recomputed, matches the recorded hash`;
    case 'tampered':
      return `TAMPERED: SHA-256 of the file is ${v.sha256}, but ${v.against} records ${v.expected}`;
    case 'unverifiable':
      return `UNVERIFIED: ${v.reason} (SHA-256 of the file: ${v.sha256})`;
    case 'invalid':
      return `INVALID: ${v.reason}`;
    case 'missing':
      return `MISSING: ${v.reason}`;
  }
}
