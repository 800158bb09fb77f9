import { writeFile } from 'node:fs/promises';
import * as z from 'zod';
import { flagIssue, noPositionals, parseFlags, UsageError } from './args.js';
import { isVerified, MANIFEST, readEvidenceDir, type VerifiedEvidence } from './evidence.js';
import { renderHtml } from './report-html.js';
import { renderMarkdown } from './report-md.js';
import { buildReportModel, verificationText } from './report-model.js';

const ReportOptions = z.object({
  evidenceDir: z.string({ error: 'is required (the directory drill --evidence-dir wrote)' }).min(1),
  out: z.string().min(1, 'needs a file').optional(),
  format: z.enum(['html', 'md'], { error: 'must be html or md' }).default('html'),
});

const EvidenceOptions = z.object({
  action: z.literal('verify', { error: 'needs an action: verify' }),
  evidenceDir: z.string({ error: 'is required (the directory drill --evidence-dir wrote)' }).min(1),
  json: z.boolean().default(false),
});

/** Every evidence file in the directory, verified; bad input if there is none. */
async function verifiedEvidence(dir: string): Promise<VerifiedEvidence[]> {
  const evidence = await readEvidenceDir(dir);
  if (evidence.length === 0) throw new UsageError(`--evidence-dir ${dir}: no evidence documents there`);
  // JSON files with neither a manifest nor a single .sha256 were never written by drill --evidence-dir.
  if (evidence.every((e) => e.verification.status === 'unverifiable'))
    throw new UsageError(
      `--evidence-dir ${dir}: not an evidence directory (no ${MANIFEST}, no .sha256 files)`,
    );
  return evidence;
}

/** One loud line per file that failed verification, on stderr, whatever the output goes to. */
function warnUnverified(evidence: readonly VerifiedEvidence[]): void {
  for (const e of evidence.filter((e) => !isVerified(e)))
    process.stderr.write(`pilotlight: ${e.file}: ${verificationText(e.verification)}\n`);
}

/**
 * `pilotlight report`: exit 0 report written and every evidence file verified; 1 written, but a file failed
 * verification (flagged in the report); 2 bad input.
 */
export async function runReportCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseFlags('report', argv, {
    'evidence-dir': { type: 'string' },
    out: { type: 'string' },
    format: { type: 'string' },
  });
  noPositionals('report', positionals);
  const parsed = ReportOptions.safeParse({
    evidenceDir: values['evidence-dir'],
    out: values.out,
    format: values.format,
  });
  if (!parsed.success) throw flagIssue(parsed.error);
  const { evidenceDir, out, format } = parsed.data;
  const evidence = await verifiedEvidence(evidenceDir);
  const model = buildReportModel(evidenceDir, evidence);
  const text = format === 'md' ? renderMarkdown(model) : renderHtml(model);
  if (out) {
    try {
      await writeFile(out, text);
    } catch (error) {
      throw new UsageError(`--out ${out}: cannot write the report there`, { cause: error });
    }
    process.stdout.write(
      `report: ${model.drills.length} drill(s), ${model.verifiedCount} evidence file(s) verified, ${model.failedVerification} not; written to ${out}\n`,
    );
  } else process.stdout.write(text);
  warnUnverified(evidence);
  return model.failedVerification > 0 ? 1 : 0;
}

/** `pilotlight evidence verify`: exit 0 every file verified; 1 one did not; 2 bad input. */
export async function runEvidenceCommand(argv: readonly string[]): Promise<number> {
  // The action comes first, as the usage shows: `evidence pull …`, `evidence verify …`.
  if (argv[0] === 'pull') {
    const { runEvidencePull } = await import('./evidence-pull.js');
    return runEvidencePull(argv.slice(1));
  }
  const { values, positionals } = parseFlags('evidence', argv, {
    'evidence-dir': { type: 'string' },
    json: { type: 'boolean' },
  });
  if (positionals.length > 1) noPositionals('evidence', positionals.slice(1));
  const parsed = EvidenceOptions.safeParse({
    action: positionals[0],
    evidenceDir: values['evidence-dir'],
    json: values.json,
  });
  if (!parsed.success) {
    if (parsed.error.issues[0]?.path[0] === 'action')
      throw new UsageError(`evidence: ${parsed.error.issues[0].message} (see pilotlight evidence --help)`, {
        cause: parsed.error,
      });
    throw flagIssue(parsed.error);
  }
  const evidence = await verifiedEvidence(parsed.data.evidenceDir);
  if (parsed.data.json)
    process.stdout.write(
      `${JSON.stringify(
        evidence.map((e) => ({ file: e.file, drillId: e.document?.drillId ?? null, ...e.verification })),
        null,
        2,
      )}\n`,
    );
  else
    for (const e of evidence)
      process.stdout.write(
        `${isVerified(e) ? 'verified' : e.verification.status.toUpperCase()}  ${e.file}\n`,
      );
  warnUnverified(evidence);
  return evidence.every(isVerified) ? 0 : 1;
}
