import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BuildOptions, build } from 'esbuild';
import { z } from 'zod';
import { StackNames } from '../sandbox/cloudformation.js';
import { CENTRAL_ACCOUNT } from '../sandbox/index.js';
import { loadServerlessConfig, projectRoot } from '../sandbox/serverless-config.js';

/**
 * Each function bundled as `serverless package` bundles it (esbuild with serverless.yml's `custom.esbuild`,
 * and serverless-esbuild's default `exclude: ['aws-sdk']`), then its module init timed in fresh Node
 * processes: the time `await import(bundle)` takes, with the function's environment and NODE_OPTIONS from
 * serverless.yml (so `--enable-source-maps` costs what it costs in Lambda). Node's own start is not counted.
 */
export class BundleError extends Error {
  override readonly name = 'BundleError';
}

export interface BundleFigures {
  minifiedBytes: number;
  sourceMapBytes: number;
  initMsMedian: number;
  initMs: number[];
}

/** The serverless-esbuild settings this project uses (custom.esbuild); anything else is refused. */
const EsbuildSettings = z
  .object({
    bundle: z.boolean(),
    minify: z.boolean(),
    sourcemap: z.union([z.boolean(), z.enum(['linked', 'external', 'inline', 'both'])]),
    target: z.string(),
    platform: z.enum(['node']),
    format: z.enum(['esm', 'cjs']),
    outputFileExtension: z.enum(['.js', '.mjs', '.cjs']).default('.js'),
    banner: z.record(z.string(), z.string()).optional(),
    external: z.array(z.string()).default([]),
    exclude: z.array(z.string()).default(['aws-sdk']),
  })
  .strict();

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

export async function measureBundles(
  options: { functions?: readonly string[]; processes?: number } = {},
): Promise<Record<string, BundleFigures>> {
  const config = loadServerlessConfig(projectRoot, { stage: 'prod' });
  const names = new StackNames(config, CENTRAL_ACCOUNT);
  const settings = EsbuildSettings.parse(config.custom.esbuild);
  const { outputFileExtension, exclude, external, ...esbuild } = settings;
  const functions = config.functions.filter((f) => !options.functions || options.functions.includes(f.key));
  if (options.functions && functions.length !== options.functions.length)
    throw new BundleError(`no such function in serverless.yml: ${options.functions.join(', ')}`);
  const outdir = mkdtempSync(join(tmpdir(), 'pilotlight-bundles-'));
  const figures: Record<string, BundleFigures> = {};
  try {
    for (const fn of functions) {
      const buildOptions: BuildOptions = {
        ...esbuild,
        entryPoints: { [fn.key]: join(projectRoot, `${fn.modulePath}.ts`) },
        outdir,
        outExtension: { '.js': outputFileExtension },
        external: [...external, ...exclude],
        logLevel: 'silent',
      };
      try {
        await build(buildOptions);
      } catch (error) {
        throw new BundleError(`esbuild could not bundle ${fn.key}`, { cause: error });
      }
      const file = join(outdir, `${fn.key}${outputFileExtension}`);
      const environment: Record<string, string> = {
        PATH: process.env.PATH ?? '',
        AWS_REGION: config.region,
        AWS_DEFAULT_REGION: config.region,
        AWS_ACCESS_KEY_ID: 'bench-not-a-key',
        AWS_SECRET_ACCESS_KEY: 'bench-not-a-secret',
        AWS_LAMBDA_FUNCTION_NAME: `${config.service}-prod-${fn.key}`,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      };
      for (const [name, value] of Object.entries({ ...config.providerEnvironment, ...fn.environment }))
        environment[name] = String(names.resolve(value));
      const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); process.stdout.write(String(performance.now() - t));`;
      const initMs: number[] = [];
      for (let i = 0; i < (options.processes ?? 5); i++) {
        try {
          const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
            env: environment,
            encoding: 'utf8',
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          initMs.push(Number(Number(out).toFixed(1)));
        } catch (error) {
          throw new BundleError(`the ${fn.key} bundle failed to initialise`, { cause: error });
        }
      }
      const mapBytes = (() => {
        try {
          return statSync(`${file}.map`).size;
        } catch {
          return 0;
        }
      })();
      figures[fn.key] = {
        minifiedBytes: statSync(file).size,
        sourceMapBytes: mapBytes,
        initMsMedian: median(initMs),
        initMs,
      };
    }
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
  return figures;
}
