import type { RunReport } from '../sandbox/report.js';
import { parseDrillArgs, UsageError } from './args.js';
import { runDrill } from './drill.js';
import { formatReport } from './format.js';

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

export async function main(argv: readonly string[]): Promise<number> {
  try {
    const options = parseDrillArgs(argv);
    const report = await runDrill(options);
    process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
    return exitCode(report);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`pilotlight: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}
