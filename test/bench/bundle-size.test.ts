import { describe, expect, it } from 'vitest';
import { measureBundles } from '../../bench/bundles.js';

/**
 * The lean-functions budget (issue 12, BENCHMARKS.md): what a cold start loads stays at most 600 KB minified for
 * every function in serverless.yml, bundled as `serverless package` does it. A size, not a time: the init-time
 * goal is measured by `npm run bench` only. Each bundle is also loaded once with its lazy chunks (processes: 0),
 * with its package files at LAMBDA_TASK_ROOT, so a function that cannot initialise fails here.
 */
const BUDGET_BYTES = 600 * 1024;

describe('function bundles', () => {
  it('every function loads at most 600 KB at cold start, and every bundle initialises', async () => {
    const figures = await measureBundles({ processes: 0 });
    const over = Object.entries(figures)
      .filter(([, f]) => f.minifiedBytes > BUDGET_BYTES)
      .map(([name, f]) => `${name} ${Math.round(f.minifiedBytes / 1024)} KB`);
    expect(over).toEqual([]);
    expect(Object.keys(figures)).toContain('checkHealth');
    expect(Object.keys(figures)).toContain('plan');
  }, 240_000);
});
