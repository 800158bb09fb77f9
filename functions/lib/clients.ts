import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { config } from './config.js';

/**
 * Clients for the central (orchestration) account: each created on first use and kept for the life of the
 * container. Plain functions, not one object nor `const x = once(...)` (a call esbuild must keep), so a bundle
 * keeps only the SDK clients its function calls and a cold start builds none before the handler needs it.
 * The evidence bucket's S3 client is recordEvidence's own (functions/record-evidence.ts): named here, the S3
 * SDK would land in the chunk every function shares with the S3 resource type's lazily loaded SDK.
 */
let sfnClient: SFNClient | undefined;
let snsClient: SNSClient | undefined;
let dynamoClient: DynamoDBDocumentClient | undefined;

export function sfn(): SFNClient {
  sfnClient ??= new SFNClient({});
  return sfnClient;
}

export function sns(): SNSClient {
  snsClient ??= new SNSClient({});
  return snsClient;
}

export function dynamo(): DynamoDBDocumentClient {
  dynamoClient ??= DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return dynamoClient;
}

/** Any AWS SDK v3 client class: constructed with a region and credentials. */
export type ClientClass<C> = new (configuration: {
  region: string;
  credentials: AwsCredentialIdentityProvider;
}) => C;

/**
 * A role session in another account and region. Clients are created on first use and cached with the
 * session, so a function builds only the clients it calls: each resource-type module asks for its own
 * service's client (`clients.client(RDSClient)`), the functions likewise for AWS Backup
 * (`clients.client(BackupClient)`) and the Tagging API. No client class is named here, so none is bundled
 * into a function that does not call it.
 */
export class AccountClients {
  private readonly created = new Map<ClientClass<unknown>, unknown>();

  constructor(
    readonly account: string,
    readonly region: string,
    private readonly credentials: AwsCredentialIdentityProvider,
  ) {}

  client<C>(Class: ClientClass<C>): C {
    const existing = this.created.get(Class);
    if (existing instanceof Class) return existing;
    const made = new Class({ region: this.region, credentials: this.credentials });
    this.created.set(Class, made);
    return made;
  }
}

const cache = new Map<string, AccountClients>();

/**
 * Clients that act inside another account through its Pilotlight role (sts:AssumeRole with the external id).
 * Cached per account, region and role for the life of the container; the credential provider refreshes itself.
 */
function clientsFor(account: string, region: string, roleName: string): AccountClients {
  const key = `${account}/${region}/${roleName}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const credentials = fromTemporaryCredentials({
    params: {
      RoleArn: `arn:aws:iam::${account}:role/${roleName}`,
      RoleSessionName: 'pilotlight',
      ExternalId: config.EXTERNAL_ID,
      DurationSeconds: 3600,
    },
    clientConfig: { region },
  });
  const created = new AccountClients(account, region, credentials);
  cache.set(key, created);
  return created;
}

/** The pilot-light DR account, in the DR region: where every restore lands and where teardown acts. */
export function drClients(): AccountClients {
  return clientsFor(config.DR_ACCOUNT_ID, config.DR_REGION, config.DR_ROLE_NAME);
}

/**
 * The DR account's teardown role: deletes what drills restored (only resources tagged by Pilotlight, never a
 * failover's) and reads what it needs to decide; it cannot tag, so it cannot make anything deletable.
 */
export function drTeardownClients(): AccountClients {
  return clientsFor(config.DR_ACCOUNT_ID, config.DR_REGION, config.DR_TEARDOWN_ROLE_NAME);
}

/** A source (production) account, in the region of its backup: used only to read and copy recovery points. */
export function sourceClients(account: string, region: string): AccountClients {
  return clientsFor(account, region, config.SOURCE_ROLE_NAME);
}
