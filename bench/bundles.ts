import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BuildOptions, build, type Metafile } from 'esbuild';
import * as z from 'zod';
import { StackNames } from '../sandbox/cloudformation.js';
import { CENTRAL_ACCOUNT } from '../sandbox/index.js';
import { loadServerlessConfig, projectRoot } from '../sandbox/serverless-config.js';

/**
 * Each function bundled as `serverless package` bundles it (esbuild with serverless.yml's `custom.esbuild`,
 * and serverless-esbuild's default `exclude: ['aws-sdk']`), then its module init timed in fresh Node
 * processes: the time `await import(bundle)` takes, with the function's environment and NODE_OPTIONS from
 * serverless.yml (a `--enable-source-maps` there costs what it costs in Lambda). Node's own start is not counted.
 */
export class BundleError extends Error {
  override readonly name = 'BundleError';
}

export interface BundleFigures {
  /**
   * What a cold start loads: the entry file and every chunk it imports statically (with `splitting`, the
   * code it shares with its lazy chunks lives in such a chunk).
   */
  minifiedBytes: number;
  /** Chunks loaded only on demand (`import()`: a resource type's SDK), over all types; 0 without splitting. */
  lazyBytes: number;
  /** The source maps of what a cold start loads. */
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
    mainFields: z.array(z.string()).optional(),
    splitting: z.boolean().optional(),
    chunkNames: z.string().optional(),
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

/**
 * From esbuild's metafile: the outputs a cold start loads (the entry and its static imports, transitively)
 * and the ones loaded only through `import()` (and what they import that the entry does not).
 */
function closures(metafile: Metafile, entry: string): { loaded: Set<string>; lazy: Set<string> } {
  const walk = (start: string[], kinds: readonly string[], seen: Set<string>) => {
    const stack = [...start];
    while (stack.length) {
      const output = stack.pop() ?? '';
      if (seen.has(output)) continue;
      const found = metafile.outputs[output];
      if (!found) throw new BundleError(`esbuild's metafile has no output ${output}`);
      seen.add(output);
      for (const imported of found.imports)
        if (!imported.external && kinds.includes(imported.kind)) stack.push(imported.path);
    }
    return seen;
  };
  const loaded = walk([entry], ['import-statement'], new Set());
  const everything = walk([entry], ['import-statement', 'dynamic-import'], new Set());
  return { loaded, lazy: new Set([...everything].filter((output) => !loaded.has(output))) };
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
      const fnOutdir = join(outdir, fn.key);
      const buildOptions: BuildOptions = {
        ...esbuild,
        entryPoints: { [fn.key]: join(projectRoot, `${fn.modulePath}.ts`) },
        outdir: fnOutdir,
        outExtension: { '.js': outputFileExtension },
        external: [...external, ...exclude],
        metafile: true,
        logLevel: 'silent',
      };
      let metafile: Metafile;
      try {
        const result = await build(buildOptions);
        if (!result.metafile) throw new BundleError('esbuild returned no metafile');
        metafile = result.metafile;
      } catch (error) {
        throw new BundleError(`esbuild could not bundle ${fn.key}`, { cause: error });
      }
      const file = join(fnOutdir, `${fn.key}${outputFileExtension}`);
      // The files the function's package carries beside its code (package.patterns: validations.yml,
      // policies.yml), at the package root, where LAMBDA_TASK_ROOT points as in Lambda.
      for (const pattern of fn.packagePatterns) {
        if (/[*?[{!]/.test(pattern))
          throw new BundleError(
            `${fn.key}: package pattern ${pattern} is a glob; the bench copies files only`,
          );
        copyFileSync(join(projectRoot, pattern), join(fnOutdir, pattern));
      }
      const { loaded, lazy } = closures(metafile, relative(process.cwd(), file));
      const environment: Record<string, string> = {
        PATH: process.env.PATH ?? '',
        AWS_REGION: config.region,
        AWS_DEFAULT_REGION: config.region,
        AWS_ACCESS_KEY_ID: 'bench-not-a-key',
        AWS_SECRET_ACCESS_KEY: 'bench-not-a-secret',
        AWS_LAMBDA_FUNCTION_NAME: `${config.service}-prod-${fn.key}`,
        LAMBDA_TASK_ROOT: fnOutdir,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      };
      for (const [name, value] of Object.entries({ ...config.providerEnvironment, ...fn.environment }))
        environment[name] = String(names.resolve(value));
      const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); process.stdout.write(String(performance.now() - t));`;
      // Once, after the timed runs: every lazy chunk loads in a fresh process beside the entry (not timed).
      const lazyUrls = [...lazy].map((output) => pathToFileURL(resolve(output)).href);
      const lazyScript = `await import(${JSON.stringify(pathToFileURL(file).href)}); for (const url of ${JSON.stringify(lazyUrls)}) await import(url);`;
      const initMs: number[] = [];
      for (let i = 0; i <= (options.processes ?? 5); i++) {
        const last = i === (options.processes ?? 5);
        try {
          const out = execFileSync(
            process.execPath,
            ['--input-type=module', '-e', last ? lazyScript : script],
            {
              env: environment,
              encoding: 'utf8',
              stdio: ['ignore', 'pipe', 'pipe'],
            },
          );
          if (!last) initMs.push(Number(Number(out).toFixed(1)));
        } catch (error) {
          throw new BundleError(`the ${fn.key} bundle failed to initialise`, { cause: error });
        }
      }
      const mapBytes = (output: string) => {
        try {
          return statSync(`${output}.map`).size;
        } catch {
          return 0;
        }
      };
      const sum = (outputs: Iterable<string>, size: (output: string) => number) =>
        [...outputs].reduce((total, output) => total + size(output), 0);
      figures[fn.key] = {
        minifiedBytes: sum(loaded, (output) => statSync(output).size),
        lazyBytes: sum(lazy, (output) => statSync(output).size),
        sourceMapBytes: sum(loaded, mapBytes),
        initMsMedian: median(initMs),
        initMs,
      };
    }
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
  return figures;
}
