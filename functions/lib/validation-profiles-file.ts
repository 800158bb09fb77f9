import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as z from 'zod';
import {
  type ValidationProfiles,
  ValidationProfilesInvalid,
  ValidationProfilesSchema,
} from './validations.js';
import { parseYamlText, yamlErrorLine } from './yaml.js';

/**
 * Reading validations.yml: only checkHealth (and packaging, tests, the sandbox) parse the file, so the YAML
 * parser (~115 KB minified) lives here, apart from the profile schema every resource module imports
 * (docs/architecture.md, Lean functions).
 */

/** The first problem with its path, then how many more: one line, for `serverless package` and logs. */
function oneLine(source: string, error: z.ZodError): string {
  const [first] = error.issues;
  if (!first) return `${source}: invalid`;
  const where = (issue: z.core.$ZodIssue) =>
    issue.path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`)).join('');
  const path = where(first);
  // Problems at the same place are one problem seen twice (an unknown kind is also "no kind").
  const others = error.issues.filter((issue) => where(issue) !== path).length;
  const more = others > 0 ? ` (and ${others} more)` : '';
  return `${source}: ${path.replace(/^\./, '') || '(top level)'}: ${first.message}${more}`;
}

/** Parses validations.yml text; `source` names the file in the error message. */
export function parseValidationProfiles(text: string, source = 'validations.yml'): ValidationProfiles {
  let document: unknown;
  try {
    document = parseYamlText(text);
  } catch (error) {
    throw new ValidationProfilesInvalid(`${source}: not valid YAML: ${yamlErrorLine(error)}`, {
      cause: error,
    });
  }
  const parsed = ValidationProfilesSchema.safeParse(document);
  if (!parsed.success)
    throw new ValidationProfilesInvalid(oneLine(source, parsed.error), { cause: parsed.error });
  return parsed.data;
}

/**
 * validations.yml next to the code: at the root of the Lambda package (`LAMBDA_TASK_ROOT`; the function's
 * `package.patterns` includes it), or at the repository root when run from source (tests, the sandbox).
 */
export function defaultValidationProfilesPath(): string {
  const taskRoot = process.env.LAMBDA_TASK_ROOT;
  return taskRoot
    ? join(taskRoot, 'validations.yml')
    : fileURLToPath(new URL('../../validations.yml', import.meta.url));
}

export interface LoadedValidationProfiles {
  profiles: ValidationProfiles;
  /** SHA-256 (hex) of the file's bytes, for the evidence: which profile text judged the drill. */
  sha256: string;
}

export function loadValidationProfiles(path = defaultValidationProfilesPath()): LoadedValidationProfiles {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ValidationProfilesInvalid(`${path}: cannot be read`, { cause: error });
  }
  return {
    profiles: parseValidationProfiles(text, path),
    sha256: createHash('sha256').update(text).digest('hex'),
  };
}
