import { DescribeRecoveryPointCommand } from '@aws-sdk/client-backup';
import { z } from 'zod';
import { drClients, sourceClients } from './lib/clients.js';
import { config, drVaultArn } from './lib/config.js';
import { type Drill, DrillRequest } from './lib/drill.js';
import { InvalidDrillInput } from './lib/errors.js';
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
  resourceModule(request.source.resourceType); // throws UnsupportedResourceType
  const drillId = input.executionName;
  logger.appendKeys({ drillId });

  // The recovery point itself: its creation time is the RPO reference. Read where it is restored from.
  const inDrVault = request.drRecoveryPointArn !== undefined;
  const clients = inDrVault ? drClients() : sourceClients(request.source.account, request.source.region);
  const recoveryPoint = await clients.backup.send(
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
  const createdAt = recoveryPoint.CreationDate ?? new Date(input.startedAt);

  await updateDrill(drillId, { status: 'RUNNING', resourceType: request.source.resourceType });
  return {
    drillId,
    mode: request.mode,
    trigger: request.trigger ?? { kind: 'manual', at: new Date(input.startedAt).toISOString() },
    source: {
      ...request.source,
      resourceArn: request.source.resourceArn ?? recoveryPoint.ResourceArn,
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
  };
}

export const handler = lambdaHandler(async (event: unknown) => prepareDrill(Input.parse(event)));
