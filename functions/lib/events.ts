import * as z from 'zod';

/**
 * The EventBridge envelope, field for field Powertools' `EventBridgeSchema` (@aws-lambda-powertools/parser).
 * Written out here because that module imports zod as `{ z }`, the namespace object, which keeps all of zod
 * (its 40-odd locales included, ~350 KB minified) in every bundle that parses an event; `import * as z` lets
 * esbuild keep only what is used. test/unit/events.test.ts checks both schemas accept and refuse alike.
 */
export const EventBridgeSchema = z.object({
  version: z.string(),
  id: z.string(),
  source: z.string(),
  account: z.string(),
  time: z.iso.datetime(),
  region: z.string(),
  resources: z.array(z.string()),
  'detail-type': z.string(),
  detail: z.unknown(),
  'replay-name': z.string().optional(),
});

/**
 * AWS Backup's EventBridge events, as AWS sends them. Backup and copy jobs report `state`; restore jobs
 * report `status`. Sizes arrive as strings in some events and numbers in others, so they are not parsed.
 */
export const BackupEvent = EventBridgeSchema.extend({
  source: z.literal('aws.backup'),
  account: z.string().regex(/^\d{12}$/, 'must be a 12-digit account id'),
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'must be an AWS region'),
});

/** A zod error as one line: `path: message; path: message` (never a raw ZodError dump). */
export function problemsOf(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || 'value'}: ${issue.message}`).join('; ');
}

export const arn = z.string().regex(/^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:.+$/, 'must be an ARN');
export type BackupEvent = z.infer<typeof BackupEvent>;

export const BackupJobDetail = z.object({
  backupJobId: z.string().min(1),
  state: z.string().min(1),
  resourceType: z.string().min(1),
  resourceArn: arn.optional(),
  backupVaultName: z.string().min(1).default('Default'),
  backupVaultArn: arn.optional(),
  creationDate: z.string().optional(),
  completionDate: z.string().optional(),
});

export const CopyJobDetail = z.object({
  copyJobId: z.string().min(1),
  state: z.string().min(1),
  resourceType: z.string().min(1),
  resourceArn: arn.optional(),
  sourceBackupVaultArn: arn.optional(),
  sourceRecoveryPointArn: arn.optional(),
  destinationBackupVaultArn: arn,
  destinationRecoveryPointArn: arn.optional(),
  creationDate: z.string().optional(),
  completionDate: z.string().optional(),
  statusMessage: z.string().optional(),
});

export const RestoreJobDetail = z.object({
  restoreJobId: z.string(),
  status: z.string(),
  /** Set when an AWS Backup restore testing plan started the job (docs/validation.md, mode `validate`). */
  restoreTestingPlanArn: arn.optional(),
  resourceType: z.string().optional(),
  createdResourceArn: z.string().optional(),
  creationDate: z.string().optional(),
  completionDate: z.string().optional(),
  statusMessage: z.string().optional(),
});

export const BACKUP_JOB = 'Backup Job State Change';
export const COPY_JOB = 'Copy Job State Change';
export const RESTORE_JOB = 'Restore Job State Change';

/** Terminal job states: a drill waiting on the job can be resumed. */
export const TERMINAL_STATES = new Set(['COMPLETED', 'FAILED', 'ABORTED', 'EXPIRED', 'PARTIAL']);
