import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  GetObjectCommand,
  GetObjectRetentionCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AwsClients } from '../../cli/aws.js';
import { runEvidencePull } from '../../cli/evidence-pull.js';
import { main } from '../../cli/main.js';

/** `evidence pull --aws`: the window's evidence downloaded, each SHA-256 checked against S3's, each lock read. */
const cloudFormation = mockClient(CloudFormationClient);
const s3 = mockClient(S3Client);
const BUCKET = 'pilotlight-prod-evidencebucket-abc';
const NOW = new Date('2026-03-10T12:00:00Z');
const root = mkdtempSync(join(tmpdir(), 'pilotlight-pull-'));
let dirs = 0;
let lines: string[];
let stderr: string;

const clients = (): AwsClients => ({
  cloudFormation: new CloudFormationClient({ region: 'us-east-2' }),
  stepFunctions: new SFNClient({ region: 'us-east-2' }),
  s3: new S3Client({ region: 'us-east-2' }),
  region: 'us-east-2',
});
const out = { line: (text: string) => lines.push(text), progress: () => {} };

/** An evidence document as record-evidence writes it (only what the schema needs). */
function evidenceBody(drillId: string): string {
  const document = {
    schemaVersion: 1,
    drillId,
    executionName: drillId,
    status: 'SUCCEEDED',
    mode: 'drill',
    trigger: { kind: 'backup-job', at: '2026-03-09T02:00:00.000Z' },
    source: null,
    target: null,
    timeline: [],
    checks: [],
    rtoSeconds: 3000,
    rpoSeconds: 1800,
    rtoTargetSeconds: 14400,
    rtoTargetMet: true,
    restoredResourceArn: null,
    teardown: null,
    error: null,
    teardownError: null,
    recordedAt: '2026-03-09T03:00:00.000Z',
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** A GetObject body as the SDK returns it: a stream with the SDK's transform methods. */
function streamOf(text: string) {
  return Object.assign(Readable.from([text]), {
    transformToString: async () => text,
    transformToByteArray: async () => new TextEncoder().encode(text),
    transformToWebStream: () => Readable.toWeb(Readable.from([text])),
  });
}

function storedObject(
  key: string,
  body: string,
  options: { checksumOf?: string; mode?: 'COMPLIANCE' | 'GOVERNANCE'; until?: Date } = {},
) {
  const drillId = key.replace(/^.*\//, '').replace(/\.json$/, '');
  s3.on(GetObjectCommand, { Bucket: BUCKET, Key: key }).resolves({
    Body: streamOf(body),
    VersionId: `v-${drillId}`,
    ChecksumSHA256: createHash('sha256')
      .update(options.checksumOf ?? body)
      .digest('base64'),
    Metadata: { 'drill-id': drillId, status: 'SUCCEEDED' },
  });
  s3.on(GetObjectRetentionCommand, { Bucket: BUCKET, Key: key }).resolves({
    Retention: {
      Mode: options.mode ?? 'COMPLIANCE',
      RetainUntilDate: options.until ?? new Date('2027-03-09T03:00:00Z'),
    },
  });
}

function deployedStack() {
  cloudFormation.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'pilotlight-prod',
        StackStatus: 'UPDATE_COMPLETE',
        CreationTime: new Date('2026-01-01T00:00:00Z'),
        Outputs: [{ OutputKey: 'EvidenceBucketName', OutputValue: BUCKET }],
      },
    ],
  });
}

const newDir = () => join(root, `pulled-${++dirs}`);

beforeEach(() => {
  cloudFormation.reset();
  s3.reset();
  s3.on(ListObjectsV2Command).resolves({ Contents: [] });
  lines = [];
  stderr = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
});

afterEach(() => {
  vi.restoreAllMocks();
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('pilotlight evidence pull --aws', () => {
  it('downloads the evidence of the window from the stack’s bucket, verified and locked, as an evidence directory', async () => {
    // Prepare
    deployedStack();
    const key = 'evidence/2026/03/09/rds-20260309T0200-aaaa.json';
    const body = evidenceBody('rds-20260309T0200-aaaa');
    s3.on(ListObjectsV2Command, { Prefix: 'evidence/2026/03/09/' }).resolves({ Contents: [{ Key: key }] });
    storedObject(key, body);
    const dir = newDir();

    // Act
    const code = await runEvidencePull(['--aws', '--since', '7d', '--out', dir], clients, out, () => NOW);
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const verify = await main(['evidence', 'verify', '--evidence-dir', dir]);

    // Assess
    expect(code).toBe(0);
    expect(verify).toBe(0);
    expect(s3.commandCalls(ListObjectsV2Command).map((call) => call.args[0].input.Prefix)).toEqual([
      'evidence/2026/03/03/',
      'evidence/2026/03/04/',
      'evidence/2026/03/05/',
      'evidence/2026/03/06/',
      'evidence/2026/03/07/',
      'evidence/2026/03/08/',
      'evidence/2026/03/09/',
      'evidence/2026/03/10/',
    ]);
    expect(readFileSync(join(dir, 'rds-20260309T0200-aaaa.json'), 'utf8')).toBe(body);
    const sha256 = createHash('sha256').update(body).digest('hex');
    expect(readFileSync(join(dir, 'rds-20260309T0200-aaaa.json.sha256'), 'utf8')).toBe(
      `${sha256}  rds-20260309T0200-aaaa.json\n`,
    );
    expect(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'))).toMatchObject({
      evidence: [
        {
          drillId: 'rds-20260309T0200-aaaa',
          key,
          bucket: BUCKET,
          versionId: 'v-rds-20260309T0200-aaaa',
          lockMode: 'COMPLIANCE',
          retainUntil: '2027-03-09T03:00:00.000Z',
        },
      ],
    });
    expect(lines.at(-1)).toBe(
      `evidence 1 document(s) in the last 7 days, 1 verified and locked, written to ${dir}`,
    );
  });

  it('flags a body that does not match S3’s checksum and one not locked in COMPLIANCE mode, and exits 1', async () => {
    // Prepare
    deployedStack();
    const altered = 'evidence/2026/03/09/rds-altered.json';
    const governance = 'evidence/2026/03/09/rds-governance.json';
    s3.on(ListObjectsV2Command, { Prefix: 'evidence/2026/03/09/' }).resolves({
      Contents: [{ Key: altered }, { Key: governance }],
    });
    storedObject(altered, evidenceBody('rds-altered'), { checksumOf: 'what was stored' });
    storedObject(governance, evidenceBody('rds-governance'), { mode: 'GOVERNANCE' });
    const dir = newDir();

    // Act
    const code = await runEvidencePull(['--aws', '--since', '1d', '--out', dir], clients, out, () => NOW);

    // Assess
    expect(code).toBe(1);
    expect(lines).toContain(
      `PROBLEM   rds-altered  sha256 MISMATCH, locked until 2027-03-09T03:00:00.000Z  (s3://${BUCKET}/${altered})`,
    );
    expect(lines).toContain(
      `PROBLEM   rds-governance  sha256 verified, NOT LOCKED until 2027-03-09T03:00:00.000Z  (s3://${BUCKET}/${governance})`,
    );
    // The altered body is not copied as evidence.
    expect(() => readFileSync(join(dir, 'rds-altered.json'))).toThrow();
    expect(readFileSync(join(dir, 'rds-governance.json'), 'utf8')).toBe(evidenceBody('rds-governance'));
  });

  it('exits 1 when the window holds no evidence', async () => {
    // Prepare
    deployedStack();

    // Act
    const code = await runEvidencePull(
      ['--aws', '--since', '2d', '--out', newDir()],
      clients,
      out,
      () => NOW,
    );

    // Assess
    expect(code).toBe(1);
    expect(lines.at(-1)).toMatch(/^evidence 0 document\(s\) in the last 2 days/);
  });

  it.each([
    [['evidence', 'pull', '--out', 'x'], 'evidence pull reads a deployed stack: add --aws'],
    [
      ['evidence', 'pull', '--aws', '--since', '30', '--out', 'x'],
      '--since must be a number of days such as 30d',
    ],
    [['evidence', 'pull', '--aws'], '--out is required'],
  ])('rejects %j in one line before calling AWS', async (argv, message) => {
    // Act
    const code = await main(argv);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toContain(message);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(cloudFormation.calls()).toHaveLength(0);
  });

  it('says the stack is not deployed in one line (exit 2)', async () => {
    // Prepare
    cloudFormation.on(DescribeStacksCommand).rejects(
      Object.assign(new Error('Stack with id pilotlight-prod does not exist'), {
        name: 'ValidationError',
        $metadata: {},
      }),
    );

    // Act
    const code = await main(['evidence', 'pull', '--aws', '--region', 'us-west-2', '--out', newDir()]);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toMatch(/^pilotlight: stack pilotlight-prod is not deployed in us-west-2/);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });
});
