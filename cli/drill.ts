import { readFile } from 'node:fs/promises';
import { EventBridgeSchema } from '@aws-lambda-powertools/parser/schemas/eventbridge';
import { z } from 'zod';
import type { EventBridgeEvent } from '../sandbox/events.js';
import { FaultSpecError, PROD_ACCOUNT, Sandbox } from '../sandbox/index.js';
import { buildReport, type RunReport } from '../sandbox/report.js';
import { type DrillOptions, UsageError } from './args.js';

const EventFile = EventBridgeSchema.extend({
  account: z.string().regex(/^\d{12}$/, 'account must be a 12-digit account id'),
});

async function readEvent(path: string): Promise<EventBridgeEvent> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new UsageError(`--event ${path}: cannot read the file`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
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
  return parsed.data as unknown as EventBridgeEvent;
}

/** Runs the drills the options ask for in a fresh sandbox and returns the report. */
export async function runDrill(options: DrillOptions): Promise<RunReport> {
  const event = options.event ? await readEvent(options.event) : undefined;
  let sandbox: Sandbox;
  try {
    sandbox = await Sandbox.create({ seed: options.seed, faults: options.faults });
  } catch (error) {
    if (error instanceof FaultSpecError) throw new UsageError(`--fault: ${error.message}`);
    throw error;
  }
  try {
    const startedAt = new Date(sandbox.clock.now).toISOString();
    if (event) {
      sandbox.deliverEvent(event);
    } else {
      for (let i = 1; i <= options.count; i++) {
        const backup = sandbox.backupCompleted(options.resourceType, i, {
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
                resourceType: options.resourceType,
                resourceArn: String(backup.detail.resourceArn),
                recoveryPointArn: backup.resources[0] ?? '',
                backupVaultName: 'Default',
              },
            },
            `failover-${options.resourceType.toLowerCase()}-${i}-${sandbox.random.hex(8)}`,
          );
        }
      }
    }
    await sandbox.run();
    return buildReport(sandbox, options.seed, startedAt);
  } finally {
    sandbox.dispose();
  }
}
