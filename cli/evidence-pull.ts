import {
  GetObjectCommand,
  GetObjectRetentionCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
} from '@aws-sdk/client-s3';
import * as z from 'zod';
import { AWS_FLAGS, AwsTarget, flagIssue, parseFlags, UsageError } from './args.js';
import { type AwsClients, awsClients, type Output, reaching, stackOutput, terminalOutput } from './aws.js';
import { prepareEvidenceDir, type StoredEvidence, sha256Of, writeEvidence } from './evidence.js';

/**
 * `pilotlight evidence pull --aws`: the evidence documents of the last days, downloaded from the stack's
 * Object Lock bucket into an evidence directory (the same layout `drill --evidence-dir` writes), each one's
 * SHA-256 checked against the checksum S3 stored with it and its retention read back.
 */

export const EVIDENCE_BUCKET_OUTPUT = 'EvidenceBucketName';

const PullOptions = AwsTarget.extend({
  aws: z.literal(true, { error: 'evidence pull reads a deployed stack: add --aws' }),
  since: z
    .string()
    .regex(/^\d+d$/, 'must be a number of days such as 30d')
    .default('30d')
    .transform((text) => Number(text.slice(0, -1)))
    .pipe(z.number().int().min(1, 'must be at least 1d').max(3660, 'must be at most 3660d')),
  out: z.string({ error: 'is required (the directory to write the evidence to)' }).min(1),
});
export type PullOptions = z.infer<typeof PullOptions>;

/** What pulling one object found. */
export interface Pulled {
  key: string;
  drillId: string;
  checksum: 'verified' | 'MISMATCH' | 'not stored';
  retention: 'locked' | 'NOT LOCKED';
  retainUntil: string | null;
  lockMode: string | null;
}

/** `evidence/YYYY/MM/DD/` for each day of the window, newest last (record-evidence writes by that date). */
export function dayPrefixes(now: Date, days: number): string[] {
  return Array.from({ length: days + 1 }, (_, i) => {
    const day = new Date(now.getTime() - (days - i) * 86_400_000);
    return `evidence/${day.toISOString().slice(0, 10).replaceAll('-', '/')}/`;
  });
}

async function listKeys(clients: AwsClients, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page: ListObjectsV2CommandOutput = await clients.s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    keys.push(...(page.Contents ?? []).flatMap((o) => (o.Key?.endsWith('.json') ? [o.Key] : [])));
    token = page.NextContinuationToken;
  } while (token);
  return keys;
}

const base64ToHex = (base64: string) => Buffer.from(base64, 'base64').toString('hex');

/** Downloads and checks every evidence object of the window; writes those whose checksum holds. */
export async function pullEvidence(
  options: PullOptions,
  clients: AwsClients,
  now: Date,
  out: Output,
): Promise<Pulled[]> {
  const bucket = await stackOutput(options, clients, EVIDENCE_BUCKET_OUTPUT);
  const pulled: Pulled[] = [];
  const documents: StoredEvidence[] = [];
  for (const prefix of dayPrefixes(now, options.since)) {
    for (const key of await listKeys(clients, bucket, prefix)) {
      const object = await clients.s3.send(
        new GetObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }),
      );
      const body = (await object.Body?.transformToString('utf8')) ?? '';
      const sha256 = sha256Of(body);
      const stored = object.ChecksumSHA256 ? base64ToHex(object.ChecksumSHA256) : undefined;
      const retention = await clients.s3.send(
        new GetObjectRetentionCommand({ Bucket: bucket, Key: key, VersionId: object.VersionId }),
      );
      const retainUntil = retention.Retention?.RetainUntilDate ?? null;
      const lockMode = retention.Retention?.Mode ?? null;
      const drillId = object.Metadata?.['drill-id'] ?? key.replace(/^.*\//, '').replace(/\.json$/, '');
      const row: Pulled = {
        key,
        drillId,
        checksum: stored === undefined ? 'not stored' : stored === sha256 ? 'verified' : 'MISMATCH',
        // Evidence is only evidence while nobody can change it: COMPLIANCE mode, retained beyond today.
        retention:
          lockMode === 'COMPLIANCE' && retainUntil !== null && retainUntil > now ? 'locked' : 'NOT LOCKED',
        retainUntil: retainUntil?.toISOString() ?? null,
        lockMode,
      };
      pulled.push(row);
      out.line(
        `${row.checksum === 'verified' && row.retention === 'locked' ? 'verified' : 'PROBLEM '}  ${drillId}  sha256 ${row.checksum}, ${row.retention}${row.retainUntil ? ` until ${row.retainUntil}` : ''}  (s3://${bucket}/${key})`,
      );
      // A body that does not match what S3 stored is not copied: it is not the evidence.
      if (row.checksum !== 'MISMATCH')
        documents.push({
          drillId,
          body,
          sha256,
          bucket,
          key,
          versionId: object.VersionId ?? null,
          lockMode,
          retainUntil: row.retainUntil,
        });
    }
  }
  await writeEvidence(options.out, documents, `pilotlight evidence pull (s3://${bucket})`);
  return pulled;
}

/** Exit 0 every document verified and locked; 1 one was not (or there was none); 2 bad input or AWS unreachable. */
export async function runEvidencePull(
  argv: readonly string[],
  makeClients: (target: AwsTarget) => AwsClients = awsClients,
  out: Output = terminalOutput(),
  now: () => Date = () => new Date(),
): Promise<number> {
  const { values, positionals } = parseFlags('evidence', argv, {
    ...AWS_FLAGS,
    since: { type: 'string' },
    out: { type: 'string' },
  });
  if (positionals.length > 0)
    throw new UsageError(
      `evidence pull: unexpected argument "${positionals[0]}" (see pilotlight evidence --help)`,
    );
  const parsed = PullOptions.safeParse({
    aws: values.aws ?? false,
    stage: values.stage,
    region: values.region,
    profile: values.profile,
    since: values.since,
    out: values.out,
  });
  if (!parsed.success) {
    if (parsed.error.issues[0]?.path[0] === 'aws')
      throw new UsageError(parsed.error.issues[0].message, { cause: parsed.error });
    throw flagIssue(parsed.error);
  }
  const options = parsed.data;
  await prepareEvidenceDir(options.out);
  const clients = makeClients(options);
  const pulled = await reaching(options, clients, () => pullEvidence(options, clients, now(), out));
  const good = pulled.filter((p) => p.checksum === 'verified' && p.retention === 'locked').length;
  out.line(
    `evidence ${pulled.length} document(s) in the last ${options.since} days, ${good} verified and locked, written to ${options.out}`,
  );
  return pulled.length > 0 && good === pulled.length ? 0 : 1;
}
