import '../test/setup.js';
import * as z from 'zod';
import { render } from './render.js';
import { DEFAULT_OPTIONS, runBench } from './run.js';

/**
 * `npm run bench [-- --json]`: cost per drill against the polling baseline, detection latency, the burst,
 * bundles and the sandbox itself, all from one run (bench/run.ts). Smaller runs while developing:
 * BENCH_DRILLS (per type), BENCH_DETECTION (drills), BENCH_BURSTS (comma list of sandbox sizes),
 * BENCH_BUNDLES (comma list of function keys), BENCH_PROCESSES (fresh processes per bundle).
 */
const count = z.coerce.number().int().positive();
const list = z
  .string()
  .transform((text) => text.split(',').map((item) => item.trim()))
  .pipe(z.array(z.string().min(1)).min(1));
const Environment = z.object({
  BENCH_DRILLS: count.default(DEFAULT_OPTIONS.drillsPerType),
  BENCH_DETECTION: count.default(DEFAULT_OPTIONS.detectionDrills),
  BENCH_BURSTS: list
    .transform((items) => items.map(Number))
    .pipe(z.array(z.number().int().positive()))
    .optional(),
  BENCH_BUNDLES: list.optional(),
  BENCH_PROCESSES: count.default(DEFAULT_OPTIONS.bundleProcesses),
});
const Arguments = z.array(z.enum(['--json'])).max(1);

const parsedArgs = Arguments.safeParse(process.argv.slice(2));
const parsedEnv = Environment.safeParse(process.env);
if (!parsedArgs.success || !parsedEnv.success) {
  process.stderr.write(
    `usage: npm run bench [-- --json]; ${[parsedArgs.error, parsedEnv.error].flatMap((e) => e?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? []).join('; ')}\n`,
  );
  process.exit(2);
}
const env = parsedEnv.data;
const report = await runBench(
  {
    ...DEFAULT_OPTIONS,
    drillsPerType: env.BENCH_DRILLS,
    baselineDrillsPerType: env.BENCH_DRILLS,
    detectionDrills: env.BENCH_DETECTION,
    scaleSizes: env.BENCH_BURSTS ?? DEFAULT_OPTIONS.scaleSizes,
    bundleFunctions: env.BENCH_BUNDLES,
    bundleProcesses: env.BENCH_PROCESSES,
  },
  (line) => process.stderr.write(`bench: ${line}\n`),
);
process.stdout.write(
  parsedArgs.data.includes('--json') ? `${JSON.stringify(report, null, 2)}\n` : render(report),
);
process.exit(0);
