import '../test/setup.js';
import { supportedResourceTypes } from '../functions/resources/index.js';
import { burst } from './burst.js';
import { ScaleRunError } from './scale.js';

/**
 * One sandbox run in its own process (bench/scale.ts): a burst of N backups across every supported type.
 * Prints one JSON line, after the sandbox is disposed (it captures stdout while it runs).
 */
const count = Number(process.argv.at(-1));
if (!Number.isInteger(count) || count < 1)
  throw new ScaleRunError(`scale-child: expected a drill count, got ${process.argv.at(-1)}`);
const result = await burst(supportedResourceTypes, count, 1);
process.stdout.write(
  `${JSON.stringify({ ...result, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`,
);
process.exit(0);
