import type { Json } from './serverless-config.js';

// A type (not an interface) so an event is a plain JSON record wherever one is expected.
export type EventBridgeEvent = {
  version: string;
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, Json>;
};

/**
 * EventBridge content filtering for the operators this project's rules use (exact values, prefix,
 * anything-but, exists). Written here because no maintained package implements EventBridge patterns
 * offline; an unsupported operator fails loudly instead of matching wrongly.
 */
export function matchesPattern(pattern: Record<string, Json>, event: Record<string, unknown>): boolean {
  return Object.entries(pattern).every(([key, expected]) => matchesField(expected, event[key], key));
}

function matchesField(expected: Json, actual: unknown, key: string): boolean {
  if (Array.isArray(expected)) {
    const values = Array.isArray(actual) ? actual : [actual];
    return expected.some((rule) => values.some((value) => matchesRule(rule, value, actual, key)));
  }
  if (expected && typeof expected === 'object') {
    if (!actual || typeof actual !== 'object' || Array.isArray(actual)) return false;
    return matchesPattern(expected, actual as Record<string, unknown>);
  }
  throw new Error(`event pattern field "${key}" must be an array or an object`);
}

function matchesRule(rule: Json, value: unknown, whole: unknown, key: string): boolean {
  if (rule === null || typeof rule !== 'object') return value === rule;
  if (Array.isArray(rule)) throw new Error(`event pattern field "${key}": nested arrays are not a pattern`);
  if ('prefix' in rule)
    return typeof value === 'string' && typeof rule.prefix === 'string' && value.startsWith(rule.prefix);
  if ('exists' in rule) return (whole !== undefined) === rule.exists;
  if ('anything-but' in rule) {
    const excluded = rule['anything-but'];
    return Array.isArray(excluded) ? !excluded.includes(value as Json) : value !== excluded;
  }
  throw new Error(`event pattern field "${key}": the sandbox does not implement ${JSON.stringify(rule)}`);
}
