import { describe, expect, it } from 'vitest';
import type { Sandbox } from '../../sandbox/index.js';
import type { RunReport } from '../../sandbox/report.js';
import { simulate } from './harness.js';

/**
 * The promise "a burst queues instead of failing" also drains fast: admission's order (functions/lib/admission.ts).
 * Its own file: the sandbox runs with one copy slot (`copyConcurrency`), a setting the handler modules read once
 * per process, as a Lambda container does.
 */

function later(sandbox: Sandbox, minutes: number, act: () => void): void {
  sandbox.clock.schedule(minutes * 60_000, act);
}

describe('promise: a burst queues instead of failing, and drains fast', () => {
  /** When the drill's copy slot was handed to it, for drills that had to wait (in simulated seconds). */
  function copyAdmissions(report: RunReport): { type: string; admittedAt: number }[] {
    return report.drills
      .flatMap((drill) => {
        const wait = drill.steps.find((step) => step.name === 'WaitForCopySlot');
        // Admitted at once, the task still takes the acquireSlot call's simulated seconds.
        if (!wait?.endedAt || Date.parse(wait.endedAt) - Date.parse(wait.startedAt) < 60_000) return [];
        return [{ type: drill.source.resourceType, admittedAt: Date.parse(wait.endedAt) }];
      })
      .sort((a, b) => a.admittedAt - b.admittedAt);
  }

  it('admits the drills queued together longest first, and a later window after them', async () => {
    // One copy at a time. The first EBS drill takes the slot; EBS, RDS and FSx queue in that order within one
    // five-minute window; a second FSx queues ten minutes later. Oldest-first alone would admit EBS, RDS, FSx.
    const { report } = await simulate(
      (sandbox) => {
        sandbox.backupCompleted('EBS', 1);
        later(sandbox, 1, () => sandbox.backupCompleted('EBS', 2));
        later(sandbox, 2, () => sandbox.backupCompleted('RDS', 3));
        later(sandbox, 3, () => sandbox.backupCompleted('FSx', 4));
        later(sandbox, 10, () => sandbox.backupCompleted('FSx', 5));
      },
      { params: { copyConcurrency: '1' } },
    );

    expect(report.drills.map((drill) => drill.status)).toEqual(Array(5).fill('SUCCEEDED'));
    // FSx (an hour or more to restore) before RDS (about an hour) before EBS (minutes), then the later window.
    expect(copyAdmissions(report).map((admission) => admission.type)).toEqual(['FSx', 'RDS', 'EBS', 'FSx']);
    expect(report.sandbox.resourcesLeft).toBe(0);
  });
});
