import { BackupClient, GetRecoveryPointRestoreMetadataCommand } from '@aws-sdk/client-backup';
import * as z from 'zod';
import { drClients } from './lib/clients.js';
import { config } from './lib/config.js';
import { type Check, CopyResult, Drill, type HealthResult, RestoreResult } from './lib/drill.js';
import { HealthCheckFailed, ReadinessTimedOut, ResourceNotReady } from './lib/errors.js';
import { lambdaHandler } from './lib/handler.js';
import { logger } from './lib/observability.js';
import { updateDrill } from './lib/state-store.js';
import { resourceModule } from './resources/index.js';

const Input = z.object({ drill: Drill, copy: CopyResult, restore: RestoreResult });

/**
 * Checks that the restored resource is up, isolated, tagged, and holds what the backup holds. Every check is
 * kept on the drill record (evidence reads it even when the drill fails here).
 */
export async function checkHealth({ drill, copy, restore }: z.infer<typeof Input>): Promise<HealthResult> {
  logger.appendKeys({ drillId: drill.drillId });
  const clients = drClients();
  const metadata = await clients.client(BackupClient).send(
    new GetRecoveryPointRestoreMetadataCommand({
      BackupVaultName: drill.target.vault,
      RecoveryPointArn: copy.drRecoveryPointArn,
    }),
  );
  const module = resourceModule(drill.source.resourceType);
  let checks: Check[];
  try {
    checks = await module.checkHealth({
      clients,
      resourceArn: restore.createdResourceArn,
      expected: metadata.RestoreMetadata ?? {},
      drill,
      config,
    });
  } catch (error) {
    // The type's own readiness budget, counted from the restore job's completion (FSx, Redshift and Aurora
    // take hours; a volume is ready at once): past it, waiting longer would only hide a broken restore.
    const waited = (Date.now() - Date.parse(restore.completedAt)) / 1000;
    if (error instanceof ResourceNotReady && waited > module.readiness.budgetSeconds) {
      throw new ReadinessTimedOut(
        `${error.message} ${Math.round(waited)} s after its restore completed (the ${module.type} budget is ${module.readiness.budgetSeconds} s)`,
        { cause: error },
      );
    }
    throw error;
  }
  await updateDrill(drill.drillId, { checks });
  const failed = checks.filter((c) => !c.passed);
  if (failed.length > 0) {
    throw new HealthCheckFailed(
      `${failed.length} of ${checks.length} checks failed: ${failed.map((c) => `${c.name} (${c.detail})`).join('; ')}`,
    );
  }
  logger.info('restored resource is healthy', { checks: checks.length });
  return { checks, validatedAt: new Date().toISOString() };
}

export const handler = lambdaHandler(async (event: unknown) => checkHealth(Input.parse(event)));
