import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { PublishCommand } from '@aws-sdk/client-sns';
import { buildAlerts } from './lib/alerts.js';
import { sns } from './lib/clients.js';
import { config } from './lib/config.js';
import { DrillState, measure, queuedSeconds, requestOf, secondsBetween } from './lib/drill.js';
import { AlertNotSent, describeError } from './lib/errors.js';
import { drillStatus } from './lib/evidence.js';
import { lambdaHandler } from './lib/handler.js';
import { logger, metrics } from './lib/observability.js';

export interface PublishedResult {
  status: 'SUCCEEDED' | 'FAILED';
  alerts: string[];
}

/**
 * Publishes the drill's metrics (EMF, one set per resource type) and alerts (functions/lib/alerts.ts): a failed
 * drill, a teardown that left something behind, evidence not recorded, an RTO (or a policy's RPO) over target,
 * and every failover (a failover is never routine).
 */
export async function publishResult(input: DrillState): Promise<PublishedResult> {
  const { state } = input;
  const drillId = state.drill?.drillId ?? input.executionName;
  logger.appendKeys({ drillId });
  const status = drillStatus(state);
  const request = state.drill ? undefined : requestOf(state);
  const resourceType = state.drill?.source.resourceType ?? request?.source.resourceType ?? 'Unknown';
  const { rtoSeconds, rpoSeconds } = measure(state);

  metrics.addDimension('ResourceType', resourceType);
  metrics.addMetric(status === 'SUCCEEDED' ? 'DrillSucceeded' : 'DrillFailed', MetricUnit.Count, 1);
  if (rtoSeconds !== null) metrics.addMetric('RtoSeconds', MetricUnit.Seconds, rtoSeconds);
  if (rpoSeconds !== null) metrics.addMetric('RpoSeconds', MetricUnit.Seconds, rpoSeconds);
  // From the health result, or, when the checks failed the drill, from what the evidence recorded.
  const dataRpoSeconds = state.health?.dataRpoSeconds ?? state.evidence?.dataRpoSeconds;
  if (dataRpoSeconds !== undefined) {
    metrics.addMetric('DataRpoSeconds', MetricUnit.Seconds, dataRpoSeconds);
    // A policy's drill is judged against its tier's data RPO target, any other against the deployment's.
    const target =
      (state.drill?.policy ?? requestOf(state)?.policy)?.targets.dataRpoSeconds ??
      config.DATA_RPO_TARGET_SECONDS;
    const breached = dataRpoSeconds > target;
    metrics.addMetric('DataRpoTargetBreached', MetricUnit.Count, breached ? 1 : 0);
  }
  const copySeconds = secondsBetween(state.copy?.startedAt, state.copy?.completedAt);
  if (copySeconds !== null) metrics.addMetric('CopySeconds', MetricUnit.Seconds, copySeconds);
  const restoreSeconds = secondsBetween(state.restore?.startedAt, state.restore?.completedAt);
  if (restoreSeconds !== null) metrics.addMetric('RestoreSeconds', MetricUnit.Seconds, restoreSeconds);
  // A policy's drill is judged against its tier's target, any other against the deployment's.
  const rtoTarget = (state.drill?.policy ?? request?.policy)?.targets.rtoSeconds ?? config.RTO_TARGET_SECONDS;
  const rtoBreached = rtoSeconds !== null && rtoSeconds > rtoTarget;
  if (rtoSeconds !== null) metrics.addMetric('RtoTargetBreached', MetricUnit.Count, rtoBreached ? 1 : 0);
  if (state.teardownError) metrics.addMetric('TeardownFailed', MetricUnit.Count, 1);
  if (state.evidenceError) metrics.addMetric('EvidenceFailed', MetricUnit.Count, 1);
  const queued = queuedSeconds(state);
  if (state.drill) metrics.addMetric('QueuedSeconds', MetricUnit.Seconds, queued);

  const alerts = buildAlerts(input);
  const unsent: string[] = [];
  for (const alert of alerts) {
    try {
      await sns().send(
        new PublishCommand({
          TopicArn: config.ALERT_TOPIC_ARN,
          Subject: alert.subject,
          Message: alert.message,
          MessageAttributes: alert.attributes,
        }),
      );
    } catch (error) {
      const { name, message } = describeError(error);
      unsent.push(`${alert.subject}: ${name}: ${message}`);
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
  return { status, alerts: alerts.map((alert) => alert.subject) };
}

export const handler = lambdaHandler(async (event: unknown) => publishResult(DrillState.parse(event)), {
  publishesMetrics: true,
});
