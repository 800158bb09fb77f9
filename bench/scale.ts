import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as z from 'zod';
import { projectRoot } from '../sandbox/serverless-config.js';

/**
 * The sandbox itself at N drills: each size runs in a fresh process (bench/scale-child.ts) so its peak RSS is
 * its own; the same run is the burst (N backups completing at once across the supported types).
 */
export class ScaleRunError extends Error {
  override readonly name = 'ScaleRunError';
}

const ChildResult = z.object({
  scenario: z.string(),
  drills: z.number(),
  failed: z.number(),
  quotaFailures: z.number(),
  peakInUse: z.record(z.string(), z.number()),
  limits: z.record(z.string(), z.number()),
  quotas: z.record(z.string(), z.number()),
  drainSeconds: z.number(),
  idealSeconds: z.number(),
  drainOverIdeal: z.number(),
  resourcesLeft: z.number(),
  wallSeconds: z.number(),
  peakRssMb: z.number(),
});
export type ScaleRun = z.infer<typeof ChildResult>;

export async function runScale(count: number): Promise<ScaleRun> {
  let stdout: string;
  try {
    ({ stdout } = await promisify(execFile)(
      process.execPath,
      ['-e', "await import('./bin/runtime.js'); await import('./bench/scale-child.ts')", '--', String(count)],
      { cwd: projectRoot, maxBuffer: 64 * 1024 * 1024 },
    ));
  } catch (error) {
    throw new ScaleRunError(`the sandbox run of ${count} drills failed`, { cause: error });
  }
  const line = stdout.trim().split('\n').at(-1) ?? '';
  try {
    return ChildResult.parse(JSON.parse(line));
  } catch (error) {
    throw new ScaleRunError(`the sandbox run of ${count} drills printed no result: ${line.slice(0, 200)}`, {
      cause: error,
    });
  }
}
