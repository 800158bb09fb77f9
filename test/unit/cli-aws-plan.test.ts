import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { Uint8ArrayBlobAdapter } from '@smithy/core/serde';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main.js';

/** `pilotlight plan --dry-run --aws`: the deployed plan function, found by its output, asked for a dry run. */
const cloudFormation = mockClient(CloudFormationClient);
const lambda = mockClient(LambdaClient);

const PLAN_FUNCTION = 'arn:aws:lambda:us-east-2:222222222222:function:pilotlight-prod-plan:7';
const PLAN = {
  at: '2026-03-01T10:00:00.000Z',
  policiesSha256: 'b'.repeat(64),
  matched: 2,
  dryRun: true,
  planned: [
    {
      policy: { name: 'gold-daily', tier: 'gold', targets: { rtoSeconds: 7200, rpoSeconds: 86400 } },
      account: '111111111111',
      region: 'us-east-2',
      resourceType: 'RDS',
      resourceArn: 'arn:aws:rds:us-east-2:111111111111:db:orders',
      recoveryPointArn: 'arn:aws:rds:us-east-2:111111111111:snapshot:awsbackup:job-1',
      recoveryPointCreatedAt: '2026-03-01T02:00:00.000Z',
      backupVaultName: 'Default',
      choice: 'latest',
    },
  ],
  skipped: [
    {
      policy: 'gold-daily',
      account: '111111111111',
      region: 'us-east-2',
      resourceArn: 'arn:aws:rds:us-east-2:111111111111:db:billing',
      reason: 'drilled 40 min ago by rds-20260301T0920-abc (every 24 h)',
    },
  ],
  started: [],
  notStarted: [],
};

let stdout: string;
let stderr: string;

function awsError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: 400 } });
}

function deployedStack(
  outputs = [{ OutputKey: 'PlanLambdaFunctionQualifiedArn', OutputValue: PLAN_FUNCTION }],
) {
  cloudFormation.on(DescribeStacksCommand, { StackName: 'pilotlight-prod' }).resolves({
    Stacks: [
      {
        StackName: 'pilotlight-prod',
        StackStatus: 'UPDATE_COMPLETE',
        CreationTime: new Date(),
        Outputs: outputs,
      },
    ],
  });
}

const payload = (value: unknown) => Uint8ArrayBlobAdapter.fromString(JSON.stringify(value));

beforeEach(() => {
  cloudFormation.reset();
  lambda.reset();
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
afterEach(() => vi.restoreAllMocks());

describe('pilotlight plan --dry-run --aws', () => {
  it('invokes the stack output PlanLambdaFunctionQualifiedArn with {"dryRun": true} and prints its plan', async () => {
    // Prepare
    deployedStack();
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload(PLAN) });

    // Act
    const code = await main(['plan', '--dry-run', '--aws', '--region', 'us-east-2']);

    // Assess
    expect(code).toBe(0);
    const call = lambda.commandCalls(InvokeCommand)[0]?.args[0].input;
    expect(call?.FunctionName).toBe(PLAN_FUNCTION);
    expect(JSON.parse(new TextDecoder().decode(call?.Payload as Uint8Array))).toEqual({ dryRun: true });
    expect(stdout).toMatch(/^would start 1 drill\(s\):$/m);
    expect(stdout).toContain('arn:aws:rds:us-east-2:111111111111:db:orders');
    expect(stdout).toContain('drilled 40 min ago by rds-20260301T0920-abc (every 24 h)');
  });

  it('prints the function result as JSON with --json', async () => {
    // Prepare
    deployedStack();
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload(PLAN) });

    // Act
    const code = await main(['plan', '--dry-run', '--aws', '--region', 'us-east-2', '--json']);

    // Assess
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual(PLAN);
  });

  it.each([
    [
      'the function fails',
      () => {
        deployedStack();
        lambda.on(InvokeCommand).resolves({
          StatusCode: 200,
          FunctionError: 'Unhandled',
          Payload: payload({
            errorType: 'DrillPoliciesInvalid',
            errorMessage: 'policies.yml: cannot be read',
          }),
        });
      },
      /^pilotlight: the plan function .*pilotlight-prod-plan:7 failed \(Unhandled\): .*DrillPoliciesInvalid/,
    ],
    [
      'the stack predates the plan function',
      () => deployedStack([{ OutputKey: 'DrillStateMachineArn', OutputValue: 'arn:aws:states:x' }]),
      /^pilotlight: stack pilotlight-prod in us-east-2 has no output PlanLambdaFunctionQualifiedArn/,
    ],
    [
      'no stack is deployed in that region',
      () =>
        cloudFormation
          .on(DescribeStacksCommand)
          .rejects(awsError('ValidationError', 'Stack with id pilotlight-prod does not exist')),
      /^pilotlight: stack pilotlight-prod is not deployed in us-east-2/,
    ],
    [
      'there are no credentials',
      () =>
        cloudFormation
          .on(DescribeStacksCommand)
          .rejects(awsError('CredentialsProviderError', 'Could not load credentials from any providers')),
      /^pilotlight: no AWS credentials found/,
    ],
  ])('exits 2 with one line when %s', async (_case, prepare, message) => {
    // Prepare
    prepare();

    // Act
    const code = await main(['plan', '--dry-run', '--aws', '--region', 'us-east-2']);

    // Assess
    expect(code).toBe(2);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(message);
    expect(stdout).toBe('');
  });
});
