import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { onlyDrill, simulate, startRdsFailover } from './harness.js';

describe('a drill on the happy path', () => {
  it.each(['RDS', 'EBS'])(
    'copies, restores, validates, tears down and records evidence for %s',
    async (type) => {
      const { report, sandbox } = await simulate((s) => s.backupCompleted(type));

      const drill = onlyDrill(report);
      expect(drill.status).toBe('SUCCEEDED');
      expect(drill.steps.map((step) => step.name)).toEqual([
        'PrepareDrill',
        'WaitForCopySlot',
        'CopyToDrVault',
        'ReleaseCopySlot',
        'WaitForRestoreSlot',
        'RestoreInDrAccount',
        'ValidateRestore',
        'TearDown',
        'ReleaseSlots',
        'RecordEvidence',
        'PublishResult',
      ]);
      expect(drill.steps.every((step) => step.status === 'SUCCEEDED')).toBe(true);
      expect(drill.source).toMatchObject({
        account: '111111111111',
        region: 'us-east-2',
        resourceType: type,
      });
      expect(drill.target).toEqual({ account: '333333333333', region: 'us-west-2', vault: 'pilotlight-dr' });
      expect(drill.checks.length).toBeGreaterThanOrEqual(4);
      expect(drill.checks.every((check) => check.passed)).toBe(true);
      expect(drill.rtoSeconds).toBeGreaterThan(60);
      expect(drill.rpoSeconds).toBeGreaterThan(0);
      expect(report.sandbox.resourcesLeft).toBe(0);
      expect(report.sandbox.alerts).toEqual([]);

      // The evidence is what S3 stores, under COMPLIANCE retention for a year, and its digest is reported.
      const stored = sandbox.world.objects.find((o) => o.key === drill.evidence?.key);
      expect(stored?.lockMode).toBe('COMPLIANCE');
      expect(drill.evidence?.sha256).toBe(
        createHash('sha256')
          .update(stored?.body ?? '')
          .digest('hex'),
      );
      expect(
        Date.parse(drill.evidence?.retainUntil ?? '') - Date.parse(drill.steps[5]?.startedAt ?? ''),
      ).toBeGreaterThan(364 * 86_400_000);
      const evidence = JSON.parse(stored?.body ?? '{}') as {
        status: string;
        rtoSeconds: number;
        restoredResourceArn: string;
      };
      expect(evidence.status).toBe('SUCCEEDED');
      expect(evidence.rtoSeconds).toBe(drill.rtoSeconds);
      expect(evidence.restoredResourceArn).toMatch(/^arn:aws:(rds|ec2):us-west-2:333333333333:/);
    },
  );

  it('measures in simulated time: an RDS restore takes tens of minutes, the run milliseconds of wall time', async () => {
    const { report } = await simulate((s) => s.backupCompleted('RDS'));

    const restore = onlyDrill(report).steps.find((step) => step.name === 'RestoreInDrAccount');
    const minutes = (Date.parse(restore?.endedAt ?? '') - Date.parse(restore?.startedAt ?? '')) / 60_000;
    expect(minutes).toBeGreaterThanOrEqual(15);
    expect(report.sandbox.simulatedSeconds).toBeGreaterThan(30 * 60);
    expect(report.sandbox.wallMs).toBeLessThan(report.sandbox.simulatedSeconds * 1000);
  });

  it('publishes drill metrics per resource type through EMF', async () => {
    const { report } = await simulate((s) => s.backupCompleted('EBS'));

    const names = report.sandbox.metrics
      .filter((m) => m.dimensions.ResourceType === 'EBS')
      .map((m) => m.name);
    expect(names).toEqual(
      expect.arrayContaining(['DrillSucceeded', 'RtoSeconds', 'RpoSeconds', 'CopySeconds', 'RestoreSeconds']),
    );
    const rto = report.sandbox.metrics.find((m) => m.name === 'RtoSeconds');
    expect(rto?.value).toBe(onlyDrill(report).rtoSeconds);
  });

  it('gives the same run for the same seed', async () => {
    const first = await simulate((s) => s.backupCompleted('RDS'), { seed: 42 });
    const second = await simulate((s) => s.backupCompleted('RDS'), { seed: 42 });

    expect(onlyDrill(second.report).steps).toEqual(onlyDrill(first.report).steps);
    expect(onlyDrill(second.report).evidence?.sha256).toBe(onlyDrill(first.report).evidence?.sha256);
  });

  it('runs many drills at once and reports the peak of concurrent restores', async () => {
    const { report } = await simulate((s) => {
      for (let i = 1; i <= 5; i++) s.backupCompleted('RDS', i);
    });

    expect(report.drills).toHaveLength(5);
    expect(report.drills.every((drill) => drill.status === 'SUCCEEDED')).toBe(true);
    expect(report.sandbox.peakConcurrentRestores).toBeGreaterThan(1);
    expect(report.sandbox.resourcesLeft).toBe(0);
  });

  it('restores the copy already in the DR vault without copying again when a copy job triggers', async () => {
    const { report } = await simulate((s) => {
      const backup = s.backupCompleted('RDS', 1, { announce: false });
      s.deliverEvent({
        ...backup,
        id: 'copy-trigger-1',
        'detail-type': 'Copy Job State Change',
        detail: {
          copyJobId: 'EXTERNAL-COPY-1',
          state: 'COMPLETED',
          resourceType: 'RDS',
          resourceArn: String(backup.detail.resourceArn),
          sourceRecoveryPointArn: backup.resources[0] ?? '',
          sourceBackupVaultArn: 'arn:aws:backup:us-east-2:111111111111:backup-vault:Default',
          destinationBackupVaultArn: 'arn:aws:backup:us-west-2:333333333333:backup-vault:pilotlight-dr',
          destinationRecoveryPointArn:
            'arn:aws:rds:us-west-2:333333333333:snapshot:awsbackup:copyjob-external-1',
        },
      });
    });

    const drill = onlyDrill(report);
    expect(drill.status).toBe('SUCCEEDED');
    expect(drill.steps.map((step) => step.name)).not.toContain('CopyToDrVault');
  });

  it('keeps what a failover restores and alerts loudly', async () => {
    const { report } = await simulate(startRdsFailover);

    const drill = onlyDrill(report);
    expect(drill.status).toBe('SUCCEEDED');
    expect(drill.mode).toBe('failover');
    expect(drill.steps.map((step) => step.name)).not.toContain('TearDown');
    expect(report.sandbox.resourcesLeft).toBe(1);
    expect(report.sandbox.alerts.map((a) => a.subject).join()).toMatch(/FAILOVER SUCCEEDED/);
  });
});
