import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ConfiguredRetryStrategy, INITIAL_RETRY_TOKENS, StandardRetryStrategy } from '@smithy/core/retry';
import { EPOCH, type EventBridgeEvent, Sandbox } from '../sandbox/index.js';
import { buildReport } from '../sandbox/report.js';
import type { Json } from '../sandbox/serverless-config.js';
import {
  buildMatrix,
  probeSurface,
  type ResourceType,
  SCENARIO_SPACING_MS,
  type Scenario,
  type Surface,
} from './matrix.js';
import { judge, type Outcome } from './promises.js';

/**
 * `npm run chaos`: builds the matrix (matrix.ts), runs every scenario in a fresh Sandbox in a few worker
 * processes (one sandbox per process at a time; 2 by default, for 2 cores), judges each against the promises
 * (promises.ts), prints one line per failing scenario and ends with `N passed, N failed`. Exit 1 if any failed.
 *
 *   --filter SUBSTRING   only scenarios whose name contains it (repeatable)
 *   --seeds N            N seeds for every class (default: several for the cheap classes, one for the API cells)
 *   --workers N          worker processes (default 2)
 *   --json               one JSON document instead of the lines
 *   --list               print the scenarios (with their expectation and why), run nothing
 */

interface Result {
  index: number;
  name: string;
  passed: boolean;
  reason?: string;
  wallMs: number;
  simulatedSeconds?: number;
  retries?: number;
}

/** A scenario that has not ended after this much wall time is a failure (and its worker is replaced). */
const WALL_GUARD_MS = 120_000;
const BURST_WALL_GUARD_MS = 300_000;
/**
 * SDK clients live as long as the handler modules, i.e. the worker process, and each client's standard retry
 * quota (500 tokens, 5-10 per retry, ConfiguredRetryStrategy in sandbox/interceptor.ts) would carry over from
 * one scenario to the next, as it never would from one deployment to another. The worker notes every retry
 * strategy the clients use (without changing what it does) and gives each its initial quota back before a
 * scenario starts: a fresh container's.
 */
const strategies = new Set<ConfiguredRetryStrategy>();
const acquire = StandardRetryStrategy.prototype.acquireInitialRetryToken;
ConfiguredRetryStrategy.prototype.acquireInitialRetryToken = function acquireInitialRetryToken(
  this: ConfiguredRetryStrategy,
  scope: string,
) {
  strategies.add(this);
  return acquire.call(this, scope);
};
function freshRetryQuotas(): void {
  // `capacity` is the strategy's private token count (no public setter): set by name, as a fresh container has it.
  for (const strategy of strategies) Reflect.set(strategy, 'capacity', INITIAL_RETRY_TOKENS);
}

// ---- one scenario, in a worker ------------------------------------------------------------------------------

function manualRequest(backup: EventBridgeEvent, mode = 'drill'): Json {
  const detail = backup.detail as { resourceArn: string; resourceType: string };
  return {
    mode,
    source: {
      account: backup.account,
      region: backup.region,
      resourceType: detail.resourceType,
      resourceArn: detail.resourceArn,
      recoveryPointArn: backup.resources[0] ?? '',
      backupVaultName: 'Default',
    },
  };
}

/** Drives the scenario's triggers; returns the source recovery points it asked to be drilled. */
function drive(sandbox: Sandbox, scenario: Scenario): string[] {
  const type = scenario.types[0] as ResourceType;
  const later = (minutes: number, act: () => void) => sandbox.clock.schedule(minutes * 60_000, act);
  const newId = (event: EventBridgeEvent): EventBridgeEvent => ({ ...event, id: sandbox.random.uuid() });
  const d = scenario.drive;
  const points: string[] = [];
  const backup = (announce: boolean, index = 1, t: ResourceType = type) => {
    const event = sandbox.backupCompleted(t, index, { announce });
    points.push(event.resources[0] ?? '');
    return event;
  };
  switch (d.kind) {
    case 'event':
      backup(true);
      break;
    case 'unannounced':
      backup(false);
      break;
    case 'late-trigger': {
      const b = backup(false);
      later(d.minutes, () => sandbox.deliverEvent(b));
      break;
    }
    case 'same-event-twice': {
      const b = backup(true);
      later(2, () => sandbox.deliverEvent(b));
      break;
    }
    case 'redeliver-trigger': {
      const b = backup(true);
      for (const minutes of d.minutes) later(minutes, () => sandbox.deliverEvent(newId(b)));
      break;
    }
    case 'redeliver-job-events': {
      // EventBridge redelivering every Copy/Restore Job State Change under a new id, `minutes` later.
      const publish = sandbox.publishEvent.bind(sandbox);
      sandbox.publishEvent = (event, external) => {
        publish(event, external);
        if (!external && event['detail-type'].endsWith('Job State Change'))
          later(d.minutes, () => publish(newId(event), false));
      };
      backup(true);
      break;
    }
    case 'plan-copy': {
      if (d.minutes >= 0) {
        const b = backup(true);
        later(d.minutes, () => sandbox.deliverEvent(sandbox.planCopyEvent(b)));
      } else {
        const b = backup(false);
        sandbox.deliverEvent(sandbox.planCopyEvent(b));
        later(-d.minutes, () => sandbox.deliverEvent(newId(b)));
      }
      break;
    }
    case 'manual':
      sandbox.startManual(manualRequest(backup(false)), 'operator-drill');
      break;
    case 'manual-during-event': {
      const b = backup(true);
      later(d.minutes, () => sandbox.startManual(manualRequest(b), 'operator-drill'));
      break;
    }
    case 'two-manual': {
      const b = backup(false);
      sandbox.startManual(manualRequest(b), 'operator-a');
      sandbox.startManual(manualRequest(b), 'operator-b');
      break;
    }
    case 'failover':
      sandbox.startManual(manualRequest(backup(false), 'failover'), 'operator-failover');
      break;
    case 'burst':
      for (let i = 1; i <= d.count; i++) backup(true, i, d.types[i % d.types.length] as ResourceType);
      break;
  }
  return points;
}

export async function runScenario(
  scenario: Scenario,
  surface: Pick<Surface, 'restoreLimits'>,
): Promise<Result> {
  const started = performance.now();
  const base = { index: scenario.index, name: scenario.name };
  freshRetryQuotas();
  let sandbox: Sandbox;
  try {
    sandbox = await Sandbox.create({
      seed: scenario.seed,
      faults: scenario.faults,
      startAt: EPOCH + scenario.index * SCENARIO_SPACING_MS,
    });
  } catch (error) {
    return {
      ...base,
      passed: false,
      reason: `sandbox refused the scenario: ${String(error)}`,
      wallMs: 0,
    };
  }
  try {
    const fired = { api: 0, lambda: 0 };
    const target = scenario.mustFire?.api;
    if (target) {
      const api = sandbox.faults.api;
      const get = api.get.bind(api);
      api.get = (key) => {
        const fault = get(key);
        if (key === target && fault && fault.remaining > 0) fired.api += 1;
        return fault;
      };
    }
    const crashing = scenario.mustFire?.lambda;
    if (crashing) {
      const invoke = sandbox.lambda.invoke.bind(sandbox.lambda);
      sandbox.lambda.invoke = (key, event) => {
        if (key === crashing) fired.lambda += 1;
        return invoke(key, event);
      };
    }
    const startedAt = new Date(sandbox.clock.now).toISOString();
    const recoveryPoints = drive(sandbox, scenario);
    // Long enough for the reconciler to find a lost trigger (15-minute grace, every 10 minutes); after the
    // last drill, runToSettled keeps the schedules running while anything is left (up to two sweeps).
    sandbox.keepAliveFor(3600);
    let reason: string | undefined;
    try {
      await sandbox.runToSettled();
    } catch (error) {
      reason = `no terminal state: ${error instanceof Error ? error.message : String(error)}`;
    }
    const report = buildReport(sandbox, scenario.seed, startedAt);
    const outcome: Outcome = { report, sandbox, recoveryPoints, fired };
    reason ??= judge(scenario, outcome, surface);
    return {
      ...base,
      passed: reason === undefined,
      ...(reason === undefined ? {} : { reason }),
      wallMs: Math.round(performance.now() - started),
      simulatedSeconds: sandbox.simulatedSeconds,
      retries: sandbox.sdkBackoffs.length,
    };
  } catch (error) {
    return {
      ...base,
      passed: false,
      reason: `harness error: ${error instanceof Error ? error.message : String(error)}`.replace(/\s+/g, ' '),
      wallMs: Math.round(performance.now() - started),
    };
  } finally {
    sandbox.dispose();
  }
}

type ToWorker = { type: 'run'; scenario: Scenario; restoreLimits: Record<string, number> };
type FromWorker = { type: 'ready' } | { type: 'result'; result: Result };

async function workerMain(): Promise<void> {
  const send = (message: FromWorker) => process.send?.(message);
  process.on('message', (message: ToWorker) => {
    if (message.type !== 'run') return;
    void runScenario(message.scenario, { restoreLimits: message.restoreLimits }).then((result) =>
      send({ type: 'result', result }),
    );
  });
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready' });
}

// ---- the parent: matrix, workers, summary ------------------------------------------------------------------

interface Options {
  filters: string[];
  seeds?: number;
  workers: number;
  json: boolean;
  list: boolean;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { filters: [], workers: 2, json: false, list: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    const positive = (text: string) => {
      if (!/^[1-9]\d*$/.test(text)) throw new Error(`${arg} takes a positive integer, not "${text}"`);
      return Number(text);
    };
    if (arg === '--filter') options.filters.push(value());
    else if (arg === '--seeds') options.seeds = positive(value());
    else if (arg === '--workers') options.workers = positive(value());
    else if (arg === '--json') options.json = true;
    else if (arg === '--list') options.list = true;
    else throw new Error(`unknown option ${arg} (--filter S, --seeds N, --workers N, --json, --list)`);
  }
  return options;
}

const entry = fileURLToPath(new URL('../bin/chaos.js', import.meta.url));

class Pool {
  private readonly queue: Scenario[];
  private readonly results: Result[] = [];
  private live = 0;
  private done!: () => void;

  constructor(
    scenarios: Scenario[],
    private readonly restoreLimits: Record<string, number>,
  ) {
    this.queue = [...scenarios];
  }

  run(workers: number): Promise<Result[]> {
    return new Promise((resolve) => {
      this.done = () => resolve(this.results.sort((a, b) => a.index - b.index));
      const count = Math.min(workers, this.queue.length);
      if (count === 0) this.done();
      for (let i = 0; i < count; i++) this.spawn();
    });
  }

  private spawn(): void {
    if (this.queue.length === 0) {
      if (this.live === 0) this.done();
      return;
    }
    this.live += 1;
    const child = fork(entry, ['--worker'], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-2000);
    });
    let current: { scenario: Scenario; timer: NodeJS.Timeout } | undefined;
    let ended = false;
    const end = (why?: string) => {
      if (ended) return;
      ended = true;
      if (current) {
        clearTimeout(current.timer);
        const lastLine = stderr.trim().split('\n').at(-1) ?? '';
        this.results.push({
          index: current.scenario.index,
          name: current.scenario.name,
          passed: false,
          reason: why ?? `worker exited mid-scenario${lastLine ? `: ${lastLine.slice(0, 200)}` : ''}`,
          wallMs: 0,
        });
        current = undefined;
      }
      this.live -= 1;
      this.spawn();
    };
    const next = () => {
      const scenario = this.queue.shift();
      if (!scenario) {
        child.disconnect();
        return;
      }
      const guard = scenario.expect === 'burst' ? BURST_WALL_GUARD_MS : WALL_GUARD_MS;
      const timer = setTimeout(() => {
        end(`no terminal state within ${guard / 1000} s of wall time (worker replaced)`);
        child.kill('SIGKILL');
      }, guard);
      current = { scenario, timer };
      child.send({ type: 'run', scenario, restoreLimits: this.restoreLimits } satisfies ToWorker);
    };
    child.on('message', (message: FromWorker) => {
      if (message.type === 'ready') return next();
      if (current) clearTimeout(current.timer);
      current = undefined;
      this.results.push(message.result);
      if (process.stderr.isTTY && this.results.length % 25 === 0)
        process.stderr.write(`chaos: ${this.results.length} scenarios done\n`);
      next();
    });
    child.on('exit', () => end());
  }
}

async function main(): Promise<void> {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`chaos: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  }
  const started = performance.now();
  const surface = await probeSurface();
  const matrix = buildMatrix(surface, options.seeds === undefined ? {} : { seeds: options.seeds });
  const scenarios = matrix.filter((s) => options.filters.every((f) => s.name.includes(f)));
  if (options.list) {
    for (const s of scenarios) process.stdout.write(`${s.name}\t${s.expect}\t${s.why}\n`);
    const seen = [...surface.operations.keys()].sort().join(' ');
    process.stdout.write(`operations (${surface.operations.size}): ${seen}\n${scenarios.length} scenarios\n`);
    process.exit(0);
  }
  const results = await new Pool(scenarios, surface.restoreLimits).run(options.workers);
  const failed = results.filter((r) => !r.passed);
  const wallSeconds = Math.round((performance.now() - started) / 1000);
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify({ scenarios: results, passed: results.length - failed.length, failed: failed.length, wallSeconds }, null, 2)}\n`,
    );
  } else {
    for (const r of failed) process.stdout.write(`FAIL ${r.name}: ${r.reason}\n`);
    process.stdout.write(
      `chaos matrix: ${results.length} scenarios, ${Math.min(options.workers, results.length)} workers, ${wallSeconds} s wall\n${results.length - failed.length} passed, ${failed.length} failed\n`,
    );
  }
  process.exit(failed.length > 0 ? 1 : 0);
}

if (process.argv.includes('--worker') && process.send) await workerMain();
else await main();
