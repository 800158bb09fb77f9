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
 * Mode validate (docs/validation.md): the checks read the tables AWS Backup restore testing restores, which it
 * names `awsbackup-restore-test-…`. Read only, on those names in the DR account only, and nothing that tags or
 * deletes: restore testing deletes its own restore.
 */
describe('the reads of restore testing tables', () => {
  const restoreTest = orchestrator.filter(
    (s) => s.Effect === 'Allow' && JSON.stringify(s.Resource ?? '').includes('awsbackup-restore-test-'),
  );

  // The workflow test (test/workflow/restore-testing.test.ts) proves these reads are all the checks need: no
  // IAM denial there.
  it('are the DynamoDB checks and data checks reads, on awsbackup-restore-test-* tables of the DR account only', () => {
    expect(restoreTest.map((s) => s.Sid)).toEqual(['ReadRestoreTestTables']);
    expect(asList(restoreTest[0]?.Action).sort()).toEqual(
      [
        'dynamodb:DescribeContinuousBackups',
        'dynamodb:DescribeTable',
        'dynamodb:GetItem',
        'dynamodb:ListTagsOfResource',
        'dynamodb:Scan',
      ].sort(),
    );
    expect(restoreTest[0]?.Resource).toEqual({
      'Fn::Sub':
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub string, not a JS template
        'arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/awsbackup-restore-test-*',
    });
    for (const statement of teardown)
      expect(JSON.stringify(statement.Resource ?? '')).not.toContain('awsbackup-restore-test-');
  });
});
