import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { iamRequestsFor, type RequestEnvironment } from '../../sandbox/iam-requests.js';
import { projectRoot } from '../../sandbox/serverless-config.js';

const env: RequestEnvironment = {
  account: '333333333333',
  region: 'us-west-2',
  centralAccount: '222222222222',
  encryptionKeyOf: (resource) =>
    resource === 'evidence-bucket' || resource.endsWith(':alerts')
      ? 'arn:aws:kms:us-east-2:222222222222:key/k-1'
      : undefined,
  resourceArn: (kind, id, account, region, fallback) =>
    kind === 'volume'
      ? `arn:aws:ec2:${region}:${account}:volume/${id}`
      : kind === 'db-instance'
        ? `arn:aws:rds:${region}:${account}:db:${id}`
        : fallback,
  vaultOfRecoveryPoint: () => 'arn:aws:backup:us-west-2:333333333333:backup-vault:pilotlight-dr',
};

/** Every `new XCommand(` in functions/, as the service and operation the interceptor sees. */
function commandsTheHandlersCall(): string[] {
  const packages: Record<string, string> = {
    'client-backup': 'Backup',
    'client-dynamodb': 'DynamoDB',
    'lib-dynamodb': 'DynamoDB',
    'client-ec2': 'EC2',
    'client-efs': 'EFS',
    'client-fsx': 'FSx',
    'client-rds': 'RDS',
    'client-resource-groups-tagging-api': 'ResourceGroupsTaggingAPI',
    'client-s3': 'S3',
    'client-sfn': 'SFN',
    'client-sns': 'SNS',
    'client-sts': 'STS',
  };
  // The document client sends the low-level DynamoDB operations.
  const documentClient: Record<string, string> = {
    Get: 'GetItem',
    Put: 'PutItem',
    Update: 'UpdateItem',
    Delete: 'DeleteItem',
    Query: 'Query',
    Scan: 'Scan',
  };
  const files = readdirSync(join(projectRoot, 'functions'), { recursive: true, encoding: 'utf8' }).filter(
    (f) => f.endsWith('.ts'),
  );
  const found = new Set<string>();
  const sources = files.map((file) => readFileSync(join(projectRoot, 'functions', file), 'utf8'));
  for (const source of sources) {
    // A resource module's SDK is re-exported by functions/resources/sdk/<service>.ts and loaded lazily by the
    // modules, which construct its commands: for a re-export, look for the construction in any source.
    for (const [, kind, names, from] of source.matchAll(
      /(import|export)\s*{([^}]*)}\s*from\s*'@aws-sdk\/([a-z0-9-]+)'/g,
    )) {
      const service = packages[from ?? ''];
      const users = kind === 'export' ? sources : [source];
      for (const name of (names ?? '').split(',').map((n) => n.trim().replace(/^type\s+/, ''))) {
        const command = name.match(/^(\w+)Command$/)?.[1];
        if (!command || !service || !users.some((user) => new RegExp(`new ${name}\\(`).test(user))) continue;
        found.add(`${service}.${from === 'lib-dynamodb' ? (documentClient[command] ?? command) : command}`);
      }
    }
    // Cross-account clients get their credentials from sts:AssumeRole (fromTemporaryCredentials).
    if (source.includes('fromTemporaryCredentials(')) found.add('STS.AssumeRole');
  }
  return [...found].sort();
}

describe('the IAM request of each API call', () => {
  it('maps every operation the handlers call (found in functions/) to IAM actions', () => {
    const operations = commandsTheHandlersCall();
    expect(operations.length).toBeGreaterThanOrEqual(20);
    expect(operations).toEqual(
      expect.arrayContaining([
        'STS.AssumeRole',
        'DynamoDB.UpdateItem',
        'Backup.StartRestoreJob',
        'EC2.DeleteVolume',
      ]),
    );
    for (const operation of operations) {
      const [service = '', name = ''] = operation.split('.');
      expect(() => iamRequestsFor(service, name, {}, env), operation).not.toThrow();
    }
  });

  it('refuses to guess for an operation it does not know', () => {
    // Nothing in Pilotlight fails a cluster over, so nothing maps it.
    expect(() => iamRequestsFor('RDS', 'FailoverDBCluster', {}, env)).toThrow(
      /does not know what RDS.FailoverDBCluster/,
    );
  });

  it('authorizes a drill instance on the new db (with its engine, class and tags), the cluster it joins, and its tags', () => {
    const tags = [
      { Key: 'pilotlight:managed', Value: 'true' },
      { Key: 'pilotlight:drill-id', Value: 'd-1' },
    ];
    const requests = iamRequestsFor(
      'RDS',
      'CreateDBInstance',
      {
        DBInstanceIdentifier: 'pl-d-1-i1',
        DBClusterIdentifier: 'pl-d-1',
        Engine: 'aurora-postgresql',
        DBInstanceClass: 'db.t4g.medium',
        PubliclyAccessible: false,
        Tags: tags,
      },
      env,
    );
    const tagKeys = {
      'aws:TagKeys': ['pilotlight:managed', 'pilotlight:drill-id'],
      'aws:RequestTag/pilotlight:managed': 'true',
      'aws:RequestTag/pilotlight:drill-id': 'd-1',
    };
    expect(requests.map((r) => [r.action, r.resource, r.context, r.taggedResource])).toEqual([
      [
        'rds:CreateDBInstance',
        'arn:aws:rds:us-west-2:333333333333:db:pl-d-1-i1',
        {
          ...tagKeys,
          'rds:DatabaseEngine': 'aurora-postgresql',
          'rds:DatabaseClass': 'db.t4g.medium',
          'rds:PubliclyAccessible': 'false',
        },
        undefined,
      ],
      [
        'rds:CreateDBInstance',
        'arn:aws:rds:us-west-2:333333333333:cluster:pl-d-1',
        tagKeys,
        'arn:aws:rds:us-west-2:333333333333:cluster:pl-d-1',
      ],
      [
        'rds:AddTagsToResource',
        'arn:aws:rds:us-west-2:333333333333:db:pl-d-1-i1',
        tagKeys,
        'arn:aws:rds:us-west-2:333333333333:db:pl-d-1-i1',
      ],
    ]);
  });

  it('checks a cluster delete against the cluster (its tags), and the final snapshot only when one is asked for', () => {
    const cluster = 'arn:aws:rds:us-west-2:333333333333:cluster:pl-9';
    expect(
      iamRequestsFor('RDS', 'DeleteDBCluster', { DBClusterIdentifier: 'pl-9', SkipFinalSnapshot: true }, env),
    ).toEqual([
      {
        action: 'rds:DeleteDBCluster',
        resource: cluster,
        resourceAccount: '333333333333',
        context: {},
        taggedResource: cluster,
      },
    ]);
    const withSnapshot = iamRequestsFor(
      'RDS',
      'DeleteDBCluster',
      { DBClusterIdentifier: 'pl-9', FinalDBSnapshotIdentifier: 'final-9' },
      env,
    );
    expect(withSnapshot.map((r) => r.resource)).toEqual([
      cluster,
      'arn:aws:rds:us-west-2:333333333333:cluster-snapshot:final-9',
    ]);
    expect(
      iamRequestsFor('RDS', 'DescribeDBClusters', { DBClusterIdentifier: 'pl-9' }, env).map(
        (r) => r.resource,
      ),
    ).toEqual([cluster]);
  });

  it('asks for sts:AssumeRole on the role, with the ExternalId and the trust policy', () => {
    const [request] = iamRequestsFor(
      'STS',
      'AssumeRole',
      { RoleArn: 'arn:aws:iam::333333333333:role/dr', ExternalId: 'x-1', RoleSessionName: 'pilotlight' },
      env,
    );
    expect(request).toEqual({
      action: 'sts:AssumeRole',
      resource: 'arn:aws:iam::333333333333:role/dr',
      resourceAccount: '333333333333',
      context: { 'sts:ExternalId': 'x-1', 'sts:RoleSessionName': 'pilotlight' },
      resourcePolicyOf: 'arn:aws:iam::333333333333:role/dr',
    });
  });

  it('authorizes a restore on the recovery point (its snapshot ARN) and the role passed to AWS Backup', () => {
    const point = 'arn:aws:rds:us-west-2:333333333333:snapshot:awsbackup:copyjob-1';
    const requests = iamRequestsFor(
      'Backup',
      'StartRestoreJob',
      { RecoveryPointArn: point, IamRoleArn: 'arn:aws:iam::333333333333:role/restore' },
      env,
    );
    expect(
      requests.map((r) => [r.action, r.resource, r.resourceAccount, r.context, r.resourcePolicyOf]),
    ).toEqual([
      [
        'backup:StartRestoreJob',
        point,
        '333333333333',
        {},
        'arn:aws:backup:us-west-2:333333333333:backup-vault:pilotlight-dr',
      ],
      [
        'iam:PassRole',
        'arn:aws:iam::333333333333:role/restore',
        '333333333333',
        { 'iam:PassedToService': 'backup.amazonaws.com' },
        undefined,
      ],
    ]);
    // An EBS recovery point's ARN has no account: the caller's (the vault's) is the resource's.
    const [ebs] = iamRequestsFor(
      'Backup',
      'DescribeRecoveryPoint',
      { RecoveryPointArn: 'arn:aws:ec2:us-west-2::snapshot/snap-1' },
      env,
    );
    expect(ebs?.resourceAccount).toBe('333333333333');
  });

  it('gives tagging calls aws:RequestTag/* and aws:TagKeys, and the resource whose tags apply', () => {
    const [rds] = iamRequestsFor(
      'RDS',
      'AddTagsToResource',
      {
        ResourceName: 'arn:aws:rds:us-west-2:333333333333:db:pl-1',
        Tags: [
          { Key: 'pilotlight:managed', Value: 'true' },
          { Key: 'pilotlight:drill-id', Value: 'd-1' },
        ],
      },
      env,
    );
    expect(rds?.context).toEqual({
      'aws:TagKeys': ['pilotlight:managed', 'pilotlight:drill-id'],
      'aws:RequestTag/pilotlight:managed': 'true',
      'aws:RequestTag/pilotlight:drill-id': 'd-1',
    });
    expect(rds?.taggedResource).toBe('arn:aws:rds:us-west-2:333333333333:db:pl-1');
    const ec2 = iamRequestsFor(
      'EC2',
      'CreateTags',
      { Resources: ['vol-1', 'vol-2'], Tags: [{ Key: 'pilotlight:managed', Value: 'true' }] },
      env,
    );
    expect(ec2.map((r) => [r.action, r.resource, r.taggedResource])).toEqual([
      [
        'ec2:CreateTags',
        'arn:aws:ec2:us-west-2:333333333333:volume/vol-1',
        'arn:aws:ec2:us-west-2:333333333333:volume/vol-1',
      ],
      [
        'ec2:CreateTags',
        'arn:aws:ec2:us-west-2:333333333333:volume/vol-2',
        'arn:aws:ec2:us-west-2:333333333333:volume/vol-2',
      ],
    ]);
  });

  it('checks deletes against the resource, so its tags decide', () => {
    const [volume] = iamRequestsFor('EC2', 'DeleteVolume', { VolumeId: 'vol-9' }, env);
    expect(volume).toMatchObject({
      action: 'ec2:DeleteVolume',
      resource: 'arn:aws:ec2:us-west-2:333333333333:volume/vol-9',
      taggedResource: 'arn:aws:ec2:us-west-2:333333333333:volume/vol-9',
    });
    const [db] = iamRequestsFor('RDS', 'DeleteDBInstance', { DBInstanceIdentifier: 'pl-9' }, env);
    expect(db).toMatchObject({
      action: 'rds:DeleteDBInstance',
      taggedResource: 'arn:aws:rds:us-west-2:333333333333:db:pl-9',
    });
  });

  it('uses "*" where AWS offers no resource-level permission', () => {
    for (const [service, operation, action] of [
      ['EC2', 'DescribeVolumes', 'ec2:DescribeVolumes'],
      ['Backup', 'DescribeRestoreJob', 'backup:DescribeRestoreJob'],
      ['ResourceGroupsTaggingAPI', 'GetResources', 'tag:GetResources'],
      ['SFN', 'SendTaskSuccess', 'states:SendTaskSuccess'],
    ] as const) {
      expect(iamRequestsFor(service, operation, {}, env).map((r) => [r.action, r.resource])).toEqual([
        [action, '*'],
      ]);
    }
  });

  it("adds the retention permission and the KMS key S3 uses on the caller's behalf to an evidence upload", () => {
    const requests = iamRequestsFor(
      'S3',
      'PutObject',
      {
        Bucket: 'evidence-bucket',
        Key: 'evidence/d-1.json',
        ObjectLockMode: 'COMPLIANCE',
        ObjectLockRetainUntilDate: new Date(Date.now() + 365 * 86_400_000),
      },
      { ...env, account: '222222222222', region: 'us-east-2' },
    );
    expect(requests.map((r) => [r.action, r.resource, r.resourcePolicyOf, r.via])).toEqual([
      [
        's3:PutObject',
        'arn:aws:s3:::evidence-bucket/evidence/d-1.json',
        'arn:aws:s3:::evidence-bucket',
        undefined,
      ],
      [
        's3:PutObjectRetention',
        'arn:aws:s3:::evidence-bucket/evidence/d-1.json',
        'arn:aws:s3:::evidence-bucket',
        undefined,
      ],
      [
        'kms:GenerateDataKey',
        'arn:aws:kms:us-east-2:222222222222:key/k-1',
        'arn:aws:kms:us-east-2:222222222222:key/k-1',
        's3',
      ],
    ]);
    expect(requests[1]?.context).toMatchObject({
      's3:object-lock-mode': 'COMPLIANCE',
      's3:object-lock-remaining-retention-days': '365',
    });
    expect(requests[2]?.context).toEqual({
      'kms:ViaService': 's3.us-east-2.amazonaws.com',
      'kms:CallerAccount': '222222222222',
    });
  });

  it('checks a publish against the topic policy and the topic key', () => {
    const topic = 'arn:aws:sns:us-east-2:222222222222:alerts';
    const requests = iamRequestsFor(
      'SNS',
      'Publish',
      { TopicArn: topic },
      { ...env, account: '222222222222' },
    );
    expect(requests.map((r) => [r.action, r.resource, r.resourcePolicyOf])).toEqual([
      ['sns:Publish', topic, topic],
      [
        'kms:GenerateDataKey',
        'arn:aws:kms:us-east-2:222222222222:key/k-1',
        'arn:aws:kms:us-east-2:222222222222:key/k-1',
      ],
      [
        'kms:Decrypt',
        'arn:aws:kms:us-east-2:222222222222:key/k-1',
        'arn:aws:kms:us-east-2:222222222222:key/k-1',
      ],
    ]);
  });

  it('evaluates DynamoDB calls (passed through to dynalite) against the table ARN', () => {
    expect(
      iamRequestsFor(
        'DynamoDB',
        'UpdateItem',
        { TableName: 'pilotlight-sandbox-state' },
        { ...env, account: '222222222222', region: 'us-east-2' },
      ),
    ).toEqual([
      {
        action: 'dynamodb:UpdateItem',
        resource: 'arn:aws:dynamodb:us-east-2:222222222222:table/pilotlight-sandbox-state',
        resourceAccount: '222222222222',
        context: {},
        // A restored table's tags apply (the state table has none in the world).
        taggedResource: 'arn:aws:dynamodb:us-east-2:222222222222:table/pilotlight-sandbox-state',
      },
    ]);
  });

  it("checks a restored table's tagging and deletion against the table, so its tags decide", () => {
    // As the sandbox resolves a name no resource has yet: the ARN it would have.
    const dr: RequestEnvironment = {
      ...env,
      resourceArn: (_kind, idOrArn, _account, _region, fallback) =>
        idOrArn.startsWith('arn:') ? idOrArn : fallback,
    };
    const table = 'arn:aws:dynamodb:us-west-2:333333333333:table/pl-dynamodb-1';

    const tagging = iamRequestsFor(
      'DynamoDB',
      'TagResource',
      { ResourceArn: table, Tags: [{ Key: 'pilotlight:managed', Value: 'true' }] },
      dr,
    );
    const deleting = iamRequestsFor('DynamoDB', 'DeleteTable', { TableName: 'pl-dynamodb-1' }, dr);

    expect(tagging).toEqual([
      {
        action: 'dynamodb:TagResource',
        resource: table,
        resourceAccount: '333333333333',
        context: { 'aws:TagKeys': ['pilotlight:managed'], 'aws:RequestTag/pilotlight:managed': 'true' },
        taggedResource: table,
      },
    ]);
    expect(deleting).toEqual([
      {
        action: 'dynamodb:DeleteTable',
        resource: table,
        resourceAccount: '333333333333',
        context: {},
        taggedResource: table,
      },
    ]);
  });
});
