import { describe, expect, it } from 'vitest';
import { onlyDrill, simulate } from './harness.js';

/** One named scenario per recovery path: every Catch in the ASL still tears down, records evidence and alerts. */
describe('a drill that fails', () => {
  it.each([
    [
      'the recovery point cannot be read',
      ['api:Backup.DescribeRecoveryPoint=ResourceNotFoundException'],
      'PrepareDrill',
      'ResourceNotFoundException',
    ],
    ['the copy job fails', ['job:copy=FAILED'], 'CopyToDrVault', 'CopyJobFailed'],
    ['the restore job fails', ['job:restore=FAILED'], 'RestoreInDrAccount', 'RestoreJobFailed'],
    ['the restore job is aborted', ['job:restore=ABORTED'], 'RestoreInDrAccount', 'RestoreJobFailed'],
    ['the restore job never finishes', ['job:restore=STUCK'], 'RestoreInDrAccount', 'States.Timeout'],
    ['the restored resource is unhealthy', ['health=unhealthy'], 'ValidateRestore', 'HealthCheckFailed'],
    ['the restored data does not match the backup', ['data=corrupt'], 'ValidateRestore', 'HealthCheckFailed'],
    ['the health check keeps crashing', ['lambda:checkHealth=crash'], 'ValidateRestore', 'Lambda.Unknown'],
  ])(
    'when %s it fails, cleans up, records evidence and alerts',
    async (_name, faults, failedStep, errorName) => {
      const { report } = await simulate((s) => s.backupCompleted('RDS'), { faults });

      const drill = onlyDrill(report);
      expect(drill.status).toBe('FAILED');
      expect(drill.error?.name).toBe(errorName);
      expect(drill.steps.find((step) => step.name === failedStep)?.status).toMatch(/FAILED|TIMED_OUT/);
      const after = drill.steps.map((step) => step.name).slice(-4);
      expect(after).toEqual(
        failedStep === 'PrepareDrill'
          ? ['PrepareDrill', 'RecordEvidence', 'PublishResult']
          : ['TearDown', 'ReleaseSlots', 'RecordEvidence', 'PublishResult'],
      );
      expect(drill.evidence?.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(report.sandbox.resourcesLeft).toBe(0);
      expect(report.sandbox.alerts.map((alert) => alert.subject)).toEqual([
        expect.stringContaining(`drill FAILED (${errorName})`),
      ]);
      expect(report.sandbox.metrics.some((m) => m.name === 'DrillFailed' && m.value === 1)).toBe(true);
    },
  );

  it('records which checks failed when the data does not match the backup', async () => {
    const { report } = await simulate((s) => s.backupCompleted('EBS'), { faults: ['data=corrupt'] });

    const drill = onlyDrill(report);
    expect(drill.checks.find((check) => check.name === 'data-integrity')).toMatchObject({ passed: false });
    expect(drill.checks.find((check) => check.name === 'resource-available')).toMatchObject({ passed: true });
  });

  it('alerts that resources were left behind when teardown keeps failing', async () => {
    const { report } = await simulate((s) => s.backupCompleted('RDS'), { faults: ['teardown=fail'] });

    const drill = onlyDrill(report);
    expect(drill.status).toBe('FAILED');
    expect(drill.error?.name).toBe('TeardownIncomplete');
    expect(drill.steps.find((step) => step.name === 'TearDown')?.attempts).toBe(5);
    expect(report.sandbox.resourcesLeft).toBe(1);
    expect(report.sandbox.alerts.map((alert) => alert.subject).join()).toMatch(/TEARDOWN FAILED/);
    expect(report.sandbox.metrics.some((m) => m.name === 'TeardownFailed')).toBe(true);
  });

  it('times out a copy whose completion is never heard of, and leaves nothing behind', async () => {
    const { report, sandbox } = await simulate((s) => s.backupCompleted('EBS'), {
      faults: ['events:delay=30000', 'lambda:reconcile=crash'],
      // The crashing reconciler's job check every minute would crash (and be retried) ~1 500 times over the
      // copy's 8 hours; at 10 minutes the test is the same (no reconciler run gets through) and faster.
      params: { jobCheckRate: 'rate(10 minutes)' },
    });

    const drill = onlyDrill(report);
    expect(drill.status).toBe('FAILED');
    // The copy's event arrives long after the copy task's 8-hour timeout; nothing was restored yet.
    expect(drill.error?.name).toBe('States.Timeout');
    expect(sandbox.world.resourcesLeft()).toEqual([]);
  });
});

describe('a drill that recovers', () => {
  it('retries a throttled restore call and succeeds', async () => {
    const { report } = await simulate((s) => s.backupCompleted('EBS'), {
      faults: ['api:Backup.StartRestoreJob=ThrottlingException*4'],
    });

    const drill = onlyDrill(report);
    expect(drill.status).toBe('SUCCEEDED');
    expect(drill.steps.find((step) => step.name === 'RestoreInDrAccount')?.attempts).toBe(2);
  });

  it("waits out the SDK's own retry backoff on the virtual clock, the same way for the same seed", async () => {
    const run = () =>
      simulate((s) => s.backupCompleted('RDS'), {
        seed: 5,
        faults: ['api:Backup.StartRestoreJob=LimitExceededException*2'],
      });
    const first = await run();
    const second = await run();

    const drill = onlyDrill(first.report);
    expect(drill.status).toBe('SUCCEEDED');
    // The SDK's standard mode retried inside one invocation (3 attempts): the state machine saw no error.
    expect(drill.steps.find((step) => step.name === 'RestoreInDrAccount')?.attempts).toBe(1);
    // Throttling backoff: jitter × 2^retry × 500 ms, so under 500 ms and then under 1 s.
    const [firstWait, secondWait, ...more] = first.sandbox.sdkBackoffs;
    expect(more).toEqual([]);
    expect(firstWait).toBeGreaterThanOrEqual(0);
    expect(firstWait).toBeLessThan(500);
    expect(secondWait).toBeLessThan(1000);
    expect(second.sandbox.sdkBackoffs).toEqual(first.sandbox.sdkBackoffs);
    expect(onlyDrill(second.report).steps).toEqual(drill.steps);
  });

  it('retries a crashed Lambda and succeeds', async () => {
    const { report } = await simulate((s) => s.backupCompleted('EBS'), {
      faults: ['lambda:startRestore=crash*2'],
    });

    expect(onlyDrill(report).status).toBe('SUCCEEDED');
    expect(onlyDrill(report).steps.find((step) => step.name === 'RestoreInDrAccount')?.attempts).toBe(3);
  });

  it('retries a teardown that fails once and leaves nothing behind', async () => {
    const { report } = await simulate((s) => s.backupCompleted('EBS'), { faults: ['teardown=fail*1'] });

    expect(onlyDrill(report).status).toBe('SUCCEEDED');
    expect(report.sandbox.resourcesLeft).toBe(0);
  });

  it('resumes a drill within a minute of each job finishing when every job event is lost (the job check)', async () => {
    const { report, sandbox } = await simulate((s) => s.backupCompleted('EBS'), {
      faults: ['events:jobs:drop=1'],
    });

    expect(onlyDrill(report).status).toBe('SUCCEEDED');
    const [execution, ...others] = [...sandbox.stepFunctions.executions.values()];
    expect(others).toEqual([]);
    const output = execution?.output as {
      copy?: { copyJobId?: string };
      restore?: { restoreJobId?: string };
    };
    const waits = [
      [output.copy?.copyJobId, 'ReleaseCopySlot'],
      [output.restore?.restoreJobId, 'ValidateRestore'],
    ] as const;
    for (const [jobId, next] of waits) {
      const finished = sandbox.world.jobs.get(jobId ?? '')?.completedAt ?? Number.NaN;
      const step = execution?.steps.find((s) => s.name === next && Date.parse(s.startedAt) >= finished);
      const seconds = (Date.parse(step?.startedAt ?? '') - finished) / 1000;
      expect(seconds).toBeGreaterThanOrEqual(0);
      expect(seconds).toBeLessThanOrEqual(60);
    }
  });

  it('does not hang when every event is lost, the trigger included: the reconciler drills and resumes it', async () => {
    const { report } = await simulate(
      (s) => {
        s.backupCompleted('RDS');
        // Nothing is open until the reconciler finds the backup job (after the events' grace period).
        s.keepAliveFor(3600);
      },
      { faults: ['events:drop=1'] },
    );

    expect(onlyDrill(report).status).toBe('SUCCEEDED');
    expect(report.sandbox.metrics.some((m) => m.name === 'MissedBackupsDrilled' && m.value === 1)).toBe(true);
    expect(
      report.sandbox.metrics.filter((m) => m.name === 'ReconciledJobs').reduce((sum, m) => sum + m.value, 0),
    ).toBe(2);
  });

  it('starts one drill for a backup event delivered three times', async () => {
    const { report, sandbox } = await simulate((s) => s.backupCompleted('RDS'), {
      faults: ['events:duplicate=3'],
    });

    expect(report.drills).toHaveLength(1);
    expect(onlyDrill(report).status).toBe('SUCCEEDED');
    const intake = sandbox.deliveries
      .filter((d) => d.event['detail-type'] === 'Backup Job State Change')
      .flatMap((d) => d.outcomes);
    expect(intake).toHaveLength(3);
  });
});
