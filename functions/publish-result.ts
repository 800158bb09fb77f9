import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { PublishCommand } from '@aws-sdk/client-sns';
import { sns } from './lib/clients.js';
import { config } from './lib/config.js';
import { DrillState, measure, queuedSeconds, requestOf, secondsBetween } from './lib/drill.js';
import { AlertNotSent, causeMessage, describeError } from './lib/errors.js';
import { drillStatus } from './lib/evidence.js';
import { lambdaHandler } from './lib/handler.js';
import { logger, metrics } from './lib/observability.js';

export interface PublishedResult {
  status: 'SUCCEEDED' | 'FAILED';
  alerts: string[];
}

/**
 * Publishes the drill's metrics (EMF, one set per resource type) and alerts: a failed drill, a teardown that
 * left something behind, an RTO over target, and every failover (a failover is never routine).
 */
export async function publishResult(input: DrillState): Promise<PublishedResult> {
  const { state } = input;
  const drillId = state.drill?.drillId ?? input.executionName;
  logger.appendKeys({ drillId });
  const status = drillStatus(state);
  const request = state.drill ? undefined : requestOf(state);
  const mode = state.drill?.mode ?? request?.mode;
  const resourceType = state.drill?.source.resourceType ?? request?.source.resourceType ?? 'Unknown';
  const { rtoSeconds, rpoSeconds } = measure(state);

  metrics.addDimension('ResourceType', resourceType);
  metrics.addMetric(status === 'SUCCEEDED' ? 'DrillSucceeded' : 'DrillFailed', MetricUnit.Count, 1);
  if (rtoSeconds !== null) metrics.addMetric('RtoSeconds', MetricUnit.Seconds, rtoSeconds);
  if (rpoSeconds !== null) metrics.addMetric('RpoSeconds', MetricUnit.Seconds, rpoSeconds);
  const copySeconds = secondsBetween(state.copy?.startedAt, state.copy?.completedAt);
  if (copySeconds !== null) metrics.addMetric('CopySeconds', MetricUnit.Seconds, copySeconds);
  const restoreSeconds = secondsBetween(state.restore?.startedAt, state.restore?.completedAt);
  if (restoreSeconds !== null) metrics.addMetric('RestoreSeconds', MetricUnit.Seconds, restoreSeconds);
  const rtoBreached = rtoSeconds !== null && rtoSeconds > config.RTO_TARGET_SECONDS;
  if (rtoSeconds !== null) metrics.addMetric('RtoTargetBreached', MetricUnit.Count, rtoBreached ? 1 : 0);
  if (state.teardownError) metrics.addMetric('TeardownFailed', MetricUnit.Count, 1);
  if (state.evidenceError) metrics.addMetric('EvidenceFailed', MetricUnit.Count, 1);
  const queued = queuedSeconds(state);
  if (state.drill) metrics.addMetric('QueuedSeconds', MetricUnit.Seconds, queued);

  const alerts: string[] = [];
  const subject = (what: string) => `Pilotlight: ${what} — ${resourceType} ${drillId}`.slice(0, 99);
  const evidence = state.evidence
    ? `s3://${state.evidence.bucket}/${state.evidence.key} (sha256 ${state.evidence.sha256})`
    : 'not recorded';
  const lines = [
    `Drill: ${drillId} (${mode ?? 'unknown mode'})`,
    `Source: ${state.drill?.source.recoveryPointArn ?? request?.source.recoveryPointArn ?? 'unknown'}`,
    `Target: ${state.drill ? `${state.drill.target.account} ${state.drill.target.region}` : 'unknown'}`,
    `RTO: ${rtoSeconds ?? 'n/a'} s (target ${config.RTO_TARGET_SECONDS} s), RPO: ${rpoSeconds ?? 'n/a'} s${queued > 0 ? `, queued ${queued} s behind other drills` : ''}`,
    `Evidence: ${evidence}`,
  ];
  if (state.drill?.previousDrillId)
    lines.push(`Re-drill: the previous drill of this recovery point was ${state.drill.previousDrillId}`);
  if (state.error) {
    alerts.push(subject(`drill FAILED (${state.error.Error})`));
    lines.push(`Error: ${state.error.Error}: ${causeMessage(state.error.Cause)}`);
  }
  if (state.teardownError) {
    alerts.push(subject('TEARDOWN FAILED, resources left in DR account'));
    lines.push(`Teardown: ${state.teardownError.Error}: ${causeMessage(state.teardownError.Cause)}`);
  }
  if (state.evidenceError) {
    alerts.push(subject('EVIDENCE NOT RECORDED'));
    lines.push(`Evidence: ${state.evidenceError.Error}: ${causeMessage(state.evidenceError.Cause)}`);
  }
  if (rtoBreached) alerts.push(subject(`RTO ${rtoSeconds}s over target ${config.RTO_TARGET_SECONDS}s`));
  if (mode === 'failover') alerts.push(subject(`FAILOVER ${status}: restored resources are kept`));

  const unsent: string[] = [];
  for (const alert of alerts) {
    try {
      await sns().send(
        new PublishCommand({
          TopicArn: config.ALERT_TOPIC_ARN,
          Subject: alert,
          Message: lines.join('\n'),
          MessageAttributes: {
            drillId: { DataType: 'String', StringValue: drillId },
            status: { DataType: 'String', StringValue: status },
          },
        }),
      );
    } catch (error) {
      const { name, message } = describeError(error);
      unsent.push(`${alert}: ${name}: ${message}`);
    }
  }
  // The topic is the alarm path for drills; when it fails, the AlertsNotSent alarm (on this metric, watched
  // by CloudWatch itself, not by this function) is what still tells someone.
  // Its own EMF document with the service dimension only, so one alarm covers every resource type.
  metrics.singleMetric().addMetric('AlertsNotSent', MetricUnit.Count, unsent.length);
  if (unsent.length > 0) {
    logger.error('alerts could not be sent', { unsent });
    throw new AlertNotSent(
      `${unsent.length} of ${alerts.length} alerts could not be sent: ${unsent.join('; ')}`,
    );
  }
  logger.info('drill result published', { status, alerts: alerts.length, rtoSeconds, rpoSeconds });
  return { status, alerts };
}

export const handler = lambdaHandler(async (event: unknown) => publishResult(DrillState.parse(event)), {
  publishesMetrics: true,
});
