import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main.js';

/**
 * Evidence taken away from a sandbox run (`drill --evidence-dir`), verified and rendered as the auditor's
 * report (`report`, `evidence verify`): the documents are the stored objects, byte for byte, and a single
 * changed byte is caught.
 */
let stdout: string;
let stderr: string;
const root = mkdtempSync(join(tmpdir(), 'pilotlight-report-'));
const evidenceDir = join(root, 'evidence');
const sha256 = (bytes: string | Buffer) => createHash('sha256').update(bytes).digest('hex');

function captureOutput() {
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
}

interface JsonRun {
  drills: { drillId: string; status: string; evidence: { sha256: string; key: string } | null }[];
}
const runs: { code: number; report: JsonRun }[] = [];

beforeAll(async () => {
  captureOutput();
  for (const argv of [
    ['--resource-type', 'EBS', '--count', '2', '--seed', '3'],
    ['--fault', 'job:restore=FAILED', '--seed', '5'],
  ]) {
    stdout = '';
    const code = await main(['drill', ...argv, '--evidence-dir', evidenceDir, '--json']);
    runs.push({ code, report: JSON.parse(stdout) as JsonRun });
  }
  vi.restoreAllMocks();
});

beforeEach(() => {
  captureOutput();
});

afterEach(() => {
  vi.restoreAllMocks();
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

const drills = () => runs.flatMap((run) => run.report.drills);

describe('pilotlight drill --evidence-dir', () => {
  it('writes each drill’s stored evidence document with its SHA-256 beside it and in the manifest', () => {
    // Prepare
    const files = readdirSync(evidenceDir).sort();

    // Assess
    expect(runs.map((run) => run.code)).toEqual([0, 1]);
    expect(drills()).toHaveLength(3);
    for (const drill of drills()) {
      const body = readFileSync(join(evidenceDir, `${drill.drillId}.json`));
      expect(sha256(body)).toBe(drill.evidence?.sha256);
      expect(readFileSync(join(evidenceDir, `${drill.drillId}.json.sha256`), 'utf8')).toBe(
        `${drill.evidence?.sha256}  ${drill.drillId}.json\n`,
      );
      expect(JSON.parse(body.toString())).toMatchObject({ drillId: drill.drillId, status: drill.status });
    }
    const manifest = JSON.parse(readFileSync(join(evidenceDir, 'manifest.json'), 'utf8')) as {
      evidence: { drillId: string; key: string; lockMode: string; retainUntil: string }[];
    };
    expect(manifest.evidence.map((e) => e.drillId).sort()).toEqual(
      drills()
        .map((d) => d.drillId)
        .sort(),
    );
    expect(manifest.evidence.every((e) => e.lockMode === 'COMPLIANCE' && e.retainUntil)).toBe(true);
    expect(files).toHaveLength(3 * 2 + 1);
  });

  it('records the timeline, the copy and restore jobs and the code version in the document', () => {
    // Prepare
    const failed = drills().find((d) => d.status === 'FAILED');
    const document = JSON.parse(readFileSync(join(evidenceDir, `${failed?.drillId}.json`), 'utf8')) as {
      codeVersion: string;
      copy: { copyJobId: string };
      restore: { restoreJobId: string };
      timeline: { step: string; startedAt?: string; endedAt?: string }[];
    };

    // Assess
    const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
    expect(document.codeVersion).toBe(version);
    expect(document.copy.copyJobId).toMatch(/^[0-9A-F-]{36}$/);
    expect(document.restore.restoreJobId).toMatch(/^[0-9A-F-]{36}$/);
    // The failed restore has a start from the drill record and no end.
    expect(document.timeline.find((s) => s.step === 'restore')).toMatchObject({
      startedAt: expect.any(String),
    });
    expect(document.timeline.find((s) => s.step === 'restore')?.endedAt).toBeUndefined();
  });

  it.each([
    ['a file', () => join(evidenceDir, 'manifest.json')],
    ['inside a file', () => join(evidenceDir, 'manifest.json', 'sub')],
  ])('exits 2 without running a drill when the directory is %s', async (_what, dir) => {
    // Act
    const code = await main(['drill', '--evidence-dir', dir()]);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toMatch(/^pilotlight: --evidence-dir .*cannot write there/);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stdout).toBe('');
  });
});

describe('pilotlight report', () => {
  it('renders one self-contained HTML file with every drill, check, timeline and verification', async () => {
    // Prepare
    const out = join(root, 'report.html');

    // Act
    const code = await main(['report', '--evidence-dir', evidenceDir, '--out', out]);

    // Assess
    const html = readFileSync(out, 'utf8');
    expect(code).toBe(0);
    expect(stdout).toMatch(/3 drill\(s\), 3 evidence file\(s\) verified, 0 not; written to/);
    for (const drill of drills()) {
      expect(html).toContain(drill.drillId);
      expect(html).toContain(drill.evidence?.sha256);
      expect(html).toContain(`aria-label="timeline of ${drill.drillId}"`);
    }
    for (const check of ['resource-available', 'data-integrity', 'isolated-network'])
      expect(html).toContain(check);
    for (const section of ['Summary', 'Resources', 'Compliance', 'estimated cost', 'COMPLIANCE until'])
      expect(html).toContain(section);
    expect(html).toContain('RestoreJobFailed');
    // Failed drills first: the failed drill's section comes before every succeeded one.
    const failed = drills().find((d) => d.status === 'FAILED')?.drillId ?? '';
    const sections = [...html.matchAll(/<section class="drill (\w+)" id="([^"]+)"/g)].map((m) => m[2]);
    expect(sections[0]).toBe(failed);
    expect(html.match(/verified: SHA-256/g)).toHaveLength(3);
  });

  it('loads nothing from the network: no script, no link, no remote URL, and a CSP that forbids it', async () => {
    // Act
    await main(['report', '--evidence-dir', evidenceDir]);

    // Assess
    expect(stdout).toMatch(/^<!doctype html>/);
    expect(stdout).not.toMatch(/<script|<link|<iframe|<img|@import|url\(|src=|https?:\/\//i);
    expect(stdout).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
  });

  it('renders the same content as Markdown', async () => {
    // Prepare
    const out = join(root, 'report.md');

    // Act
    const code = await main(['report', '--evidence-dir', evidenceDir, '--format', 'md', '--out', out]);

    // Assess
    const md = readFileSync(out, 'utf8');
    expect(code).toBe(0);
    expect(md).toMatch(/^# Pilotlight DR drill report/);
    for (const drill of drills()) expect(md).toContain(`### ${drill.drillId} — ${drill.status}`);
    expect(md).toContain('| data-integrity | ✅ passed |');
    expect(md).toContain('## Compliance');
  });

  it.each([
    [['report'], '--evidence-dir is required'],
    [['report', '--evidence-dir', '/nonexistent/evidence'], 'not a readable directory'],
    [['report', '--evidence-dir', '.', '--format', 'pdf'], '--format must be html or md'],
    [['report', '--evidence-dir', 'events'], 'not an evidence directory'],
  ])('exits 2 with one line for %j', async (argv, message) => {
    // Act
    const code = await main(argv);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toContain(message);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stdout).toBe('');
  });
});

describe('a tampered evidence file', () => {
  it('is flagged in the report and by evidence verify, and both exit 1', async () => {
    // Prepare: one byte of one document changed after it was taken away
    const tampered = join(root, 'tampered');
    const source = drills().find((d) => d.status === 'SUCCEEDED')?.drillId ?? '';
    cpSync(evidenceDir, tampered, { recursive: true });
    const path = join(tampered, `${source}.json`);
    const bytes = readFileSync(path);
    const at = bytes.indexOf('"rtoSeconds": ') + '"rtoSeconds": '.length;
    bytes[at] = bytes[at] === 0x31 ? 0x32 : 0x31;
    writeFileSync(path, bytes);

    // Act
    const reportCode = await main([
      'report',
      '--evidence-dir',
      tampered,
      '--out',
      join(root, 'tampered.html'),
    ]);
    const verifyCode = await main(['evidence', 'verify', '--evidence-dir', tampered]);

    // Assess
    const html = readFileSync(join(root, 'tampered.html'), 'utf8');
    expect(reportCode).toBe(1);
    expect(verifyCode).toBe(1);
    expect(html).toContain('1 evidence file(s) FAILED verification');
    expect(html).toMatch(
      new RegExp(
        `EVIDENCE TAMPERED: TAMPERED: SHA-256 of the file is [0-9a-f]{64}, but ${source}\\.json\\.sha256 records`,
      ),
    );
    const sections = [...html.matchAll(/<section class="drill \w+" id="([^"]+)"/g)].map((m) => m[1]);
    expect(sections[0]).toBe(source);
    expect(stdout).toContain(`TAMPERED  ${source}.json`);
    expect(stderr).toContain(`pilotlight: ${source}.json: TAMPERED`);
  });
});

describe('pilotlight --help', () => {
  it('lists every command, and each command has its own help with usage and examples', async () => {
    // Act
    const code = await main(['--help']);
    const top = stdout;
    const pages: Record<string, string> = {};
    for (const command of ['drill', 'status', 'evidence', 'report', 'plan', 'sweep']) {
      stdout = '';
      expect(await main([command, '--help'])).toBe(0);
      pages[command] = stdout;
    }

    // Assess
    expect(code).toBe(0);
    for (const command of ['drill', 'status', 'evidence', 'report', 'plan', 'sweep'])
      expect(top).toMatch(new RegExp(`^  ${command} `, 'm'));
    for (const command of ['drill', 'status', 'evidence', 'report', 'plan', 'sweep']) {
      expect(pages[command]).toMatch(
        new RegExp(`^pilotlight ${command} — [\\s\\S]*usage:[\\s\\S]*examples:[\\s\\S]*exit status:`),
      );
      expect(pages[command]).toContain('more: docs/cli.md');
    }
    expect(top).toContain('more: docs/cli.md');
    expect(pages.drill).toContain('--evidence-dir DIR');
  });

  it('prints the version from package.json', async () => {
    // Act
    const code = await main(['--version']);

    // Assess
    expect(code).toBe(0);
    expect(stdout).toBe(
      `${(JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version}\n`,
    );
  });

  it.each([[['restore']], [['plan']], [['evidence', 'check', '--evidence-dir', '.']], [['drill', 'extra']]])(
    'exits 2 with one line for %j',
    async (argv) => {
      // Act
      const code = await main(argv);

      // Assess
      expect(code).toBe(2);
      expect(stderr).toMatch(/^pilotlight: /);
      expect(stderr.trim().split('\n')).toHaveLength(1);
      expect(stdout).toBe('');
    },
  );
});
