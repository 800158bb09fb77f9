import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { runBench } from '../../bench/run.js';
import { supportedResourceTypes } from '../../functions/resources/index.js';

/**
 * A smoke of `npm run bench` at tiny sizes: the same code, the `--json` shape and the relations that hold
 * whatever the sizes. No timing is asserted (benchmarks are not timed tests).
 */
const PerDrill = z.object({
  drills: z.number().int().positive(),
  failed: z.literal(0),
  transitions: z.number().positive(),
  lambdaInvocations: z.number().positive(),
  apiCalls: z.number().positive(),
  gbSeconds: z.number().positive(),
  costUsd: z.number().positive(),
});
const Detection = z.object({
  p50Seconds: z.number().nonnegative(),
  p99Seconds: z.number().nonnegative(),
  jobs: z.number().int().positive(),
  failedDrills: z.literal(0),
});
const BenchJson = z.object({
  perDrill: z.record(z.string(), PerDrill),
  baseline: z.record(z.string(), PerDrill),
  ratios: z.record(z.string(), z.object({ transitions: z.number(), costUsd: z.number() })),
  detection: z.object({ pilotlight: Detection, baseline: Detection }),
  burst: z.object({
    limit: z.record(z.string(), z.number().int().positive()),
    peakConcurrentRestores: z.record(z.string(), z.number().int().nonnegative()),
    failed: z.literal(0),
    drainSeconds: z.number().positive(),
    theoreticalSeconds: z.number().positive(),
  }),
  bundles: z.record(
    z.string(),
    z.object({ minifiedBytes: z.number().int().positive(), initMsMedian: z.number().positive() }),
  ),
  sandbox: z.object({
    runs: z.array(
      z.object({
        drills: z.number().int(),
        wallSeconds: z.number().positive(),
        peakRssMb: z.number().positive(),
      }),
    ),
  }),
  goals: z.array(z.object({ goal: z.string(), measured: z.string(), met: z.boolean() })).min(10),
});

describe('npm run bench (smoke)', () => {
  it('measures both designs on every supported type and prints the --json shape', {
    // A safety limit, not a measurement: on a shared 2-core machine the smoke run alone can take minutes.
    timeout: 300_000,
  }, async () => {
    // Prepare / Act
    const report = await runBench({
      drillsPerType: 2,
      baselineDrillsPerType: 1,
      detectionDrills: 5,
      detectionBatch: 5,
      bundleFunctions: ['publishResult'],
      bundleProcesses: 1,
      scaleSizes: [2],
      scaleInProcess: true,
    });
    const json = BenchJson.parse(JSON.parse(JSON.stringify(report)));

    // Assess
    expect(Object.keys(json.perDrill).sort()).toEqual([...supportedResourceTypes].sort());
    expect(Object.keys(json.baseline).sort()).toEqual([...supportedResourceTypes].sort());
    for (const type of supportedResourceTypes) {
      const [pilotlight, baseline] = [json.perDrill[type], json.baseline[type]];
      expect(baseline?.transitions).toBeGreaterThan(pilotlight?.transitions ?? Number.POSITIVE_INFINITY);
      expect(baseline?.costUsd).toBeGreaterThan(pilotlight?.costUsd ?? Number.POSITIVE_INFINITY);
      expect(json.ratios[type]?.transitions).toBeGreaterThan(1);
    }
    for (const design of [json.detection.pilotlight, json.detection.baseline]) {
      expect(design.p50Seconds).toBeLessThanOrEqual(design.p99Seconds);
      // Every drill has a copy and a restore job; a lost job event is picked up by the reconciler, never missed.
      expect(design.jobs).toBe(2 * 5);
    }
    expect(Object.keys(json.bundles)).toEqual(['publishResult']);
    for (const [type, peak] of Object.entries(json.burst.peakConcurrentRestores))
      expect(peak).toBeLessThanOrEqual(json.burst.limit[type] ?? 0);
    expect(json.sandbox.runs.map((run) => run.drills)).toEqual([2]);
  });
});
