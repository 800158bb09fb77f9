import * as z from 'zod';
import { FaultSpecError, Sandbox } from '../sandbox/index.js';
import { LambdaInvocationError } from '../sandbox/lambda-runtime.js';
import { buildReport, type RunReport } from '../sandbox/report.js';
import { type EstateResource, seedTaggedEstate } from '../sandbox/tagged-estate.js';
import { AWS_FLAGS, AwsTarget, decimal, flagIssue, noPositionals, parseFlags, UsageError } from './args.js';
import { evidenceOf } from './drill.js';
import { EvidenceDocument, prepareEvidenceDir, type StoredEvidence, writeEvidence } from './evidence.js';

/**
 * `pilotlight plan --dry-run` and `pilotlight sweep`: drills by policy (policies.yml, functions/plan.ts). In
 * the sandbox both run over a seeded estate of tagged resources (sandbox/tagged-estate.ts); with `--aws`,
 * `plan --dry-run` asks the deployed plan function (invoked with `{"dryRun": true}`) what it would start.
 */

const Skip = z.object({
  policy: z.string(),
  account: z.string(),
  region: z.string(),
  resourceArn: z.string(),
  reason: z.string(),
});

/** What the plan function returns (functions/plan.ts PlanResult): the `--json` of `plan`. */
export const PlanOutput = z.object({
  at: z.string(),
  policiesSha256: z.string(),
  matched: z.number(),
  dryRun: z.boolean(),
  planned: z.array(
    z.object({
      policy: z.object({
        name: z.string(),
        tier: z.string(),
        targets: z.object({
          rtoSeconds: z.number(),
          rpoSeconds: z.number(),
          dataRpoSeconds: z.number().optional(),
        }),
      }),
      account: z.string(),
      region: z.string(),
      resourceType: z.string(),
      resourceArn: z.string(),
      recoveryPointArn: z.string(),
      recoveryPointCreatedAt: z.string(),
      backupVaultName: z.string(),
      choice: z.string(),
    }),
  ),
  skipped: z.array(Skip),
  started: z.array(
    z.object({ drillId: z.string(), executionArn: z.string(), policy: z.string(), resourceArn: z.string() }),
  ),
  notStarted: z.array(Skip),
});
export type PlanOutput = z.infer<typeof PlanOutput>;

const SANDBOX_FLAGS = {
  seed: { type: 'string' },
  count: { type: 'string' },
  json: { type: 'boolean' },
} as const;

const SandboxEstate = z.object({
  seed: decimal(0, 2 ** 32 - 1).default(1),
  /** Tagged, backed-up resources in the seeded estate. */
  count: decimal(1, 200).default(9),
  json: z.boolean().default(false),
});

const hours = (seconds: number) =>
  seconds % 3600 === 0 ? `${seconds / 3600}h` : `${Math.round(seconds / 60)}m`;

export function formatPlan(plan: PlanOutput): string {
  const lines = [
    `plan at ${plan.at}: ${plan.matched} resource(s) matched a policy (policies.yml sha256 ${plan.policiesSha256.slice(0, 12)})`,
    '',
    plan.dryRun
      ? `would start ${plan.planned.length} drill(s):`
      : `planned ${plan.planned.length} drill(s), started ${plan.started.length}:`,
  ];
  for (const drill of plan.planned) {
    const t = drill.policy.targets;
    lines.push(
      `  ${drill.policy.name.padEnd(16)} ${drill.policy.tier.padEnd(7)} ${drill.resourceType.padEnd(10)} ${drill.resourceArn}`,
      `      recovery point ${drill.recoveryPointArn} (created ${drill.recoveryPointCreatedAt}, ${drill.choice})`,
      `      targets RTO ${hours(t.rtoSeconds)}, RPO ${hours(t.rpoSeconds)}${t.dataRpoSeconds ? `, data RPO ${hours(t.dataRpoSeconds)}` : ''}`,
    );
  }
  const skipped = [...plan.skipped, ...plan.notStarted];
  if (skipped.length > 0) {
    lines.push('', `skipped ${skipped.length}:`);
    for (const skip of skipped)
      lines.push(`  ${skip.policy.padEnd(16)} ${skip.resourceArn}`, `      ${skip.reason}`);
  }
  return lines.join('\n');
}

async function sandboxFor(seed: number, faults: readonly string[]): Promise<Sandbox> {
  try {
    return await Sandbox.create({ seed, faults });
  } catch (error) {
    if (error instanceof FaultSpecError) throw new UsageError(`--fault: ${error.message}`, { cause: error });
    throw error;
  }
}

/** Invokes the sandbox's plan function (as its schedule does, or with `dryRun`). */
async function invokePlan(sandbox: Sandbox, dryRun: boolean): Promise<PlanOutput> {
  return PlanOutput.parse(await sandbox.lambda.invoke('plan', { dryRun }));
}

export async function runPlanCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseFlags('plan', argv, {
    ...SANDBOX_FLAGS,
    ...AWS_FLAGS,
    'dry-run': { type: 'boolean' },
  });
  noPositionals('plan', positionals);
  if (values['dry-run'] !== true)
    throw new UsageError(
      'plan needs --dry-run: it shows what the next run would start (pilotlight sweep runs one in the sandbox; the deployed plan runs on its schedule)',
    );
  if (values.aws === true) {
    const sandboxOnly = ['seed', 'count'].filter((flag) => values[flag] !== undefined);
    if (sandboxOnly.length > 0)
      throw new UsageError(`--${sandboxOnly[0]} is a sandbox flag; it cannot be combined with --aws`);
    const target = AwsTarget.safeParse({
      stage: values.stage,
      region: values.region,
      profile: values.profile,
    });
    if (!target.success) throw flagIssue(target.error);
    const { runAwsPlan } = await import('./aws-plan.js');
    const plan = await runAwsPlan(target.data);
    process.stdout.write(
      values.json === true ? `${JSON.stringify(plan, null, 2)}\n` : `${formatPlan(plan)}\n`,
    );
    return 0;
  }
  const awsOnly = ['stage', 'region', 'profile'].filter((flag) => values[flag] !== undefined);
  if (awsOnly.length > 0) throw new UsageError(`--${awsOnly[0]} needs --aws (a deployed stack)`);
  const parsed = SandboxEstate.safeParse({ seed: values.seed, count: values.count, json: values.json });
  if (!parsed.success) throw flagIssue(parsed.error);
  const sandbox = await sandboxFor(parsed.data.seed, []);
  let plan: PlanOutput;
  try {
    seedTaggedEstate(sandbox.world, sandbox.random, { count: parsed.data.count });
    plan = await invokePlan(sandbox, true);
  } finally {
    // The sandbox captures stdout (the functions' EMF and logs) while it runs.
    sandbox.dispose();
  }
  process.stdout.write(parsed.data.json ? `${JSON.stringify(plan, null, 2)}\n` : `${formatPlan(plan)}\n`);
  return 0;
}

const SweepOptions = SandboxEstate.extend({
  faults: z.array(z.string()).default([]),
  evidenceDir: z.string().min(1, 'needs a directory').optional(),
});

/** `pilotlight sweep --json`: the drill run's report, with the plan and the estate it ran over. */
export interface SweepReport extends RunReport {
  plan: PlanOutput;
  estate: EstateResource[];
}

function sweepSummary(report: SweepReport, evidence: readonly StoredEvidence[]): string {
  const lines = [
    `Pilotlight sweep (sandbox, seed ${report.sandbox.seed}): ${report.estate.length} resources in the estate, ${report.plan.matched} matched a policy`,
    formatPlan(report.plan),
    '',
    'drills:',
  ];
  const documents = new Map(
    evidence.flatMap((e) => {
      const parsed = EvidenceDocument.safeParse(JSON.parse(e.body));
      return parsed.success ? [[e.drillId, parsed.data] as const] : [];
    }),
  );
  for (const drill of report.drills) {
    const document = documents.get(drill.drillId);
    const rto =
      drill.rtoSeconds === null
        ? 'RTO n/a'
        : `RTO ${drill.rtoSeconds}s / ${document?.rtoTargetSeconds ?? '?'}s ${document?.rtoTargetMet ? 'met' : 'MISSED'}`;
    const tier = document?.policy ? document.policy.tier : '-';
    const why = drill.error ? `  ${drill.error.name}: ${drill.error.message.slice(0, 100)}` : '';
    lines.push(
      `  ${drill.status.padEnd(9)} ${drill.source.resourceType.padEnd(10)} ${tier.padEnd(7)} ${rto.padEnd(28)} ${drill.drillId}${why}`,
    );
  }
  const failed = report.drills.filter((d) => d.status !== 'SUCCEEDED').length;
  lines.push(
    '',
    `${report.drills.length} drill(s): ${report.drills.length - failed} succeeded, ${failed} failed; resources left ${report.sandbox.resourcesLeft}; alerts ${report.sandbox.alerts.length}`,
  );
  return lines.join('\n');
}

export async function runSweepCommand(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseFlags('sweep', argv, {
    ...SANDBOX_FLAGS,
    fault: { type: 'string', multiple: true },
    'evidence-dir': { type: 'string' },
  });
  noPositionals('sweep', positionals);
  const parsed = SweepOptions.safeParse({
    seed: values.seed,
    count: values.count,
    json: values.json,
    faults: values.fault,
    evidenceDir: values['evidence-dir'],
  });
  if (!parsed.success) throw flagIssue(parsed.error, { faults: 'fault' });
  const options = parsed.data;
  if (options.evidenceDir) await prepareEvidenceDir(options.evidenceDir);
  const sandbox = await sandboxFor(options.seed, options.faults);
  let report: SweepReport | undefined;
  let evidence: StoredEvidence[] = [];
  let planFailure = '';
  try {
    const startedAt = new Date(sandbox.clock.now).toISOString();
    const estate = seedTaggedEstate(sandbox.world, sandbox.random, { count: options.count });
    let plan: PlanOutput | undefined;
    try {
      plan = await invokePlan(sandbox, false);
    } catch (error) {
      if (!(error instanceof LambdaInvocationError)) throw error;
      planFailure = `pilotlight: sweep: the plan function failed: ${error.message}`;
    }
    if (plan) {
      await sandbox.runToSettled();
      const run = buildReport(sandbox, options.seed, startedAt);
      report = { ...run, plan, estate };
      evidence = evidenceOf(sandbox, run);
    }
  } finally {
    sandbox.dispose();
  }
  if (!report) {
    process.stderr.write(`${planFailure}\n`);
    return 1;
  }
  if (options.evidenceDir) await writeEvidence(options.evidenceDir, evidence, 'pilotlight sweep (sandbox)');
  process.stdout.write(
    options.json ? `${JSON.stringify(report, null, 2)}\n` : `${sweepSummary(report, evidence)}\n`,
  );
  if (options.evidenceDir && !options.json)
    process.stdout.write(`evidence ${evidence.length} document(s) written to ${options.evidenceDir}\n`);
  const { exitCode } = await import('./main.js');
  return exitCode(report);
}
