import { describe, expect, it } from 'vitest';
import { Sandbox } from '../../sandbox/index.js';
import type { RestoredResource } from '../../sandbox/world.js';
import { startRdsFailover } from './harness.js';

/** Runs the drills to the end, then lets `hours` of simulated time pass so the hourly sweeper runs. */
async function afterDrills(
  drive: (sandbox: Sandbox) => void,
  options: { faults?: string[]; hours?: number } = {},
) {
  const sandbox = await Sandbox.create({ seed: 11, faults: options.faults ?? [] });
  try {
    drive(sandbox);
    await sandbox.run();
    const leftAfterDrills = sandbox.world.resourcesLeft().map((r: RestoredResource) => r.arn);
    const metricsBefore = sandbox.metrics.length;
    await sandbox.advance((options.hours ?? 2) * 3600);
    const sweeps = sandbox.metrics.slice(metricsBefore).filter((m) => m.name === 'OrphanedResources');
    const deleted = sandbox.metrics.slice(metricsBefore).filter((m) => m.name === 'OrphansDeleted');
    return {
      leftAfterDrills,
      leftAfterSweep: sandbox.world.resourcesLeft().map((r: RestoredResource) => r.arn),
      sweeps,
      deleted,
      logs: sandbox.logs.join('\n'),
      resources: [...sandbox.world.resources.values()],
    };
  } finally {
    sandbox.dispose();
  }
}

describe('orphan sweeper (sweepOrphans, hourly in the sandbox as in serverless.yml)', () => {
  it('finds and deletes what a teardown that failed for good left behind, and reports it', async () => {
    const run = await afterDrills((s) => s.backupCompleted('RDS'), { faults: ['teardown=fail*5'] });

    expect(run.leftAfterDrills).toHaveLength(1);
    expect(run.leftAfterSweep).toEqual([]);
    // The first sweep after the drill finds it (the alarm's metric), the next one finds nothing.
    expect(run.sweeps.map((m) => m.value)).toEqual([1, 0]);
    expect(run.sweeps[0]?.dimensions).toEqual({ service: 'pilotlight' });
    expect(run.deleted.map((m) => m.value)).toEqual([1, 0]);
    expect(run.logs).toMatch(/orphaned resource found.*"action":"deleted"/);
  });

  it('reports an orphan it cannot delete, and deletes it on a later sweep', async () => {
    // Five teardown attempts fail in the drill; the sixth failure hits the first sweep's delete.
    const run = await afterDrills((s) => s.backupCompleted('EBS'), { faults: ['teardown=fail*6'], hours: 3 });

    expect(run.leftAfterDrills).toHaveLength(1);
    expect(run.sweeps.map((m) => m.value).slice(0, 3)).toEqual([1, 1, 0]);
    expect(run.deleted.map((m) => m.value).slice(0, 2)).toEqual([0, 1]);
    expect(run.logs).toMatch(/"action":"delete-failed".*IncorrectState/);
    expect(run.leftAfterSweep).toEqual([]);
  });

  it('never touches what a failover restored', async () => {
    const run = await afterDrills(startRdsFailover);

    expect(run.leftAfterDrills).toHaveLength(1);
    expect(run.leftAfterSweep).toEqual(run.leftAfterDrills);
    expect(run.sweeps.every((m) => m.value === 0)).toBe(true);
    expect(run.sweeps.length).toBeGreaterThan(0);
  });

  it('finds nothing after drills whose teardown worked (resources being deleted are not orphans)', async () => {
    const run = await afterDrills((s) => {
      s.backupCompleted('RDS', 1);
      s.backupCompleted('EBS', 2);
    });

    expect(run.leftAfterDrills).toEqual([]);
    expect(run.sweeps.length).toBeGreaterThan(0);
    expect(run.sweeps.every((m) => m.value === 0)).toBe(true);
  });

  it('leaves alone a resource whose drill is still running', async () => {
    const sandbox = await Sandbox.create({ seed: 11, faults: [] });
    try {
      sandbox.backupCompleted('RDS');
      // Minute by minute until the restored instance exists, tagged, while its drill is still open.
      while (!sandbox.world.resourcesLeft()[0]?.tags['pilotlight:owner']) await sandbox.advance(60);
      expect(sandbox.stepFunctions.open()).toBe(1);
      const [resource] = sandbox.world.resourcesLeft();
      expect(resource?.tags['pilotlight:owner']).toBe(sandbox.stepFunctions.arn);

      const result = await sandbox.lambda.invoke('sweepOrphans', {});

      expect(result).toEqual({ checked: 1, inUse: 1, failover: 0, orphans: [], unchecked: [], untagged: [] });
      expect(sandbox.world.resourcesLeft()).toHaveLength(1);
      await sandbox.run();
      expect(sandbox.stepFunctions.open()).toBe(0);
      expect(sandbox.world.resourcesLeft()).toEqual([]);
    } finally {
      sandbox.dispose();
    }
  });

  it('ignores resources another deployment (the other region) tagged', async () => {
    const sandbox = await Sandbox.create({ seed: 11, faults: ['teardown=fail*5'] });
    try {
      sandbox.backupCompleted('EBS');
      await sandbox.run();
      const [left] = sandbox.world.resourcesLeft();
      if (!left) throw new Error('expected the failed teardown to leave the volume');
      left.tags['pilotlight:owner'] =
        'arn:aws:states:us-west-2:222222222222:stateMachine:pilotlight-sandbox-drill';

      const result = await sandbox.lambda.invoke('sweepOrphans', {});

      expect(result).toEqual({ checked: 0, inUse: 0, failover: 0, orphans: [], unchecked: [], untagged: [] });
      expect(sandbox.world.resourcesLeft()).toEqual([left]);
    } finally {
      sandbox.dispose();
    }
  });

  it('does not take a deleted resource, still listed by the lagging tag index, for an orphan', async () => {
    const sandbox = await Sandbox.create({ seed: 11, faults: [] });
    try {
      sandbox.backupCompleted('RDS');
      await sandbox.run();
      // Teardown deleted the instance (and RDS its managed secret) minutes ago; the tag index still lists
      // the instance for a while.
      const restored = [...sandbox.world.resources.values()];
      expect(restored.map((r) => [r.kind, r.status])).toEqual([
        ['db-instance', 'deleted'],
        ['secret', 'deleted'],
      ]);

      const result = await sandbox.lambda.invoke('sweepOrphans', {});

      expect(result).toEqual({ checked: 1, inUse: 0, failover: 0, orphans: [], unchecked: [], untagged: [] });
    } finally {
      sandbox.dispose();
    }
  });
});
