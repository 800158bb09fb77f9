import type * as z from 'zod';
import { packagedFilePath, parseYamlDocument, readConfigFile } from './config-file.js';
import {
  type ValidationProfiles,
  ValidationProfilesInvalid,
  ValidationProfilesSchema,
} from './validations.js';

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
  const document = parseYamlDocument(text, source, ValidationProfilesInvalid);
  const parsed = ValidationProfilesSchema.safeParse(document);
  if (!parsed.success)
    throw new ValidationProfilesInvalid(oneLine(source, parsed.error), { cause: parsed.error });
  return parsed.data;
}

/** validations.yml next to the code (the package root in Lambda, the repository root from source). */
export function defaultValidationProfilesPath(): string {
  return packagedFilePath('validations.yml');
}

export interface LoadedValidationProfiles {
  profiles: ValidationProfiles;
  /** SHA-256 (hex) of the file's bytes, for the evidence: which profile text judged the drill. */
  sha256: string;
}

export function loadValidationProfiles(path = defaultValidationProfilesPath()): LoadedValidationProfiles {
  const { text, sha256 } = readConfigFile(path, ValidationProfilesInvalid);
  return { profiles: parseValidationProfiles(text, path), sha256 };
}
