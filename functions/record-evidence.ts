import { createHash } from 'node:crypto';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { finishClaim } from './lib/claims.js';
import { config } from './lib/config.js';
import { DrillState, type EvidenceRef, requestOf } from './lib/drill.js';
import { buildEvidence, drillStatus } from './lib/evidence.js';
import { lambdaHandler } from './lib/handler.js';
import { logger } from './lib/observability.js';
import { readDrill, updateDrill } from './lib/state-store.js';

/** The central account's S3 client (the evidence bucket), created on first use (see lib/clients.ts). */
let s3Client: S3Client | undefined;
function s3(): S3Client {
  s3Client ??= new S3Client({});
  return s3Client;
}

/**
 * Writes the evidence document to the Object Lock bucket in COMPLIANCE mode: nobody, root included, can
 * change or delete it before the retention date. S3 verifies the SHA-256 on upload; the same digest is
 * reported so an auditor can check the stored object later.
 */
export async function recordEvidence(input: DrillState): Promise<EvidenceRef> {
  const drillId = input.state.drill?.drillId ?? input.executionName;
  logger.appendKeys({ drillId });
  const record = await readDrill(drillId);
  const evidence = buildEvidence(input, {
    checks: input.state.health?.checks ?? record?.checks ?? [],
    rtoTargetSeconds: config.RTO_TARGET_SECONDS,
    dataRpoTargetSeconds: config.DATA_RPO_TARGET_SECONDS,
    restoredResourceArn: record?.createdResourceArn,
    codeVersion: config.CODE_VERSION,
    jobs: record,
    dataChecks: record?.dataChecks,
  });
  const body = `${JSON.stringify(evidence, null, 2)}\n`;
  const digest = createHash('sha256').update(body);
  const sha256 = digest.copy().digest('hex');
  const recordedAt = new Date(evidence.recordedAt);
  const key = `evidence/${recordedAt.toISOString().slice(0, 10).replaceAll('-', '/')}/${drillId}.json`;
  const retainUntil = new Date(recordedAt.getTime() + config.EVIDENCE_RETENTION_DAYS * 86_400_000);
  const put = await s3().send(
    new PutObjectCommand({
      Bucket: config.EVIDENCE_BUCKET,
      Key: key,
      Body: body,
      ContentType: 'application/json',
      ChecksumSHA256: digest.digest('base64'),
      ObjectLockMode: 'COMPLIANCE',
      ObjectLockRetainUntilDate: retainUntil,
      Metadata: { 'drill-id': drillId, status: evidence.status },
    }),
  );
  await updateDrill(drillId, { status: drillStatus(input.state) });
  // The drill has ended: its recovery point may be drilled again, by hand.
  const source = input.state.drill?.source ?? requestOf(input.state)?.source;
  const mode = input.state.drill?.mode ?? requestOf(input.state)?.mode;
  if (source && mode) await finishClaim(drillId, source.recoveryPointArn, mode);
  logger.info('evidence recorded', { key, sha256 });
  return {
    bucket: config.EVIDENCE_BUCKET,
    key,
    sha256,
    versionId: put.VersionId,
    ...(evidence.dataRpoSeconds === null ? {} : { dataRpoSeconds: evidence.dataRpoSeconds }),
  };
}

export const handler = lambdaHandler(async (event: unknown) => recordEvidence(DrillState.parse(event)));
