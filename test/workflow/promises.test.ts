import { describe, expect, it } from 'vitest';
import { burst } from '../../bench/burst.js';
import type { EventBridgeEvent, Sandbox } from '../../sandbox/index.js';
import { Sandbox as SandboxClass } from '../../sandbox/index.js';
import { buildReport, type RunReport } from '../../sandbox/report.js';
import { onlyDrill, simulate } from './harness.js';

/**
 * The four promises, each scenario named after the one it keeps: one drill per recovery point, bursts that
 * queue, every failure alerted, nothing left behind.
 */

function manualRequest(backup: EventBridgeEvent, overrides: Record<string, unknown> = {}) {
  const detail = backup.detail as { resourceArn: string; resourceType: string };
  return {
    mode: 'drill',
    source: {
      account: backup.account,
      region: backup.region,
      resourceType: detail.resourceType,
      resourceArn: detail.resourceArn,
      recoveryPointArn: backup.resources[0] ?? '',
      backupVaultName: 'Default',
    },
    ...overrides,
  };
}

function restoreJobs(sandbox: Sandbox): number {
  return [...sandbox.world.jobs.values()].filter((job) => job.kind === 'restore').length;
}

function later(sandbox: Sandbox, minutes: number, act: () => void): void {
  sandbox.clock.schedule(minutes * 60_000, act);
}

function metricSum(report: RunReport, name: string): number {
  return report.sandbox.metrics.filter((m) => m.name === name).reduce((sum, m) => sum + m.value, 0);
}

describe('promise: one drill per recovery point', () => {
  it('drills a backup once when the backup plan also reports its copy into the DR vault', async () => {
    const { report, sandbox } = await simulate((s) => {
      const backup = s.backupCompleted('RDS');
      later(s, 45, () => s.deliverEvent(s.planCopyEvent(backup)));
    });

    expect(onlyDrill(report).status).toBe('SUCCEEDED');
    expect(restoreJobs(sandbox)).toBe(1);
    expect(report.skipped.map((s) => s.reason).join()).toMatch(/already (being )?drilled by rds-/);
  });

  it('drills a backup once when the plan copy is reported before the backup event', async () => {
    const { report, sandbox } = await simulate((s) => {
      const backup = s.backupCompleted('RDS', 1, { announce: false });
      s.deliverEvent(s.planCopyEvent(backup));
      later(s, 5, () => s.deliverEvent({ ...backup, id: s.random.uuid() }));
    });

    expect(onlyDrill(report).trigger).toMatchObject({ kind: 'copy-job' });
    expect(restoreJobs(sandbox)).toBe(1);
  });

  it('drills a backup once when EventBridge redelivers it under a different event id', async () => {
    const { report } = await simulate((s) => {
      const backup = s.backupCompleted('EBS');
      later(s, 3, () => s.deliverEvent({ ...backup, id: s.random.uuid() }));
      later(s, 90, () => s.deliverEvent({ ...backup, id: s.random.uuid() }));
    });

    expect(onlyDrill(report).status).toBe('SUCCEEDED');
    expect(report.skipped).toHaveLength(2);
  });

  it('skips a manual start while the event drill of the same recovery point runs, naming that drill', async () => {
    const { report } = await simulate((s) => {
      const backup = s.backupCompleted('RDS');
      later(s, 20, () => s.startManual(manualRequest(backup), 'operator-drill'));
    });

    const drill = onlyDrill(report);
    expect(drill.trigger).toMatchObject({ kind: 'backup-job' });
    expect(report.skipped).toEqual([
      {
        eventId: 'operator-drill',
        reason: expect.stringContaining(`already being drilled (drill) by ${drill.drillId}`),
      },
    ]);
    expect(report.sandbox.alerts).toEqual([]);
  });

  it('runs one of two identical manual starts', async () => {
    const { report, sandbox } = await simulate((s) => {
      const backup = s.backupCompleted('EBS', 1, { announce: false });
      s.startManual(manualRequest(backup), 'operator-a');
      s.startManual(manualRequest(backup), 'operator-b');
    });

    expect(report.drills.map((d) => d.status)).toEqual(['SUCCEEDED']);
    expect(report.skipped.map((s) => s.eventId)).toHaveLength(1);
    expect(restoreJobs(sandbox)).toBe(1);
  });

  it('allows a manual re-drill of a recovery point whose drill has finished, and says which one it follows', async () => {
    const sandbox = await SandboxClass.create({ seed: 5 });
    try {
      const backup = sandbox.backupCompleted('EBS');
      await sandbox.run();
      const first = buildReport(sandbox, 5, '').drills[0];
      sandbox.startManual(manualRequest(backup), 'operator-redrill');
      await sandbox.run();

      const report = buildReport(sandbox, 5, '');
      expect(report.drills.map((d) => d.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
      const evidence = sandbox.world.objects.find((o) => o.metadata['drill-id'] === 'operator-redrill');
      expect(JSON.parse(evidence?.body ?? '{}').redrillOf).toBe(first?.drillId);
    } finally {
      sandbox.dispose();
    }
  });
});

describe('promise: every failure alerts', () => {
  it.each([
    ['the evidence bucket denies the write', 'api:S3.PutObject=AccessDeniedException'],
    ['the evidence function keeps crashing', 'lambda:recordEvidence=crash'],
  ])('fails the drill, alerts and counts DrillFailed when %s', async (_name, fault) => {
    const { report } = await simulate((s) => s.backupCompleted('RDS'), { faults: [fault] });

    const drill = onlyDrill(report);
    expect(drill.status).toBe('FAILED');
    expect(drill.evidence).toBeNull();
    expect(report.sandbox.alerts.map((a) => a.subject)).toEqual([
      expect.stringContaining('EVIDENCE NOT RECORDED'),
    ]);
    expect(metricSum(report, 'DrillFailed')).toBe(1);
    expect(metricSum(report, 'DrillSucceeded')).toBe(0);
    expect(report.sandbox.resourcesLeft).toBe(0);
  });

  // A null input is not among them: aws-local-stepfunctions evaluates no JSONPath on a null input (any path is
  // "does not point to a value"), so the sandbox cannot say what AWS does with it; see docs/architecture.md.
  it.each([
    ['a list', []],
    ['a string', 'x'],
    ['a number', 42],
  ])('fails a manual start whose input is %s with evidence and an alert', async (_name, input) => {
    const { report } = await simulate((s) => s.startManual(input, 'operator-typo'));

    const drill = onlyDrill(report);
    expect(drill.status).toBe('FAILED');
    expect(drill.error?.name).toBe('InvalidDrillInput');
    expect(drill.evidence?.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(report.sandbox.alerts.map((a) => a.subject)).toEqual([
      expect.stringContaining('drill FAILED (InvalidDrillInput)'),
    ]);
    expect(metricSum(report, 'DrillFailed')).toBe(1);
  });

  it('refuses to restore a recovery point as another resource type, before any job starts', async () => {
    const { report, sandbox } = await simulate((s) => {
      const backup = s.backupCompleted('RDS', 1, { announce: false });
      s.startManual(
        manualRequest(backup, {
          source: { ...manualRequest(backup).source, resourceType: 'EBS' },
        }),
        'operator-wrong-type',
      );
    });

    const drill = onlyDrill(report);
    expect(drill.status).toBe('FAILED');
    expect(drill.error?.message).toMatch(/is a RDS backup, not EBS/);
    expect(sandbox.world.jobs.size).toBe(0);
    expect(report.sandbox.resourcesLeft).toBe(0);
    expect(report.sandbox.alerts).toHaveLength(1);
  });

  it('says so with the AlertsNotSent metric when the alert itself cannot be sent', async () => {
    const { report } = await simulate((s) => s.backupCompleted('EBS'), {
      faults: ['job:restore=FAILED', 'api:SNS.Publish=AuthorizationErrorException'],
    });

    expect(onlyDrill(report).status).toBe('FAILED');
    expect(report.sandbox.alerts).toEqual([]);
    expect(
      report.sandbox.metrics.find((m) => m.name === 'AlertsNotSent' && m.value >= 1)?.dimensions,
    ).toEqual({ service: 'pilotlight' });
  });
});

describe('promise: nothing is left behind', () => {
  it('drills once and leaves nothing when the state table keeps throttling writes', async () => {
    const { report, sandbox } = await simulate(
      (s) => {
        const backup = s.backupCompleted('RDS');
        later(s, 45, () => s.deliverEvent(s.planCopyEvent(backup)));
        s.keepAliveFor(12 * 3600);
      },
      { faults: ['api:DynamoDB.PutItem=ThrottlingException*99'] },
    );

    expect(report.drills).toHaveLength(1);
    expect(restoreJobs(sandbox)).toBeLessThanOrEqual(1);
    expect(sandbox.world.resourcesLeft()).toEqual([]);
  });

  it('fails fast with the real error when the restored resource cannot be tagged, and still deletes it', async () => {
    const { report, sandbox } = await simulate((s) => s.backupCompleted('RDS'), {
      faults: ['api:RDS.AddTagsToResource=AccessDeniedException*5'],
    });

    const drill = onlyDrill(report);
    expect(drill.status).toBe('FAILED');
    expect(drill.error?.name).toBe('RestoreNotTagged');
    expect(drill.error?.message).toMatch(/AccessDenied/);
    const restore = drill.steps.find((step) => step.name === 'RestoreInDrAccount');
    // Failed as soon as the restore finished, not after the 6-hour task timeout.
    expect(Date.parse(restore?.endedAt ?? '') - Date.parse(restore?.startedAt ?? '')).toBeLessThan(
      2 * 3600_000,
    );
    expect(sandbox.world.resourcesLeft()).toEqual([]);
  });

  it('gives every drill copy in the DR vault a lifecycle, so AWS Backup deletes it', async () => {
    const { sandbox } = await simulate((s) => s.backupCompleted('EBS'));

    const copies = [...sandbox.world.recoveryPoints.values()].filter((p) => p.account === '333333333333');
    expect(copies).toHaveLength(1);
    expect(copies[0]?.deleteAt).toBe((copies[0]?.createdAt ?? 0) + 7 * 86_400_000);
  });
});

describe('promise: a burst queues instead of failing', () => {
  // A safety limit, not a measurement (160 simulated drills' worth of work; minutes on a loaded 2-core machine).
  it('drills 60 RDS backups that complete at once: every drill succeeds, never above the limit', {
    timeout: 240_000,
  }, async () => {
    // About the admission limit, not detection: the reconciler's job check at 10 minutes instead of every
    // minute, which over the burst's simulated hours would run 60 open jobs' Describe*Job every minute.
    const result = await burst(['RDS'], 60, 11, { jobCheckRate: 'rate(10 minutes)' });

    expect(result.failed).toBe(0);
    expect(result.quotaFailures).toBe(0);
    expect(result.peakInUse.RDS).toBeLessThanOrEqual(result.limits.RDS ?? 0);
    // Three waves of twenty: the queue was used, and drained within half a cycle of three restore cycles
    // (with random restore durations the last wave's tail weighs more in a small burst; `npm run bench`
    // measures 500 at once, where it is within 10%).
    expect(result.peakInUse.RDS).toBe(result.limits.RDS);
    expect(result.drainOverIdeal).toBeLessThan(1.5);
    expect(result.resourcesLeft).toBe(0);
  });
});

describe('promise: nothing is left behind, tagged or not', () => {
  it('deletes a restore whose tagging failed for a while, found by the sweeper through its restore job', async () => {
    const { report, sandbox } = await simulate((s) => s.backupCompleted('RDS'), {
      // The resume (1) and every teardown attempt (5) are refused; the sweeper's own tagging then works.
      faults: ['api:RDS.AddTagsToResource=AccessDeniedException*6'],
      settle: true,
    });

    const drill = onlyDrill(report);
    expect(drill.status).toBe('FAILED');
    expect(drill.error?.name).toBe('RestoreNotTagged');
    expect(report.sandbox.swept).toHaveLength(1);
    expect(sandbox.world.resourcesLeft()).toEqual([]);
    expect(report.sandbox.resourcesLeft).toBe(0);
  });
});
