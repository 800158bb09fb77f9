import { BackupClient } from '@aws-sdk/client-backup';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { RDSClient } from '@aws-sdk/client-rds';
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { config } from './config.js';

/** Clients for the central (orchestration) account, created once per container. */
export const sfn = new SFNClient({});
export const sns = new SNSClient({});
export const s3 = new S3Client({});
export const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});

export interface AccountClients {
  account: string;
  region: string;
  backup: BackupClient;
  rds: RDSClient;
  ec2: EC2Client;
  tagging: ResourceGroupsTaggingAPIClient;
}

const cache = new Map<string, AccountClients>();

/**
 * Clients that act inside another account through its Pilotlight role (sts:AssumeRole with the external id).
 * Cached per account and region for the life of the container; the credential provider refreshes itself.
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
  const created: AccountClients = {
    account,
    region,
    backup: new BackupClient({ region, credentials }),
    rds: new RDSClient({ region, credentials }),
    ec2: new EC2Client({ region, credentials }),
    tagging: new ResourceGroupsTaggingAPIClient({ region, credentials }),
  };
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
