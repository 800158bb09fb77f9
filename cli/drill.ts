import { readFile } from 'node:fs/promises';
import { EventBridgeSchema } from '@aws-lambda-powertools/parser/schemas/eventbridge';
import * as z from 'zod';
import {
  arn,
  BACKUP_JOB,
  BackupEvent,
  BackupJobDetail,
  COPY_JOB,
  CopyJobDetail,
  problemsOf,
} from '../functions/lib/events.js';
import { supportedResourceTypes } from '../functions/resources/index.js';
import type { EventBridgeEvent } from '../sandbox/events.js';
import {
  EventInputError,
  eventTimes,
  FaultSpecError,
  PROD_ACCOUNT,
  Sandbox,
  validateEvent,
} from '../sandbox/index.js';
import { buildReport, type RunReport } from '../sandbox/report.js';
import type { Json } from '../sandbox/serverless-config.js';
import { type DrillOptions, UsageError } from './args.js';
import type { StoredEvidence } from './evidence.js';

const JsonValue: z.ZodType<Json> = z.lazy(() =>
  z.union([
    z.string(),
    z.number(),
    z.boolean(),
    z.null(),
    z.array(JsonValue),
    z.record(z.string(), JsonValue),
  ]),
);

const EventFile = EventBridgeSchema.extend({
  account: z.string().regex(/^\d{12}$/, 'account must be a 12-digit account id'),
  detail: z.record(z.string(), JsonValue),
});

/**
 * The checks intake makes on an AWS Backup trigger's detail (functions/lib/events.ts): an event intake would
 * reject is bad input here, so `--event` never starts a sandbox for it.
 */
function triggerProblem(event: EventBridgeEvent): string | undefined {
  if (event.source !== 'aws.backup') return undefined;
  const envelope = BackupEvent.safeParse(event);
  if (!envelope.success) return problemsOf(envelope.error);
  const schema =
    event['detail-type'] === BACKUP_JOB
      ? BackupJobDetail
      : event['detail-type'] === COPY_JOB
        ? CopyJobDetail
        : undefined;
  const detail = schema?.safeParse(event.detail);
  if (detail && !detail.success) return `detail: ${problemsOf(detail.error)}`;
  const recoveryPoint = event.resources[0];
  if (event['detail-type'] === BACKUP_JOB && recoveryPoint && !arn.safeParse(recoveryPoint).success)
    return `resources[0] "${recoveryPoint.slice(0, 80)}" is not a recovery point ARN`;
  return undefined;
}

async function readEvent(path: string): Promise<EventBridgeEvent> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new UsageError(`--event ${path}: cannot read the file`);
  }
  let json: unknown;
  try {
    // Editors on Windows save JSON with a byte-order mark; JSON.parse does not skip it.
    json = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch {
    throw new UsageError(`--event ${path}: not JSON`);
  }
  const parsed = EventFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(
      `--event ${path}: not an EventBridge event (${issue?.path.join('.') || 'event'}: ${issue?.message})`,
    );
  }
  const event: EventBridgeEvent = parsed.data;
  try {
    validateEvent(event);
  } catch (error) {
    if (error instanceof EventInputError) throw new UsageError(`--event ${path}: ${error.message}`);
    throw error;
  }
  const problem = triggerProblem(event);
  if (problem)
    throw new UsageError(`--event ${path}: not an AWS Backup event Pilotlight accepts (${problem})`);
  return event;
}

/** The events to deliver, in order; bad input if one is earlier than the one before it. */
async function readEvents(
  paths: readonly string[],
): Promise<{ events: EventBridgeEvent[]; times: number[] }> {
  const events: EventBridgeEvent[] = [];
  for (const path of paths) events.push(await readEvent(path));
  try {
    return { events, times: eventTimes(events) };
  } catch (error) {
    if (error instanceof EventInputError) throw new UsageError(`--event: ${error.message}`);
    throw error;
  }
}

/** A sandbox run: the `--json` report and each drill's evidence object as the bucket holds it. */
export interface SandboxRun {
  report: RunReport;
  evidence: StoredEvidence[];
}

/** The evidence objects the report refers to, read from the simulated bucket before the sandbox goes. */
export function evidenceOf(sandbox: Sandbox, report: RunReport): StoredEvidence[] {
  return report.drills.flatMap((drill) => {
    const ref = drill.evidence;
    const stored = ref
      ? sandbox.world.objects.find(
          (o) => o.bucket === ref.bucket && o.key === ref.key && o.versionId === ref.versionId,
        )
      : undefined;
    if (!stored) return [];
    return [
      {
        drillId: drill.drillId,
        body: stored.body,
        sha256: stored.sha256,
        bucket: stored.bucket,
        key: stored.key,
        versionId: stored.versionId,
        lockMode: stored.lockMode ?? null,
        retainUntil: stored.retainUntil === undefined ? null : new Date(stored.retainUntil).toISOString(),
      },
    ];
  });
}

/** Runs the drills the options ask for in a fresh sandbox and returns the report. */
export async function runDrill(options: DrillOptions): Promise<SandboxRun> {
  const { events, times } = await readEvents(options.events);
  let sandbox: Sandbox;
  try {
    // The simulated clock starts when the first event happened, so RTO and RPO are measured in its time.
    sandbox = await Sandbox.create({
      seed: options.seed,
      faults: options.faults,
      quotas: options.quotas,
      startAt: times[0],
      sourceAccounts: options.sourceAccounts,
    });
  } catch (error) {
    if (error instanceof FaultSpecError) throw new UsageError(`--fault: ${error.message}`);
    throw error;
  }
  try {
    const startedAt = new Date(sandbox.clock.now).toISOString();
    if (events.length > 0) {
      for (const event of events) sandbox.deliverEvent(event);
    } else {
      for (let i = 1; i <= options.count; i++) {
        const resourceType =
          options.resourceType === 'all'
            ? (supportedResourceTypes[(i - 1) % supportedResourceTypes.length] ?? 'RDS')
            : options.resourceType;
        const backup = sandbox.backupCompleted(resourceType, i, {
          announce: options.mode === 'drill',
        });
        if (options.mode === 'failover') {
          // A failover is started by an operator, with the manual StartExecution input (events/manual-failover.json).
          sandbox.startManual(
            {
              mode: 'failover',
              source: {
                account: PROD_ACCOUNT,
                region: backup.region,
                resourceType,
                resourceArn: String(backup.detail.resourceArn),
                recoveryPointArn: backup.resources[0] ?? '',
                backupVaultName: 'Default',
              },
            },
            `failover-${resourceType.toLowerCase()}-${i}-${sandbox.random.hex(8)}`,
          );
        }
      }
    }
    // After the last drill the schedules keep running until nothing is left behind (or two sweeps pass).
    await sandbox.runToSettled();
    const report = buildReport(sandbox, options.seed, startedAt);
    return { report, evidence: evidenceOf(sandbox, report) };
  } finally {
    sandbox.dispose();
  }
}
