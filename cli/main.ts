import { parseDrillArgs, UsageError } from './args.js';
import { runDrill } from './drill.js';
import { formatReport } from './format.js';

/** `pilotlight drill …`: exit 0 every drill succeeded (or nothing was triggered), 1 a drill failed, 2 bad input. */
export async function main(argv: readonly string[]): Promise<number> {
  try {
    const options = parseDrillArgs(argv);
    const report = await runDrill(options);
    process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
    return report.drills.some((drill) => drill.status !== 'SUCCEEDED') ? 1 : 0;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`pilotlight: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}
