import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import * as z from 'zod';
import { Sandbox } from '../sandbox/index.js';
import { type Json, projectRoot } from '../sandbox/serverless-config.js';

/**
 * The two designs the bench compares, each run in the same sandbox on the same scenario (seed, resource
 * types, faults): Pilotlight as deployed (serverless.yml, statemachines/drill.asl.yaml), and the polling
 * baseline (bench/polling.asl.yaml) with its three bench-only handlers run under the functions whose role
 * they need. Both are triggered the same way: the backup job's event reaches intake, which starts the drill.
 */
export type DesignName = 'pilotlight' | 'polling';

export class BenchRunError extends Error {
  override readonly name = 'BenchRunError';
}

interface Design {
  options: () => Pick<
    Parameters<typeof Sandbox.create>[0] & object,
    'stateMachineDefinition' | 'functionHandlers'
  >;
  /** The Task state that starts once the copy job, and the restore job, is known to be finished. */
  afterCopy: string;
  afterRestore: string;
}

const Definition = z.record(z.string(), z.unknown()).transform((value) => value as Record<string, Json>);

export const designs: Record<DesignName, Design> = {
  pilotlight: {
    options: () => ({}),
    afterCopy: 'ReleaseCopySlot',
    afterRestore: 'ValidateRestore',
  },
  polling: {
    options: () => ({
      stateMachineDefinition: Definition.parse(
        parse(readFileSync(join(projectRoot, 'bench/polling.asl.yaml'), 'utf8'), { merge: true }),
      ),
      functionHandlers: {
        startCopy: 'bench/polling/start-copy-job.handler',
        startRestore: 'bench/polling/start-restore-job.handler',
        resumeDrill: 'bench/polling/describe-job.handler',
      },
    }),
    afterCopy: 'StartRestoreJob',
    afterRestore: 'ValidateRestore',
  },
};

/** What one run of N drills of one design cost and how quickly each drill noticed its jobs had finished. */
export interface RunFigures {
  design: DesignName;
  drills: number;
  failed: number;
  /** States entered plus Retry attempts, over every execution (what Step Functions Standard bills). */
  transitions: number;
  /** Per function key, for the event-driven functions and the workflow's tasks (schedules apart). */
  invocations: Record<string, number>;
  apiCalls: Record<string, number>;
  /** The scheduled functions (reconciler, orphan sweeper): a fixed cost, whatever the number of drills. */
  scheduled: { invocations: Record<string, number>; apiCalls: Record<string, number> };
  /** Seconds from a copy or restore job finishing to the workflow's next step starting, one per job. */
  detectionSeconds: number[];
  simulatedSeconds: number;
  wallSeconds: number;
}

const OutputJobs = z.object({
  copy: z.object({ copyJobId: z.string().optional() }).optional(),
  restore: z.object({ restoreJobId: z.string().optional() }).optional(),
});

/**
 * Runs `count` drills of `design` (the backups of `resourceTypes`, round robin, all completing at once) in a
 * fresh sandbox until every drill has ended.
 */
export async function runDesign(
  design: DesignName,
  resourceTypes: readonly string[],
  count: number,
  options: { seed?: number; faults?: readonly string[] } = {},
): Promise<RunFigures> {
  const wallStart = performance.now();
  const { afterCopy, afterRestore } = designs[design];
  const sandbox = await Sandbox.create({
    seed: options.seed ?? 1,
    faults: options.faults,
    ...designs[design].options(),
  });
  try {
    for (let i = 1; i <= count; i++)
      sandbox.backupCompleted(resourceTypes[(i - 1) % resourceTypes.length] ?? 'RDS', i);
    await sandbox.run();
    const scheduledKeys = new Set(
      sandbox.config.functions.filter((f) => f.schedules.length > 0).map((f) => f.key),
    );
    const executions = [...sandbox.stepFunctions.executions.values()].filter(
      (e) => (e.output as { skipped?: unknown } | undefined)?.skipped !== true,
    );
    const detectionSeconds: number[] = [];
    for (const execution of executions) {
      const jobs = OutputJobs.safeParse(execution.output);
      if (!jobs.success) continue;
      for (const [jobId, next] of [
        [jobs.data.copy?.copyJobId, afterCopy],
        [jobs.data.restore?.restoreJobId, afterRestore],
      ] as const) {
        const finished = sandbox.world.jobs.get(jobId ?? '')?.completedAt;
        if (finished === undefined) continue;
        const step = execution.steps.find((s) => s.name === next && Date.parse(s.startedAt) >= finished);
        if (!step)
          throw new BenchRunError(
            `${design}: drill ${execution.name} never started ${next} after job ${jobId}`,
          );
        detectionSeconds.push((Date.parse(step.startedAt) - finished) / 1000);
      }
    }
    const split = (counts: Map<string, number>, scheduled: boolean) =>
      Object.fromEntries(
        [...counts].filter(([key]) => scheduledKeys.has(key) === scheduled && key !== '(sandbox)'),
      );
    return {
      design,
      drills: executions.length,
      failed: executions.filter((e) => e.status !== 'SUCCEEDED').length,
      transitions: executions.reduce((total, e) => total + e.transitions.entered + e.transitions.retried, 0),
      invocations: split(sandbox.lambda.invocationsByFunction, false),
      apiCalls: split(sandbox.apiCallsByFunction, false),
      scheduled: {
        invocations: split(sandbox.lambda.invocationsByFunction, true),
        apiCalls: split(sandbox.apiCallsByFunction, true),
      },
      detectionSeconds,
      simulatedSeconds: sandbox.simulatedSeconds,
      wallSeconds: (performance.now() - wallStart) / 1000,
    };
  } finally {
    sandbox.dispose();
  }
}
