import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main.js';
import { PlanOutput } from '../../cli/plan.js';

/** `pilotlight plan --dry-run` and `pilotlight sweep` in the sandbox, as an operator runs them. */
let stdout: string;
let stderr: string;
const root = mkdtempSync(join(tmpdir(), 'pilotlight-cli-plan-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

beforeEach(() => {
  stdout = '';
  stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
});
afterEach(() => vi.restoreAllMocks());

describe('pilotlight plan --dry-run', () => {
  it('shows what the next run would start over the seeded estate, and starts nothing', async () => {
    // Act
    const code = await main(['plan', '--dry-run', '--count', '4', '--seed', '2', '--json']);

    // Assess
    expect(code).toBe(0);
    const plan = PlanOutput.parse(JSON.parse(stdout));
    expect(plan.dryRun).toBe(true);
    expect(plan.started).toEqual([]);
    expect(plan.planned.map((p) => `${p.policy.name}/${p.resourceType}`)).toEqual([
      'gold-daily/RDS',
      'gold-daily/EFS',
      'silver-weekly/EBS',
      'bronze-monthly/EC2',
    ]);
    expect(plan.skipped).toEqual([
      expect.objectContaining({ reason: expect.stringMatching(/not protected/) }),
    ]);
  }, 60_000);

  it('prints the plan for a person: policy, tier, resource, recovery point, targets and skips', async () => {
    // Act
    const code = await main(['plan', '--dry-run', '--count', '1']);

    // Assess
    expect(code).toBe(0);
    expect(stdout).toMatch(/^would start 1 drill\(s\):$/m);
    expect(stdout).toMatch(/gold-daily +gold +RDS +arn:aws:rds:us-east-2:111111111111:db:orders-db-100/);
    expect(stdout).toMatch(/targets RTO 2h, RPO 24h, data RPO 24h/);
    expect(stdout).toMatch(/^skipped 1:$/m);
  }, 60_000);

  it.each([
    [['plan'], /^pilotlight: plan needs --dry-run: /],
    [['plan', '--dry-run', '--count', '0'], /^pilotlight: --count must be at least 1\n/],
    [['plan', '--dry-run', '--stage', 'prod'], /^pilotlight: --stage needs --aws/],
    [['plan', '--dry-run', '--aws', '--seed', '3'], /^pilotlight: --seed is a sandbox flag/],
    [['sweep', '--fault', 'job:restore=BROKEN'], /^pilotlight: --fault: unknown fault "job:restore=BROKEN"/],
    [['sweep', '--dry-run'], /^pilotlight: sweep: Unknown option '--dry-run'/],
  ])('refuses %j with one line and exit 2', async (argv, message) => {
    // Act
    const code = await main(argv);

    // Assess
    expect(code).toBe(2);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(message);
    expect(stdout).toBe('');
  });
});

describe('pilotlight sweep', () => {
  it('drills the estate by policy with a fault, keeps every drill evidence, and the report shows both outcomes', async () => {
    // Prepare
    const evidenceDir = join(root, 'sweep-evidence');

    // Act
    const code = await main([
      'sweep',
      '--count',
      '5',
      '--seed',
      '8',
      '--fault',
      'api:Backup.StartRestoreJob=InvalidParameterValueException*2',
      '--evidence-dir',
      evidenceDir,
      '--json',
    ]);
    const report = JSON.parse(stdout) as {
      drills: {
        drillId: string;
        status: string;
        trigger: { kind: string };
        source: { resourceType: string };
      }[];
      plan: unknown;
      estate: { tier: string | null }[];
    };
    stdout = '';
    const reportCode = await main([
      'report',
      '--evidence-dir',
      evidenceDir,
      '--out',
      join(root, 'report.html'),
    ]);

    // Assess
    expect(code).toBe(1);
    const plan = PlanOutput.parse(report.plan);
    expect(plan.started).toHaveLength(5);
    expect(report.drills).toHaveLength(5);
    expect(report.drills.every((d) => d.trigger.kind === 'schedule')).toBe(true);
    expect(report.drills.filter((d) => d.status === 'FAILED')).toHaveLength(2);
    expect(report.drills.filter((d) => d.status === 'SUCCEEDED')).toHaveLength(3);
    expect(new Set(report.drills.map((d) => d.source.resourceType)).size).toBe(5);
    expect(readdirSync(evidenceDir).filter((f) => f.endsWith('.json') && f !== 'manifest.json')).toHaveLength(
      5,
    );
    expect(reportCode).toBe(0);
    const html = readFileSync(join(root, 'report.html'), 'utf8');
    expect(html).toContain('schedule: policy gold-daily (tier gold)');
    for (const drill of report.drills) expect(html).toContain(drill.drillId);
  }, 180_000);

  it('prints a summary line per drill with its tier and RTO against the tier target', async () => {
    // Act
    const code = await main(['sweep', '--count', '2', '--seed', '9']);

    // Assess
    expect(code).toBe(0);
    expect(stdout).toMatch(/^ {2}SUCCEEDED RDS +gold +RTO \d+s \/ 7200s met +rds-/m);
    expect(stdout).toMatch(/^ {2}SUCCEEDED EBS +silver +RTO \d+s \/ 14400s met +ebs-/m);
    expect(stdout).toMatch(/^2 drill\(s\): 2 succeeded, 0 failed; resources left 0; alerts 0$/m);
  }, 180_000);

  it('writes nothing when the evidence directory is unusable', async () => {
    // Prepare
    const file = join(root, 'not-a-dir');
    writeFileSync(file, 'x');

    // Act
    const code = await main(['sweep', '--evidence-dir', file]);

    // Assess
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(existsSync(join(file, 'manifest.json'))).toBe(false);
  });
});
