import { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import type { Json } from './serverless-config.js';

/**
 * The orchestrator's own table is served by dynalite (a DynamoDB implementation in Node) on loopback. One
 * server per process: the handlers' DynamoDB client reads its endpoint once, at module load.
 */
let endpoint: Promise<string> | undefined;

export function dynamoEndpoint(): Promise<string> {
  endpoint ??= startDynalite().then((server) => server.endpoint);
  return endpoint;
}

/**
 * A dynalite server on loopback. Table changes take `createTableMs`/`deleteTableMs` after DynamoDB has
 * answered (0 here: the next timer tick), as DynamoDB's take seconds; the process does not wait for it.
 */
export function startDynalite(
  delays: { createTableMs?: number; deleteTableMs?: number } = {},
): Promise<{ endpoint: string; close: () => Promise<void> }> {
  return new Promise((resolve, reject) => {
    const server = dynalite({
      createTableMs: delays.createTableMs ?? 0,
      deleteTableMs: delays.deleteTableMs ?? 0,
      updateTableMs: 0,
    });
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.unref();
      servers.set(`127.0.0.1:${port}`, server);
      resolve({
        endpoint: `http://127.0.0.1:${port}`,
        // Settles once the server has closed (idle keep-alive sockets closed first, so it does not wait on them).
        close: () =>
          new Promise<void>((closed) => {
            servers.delete(`127.0.0.1:${port}`);
            server.close(() => closed());
            server.closeAllConnections();
          }),
      });
    });
  });
}

/** Every dynalite server this process started, by the `host:port` its endpoint names. */
const servers = new Map<string, Server>();

/** What the interceptor's in-process transport gets of an SDK request (smithy's HttpRequest). */
export interface TransportRequest {
  method: string;
  hostname: string;
  port?: number;
  path: string;
  query?: Record<string, unknown>;
  headers: Record<string, string>;
  body?: unknown;
}

/** What it gives back (smithy's HttpResponse is any object of this shape; the body a Uint8Array). */
export interface TransportResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: Uint8Array;
}

/**
 * Serves an SDK request addressed to one of this process's dynalite servers without the loopback round trip:
 * the server's own request listener gets the request's method, path, headers and body, and its answer (status,
 * headers, body) goes back to the SDK, which deserializes it as it would a socket's. Everything dynalite does
 * (validation, expressions, conditions, the LevelDB store) runs unchanged; the HTTP stack on both sides (Node's
 * client and server, sockets, keep-alive) does not. Undefined for any other request (it goes over the
 * network as before). Hand-written: dynalite offers only an HTTP server, and it reads only these fields of
 * Node's request and response objects.
 */
export function dynaliteInProcess(
  request: TransportRequest,
): Promise<{ response: TransportResponse }> | undefined {
  const server = servers.get(`${request.hostname}:${request.port ?? 80}`);
  if (!server || Object.keys(request.query ?? {}).length > 0) return undefined;
  const body = request.body;
  if (body !== undefined && typeof body !== 'string' && !(body instanceof Uint8Array)) return undefined;
  return new Promise((resolve, reject) => {
    const req = Object.assign(new EventEmitter(), {
      method: request.method,
      url: request.path,
      headers: Object.fromEntries(
        Object.entries(request.headers).map(([name, value]) => [name.toLowerCase(), value]),
      ),
    });
    const headers: Record<string, string> = {};
    const res = {
      statusCode: 200,
      contentType: '',
      setHeader(name: string, value: string | number) {
        headers[name.toLowerCase()] = String(value);
      },
      end(answer?: string) {
        resolve({
          response: { statusCode: res.statusCode, headers, body: Buffer.from(answer ?? '', 'utf8') },
        });
      },
    };
    server.emit('request', req, res);
    // As a socket delivers it: after the listener has subscribed.
    process.nextTick(() => {
      try {
        // A Uint8Array by its bytes: the SDK's JSON body (JsonBytesStringAdapter) answers valueOf() with a string,
        // which Buffer.from(object) would take instead (with a warning).
        const bytes =
          typeof body === 'string'
            ? Buffer.from(body, 'utf8')
            : body && Buffer.from(body.buffer, body.byteOffset, body.byteLength);
        if (bytes && bytes.length > 0) req.emit('data', bytes);
        req.emit('end');
      } catch (error) {
        reject(error);
      }
    });
  });
}

/** How many times to look at the table's status before giving up (each look is one loopback round trip). */
const MAX_POLLS = 1000;

/**
 * Waits, as DynamoDB's waiters do, until the table is gone or ACTIVE. DeleteTable and CreateTable answer
 * while the table is still DELETING or CREATING — dynalite finishes both a timer tick later (its
 * `deleteTableMs`/`createTableMs` of 0 is a setTimeout(0) after the response) — and CreateTable on a
 * DELETING table, or DeleteTable on a CREATING one, fails with ResourceInUseException.
 */
async function waitFor(client: DynamoDBClient, name: string, until: 'gone' | 'ACTIVE'): Promise<void> {
  for (let poll = 0; poll < MAX_POLLS; poll++) {
    try {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
      if (until === 'ACTIVE' && Table?.TableStatus === 'ACTIVE') return;
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException) || until === 'ACTIVE') throw error;
      return;
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`the local DynamoDB table ${name} did not become ${until}`);
}

/** Creates the table as serverless.yml declares it (dropping it first, so every sandbox starts empty). */
export async function recreateTable(client: DynamoDBClient, properties: Record<string, Json>): Promise<void> {
  const name = String(properties.TableName);
  let exists = true;
  try {
    // A table the previous sandbox created may still be CREATING: delete only an ACTIVE one.
    await waitFor(client, name, 'ACTIVE');
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
    exists = false;
  }
  if (exists) {
    try {
      await client.send(new DeleteTableCommand({ TableName: name }));
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
    await waitFor(client, name, 'gone');
  }
  await client.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: String(properties.BillingMode ?? 'PAY_PER_REQUEST') as 'PAY_PER_REQUEST',
      AttributeDefinitions: properties.AttributeDefinitions as never,
      KeySchema: properties.KeySchema as never,
      GlobalSecondaryIndexes: properties.GlobalSecondaryIndexes as never,
    }),
  );
  await waitFor(client, name, 'ACTIVE');
}

export { DynamoDBClient };

/** An error dynalite answered a sandbox-internal request with (`__type` without its namespace). */
export class DynaliteError extends Error {
  override readonly name = 'DynaliteError';
  constructor(
    readonly errorType: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * One DynamoDB JSON-protocol request to a dynalite server, for the sandbox's own use (a simulated restore
 * writing a table). Sent with fetch rather than an SDK client so it does not go through the interceptor,
 * which would authorize it as a handler's call. dynalite checks the Authorization header's form, not the
 * signature.
 */
export async function dynaliteCall(
  endpoint: string,
  operation: string,
  body: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-amz-json-1.0',
      'X-Amz-Target': `DynamoDB_20120810.${operation}`,
      'X-Amz-Date': '20260105T020000Z',
      Authorization:
        'AWS4-HMAC-SHA256 Credential=SANDBOX/20260105/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=00',
    },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as Record<string, unknown>;
  if (!response.ok) {
    const type =
      String(json.__type ?? 'UnknownError')
        .split('#')
        .pop() ?? 'UnknownError';
    throw new DynaliteError(
      type,
      `dynalite ${operation}: ${type} ${String(json.message ?? json.Message ?? '')}`,
    );
  }
  return json;
}

/**
 * Waits until dynalite reports the table ACTIVE (CreateTable answers while it is CREATING and dynalite
 * finishes a timer tick later), polling on the event loop as `waitFor` does.
 */
export async function dynaliteTableActive(endpoint: string, name: string): Promise<void> {
  for (let poll = 0; poll < MAX_POLLS; poll++) {
    const { Table } = (await dynaliteCall(endpoint, 'DescribeTable', { TableName: name })) as {
      Table?: { TableStatus?: string };
    };
    if (Table?.TableStatus === 'ACTIVE') return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`the local DynamoDB table ${name} did not become ACTIVE`);
}
