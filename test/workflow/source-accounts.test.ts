import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main.js';
import { type EventBridgeEvent, PROD_ACCOUNT, Sandbox } from '../../sandbox/index.js';
import { buildReport } from '../../sandbox/report.js';

/**
 * Only the configured source accounts are drilled. Every sandbox here is the deployment with
 * `sourceAccounts` = serverless.yml's (111111111111) plus 444455556666 (as `--source-account 444455556666`
 * gives it), so this file runs in its own process: the handler modules read their configuration once.
 * 555566667777 is an account of the organization (it runs the source stack and backs up) that the
 * deployment does not drill.
 */
const ADDED = '444455556666';
const UNKNOWN = '555566667777';
const dir = mkdtempSync(join(tmpdir(), 'pilotlight-accounts-'));

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function sampleEvent(file: string): EventBridgeEvent {
  return JSON.parse(readFileSync(`events/${file}`, 'utf8')) as EventBridgeEvent;
}

/** A sample event moved to another account, region and date, with its own ids (as `--event` would get it). */
function elsewhere(
  file: string,
  account: string,
  region: string,
  day: string,
  tag: string,
): EventBridgeEvent {
  const text = JSON.stringify(sampleEvent(file))
    .replaceAll(PROD_ACCOUNT, account)
    .replaceAll('us-east-2', region)
    .replaceAll('2026-01-05', day)
    .replaceAll('4c1e9a2b', tag)
    .replaceAll('4C1E9A2B', tag.toUpperCase());
  return { ...(JSON.parse(text) as EventBridgeEvent), id: `${tag}-${account}` };
}

async function settled(seed: number, startAt: number, drive: (sandbox: Sandbox) => void) {
  const sandbox = await Sandbox.create({ seed, startAt, sourceAccounts: [ADDED] });
  try {
    const startedAt = new Date(sandbox.clock.now).toISOString();
    drive(sandbox);
    await sandbox.runToSettled();
    return { report: buildReport(sandbox, seed, startedAt), sandbox };
  } finally {
    sandbox.dispose();
  }
}

describe('events from an account that is not a source account', () => {
  it('copy nothing, restore nothing, start no drill, and are counted in EventsFromUnknownAccounts', async () => {
    // Prepare: a backup and the plan's copy into the DR vault, both from the unknown account, and a backup
    // from an added source account beside them (it must be drilled: the sandbox is not simply refusing).
    const backup = elsewhere('backup-job-completed-rds.json', UNKNOWN, 'us-east-2', '2026-01-05', 'aa11aa11');
    const copy = elsewhere(
      'copy-job-completed-dr-vault.json',
      UNKNOWN,
      'us-east-2',
      '2026-01-05',
      'bb22bb22',
    );
    const allowed = elsewhere('backup-job-completed-rds.json', ADDED, 'eu-west-1', '2026-01-05', 'cc33cc33');

    // Act
    const { report, sandbox } = await settled(21, Date.parse(backup.time), (s) => {
      for (const event of [backup, copy, allowed]) s.deliverEvent(event);
    });

    // Assess
    expect(report.drills.map((d) => [d.source.account, d.status])).toEqual([[ADDED, 'SUCCEEDED']]);
    const skipped = report.skipped.filter((s) => s.eventId.endsWith(UNKNOWN));
    expect(skipped.map((s) => s.eventId).sort()).toEqual([backup.id, copy.id].sort());
    for (const skip of skipped)
      expect(skip.reason).toMatch(`account ${UNKNOWN} is not a source account of this deployment`);
    // Nothing of the unknown account's was copied, restored or deleted, and its recovery points are intact.
    const jobs = [...sandbox.world.jobs.values()];
    expect(jobs.filter((job) => JSON.stringify(job).includes(UNKNOWN))).toEqual([]);
    expect(jobs.filter((job) => job.kind === 'restore')).toHaveLength(1);
    expect(sandbox.world.recoveryPoints.get(backup.resources[0] ?? '')?.account).toBe(UNKNOWN);
    expect(report.sandbox.resourcesLeft).toBe(0);
    // Counted with the dimensions of its alarm (serverless.yml EventsFromUnknownAccountsAlarm).
    const alarm = sandbox.config.resources.EventsFromUnknownAccountsAlarm?.Properties;
    expect(alarm?.MetricName).toBe('EventsFromUnknownAccounts');
    const counted = report.sandbox.metrics.filter(
      (m) =>
        m.name === 'EventsFromUnknownAccounts' && JSON.stringify(m.dimensions) === '{"service":"pilotlight"}',
    );
    expect(counted.reduce((sum, m) => sum + m.value, 0)).toBe(2);
    expect(report.lostTriggers).toEqual([]);
  });

  it('fail a manual drill of the unknown account in PrepareDrill with SourceAccountNotAllowed, before any job', async () => {
    // Prepare
    const backup = elsewhere('backup-job-completed-rds.json', UNKNOWN, 'us-east-2', '2026-01-05', 'dd44dd44');

    // Act
    const { report, sandbox } = await settled(22, Date.parse(backup.time), (s) => {
      s.world.registerSourceAccount(UNKNOWN, 'us-east-2');
      s.iam.addSourceAccount(UNKNOWN, 'us-east-2');
      s.startManual(
        {
          mode: 'drill',
          source: {
            account: UNKNOWN,
            region: 'us-east-2',
            resourceType: 'RDS',
            recoveryPointArn: backup.resources[0] ?? '',
            backupVaultName: 'Default',
          },
        },
        'manual-unknown-account',
      );
    });

    // Assess
    const [drill] = report.drills;
    expect(drill?.status).toBe('FAILED');
    expect(drill?.error?.name).toBe('SourceAccountNotAllowed');
    expect(drill?.error?.message).toMatch(`account ${UNKNOWN} is not a source account`);
    expect(drill?.steps.map((s) => s.name)).not.toContain('CopyToDrVault');
    expect(sandbox.world.jobs.size).toBe(0);
  });
});

describe('events from an added source account (--source-account)', () => {
  it('provisions the account and region with the source stack, and starts the clock at the event', async () => {
    // Prepare
    const event = elsewhere('backup-job-completed-rds.json', ADDED, 'eu-west-1', '2025-03-10', 'ee55ee55');

    // Act
    const { report } = await settled(23, Date.parse(event.time), (s) => s.deliverEvent(event));

    // Assess
    const [drill] = report.drills;
    expect(drill?.status).toBe('SUCCEEDED');
    expect(drill?.source).toMatchObject({ account: ADDED, region: 'eu-west-1' });
    expect(report.sandbox.startedAt).toBe('2025-03-10T01:58:12.000Z');
    // Measured in the event's time: tens of minutes, not the months between its date and the default epoch.
    expect(drill?.rtoSeconds).toBeGreaterThan(15 * 60);
    expect(drill?.rtoSeconds).toBeLessThan(4 * 3600);
    expect(report.sandbox.alerts).toEqual([]);
  });

  it('is what pilotlight drill --source-account does: the event is drilled (exit 0)', async () => {
    // Prepare
    const file = join(dir, 'other.json');
    writeFileSync(
      file,
      JSON.stringify(
        elsewhere('backup-job-completed-rds.json', ADDED, 'ap-southeast-2', '2024-11-20', 'ff66ff66'),
      ),
    );
    let stdout = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout += String(chunk);
      return true;
    });

    // Act
    const code = await main(['drill', '--event', file, '--source-account', ADDED, '--json']);
    vi.restoreAllMocks();

    // Assess
    expect(code).toBe(0);
    const report = JSON.parse(stdout);
    expect(report.drills[0]).toMatchObject({
      status: 'SUCCEEDED',
      source: { account: ADDED, region: 'ap-southeast-2' },
    });
    expect(report.sandbox.startedAt).toBe('2024-11-20T01:58:12.000Z');
    expect(report.skipped).toEqual([]);
  });
});
