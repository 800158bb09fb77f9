import { readFileSync } from 'node:fs';
import * as z from 'zod';
import type { RunReport } from '../sandbox/report.js';
import { parseDrillArgs, UsageError } from './args.js';
import { runDrill } from './drill.js';
import { prepareEvidenceDir, writeEvidence } from './evidence.js';
import { formatReport } from './format.js';
import { commandHelp, HELP, mainHelp } from './help.js';
import { runEvidenceCommand, runReportCommand } from './report.js';

/**
 * `pilotlight drill …`: exit 0 every drill succeeded (or nothing was triggered: the reason is printed); 1 a
 * drill failed, a trigger was accepted but never drilled, or something is still left behind after settling;
 * 2 bad input.
 */
export function exitCode(report: RunReport): 0 | 1 {
  if (report.drills.some((drill) => drill.status !== 'SUCCEEDED')) return 1;
  if (report.lostTriggers.length > 0) return 1;
  return report.sandbox.resourcesLeft > report.sandbox.kept.length ? 1 : 0;
}

export const VERSION = z
  .object({ version: z.string() })
  .parse(JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))).version;

async function drill(argv: readonly string[]): Promise<number> {
  const parsed = parseDrillArgs(argv);
  if (parsed.aws) {
    const { runAwsDrill } = await import('./aws.js');
    return runAwsDrill(parsed.options);
  }
  const { options } = parsed;
  // Checked before anything runs: a drill whose evidence cannot be kept is not started.
  if (options.evidenceDir) await prepareEvidenceDir(options.evidenceDir);
  const { report, evidence } = await runDrill(options);
  if (options.evidenceDir)
    await writeEvidence(options.evidenceDir, evidence, `pilotlight ${VERSION} (sandbox)`);
  process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
  if (options.evidenceDir && !options.json)
    process.stdout.write(`evidence ${evidence.length} document(s) written to ${options.evidenceDir}\n`);
  return exitCode(report);
}

async function status(argv: readonly string[]): Promise<number> {
  const { runAwsStatus } = await import('./aws.js');
  return runAwsStatus(argv);
}

const COMMANDS: Record<string, (argv: readonly string[]) => Promise<number>> = {
  drill,
  status,
  evidence: runEvidenceCommand,
  report: runReportCommand,
  plan: async (argv) => (await import('./plan.js')).runPlanCommand(argv),
  sweep: async (argv) => (await import('./plan.js')).runSweepCommand(argv),
};

const wantsHelp = (argv: readonly string[]) => argv.includes('--help') || argv.includes('-h');

export async function main(argv: readonly string[]): Promise<number> {
  try {
    const [command, ...rest] = argv;
    if (command === undefined) {
      process.stderr.write(`${mainHelp(VERSION)}\n`);
      return 2;
    }
    if (command === '--help' || command === '-h' || command === 'help') {
      const topic = command === 'help' ? rest[0] : undefined;
      const help = topic === undefined ? undefined : HELP[topic];
      process.stdout.write(`${help ? commandHelp(help) : mainHelp(VERSION)}\n`);
      return 0;
    }
    if (command === '--version' || command === '-V') {
      process.stdout.write(`${VERSION}\n`);
      return 0;
    }
    const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
    const help = Object.hasOwn(HELP, command) ? HELP[command] : undefined;
    if (!run || !help)
      throw new UsageError(
        `unknown command "${command}" (commands: ${Object.keys(COMMANDS).join(', ')}; pilotlight --help)`,
      );
    if (wantsHelp(rest)) {
      process.stdout.write(`${commandHelp(help)}\n`);
      return 0;
    }
    return await run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`pilotlight: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}
