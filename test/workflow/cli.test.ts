import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main.js';
import { supportedResourceTypes } from '../../functions/resources/index.js';

/** `pilotlight drill`: strict input, events from anywhere, a settled world, exit 1 for lost triggers. */
let stdout: string;
let stderr: string;
const dir = mkdtempSync(join(tmpdir(), 'pilotlight-cli-'));

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

afterEach(() => {
  vi.restoreAllMocks();
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The RDS backup sample with some text replaced, written to a file for --event. */
function eventFile(name: string, replace: [string, string][] = [], change: Record<string, unknown> = {}) {
  let text = readFileSync('events/backup-job-completed-rds.json', 'utf8');
  for (const [from, to] of replace) text = text.replaceAll(from, to);
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify({ ...JSON.parse(text), ...change }));
  return path;
}

describe('pilotlight drill input', () => {
  it.each(['0x10', '1e2', '1.0', ' 5', '5 ', '-1', '1001'])('rejects --count %j', async (count) => {
    const code = await main(['drill', '--count', count]);

    expect(code).toBe(2);
    expect(stderr).toMatch(/^pilotlight: .*--count/);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stdout).toBe('');
  });

  it.each([
    ['api:Bakup.StartCopyJob=AccessDeniedException', /did you mean Backup\?/],
    ['api:Backup.StartCopyJob=AccessDenied', /Backup never returns "AccessDenied".*did you mean/],
    ['api:SFN.StartExecutions=AccessDeniedException', /did you mean StartExecution/],
  ])('rejects --fault %s with the nearest valid names', async (spec, message) => {
    const code = await main(['drill', '--fault', spec]);

    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });

  it.each([
    ['an S3 ARN for an RDS event', { resources: ['arn:aws:s3:::bucket/key'] }, /not a RDS recovery point/],
    ['region mars-1', { region: 'mars-1' }, /"mars-1" is not an AWS region/],
    [
      'a 1 MB ARN',
      { resources: [`arn:aws:rds:us-east-2:111111111111:snapshot:awsbackup:job-${'a'.repeat(1_048_576)}`] },
      /AWS allows 1600/,
    ],
    ['an account mismatch', { account: '123456789012' }, /belongs to 111111111111, not 123456789012/],
  ])('rejects an event with %s (exit 2, nothing started)', async (_what, change, message) => {
    const code = await main(['drill', '--event', eventFile('bad.json', [], change)]);

    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stdout).toBe('');
  });

  it('rejects events out of order', async () => {
    const later = eventFile('later.json', [['2026-01-05T01:58:12Z', '2026-01-05T04:00:00Z']]);
    const earlier = eventFile('earlier.json');

    const code = await main(['drill', '--event', later, '--event', earlier]);

    expect(code).toBe(2);
    expect(stderr).toMatch(/event 2 .* is earlier than event 1/);
  });
});

describe('pilotlight drill --event', () => {
  it('drills a backup from another account and region, measured from the event (exit 0)', async () => {
    const file = eventFile('other.json', [
      ['111111111111', '444455556666'],
      ['us-east-2', 'ap-southeast-2'],
      ['2026-01-05', '2024-11-20'],
    ]);

    const code = await main(['drill', '--event', file, '--json']);

    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.drills[0]).toMatchObject({
      status: 'SUCCEEDED',
      source: { account: '444455556666', region: 'ap-southeast-2' },
    });
    expect(report.sandbox.startedAt).toBe('2024-11-20T01:58:12.000Z');
    expect(report.drills[0].rtoSeconds).toBeLessThan(4 * 3600);
    expect(report.sandbox.alerts).toEqual([]);
  });

  it('reports for the copy-job sample an RTO that covers the whole drill', async () => {
    const code = await main(['drill', '--event', 'events/copy-job-completed-dr-vault.json', '--json']);

    expect(code).toBe(0);
    const [drill] = JSON.parse(stdout).drills;
    const validated = drill.steps.find((s: { name: string }) => s.name === 'ValidateRestore').endedAt;
    expect(drill.rtoSeconds).toBeGreaterThanOrEqual(
      (Date.parse(validated) - Date.parse(drill.steps[0].startedAt)) / 1000 - 1,
    );
  });

  it('delivers repeated --event files in order', async () => {
    const second = eventFile(
      'second.json',
      [
        ['2026-01-05T01:58:12Z', '2026-01-05T05:00:00Z'],
        ['5f8f3c2e-6f0a-4d7e-9c43-1d0b8a7e2c11', '5f8f3c2e-6f0a-4d7e-9c43-1d0b8a7e2c12'],
        ['orders-db-1', 'orders-db-2'],
        ['job-4c1e9a2b', 'job-5c1e9a2b'],
      ],
      {},
    );

    const code = await main(['drill', '--event', eventFile('first.json'), '--event', second, '--json']);

    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.drills.map((d: { status: string }) => d.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(Date.parse(report.drills[1].steps[0].startedAt)).toBeGreaterThanOrEqual(
      Date.parse('2026-01-05T05:00:00Z'),
    );
  });
});

describe('pilotlight drill exit status', () => {
  it.each([['lambda:intake=crash'], ['api:SFN.StartExecution=AccessDeniedException']])(
    'exits 1 when a trigger was accepted but never drilled (--fault %s)',
    async (fault) => {
      const code = await main([
        'drill',
        '--event',
        'events/backup-job-completed-rds.json',
        '--fault',
        fault,
        '--json',
      ]);

      expect(code).toBe(1);
      const report = JSON.parse(stdout);
      expect(report.drills).toEqual([]);
      expect(report.skipped).toEqual([]);
      expect(report.lostTriggers).toEqual([
        { eventId: '5f8f3c2e-6f0a-4d7e-9c43-1d0b8a7e2c11', reason: expect.stringMatching(/intake failed/) },
      ]);
    },
  );

  it('exits 1 when something is still left after settling, and names it', async () => {
    const code = await main(['drill', '--resource-type', 'EBS', '--fault', 'teardown=fail', '--json']);

    expect(code).toBe(1);
    const { sandbox } = JSON.parse(stdout);
    expect(sandbox.resourcesLeft).toBe(1);
    expect(sandbox.leftBehind).toHaveLength(1);
    // It waited for two sweeps after the drill.
    expect(sandbox.simulatedSeconds).toBeGreaterThan(2 * 3600);
  });

  it('lets the sweeper clean up after a teardown that crashes every time (nothing left, swept named)', async () => {
    const code = await main(['drill', '--fault', 'lambda:teardown=crash', '--json']);

    expect(code).toBe(1);
    const report = JSON.parse(stdout);
    expect(report.drills[0].status).toBe('FAILED');
    expect(report.sandbox.resourcesLeft).toBe(0);
    expect(report.sandbox.swept).toEqual([expect.stringMatching(/^arn:aws:rds:us-west-2:333333333333:db:/)]);
  });

  it('retries a 5xx as the SDK does: EBS with one DescribeVolumes InternalError succeeds', async () => {
    const code = await main([
      'drill',
      '--resource-type',
      'EBS',
      '--fault',
      'api:EC2.DescribeVolumes=InternalError*1',
      '--json',
    ]);

    expect(code).toBe(0);
    expect(JSON.parse(stdout).drills[0].status).toBe('SUCCEEDED');
  });

  it('takes --resource-type case-insensitively', async () => {
    const code = await main(['drill', '--resource-type', 'ebs', '--json']);

    expect(code).toBe(0);
    expect(JSON.parse(stdout).drills[0].source.resourceType).toBe('EBS');
  });

  it('rejects a resource type Pilotlight does not drill as bad input, listing the supported ones', async () => {
    const code = await main(['drill', '--resource-type', 'Mainframe', '--json']);

    expect(code).toBe(2);
    expect(stderr).toMatch(/"Mainframe" is not a supported resource type \(supported: RDS, EBS.*, or all\)/);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stdout).toBe('');
  });

  it('drills every supported type in turn with --resource-type all', async () => {
    const types = supportedResourceTypes.length;
    const code = await main(['drill', '--resource-type', 'all', '--count', String(types), '--json']);

    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(
      report.drills.map((d: { source: { resourceType: string } }) => d.source.resourceType).sort(),
    ).toEqual([...supportedResourceTypes].sort());
    expect(report.drills.every((d: { status: string }) => d.status === 'SUCCEEDED')).toBe(true);
    expect(report.sandbox.resourcesLeft).toBe(0);
  });

  it('exits 0 for a failover: what it restores is kept, not left behind', async () => {
    const code = await main(['drill', '--mode', 'failover', '--json']);

    expect(code).toBe(0);
    const { sandbox } = JSON.parse(stdout);
    expect(sandbox.resourcesLeft).toBe(1);
    expect(sandbox.kept).toEqual(sandbox.leftBehind);
  });
});

describe('pilotlight drill: events and quotas as a user gives them', () => {
  it('accepts an event file saved with a UTF-8 byte-order mark', async () => {
    const path = join(dir, 'bom.json');
    writeFileSync(path, `\uFEFF${readFileSync('events/backup-job-completed-rds.json', 'utf8')}`);

    const code = await main(['drill', '--event', path, '--json']);

    expect(code).toBe(0);
    expect(JSON.parse(stdout).drills).toHaveLength(1);
  });

  it.each([
    ['a backup job without an id', { detail: { state: 'COMPLETED', resourceType: 'RDS' } }, /backupJobId/],
    [
      'a recovery point that is not an ARN',
      { resources: ['not-an-arn'] },
      /not-an-arn is not a RDS recovery point/,
    ],
    ['an empty region', { region: '' }, /region/],
  ])('rejects %s with one line and exit 2, starting nothing', async (_name, change, message) => {
    const code = await main(['drill', '--event', eventFile('bad-detail.json', [], change)]);

    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stdout).toBe('');
  });

  it('enforces a service quota given with --quota: restores beyond the DB instance quota fail', async () => {
    const code = await main(['drill', '--count', '3', '--quota', 'rds-db-instances=1', '--json']);

    expect(code).toBe(1);
    const report = JSON.parse(stdout);
    expect(
      report.drills.map((d: { error: { message: string } | null }) => d.error?.message ?? '').join(),
    ).toMatch(/InstanceQuotaExceeded/);
  });

  it('rejects an unknown quota name, naming the known ones', async () => {
    const code = await main(['drill', '--quota', 'rds-instances=5']);

    expect(code).toBe(2);
    expect(stderr).toMatch(/--quota "rds-instances=5": unknown quota \(known: rds-db-instances,/);
  });
});
