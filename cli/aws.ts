import { type AwsDrillOptions, UsageError } from './args.js';

export async function runAwsDrill(_options: AwsDrillOptions): Promise<number> {
  throw new UsageError('drill --aws is not available yet');
}

export async function runAwsStatus(_argv: readonly string[]): Promise<number> {
  throw new UsageError('status is not available yet');
}
