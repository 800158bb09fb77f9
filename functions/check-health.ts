import { BackupClient, GetRecoveryPointRestoreMetadataCommand } from '@aws-sdk/client-backup';
import * as z from 'zod';
import { drClients } from './lib/clients.js';
import { config } from './lib/config.js';
import { type DataCheckReport, type DataCheckResult, reportOf } from './lib/data-checks.js';
import { type Check, CopyResult, Drill, type HealthResult, RestoreResult } from './lib/drill.js';
import { HealthCheckFailed, ReadinessTimedOut, ResourceNotReady } from './lib/errors.js';
import { lambdaHandler } from './lib/handler.js';
import { logger } from './lib/observability.js';
import { type DataChecksRecord, updateDrill } from './lib/state-store.js';
import { loadValidationProfiles } from './lib/validation-profiles-file.js';
import {
  builtInChecks,
  isValidator,
  selectProfile,
  VALIDATION_TAG,
  ValidationProfileNotFound,
} from './lib/validations.js';
import { runValidator, type ValidatorRequest } from './lib/validators.js';
import { resourceModule } from './resources/index.js';
import type { ResourceModule } from './resources/types.js';

// Loaded once per container: a broken file fails the cold start (packaging already refuses it).
const validationProfiles = loadValidationProfiles();

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
  let data: DataChecksRecord | undefined;
  try {
    checks = await module.checkHealth({
      clients,
      resourceArn: restore.createdResourceArn,
      expected: metadata.RestoreMetadata ?? {},
      drill,
      config,
    });
    data = await runDataChecks(module, {
      clients,
      resourceArn: restore.createdResourceArn,
      drill,
      recoveryPointArn: copy.drRecoveryPointArn,
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
  if (drill.mode === 'validate') checks = restoreTestChecks(checks, drill);
  if (data) checks = [...checks, ...data.results.map(dataCheck)];
  await updateDrill(drill.drillId, { checks, dataChecks: data });
  const failed = checks.filter((c) => !c.passed);
  if (failed.length > 0) {
    throw new HealthCheckFailed(
      `${failed.length} of ${checks.length} checks failed: ${failed.map((c) => `${c.name} (${c.detail})`).join('; ')}`,
    );
  }
  logger.info('restored resource is healthy', {
    checks: checks.length,
    dataRpoSeconds: data?.dataRpoSeconds,
  });
  return { checks, validatedAt: new Date().toISOString(), dataRpoSeconds: data?.dataRpoSeconds };
}

/**
 * The source resource's validation profile (validations.yml), run against the restored copy: the built-in
 * checks by the type's module, your validators (functions/lib/validators.ts) by invoking them. The profile is
 * the one the resource's `pilotlight:validation` tag names (read when the drill was prepared), else its type's
 * default.
 */
async function runDataChecks(
  module: ResourceModule,
  input: {
    clients: ReturnType<typeof drClients>;
    resourceArn: string;
    drill: Drill;
    recoveryPointArn: string;
  },
): Promise<DataChecksRecord | undefined> {
  const { validationTag } = input.drill;
  const selected = selectProfile(validationProfiles.profiles, {
    resourceType: input.drill.source.resourceType,
    tags: validationTag ? { [VALIDATION_TAG]: validationTag } : {},
  });
  if (!selected) return undefined;
  const recoveryPointCreatedAt = new Date(input.drill.source.recoveryPointCreatedAt);
  const builtIn = builtInChecks(selected.checks);
  const results: DataCheckResult[] = [];
  if (builtIn.length > 0) {
    // selectProfile refuses built-in checks for a type without them; this is the same rule, typed.
    if (!module.dataChecks) throw new ValidationProfileNotFound(`${module.type} has no built-in data checks`);
    const report = await module.dataChecks({
      clients: input.clients,
      resourceArn: input.resourceArn,
      drill: input.drill,
      config,
      checks: builtIn,
      recoveryPointCreatedAt,
    });
    results.push(...report.checks);
  }
  const validators = selected.checks.filter(isValidator);
  if (validators.length > 0) {
    const connection = await module.connection?.(input.clients, input.resourceArn);
    const request: ValidatorRequest = {
      drillId: input.drill.drillId,
      mode: input.drill.mode,
      resourceType: input.drill.source.resourceType,
      resourceArn: input.resourceArn,
      sourceResourceArn: input.drill.source.resourceArn ?? '',
      recoveryPointArn: input.recoveryPointArn,
      recoveryPointCreatedAt: recoveryPointCreatedAt.toISOString(),
      ...(connection ? { connection } : {}),
    };
    for (const check of validators)
      results.push(...(await runValidator({ clients: input.clients, config, check, request })));
  }
  const report = reportOf(results);
  return {
    profile: selected.profile,
    selectedBy: selected.selectedBy,
    profilesSha256: validationProfiles.sha256,
    results: report.checks,
    dataRpoSeconds: report.dataRpoSeconds,
  };
}

/**
 * Mode `validate`: the resource is restore testing's, not a drill's, so it carries no drill tag; the `tagged`
 * check becomes `restore test`: the job that created it was started by the restore testing plan the event
 * named (prepare-drill read it from AWS Backup).
 */
function restoreTestChecks(checks: Check[], drill: Drill): Check[] {
  const test = drill.restoreTest;
  return [
    ...checks.filter((c) => c.name !== 'tagged'),
    {
      name: 'restore test',
      passed: test !== undefined,
      detail: test
        ? `restore job ${test.restoreJobId} of ${test.restoreTestingPlanArn}`
        : 'no restore testing job on the drill',
    },
  ];
}

/** A data check as one of the drill's checks: a failing one names what was observed against what was expected. */
function dataCheck(result: DataCheckReport['checks'][number]): Check {
  return {
    name: `data: ${result.name}`,
    passed: result.passed,
    detail: `observed ${result.observed}, expected ${result.expected}`,
  };
}

export const handler = lambdaHandler(async (event: unknown) => checkHealth(Input.parse(event)));
