import type { AddressInfo } from 'node:net';
import {
  CreateTableCommand,
  DeleteTableCommand,
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
  endpoint ??= new Promise((resolve, reject) => {
    const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.unref();
      resolve(`http://127.0.0.1:${port}`);
    });
  });
  return endpoint;
}

/** Creates the table as serverless.yml declares it (dropping it first, so every sandbox starts empty). */
export async function recreateTable(client: DynamoDBClient, properties: Record<string, Json>): Promise<void> {
  const name = String(properties.TableName);
  try {
    await client.send(new DeleteTableCommand({ TableName: name }));
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
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
}

export { DynamoDBClient };
