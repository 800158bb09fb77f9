import { EventBridgeSchema } from '@aws-lambda-powertools/parser/schemas/eventbridge';
import { z } from 'zod';

/**
 * AWS Backup's EventBridge events, as AWS sends them. Backup and copy jobs report `state`; restore jobs
 * report `status`. Sizes arrive as strings in some events and numbers in others, so they are not parsed.
 */
export const BackupEvent = EventBridgeSchema.extend({ source: z.literal('aws.backup') });
export type BackupEvent = z.infer<typeof BackupEvent>;

export const BackupJobDetail = z.object({
  backupJobId: z.string(),
  state: z.string(),
  resourceType: z.string(),
  resourceArn: z.string().optional(),
  backupVaultName: z.string().default('Default'),
  backupVaultArn: z.string().optional(),
  creationDate: z.string().optional(),
  completionDate: z.string().optional(),
});

export const CopyJobDetail = z.object({
  copyJobId: z.string(),
  state: z.string(),
  resourceType: z.string(),
  resourceArn: z.string().optional(),
  sourceBackupVaultArn: z.string().optional(),
  sourceRecoveryPointArn: z.string().optional(),
  destinationBackupVaultArn: z.string(),
  destinationRecoveryPointArn: z.string().optional(),
  creationDate: z.string().optional(),
  completionDate: z.string().optional(),
  statusMessage: z.string().optional(),
});

export const RestoreJobDetail = z.object({
  restoreJobId: z.string(),
  status: z.string(),
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
