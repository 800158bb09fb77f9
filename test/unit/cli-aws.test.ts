import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  type HistoryEvent,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type AwsClients,
  describeAwsError,
  follow,
  HistoryPrinter,
  type Output,
  runAwsDrill,
} from '../../cli/aws.js';
import { main } from '../../cli/main.js';

/** `--aws`: the deployed stack found by its outputs, an execution followed to its end, errors as one line. */
const cloudFormation = mockClient(CloudFormationClient);
const stepFunctions = mockClient(SFNClient);

const STATE_MACHINE = 'arn:aws:states:us-east-2:222222222222:stateMachine:pilotlight-prod-drill';
const RECOVERY_POINT =
  'arn:aws:rds:us-east-2:111111111111:snapshot:awsbackup:job-4c1e9a2b-7d3f-4e8a-b5c6-0f1e2d3c4b5a';
const T0 = Date.parse('2026-03-01T10:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);

let stdout: string;
let stderr: string;

/** An SDK error as the client throws it: a name, a message and the response metadata. */
function awsError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400 } });
}

const entered = (id: number, name: string, seconds: number): HistoryEvent => ({
  id,
  type: 'TaskStateEntered',
  timestamp: at(seconds),
  stateEnteredEventDetails: { name },
});
const exited = (id: number, name: string, seconds: number): HistoryEvent => ({
  id,
  type: 'TaskStateExited',
  timestamp: at(seconds),
  stateExitedEventDetails: { name },
});

/** The drill state the execution ends with (DrillSucceeded outputs the whole state). */
const OUTPUT = {
  request: {},
  drill: {
    drillId: 'manual-rds',
    mode: 'drill',
    trigger: { kind: 'manual', at: at(0).toISOString() },
    source: {
      account: '111111111111',
      region: 'us-east-2',
      resourceType: 'RDS',
      recoveryPointArn: RECOVERY_POINT,
      backupVaultName: 'Default',
      recoveryPointCreatedAt: at(-1800).toISOString(),
    },
    target: {
      account: '333333333333',
      region: 'us-west-2',
      vault: 'pilotlight-dr',
      vaultArn: 'arn:aws:backup:x',
    },
    needsCopy: true,
    preparedAt: at(2).toISOString(),
  },
  health: {
    checks: [{ name: 'resource-available', passed: true, detail: 'available' }],
    validatedAt: at(3000).toISOString(),
    dataRpoSeconds: 240,
  },
  evidence: {
    bucket: 'pilotlight-prod-evidence',
    key: 'evidence/2026/03/01/manual-rds.json',
    sha256: 'a'.repeat(64),
  },
};

function deployedStack() {
  cloudFormation.on(DescribeStacksCommand, { StackName: 'pilotlight-prod' }).resolves({
    Stacks: [
      {
        StackName: 'pilotlight-prod',
        StackStatus: 'UPDATE_COMPLETE',
        CreationTime: at(-86400),
        Outputs: [{ OutputKey: 'DrillStateMachineArn', OutputValue: STATE_MACHINE }],
      },
    ],
  });
}

beforeEach(() => {
  cloudFormation.reset();
  stepFunctions.reset();
  stdout = '';
  stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
});

afterEach(() => {
  vi.restoreAllMocks();
});

const immediately = { pause: async () => {}, pollMs: 0, now: () => at(60) };

describe('pilotlight drill --aws', () => {
  it('starts the state machine of pilotlight-<stage> with the manual input and follows it to success', async () => {
    // Prepare
    deployedStack();
    stepFunctions
      .on(StartExecutionCommand)
      .resolves({ executionArn: `${STATE_MACHINE}:manual-rds`, startDate: at(0) });
    const history: HistoryEvent[] = [
      { id: 1, type: 'ExecutionStarted', timestamp: at(0) },
      entered(2, 'PrepareDrill', 0),
      exited(3, 'PrepareDrill', 2),
      entered(4, 'CopyToDrVault', 2),
      exited(5, 'CopyToDrVault', 1500),
      { id: 6, type: 'ExecutionSucceeded', timestamp: at(3100) },
    ];
    stepFunctions
      .on(GetExecutionHistoryCommand)
      .resolves({ events: history.slice(0, 3), nextToken: 'page-2' })
      .on(GetExecutionHistoryCommand, { nextToken: 'page-2' })
      .resolves({ events: history.slice(3) });
    stepFunctions
      .on(DescribeExecutionCommand)
      .resolves({ status: 'SUCCEEDED', startDate: at(0), output: JSON.stringify(OUTPUT) });

    // Act
    const code = await main(['drill', '--aws', '--recovery-point', RECOVERY_POINT]);

    // Assess
    expect(code).toBe(0);
    expect(stderr).toBe('');
    const input = JSON.parse(
      String(stepFunctions.commandCalls(StartExecutionCommand)[0]?.args[0].input.input),
    );
    expect(input).toEqual({
      mode: 'drill',
      source: {
        account: '111111111111',
        region: 'us-east-2',
        resourceType: 'RDS',
        recoveryPointArn: RECOVERY_POINT,
        backupVaultName: 'Default',
      },
    });
    expect(stepFunctions.commandCalls(StartExecutionCommand)[0]?.args[0].input).toMatchObject({
      stateMachineArn: STATE_MACHINE,
      name: expect.stringMatching(/^manual-rds-\d{8}T\d{4}-[0-9a-f]{8}$/),
    });
    const lines = stdout.trim().split('\n');
    expect(lines.filter((l) => l.includes('PrepareDrill'))).toEqual([
      expect.stringMatching(/^\+00:00:00 {2}PrepareDrill +00:00:02 {2}done$/),
    ]);
    expect(lines.filter((l) => l.includes('CopyToDrVault'))).toEqual([
      expect.stringMatching(/^\+00:00:02 {2}CopyToDrVault +00:24:58 {2}done$/),
    ]);
    expect(stdout).toContain('RTO 3000s   RPO 1800s');
    expect(stdout).toContain('evidence s3://pilotlight-prod-evidence/evidence/2026/03/01/manual-rds.json');
    expect(lines.at(-1)).toBe('outcome SUCCEEDED');
  });

  it('prints only one JSON object with --json', async () => {
    // Prepare
    deployedStack();
    stepFunctions.on(StartExecutionCommand).resolves({ executionArn: `${STATE_MACHINE}:manual-rds` });
    stepFunctions
      .on(GetExecutionHistoryCommand)
      .resolves({ events: [entered(1, 'PrepareDrill', 0), exited(2, 'PrepareDrill', 2)] });
    stepFunctions
      .on(DescribeExecutionCommand)
      .resolves({ status: 'SUCCEEDED', output: JSON.stringify(OUTPUT) });

    // Act
    const code = await main(['drill', '--aws', '--recovery-point', RECOVERY_POINT, '--json']);

    // Assess
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({
      status: 'SUCCEEDED',
      mode: 'drill',
      rtoSeconds: 3000,
      rpoSeconds: 1800,
      evidence: { bucket: 'pilotlight-prod-evidence' },
      error: null,
    });
  });

  it('follows an execution to its failure and names the failing step (exit 1)', async () => {
    // Prepare
    const lines: string[] = [];
    const out: Output = { line: (text) => lines.push(text), progress: () => {} };
    const clients: AwsClients = {
      cloudFormation: new CloudFormationClient({ region: 'us-east-2' }),
      stepFunctions: new SFNClient({ region: 'us-east-2' }),
      s3: new S3Client({ region: 'us-east-2' }),
      region: 'us-east-2',
    };
    deployedStack();
    stepFunctions.on(StartExecutionCommand).resolves({ executionArn: `${STATE_MACHINE}:manual-rds` });
    stepFunctions.on(GetExecutionHistoryCommand).resolves({
      events: [
        entered(1, 'RestoreInDrAccount', 10),
        {
          id: 2,
          type: 'TaskFailed',
          timestamp: at(900),
          taskFailedEventDetails: {
            resourceType: 'lambda',
            resource: 'invoke',
            error: 'RestoreJobFailed',
            cause: 'x',
          },
        },
        exited(3, 'RestoreInDrAccount', 900),
        {
          id: 4,
          type: 'ExecutionFailed',
          timestamp: at(960),
          executionFailedEventDetails: { error: 'DrillFailed', cause: 'see evidence' },
        },
      ],
    });
    stepFunctions
      .on(DescribeExecutionCommand)
      .resolves({ status: 'FAILED', error: 'DrillFailed', cause: 'see evidence' });

    // Act
    const code = await runAwsDrill(
      {
        stage: 'prod',
        recoveryPoint: RECOVERY_POINT,
        mode: 'drill',
        vault: 'Default',
        yes: false,
        json: false,
      },
      clients,
      out,
      immediately,
    );

    // Assess
    expect(code).toBe(1);
    expect(lines).toContain('+00:00:00  RestoreInDrAccount        00:14:50  FAILED RestoreJobFailed');
    expect(lines).toContain('+00:15:50  execution failed: DrillFailed see evidence');
    expect(lines.at(-1)).toBe('outcome FAILED');
  });

  it('prints a step retried to success as done, and no line for Pass and Choice states', () => {
    // Prepare
    const lines: string[] = [];
    const printer = new HistoryPrinter(at(0), { line: (text) => lines.push(text), progress: () => {} });

    // Act
    for (const event of [
      {
        id: 1,
        type: 'PassStateEntered',
        timestamp: at(0),
        stateEnteredEventDetails: { name: 'KeepRequest' },
      },
      { id: 2, type: 'PassStateExited', timestamp: at(0), stateExitedEventDetails: { name: 'KeepRequest' } },
      entered(3, 'PrepareDrill', 0),
      {
        id: 4,
        type: 'LambdaFunctionFailed',
        timestamp: at(1),
        lambdaFunctionFailedEventDetails: { error: 'Lambda.TooManyRequestsException' },
      },
      { id: 5, type: 'LambdaFunctionSucceeded', timestamp: at(5), lambdaFunctionSucceededEventDetails: {} },
      exited(6, 'PrepareDrill', 5),
      {
        id: 7,
        type: 'ChoiceStateEntered',
        timestamp: at(5),
        stateEnteredEventDetails: { name: 'NeedsCopy' },
      },
      { id: 8, type: 'ChoiceStateExited', timestamp: at(5), stateExitedEventDetails: { name: 'NeedsCopy' } },
    ] satisfies HistoryEvent[])
      printer.take(event);

    // Assess
    expect(lines).toEqual(['+00:00:00  PrepareDrill              00:00:05  done']);
  });

  it('prints each event once however often the history is read', async () => {
    // Prepare
    const lines: string[] = [];
    const events = [entered(1, 'PrepareDrill', 0), exited(2, 'PrepareDrill', 1)];
    stepFunctions.on(GetExecutionHistoryCommand).resolves({ events });
    stepFunctions
      .on(DescribeExecutionCommand)
      .resolvesOnce({ status: 'RUNNING' })
      .resolvesOnce({ status: 'RUNNING' })
      .resolves({ status: 'SUCCEEDED' });
    const clients: AwsClients = {
      cloudFormation: new CloudFormationClient({ region: 'us-east-2' }),
      stepFunctions: new SFNClient({ region: 'us-east-2' }),
      s3: new S3Client({ region: 'us-east-2' }),
      region: 'us-east-2',
    };

    // Act
    await follow(clients, 'arn:x', { line: (text) => lines.push(text), progress: () => {} }, immediately);

    // Assess
    expect(stepFunctions.commandCalls(GetExecutionHistoryCommand).length).toBeGreaterThanOrEqual(4);
    expect(lines).toEqual(['+00:00:00  PrepareDrill              00:00:01  done']);
  });

  it.each([
    [
      'no credentials',
      awsError('CredentialsProviderError', 'Could not load credentials from any providers'),
      [],
      /^pilotlight: no AWS credentials found: sign in/,
    ],
    [
      'an expired session',
      awsError('ExpiredToken', 'The security token included in the request is expired'),
      ['--profile', 'ops'],
      /^pilotlight: the AWS session \(profile ops\) has expired: sign in again \(aws sso login --profile ops\)/,
    ],
    [
      'no stack',
      awsError('ValidationError', 'Stack with id pilotlight-prod does not exist'),
      [],
      /^pilotlight: stack pilotlight-prod is not deployed in us-east-2: deploy it/,
    ],
    [
      'a stack in another region',
      awsError('ValidationError', 'Stack with id pilotlight-prod does not exist'),
      ['--region', 'eu-west-1'],
      /^pilotlight: stack pilotlight-prod is not deployed in eu-west-1: .*--region it was deployed with/,
    ],
  ])('says so in one line and exits 2 with %s, never a stack trace', async (_case, error, flags, message) => {
    // Prepare
    cloudFormation.on(DescribeStacksCommand).rejects(error);

    // Act
    const code = await main(['drill', '--aws', '--recovery-point', RECOVERY_POINT, ...flags]);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stdout).toBe('');
    expect(stepFunctions.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('exits 2 when the stack has no state machine output', async () => {
    // Prepare
    cloudFormation.on(DescribeStacksCommand).resolves({
      Stacks: [
        { StackName: 'pilotlight-prod', StackStatus: 'UPDATE_COMPLETE', CreationTime: at(0), Outputs: [] },
      ],
    });

    // Act
    const code = await main(['drill', '--aws', '--recovery-point', RECOVERY_POINT]);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toContain('has no output DrillStateMachineArn');
  });

  it.each([
    [['drill', '--aws', '--recovery-point', RECOVERY_POINT, '--mode', 'failover'], 'confirm with --yes'],
    [
      ['drill', '--aws', '--recovery-point', 'arn:aws:backup:us-east-2:111111111111:recovery-point:abc'],
      'pass --resource-type',
    ],
    [
      [
        'drill',
        '--aws',
        '--recovery-point',
        'arn:aws:rds:us-east-2:111111111111:cluster-snapshot:awsbackup:job-1',
      ],
      'pass --resource-type (one of Aurora, DocumentDB, Neptune)',
    ],
    [
      ['drill', '--aws', '--recovery-point', 'arn:aws:ec2:us-east-2::snapshot/snap-0123456789abcdef0'],
      'names no account: give the source account with --source-account',
    ],
    [['drill', '--aws', '--count', '3', '--recovery-point', RECOVERY_POINT], '--count is a sandbox flag'],
    [['drill', '--recovery-point', RECOVERY_POINT], '--recovery-point needs --aws'],
    [['drill', '--aws'], '--recovery-point is required'],
    [['status'], 'status reads a deployed stack: add --aws'],
  ])('rejects %j before calling AWS', async (argv, message) => {
    // Act
    const code = await main(argv);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toContain(message);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(cloudFormation.calls()).toHaveLength(0);
  });

  it('rethrows an error that is not about reaching AWS (a bug is not hidden as bad input)', () => {
    // Assess
    expect(describeAwsError(new TypeError('x is undefined'), { stage: 'prod' }, 'us-east-2')).toBeUndefined();
  });
});

describe('pilotlight status --aws', () => {
  it('lists running and recent drills with outcome, RTO, RPO and data RPO', async () => {
    // Prepare
    deployedStack();
    stepFunctions.on(ListExecutionsCommand).resolves({
      executions: [
        {
          executionArn: `${STATE_MACHINE}:running`,
          stateMachineArn: STATE_MACHINE,
          name: 'rds-running',
          status: 'RUNNING',
          startDate: at(5000),
        },
        {
          executionArn: `${STATE_MACHINE}:manual-rds`,
          stateMachineArn: STATE_MACHINE,
          name: 'manual-rds',
          status: 'SUCCEEDED',
          startDate: at(0),
          stopDate: at(3100),
        },
      ],
    });
    stepFunctions
      .on(DescribeExecutionCommand)
      .resolves({ status: 'SUCCEEDED', output: JSON.stringify(OUTPUT) });

    // Act
    const code = await main(['status', '--aws', '--json']);

    // Assess
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      stateMachineArn: STATE_MACHINE,
      drills: [
        {
          drillId: 'rds-running',
          status: 'RUNNING',
          startedAt: at(5000).toISOString(),
          stoppedAt: null,
          rtoSeconds: null,
          rpoSeconds: null,
          dataRpoSeconds: null,
        },
        {
          drillId: 'manual-rds',
          status: 'SUCCEEDED',
          startedAt: at(0).toISOString(),
          stoppedAt: at(3100).toISOString(),
          rtoSeconds: 3000,
          rpoSeconds: 1800,
          dataRpoSeconds: 240,
        },
      ],
    });
  });

  it('says the stack is not deployed in one line (exit 2)', async () => {
    // Prepare
    cloudFormation
      .on(DescribeStacksCommand)
      .rejects(awsError('ValidationError', 'Stack with id pilotlight-test does not exist'));

    // Act
    const code = await main(['status', '--aws', '--stage', 'test', '--region', 'us-west-2']);

    // Assess
    expect(code).toBe(2);
    expect(stderr).toMatch(/^pilotlight: stack pilotlight-test is not deployed in us-west-2/);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });
});
