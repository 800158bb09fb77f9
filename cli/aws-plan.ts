import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import type { AwsTarget } from './args.js';
import { AwsAccessError, awsClients, reaching, stackOutput } from './aws.js';
import { PlanOutput } from './plan.js';

/** The output serverless adds for the plan function (`<Function>LambdaFunctionQualifiedArn`). */
export const PLAN_FUNCTION_OUTPUT = 'PlanLambdaFunctionQualifiedArn';

/**
 * `pilotlight plan --dry-run --aws`: the deployed plan function, found by the stack's outputs, invoked with
 * `{"dryRun": true}`. It plans with its own role (the source accounts trust it, not the operator) and starts
 * nothing. A function error is one line and exit 2, like an AWS that cannot be reached.
 */
export async function runAwsPlan(target: AwsTarget, lambda?: LambdaClient): Promise<PlanOutput> {
  const clients = awsClients(target);
  const client =
    lambda ??
    new LambdaClient({
      region: target.region,
      credentials: fromNodeProviderChain(target.profile ? { profile: target.profile } : {}),
    });
  return reaching(target, clients, async () => {
    const functionArn = await stackOutput(target, clients, PLAN_FUNCTION_OUTPUT);
    const response = await client.send(
      new InvokeCommand({
        FunctionName: functionArn,
        Payload: new TextEncoder().encode(JSON.stringify({ dryRun: true })),
      }),
    );
    const text = response.Payload ? new TextDecoder().decode(response.Payload) : '';
    if (response.FunctionError) {
      const detail = text.replace(/\s+/g, ' ').slice(0, 300);
      throw new AwsAccessError(
        `the plan function ${functionArn} failed (${response.FunctionError}): ${detail}`,
      );
    }
    const parsed = PlanOutput.safeParse(JSON.parse(text || 'null'));
    if (!parsed.success)
      throw new AwsAccessError(
        `the plan function ${functionArn} answered something that is not a plan: is the deployed stack older than this CLI?`,
      );
    return parsed.data;
  });
}
