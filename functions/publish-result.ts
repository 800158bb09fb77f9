import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { PublishCommand } from '@aws-sdk/client-sns';
import { sns } from './lib/clients.js';
import { config } from './lib/config.js';
import { DrillState, measure, requestOf, secondsBetween } from './lib/drill.js';
import { causeMessage } from './lib/errors.js';
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

  const alerts: string[] = [];
  const subject = (what: string) => `Pilotlight: ${what} — ${resourceType} ${drillId}`.slice(0, 99);
  const evidence = state.evidence
    ? `s3://${state.evidence.bucket}/${state.evidence.key} (sha256 ${state.evidence.sha256})`
    : 'not recorded';
  const lines = [
    `Drill: ${drillId} (${mode ?? 'unknown mode'})`,
    `Source: ${state.drill?.source.recoveryPointArn ?? request?.source.recoveryPointArn ?? 'unknown'}`,
    `Target: ${state.drill ? `${state.drill.target.account} ${state.drill.target.region}` : 'unknown'}`,
    `RTO: ${rtoSeconds ?? 'n/a'} s (target ${config.RTO_TARGET_SECONDS} s), RPO: ${rpoSeconds ?? 'n/a'} s`,
    `Evidence: ${evidence}`,
  ];
  if (state.error) {
    alerts.push(subject(`drill FAILED (${state.error.Error})`));
    lines.push(`Error: ${state.error.Error}: ${causeMessage(state.error.Cause)}`);
  }
  if (state.teardownError) {
    alerts.push(subject('TEARDOWN FAILED, resources left in DR account'));
    lines.push(`Teardown: ${state.teardownError.Error}: ${causeMessage(state.teardownError.Cause)}`);
  }
  if (rtoBreached) alerts.push(subject(`RTO ${rtoSeconds}s over target ${config.RTO_TARGET_SECONDS}s`));
  if (mode === 'failover') alerts.push(subject(`FAILOVER ${status}: restored resources are kept`));

  for (const alert of alerts) {
    await sns.send(
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
  }
  logger.info('drill result published', { status, alerts: alerts.length, rtoSeconds, rpoSeconds });
  return { status, alerts };
}

export const handler = lambdaHandler(async (event: unknown) => publishResult(DrillState.parse(event)), {
  publishesMetrics: true,
});
