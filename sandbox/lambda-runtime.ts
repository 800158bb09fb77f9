import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';
import type { Faults } from './faults.js';
import { invocationContext } from './identity.js';
import type { Random } from './random.js';
import type { FunctionSpec, Json, ServerlessConfig } from './serverless-config.js';

/**
 * Runs the real handler modules as Lambda would: a context object, the result serialised to JSON, and a
 * failure reported the way Step Functions sees it (Error = the errorType, Cause = the runtime's JSON).
 */
export class LambdaInvocationError extends Error {
  constructor(name: string, cause: string) {
    super(cause);
    this.name = name;
  }
}

type Handler = (event: unknown, context: Context) => Promise<unknown>;

export class LambdaRuntime {
  invocations = 0;
  /** Invocations per function key (the bench attributes cost to functions). */
  readonly invocationsByFunction = new Map<string, number>();
  inFlight = 0;
  private readonly modules = new Map<string, Handler>();
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly config: ServerlessConfig,
    private readonly random: Random,
    private readonly faults: Faults,
  ) {}

  functionNames(): string[] {
    return this.config.functions.map((f) => f.key);
  }

  functionName(key: string): string {
    return `${this.config.service}-${this.config.stage}-${key}`;
  }

  private spec(key: string): FunctionSpec {
    const spec = this.config.functions.find((f) => f.key === key);
    if (!spec) throw new Error(`no function "${key}" in serverless.yml`);
    return spec;
  }

  private async load(spec: FunctionSpec): Promise<Handler> {
    const cached = this.modules.get(spec.key);
    if (cached) return cached;
    const module = (await import(
      pathToFileURL(join(this.config.root, `${spec.modulePath}.ts`)).href
    )) as Record<string, unknown>;
    const handler = module[spec.exportName];
    if (typeof handler !== 'function')
      throw new Error(`${spec.handler}: no exported function "${spec.exportName}"`);
    this.modules.set(spec.key, handler as Handler);
    return handler as Handler;
  }

  /** Resolves when no handler is running (the simulation only advances the clock when nothing is). */
  idle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * A handler waiting on the virtual clock (the SDK's retry backoff) is not running: the simulation may
   * advance time while it waits. `resume` when the wait is over.
   */
  suspend(): void {
    this.inFlight -= 1;
    if (this.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
  }

  resume(): void {
    this.inFlight += 1;
  }

  async invoke(key: string, event: Json): Promise<Json> {
    const spec = this.spec(key);
    this.invocations += 1;
    this.invocationsByFunction.set(key, (this.invocationsByFunction.get(key) ?? 0) + 1);
    const crashes = this.faults.lambdaCrashes.get(key) ?? 0;
    if (crashes > 0) {
      this.faults.lambdaCrashes.set(key, crashes - 1);
      throw new LambdaInvocationError(
        'Lambda.Unknown',
        JSON.stringify({
          errorType: 'Runtime.ExitError',
          errorMessage: `RequestId: ${this.random.uuid()} Error: Runtime exited with error: signal: killed (sandbox fault lambda:${key}=crash)`,
        }),
      );
    }
    this.inFlight += 1;
    try {
      return await this.run(spec, event);
    } finally {
      this.inFlight -= 1;
      if (this.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  private async run(spec: FunctionSpec, event: Json): Promise<Json> {
    const handler = await this.load(spec);
    const functionName = this.functionName(spec.key);
    const context = {
      callbackWaitsForEmptyEventLoop: true,
      functionName,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${this.config.region}:sandbox:function:${functionName}`,
      memoryLimitInMB: String(spec.memorySize),
      awsRequestId: this.random.uuid(),
      logGroupName: `/aws/lambda/${functionName}`,
      logStreamName: 'sandbox',
      getRemainingTimeInMillis: () => 60_000,
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    } satisfies Context;
    try {
      // Every AWS call the handler makes, however deep, is made as this function's role (identity.ts).
      const result = await invocationContext.run({ functionKey: spec.key }, () =>
        handler(JSON.parse(JSON.stringify(event)), context),
      );
      return result === undefined ? null : (JSON.parse(JSON.stringify(result)) as Json);
    } catch (error) {
      const name = error instanceof Error ? error.name : 'Error';
      const message = error instanceof Error ? error.message : String(error);
      throw new LambdaInvocationError(
        name,
        JSON.stringify({ errorType: name, errorMessage: message, trace: [] }),
      );
    }
  }
}
