import {
  ConfiguredRetryStrategy,
  DEFAULT_RETRY_DELAY_BASE,
  MAXIMUM_RETRY_DELAY,
  THROTTLING_RETRY_DELAY_BASE,
} from '@smithy/core/retry';
import { Client } from '@smithy/smithy-client';
import type {
  AwsCredentialIdentity,
  DeserializeHandler,
  DeserializeHandlerArguments,
  HandlerExecutionContext,
  MetadataBearer,
  RelativeMiddlewareOptions,
  RetryErrorInfo,
  RetryStrategyV2,
  StandardRetryToken,
} from '@smithy/types';
import { awsError, SimulatedAwsError } from './aws-errors.js';
import type { TransportRequest, TransportResponse } from './dynamodb.js';
import { IamDenied } from './iam.js';
import { currentFunction, type Principal, principalFor } from './identity.js';

/**
 * Interception at the AWS SDK boundary. Every SDK v3 client extends smithy's Client; on its first request
 * the sandbox adds its middleware to the client's stack after the SDK's own serialization and retry, before
 * its signing (`instrument`), so handlers keep their real clients, retries and error classes and only the
 * network round trip is simulated. DynamoDB requests go on, signed, to dynalite (in-process: `transport`).
 */
export interface ApiCall {
  service: string;
  operation: string;
  input: Record<string, unknown>;
  caller: {
    account: string;
    region: string;
    /** The role the request is signed as (aws:PrincipalArn). */
    roleArn: string;
    /** The role session, as AWS names the caller in errors. */
    sessionArn: string;
    /** The function whose handler made the call (none: the sandbox itself, provisioning the stack). */
    functionKey?: string;
  };
  /** The signing principal (for IAM: which function assumed a role session, with which ExternalId). */
  principal: Principal;
}

export type ApiHandler = (call: ApiCall) => Promise<unknown> | unknown;

interface Interceptor {
  handler: ApiHandler;
  /**
   * Calls that go on over the network to a real local implementation (dynalite for DynamoDB) instead of the
   * simulated services; it may point the request at another endpoint (one dynalite per simulated account).
   */
  passThrough: (call: ApiCall) => { hostname: string; port: number } | boolean;
  onCall: (call: ApiCall) => void;
  /**
   * Authorizes the call as IAM would (sandbox/iam.ts), after the region and fault checks and before the
   * service (or dynalite) sees it: throws the service's access-denied error.
   */
  authorize?: (call: ApiCall) => Promise<void> | void;
  /**
   * Waits out an SDK retry backoff: on the virtual clock when a handler made the call, with the sandbox's
   * seeded jitter (the delay is `delayFor(jitter)`).
   */
  backoff: (delayFor: (jitter: number) => number) => Promise<void>;
  /**
   * Serves a passed-through request in-process when it can (dynalite: sandbox/dynamodb.ts dynaliteInProcess),
   * undefined to send it over the network.
   */
  transport?: (request: TransportRequest) => Promise<{ response: TransportResponse }> | undefined;
}

let active: Interceptor | undefined;
const instrumented = new WeakSet<object>();
const originalSend = Client.prototype.send;

interface AnyClient {
  middlewareStack: {
    add: (middleware: never, options: object) => void;
    addRelativeTo: (middleware: never, options: RelativeMiddlewareOptions) => void;
    identify: () => string[];
  };
  config: {
    region: () => Promise<string>;
    credentials: () => Promise<AwsCredentialIdentity>;
    retryStrategy?: () => Promise<object>;
    maxAttempts?: () => Promise<number>;
    requestHandler?: RequestHandlerLike;
  };
}

interface RequestHandlerLike {
  handle: (request: TransportRequest, options?: object) => Promise<unknown>;
}

/**
 * The client's request handler, asked first whether the sandbox serves the request in-process (Interceptor
 * `transport`); everything else (its other methods, any other request) is the SDK's own handler.
 */
function inProcessTransport(client: AnyClient): void {
  const original = client.config.requestHandler;
  if (!original || typeof original.handle !== 'function') return;
  const handle = (request: TransportRequest, options?: object) =>
    active?.transport?.(request) ?? original.handle(request, options);
  client.config.requestHandler = Object.assign(Object.create(original), { handle });
}

/**
 * The SDK's standard retry strategy sleeps between attempts with a real setTimeout (exponential backoff
 * with jitter, up to 20 s), which would stall the simulation in wall time. In the sandbox each client gets
 * the SDK's own ConfiguredRetryStrategy — same attempt limit, same retryable-error classification, same
 * retry quota — with a real delay of 0, and the backoff the standard strategy would choose
 * (min(20 s, jitter × 2^retries × base), base 500 ms for throttling, 100 ms otherwise) is waited on the
 * virtual clock, with the sandbox's seeded jitter so runs stay deterministic.
 */
function virtualBackoff(client: AnyClient): void {
  if (!client.config.retryStrategy || !client.config.maxAttempts) return;
  const strategy = new ConfiguredRetryStrategy(client.config.maxAttempts, 0);
  client.config.retryStrategy = async () =>
    ({
      acquireInitialRetryToken: (scope: string) => strategy.acquireInitialRetryToken(scope),
      recordSuccess: (token: StandardRetryToken) => strategy.recordSuccess(token),
      refreshRetryTokenForRetry: async (token: StandardRetryToken, errorInfo: RetryErrorInfo) => {
        const next = await strategy.refreshRetryTokenForRetry(token, errorInfo);
        const base =
          errorInfo.errorType === 'THROTTLING' ? THROTTLING_RETRY_DELAY_BASE : DEFAULT_RETRY_DELAY_BASE;
        await active?.backoff((jitter) =>
          Math.floor(Math.min(MAXIMUM_RETRY_DELAY, jitter * 2 ** token.getRetryCount() * base)),
        );
        return next;
      },
    }) satisfies RetryStrategyV2;
}

/**
 * A local server (dynalite) dates its responses in wall time while the handlers and their SDK clients live on
 * the virtual clock. The SDK would take the difference for clock skew, correct its offset and retry the failed
 * call as a skew error (a ConditionalCheckFailed retried three times): in AWS the two clocks agree, so the
 * response is dated now, as the virtual clock says (Date is the virtual clock while a sandbox runs).
 */
function onVirtualTime(response: unknown): void {
  if (!response || typeof response !== 'object' || !('headers' in response)) return;
  const headers = response.headers;
  if (headers && typeof headers === 'object' && 'date' in headers)
    Object.assign(headers, { date: new Date().toUTCString() });
}

/** Calls `next` and dates its response (or its error's response) on the virtual clock: see `onVirtualTime`. */
async function onVirtualTimeAfter(
  next: DeserializeHandler<object, MetadataBearer>,
  args: DeserializeHandlerArguments<object>,
) {
  try {
    const result = await next(args);
    onVirtualTime(result.response);
    return result;
  } catch (error) {
    if (error && typeof error === 'object' && '$response' in error) onVirtualTime(error.$response);
    throw error;
  }
}

/** The SDK's SigV4 signing middleware, which the sandbox's own goes before (`instrument`). */
const SIGNER = 'httpSigningMiddleware';

/**
 * Adds the sandbox to a client's stack. After the SDK's retry (so simulated throttling and errors are retried,
 * with the SDK's own classification) and before its signing: a call the sandbox answers is never signed (no
 * service here checks a signature; the caller is known from the credentials the client resolved), a call it
 * passes through (DynamoDB) is signed as before. A pass-through response is dated on the virtual clock in the
 * deserialize step, before the signer reads its Date for clock skew. A stack without the signer gets the sandbox
 * in the deserialize step, after everything.
 */
function instrument(client: AnyClient): void {
  const middleware = middlewareFor(client) as never;
  if (client.middlewareStack.identify().some((entry) => entry.startsWith(`${SIGNER} `))) {
    client.middlewareStack.addRelativeTo(middleware, {
      relation: 'before',
      toMiddleware: SIGNER,
      name: 'pilotlightSandbox',
    });
    client.middlewareStack.add(
      ((next: DeserializeHandler<object, MetadataBearer>) => (args: DeserializeHandlerArguments<object>) =>
        onVirtualTimeAfter(next, args)) as never,
      { step: 'deserialize', priority: 'high', name: 'pilotlightVirtualTime' },
    );
  } else {
    client.middlewareStack.add(middleware, {
      step: 'deserialize',
      priority: 'high',
      name: 'pilotlightSandbox',
    });
  }
}

function serviceOf(context: HandlerExecutionContext): string {
  return (context.clientName ?? 'Unknown').replace(/Client$/, '');
}

function middlewareFor(client: AnyClient) {
  return (next: DeserializeHandler<object, MetadataBearer>, context: HandlerExecutionContext) =>
    async (args: DeserializeHandlerArguments<object>) => {
      const interceptor = active;
      if (!interceptor) throw new Error('an AWS SDK call was made outside the sandbox (no network here)');
      const service = serviceOf(context);
      const operation = (context.commandName ?? '').replace(/Command$/, '');
      const credentials = await client.config.credentials();
      const principal = principalFor(credentials.accessKeyId);
      if (!principal)
        throw awsError(
          service,
          'UnrecognizedClientException',
          'The security token included in the request is invalid.',
        );
      if (principal.expiresAt < Date.now())
        throw awsError(
          service,
          'ExpiredTokenException',
          'The security token included in the request is expired',
        );
      const call: ApiCall = {
        service,
        operation,
        input: args.input as Record<string, unknown>,
        caller: {
          account: principal.account,
          region: await client.config.region(),
          roleArn: principal.roleArn,
          sessionArn: principal.sessionArn,
          functionKey: currentFunction(),
        },
        principal,
      };
      try {
        interceptor.onCall(call);
        await interceptor.authorize?.(call);
        const route = interceptor.passThrough(call);
        if (route) {
          const request = args.request;
          if (typeof route === 'object' && typeof request === 'object' && request && 'hostname' in request)
            Object.assign(request, { hostname: route.hostname, port: route.port });
          return await onVirtualTimeAfter(next, args);
        }
        const output = (await interceptor.handler(call)) as Record<string, unknown>;
        return {
          response: { statusCode: 200, headers: {} },
          output: {
            ...output,
            $metadata: {
              httpStatusCode: 200,
              requestId: `sandbox-${operation}`,
              attempts: 1,
              totalRetryDelay: 0,
            },
          },
        };
      } catch (error) {
        if (error instanceof IamDenied) {
          // Every access-denied answer is HTTP 403, whatever the service calls the error.
          const denied = awsError(error.service ?? service, error.errorName, error.message) as Error & {
            $metadata: { httpStatusCode?: number };
          };
          denied.$metadata.httpStatusCode = 403;
          throw denied;
        }
        if (error instanceof SimulatedAwsError) throw awsError(service, error.errorName, error.message);
        throw error;
      }
    };
}

export function installInterceptor(interceptor: Interceptor): () => void {
  if (active) throw new Error('a sandbox is already running in this process');
  active = interceptor;
  Client.prototype.send = function send(
    this: Client<never, never, never, never>,
    ...args: Parameters<typeof originalSend>
  ) {
    // Client's config type is the concrete client's (here `never`): the fields the sandbox uses, by reference.
    const client: AnyClient = { middlewareStack: this.middlewareStack, config: this.config };
    // Keyed by the middleware stack, not the client: a DynamoDBDocumentClient shares the stack and the
    // config of the client it wraps, which must be instrumented once.
    if (!instrumented.has(client.middlewareStack)) {
      instrument(client);
      virtualBackoff(client);
      inProcessTransport(client);
      instrumented.add(client.middlewareStack);
    }
    return originalSend.apply(this, args);
  } as typeof originalSend;
  return () => {
    active = undefined;
  };
}
