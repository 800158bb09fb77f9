import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynaliteInProcess, startDynalite, type TransportRequest } from '../../sandbox/dynamodb.js';

/**
 * The sandbox serves the handlers' DynamoDB calls to its dynalite servers in-process (sandbox/dynamodb.ts
 * dynaliteInProcess): the same listener answers as over loopback, without the HTTP stack.
 */
let server: { endpoint: string; close: () => Promise<void> };
let port: number;

beforeAll(async () => {
  server = await startDynalite();
  port = Number(new URL(server.endpoint).port);
});

afterAll(() => server.close());

function request(
  operation: string,
  body: TransportRequest['body'],
  overrides: Partial<TransportRequest> = {},
) {
  return {
    method: 'POST',
    hostname: '127.0.0.1',
    port,
    path: '/',
    headers: {
      'Content-Type': 'application/x-amz-json-1.0',
      'X-Amz-Target': `DynamoDB_20120810.${operation}`,
      'X-Amz-Date': '20260105T020000Z',
      Authorization:
        'AWS4-HMAC-SHA256 Credential=SANDBOX/20260105/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00',
    },
    body,
    ...overrides,
  };
}

async function answer(req: TransportRequest) {
  const served = dynaliteInProcess(req);
  if (!served) throw new Error('expected the request to be served in-process');
  const { response } = await served;
  return {
    status: response.statusCode,
    headers: response.headers,
    json: JSON.parse(Buffer.from(response.body).toString()),
  };
}

describe('dynalite in-process', () => {
  it("answers a request addressed to one of this process's dynalite servers as it would over loopback", async () => {
    const over = await fetch(server.endpoint, {
      method: 'POST',
      headers: request('ListTables', '{}').headers,
      body: '{}',
    });
    const served = await answer(request('ListTables', '{}'));

    expect(served.status).toBe(200);
    expect(served.json).toEqual(await over.json());
    expect(served.json).toEqual({ TableNames: [] });
    expect(served.headers['x-amz-crc32']).toMatch(/^\d+$/);
    expect(served.headers['content-type']).toBe('application/x-amz-json-1.0');
  });

  it("reads a byte body by its bytes, even when its valueOf is a string (the SDK's JSON body)", async () => {
    // The SDK's JsonBytesStringAdapter: a Uint8Array whose valueOf() and toString() give the text.
    class BytesWithText extends Uint8Array {
      override valueOf(): never {
        throw new Error('read through valueOf');
      }
    }
    const bytes = Buffer.from('{"Limit":5}');
    const served = await answer(request('ListTables', new BytesWithText(bytes)));

    expect(served).toMatchObject({ status: 200, json: { TableNames: [] } });
  });

  it("gives dynalite's own errors back (status and __type), as the SDK deserializes them", async () => {
    const served = await answer(request('ListTables', '{"Limit":0}'));

    expect(served.status).toBe(400);
    expect(served.json.__type).toBe('com.amazon.coral.validate#ValidationException');
  });

  it('leaves any other request to the network (another host, a port no dynalite listens on, a query string)', () => {
    expect(
      dynaliteInProcess(
        request('ListTables', '{}', { hostname: 'dynamodb.us-east-1.amazonaws.com', port: 443 }),
      ),
    ).toBeUndefined();
    expect(dynaliteInProcess(request('ListTables', '{}', { port: port + 1 }))).toBeUndefined();
    expect(dynaliteInProcess(request('ListTables', '{}', { query: { a: 'b' } }))).toBeUndefined();
  });
});
