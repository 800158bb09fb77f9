import type { Caller, RestoredResource } from '../world.js';

/**
 * The resource a service call names (by id or ARN) in the caller's account and region, if it has not been
 * deleted: how every simulated service finds what it is asked about.
 */
export function findNamed<R extends RestoredResource>(
  resources: Iterable<R>,
  caller: Caller,
  idOrArn: string,
): R | undefined {
  for (const r of resources) {
    if (
      (r.id === idOrArn || r.arn === idOrArn) &&
      r.account === caller.account &&
      r.region === caller.region &&
      r.phase !== 'deleted'
    )
      return r;
  }
  return undefined;
}
