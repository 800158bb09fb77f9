import { CORE_SCHEMA, load } from 'js-yaml';

/**
 * The YAML the functions read at cold start (validations.yml, policies.yml), with the YAML 1.2 core schema
 * (what the `yaml` package the sandbox and tests use parses by default: `yes` stays a string, a date stays
 * text). js-yaml rather than `yaml` here for size: 46 KB minified against 115 KB in every bundle that reads a
 * file (docs/architecture.md, Lean functions).
 */
export function parseYamlText(text: string): unknown {
  return load(text, { schema: CORE_SCHEMA });
}

/** The first line of a parse error, for one-line messages. */
export function yamlErrorLine(error: unknown): string {
  return error instanceof Error ? (error.message.split('\n')[0] ?? error.name) : String(error);
}
