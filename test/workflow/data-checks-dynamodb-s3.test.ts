import { describe, expect, it } from 'vitest';
import { SEEDED_DATA_GAP_SECONDS, STALE_DATA_RPO_SECONDS } from '../../sandbox/resources/seeded-data.js';
import { onlyDrill, simulate } from './harness.js';

/**
 * Proof of data for DynamoDB and S3 (docs/validation.md): the restored table holds real items in the DR
 * account's dynalite, the restored bucket real objects with stored SHA-256 checksums, both exactly what the
 * source held at the recovery point; checkHealth runs the type's default profile (validations.yml
 * `orders-table`, `orders-archive`) against them with the DR role, no probe.
 */
const types = [
  {
    type: 'DynamoDB',
    checks: ['data: order items', 'data: sample orders', 'data: newest order update'],
    corrupt: {
      check: 'data: sample orders',
      detail: 'observed 2 of 3 keys found; missing {"orderId":"order-000000"}, expected 3 of 3 keys found',
    },
    freshness: 'data: newest order update',
    unreachable: {
      check: 'data: sample orders',
      detail:
        /^observed error: User: arn:aws:sts::333333333333:assumed-role\/pilotlight-dr-orchestrator\/\S+ is not authorized to perform: dynamodb:GetItem on resource: arn:aws:dynamodb:us-west-2:333333333333:table\/pl-dynamodb-[a-z0-9-]+ with an explicit deny in a resource-based policy, expected 3 of 3 keys found$/,
    },
  },
  {
    type: 'S3',
    checks: ['data: archived orders', 'data: archived order checksums', 'data: newest archived order'],
    corrupt: {
      check: 'data: archived order checksums',
      detail:
        // Fewer than 10 verified: the first object (every second one is damaged) always among the failures.
        /^observed [0-9] of 10 sampled objects verified; failed: orders\/2026\/01\/00000\.json \(SHA-256 mismatch\), .+, expected 10 sampled objects verify$/,
    },
    freshness: 'data: newest archived order',
    unreachable: {
      check: 'data: archived order checksums',
      detail:
        /^observed 0 of 10 sampled objects verified; failed: orders\/2026\/01\/00000\.json \(AccessDenied\), .+, expected 10 sampled objects verify$/,
    },
  },
] as const;

describe.each(types)('the data checks of a $type drill', (spec) => {
  const dataChecks = <T extends { name: string }>(checks: T[]) =>
    checks.filter((check) => check.name.startsWith('data: '));

  it('run the profile against the restored data, pass, and report the seeded data RPO', async () => {
    const { report, sandbox } = await simulate((s) => s.backupCompleted(spec.type));

    const drill = onlyDrill(report);
    expect(drill.status).toBe('SUCCEEDED');
    expect(dataChecks(drill.checks).map((check) => [check.name, check.passed])).toEqual(
      spec.checks.map((name) => [name, true]),
    );
    expect(drill.checks.find((check) => check.name === spec.freshness)?.detail).toMatch(
      new RegExp(
        `^observed newest \\S+ \\(data RPO ${SEEDED_DATA_GAP_SECONDS} s\\), expected newest data within 60 min of the recovery point`,
      ),
    );
    expect(drill.dataRpoSeconds).toBe(SEEDED_DATA_GAP_SECONDS);
    expect(report.sandbox.metrics).toContainEqual(
      expect.objectContaining({
        name: 'DataRpoSeconds',
        value: SEEDED_DATA_GAP_SECONDS,
        dimensions: expect.objectContaining({ ResourceType: spec.type }),
      }),
    );
    expect(report.sandbox.metrics).toContainEqual(
      expect.objectContaining({ name: 'DataRpoTargetBreached', value: 0 }),
    );
    // The evidence carries the profile's results and the data RPO.
    const evidence = sandbox.world.s3.objects.map((object) => object.body).join('\n');
    expect(evidence).toContain(`"dataRpoSeconds": ${SEEDED_DATA_GAP_SECONDS}`);
    expect(evidence).toContain(spec.checks[1].replace('data: ', ''));
    expect(report.sandbox.resourcesLeft).toBe(0);
    expect(report.sandbox.alerts).toEqual([]);
    // Every read went through the DR role and was allowed by its least-privilege policy.
    expect(sandbox.iam.denials).toEqual([]);
  });

  it('fails on the damaged data, observed against expected, under data=corrupt', async () => {
    const { report } = await simulate((s) => s.backupCompleted(spec.type), { faults: ['data=corrupt'] });

    const drill = onlyDrill(report);
    expect(drill.status).toBe('FAILED');
    expect(drill.error?.name).toBe('HealthCheckFailed');
    expect(drill.error?.message).toContain(spec.corrupt.check);
    const failed = drill.checks.find((check) => check.name === spec.corrupt.check);
    expect(failed?.passed).toBe(false);
    if (typeof spec.corrupt.detail === 'string') expect(failed?.detail).toBe(spec.corrupt.detail);
    else expect(failed?.detail).toMatch(spec.corrupt.detail);
    expect(report.sandbox.resourcesLeft).toBe(0);
    expect(report.sandbox.alerts.map((alert) => alert.subject)).toEqual([
      expect.stringContaining('drill FAILED (HealthCheckFailed)'),
    ]);
    expect(drill.evidence?.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('fails on freshness, with a data RPO past its target, under data=stale', async () => {
    const { report } = await simulate((s) => s.backupCompleted(spec.type), { faults: ['data=stale'] });

    const drill = onlyDrill(report);
    expect(drill.status).toBe('FAILED');
    expect(drill.error?.name).toBe('HealthCheckFailed');
    // Only freshness fails: everything is there, only older than the recovery point claims.
    expect(dataChecks(drill.checks).filter((check) => !check.passed)).toEqual([
      {
        name: spec.freshness,
        passed: false,
        detail: expect.stringMatching(
          new RegExp(
            `^observed newest \\S+ \\(data RPO ${STALE_DATA_RPO_SECONDS} s\\), expected newest data within 60 min of the recovery point`,
          ),
        ),
      },
    ]);
    expect(drill.dataRpoSeconds).toBe(STALE_DATA_RPO_SECONDS);
    expect(report.sandbox.metrics).toContainEqual(
      expect.objectContaining({ name: 'DataRpoTargetBreached', value: 1 }),
    );
    expect(report.sandbox.resourcesLeft).toBe(0);
    expect(report.sandbox.alerts).toHaveLength(1);
  });

  it('fails on the reads it is refused, observed against expected, under data=unreachable', async () => {
    const { report, sandbox } = await simulate((s) => s.backupCompleted(spec.type), {
      faults: ['data=unreachable'],
    });

    const drill = onlyDrill(report);
    expect(drill.status).toBe('FAILED');
    expect(drill.error?.name).toBe('HealthCheckFailed');
    expect(drill.error?.message).toContain(spec.unreachable.check);
    const refused = drill.checks.find((check) => check.name === spec.unreachable.check);
    expect(refused?.passed).toBe(false);
    expect(refused?.detail).toMatch(spec.unreachable.detail);
    // The refusal is the data's (a resource policy), not the DR role's: its policy allowed every call.
    expect(sandbox.iam.denials).toEqual([]);
    expect(report.sandbox.resourcesLeft).toBe(0);
    expect(report.sandbox.alerts).toHaveLength(1);
  });
});
