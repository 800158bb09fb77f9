import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadServerlessConfig } from '../../sandbox/serverless-config.js';
import { repoRoot } from './lib.js';

/**
 * The sandbox reads serverless.yml with its own variable resolver (sandbox/serverless-config.ts). This holds
 * it to the Serverless Framework's own reading: `serverless print` for the same stage and options must give
 * the same functions, environment, events, state machine and resources.
 */
const require = createRequire(import.meta.url);

function serverlessPrint(args: string[]): Record<string, unknown> {
  const bin = join(dirname(require.resolve('osls/package.json')), 'bin', 'serverless.js');
  const run = spawnSync(process.execPath, [bin, 'print', '--format', 'json', ...args], {
    cwd: repoRoot,
    env: {
      ...process.env,
      SLS_TELEMETRY_DISABLED: '1',
      SLS_NOTIFICATIONS_MODE: 'off',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`serverless print failed (${run.status}):\n${run.stderr}`);
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

/** The framework prints YAML scalars as it read them; the sandbox keeps them as strings or numbers too. */
function normalized(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}

describe.each<{ stage: string; region?: string; params: Record<string, string> }>([
  { stage: 'sandbox', params: {} },
  { stage: 'prod', region: 'us-west-2', params: { drAccountId: '444455556666', sweepRate: 'rate(2 hours)' } },
])(
  'the sandbox reads serverless.yml as `serverless print --stage $stage` does',
  ({ stage, region, params }) => {
    const args = ['--stage', stage, ...(region ? ['--region', region] : [])];
    for (const [name, value] of Object.entries(params)) args.push('--param', `${name}=${value}`);
    const printed = serverlessPrint(args);
    const sandbox = loadServerlessConfig(repoRoot, { stage, region, params });
    const provider = printed.provider as Record<string, unknown>;
    const functions = printed.functions as Record<
      string,
      { handler: string; environment?: unknown; events?: Record<string, unknown>[] }
    >;

    it('resolves the provider environment every function gets', () => {
      expect(normalized(sandbox.providerEnvironment)).toEqual(normalized(provider.environment));
      expect(sandbox.region).toBe(provider.region);
    });

    it('has the same functions, handlers, environment, event patterns and schedules', () => {
      expect(sandbox.functions.map((fn) => fn.key)).toEqual(Object.keys(functions));
      for (const fn of sandbox.functions) {
        const printedFn = functions[fn.key];
        expect(fn.handler).toBe(printedFn?.handler);
        expect(normalized(fn.environment)).toEqual(normalized(printedFn?.environment ?? {}));
        const events = printedFn?.events ?? [];
        expect(normalized(fn.eventBridge.map((e) => e.pattern))).toEqual(
          normalized(
            events.flatMap((e) => (e.eventBridge ? [(e.eventBridge as { pattern: unknown }).pattern] : [])),
          ),
        );
        // A schedule is a rate, or {rate, input} (the reconciler's job check): the same rates and inputs.
        expect(
          normalized(
            fn.schedules.map((s) => (s.input === undefined ? s.rate : { rate: s.rate, input: s.input })),
          ),
        ).toEqual(
          normalized(
            events.flatMap((e): unknown[] => {
              const schedule = e.schedule as string | { rate: string[]; input: unknown } | undefined;
              if (schedule === undefined) return [];
              if (typeof schedule === 'string') return [schedule];
              return schedule.rate.map((rate) => ({ rate, input: schedule.input }));
            }),
          ),
        );
      }
    });

    it('has the same state machine definition and the same resources', () => {
      const machines = (
        printed.stepFunctions as { stateMachines: Record<string, { name: string; definition: unknown }> }
      ).stateMachines;
      expect(sandbox.stateMachines.map((m) => m.key)).toEqual(Object.keys(machines));
      for (const machine of sandbox.stateMachines) {
        expect(machine.name).toBe(machines[machine.key]?.name);
        // The framework prints ${file()} includes as they were parsed: YAML with anchors resolved.
        expect(normalized(machine.definition)).toEqual(normalized(machines[machine.key]?.definition));
      }
      const resources = (printed.resources as { Resources: unknown }).Resources;
      expect(normalized(sandbox.resources)).toEqual(normalized(resources));
    });

    it('reads the params the same way', () => {
      const printedParams = printed.params as Record<string, Record<string, unknown>>;
      for (const [name, value] of Object.entries(printedParams.default ?? {})) {
        expect(sandbox.params[name]).toBe(String(params[name] ?? value));
      }
    });
  },
);
