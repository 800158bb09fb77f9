import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { supportedResourceTypes } from '../functions/resources/index.js';
import { expandPerResourceType } from '../serverless/per-resource-type.js';

/**
 * Reads serverless.yml (and the ASL files it includes) the way the Serverless Framework does, for the
 * subset of variable sources this project uses: ${param:}, ${sls:stage}, ${self:}, ${opt:}, ${env:} and
 * ${file()}. Written here because osls has no programmatic API for variable resolution and
 * `serverless print` takes seconds; test/infra compares this reading with `serverless print`.
 */
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface ServerlessOptions {
  stage: string;
  region?: string;
  /** `--param name=value` overrides, as on the serverless command line. */
  params?: Record<string, string>;
}

export interface FunctionSpec {
  key: string;
  handler: string;
  /** Path of the handler module, relative to the project root, without extension. */
  modulePath: string;
  exportName: string;
  /** MB: the function's memorySize, else the provider's, else Lambda's default (128). */
  memorySize: number;
  environment: Record<string, Json>;
  /** `package.patterns`: the files beside the code in the function's package (validations.yml, policies.yml). */
  packagePatterns: string[];
  eventBridge: { pattern: Record<string, Json> }[];
  /** `input`: the constant JSON EventBridge sends instead of the Scheduled Event, when the schedule sets one. */
  schedules: { rate: string; everyMs: number; input?: Json }[];
  /** serverless-iam-roles-per-function: the function role's statements, and its custom name if any. */
  iamRoleStatements: Json[];
  iamRoleStatementsName?: string;
}

export interface ServerlessConfig {
  root: string;
  service: string;
  stage: string;
  region: string;
  params: Record<string, string>;
  providerEnvironment: Record<string, Json>;
  functions: FunctionSpec[];
  stateMachines: { key: string; id: string; name: string; definition: Record<string, Json> }[];
  resources: Record<string, { Type: string; Properties?: Record<string, Json> }>;
  /** The `custom` block, resolved (plugin settings such as serverless-esbuild's `custom.esbuild`). */
  custom: Record<string, Json>;
}

function isRecord(value: unknown): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stripQuotes(value: string): string {
  const trimmed = value.trim();
  return trimmed.replace(/^'(.*)'$/, '$1').replace(/^"(.*)"$/, '$1');
}

class Resolver {
  constructor(
    private readonly root: string,
    private readonly raw: Record<string, Json>,
    private readonly options: ServerlessOptions,
    /** Params keep their YAML type: `${param:x}` as a whole value is a number or boolean if x is one. */
    private readonly params: Record<string, Json>,
  ) {}

  resolve(value: Json, depth = 0): Json {
    if (depth > 20) throw new Error('serverless.yml: variables nest too deeply');
    if (typeof value === 'string') return this.resolveString(value, depth);
    if (Array.isArray(value)) return value.map((item) => this.resolve(item, depth));
    if (isRecord(value))
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.resolve(v, depth)]));
    return value;
  }

  private resolveString(text: string, depth: number): Json {
    const isCloudFormation = (inner: string) =>
      inner.includes('::') || /^[A-Za-z0-9]+(\.[A-Za-z]+)?$/.test(inner);
    const whole = text.match(/^\$\{([^{}]+)\}$/);
    if (whole?.[1] && !isCloudFormation(whole[1])) {
      const value = this.lookup(whole[1], depth);
      return typeof value === 'string'
        ? this.resolveString(value, depth + 1)
        : this.resolve(value, depth + 1);
    }
    // CloudFormation's own ${AWS::Region} / ${Logical.Attr} (inside Fn::Sub) are left for CloudFormation.
    const replaced = text.replace(/\$\{([^{}]+)\}/g, (match, inner: string) =>
      isCloudFormation(inner) ? match : String(this.lookup(inner, depth)),
    );
    return replaced === text ? text : this.resolveString(replaced, depth + 1);
  }

  private lookup(expression: string, depth: number): Json {
    const [source = '', ...fallbackParts] = expression.split(',');
    const fallback = fallbackParts.length > 0 ? stripQuotes(fallbackParts.join(',')) : undefined;
    const trimmed = source.trim();
    // ${file(x)} is the whole file; ${file(x):a.b} one property of it, as in the Serverless Framework.
    const file = trimmed.match(/^file\((.+?)\)(?::([\w.]+))?$/);
    if (file) {
      const path = join(this.root, stripQuotes(file[1] ?? ''));
      const whole = parse(readFileSync(path, 'utf8'), { merge: true }) as Json;
      const value = (file[2] ?? '')
        .split('.')
        .filter(Boolean)
        .reduce<Json | undefined>((node, key) => (isRecord(node) ? node[key] : undefined), whole);
      if (value === undefined || value === null)
        throw new Error(`serverless.yml: \${${expression}} has no value`);
      return this.resolve(value, depth + 1);
    }
    const [kind, name = ''] = [
      trimmed.slice(0, trimmed.indexOf(':')),
      trimmed.slice(trimmed.indexOf(':') + 1),
    ];
    let found: Json | undefined;
    if (kind === 'param') found = this.params[name];
    else if (kind === 'sls' && name === 'stage') found = this.options.stage;
    else if (kind === 'opt')
      found = name === 'stage' ? this.options.stage : name === 'region' ? this.options.region : undefined;
    else if (kind === 'env') found = process.env[name];
    else if (kind === 'self') {
      found = name
        .split('.')
        .reduce<Json | undefined>((node, key) => (isRecord(node) ? node[key] : undefined), this.raw);
    } else
      throw new Error(
        `serverless.yml: the sandbox does not resolve variable source "${kind}" in \${${expression}}`,
      );
    if (found === undefined || found === null) {
      if (fallback !== undefined) return fallback;
      throw new Error(`serverless.yml: \${${expression}} has no value`);
    }
    return found;
  }
}

/** `rate(10 minutes)` → milliseconds. */
export function rateToMs(rate: string): number {
  const match = rate.match(/^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$/);
  if (!match) throw new Error(`serverless.yml: the sandbox runs only rate() schedules, not "${rate}"`);
  const unit = match[2]?.startsWith('minute')
    ? 60_000
    : match[2]?.startsWith('hour')
      ? 3_600_000
      : 86_400_000;
  return Number(match[1]) * unit;
}

export function loadServerlessConfig(root: string, options: ServerlessOptions): ServerlessConfig {
  const raw = parse(readFileSync(join(root, 'serverless.yml'), 'utf8'), { merge: true }) as Record<
    string,
    Json
  >;
  const paramsBlock = isRecord(raw.params) ? raw.params : {};
  const stageParams = isRecord(paramsBlock[options.stage]) ? paramsBlock[options.stage] : {};
  const defaults = isRecord(paramsBlock.default) ? paramsBlock.default : {};
  const typedParams: Record<string, Json> = {
    ...defaults,
    ...(stageParams as Record<string, Json>),
    ...options.params,
  };
  const params = Object.fromEntries(Object.entries(typedParams).map(([k, v]) => [k, String(v)]));
  const resolver = new Resolver(root, raw, options, typedParams);
  const resolved = resolver.resolve(raw) as Record<string, Json>;
  const provider = isRecord(resolved.provider) ? resolved.provider : {};
  const functions = isRecord(resolved.functions) ? resolved.functions : {};
  const stepFunctions = isRecord(resolved.stepFunctions) ? resolved.stepFunctions : {};
  const machines = isRecord(stepFunctions.stateMachines) ? stepFunctions.stateMachines : {};
  const resources =
    isRecord(resolved.resources) && isRecord(resolved.resources.Resources)
      ? resolved.resources.Resources
      : {};
  // What serverless/plugin.cjs adds when packaging: the per resource type alarms, one set per registered type.
  const custom = isRecord(resolved.custom) ? resolved.custom : {};
  if (custom.perResourceType !== undefined)
    expandPerResourceType(custom.perResourceType, resources, supportedResourceTypes);

  return {
    root,
    service: String(resolved.service),
    stage: options.stage,
    region: String(provider.region ?? options.region ?? 'us-east-1'),
    params,
    providerEnvironment: isRecord(provider.environment) ? provider.environment : {},
    functions: Object.entries(functions).map(([key, spec]) => {
      if (!isRecord(spec) || typeof spec.handler !== 'string')
        throw new Error(`serverless.yml: function ${key} has no handler`);
      const handler = spec.handler;
      const dot = handler.lastIndexOf('.');
      const events = Array.isArray(spec.events) ? spec.events.filter(isRecord) : [];
      return {
        key,
        handler,
        modulePath: handler.slice(0, dot),
        exportName: handler.slice(dot + 1),
        memorySize: Number(spec.memorySize ?? provider.memorySize ?? 128),
        environment: isRecord(spec.environment) ? spec.environment : {},
        packagePatterns:
          isRecord(spec.package) && Array.isArray(spec.package.patterns)
            ? spec.package.patterns.map(String)
            : [],
        eventBridge: events.flatMap((event) =>
          isRecord(event.eventBridge) && isRecord(event.eventBridge.pattern)
            ? [{ pattern: event.eventBridge.pattern }]
            : [],
        ),
        iamRoleStatements: Array.isArray(spec.iamRoleStatements) ? spec.iamRoleStatements : [],
        iamRoleStatementsName:
          typeof spec.iamRoleStatementsName === 'string' ? spec.iamRoleStatementsName : undefined,
        schedules: events.flatMap((event) => {
          const schedule = event.schedule;
          // `schedule: rate(...)`, or `{rate, input}` where rate may be a list (as `serverless print` shows it).
          const rates =
            typeof schedule === 'string'
              ? [schedule]
              : isRecord(schedule)
                ? (Array.isArray(schedule.rate) ? schedule.rate : [schedule.rate]).map(String)
                : [];
          const input = isRecord(schedule) ? schedule.input : undefined;
          return rates.map((rate) => ({
            rate,
            everyMs: rateToMs(rate),
            ...(input === undefined ? {} : { input }),
          }));
        }),
      };
    }),
    stateMachines: Object.entries(machines).map(([key, spec]) => {
      if (!isRecord(spec) || !isRecord(spec.definition))
        throw new Error(`serverless.yml: state machine ${key} has no definition`);
      return { key, id: String(spec.id ?? key), name: String(spec.name ?? key), definition: spec.definition };
    }),
    resources: resources as ServerlessConfig['resources'],
    custom: isRecord(resolved.custom) ? resolved.custom : {},
  };
}

export const projectRoot = join(dirname(new URL(import.meta.url).pathname), '..');
export type { Json };
