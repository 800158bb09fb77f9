import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { resourceModule, supportedResourceTypes } from '../../functions/resources/index.js';
import { type EventBridgeEvent, type MetricDatum, Sandbox } from '../../sandbox/index.js';

/**
 * CloudWatch matches an alarm to a metric by namespace, name and the exact set of dimensions: an alarm whose
 * dimensions differ from what the functions publish never fires. Every alarm on a Pilotlight metric in
 * serverless.yml must match metrics the real handlers publish (EMF, as the sandbox reads it) in the runs
 * that should raise it.
 */
async function metricsOf(drive: (sandbox: Sandbox) => void, faults: string[]): Promise<MetricDatum[]> {
  const sandbox = await Sandbox.create({ seed: 3, faults });
  try {
    drive(sandbox);
    await sandbox.run();
    await sandbox.advance(2 * 3600);
    return [...sandbox.metrics];
  } finally {
    sandbox.dispose();
  }
}

interface Alarm {
  id: string;
  namespace: string;
  name: string;
  dimensions: Record<string, string>;
}

describe('alarms watch what the functions publish', async () => {
  // One drill of every registered type: each type has its own alarms (serverless.yml custom.perResourceType).
  const everyType = (s: Sandbox) => {
    for (const [index, type] of supportedResourceTypes.entries()) s.backupCompleted(type, index + 1);
  };
  const succeeded = await metricsOf(everyType, []);
  // Teardowns fail (five attempts each, and the sweeper's deletes use up the rest): both drills fail and leave orphans.
  const failed = await metricsOf(everyType, [`teardown=fail*${10 * supportedResourceTypes.length}`]);
  // The alert topic refuses every publish: the drill failure goes unannounced, which AlertsNotSent reports.
  const unannounced = await metricsOf(
    (s) => s.backupCompleted('EBS', 1),
    ['job:restore=FAILED', 'api:SNS.Publish=AuthorizationErrorException'],
  );
  // A backup of an account that is not in sourceAccounts: intake skips it and counts it.
  const fromUnknownAccount = await metricsOf((s) => {
    const sample = readFileSync('events/backup-job-completed-rds.json', 'utf8').replaceAll(
      '111111111111',
      '555566667777',
    );
    s.deliverEvent({
      ...(JSON.parse(sample) as EventBridgeEvent),
      time: new Date(s.clock.now).toISOString(),
    });
  }, []);
  const sandbox = await Sandbox.create({ seed: 3 });
  const alarms: Alarm[] = Object.entries(sandbox.config.resources)
    .filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm' && r.Properties?.Namespace === 'Pilotlight')
    .map(([id, r]) => ({
      id,
      namespace: String(r.Properties?.Namespace),
      name: String(r.Properties?.MetricName),
      dimensions: Object.fromEntries(
        ((r.Properties?.Dimensions ?? []) as { Name: string; Value: string }[]).map((d) => [d.Name, d.Value]),
      ),
    }));
  sandbox.dispose();

  const matching = (metrics: MetricDatum[], alarm: Alarm) =>
    metrics.filter(
      (m) =>
        m.namespace === alarm.namespace &&
        m.name === alarm.name &&
        JSON.stringify(Object.entries(m.dimensions).sort()) ===
          JSON.stringify(Object.entries(alarm.dimensions).sort()),
    );

  it('has alarms on Pilotlight metrics to check', () => {
    expect(alarms.map((a) => a.name).sort()).toEqual(
      expect.arrayContaining([
        'DrillFailed',
        'DrillSucceeded',
        'OrphanedResources',
        'RtoTargetBreached',
        'TeardownFailed',
      ]),
    );
  });

  it.each(['DrillSucceeded', 'RtoTargetBreached'])(
    '%s: published with the dimensions its alarms use',
    (name) => {
      for (const alarm of alarms.filter((a) => a.name === name)) {
        expect(matching(succeeded, alarm), alarm.id).not.toEqual([]);
      }
    },
  );

  it.each(['DrillFailed', 'TeardownFailed', 'OrphanedResources'])(
    '%s: published with the dimensions its alarms use, and above the threshold when it should fire',
    (name) => {
      for (const alarm of alarms.filter((a) => a.name === name)) {
        const published = matching(failed, alarm);
        expect(published, alarm.id).not.toEqual([]);
        expect(Math.max(...published.map((m) => m.value)), alarm.id).toBeGreaterThanOrEqual(1);
      }
    },
  );

  it('DataRpoTargetBreached: published with the dimensions its alarms use, for every type with data checks', () => {
    const withData = supportedResourceTypes.filter((type) => resourceModule(type).dataChecks !== undefined);
    expect(withData).toContain('RDS');
    for (const alarm of alarms.filter((a) => a.name === 'DataRpoTargetBreached')) {
      const published = matching(succeeded, alarm);
      if (withData.includes(alarm.dimensions.ResourceType ?? '')) {
        expect(published, alarm.id).not.toEqual([]);
        // The sandbox's data is 4 minutes older than its backup: well within the 1-hour target.
        expect(Math.max(...published.map((m) => m.value)), alarm.id).toBe(0);
      } else expect(published, alarm.id).toEqual([]);
    }
  });

  it('AlertsNotSent: published with the dimensions its alarm uses, and above the threshold when alerts fail', () => {
    const alarm = alarms.find((a) => a.name === 'AlertsNotSent');
    if (!alarm) throw new Error('serverless.yml has no AlertsNotSent alarm');
    expect(Math.max(...matching(unannounced, alarm).map((m) => m.value))).toBeGreaterThanOrEqual(1);
    expect(Math.max(...matching(succeeded, alarm).map((m) => m.value))).toBe(0);
  });

  it('EventsFromUnknownAccounts: published with the dimensions its alarm uses when an unknown account sends a backup event', () => {
    const alarm = alarms.find((a) => a.name === 'EventsFromUnknownAccounts');
    if (!alarm) throw new Error('serverless.yml has no EventsFromUnknownAccounts alarm');
    expect(Math.max(...matching(fromUnknownAccount, alarm).map((m) => m.value))).toBeGreaterThanOrEqual(1);
    expect(matching(succeeded, alarm)).toEqual([]);
  });

  it('leaves every alarm on a Pilotlight metric covered by one of the checks above', () => {
    const covered = new Set([
      'EventsFromUnknownAccounts',
      // Raised by a storm with a low maxOpenDrills, another deployment configuration: event-storm.test.ts.
      'DrillsDeferred',
      'AlertsNotSent',
      'DataRpoTargetBreached',
      'DrillSucceeded',
      'RtoTargetBreached',
      'DrillFailed',
      'TeardownFailed',
      'OrphanedResources',
    ]);
    expect(alarms.filter((a) => !covered.has(a.name)).map((a) => a.id)).toEqual([]);
  });
});
