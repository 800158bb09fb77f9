import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  allStatements,
  asList,
  cfnLint,
  compareWithExceptions,
  guardViolations,
  props,
  readYamlTemplate,
  repoRoot,
  resourcesOfType,
  roleStatements,
} from './lib.js';

// Example parameter values, for the checks that need a concrete ARN.
const PARAMETERS = {
  CentralAccountId: '222222222222',
  DrAccountId: '333333333333',
  OrganizationId: 'o-a1b2c3d4e5',
  PrimaryEventBusArn: 'arn:aws:events:us-east-2:222222222222:event-bus/default',
  StandbyEventBusArn: 'arn:aws:events:us-west-2:222222222222:event-bus/default',
};

describe.each(['dr-account', 'source-account'])('accounts/%s.yaml', (name) => {
  const file = join(repoRoot, 'accounts', `${name}.yaml`);
  const template = readYamlTemplate(`accounts/${name}.yaml`);

  it('is valid against the current CloudFormation resource specification', () => {
    expect(cfnLint(file, PARAMETERS)).toEqual([]);
  }, 30_000);

  it('breaks no Control Tower guard rule except the reviewed exceptions', () => {
    const { unlisted, stale } = compareWithExceptions(name, guardViolations(file));
    expect(unlisted).toEqual([]);
    expect(stale).toEqual([]);
  }, 60_000);

  it('allows no wildcard action and no NotAction', () => {
    const allows = allStatements(template).filter(({ statement }) => statement.Effect === 'Allow');
    expect(allows.length).toBeGreaterThan(5);
    const wildcards = allows.filter(
      ({ statement }) => statement.NotAction || asList(statement.Action).some((a) => a.includes('*')),
    );
    expect(wildcards).toEqual([]);
  });

  it('lets only Pilotlight roles of the central account in, with the external id', () => {
    const assumable = resourcesOfType(template, 'AWS::IAM::Role').filter(([, role]) =>
      JSON.stringify(role.Properties?.AssumeRolePolicyDocument).includes(':root'),
    );
    expect(assumable.length).toBe(1);
    for (const [id] of assumable) {
      const trust = props(template, id).AssumeRolePolicyDocument as {
        Statement: { Condition: { ArnLike: { 'aws:PrincipalArn': unknown[] } } }[];
      };
      const condition = trust.Statement[0]?.Condition ?? { ArnLike: { 'aws:PrincipalArn': [] } };
      expect(condition).toMatchObject({ StringEquals: { 'sts:ExternalId': { Ref: 'ExternalId' } } });
      const principals = condition.ArnLike['aws:PrincipalArn'];
      expect(principals.length).toBeGreaterThan(0);
      for (const principal of principals)
        expect(JSON.stringify(principal)).toMatch(/role\/pilotlight-\$\{StageName\}-[a-zA-Z]+-\*/);
    }
  });
});

describe('the DR account', () => {
  const template = readYamlTemplate('accounts/dr-account.yaml');
  const statements = roleStatements(template, 'DrOrchestratorRole');

  it('deletes and describes only resources tagged pilotlight:managed=true', () => {
    const deleting = statements.filter((s) => asList(s.Action).some((a) => /Delete/.test(a)));
    const deletes = deleting.flatMap((s) => asList(s.Action)).filter((a) => /Delete/.test(a));
    expect(deletes.sort()).toEqual(['ec2:DeleteVolume', 'rds:DeleteDBInstance']);
    for (const statement of deleting) {
      expect(statement.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/pilotlight:managed': 'true' } });
    }
  });

  it('grants "*" resources only to the actions that have no resource-level permissions', () => {
    const unscoped = statements.filter((s) => s.Resource === '*').flatMap((s) => asList(s.Action));
    // Restore-job status, the EC2 describe call and the orphan sweeper's tag search: none reads data or
    // changes anything, and AWS offers no resource-level permission for any of them.
    expect(unscoped.sort()).toEqual(['backup:DescribeRestoreJob', 'ec2:DescribeVolumes', 'tag:GetResources']);
  });

  it('adds no tag other than pilotlight: ones', () => {
    for (const statement of statements.filter((s) =>
      asList(s.Action).some((a) => /AddTags|CreateTags/.test(a)),
    )) {
      expect(statement.Condition).toEqual({ 'ForAllValues:StringLike': { 'aws:TagKeys': ['pilotlight:*'] } });
    }
  });

  it('passes only the restore role, only to AWS Backup', () => {
    const pass = statements.find((s) => asList(s.Action).includes('iam:PassRole'));
    expect(pass?.Resource).toEqual({ 'Fn::GetAtt': ['BackupRestoreRole', 'Arn'] });
    expect(pass?.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'backup.amazonaws.com' } });
  });

  it('has a DR vault the organization can copy into, encrypted with a rotating key', () => {
    const vault = props(template, 'DrVault');
    const [copyIn] = (vault.AccessPolicy as { Statement: Record<string, unknown>[] }).Statement;
    expect(copyIn).toMatchObject({
      Effect: 'Allow',
      Action: 'backup:CopyIntoBackupVault',
      Condition: { StringEquals: { 'aws:PrincipalOrgID': { Ref: 'OrganizationId' } } },
    });
    expect(props(template, 'DrVaultKey').EnableKeyRotation).toBe(true);
  });

  it('restores into a network nothing outside can reach', () => {
    const types = new Set(Object.values(template.Resources).map((r) => r.Type));
    for (const type of [
      'AWS::EC2::InternetGateway',
      'AWS::EC2::NatGateway',
      'AWS::EC2::VPCPeeringConnection',
      'AWS::EC2::SecurityGroupIngress',
    ]) {
      expect(types.has(type), type).toBe(false);
    }
    expect(props(template, 'RestoreSecurityGroup').SecurityGroupIngress).toBeUndefined();
    for (const [, subnet] of resourcesOfType(template, 'AWS::EC2::Subnet'))
      expect(subnet.Properties?.MapPublicIpOnLaunch).toBe(false);
    expect(props(template, 'RestoreDbSubnetGroup').SubnetIds).toEqual([
      { Ref: 'RestoreSubnetA' },
      { Ref: 'RestoreSubnetB' },
    ]);
  });
});

describe('a source (production) account', () => {
  const template = readYamlTemplate('accounts/source-account.yaml');

  it('grants no role in the account any delete of any kind', () => {
    const actions = resourcesOfType(template, 'AWS::IAM::Role')
      .flatMap(([id]) => roleStatements(template, id))
      .filter((statement) => statement.Effect === 'Allow')
      .flatMap((statement) => asList(statement.Action));
    expect(actions.length).toBeGreaterThan(10);
    expect(actions.filter((a) => /Delete|Remove|Terminate|Purge/i.test(a))).toEqual([]);
  });

  it('denies the role Pilotlight assumes every destructive action, explicitly', () => {
    const deny = roleStatements(template, 'SourceOrchestratorRole').find((s) => s.Effect === 'Deny');
    expect(deny?.Resource).toBe('*');
    const denied = asList(deny?.Action);
    for (const action of [
      'backup:DeleteRecoveryPoint',
      'rds:DeleteDBInstance',
      'ec2:DeleteVolume',
      'ec2:DeleteSnapshot',
    ])
      expect(denied).toContain(action);
    expect(denied.filter((a) => a.includes('*'))).toEqual([]);
  });

  it('lets the DR account use the backup key only through grants for AWS resources', () => {
    const key = props(template, 'SourceBackupKey');
    expect(key.EnableKeyRotation).toBe(true);
    const statements = (
      key.KeyPolicy as { Statement: { Sid: string; Action: unknown; Condition?: unknown }[] }
    ).Statement;
    expect(statements.find((s) => s.Sid === 'DrAccountGrantsToAwsBackupOnly')?.Condition).toEqual({
      Bool: { 'kms:GrantIsForAWSResource': 'true' },
    });
  });

  it('forwards AWS Backup job events to the central bus', () => {
    const rule = props(template, 'BackupEventsForwardRule');
    expect(rule.EventPattern).toEqual({
      source: ['aws.backup'],
      'detail-type': ['Backup Job State Change', 'Copy Job State Change'],
    });
    expect(asList(rule.Targets as { Arn: unknown }[]).map((t) => t.Arn)).toEqual([
      { Ref: 'PrimaryEventBusArn' },
    ]);
  });
});
