import {
  BackupClient,
  DescribeRecoveryPointCommand,
  DescribeRestoreJobCommand,
} from '@aws-sdk/client-backup';
import * as z from 'zod';
import { estimateDrill } from './lib/admission.js';
import { parseArn } from './lib/arn.js';
import { claimRecoveryPoint } from './lib/claims.js';
import { drClients, sourceClients } from './lib/clients.js';
import { config, drVaultArn, isSourceAccount, isStandby } from './lib/config.js';
import { type Drill, DrillRequest, VALIDATION_TAG } from './lib/drill.js';
import { DrillAlreadyRunning, InvalidDrillInput, SourceAccountNotAllowed } from './lib/errors.js';
import { executionStatus } from './lib/executions.js';
import { lambdaHandler } from './lib/handler.js';
import { logger } from './lib/observability.js';
import { updateDrill } from './lib/state-store.js';
import { resourceModule } from './resources/index.js';

const Input = z.object({ request: z.unknown(), executionName: z.string().min(1), startedAt: z.string() });

/** Validates the drill request (events and manual starts alike) and resolves it into a drill. */
export async function prepareDrill(input: z.infer<typeof Input>): Promise<Drill> {
  const parsed = DrillRequest.safeParse(input.request);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || 'input'}: ${issue.message}`,
    );
    throw new InvalidDrillInput(`drill input is invalid: ${problems.join('; ')}`);
  }
  const request = parsed.data;
  const resources = resourceModule(request.source.resourceType); // throws UnsupportedResourceType
  if (request.mode === 'validate') return prepareValidation(request, input);
  checkSourceAccount(request);
  const drillId = input.executionName;
  logger.appendKeys({ drillId });

  // The recovery point itself: its creation time is the RPO reference. Read where it is restored from.
  const inDrVault = request.drRecoveryPointArn !== undefined;
  const clients = inDrVault ? drClients() : sourceClients(request.source.account, request.source.region);
  const recoveryPoint = await clients.client(BackupClient).send(
    new DescribeRecoveryPointCommand({
      BackupVaultName: inDrVault ? config.DR_VAULT_NAME : request.source.backupVaultName,
      RecoveryPointArn: request.drRecoveryPointArn ?? request.source.recoveryPointArn,
    }),
  );
  if (recoveryPoint.Status !== 'COMPLETED') {
    throw new InvalidDrillInput(
      `recovery point ${request.source.recoveryPointArn} is ${recoveryPoint.Status}, not COMPLETED`,
    );
  }
  // Checked before any job starts: restoring an RDS snapshot as an EBS volume would time out after hours
  // and leave a production-named instance behind.
  if (recoveryPoint.ResourceType !== request.source.resourceType) {
    throw new InvalidDrillInput(
      `recovery point ${request.drRecoveryPointArn ?? request.source.recoveryPointArn} is a ${recoveryPoint.ResourceType ?? 'unknown'} backup, not ${request.source.resourceType}`,
    );
  }
  const createdAt = recoveryPoint.CreationDate ?? new Date(input.startedAt);
  const resourceArn = request.source.resourceArn ?? recoveryPoint.ResourceArn;
  // Read before the claim: a tag read that fails (and is retried) must not leave a claim behind. The standby
  // deployment restoring from the DR vault acts while the primary region may be down: it touches nothing there,
  // and its data checks run the type's default profile.
  const validationTag =
    resourceArn && !(inDrVault && isStandby)
      ? await validationTagOf(request.source.account, request.source.region, resourceArn)
      : undefined;
  const previousDrillId = await claim(drillId, request);

  await updateDrill(drillId, { status: 'RUNNING', resourceType: request.source.resourceType });
  return {
    drillId,
    mode: request.mode,
    trigger: request.trigger ?? { kind: 'manual', at: new Date(input.startedAt).toISOString() },
    source: {
      ...request.source,
      resourceArn,
      recoveryPointCreatedAt: createdAt.toISOString(),
    },
    target: {
      account: config.DR_ACCOUNT_ID,
      region: config.DR_REGION,
      vault: config.DR_VAULT_NAME,
      vaultArn: drVaultArn,
    },
    needsCopy: !inDrVault,
    drRecoveryPointArn: request.drRecoveryPointArn,
    preparedAt: new Date().toISOString(),
    ...(previousDrillId ? { previousDrillId } : {}),
    ...(request.policy ? { policy: request.policy } : {}),
    ...(validationTag ? { validationTag } : {}),
    estimate: estimateDrill(recoveryPoint.BackupSizeInBytes, resources.typicalRestore),
  };
}

/**
 * Mode `validate`: the restore testing job, as AWS Backup describes it in the DR account (never as the event
 * says): started by the restore testing plan the request names, COMPLETED, in the DR vault, and what it
 * restored. No claim: the execution name is the job's (intake), and nothing is copied or restored.
 */
async function prepareValidation(request: DrillRequest, input: z.infer<typeof Input>): Promise<Drill> {
  const test = request.restoreTest;
  if (!test)
    throw new InvalidDrillInput('mode validate needs restoreTest (restoreJobId, restoreTestingPlanArn)');
  const drillId = input.executionName;
  logger.appendKeys({ drillId, restoreJobId: test.restoreJobId });
  const job = await drClients()
    .client(BackupClient)
    .send(new DescribeRestoreJobCommand({ RestoreJobId: test.restoreJobId }));
  const what = `restore job ${test.restoreJobId}`;
  if (job.CreatedBy?.RestoreTestingPlanArn !== test.restoreTestingPlanArn) {
    throw new InvalidDrillInput(
      `${what} was not started by restore testing plan ${test.restoreTestingPlanArn} (created by ${job.CreatedBy?.RestoreTestingPlanArn ?? 'no restore testing plan'})`,
    );
  }
  if (job.Status !== 'COMPLETED') throw new InvalidDrillInput(`${what} is ${job.Status}, not COMPLETED`);
  if (job.ResourceType !== request.source.resourceType) {
    throw new InvalidDrillInput(
      `${what} restored a ${job.ResourceType ?? 'unknown'} backup, not ${request.source.resourceType}`,
    );
  }
  if (!job.CreatedResourceArn || !job.RecoveryPointArn || !job.CreationDate || !job.CompletionDate) {
    throw new InvalidDrillInput(`${what} reports no created resource, recovery point or dates`);
  }
  const vault = job.BackupVaultArn?.split(':backup-vault:')[1] ?? config.DR_VAULT_NAME;
  if (job.BackupVaultArn && job.BackupVaultArn !== drVaultArn) {
    throw new InvalidDrillInput(
      `${what} restored from ${job.BackupVaultArn}, not the DR vault ${drVaultArn}`,
    );
  }
  // The profile is chosen as for a drill: by the source resource's pilotlight:validation tag, read before
  // anything is written (a failing read is retried with nothing left behind).
  const validationTag = job.SourceResourceArn
    ? await restoreTestValidationTag(job.SourceResourceArn)
    : undefined;
  await updateDrill(drillId, {
    status: 'RUNNING',
    resourceType: request.source.resourceType,
    restoreJobId: test.restoreJobId,
    createdResourceArn: job.CreatedResourceArn,
    drRecoveryPointArn: job.RecoveryPointArn,
  });
  const createdAt = job.RecoveryPointCreationDate ?? job.CreationDate;
  return {
    drillId,
    mode: 'validate',
    trigger: request.trigger ?? { kind: 'manual', at: new Date(input.startedAt).toISOString() },
    source: {
      account: config.DR_ACCOUNT_ID,
      region: config.DR_REGION,
      resourceType: request.source.resourceType,
      ...(job.SourceResourceArn ? { resourceArn: job.SourceResourceArn } : {}),
      recoveryPointArn: job.RecoveryPointArn,
      backupVaultName: vault,
      recoveryPointCreatedAt: createdAt.toISOString(),
    },
    target: {
      account: config.DR_ACCOUNT_ID,
      region: config.DR_REGION,
      vault,
      vaultArn: drVaultArn,
    },
    needsCopy: false,
    drRecoveryPointArn: job.RecoveryPointArn,
    preparedAt: new Date().toISOString(),
    restoreTest: {
      ...test,
      createdResourceArn: job.CreatedResourceArn,
      startedAt: job.CreationDate.toISOString(),
      completedAt: job.CompletionDate.toISOString(),
    },
    ...(validationTag ? { validationTag } : {}),
  };
}

/**
 * Mode validate: the `pilotlight:validation` tag of the resource restore testing's recovery point was taken of,
 * read in the account and region its ARN names, through the source role - only where that role is: a source
 * account of this deployment. A resource of any other account, an ARN naming no account or region (an EBS
 * snapshot's), and the standby deployment (whose primary region may be down) run the type's default profile.
 */
async function restoreTestValidationTag(sourceResourceArn: string): Promise<string | undefined> {
  const arn = parseArn(sourceResourceArn);
  if (!arn?.region || !arn.account || !isSourceAccount(arn.account) || isStandby) return undefined;
  return validationTagOf(arn.account, arn.region, sourceResourceArn);
}

/**
 * The source resource's `pilotlight:validation` tag (which validation profile its data checks run), read with
 * the Tagging API in the source account through the source role. The Tagging SDK loads only here.
 */
async function validationTagOf(
  account: string,
  region: string,
  resourceArn: string,
): Promise<string | undefined> {
  const { GetResourcesCommand, ResourceGroupsTaggingAPIClient } = await import(
    '@aws-sdk/client-resource-groups-tagging-api'
  );
  const result = await sourceClients(account, region)
    .client(ResourceGroupsTaggingAPIClient)
    .send(new GetResourcesCommand({ ResourceARNList: [resourceArn] }));
  const tags = result.ResourceTagMappingList?.find((mapping) => mapping.ResourceARN === resourceArn)?.Tags;
  const value = tags?.find((tag) => tag.Key === VALIDATION_TAG)?.Value?.trim();
  return value || undefined;
}

/**
 * Manual starts and failovers as much as events: only a configured source account is drilled, and the
 * recovery point must be that account's (an ARN names its account; an EBS snapshot ARN names none). Checked
 * before any role is assumed or anything is read.
 */
function checkSourceAccount(request: DrillRequest): void {
  const { account, recoveryPointArn } = request.source;
  if (!isSourceAccount(account)) {
    throw new SourceAccountNotAllowed(
      `account ${account} is not a source account of this deployment (sourceAccounts: ${config.SOURCE_ACCOUNTS.join(', ') || 'none'})`,
    );
  }
  const owner = recoveryPointArn.split(':')[4];
  if (owner && owner !== account) {
    throw new SourceAccountNotAllowed(
      `recovery point ${recoveryPointArn} belongs to account ${owner}, not the source account ${account}`,
    );
  }
}

/**
 * One drill per source recovery point and mode. A drill started by intake finds intake's claim under its own
 * id; a manual start takes it, or re-drills a recovery point whose last drill has ended (and says so).
 * Returns the previous drill of this recovery point, if this one replaces a finished one.
 */
async function claim(drillId: string, request: DrillRequest): Promise<string | undefined> {
  const { recoveryPointArn } = request.source;
  // An operator (or a policy schedule) may drill a recovery point again once its last drill has ended;
  // an AWS Backup event never re-drills.
  const manual = ['manual', 'schedule'].includes(request.trigger?.kind ?? 'manual');
  let result = await claimRecoveryPoint(drillId, recoveryPointArn, request.mode, { afterFinished: manual });
  if (!result.taken && manual && (await executionStatus(result.holder.drillId)) !== 'RUNNING') {
    // The holder ended without finishing its claim (its evidence step crashed): it no longer runs.
    result = await claimRecoveryPoint(drillId, recoveryPointArn, request.mode, {
      replace: result.holder.drillId,
    });
  }
  if (!result.taken) {
    throw new DrillAlreadyRunning(
      result.holder.status === 'RUNNING'
        ? `recovery point ${recoveryPointArn} is already being drilled (${request.mode}) by ${result.holder.drillId}`
        : `recovery point ${recoveryPointArn} was already drilled (${request.mode}) by ${result.holder.drillId}`,
    );
  }
  if (result.previous)
    logger.info('re-drilling a recovery point', { previousDrillId: result.previous.drillId });
  return result.previous?.drillId;
}

export const handler = lambdaHandler(async (event: unknown) => prepareDrill(Input.parse(event)));
