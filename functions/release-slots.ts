import * as z from 'zod';
import { poolOf, releaseSlot } from './lib/admission.js';
import { Drill } from './lib/drill.js';
import { lambdaHandler } from './lib/handler.js';
import { logger } from './lib/observability.js';

const Input = z.object({ drill: Drill, pools: z.array(z.enum(['copy', 'restore'])).min(1) });

/** Gives back the drill's admission slots (idempotent) and admits the drills waiting for them. */
export async function release(input: z.infer<typeof Input>): Promise<{ admitted: number }> {
  logger.appendKeys({ drillId: input.drill.drillId });
  let admitted = 0;
  for (const kind of input.pools)
    admitted += await releaseSlot(poolOf(kind, input.drill), input.drill.drillId);
  return { admitted };
}

export const handler = lambdaHandler(async (event: unknown) => release(Input.parse(event)));
