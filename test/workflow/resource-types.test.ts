import { describe, expect, it } from 'vitest';
import { supportedResourceTypes } from '../../functions/resources/index.js';
import { sandboxTypes } from '../../sandbox/resources/index.js';
import { onlyDrill, simulate } from './harness.js';

/**
 * Every type in the registry (functions/resources/index.ts), drilled end to end in the sandbox with its own
 * module on both sides: a new type is covered by adding it to the registries, nothing here.
 */
describe('every supported resource type', () => {
  it('is simulated by the sandbox, and the sandbox simulates nothing the functions do not drill', () => {
    expect([...sandboxTypes.map((type) => type.type)].sort()).toEqual([...supportedResourceTypes].sort());
  });

  it.each(supportedResourceTypes)(
    '%s: a backup drills to SUCCEEDED and leaves nothing behind',
    async (type) => {
      const { report, sandbox } = await simulate((s) => s.backupCompleted(type), { settle: true });

      const drill = onlyDrill(report);
      expect(drill.status, JSON.stringify(drill.error)).toBe('SUCCEEDED');
      expect(drill.checks.length).toBeGreaterThanOrEqual(3);
      expect(drill.checks.every((check) => check.passed)).toBe(true);
      expect(drill.checks.map((check) => check.name)).toContain('tagged');
      expect(report.sandbox.resourcesLeft).toBe(0);
      expect(report.sandbox.alerts).toEqual([]);
      // What the restore created carried the drill's tags and is gone for every API now.
      const restored = [...sandbox.world.resources.values()].filter(
        (r) => r.tags['pilotlight:drill-id'] === drill.drillId,
      );
      expect(restored.length).toBeGreaterThanOrEqual(1);
      expect(restored.every((r) => r.phase === 'deleted')).toBe(true);
    },
  );

  it.each(supportedResourceTypes)(
    '%s: a failed restore job fails the drill cleanly (evidence, alert, nothing left)',
    async (type) => {
      const { report } = await simulate((s) => s.backupCompleted(type), { faults: ['job:restore=FAILED'] });

      const drill = onlyDrill(report);
      expect(drill.status).toBe('FAILED');
      expect(drill.error?.name).toBe('RestoreJobFailed');
      expect(drill.evidence?.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(report.sandbox.resourcesLeft).toBe(0);
      expect(report.sandbox.alerts.map((alert) => alert.subject)).toEqual([
        expect.stringContaining('drill FAILED (RestoreJobFailed)'),
      ]);
    },
  );

  it.each(supportedResourceTypes)(
    '%s: an unhealthy restore fails its checks, is torn down, and is reported',
    async (type) => {
      const { report } = await simulate((s) => s.backupCompleted(type), { faults: ['health=unhealthy'] });

      const drill = onlyDrill(report);
      expect(drill.status).toBe('FAILED');
      expect(drill.error?.name).toMatch(/^(HealthCheckFailed|ReadinessTimedOut)$/);
      expect(drill.steps.map((step) => step.name)).toContain('TearDown');
      expect(drill.evidence?.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(report.sandbox.resourcesLeft).toBe(0);
      expect(report.sandbox.alerts.length).toBe(1);
    },
  );
});
