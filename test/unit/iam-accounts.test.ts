import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadAccountStack } from '../../sandbox/iam-accounts.js';
import { projectRoot } from '../../sandbox/serverless-config.js';

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

/** A template in short form (!Ref, !Sub, !GetAtt, !If, !Equals, !Not), as CloudFormation templates often are. */
const SHORT_FORM = `
Parameters:
  CentralAccountId: {Type: String}
  ExternalId: {Type: String, Default: ext-default}
  RoleName: {Type: String, Default: short-role}
  Make: {Type: String, Default: 'true'}
Conditions:
  IsHome: !Equals [!Ref Make, 'true']
  NotHome: !Not [!Equals [!Ref Make, 'true']]
Resources:
  Role:
    Type: AWS::IAM::Role
    Condition: IsHome
    Properties:
      RoleName: !Ref RoleName
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Principal: {AWS: !Sub 'arn:\${AWS::Partition}:iam::\${CentralAccountId}:root'}
            Action: sts:AssumeRole
            Condition: {StringEquals: {sts:ExternalId: !Ref ExternalId}}
      Policies:
        - PolicyName: p
          PolicyDocument:
            Version: '2012-10-17'
            Statement:
              - Effect: Allow
                Action: [kms:Decrypt]
                Resource: !GetAtt Key.Arn
              - Effect: Allow
                Action: [backup:DescribeRecoveryPoint]
                Resource: !If [NotHome, '*', !GetAtt [Vault, BackupVaultArn]]
  Other:
    Type: AWS::IAM::Role
    Condition: NotHome
    Properties:
      AssumeRolePolicyDocument: {Version: '2012-10-17', Statement: []}
  Key:
    Type: AWS::KMS::Key
    Properties:
      KeyPolicy: {Version: '2012-10-17', Statement: [{Effect: Allow, Principal: {AWS: !Sub 'arn:aws:iam::\${AWS::AccountId}:root'}, Action: 'kms:Decrypt', Resource: '*'}]}
  Vault:
    Type: AWS::Backup::BackupVault
    Properties:
      BackupVaultName: v1
      AccessPolicy: {Version: '2012-10-17', Statement: [{Effect: Deny, Principal: {AWS: '*'}, Action: backup:DeleteRecoveryPoint, Resource: '*'}]}
`;

describe('the account stacks, as CloudFormation would deploy them', () => {
  it('resolves parameters (by name from the Pilotlight params, else defaults), conditions and short-form intrinsics', () => {
    const root = mkdtempSync(join(tmpdir(), 'pilotlight-accounts-'));
    roots.push(root);
    writeFileSync(join(root, 'short.yaml'), SHORT_FORM);
    const stack = loadAccountStack(root, 'short.yaml', {
      account: '333333333333',
      region: 'us-west-2',
      parameters: { centralAccountId: '222222222222', externalId: 'pilotlight', unrelated: 'x' },
    });
    expect(stack.roles.map((r) => r.arn)).toEqual(['arn:aws:iam::333333333333:role/short-role']);
    expect(stack.roles[0]?.trustPolicy).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: 'arn:aws:iam::222222222222:root' },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'sts:ExternalId': 'pilotlight' } },
        },
      ],
    });
    const key = 'arn:aws:kms:us-west-2:333333333333:key/key-0000-4000-a000-000000000000';
    expect(stack.roles[0]?.policies[0]?.policy).toMatchObject({
      Statement: [
        { Action: ['kms:Decrypt'], Resource: key },
        {
          Action: ['backup:DescribeRecoveryPoint'],
          Resource: 'arn:aws:backup:us-west-2:333333333333:backup-vault:v1',
        },
      ],
    });
    expect([...stack.resourcePolicies.keys()].sort()).toEqual(
      ['arn:aws:backup:us-west-2:333333333333:backup-vault:v1', key].sort(),
    );
  });

  it('reads the DR role of accounts/dr-account.yaml with the trust the Pilotlight stack relies on', () => {
    const stack = loadAccountStack(projectRoot, 'accounts/dr-account.yaml', {
      account: '333333333333',
      region: 'us-west-2',
      parameters: {
        centralAccountId: '222222222222',
        organizationId: 'o-a1b2c3d4e5',
        externalId: 'pilotlight-dr-drills',
        stageName: 'sandbox',
        primaryRegion: 'us-east-2',
        primaryEventBusArn: 'arn:aws:events:us-east-2:222222222222:event-bus/default',
      },
    });
    const dr = stack.roles.find((r) => r.arn === 'arn:aws:iam::333333333333:role/pilotlight-dr-orchestrator');
    const trust = JSON.stringify(dr?.trustPolicy);
    expect(trust).toContain('"sts:ExternalId":"pilotlight-dr-drills"');
    expect(trust).toContain(
      'arn:aws:iam::222222222222:role/pilotlight-sandbox-startRestore-us-east-2-lambdaRole',
    );
    expect(trust).toContain(
      'arn:aws:iam::222222222222:role/pilotlight-sandbox-startRestore-us-west-2-lambdaRole',
    );
    // The read/restore role may tag only what carries no Pilotlight tag yet.
    expect(JSON.stringify(dr?.policies)).toContain('"aws:ResourceTag/pilotlight:managed":"true"');
    expect(
      stack.resourcePolicies.has('arn:aws:backup:us-west-2:333333333333:backup-vault:pilotlight-dr'),
    ).toBe(true);
  });
});
