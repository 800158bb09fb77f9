import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';
import { UsageError } from './args.js';

/**
 * Evidence taken away from the bucket: one `<drillId>.json` per drill, byte for byte the object stored
 * under Object Lock, a `<drillId>.json.sha256` beside it (`sha256sum -c` reads it) and `manifest.json`
 * with where each one is stored and until when it is retained. The report verifies every file against
 * both hashes before it says anything about the drill.
 */
export const MANIFEST = 'manifest.json';

/** Where a document came from: the bucket, key and version it is stored under, and its lock. */
export const ManifestEntry = z.object({
  drillId: z.string().min(1),
  file: z.string().regex(/^[A-Za-z0-9._-]+\.json$/),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bucket: z.string(),
  key: z.string(),
  versionId: z.string().nullable(),
  lockMode: z.string().nullable(),
  retainUntil: z.string().nullable(),
});
export type ManifestEntry = z.infer<typeof ManifestEntry>;

export const Manifest = z.object({
  generatedBy: z.string(),
  evidence: z.array(ManifestEntry),
});
export type Manifest = z.infer<typeof Manifest>;

const nullableNumber = z.number().nullable();
const Check = z
  .object({
    name: z.string(),
    passed: z.boolean(),
    detail: z.string(),
    observed: z.unknown().optional(),
    expected: z.unknown().optional(),
    query: z.unknown().optional(),
  })
  .passthrough();

/**
 * The evidence document as record-evidence writes it (functions/lib/evidence.ts). Fields added after schema
 * version 1 was first written are optional, so older documents still read.
 */
export const EvidenceDocument = z
  .object({
    schemaVersion: z.number(),
    drillId: z.string().min(1),
    executionName: z.string(),
    status: z.enum(['SUCCEEDED', 'FAILED']),
    mode: z.string(),
    trigger: z
      .object({
        kind: z.string(),
        eventId: z.string().optional(),
        jobId: z.string().optional(),
        at: z.string(),
      })
      .passthrough()
      .nullable(),
    source: z
      .object({
        account: z.string(),
        region: z.string(),
        resourceType: z.string(),
        resourceArn: z.string().optional(),
        recoveryPointArn: z.string(),
        backupVaultName: z.string().optional(),
        recoveryPointCreatedAt: z.string().optional(),
      })
      .passthrough()
      .nullable(),
    target: z
      .object({ account: z.string(), region: z.string(), vault: z.string(), vaultArn: z.string().optional() })
      .passthrough()
      .nullable(),
    timeline: z.array(
      z.object({
        step: z.string(),
        startedAt: z.string().optional(),
        endedAt: z.string().optional(),
        seconds: nullableNumber,
      }),
    ),
    checks: z.array(Check),
    rtoSeconds: nullableNumber,
    rpoSeconds: nullableNumber,
    dataRpoSeconds: nullableNumber.optional(),
    queuedSeconds: z.number().optional(),
    rtoTargetSeconds: z.number(),
    rtoTargetMet: z.boolean().nullable(),
    rpoTargetSeconds: nullableNumber.optional(),
    dataRpoTargetSeconds: nullableNumber.optional(),
    /** The policy that started a scheduled drill (policies.yml) and its tier. */
    policy: z.object({ name: z.string(), tier: z.string() }).nullable().optional(),
    restoredResourceArn: z.string().nullable(),
    redrillOf: z.string().nullable().optional(),
    teardown: z
      .object({ deleted: z.array(z.string()), alreadyGone: z.array(z.string()), completedAt: z.string() })
      .nullable(),
    error: z.object({ name: z.string(), message: z.string() }).nullable(),
    teardownError: z.object({ name: z.string(), message: z.string() }).nullable(),
    recordedAt: z.string(),
    codeVersion: z.string().nullable().optional(),
    copy: z
      .object({
        copyJobId: z.string().nullable(),
        drRecoveryPointArn: z.string().nullable(),
        skipped: z.boolean(),
      })
      .nullable()
      .optional(),
    restore: z
      .object({ restoreJobId: z.string().nullable(), startedAt: z.string().nullable() })
      .nullable()
      .optional(),
  })
  .passthrough();
export type EvidenceDocument = z.infer<typeof EvidenceDocument>;

/** The evidence directory cannot be used (missing, not a directory, not writable, unreadable). */
export class EvidenceDirError extends UsageError {}

/** A stored object whose body does not hash to the SHA-256 recorded with it: never copied as evidence. */
export class EvidenceIntegrityError extends Error {
  override readonly name = 'EvidenceIntegrityError';
}

/** What one stored object contributes to the directory. */
export interface StoredEvidence {
  drillId: string;
  body: string;
  sha256: string;
  bucket: string;
  key: string;
  versionId: string | null;
  lockMode: string | null;
  retainUntil: string | null;
}

export const sha256Of = (bytes: string | Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** A file name for a drill id (execution names are [A-Za-z0-9_-]; anything else is replaced). */
export const evidenceFileName = (drillId: string): string =>
  `${drillId.replace(/[^A-Za-z0-9._-]/g, '_')}.json`;

/** Creates the directory if needed and proves it writable, before any drill runs. */
export async function prepareEvidenceDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    if (!(await stat(dir)).isDirectory()) throw new Error('not a directory');
    await access(dir, constants.W_OK);
  } catch (error) {
    const reason =
      error instanceof Error && 'code' in error
        ? String(error.code)
        : error instanceof Error
          ? error.message
          : '';
    throw new EvidenceDirError(`--evidence-dir ${dir}: cannot write there (${reason})`, { cause: error });
  }
}

async function readManifest(dir: string): Promise<Manifest | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST), 'utf8');
  } catch {
    return undefined;
  }
  const parsed = Manifest.safeParse(parseJson(text));
  if (!parsed.success)
    throw new EvidenceDirError(`${join(dir, MANIFEST)}: not a Pilotlight evidence manifest`, {
      cause: parsed.error,
    });
  return parsed.data;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Writes each document, its `.sha256` and the manifest (merged with one already there, so several runs
 * can share a directory and the report shows their history). Returns the files written.
 */
export async function writeEvidence(
  dir: string,
  documents: readonly StoredEvidence[],
  generatedBy: string,
): Promise<string[]> {
  const previous = (await readManifest(dir))?.evidence ?? [];
  const written: ManifestEntry[] = [];
  for (const document of documents) {
    // The body is the stored object itself; its hash is recomputed so a bad copy is never certified.
    const sha256 = sha256Of(document.body);
    if (sha256 !== document.sha256)
      throw new EvidenceIntegrityError(
        `evidence of ${document.drillId}: the stored object's SHA-256 does not match its body`,
      );
    const file = evidenceFileName(document.drillId);
    await writeFile(join(dir, file), document.body);
    await writeFile(join(dir, `${file}.sha256`), `${sha256}  ${file}\n`);
    written.push({
      drillId: document.drillId,
      file,
      sha256,
      bucket: document.bucket,
      key: document.key,
      versionId: document.versionId,
      lockMode: document.lockMode,
      retainUntil: document.retainUntil,
    });
  }
  const files = new Set(written.map((entry) => entry.file));
  const manifest: Manifest = {
    generatedBy,
    evidence: [...previous.filter((entry) => !files.has(entry.file)), ...written],
  };
  await writeFile(join(dir, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  return written.map((entry) => join(dir, entry.file));
}

/** How a file compares with the hashes recorded for it. */
export type Verification =
  | { status: 'verified'; sha256: string }
  | { status: 'tampered'; sha256: string; expected: string; against: string }
  | { status: 'unverifiable'; sha256: string; reason: string }
  | { status: 'invalid'; sha256: string; reason: string }
  | { status: 'missing'; reason: string };

export interface VerifiedEvidence {
  file: string;
  verification: Verification;
  /** The parsed document; absent when the file is missing or not an evidence document. */
  document?: EvidenceDocument;
  stored?: ManifestEntry;
}

export const isVerified = (evidence: VerifiedEvidence): boolean =>
  evidence.verification.status === 'verified';

/**
 * Reads every evidence file in the directory and checks it against its `.sha256` and the manifest:
 * `tampered` when either hash differs, `unverifiable` when no hash was recorded, `invalid` when the file is
 * not an evidence document, `missing` when the manifest names a file that is gone.
 */
export async function readEvidenceDir(dir: string): Promise<VerifiedEvidence[]> {
  let names: string[];
  try {
    if (!(await stat(dir)).isDirectory()) throw new Error('not a directory');
    names = await readdir(dir);
  } catch (error) {
    throw new EvidenceDirError(`--evidence-dir ${dir}: not a readable directory`, { cause: error });
  }
  const manifest = await readManifest(dir);
  const stored = new Map((manifest?.evidence ?? []).map((entry) => [entry.file, entry]));
  const files = names.filter((name) => name.endsWith('.json') && name !== MANIFEST).sort();
  const results: VerifiedEvidence[] = [];
  for (const file of files) {
    const bytes = await readFile(join(dir, file));
    const sha256 = sha256Of(bytes);
    const sidecar = await readFile(join(dir, `${file}.sha256`), 'utf8').then(
      (text) => /^([0-9a-f]{64})\b/.exec(text.trim())?.[1] ?? 'unreadable',
      () => undefined,
    );
    const entry = stored.get(file);
    const expected = [
      ...(sidecar === undefined ? [] : [{ hash: sidecar, against: `${file}.sha256` }]),
      ...(entry ? [{ hash: entry.sha256, against: `${MANIFEST} (s3://${entry.bucket}/${entry.key})` }] : []),
    ];
    const mismatch = expected.find((e) => e.hash !== sha256);
    const parsed = EvidenceDocument.safeParse(parseJson(bytes.toString('utf8')));
    const document = parsed.success ? parsed.data : undefined;
    let verification: Verification;
    if (mismatch)
      verification = { status: 'tampered', sha256, expected: mismatch.hash, against: mismatch.against };
    else if (expected.length === 0)
      verification = { status: 'unverifiable', sha256, reason: `no ${file}.sha256 and no manifest entry` };
    else if (!parsed.success)
      verification = {
        status: 'invalid',
        sha256,
        reason: `not an evidence document (${parsed.error.issues[0]?.path.join('.') || 'document'}: ${parsed.error.issues[0]?.message})`,
      };
    else verification = { status: 'verified', sha256 };
    results.push({ file, verification, document, stored: entry });
  }
  const present = new Set(files);
  for (const entry of manifest?.evidence ?? []) {
    if (!present.has(entry.file))
      results.push({
        file: entry.file,
        verification: {
          status: 'missing',
          reason: `${MANIFEST} lists ${entry.file}, which is not in the directory`,
        },
        stored: entry,
      });
  }
  return results;
}
