import * as z from 'zod';
import { lazySdk } from '../resources/sdk/lazy.js';
import { parseArn } from './arn.js';
import type { AccountClients } from './clients.js';
import type { Config } from './config.js';
import { type DataCheckResult, errorSummary } from './data-checks.js';
import { describeError } from './errors.js';
import type { ValidatorCheck } from './validations.js';

/**
 * Bring your own validator (docs/validation.md): a profile's `validator` check names a Lambda function of yours
 * in the DR account (pilotlight-validator-*). checkHealth invokes it with the DR role, synchronously, with what
 * it needs to reach the restored copy, and its answer joins the drill's checks. Whatever goes wrong on the way
 * (no such function, no permission, an error in it, no answer in time, an answer that is not the contract) is a
 * failing check with the reason: a validator that did not say "passed" never passes a drill.
 */

/** The Lambda SDK, loaded on first use: only drills whose profile has a validator pay for it. */
const lambdaSdk = lazySdk(() => import('../resources/sdk/lambda.js'));

/** What your validator receives (JSON). `connection` only for databases (RDS instances, clusters). */
export interface ValidatorRequest {
  drillId: string;
  mode: string;
  resourceType: string;
  /** The restored copy, in the DR account. */
  resourceArn: string;
  /** The resource that was backed up (another account, never to be touched). */
  sourceResourceArn: string;
  /** The recovery point the copy was restored from, and when it was taken (data RPO is measured from it). */
  recoveryPointArn: string;
  recoveryPointCreatedAt: string;
  /** Endpoint and the copy's own RDS-managed master user secret (never the production password). */
  connection?: { address?: string; port?: number; database?: string; secretArn?: string };
}

/** What your validator answers: one or more checks; `observed`/`expected` are shown in the evidence. */
export const ValidatorAnswer = z.strictObject({
  checks: z
    .array(
      z.strictObject({
        name: z.string().min(1).max(200),
        passed: z.boolean(),
        observed: z.union([z.string().max(2000), z.number(), z.null()]).optional(),
        expected: z.string().max(2000).optional(),
        /** Recovery point time − the newest data the validator found, in seconds (joins the data RPO). */
        dataRpoSeconds: z.number().min(0).optional(),
      }),
    )
    .min(1)
    .max(50),
});

/** Lambda's payload when the function threw or timed out. */
const FunctionErrorPayload = z.object({
  errorType: z.string().optional(),
  errorMessage: z.string().optional(),
});

/** The function a check names, as an ARN in the DR account and region; a reason when it is elsewhere. */
export function validatorArn(
  check: Pick<ValidatorCheck, 'function'>,
  config: Pick<Config, 'DR_ACCOUNT_ID' | 'DR_REGION'>,
): { arn: string } | { refused: string } {
  if (!check.function.startsWith('arn:'))
    return { arn: `arn:aws:lambda:${config.DR_REGION}:${config.DR_ACCOUNT_ID}:function:${check.function}` };
  const parts = parseArn(check.function);
  if (parts?.account !== config.DR_ACCOUNT_ID || parts.region !== config.DR_REGION)
    return {
      refused: `${check.function} is not in the DR account ${config.DR_ACCOUNT_ID} (${config.DR_REGION}): restored copies are checked there only`,
    };
  return { arn: check.function };
}

function failed(label: string, observed: string, expected: string): DataCheckResult {
  return { name: label, passed: false, observed, expected };
}

/**
 * Runs one validator check: invokes the function, waits at most `timeoutSeconds` for its answer and turns it
 * into results named `<label>: <check>`.
 */
export async function runValidator(input: {
  clients: AccountClients;
  config: Pick<Config, 'DR_ACCOUNT_ID' | 'DR_REGION'>;
  check: ValidatorCheck;
  request: ValidatorRequest;
}): Promise<DataCheckResult[]> {
  const { check } = input;
  const label = check.name ?? check.function.split(':').at(-1) ?? check.function;
  const expected = 'an answer from your validator whose checks all pass';
  const target = validatorArn(check, input.config);
  if ('refused' in target) return [failed(label, target.refused, expected)];
  const { InvokeCommand, LambdaClient } = await lambdaSdk();
  // The SDK call is abandoned, not the function: Lambda still runs it to its own timeout, but the drill goes on.
  const abort = new AbortController();
  const timedOut = new Promise<never>((_resolve, reject) => {
    abort.signal.addEventListener('abort', () => reject(abort.signal.reason));
  });
  const timer = setTimeout(() => abort.abort(), check.timeoutSeconds * 1000);
  let out: { FunctionError?: string; Payload?: Uint8Array };
  try {
    const invoking = input.clients.client(LambdaClient).send(
      new InvokeCommand({
        FunctionName: target.arn,
        Payload: new TextEncoder().encode(JSON.stringify(input.request)),
      }),
      { abortSignal: abort.signal },
    );
    // Whether or not the HTTP handler honours the signal, the wait ends at the timeout.
    invoking.catch(() => undefined);
    out = await Promise.race([invoking, timedOut]);
  } catch (error) {
    const observed = abort.signal.aborted
      ? `no answer within ${check.timeoutSeconds} s`
      : `could not invoke ${target.arn}: ${describeError(error).name}: ${errorSummary(error)}`;
    return [failed(label, observed, expected)];
  } finally {
    clearTimeout(timer);
  }
  const text = out.Payload ? new TextDecoder().decode(out.Payload) : '';
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return [failed(label, `an answer that is not JSON (${text.slice(0, 100)})`, expected)];
  }
  if (out.FunctionError) {
    const error = FunctionErrorPayload.safeParse(json);
    const what = error.success
      ? `${error.data.errorType ?? 'Error'}: ${error.data.errorMessage ?? ''}`
      : 'an unreadable error';
    return [failed(label, `the validator failed: ${what}`.slice(0, 2000), expected)];
  }
  const answer = ValidatorAnswer.safeParse(json);
  if (!answer.success) {
    const [issue] = answer.error.issues;
    const where = issue?.path.join('.') || '(top level)';
    return [
      failed(label, `an answer that is not the validator contract: ${where}: ${issue?.message}`, expected),
    ];
  }
  return answer.data.checks.map((result) => ({
    name: `${label}: ${result.name}`,
    passed: result.passed,
    observed: result.observed ?? (result.passed ? 'passed' : 'failed'),
    expected: result.expected ?? 'passed',
    ...(result.dataRpoSeconds === undefined ? {} : { dataRpoSeconds: result.dataRpoSeconds }),
  }));
}
