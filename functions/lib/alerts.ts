import type { MessageAttributeValue } from '@aws-sdk/client-sns';
import { config, executionArnOf } from './config.js';
import { type Check, type DrillState, measure, queuedSeconds, requestOf } from './drill.js';
import { causeMessage } from './errors.js';

/**
 * The alerts a drill raises, written for the person on call: the subject says what failed, for which
 * resource type and drill, where; the body starts with what failed (the failing checks with what was observed
 * and what was expected), then where (source and DR account and region, the resources), the measures against
 * the targets (the tier's, for a policy's drill), a console link to the execution, the evidence, and the next
 * step. Message attributes carry the same facts for machines (SNS subscription filters, chat routing).
 */
export type AlertKind = 'failed' | 'teardown' | 'evidence' | 'rto' | 'rpo' | 'failover';

export interface Alert {
  kind: AlertKind;
  subject: string;
  message: string;
  attributes: Record<string, MessageAttributeValue>;
}

/** SNS allows at most 10 message attributes and a subject of at most 100 characters. */
const MAX_ATTRIBUTES = 10;
const MAX_SUBJECT = 99;

/** The Step Functions console page of one execution, in the deployment's region. */
export function executionConsoleUrl(executionArn: string): string {
  const region = executionArn.split(':')[3] ?? config.AWS_REGION;
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${encodeURIComponent(executionArn)}`;
}

const show = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value));

/**
 * The checks that failed, observed against expected. A check that carries `observed`/`expected` (the data
 * checks) says both; a health check says what it observed in its detail and expected to pass. When the drill
 * failed in checkHealth the state has no checks, only HealthCheckFailed's message (`N of M checks failed:
 * name (detail); …`), which is read back into the same lines.
 */
export function failingChecks(state: DrillState['state']): string[] {
  const failed: Check[] = (state.health?.checks ?? []).filter((c) => !c.passed);
  if (failed.length === 0 && state.error?.Error === 'HealthCheckFailed') {
    const message = causeMessage(state.error.Cause);
    const list = /checks failed: (.*)$/.exec(message)?.[1];
    for (const item of list?.split('; ') ?? []) {
      const match = /^([^\s(]+) \((.*)\)$/.exec(item);
      if (match?.[1]) failed.push({ name: match[1], passed: false, detail: match[2] ?? '' });
    }
  }
  return failed.map((check) =>
    check.observed !== undefined || check.expected !== undefined
      ? `Failing check: ${check.name}: observed ${show(check.observed)}, expected ${show(check.expected)} (${check.detail})`
      : `Failing check: ${check.name}: observed "${check.detail}", expected the check to pass`,
  );
}

/** What to do next, by what failed: the first thing an operator would look at, and how to re-drill. */
function nextStep(
  kind: AlertKind,
  errorName: string | undefined,
  ctx: { redrill: string; drillId: string },
): string {
  switch (kind) {
    case 'teardown':
      return `Resources tagged pilotlight:drill-id=${ctx.drillId} may be left in the DR account: the orphan sweeper retries every sweepRate (OrphanedResources alarm); if it cannot, find them with the Resource Groups Tagging API in the DR account and delete them through the DR teardown role.`;
    case 'evidence':
      return (
        'The drill is not proven until its evidence is stored: check the evidence bucket policy, its Object Lock configuration and the key policy of the Pilotlight key, then re-drill: ' +
        ctx.redrill
      );
    case 'rto':
      return `The restore was slower than the target: compare the CopySeconds and RestoreSeconds metrics of this resource type with earlier drills (pilotlight status --aws), check the size of the recovery point, and raise the tier's target or the DR resources if this is the new normal.`;
    case 'rpo':
      return 'The recovery point was older than the target when it was drilled: check that the AWS Backup plan of this resource runs as often as the tier requires (its last completed backup jobs).';
    case 'failover':
      return 'A failover keeps what it restored: verify the application against it, then remove it by hand when the primary is back (it carries pilotlight:mode=failover, which teardown and the sweeper never delete).';
    case 'failed':
      switch (errorName) {
        case 'CopyJobFailed':
          return `Read the copy job's status message in AWS Backup in the source account (most often the source key does not let the DR account use it: see README, Prerequisites), fix it, then re-drill: ${ctx.redrill}`;
        case 'RestoreJobFailed':
          return `Read the restore job's status message in AWS Backup in the DR account (restore metadata, subnet group, security group, service quota), fix it, then re-drill: ${ctx.redrill}`;
        case 'HealthCheckFailed':
        case 'ReadinessTimedOut':
          return `The backup restored but the copy is not usable as it is: compare the failing checks with the source resource's configuration and its backup, then re-drill: ${ctx.redrill}`;
        case 'SourceAccountNotAllowed':
          return 'Add the account to sourceAccounts (serverless.yml params) and deploy, or drill a recovery point of a source account.';
        case 'InvalidDrillInput':
        case 'UnsupportedResourceType':
          return 'Correct the StartExecution input (events/manual-drill.json shows the shape; pilotlight drill --aws builds it) and start the drill again.';
        default:
          return `Open the execution (link above), find the state that failed and its cause, fix it, then re-drill: ${ctx.redrill}`;
      }
  }
}

export function buildAlerts(input: DrillState): Alert[] {
  const { state } = input;
  const drill = state.drill;
  const request = drill ? undefined : requestOf(state);
  const drillId = drill?.drillId ?? input.executionName;
  const mode = drill?.mode ?? request?.mode;
  const source = drill?.source ?? request?.source;
  const policy = drill?.policy ?? request?.policy;
  const resourceType = source?.resourceType ?? 'Unknown';
  const status = state.error || state.teardownError || state.evidenceError ? 'FAILED' : 'SUCCEEDED';
  const { rtoSeconds, rpoSeconds } = measure(state);
  const rtoTarget = policy?.targets.rtoSeconds ?? config.RTO_TARGET_SECONDS;
  const rpoTarget = policy?.targets.rpoSeconds ?? null;
  const queued = queuedSeconds(state);
  const executionArn = executionArnOf(input.executionName);
  const where = source ? `${source.account} ${source.region}` : 'unknown account and region';
  const redrill = source
    ? `pilotlight drill --aws --region ${config.AWS_REGION} --recovery-point ${source.recoveryPointArn}${source.resourceArn ? '' : ` --resource-type ${resourceType}`}`
    : 'pilotlight drill --aws --recovery-point <ARN>';

  const context = [
    `Drill: ${drillId} (${mode ?? 'unknown mode'}, trigger ${drill?.trigger.kind ?? request?.trigger?.kind ?? 'unknown'}${policy ? `, policy ${policy.name}, tier ${policy.tier}` : ''})`,
    `Where: source ${where}${source?.resourceArn ? ` ${source.resourceArn}` : ''}; DR ${drill ? `${drill.target.account} ${drill.target.region} (vault ${drill.target.vault})` : 'not prepared'}`,
    `Recovery point: ${source?.recoveryPointArn ?? 'unknown'}`,
    ...(state.restore
      ? [`Restored: ${state.restore.createdResourceArn} (restore job ${state.restore.restoreJobId})`]
      : []),
    `RTO: ${rtoSeconds ?? 'n/a'} s (target ${rtoTarget} s${policy ? `, tier ${policy.tier}` : ''}), RPO: ${rpoSeconds ?? 'n/a'} s${rpoTarget === null ? '' : ` (target ${rpoTarget} s)`}${queued > 0 ? `, queued ${queued} s behind other drills` : ''}`,
    `Execution: ${executionConsoleUrl(executionArn)}`,
    `Evidence: ${state.evidence ? `s3://${state.evidence.bucket}/${state.evidence.key} (sha256 ${state.evidence.sha256})` : 'not recorded'}`,
  ];
  if (drill?.previousDrillId)
    context.push(`Re-drill: the previous drill of this recovery point was ${drill.previousDrillId}`);

  const raised: { kind: AlertKind; what: string; failed: string[]; errorName?: string }[] = [];
  if (state.error)
    raised.push({
      kind: 'failed',
      what: `drill FAILED (${state.error.Error})`,
      errorName: state.error.Error,
      failed: [
        `What failed: ${state.error.Error}: ${causeMessage(state.error.Cause)}`,
        ...failingChecks(state),
      ],
    });
  if (state.teardownError)
    raised.push({
      kind: 'teardown',
      what: 'TEARDOWN FAILED, resources left in DR account',
      errorName: state.teardownError.Error,
      failed: [
        `What failed: teardown: ${state.teardownError.Error}: ${causeMessage(state.teardownError.Cause)}`,
      ],
    });
  if (state.evidenceError)
    raised.push({
      kind: 'evidence',
      what: 'EVIDENCE NOT RECORDED',
      errorName: state.evidenceError.Error,
      failed: [
        `What failed: evidence: ${state.evidenceError.Error}: ${causeMessage(state.evidenceError.Cause)}`,
      ],
    });
  if (rtoSeconds !== null && rtoSeconds > rtoTarget)
    raised.push({
      kind: 'rto',
      what: `RTO ${rtoSeconds}s over target ${rtoTarget}s`,
      failed: [
        `What failed: RTO ${rtoSeconds} s observed, ${rtoTarget} s expected at most${policy ? ` (tier ${policy.tier})` : ''}`,
      ],
    });
  if (rpoTarget !== null && rpoSeconds !== null && rpoSeconds > rpoTarget)
    raised.push({
      kind: 'rpo',
      what: `RPO ${rpoSeconds}s over target ${rpoTarget}s`,
      failed: [
        `What failed: RPO ${rpoSeconds} s observed, ${rpoTarget} s expected at most (tier ${policy?.tier})`,
      ],
    });
  if (mode === 'failover')
    raised.push({
      kind: 'failover',
      what: `FAILOVER ${status}: restored resources are kept`,
      failed: [
        `What happened: a failover ${status === 'SUCCEEDED' ? 'restored' : 'tried to restore'} ${resourceType} in the DR account`,
      ],
    });

  return raised.map(({ kind, what, failed, errorName }) => {
    const attributes: Record<string, MessageAttributeValue> = {};
    const set = (name: string, value: string | undefined) => {
      if (value && Object.keys(attributes).length < MAX_ATTRIBUTES)
        attributes[name] = { DataType: 'String', StringValue: value };
    };
    set('drillId', drillId);
    set('status', status);
    set('alert', kind);
    set('mode', mode);
    set('resourceType', resourceType);
    set('sourceAccount', source?.account);
    set('sourceRegion', source?.region);
    set('executionArn', executionArn);
    set('error', errorName);
    set('tier', policy?.tier);
    const base = `Pilotlight: ${what} — ${resourceType} ${drillId}`;
    const located = source ? `${base} in ${source.region}` : base;
    return {
      kind,
      subject: (located.length <= MAX_SUBJECT ? located : base).slice(0, MAX_SUBJECT),
      message: [...failed, ...context, `Next step: ${nextStep(kind, errorName, { redrill, drillId })}`].join(
        '\n',
      ),
      attributes,
    };
  });
}
