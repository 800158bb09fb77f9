import { describe, expect, it } from 'vitest';
import { appliesTo } from '../../sandbox/iam.js';

/**
 * The sandbox's IAM evaluates only the statements that can match a request's action (sandbox/iam.ts
 * policiesFor). A statement wrongly dropped would let a Deny go unseen, so the matching is IAM's own.
 */
describe('the statements the sandbox evaluates for an action', () => {
  it('keeps a statement whose Action names the action, as a string or a list, in any case', () => {
    expect(
      appliesTo({ Effect: 'Allow', Action: 'rds:DeleteDBInstance', Resource: '*' }, 'rds:DeleteDBInstance'),
    ).toBe(true);
    expect(
      appliesTo({ Effect: 'Deny', Action: ['s3:GetObject', 'RDS:deletedbinstance'] }, 'rds:DeleteDBInstance'),
    ).toBe(true);
    expect(appliesTo({ Effect: 'Allow', Action: ['rds:DescribeDBInstances'] }, 'rds:DeleteDBInstance')).toBe(
      false,
    );
  });

  it('matches wildcards as IAM does: * any run of characters, ? exactly one, other characters literally', () => {
    expect(appliesTo({ Effect: 'Deny', Action: 'rds:Delete*' }, 'rds:DeleteDBCluster')).toBe(true);
    expect(appliesTo({ Effect: 'Deny', Action: '*' }, 'backup:StartRestoreJob')).toBe(true);
    expect(appliesTo({ Effect: 'Deny', Action: 'ec2:?eleteVolume' }, 'ec2:DeleteVolume')).toBe(true);
    expect(appliesTo({ Effect: 'Deny', Action: 'ec2:?Volume' }, 'ec2:DeleteVolume')).toBe(false);
    expect(appliesTo({ Effect: 'Deny', Action: 'rds:Delete.*' }, 'rds:DeleteDBCluster')).toBe(false);
    expect(appliesTo({ Effect: 'Deny', Action: 'rds:Delete*' }, 'rds:ModifyDBInstance')).toBe(false);
  });

  it('keeps a NotAction statement for every action it does not name, and drops it for those it names', () => {
    const statement = { Effect: 'Deny', NotAction: ['tag:GetResources', 'ec2:Describe*'], Resource: '*' };
    expect(appliesTo(statement, 'ec2:DeleteVolume')).toBe(true);
    expect(appliesTo(statement, 'ec2:DescribeVolumes')).toBe(false);
    expect(appliesTo(statement, 'tag:getresources')).toBe(false);
  });
});
