import { StateMachine } from 'aws-local-stepfunctions';
import * as z from 'zod';
import { SimulatedAwsError } from './aws-errors.js';
import type { VirtualClock } from './clock.js';
import type { LambdaRuntime } from './lambda-runtime.js';
import type { Random } from './random.js';
import type { Json } from './serverless-config.js';

/**
 * Step Functions for the sandbox: the real ASL run by aws-local-stepfunctions, with every Task's Lambda
 * call going to the real handler (LambdaRuntime). What the engine does in wall-clock time is moved onto the
 * virtual clock here: Lambda latency, Retry intervals and callback TimeoutSeconds. Callback tasks
 * (`.waitForTaskToken`) wait for SendTaskSuccess / SendTaskFailure, which the SFN API calls resolve.
 */
/** The parts of each state the simulator reads (the engine validates and runs the whole definition). */
const StateDefinition = z
  .object({
    Type: z.string(),
    Resource: z.string().optional(),
    Seconds: z.number().optional(),
    TimeoutSeconds: z.number().optional(),
    Retry: z
      .array(
        z
          .object({
            ErrorEquals: z.array(z.string()),
            IntervalSeconds: z.number().optional(),
            BackoffRate: z.number().optional(),
            MaxDelaySeconds: z.number().optional(),
            JitterStrategy: z.string().optional(),
          })
          .passthrough(),
      )
      .optional(),
  })
  .passthrough();
type StateDefinition = z.infer<typeof StateDefinition>;

export interface Step {
  name: string;
  startedAt: string;
  endedAt?: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT';
  attempts: number;
}

export interface Execution {
  arn: string;
  name: string;
  input: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT';
  startedAt: number;
  stoppedAt?: number;
  output?: Json;
  error?: string;
  cause?: string;
  steps: Step[];
  latestToken?: string;
  /** States entered, and Retry attempts: both are state transitions Step Functions Standard bills. */
  transitions: { entered: number; retried: number };
  retries: Map<string, { lastError?: string; counts: number[] }>;
}

interface Waiter {
  resolve: (output: Json) => void;
  reject: (error: Error) => void;
}

/**
 * What a Wait state becomes in the definition the engine runs: a Task whose local handler sleeps on the
 * virtual clock (the engine's own Wait sleeps in wall time). Never called as a resource.
 */
const VIRTUAL_WAIT = 'arn:aws:lambda:us-east-1:000000000000:function:sandbox-virtual-wait';
const CALLBACK = 'arn:aws:states:::lambda:invoke.waitForTaskToken';
const INVOKE = 'arn:aws:states:::lambda:invoke';
/**
 * The TimeoutSeconds the engine gets for every Task: the longest timer Node keeps (2^31 - 1 ms; a longer one
 * fires at once), so its wall-clock race never decides. Step Functions' own default for a Task is 99999999 s.
 */
const ENGINE_WALL_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000);
/** Step Functions' TimeoutSeconds when a Task states none (the engine would use 60). */
const DEFAULT_TASK_TIMEOUT_SECONDS = 99_999_999;

/** 256 KiB, the Step Functions payload quota for a task's input or output and an execution's input. */
export const MAX_PAYLOAD_BYTES = 262_144;

function namedError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

/** Engine definitions asl-validator has accepted in this process (the same text validates the same way). */
const validDefinitions = new Set<string>();

export class StepFunctionsSimulator {
  readonly executions = new Map<string, Execution>();
  transitions = 0;
  private readonly machine: StateMachine;
  private readonly waiters = new Map<string, Waiter>();
  private readonly issuedTokens = new Set<string>();
  private readonly states: Record<string, StateDefinition>;
  /** The definition's top-level TimeoutSeconds: the whole execution's limit, on the virtual clock. */
  private readonly executionTimeoutSeconds: number | undefined;

  constructor(
    readonly arn: string,
    definition: Record<string, Json>,
    private readonly functionKeys: Map<string, string>,
    private readonly lambda: Pick<LambdaRuntime, 'invoke'>,
    private readonly clock: VirtualClock,
    private readonly random: Random,
    /** Wait states (`Seconds` only) are allowed and slept on the virtual clock: another design's machine. */
    options: { waitStates?: boolean } = {},
  ) {
    this.states = z.record(z.string(), StateDefinition).parse(definition.States);
    const engineStates: Record<string, Json> = {};
    for (const [name, state] of Object.entries(this.states)) {
      engineStates[name] = state as Record<string, Json>;
      if (state.Type === 'Wait') {
        if (!options.waitStates)
          throw new Error(`state ${name}: Wait states would sleep in wall time; the drill waits by callback`);
        if (state.Seconds === undefined)
          throw new Error(`state ${name}: the sandbox runs Wait states with Seconds only`);
        const { Type: _type, Seconds: _seconds, ...rest } = state;
        engineStates[name] = {
          ...(rest as Record<string, Json>),
          Type: 'Task',
          Resource: VIRTUAL_WAIT,
          TimeoutSeconds: ENGINE_WALL_TIMEOUT_SECONDS,
        };
        continue;
      }
      if (state.Type === 'Task') {
        // The engine races each Task against a wall-clock timer of its TimeoutSeconds (60 s when absent). The
        // sandbox enforces TimeoutSeconds on the virtual clock instead (attempt); the engine's timer is set
        // out of reach, or a task would time out because the simulation was slow, not because it was.
        engineStates[name] = { ...engineStates[name], TimeoutSeconds: ENGINE_WALL_TIMEOUT_SECONDS };
      }
      if (
        state.Type === 'Task' &&
        state.Resource !== CALLBACK &&
        state.Resource !== INVOKE &&
        !this.functionKeys.has(state.Resource ?? '')
      ) {
        throw new Error(`state ${name}: the sandbox cannot run resource ${state.Resource}`);
      }
    }
    // The engine would time the whole execution with a wall-clock timer of the top-level TimeoutSeconds; the
    // sandbox times it on the virtual clock (run) and gives the engine no limit.
    const { TimeoutSeconds: executionTimeout, ...machine } = definition;
    this.executionTimeoutSeconds = typeof executionTimeout === 'number' ? executionTimeout : undefined;
    const engineDefinition = { ...machine, States: engineStates };
    // The engine validates a definition with asl-validator, which compiles its JSON schemas on every call (about
    // 0.4 s): a definition already found valid in this process is not validated again.
    const key = JSON.stringify(engineDefinition);
    this.machine = new StateMachine(
      engineDefinition as never,
      validDefinitions.has(key) ? { validationOptions: { noValidate: true } } : {},
    );
    validDefinitions.add(key);
  }

  open(): number {
    return [...this.executions.values()].filter((e) => e.status === 'RUNNING').length;
  }

  startExecution(input: { stateMachineArn?: string; name?: string; input?: string }) {
    if (input.stateMachineArn !== this.arn)
      throw new SimulatedAwsError(
        'StateMachineDoesNotExist',
        `State Machine Does Not Exist: '${input.stateMachineArn}'`,
      );
    const name = input.name ?? this.random.uuid();
    if (!/^[A-Za-z0-9_-]{1,80}$/.test(name))
      throw new SimulatedAwsError('InvalidName', `Invalid Name: '${name}'`);
    const body = input.input ?? '{}';
    if (Buffer.byteLength(body) > MAX_PAYLOAD_BYTES)
      throw new SimulatedAwsError(
        'InvalidExecutionInput',
        `Invalid State Machine Execution Input: the input is larger than ${MAX_PAYLOAD_BYTES} bytes`,
      );
    let parsed: Json;
    try {
      parsed = JSON.parse(body) as Json;
    } catch {
      throw new SimulatedAwsError('InvalidExecutionInput', 'Invalid State Machine Execution Input: not JSON');
    }
    const existing = this.executions.get(name);
    if (existing) {
      // Standard workflows: the same name and input while running is idempotent; anything else is refused.
      if (existing.status === 'RUNNING' && existing.input === body)
        return { executionArn: existing.arn, startDate: new Date(existing.startedAt) };
      throw new SimulatedAwsError('ExecutionAlreadyExists', `Execution Already Exists: '${existing.arn}'`);
    }
    const execution: Execution = {
      arn: `${this.arn.replace(':stateMachine:', ':execution:')}:${name}`,
      name,
      input: body,
      status: 'RUNNING',
      startedAt: this.clock.now,
      steps: [],
      transitions: { entered: 0, retried: 0 },
      retries: new Map(),
    };
    this.executions.set(name, execution);
    this.run(execution, parsed);
    return { executionArn: execution.arn, startDate: new Date(execution.startedAt) };
  }

  /** ListExecutions of this state machine, newest first, by status, page by page (as Step Functions lists them). */
  listExecutions(input: {
    stateMachineArn?: string;
    statusFilter?: string;
    maxResults?: number;
    nextToken?: string;
  }) {
    if (input.stateMachineArn !== this.arn)
      throw new SimulatedAwsError(
        'StateMachineDoesNotExist',
        `State Machine Does Not Exist: '${input.stateMachineArn}'`,
      );
    const matches = [...this.executions.values()]
      .filter((execution) => !input.statusFilter || execution.status === input.statusFilter)
      .sort((a, b) => b.startedAt - a.startedAt);
    const perPage = input.maxResults || 100;
    const start = Number(input.nextToken || 0);
    return {
      executions: matches.slice(start, start + perPage).map((execution) => this.summary(execution)),
      nextToken: start + perPage < matches.length ? String(start + perPage) : undefined,
    };
  }

  /** What ListExecutions says of an execution, and DescribeExecution says first. */
  private summary(execution: Execution) {
    return {
      executionArn: execution.arn,
      stateMachineArn: this.arn,
      name: execution.name,
      status: execution.status,
      startDate: new Date(execution.startedAt),
      stopDate: execution.stoppedAt ? new Date(execution.stoppedAt) : undefined,
    };
  }

  describeExecution(input: { executionArn?: string }) {
    // Executions are kept by name, the ARN's last part.
    const arn = input.executionArn ?? '';
    const found = this.executions.get(arn.slice(arn.lastIndexOf(':') + 1));
    const execution = found?.arn === arn ? found : undefined;
    if (!execution)
      throw new SimulatedAwsError(
        'ExecutionDoesNotExist',
        `Execution Does Not Exist: '${input.executionArn}'`,
      );
    return {
      ...this.summary(execution),
      input: execution.input,
      output: execution.output === undefined ? undefined : JSON.stringify(execution.output),
      error: execution.error,
      cause: execution.cause,
    };
  }

  sendTaskSuccess(input: { taskToken?: string; output?: string }) {
    const waiter = this.claimToken(input.taskToken);
    let output: Json;
    try {
      output = JSON.parse(input.output ?? 'null') as Json;
    } catch {
      throw new SimulatedAwsError('InvalidOutput', 'Invalid output: not JSON');
    }
    waiter.resolve(output);
    return {};
  }

  sendTaskFailure(input: { taskToken?: string; error?: string; cause?: string }) {
    this.claimToken(input.taskToken).reject(
      namedError(input.error ?? 'States.TaskFailed', input.cause ?? ''),
    );
    return {};
  }

  private claimToken(token: string | undefined): Waiter {
    const waiter = this.waiters.get(token ?? '');
    if (!waiter) {
      if (this.issuedTokens.has(token ?? '')) throw new SimulatedAwsError('TaskTimedOut', 'Task Timed Out');
      throw new SimulatedAwsError('InvalidToken', 'Invalid Token');
    }
    this.waiters.delete(token ?? '');
    return waiter;
  }

  private run(execution: Execution, input: Json): void {
    const handlers: Record<string, (input: Json) => Promise<Json>> = {};
    const zeroIntervals: Record<string, number> = {};
    for (const [name, state] of Object.entries(this.states)) {
      if (state.Type === 'Wait') {
        const seconds = state.Seconds ?? 0;
        handlers[name] = async (taskInput) => {
          await this.clock.sleep(seconds * 1000);
          return taskInput;
        };
        continue;
      }
      if (state.Type !== 'Task') continue;
      handlers[name] = (taskInput) => this.runTask(execution, name, state, taskInput);
      zeroIntervals[name] = 0; // the interval is slept on the virtual clock in runTask
    }
    const issue = () => {
      const token = `${execution.name}:${this.random.hex(24)}`;
      this.issuedTokens.add(token);
      execution.latestToken = token;
      return token;
    };
    const context = {
      Execution: { Id: execution.arn, Name: execution.name },
      StateMachine: { Id: this.arn, Name: this.arn.split(':').pop() },
      // A fresh token each time a task reads $$.Task.Token, as Step Functions gives each task attempt its own.
      Task: {
        get Token() {
          return issue();
        },
      },
    };
    const run = this.machine.run(input as never, {
      overrides: { taskResourceLocalHandlers: handlers as never, retryIntervalOverrides: zeroIntervals },
      context: context as never,
    });
    void (async () => {
      for await (const event of run.eventLogs) {
        if (event.type === 'StateEntered') {
          this.transitions += 1;
          execution.transitions.entered += 1;
        } else if (event.type === 'StateRetried') {
          execution.transitions.retried += 1;
        }
      }
    })();
    // The execution's TimeoutSeconds, as Step Functions applies it: the execution stops TIMED_OUT
    // (States.Timeout) wherever it is; a callback that comes later finds its task gone.
    const limit = this.executionTimeoutSeconds;
    const cancelLimit =
      limit === undefined
        ? () => undefined
        : this.clock.schedule(limit * 1000, () => {
            if (execution.status !== 'RUNNING') return;
            execution.status = 'TIMED_OUT';
            execution.error = 'States.Timeout';
            execution.cause = `The execution ran longer than the state machine's TimeoutSeconds (${limit} s)`;
            execution.stoppedAt = this.clock.now;
            if (execution.latestToken) this.abandon(execution.latestToken);
            run.abort();
          });
    run.result.then(
      (output) => {
        cancelLimit();
        if (execution.status === 'TIMED_OUT') return;
        execution.status = 'SUCCEEDED';
        execution.output = output as Json;
        execution.stoppedAt = this.clock.now;
      },
      (error: unknown) => {
        cancelLimit();
        if (execution.status === 'TIMED_OUT') return;
        const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
        execution.status = 'FAILED';
        execution.error = cause instanceof Error ? cause.name : 'States.Runtime';
        execution.cause = cause instanceof Error ? cause.message : String(cause);
        execution.stoppedAt = this.clock.now;
      },
    );
  }

  private async runTask(
    execution: Execution,
    name: string,
    state: StateDefinition,
    input: Json,
  ): Promise<Json> {
    let step = execution.steps.at(-1);
    if (step?.name !== name || step.status === 'SUCCEEDED') {
      step = { name, startedAt: new Date(this.clock.now).toISOString(), status: 'RUNNING', attempts: 0 };
      execution.steps.push(step);
    }
    step.attempts += 1;
    await this.retryInterval(execution, name, state);
    step.status = 'RUNNING';
    try {
      const output = await this.attempt(execution, state, input, step.attempts === 1);
      // Step Functions' payload quota: a task result over 256 KiB fails the state with States.DataLimitExceeded
      // (Step Functions quotas, "Maximum input or output size for a task, state, or execution").
      const size = Buffer.byteLength(JSON.stringify(output ?? null));
      if (size > MAX_PAYLOAD_BYTES) {
        throw namedError(
          'States.DataLimitExceeded',
          `The state/task '${name}' returned a result with a size exceeding the maximum number of bytes service limit (${size} > ${MAX_PAYLOAD_BYTES}).`,
        );
      }
      step.status = 'SUCCEEDED';
      execution.retries.delete(name);
      return output;
    } catch (error) {
      const errorName = error instanceof Error ? error.name : 'Error';
      step.status = errorName === 'States.Timeout' ? 'TIMED_OUT' : 'FAILED';
      const retry = execution.retries.get(name) ?? { counts: [] };
      retry.lastError = errorName;
      execution.retries.set(name, retry);
      throw error;
    } finally {
      step.endedAt = new Date(this.clock.now).toISOString();
    }
  }

  /**
   * One attempt of a Task, as Step Functions times it: TimeoutSeconds runs from the attempt's start (after
   * the Retry interval) on the virtual clock. A callback task's wait is timed by awaitCallback; here the
   * Lambda invocation of any other Task is. An attempt that runs out fails with States.Timeout while the
   * handler may go on (Step Functions stops waiting; the Lambda does not stop).
   */
  private async attempt(
    execution: Execution,
    state: StateDefinition,
    input: Json,
    first: boolean,
  ): Promise<Json> {
    const run = (async () => {
      // A Lambda invocation is not instantaneous: scheduling, (cold) start and the handler's own AWS calls.
      await this.clock.sleep(this.random.int(150, first ? 2500 : 900));
      return this.invoke(execution, state, input);
    })();
    if (state.Resource === CALLBACK) return run;
    const timeoutSeconds = state.TimeoutSeconds ?? DEFAULT_TASK_TIMEOUT_SECONDS;
    let expire!: (error: Error) => void;
    const timeout = new Promise<never>((_, reject) => {
      expire = reject;
    });
    const cancel = this.clock.schedule(timeoutSeconds * 1000, () =>
      expire(namedError('States.Timeout', `The task did not finish within ${timeoutSeconds} seconds`)),
    );
    // The handler's late outcome, after a timeout, is nobody's.
    run.catch(() => undefined);
    try {
      return await Promise.race([run, timeout]);
    } finally {
      cancel();
    }
  }

  /** The Retry interval the engine would wait before this attempt (it waits 0 ms of wall time instead). */
  private async retryInterval(execution: Execution, name: string, state: StateDefinition): Promise<void> {
    const retry = execution.retries.get(name);
    if (!retry?.lastError) return;
    const error = retry.lastError;
    retry.lastError = undefined;
    const index = (state.Retry ?? []).findIndex(
      (r) =>
        r.ErrorEquals.includes(error) ||
        r.ErrorEquals.includes('States.ALL') ||
        (r.ErrorEquals.includes('States.TaskFailed') && error !== 'States.Timeout'),
    );
    const retrier = state.Retry?.[index];
    if (!retrier) return;
    const attempt = retry.counts[index] ?? 0;
    retry.counts[index] = attempt + 1;
    let seconds = (retrier.IntervalSeconds ?? 1) * (retrier.BackoffRate ?? 2) ** attempt;
    if (retrier.MaxDelaySeconds !== undefined) seconds = Math.min(seconds, retrier.MaxDelaySeconds);
    if (retrier.JitterStrategy === 'FULL') seconds *= this.random.float();
    await this.clock.sleep(seconds * 1000);
  }

  private async invoke(execution: Execution, state: StateDefinition, input: Json): Promise<Json> {
    if (state.Resource !== CALLBACK && state.Resource !== INVOKE) {
      return this.lambda.invoke(this.keyOf(state.Resource), input);
    }
    const parameters = input as { FunctionName?: string; Payload?: Json };
    const key = this.keyOf(parameters.FunctionName);
    if (state.Resource === INVOKE) {
      const payload = await this.lambda.invoke(key, parameters.Payload ?? null);
      return { ExecutedVersion: '$LATEST', Payload: payload, StatusCode: 200 };
    }
    const token = execution.latestToken;
    if (!token) throw new Error('a callback task ran without reading $$.Task.Token');
    const callback = this.awaitCallback(token, state.TimeoutSeconds ?? 31_536_000);
    try {
      await this.lambda.invoke(key, parameters.Payload ?? null);
    } catch (error) {
      callback.catch(() => undefined);
      this.abandon(token);
      throw error;
    }
    return callback;
  }

  private keyOf(arn: string | undefined): string {
    const key = this.functionKeys.get(arn ?? '');
    if (!key) throw new Error(`no function in serverless.yml has the ARN ${arn}`);
    return key;
  }

  private awaitCallback(token: string, timeoutSeconds: number): Promise<Json> {
    return new Promise<Json>((resolve, reject) => {
      const cancel = this.clock.schedule(timeoutSeconds * 1000, () => {
        this.waiters.delete(token);
        reject(namedError('States.Timeout', `The task did not report back within ${timeoutSeconds} seconds`));
      });
      this.waiters.set(token, {
        resolve: (output) => {
          cancel();
          resolve(output);
        },
        reject: (error) => {
          cancel();
          reject(error);
        },
      });
    });
  }

  private abandon(token: string): void {
    const waiter = this.waiters.get(token);
    this.waiters.delete(token);
    waiter?.reject(namedError('States.TaskFailed', 'the task failed before waiting'));
  }
}
