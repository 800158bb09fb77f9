import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { Uint8ArrayBlobAdapter } from '@smithy/core/serde';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { drClients } from '../../functions/lib/clients.js';
import { config } from '../../functions/lib/config.js';
import { parseValidationProfiles } from '../../functions/lib/validation-profiles-file.js';
import type { ValidatorCheck } from '../../functions/lib/validations.js';
import { runValidator, type ValidatorRequest } from '../../functions/lib/validators.js';

const lambda = mockClient(LambdaClient);
const payload = (value: unknown) => Uint8ArrayBlobAdapter.fromString(JSON.stringify(value));

const REQUEST: ValidatorRequest = {
  drillId: 'rds-1',
  mode: 'drill',
  resourceType: 'EBS',
  resourceArn: `arn:aws:ec2:${config.DR_REGION}:${config.DR_ACCOUNT_ID}:volume/vol-0123456789abcdef0`,
  sourceResourceArn: 'arn:aws:ec2:us-east-2:111111111111:volume/vol-0aaaaaaaaaaaaaaaa',
  recoveryPointArn: `arn:aws:ec2:${config.DR_REGION}::snapshot/snap-0123456789abcdef0`,
  recoveryPointCreatedAt: '2026-01-05T01:50:00.000Z',
};

/** A validator check as validations.yml declares it. */
function check(fields: string): ValidatorCheck {
  const [parsed] = parseValidationProfiles(`profiles:\n  p:\n    - validator: ${fields}\n`).profiles.p ?? [];
  if (parsed?.kind !== 'validator') throw new Error('not a validator check');
  return parsed;
}

const run = (validator: ValidatorCheck) =>
  runValidator({ clients: drClients(), config, check: validator, request: REQUEST });

beforeEach(() => lambda.reset());
afterEach(() => vi.useRealTimers());

describe('bring your own validator', () => {
  it('invokes the named function in the DR account with the copy and names each of its checks after it', async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      Payload: payload({
        checks: [
          { name: 'rows reconcile', passed: true, observed: 1200, expected: '>= 1000' },
          { name: 'newest row', passed: true, dataRpoSeconds: 300 },
        ],
      }),
    });

    const results = await run(check('{ name: shop, function: pilotlight-validator-shop }'));

    expect(results).toEqual([
      { name: 'shop: rows reconcile', passed: true, observed: 1200, expected: '>= 1000' },
      { name: 'shop: newest row', passed: true, observed: 'passed', expected: 'passed', dataRpoSeconds: 300 },
    ]);
    const sent = lambda.commandCalls(InvokeCommand)[0]?.args[0].input;
    expect(sent?.FunctionName).toBe(
      `arn:aws:lambda:${config.DR_REGION}:${config.DR_ACCOUNT_ID}:function:pilotlight-validator-shop`,
    );
    const sentPayload = sent?.Payload;
    if (!(sentPayload instanceof Uint8Array)) throw new Error('the payload was not bytes');
    expect(JSON.parse(new TextDecoder().decode(sentPayload))).toEqual(REQUEST);
  });

  it('refuses, without invoking it, a validator outside the DR account', async () => {
    const results = await run(
      check('{ function: "arn:aws:lambda:us-east-2:111111111111:function:pilotlight-validator-prod" }'),
    );

    expect(results).toEqual([
      expect.objectContaining({
        name: 'pilotlight-validator-prod',
        passed: false,
        observed: expect.stringContaining(`is not in the DR account ${config.DR_ACCOUNT_ID}`),
      }),
    ]);
    expect(lambda).not.toHaveReceivedCommand(InvokeCommand);
  });

  it.each([
    [
      'an error in the function',
      { FunctionError: 'Unhandled', Payload: payload({ errorType: 'Error', errorMessage: 'boom' }) },
      'the validator failed: Error: boom',
    ],
    [
      'an answer that is not JSON',
      { Payload: Uint8ArrayBlobAdapter.fromString('ok') },
      'an answer that is not JSON (ok)',
    ],
    [
      'an answer without checks',
      { Payload: payload({ checks: [] }) },
      'an answer that is not the validator contract: checks:',
    ],
    [
      'a check without a verdict',
      { Payload: payload({ checks: [{ name: 'x' }] }) },
      'an answer that is not the validator contract: checks.0.passed:',
    ],
  ])('fails the check, with the reason, on %s', async (_what, answer, observed) => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, ...answer });

    const [result, ...more] = await run(check('{ function: pilotlight-validator-shop }'));

    expect(more).toEqual([]);
    expect(result?.passed).toBe(false);
    expect(String(result?.observed)).toContain(observed);
  });

  it('fails the check when the function cannot be invoked (AccessDenied)', async () => {
    lambda.on(InvokeCommand).rejects(
      Object.assign(new Error('not authorized to perform lambda:InvokeFunction'), {
        name: 'AccessDeniedException',
      }),
    );

    const [result] = await run(check('{ function: pilotlight-validator-shop }'));

    expect(result).toMatchObject({
      passed: false,
      observed: expect.stringContaining('AccessDeniedException'),
    });
  });

  it('stops waiting after the check timeout and fails it', async () => {
    vi.useFakeTimers();
    // A validator that never answers.
    lambda.on(InvokeCommand).callsFake(() => new Promise(() => undefined));

    const running = run(check('{ function: pilotlight-validator-shop, timeoutSeconds: 5 }'));
    await vi.advanceTimersByTimeAsync(4_999);
    let settled = false;
    void running.then(() => {
      settled = true;
    });
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const [result] = await running;

    expect(result).toMatchObject({ passed: false, observed: 'no answer within 5 s' });
  });
});

describe('validator checks in validations.yml', () => {
  it.each([
    ['a function not named pilotlight-validator-*', '{ function: my-validator }', 'pilotlight-validator-'],
    ['a timeout over 60 s', '{ function: pilotlight-validator-x, timeoutSeconds: 90 }', 'timeoutSeconds'],
  ])('refuses %s in one line', (_what, fields, message) => {
    expect(() => parseValidationProfiles(`profiles:\n  p:\n    - validator: ${fields}\n`)).toThrow(message);
  });

  it('lets a type without built-in checks default to a profile of validators only, and nothing else', () => {
    const profiles = `profiles:\n  v:\n    - validator: { function: pilotlight-validator-x }\n  s:\n    - sql: { query: SELECT 1, expect: { op: '==', value: 1 } }\n`;

    expect(parseValidationProfiles(`defaults:\n  EBS: v\n${profiles}`).defaults).toEqual({ EBS: 'v' });
    expect(() => parseValidationProfiles(`defaults:\n  EBS: s\n${profiles}`)).toThrow(
      'may list only validator checks',
    );
  });
});
