import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main.js';

/** The `pilotlight drill` contract: exit status, the --json shape, one-line errors for bad input. */
let stdout: string;
let stderr: string;
/** Event files the tests write, removed when the file's tests are done. */
const dir = mkdtempSync(join(tmpdir(), 'pilotlight-events-'));

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

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/**
 * A completed backup of a type no module drills (a VMware virtual machine behind AWS Backup gateway), shaped
 * like events/backup-job-completed-rds.json: written here because events/ holds only types Pilotlight drills.
 */
function unsupportedTypeEvent(): string {
  return file(
    'backup-job-completed-virtual-machine.json',
    JSON.stringify({
      version: '0',
      id: 'd4e5f6a7-b8c9-4d0e-8f1a-2b3c4d5e6f70',
      'detail-type': 'Backup Job State Change',
      source: 'aws.backup',
      account: '111111111111',
      time: '2026-01-05T01:58:12Z',
      region: 'us-east-2',
      resources: [
        'arn:aws:backup:us-east-2:111111111111:recovery-point:0f1e2d3c-4b5a-4978-8a9b-0c1d2e3f4a5b',
      ],
      detail: {
        backupJobId: '5D2F0B3C-8E4A-4F9B-A6D7-1A2B3C4D5E6F',
        backupSizeInBytes: '107374182400',
        backupVaultArn: 'arn:aws:backup:us-east-2:111111111111:backup-vault:Default',
        backupVaultName: 'Default',
        creationDate: '2026-01-05T01:31:40.512Z',
        completionDate: '2026-01-05T01:57:59.120Z',
        iamRoleArn: 'arn:aws:iam::111111111111:role/service-role/AWSBackupDefaultServiceRole',
        resourceArn: 'arn:aws:backup-gateway:us-east-2:111111111111:vm/vm-0123456789abcdef0',
        resourceType: 'VirtualMachine',
        state: 'COMPLETED',
        percentDone: '100.0',
      },
    }),
  );
}

describe('pilotlight drill', () => {
  it('exits 0 and prints the timeline, RTO, RPO, evidence and outcome', async () => {
    const code = await main(['drill']);

    expect(code).toBe(0);
    expect(stdout).toMatch(/RestoreInDrAccount\s+\d+m\d+s\s+SUCCEEDED/);
    expect(stdout).toMatch(/RTO\s+\d+h?\d*m?/);
    // The RDS drill's data checks ran against the restored PostgreSQL: its newest row is 4 minutes old.
    expect(stdout).toMatch(/data RPO 4m00s/);
    expect(stdout).toMatch(/evidence s3:\/\/\S+ sha256 [0-9a-f]{64}/);
    expect(stdout).toMatch(/outcome\s+SUCCEEDED/);
  });

  it('prints the --json contract for an EBS drill', async () => {
    const code = await main(['drill', '--resource-type', 'EBS', '--json']);

    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.drills[0]).toMatchObject({
      status: 'SUCCEEDED',
      mode: 'drill',
      source: { resourceType: 'EBS' },
    });
    expect(Object.keys(report.drills[0])).toEqual(
      expect.arrayContaining([
        'drillId',
        'executionName',
        'status',
        'mode',
        'trigger',
        'source',
        'target',
        'steps',
        'rtoSeconds',
        'rpoSeconds',
        'dataRpoSeconds',
        'checks',
        'evidence',
        'error',
        'restoreValidation',
      ]),
    );
    // Not a restore testing job's validation: no status was put.
    expect(report.drills[0].restoreValidation).toBeNull();
    expect(report.drills[0].evidence.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(report.sandbox.resourcesLeft).toBe(0);
    expect(Object.keys(report.sandbox)).toEqual(
      expect.arrayContaining([
        'resourcesLeft',
        'alerts',
        'metrics',
        'transitions',
        'lambdaInvocations',
        'apiCalls',
        'peakConcurrentRestores',
        'simulatedSeconds',
        'wallMs',
      ]),
    );
  });

  it('exits 1 when the restore fails, with an alert, evidence and nothing left', async () => {
    const code = await main(['drill', '--fault', 'job:restore=FAILED', '--json']);

    expect(code).toBe(1);
    const report = JSON.parse(stdout);
    expect(report.drills[0].status).toBe('FAILED');
    expect(report.sandbox.alerts).toHaveLength(1);
    expect(report.drills[0].evidence.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(report.sandbox.resourcesLeft).toBe(0);
  });

  it.each([
    ['events/backup-job-failed.json', /not a drill trigger/],
    ['events/restore-job-completed.json', /no drill waits for job/],
  ])('exits 0 and reports %s as skipped with the reason', async (event, reason) => {
    const code = await main(['drill', '--event', event, '--json']);

    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.drills).toEqual([]);
    expect(report.skipped).toEqual([{ eventId: expect.any(String), reason: expect.stringMatching(reason) }]);
  });

  it('exits 0 and reports a backup of a type no module drills as skipped with the reason', async () => {
    const code = await main(['drill', '--event', unsupportedTypeEvent(), '--json']);

    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.drills).toEqual([]);
    expect(report.skipped).toEqual([
      {
        eventId: expect.any(String),
        reason: expect.stringMatching(/resource type VirtualMachine is not supported/),
      },
    ]);
  });

  it('drills a DynamoDB table from its sample event', async () => {
    const code = await main(['drill', '--event', 'events/backup-job-completed-dynamodb.json', '--json']);

    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.drills[0].status).toBe('SUCCEEDED');
    expect(report.drills[0].source.recoveryPointArn).toBe(
      'arn:aws:backup:us-east-2:111111111111:recovery-point:7b6a5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d',
    );
    expect(report.sandbox.resourcesLeft).toBe(0);
  });

  it('validates the restore testing job of its sample event (mode validate): nothing left, exit 0', async () => {
    const code = await main(['drill', '--event', 'events/restore-testing-job-completed.json', '--json']);

    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.drills).toHaveLength(1);
    expect(report.drills[0]).toMatchObject({
      drillId: 'restore-test-8f2e4d6c-0b1a-4938-8776-5d4c3b2a1f0e',
      status: 'SUCCEEDED',
      mode: 'validate',
      trigger: { kind: 'restore-test', jobId: '8F2E4D6C-0B1A-4938-8776-5D4C3B2A1F0E' },
    });
    expect(report.drills[0].steps.map((step: { name: string }) => step.name)).toEqual([
      'PrepareDrill',
      'ReportValidating',
      'ValidateRestore',
      'RecordEvidence',
      'PublishResult',
      'ReportVerdict',
    ]);
    expect(report.sandbox.transitions).toBe(13);
    expect(report.sandbox.resourcesLeft).toBe(0);
    // The final status put on the restore testing job (PutRestoreValidationResult).
    expect(report.drills[0].restoreValidation).toEqual({
      status: 'SUCCESSFUL',
      message: expect.stringMatching(/^\d+ checks passed$/),
    });
  });

  it('validates the RDS restore testing job of its sample event with the data checks: one SUCCESSFUL put', async () => {
    const code = await main(['drill', '--event', 'events/restore-testing-job-completed-rds.json', '--json']);

    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.drills).toHaveLength(1);
    expect(report.drills[0]).toMatchObject({
      drillId: 'restore-test-4a7c9e1b-3d5f-4b7a-9c1e-2f4a6c8e0b3d',
      status: 'SUCCEEDED',
      mode: 'validate',
      source: { resourceType: 'RDS' },
      restoreValidation: { status: 'SUCCESSFUL', message: '8 checks passed' },
    });
    expect(
      report.drills[0].checks.filter((check: { name: string }) => check.name.startsWith('data: ')),
    ).toHaveLength(3);
    expect(report.drills[0].steps.map((step: { name: string }) => step.name)).not.toContain('TearDown');
    expect(report.sandbox.resourcesLeft).toBe(0);
  });

  it('runs the drill an event file asks for', async () => {
    const code = await main(['drill', '--event', 'events/backup-job-completed-ebs.json', '--json']);

    expect(code).toBe(0);
    expect(JSON.parse(stdout).drills[0].source.recoveryPointArn).toBe(
      'arn:aws:ec2:us-east-2::snapshot/snap-0a1b2c3d4e5f60718',
    );
  });

  it.each([
    [['drill', '--event', 'not-json'], 'not JSON', '{"version":'],
    [['drill', '--event', 'not-an-event'], 'not an EventBridge event', '{"hello":"world"}'],
    [['drill', '--event', '/nonexistent/file.json'], 'cannot read the file', undefined],
    [['drill', '--fault', 'job:restore=EXPLODED'], 'unknown fault', undefined],
    [['drill', '--fault', 'region:mars=down'], 'unknown fault', undefined],
    [['drill', '--fault', 'lambda:nope=crash'], 'no function "nope"', undefined],
    [['drill', '--count', '0'], '--count must be at least 1', undefined],
    [['drill', '--mode', 'chaos'], '--mode must be drill or failover', undefined],
    [['drill', '--seed', 'x'], '--seed must be a number', undefined],
    [['drill', '--bogus'], "Unknown option '--bogus'", undefined],
    [['restore'], 'unknown command', undefined],
  ])('exits 2 with one line on stderr for %j', async (argv, message, content) => {
    const args = [...argv];
    if (content !== undefined) args[2] = file(String(argv[2]), content);

    const code = await main(args);

    expect(code).toBe(2);
    expect(stderr).toContain(message);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stdout).toBe('');
  });
});
