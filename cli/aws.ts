import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline/promises';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  type ExecutionListItem,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import * as z from 'zod';
import { parseArn } from '../functions/lib/arn.js';
import { DrillRequest, DrillState, measure } from '../functions/lib/drill.js';
import { typesOfRecoveryPoint } from '../functions/resources/index.js';
import {
  AWS_FLAGS,
  type AwsDrillOptions,
  AwsTarget,
  decimal,
  flagIssue,
  noPositionals,
  parseFlags,
  UsageError,
} from './args.js';

/**
 * `--aws`: the same commands against a deployed stack. The stack is found by its name, pilotlight-<stage>
 * (CloudFormation DescribeStacks), and its outputs; nothing is typed by hand. Whatever goes wrong on the way
 * to AWS (no credentials, an expired session, no stack in that region) is one line and exit 2.
 */

/** The deployed stack cannot be reached: one line for the operator, exit 2. */
export class AwsAccessError extends UsageError {}

/** The output serverless.yml's resources.Outputs gives the drill state machine's ARN. */
export const STATE_MACHINE_OUTPUT = 'DrillStateMachineArn';

export interface AwsClients {
  cloudFormation: CloudFormationClient;
  stepFunctions: SFNClient;
  s3: S3Client;
  region: string;
}

export function awsClients(target: AwsTarget): AwsClients {
  const config = {
    region: target.region,
    credentials: fromNodeProviderChain(target.profile ? { profile: target.profile } : {}),
  };
  return {
    cloudFormation: new CloudFormationClient(config),
    stepFunctions: new SFNClient(config),
    s3: new S3Client(config),
    region: target.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'the default region',
  };
}

const stackName = (target: AwsTarget) => `pilotlight-${target.stage}`;

const SdkError = z.object({ name: z.string(), message: z.string() });

/**
 * The one line an operator reads when AWS cannot be reached as asked. Undefined for an error that is not
 * about reaching AWS (a bug): that one is rethrown.
 */
export function describeAwsError(error: unknown, target: AwsTarget, region: string): string | undefined {
  const parsed = SdkError.safeParse(error);
  if (!parsed.success) return undefined;
  const { name, message } = parsed.data;
  const profile = target.profile ? ` (profile ${target.profile})` : '';
  const login = target.profile ? `aws sso login --profile ${target.profile}` : 'aws sso login';
  if (/expired/i.test(message) || /^ExpiredToken/.test(name) || name === 'TokenRefreshRequired')
    return `the AWS session${profile} has expired: sign in again (${login}) and retry`;
  if (name === 'CredentialsProviderError' || /could not load credentials/i.test(message))
    return `no AWS credentials found${profile}: sign in (${login}) or set AWS_PROFILE, then retry`;
  if (/region is missing/i.test(message)) return 'no AWS region: pass --region or set AWS_REGION';
  if (name === 'ValidationError' && /does not exist/.test(message))
    return `stack ${stackName(target)} is not deployed in ${region}: deploy it (npx serverless deploy --stage ${target.stage} --region ${region}) or pass the --stage and --region it was deployed with`;
  if (['UnrecognizedClientException', 'InvalidClientTokenId', 'InvalidSignatureException'].includes(name))
    return `AWS does not recognize these credentials${profile} (${name}): check the profile and retry`;
  if (/AccessDenied/.test(name)) return `access denied${profile}: ${message.split('\n')[0]}`;
  if (
    ['ENOTFOUND', 'ECONNREFUSED', 'ETIMEDOUT', 'TimeoutError'].some(
      (code) => name === code || message.includes(code),
    )
  )
    return `cannot reach AWS in ${region}: ${message.split('\n')[0]}`;
  if ('$metadata' in Object(error)) return `AWS ${name}: ${message.split('\n')[0]}`;
  return undefined;
}

/** Runs `action`, turning AWS access problems into an AwsAccessError (one line, exit 2). */
export async function reaching<T>(
  target: AwsTarget,
  clients: AwsClients,
  action: () => Promise<T>,
): Promise<T> {
  try {
    return await action();
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const line = describeAwsError(error, target, clients.region);
    if (line === undefined) throw error;
    throw new AwsAccessError(line, { cause: error });
  }
}

/** One output of the deployed stack pilotlight-<stage> (serverless.yml resources.Outputs). */
export async function stackOutput(target: AwsTarget, clients: AwsClients, output: string): Promise<string> {
  const { Stacks } = await clients.cloudFormation.send(
    new DescribeStacksCommand({ StackName: stackName(target) }),
  );
  const stack = Stacks?.[0];
  if (stack?.StackStatus?.startsWith('CREATE') && stack.StackStatus.endsWith('_IN_PROGRESS'))
    throw new AwsAccessError(`stack ${stackName(target)} is still being created (${stack.StackStatus})`);
  const value = stack?.Outputs?.find((o) => o.OutputKey === output)?.OutputValue;
  if (!stack || !value)
    throw new AwsAccessError(
      `stack ${stackName(target)} in ${clients.region} has no output ${output}: is it a Pilotlight stack, fully deployed?`,
    );
  return value;
}

/** The state machine of the deployed stack pilotlight-<stage>, from its outputs. */
export const findStateMachine = (target: AwsTarget, clients: AwsClients): Promise<string> =>
  stackOutput(target, clients, STATE_MACHINE_OUTPUT);

/**
 * The manual StartExecution input (DrillRequest) for a recovery point: its account and region are in the
 * ARN, and so is its resource type for RDS and EBS/EC2 snapshots; an AWS Backup recovery point ARN needs
 * --resource-type.
 */
export function manualRequest(options: AwsDrillOptions): DrillRequest {
  const arn = parseArn(options.recoveryPoint);
  if (!arn?.region)
    throw new UsageError(
      '--recovery-point must be a recovery point ARN (arn:aws:<service>:<region>:<account>:...)',
    );
  const region = arn.region;
  // EBS snapshot and AMI ARNs name no account: the source account is then given with --source-account.
  const account = arn.account || options.sourceAccount;
  if (!account)
    throw new UsageError(
      `--recovery-point ${options.recoveryPoint} names no account: give the source account with --source-account`,
    );
  // The registry knows each type's recovery point ARN form; a cluster snapshot may be Aurora, DocumentDB or
  // Neptune, and AWS Backup's own recovery-point ARNs name no type at all.
  const candidates = typesOfRecoveryPoint(options.recoveryPoint);
  const resourceType = options.resourceType ?? (candidates.length === 1 ? candidates[0] : undefined);
  if (!resourceType)
    throw new UsageError(
      `--recovery-point ${options.recoveryPoint}: pass --resource-type (${candidates.length > 1 ? `one of ${candidates.join(', ')}` : 'the ARN does not say it'})`,
    );
  const parsed = DrillRequest.safeParse({
    mode: options.mode,
    trigger: undefined,
    source: {
      account,
      region,
      resourceType,
      recoveryPointArn: options.recoveryPoint,
      backupVaultName: options.vault,
    },
  });
  if (!parsed.success) throw flagIssue(parsed.error);
  return parsed.data;
}

function executionName(request: DrillRequest, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').slice(0, 13);
  const kind = request.mode === 'failover' ? 'failover' : 'manual';
  return `${kind}-${request.source.resourceType.toLowerCase()}-${stamp}-${randomBytes(4).toString('hex')}`;
}

export function elapsed(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const pad = (n: number) => String(n).padStart(2, '0');
  return `+${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}

/** What `follow` prints: step lines always, a transient progress line only on a terminal. */
export interface Output {
  line(text: string): void;
  progress(text: string): void;
}

export function terminalOutput(stream: NodeJS.WriteStream = process.stdout): Output {
  let shown = false;
  return {
    line(text) {
      stream.write(`${shown ? '\r\x1b[K' : ''}${text}\n`);
      shown = false;
    },
    progress(text) {
      if (!stream.isTTY) return;
      stream.write(`\r\x1b[K${text}`);
      shown = true;
    },
  };
}

/** States that do no work of their own (routing, bookkeeping): not printed as steps. */
const QUIET_STATES = new Set([
  'PassStateExited',
  'ChoiceStateExited',
  'SucceedStateExited',
  'FailStateExited',
]);

/** Turns the execution history into step lines: each state's start, duration and how it ended. */
export class HistoryPrinter {
  private readonly entered = new Map<string, Date>();
  private failure: { error: string; cause: string } | undefined;
  current: string | undefined;

  constructor(
    private readonly startedAt: Date,
    private readonly out: Output,
  ) {}

  take(event: HistoryEvent): void {
    const at = event.timestamp ?? this.startedAt;
    const entered = event.stateEnteredEventDetails;
    const exited = event.stateExitedEventDetails;
    const failed =
      event.taskFailedEventDetails ??
      event.lambdaFunctionFailedEventDetails ??
      event.taskTimedOutEventDetails ??
      event.lambdaFunctionTimedOutEventDetails;
    if (entered?.name) {
      this.entered.set(entered.name, at);
      this.current = entered.name;
    } else if (failed) {
      this.failure = { error: failed.error ?? 'Error', cause: failed.cause ?? '' };
    } else if (event.lambdaFunctionSucceededEventDetails || event.taskSucceededEventDetails) {
      // A Retry that succeeded: the step did not fail.
      this.failure = undefined;
    } else if (exited?.name && QUIET_STATES.has(event.type ?? '')) {
      if (this.current === exited.name) this.current = undefined;
    } else if (exited?.name) {
      const from = this.entered.get(exited.name) ?? at;
      const outcome = this.failure ? `FAILED ${this.failure.error}` : 'done';
      this.failure = undefined;
      this.out.line(
        `${elapsed(from.getTime() - this.startedAt.getTime())}  ${exited.name.padEnd(24)} ${elapsed(
          at.getTime() - from.getTime(),
        )
          .slice(1)
          .padStart(9)}  ${outcome}`,
      );
      if (this.current === exited.name) this.current = undefined;
    } else if (event.executionFailedEventDetails) {
      const { error, cause } = event.executionFailedEventDetails;
      this.out.line(
        `${elapsed(at.getTime() - this.startedAt.getTime())}  execution failed: ${error ?? ''} ${cause ?? ''}`.trimEnd(),
      );
    }
  }
}

export interface FollowOptions {
  /** Waits between polls of the history; a test passes one that returns at once. */
  pause: (ms: number) => Promise<void>;
  pollMs: number;
  now: () => Date;
}

const realPause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Follows an execution's history until it ends; returns its final description. */
export async function follow(
  clients: AwsClients,
  executionArn: string,
  out: Output,
  options: FollowOptions = { pause: realPause, pollMs: 5000, now: () => new Date() },
) {
  let printer: HistoryPrinter | undefined;
  // A history cannot be read on from its last page: each poll reads it again and skips what was printed.
  let lastId = 0;
  const readNew = async () => {
    let nextToken: string | undefined;
    do {
      const page = await clients.stepFunctions.send(
        new GetExecutionHistoryCommand({ executionArn, nextToken, maxResults: 1000 }),
      );
      for (const event of page.events ?? []) {
        if ((event.id ?? 0) <= lastId) continue;
        lastId = event.id ?? lastId;
        printer ??= new HistoryPrinter(event.timestamp ?? options.now(), out);
        printer.take(event);
      }
      nextToken = page.nextToken;
    } while (nextToken);
  };
  for (;;) {
    await readNew();
    const execution = await clients.stepFunctions.send(new DescribeExecutionCommand({ executionArn }));
    if (execution.status !== 'RUNNING') {
      // The last events may have been written after the last read.
      await readNew();
      return execution;
    }
    const since = execution.startDate ?? options.now();
    out.progress(
      `… ${printer?.current ?? 'starting'} (${elapsed(options.now().getTime() - since.getTime()).slice(1)} so far)`,
    );
    await options.pause(options.pollMs);
  }
}

/** RTO, RPO and outcome of an ended execution, read from its output (the drill state). */
export function outcomeOf(executionName: string, output: string | undefined) {
  let json: unknown;
  try {
    json = output === undefined ? undefined : JSON.parse(output);
  } catch {
    json = undefined;
  }
  const parsed = DrillState.safeParse({ executionName, state: json });
  if (!parsed.success) return { rtoSeconds: null, rpoSeconds: null, state: undefined };
  return { ...measure(parsed.data.state), state: parsed.data.state };
}

async function confirmFailover(request: DrillRequest): Promise<boolean> {
  if (!process.stdin.isTTY)
    throw new UsageError(
      'a failover restores and keeps the resource: confirm with --yes (not on a terminal)',
    );
  const prompt = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await prompt.question(
      `FAILOVER: restore ${request.source.recoveryPointArn} into the DR account and KEEP it (no teardown). Type "failover" to go on: `,
    );
    return answer.trim() === 'failover';
  } finally {
    prompt.close();
  }
}

const seconds = (s: number | null) => (s === null ? 'n/a' : `${s}s`);

/** `pilotlight drill --aws`: start a drill (or failover) on the deployed stack and follow it to its end. */
export async function runAwsDrill(
  options: AwsDrillOptions,
  clients: AwsClients = awsClients(options),
  out: Output = terminalOutput(),
  followOptions?: FollowOptions,
): Promise<number> {
  const request = manualRequest(options);
  if (request.mode === 'failover' && !options.yes && !(await confirmFailover(request))) {
    out.line('failover not started');
    return 2;
  }
  return reaching(options, clients, async () => {
    const stateMachineArn = await findStateMachine(options, clients);
    const name = executionName(request, new Date());
    const started = await clients.stepFunctions.send(
      new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(request) }),
    );
    const executionArn = started.executionArn ?? '';
    // With --json, stdout is the one JSON object at the end: the steps are not printed.
    const steps: Output = options.json ? { line: () => {}, progress: () => {} } : out;
    steps.line(`started ${name} (${request.mode}, ${request.source.resourceType}) on ${stateMachineArn}`);
    const execution = await follow(clients, executionArn, steps, followOptions);
    const { rtoSeconds, rpoSeconds, state } = outcomeOf(name, execution.output);
    const status = execution.status === 'SUCCEEDED' ? 'SUCCEEDED' : 'FAILED';
    const failed = state?.health?.checks.filter((c) => !c.passed) ?? [];
    if (options.json)
      out.line(
        JSON.stringify({
          drillId: name,
          executionArn,
          status,
          mode: request.mode,
          rtoSeconds,
          rpoSeconds,
          evidence: state?.evidence ?? null,
          error: execution.error ? { name: execution.error, message: execution.cause ?? '' } : null,
        }),
      );
    else {
      out.line(`RTO ${seconds(rtoSeconds)}   RPO ${seconds(rpoSeconds)}`);
      for (const check of failed) out.line(`FAILED check ${check.name}: ${check.detail}`);
      if (state?.evidence)
        out.line(
          `evidence s3://${state.evidence.bucket}/${state.evidence.key} sha256 ${state.evidence.sha256}`,
        );
      if (execution.error) out.line(`error ${execution.error}: ${execution.cause ?? ''}`);
      if (request.mode === 'failover' && state?.restore) {
        out.line(`created ${state.restore.createdResourceArn} (kept: it is the failover)`);
        const endpoint = state.health?.checks.find((c) => c.name === 'endpoint-reachable');
        if (endpoint) out.line(`reach it at ${endpoint.detail}`);
      }
      out.line(`outcome ${status}`);
    }
    return status === 'SUCCEEDED' ? 0 : 1;
  });
}

const StatusOptions = AwsTarget.extend({
  aws: z.literal(true, {
    error: 'status reads a deployed stack: add --aws (the sandbox keeps nothing between runs)',
  }),
  limit: decimal(1, 1000).default(20),
  json: z.boolean().default(false),
});

export interface StatusRow {
  drillId: string;
  status: string;
  startedAt: string | null;
  stoppedAt: string | null;
  rtoSeconds: number | null;
  rpoSeconds: number | null;
  dataRpoSeconds: number | null;
}

/** The recent executions, newest first, with RTO and RPO for those that ended with an output. */
export async function listDrills(
  clients: AwsClients,
  stateMachineArn: string,
  limit: number,
): Promise<StatusRow[]> {
  const listed = await clients.stepFunctions.send(
    new ListExecutionsCommand({ stateMachineArn, maxResults: limit }),
  );
  const rows: StatusRow[] = [];
  for (const execution of listed.executions ?? ([] as ExecutionListItem[])) {
    const described =
      execution.status === 'SUCCEEDED'
        ? await clients.stepFunctions.send(
            new DescribeExecutionCommand({ executionArn: execution.executionArn }),
          )
        : undefined;
    const name = execution.name ?? '';
    const { rtoSeconds, rpoSeconds, state } = outcomeOf(name, described?.output);
    rows.push({
      drillId: name,
      status: execution.status ?? 'UNKNOWN',
      startedAt: execution.startDate?.toISOString() ?? null,
      stoppedAt: execution.stopDate?.toISOString() ?? null,
      rtoSeconds,
      rpoSeconds,
      // From the data checks (validations.yml); the evidence reference keeps it for a drill they failed.
      dataRpoSeconds: state?.health?.dataRpoSeconds ?? state?.evidence?.dataRpoSeconds ?? null,
    });
  }
  return rows;
}

/** `pilotlight status --aws`: running and recent drills with outcome, RTO, RPO and data RPO. */
export async function runAwsStatus(
  argv: readonly string[],
  makeClients: (target: AwsTarget) => AwsClients = awsClients,
  out: Output = terminalOutput(),
): Promise<number> {
  const { values, positionals } = parseFlags('status', argv, {
    ...AWS_FLAGS,
    limit: { type: 'string' },
    json: { type: 'boolean' },
  });
  noPositionals('status', positionals);
  const parsed = StatusOptions.safeParse({
    aws: values.aws ?? false,
    stage: values.stage,
    region: values.region,
    profile: values.profile,
    limit: values.limit,
    json: values.json,
  });
  if (!parsed.success) {
    if (parsed.error.issues[0]?.path[0] === 'aws')
      throw new UsageError(parsed.error.issues[0].message, { cause: parsed.error });
    throw flagIssue(parsed.error);
  }
  const options = parsed.data;
  const clients = makeClients(options);
  return reaching(options, clients, async () => {
    const stateMachineArn = await findStateMachine(options, clients);
    const rows = await listDrills(clients, stateMachineArn, options.limit);
    if (options.json) out.line(JSON.stringify({ stateMachineArn, drills: rows }, null, 2));
    else {
      out.line(`drills of ${stateMachineArn} (newest first)`);
      for (const row of rows)
        out.line(
          `${row.drillId.padEnd(44)} ${row.status.padEnd(10)} ${row.startedAt ?? ''}  RTO ${seconds(row.rtoSeconds).padStart(7)}  RPO ${seconds(row.rpoSeconds).padStart(7)}  data RPO ${seconds(row.dataRpoSeconds)}`,
        );
      if (rows.length === 0) out.line('no drills yet');
    }
    return 0;
  });
}
