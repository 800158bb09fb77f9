import * as z from 'zod';
import { acquireSlot, expectedSeconds, poolOf } from './lib/admission.js';
import { Drill } from './lib/drill.js';
import { lambdaHandler } from './lib/handler.js';
import { logger } from './lib/observability.js';

const Input = z.object({ drill: Drill, pool: z.enum(['copy', 'restore']), taskToken: z.string().min(1) });

/**
 * Admission control before a copy or a restore: the drill gets a slot in its pool, or waits in the queue
 * (its task token parked) until a finishing drill hands one over: oldest first, and among drills queued
 * together the longest expected first. See lib/admission.ts.
 */
export async function acquire(input: z.infer<typeof Input>): Promise<{ result: 'admitted' | 'queued' }> {
  logger.appendKeys({ drillId: input.drill.drillId });
  const result = await acquireSlot(
    poolOf(input.pool, input.drill),
    input.drill.drillId,
    input.taskToken,
    expectedSeconds(input.pool, input.drill),
  );
  return { result };
}

export const handler = lambdaHandler(async (event: unknown) => acquire(Input.parse(event)));
