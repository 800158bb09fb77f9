import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { iamRequestsFor, type RequestEnvironment } from '../../sandbox/iam-requests.js';
import { asList, readYamlTemplate, repoRoot, roleStatements, type Statement } from './lib.js';

/**
 * Each resource type's module (functions/resources/*.ts) calls its service through the DR account's roles:
 * every call must be granted there — reads and tagging to the DR role, deletes to the teardown role only, and
 * every delete explicitly denied on a failover. Derived from the modules' own code, so a new type or a new
 * call cannot land without its permission.
 */
const env: RequestEnvironment = {
  account: '333333333333',
  region: 'us-west-2',
  centralAccount: '222222222222',
  encryptionKeyOf: () => undefined,
  resourceArn: (_kind, id, _account, _region, fallback) => (id.startsWith('arn:') ? id : fallback),
  vaultOfRecoveryPoint: () => undefined,
};

/** `Service.Operation` of every `new XCommand(` in a module, the service named by the client it imports. */
function callsOf(source: string): string[] {
  const calls = new Set<string>();
  for (const [, names = '', from] of source.matchAll(
    /import\s*{([^}]*)}\s*from\s*'@aws-sdk\/(client-[a-z0-9-]+)'/g,
  )) {
    const imported = names.split(',').map((n) => n.trim().replace(/^type\s+/, ''));
    const client = imported.find((name) => /^[A-Za-z0-9]+Client$/.test(name));
    if (!client) throw new Error(`a module imports commands from @aws-sdk/${from} without its client`);
    const service = client.replace(/Client$/, '');
    for (const name of imported) {
      const operation = name.match(/^(\w+)Command$/)?.[1];
      if (operation && new RegExp(`new ${name}\\(`).test(source)) calls.add(`${service}.${operation}`);
    }
  }
  return [...calls].sort();
}

const moduleFiles = readdirSync(join(repoRoot, 'functions', 'resources')).filter(
  (file) => file.endsWith('.ts') && file !== 'index.ts' && file !== 'types.ts',
);
const template = readYamlTemplate('accounts/dr-account.yaml');
const orchestrator = roleStatements(template, 'DrOrchestratorRole');
const teardown = roleStatements(template, 'DrTeardownRole');
const allows = (statements: Statement[], action: string) =>
  statements.some((s) => s.Effect === 'Allow' && asList(s.Action).includes(action));
const isDelete = (action: string) => /^[a-z0-9-]+:(Delete|Terminate)/.test(action);

describe.each(moduleFiles)('functions/resources/%s', (file) => {
  const source = readFileSync(join(repoRoot, 'functions', 'resources', file), 'utf8');
  const actions = [
    ...new Set(
      callsOf(source).flatMap((call) => {
        const [service = '', operation = ''] = call.split('.');
        return iamRequestsFor(service, operation, {}, env).map((request) => request.action);
      }),
    ),
  ].sort();

  it('has every call granted in the DR account: reads and tags to the DR role, deletes to the teardown role', () => {
    const missing = actions.filter((action) =>
      isDelete(action)
        ? !allows(teardown, action)
        : !allows(orchestrator, action) && !allows(teardown, action),
    );
    expect(missing).toEqual([]);
  });

  it('deletes only through the teardown role, never a failover', () => {
    const deletes = actions.filter(isDelete);
    expect(deletes.filter((action) => allows(orchestrator, action))).toEqual([]);
    const neverFailover = teardown.find(
      (s) => s.Effect === 'Deny' && JSON.stringify(s.Condition ?? {}).includes('failover'),
    );
    expect(deletes.filter((action) => !asList(neverFailover?.Action).includes(action))).toEqual([]);
  });
});

/**
 * The data checks (functions/lib/dynamodb-checks.ts, s3-checks.ts) run with the DR role's clients: every call
 * they make is a read the DR role is granted on pl-* tables and buckets, and none is a delete.
 */
describe('the DynamoDB and S3 data checks', () => {
  const documentCommands: Record<string, string> = { Get: 'GetItem', Scan: 'Scan', Query: 'Query' };
  const calls = ['dynamodb-checks.ts', 's3-checks.ts'].flatMap((file) => {
    const source = readFileSync(join(repoRoot, 'functions', 'lib', file), 'utf8');
    const documentCalls = [...source.matchAll(/new (\w+)Command\(/g)]
      .map(([, name = '']) => documentCommands[name])
      .filter((operation) => operation !== undefined && source.includes('@aws-sdk/lib-dynamodb'))
      .map((operation) => `DynamoDB.${operation}`);
    return [...new Set([...callsOf(source), ...documentCalls])];
  });

  it('are granted to the DR role, on drill-named tables and buckets only', () => {
    expect(calls.sort()).toEqual(['DynamoDB.GetItem', 'DynamoDB.Scan', 'S3.GetObject', 'S3.ListObjectsV2']);
    for (const call of calls) {
      const [service = '', operation = ''] = call.split('.');
      for (const request of iamRequestsFor(service, operation, {}, env)) {
        const granted = orchestrator.filter(
          (s) => s.Effect === 'Allow' && asList(s.Action).includes(request.action),
        );
        expect(granted, request.action).not.toEqual([]);
        expect(JSON.stringify(granted.map((s) => s.Resource))).toMatch(/(table\/pl-\*|arn:aws:s3:::pl-\*)/);
        expect(isDelete(request.action)).toBe(false);
      }
    }
  });
});

/**
 * Mode validate (docs/validation.md): the checks read what AWS Backup restore testing restores, which it names
 * `awsbackup-restore-test-…`. Read only, on those names in the DR account only, and nothing that tags or
 * deletes: restore testing deletes its own restore. The one change: an RDS copy's own master password, only on
 * instances that carry restore testing's `awsbackup-restore-test` tag.
 */
describe('the grants on restore testing copies', () => {
  const restoreTest = orchestrator.filter(
    (s) => s.Effect === 'Allow' && JSON.stringify(s.Resource ?? '').includes('awsbackup-restore-test'),
  );
  const byName = (sid: string) => restoreTest.find((s) => s.Sid === sid);
  const resources = (statement: Statement | undefined) =>
    asList(statement?.Resource).map((r) =>
      typeof r === 'string' ? r : String((r as { 'Fn::Sub'?: unknown })['Fn::Sub']),
    );

  // The workflow test (test/workflow/restore-testing.test.ts) proves these grants are all the checks need: no
  // IAM denial there.
  it('are exactly the DynamoDB and RDS checks reads and the RDS password, nothing more', () => {
    expect(restoreTest.map((s) => s.Sid).sort()).toEqual(
      [
        'ReadRestoreTestTables',
        'ReadRestoreTestDbInstances',
        'GiveRestoreTestCopiesTheirOwnPassword',
        'ReadRestoreTestBuckets',
        'ReadRestoreTestObjects',
      ].sort(),
    );
    expect(asList(byName('ReadRestoreTestTables')?.Action).sort()).toEqual(
      [
        'dynamodb:DescribeContinuousBackups',
        'dynamodb:DescribeTable',
        'dynamodb:GetItem',
        'dynamodb:ListTagsOfResource',
        'dynamodb:Scan',
      ].sort(),
    );
    expect(asList(byName('ReadRestoreTestDbInstances')?.Action).sort()).toEqual(
      ['rds:DescribeDBInstances', 'rds:ListTagsForResource'].sort(),
    );
    expect(asList(byName('GiveRestoreTestCopiesTheirOwnPassword')?.Action)).toEqual(['rds:ModifyDBInstance']);
    expect(asList(byName('ReadRestoreTestBuckets')?.Action).sort()).toEqual(
      [
        's3:GetBucketPublicAccessBlock',
        's3:GetBucketTagging',
        's3:GetBucketVersioning',
        's3:GetEncryptionConfiguration',
        's3:ListBucket',
      ].sort(),
    );
    expect(asList(byName('ReadRestoreTestObjects')?.Action)).toEqual(['s3:GetObject']);
  });

  it('name no wildcard action and only restore testing names of the DR account', () => {
    for (const statement of restoreTest) {
      for (const action of asList(statement.Action)) expect(action).not.toContain('*');
      for (const resource of resources(statement)) {
        if (resource.startsWith('arn:aws:s3:::')) {
          // A bucket ARN names no account: the statement pins the DR account with aws:ResourceAccount.
          expect(resource).toMatch(/^arn:aws:s3:::awsbackup-restore-test-\*(\/\*)?$/);
          expect(statement.Condition).toEqual({
            StringEquals: { 'aws:ResourceAccount': { Ref: 'AWS::AccountId' } },
          });
          continue;
        }
        expect(resource).toMatch(/^arn:\$\{AWS::Partition\}:[a-z]+:\$\{AWS::Region\}:\$\{AWS::AccountId\}:/);
        expect(resource).toMatch(/[:/]awsbackup-restore-test-\*$/);
      }
      for (const action of asList(statement.Action)) {
        expect(isDelete(action)).toBe(false);
        expect(action).not.toMatch(/:(Add|Remove|Create|Delete)?Tag|:TagResource|:UntagResource/);
      }
    }
  });

  it("let the RDS password be set only on instances that carry restore testing's tag", () => {
    expect(byName('GiveRestoreTestCopiesTheirOwnPassword')?.Condition).toEqual({
      Null: { 'aws:ResourceTag/awsbackup-restore-test': 'false' },
    });
    expect(resources(byName('GiveRestoreTestCopiesTheirOwnPassword'))).toEqual([
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub string, not a JS template
      'arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:db:awsbackup-restore-test-*',
    ]);
  });

  it('reach the teardown role nowhere', () => {
    for (const statement of teardown)
      expect(JSON.stringify(statement.Resource ?? '')).not.toContain('awsbackup-restore-test');
  });

  it('let the probe read the managed secret of a restore testing instance, and of nothing else by that name', () => {
    const probe = roleStatements(template, 'ProbeRole').filter((s) =>
      JSON.stringify(s.Condition ?? '').includes('awsbackup-restore-test'),
    );
    expect(probe.map((s) => [s.Sid, asList(s.Action)])).toEqual([
      ['ReadDrillCopySecrets', ['secretsmanager:GetSecretValue']],
    ]);
    expect(JSON.stringify(probe[0]?.Condition)).toContain(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub string, not a JS template
      'arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:db:awsbackup-restore-test-*',
    );
  });
});
