import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CORE_SCHEMA, load } from 'js-yaml';

/**
 * The YAML files the functions read at cold start (validations.yml by checkHealth, policies.yml by plan): where
 * they are, their bytes' SHA-256 for the evidence, and their YAML. Parsed with js-yaml and the YAML 1.2 core
 * schema (what the `yaml` package the sandbox and tests use parses by default: `yes` stays a string, a date
 * stays text); js-yaml rather than `yaml` for size: 46 KB minified against 115 KB in every bundle that reads a
 * file (docs/architecture.md, Lean functions).
 */

/** The error class a file's problems are reported with (one line, the cause kept). */
type InvalidFile = new (message: string, options?: ErrorOptions) => Error;

/**
 * A file next to the code: at the root of the Lambda package (`LAMBDA_TASK_ROOT`; the function's
 * `package.patterns` includes it), or at the repository root when run from source (tests, the sandbox).
 */
export function packagedFilePath(file: string): string {
  const taskRoot = process.env.LAMBDA_TASK_ROOT;
  return taskRoot ? join(taskRoot, file) : fileURLToPath(new URL(`../../${file}`, import.meta.url));
}

/** The file's text and the SHA-256 (hex) of its bytes: which text judged or planned a drill. */
export function readConfigFile(path: string, Invalid: InvalidFile): { text: string; sha256: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Invalid(`${path}: cannot be read`, { cause: error });
  }
  return { text, sha256: createHash('sha256').update(text).digest('hex') };
}

/** The YAML document in `text`; `source` names the file in the one-line error. */
export function parseYamlDocument(text: string, source: string, Invalid: InvalidFile): unknown {
  try {
    return load(text, { schema: CORE_SCHEMA });
  } catch (error) {
    const reason = error instanceof Error ? (error.message.split('\n')[0] ?? error.name) : String(error);
    throw new Invalid(`${source}: not valid YAML: ${reason}`, { cause: error });
  }
}
