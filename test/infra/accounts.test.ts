import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import {
  actionsOf,
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
  type Statement,
} from './lib.js';

// Example parameter values, for the checks that need a concrete ARN.
const PARAMETERS = {
  CentralAccountId: '222222222222',
  DrAccountId: '333333333333',
  OrganizationId: 'o-a1b2c3d4e5',
  PrimaryRegion: 'us-east-2',
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

  it('lets in only the exact roles of Pilotlight functions (both regions), with the external id', () => {
    const assumable = resourcesOfType(template, 'AWS::IAM::Role').filter(([, role]) =>
      JSON.stringify(role.Properties?.AssumeRolePolicyDocument).includes(':root'),
    );
    expect(assumable.length).toBe(name === 'dr-account' ? 2 : 1);
    for (const [id] of assumable) {
      const trust = props(template, id).AssumeRolePolicyDocument as { Statement: Statement[] };
      expect(trust.Statement).toHaveLength(1);
      const condition = trust.Statement[0]?.Condition ?? {};
      expect(condition.StringEquals).toEqual({ 'sts:ExternalId': { Ref: 'ExternalId' } });
      // Exact ARNs: no ArnLike, no wildcard, every function in the primary and the standby region.
      expect(Object.keys(condition).sort()).toEqual(['ArnEquals', 'StringEquals']);
      const principals = asList(condition.ArnEquals?.['aws:PrincipalArn'] as unknown[]).map((p) =>
        String((p as { 'Fn::Sub': string })['Fn::Sub']),
      );
      expect(principals.length).toBeGreaterThan(0);
      const regions = new Map<string, string[]>();
      for (const principal of principals) {
        expect(principal).not.toContain('*');
        const match = TRUSTED_ROLE.exec(principal);
        expect(match, principal).not.toBeNull();
        regions.set(match?.[1] ?? '', [...(regions.get(match?.[1] ?? '') ?? []), match?.[2] ?? ''].sort());
      }
      const standby = name === 'dr-account' ? 'AWS::Region' : 'DrRegion';
      for (const [fn, inRegions] of regions) expect(inRegions, fn).toEqual([standby, 'PrimaryRegion'].sort());
    }
  });

  it('puts aws:SourceAccount and aws:SourceArn on every service-principal trust', () => {
    const services = resourcesOfType(template, 'AWS::IAM::Role').filter(([, role]) =>
      JSON.stringify(role.Properties?.AssumeRolePolicyDocument).includes('"Service"'),
    );
    expect(services.length).toBeGreaterThanOrEqual(name === 'dr-account' ? 3 : 2);
    for (const [id, role] of services) {
      const trust = role.Properties?.AssumeRolePolicyDocument as { Statement: Statement[] };
      // Lambda sets neither key when it assumes an execution role; the probe role binds its permissions to
      // the function with lambda:SourceFunctionArn instead (the next test).
      if (JSON.stringify(trust).includes('lambda.amazonaws.com')) continue;
      for (const statement of trust.Statement) {
        expect(statement.Condition?.StringEquals?.['aws:SourceAccount'], id).toEqual({
          Ref: 'AWS::AccountId',
        });
        const sourceArn =
          statement.Condition?.ArnEquals?.['aws:SourceArn'] ??
          statement.Condition?.ArnLike?.['aws:SourceArn'];
        expect(sourceArn, id).toBeDefined();
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub string, not a JS template
        expect(JSON.stringify(sourceArn), id).toContain('${AWS::AccountId}');
      }
    }
  });

  if (name === 'dr-account')
    it('lets only the probe function itself read drill-copy secrets (lambda:SourceFunctionArn), and trusts only Lambda', () => {
      const [, role] = resourcesOfType(template, 'AWS::IAM::Role').find(([id]) => id === 'ProbeRole') ?? [];
      const trust = role?.Properties?.AssumeRolePolicyDocument as { Statement: Statement[] };
      expect(trust.Statement).toHaveLength(1);
      expect(trust.Statement[0]?.Principal).toEqual({ Service: 'lambda.amazonaws.com' });
      const policies = role?.Properties?.Policies as { PolicyDocument: { Statement: Statement[] } }[];
      const reads = policies
        .flatMap((policy) => policy.PolicyDocument.Statement)
        .filter(
          (statement) =>
            statement.Effect === 'Allow' && JSON.stringify(statement.Action).includes('secretsmanager'),
        );
      expect(reads.length).toBe(2);
      for (const statement of reads)
        expect(statement.Condition?.ArnEquals?.['lambda:SourceFunctionArn']).toEqual({
          'Fn::Sub':
            // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub string, not a JS template
            'arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:pilotlight-probe',
        });
      const [, fn] =
        resourcesOfType(template, 'AWS::Lambda::Function').find(([id]) => id === 'ProbeFunction') ?? [];
      expect(fn?.Properties?.FunctionName).toBe('pilotlight-probe');
      expect(fn?.Properties?.Role).toEqual({ 'Fn::GetAtt': ['ProbeRole', 'Arn'] });
      expect(fn?.Properties?.VpcConfig).toEqual({
        SubnetIds: [{ Ref: 'RestoreSubnetA' }, { Ref: 'RestoreSubnetB' }],
        SecurityGroupIds: [{ 'Fn::GetAtt': ['ProbeSecurityGroup', 'GroupId'] }],
      });
    });

  it('names every forwarding rule the forwarder role trusts (aws:SourceArn), and only those', () => {
    const trust = props(template, 'BackupEventsForwarderRole').AssumeRolePolicyDocument as {
      Statement: Statement[];
    };
    const trusted = asList(
      trust.Statement[0]?.Condition?.ArnEquals?.['aws:SourceArn'] as { 'Fn::Sub': string }[],
    );
    const rules = resourcesOfType(template, 'AWS::Events::Rule').map(([, rule]) =>
      String(rule.Properties?.Name),
    );
    expect(rules.length).toBe(2);
    expect(trusted.map((t) => t['Fn::Sub'].split('rule/')[1]).sort()).toEqual(rules.sort());
  });
});

/** pilotlight-<stage>-<function>-<region>-lambdaRole, the names serverless-iam-roles-per-function gives. */
const TRUSTED_ROLE =
  /^arn:\$\{AWS::Partition\}:iam::\$\{CentralAccountId\}:role\/pilotlight-\$\{StageName\}-([a-zA-Z]+)-\$\{(PrimaryRegion|AWS::Region|DrRegion)\}-lambdaRole$/;

const TAGGING =
  /^(ec2:CreateTags|rds:AddTagsToResource|dynamodb:TagResource|s3:PutBucketTagging|redshift:CreateTags|elasticfilesystem:TagResource|fsx:TagResource)$/;
const DELETING = /:Delete/;
const allowed = (statements: Statement[]) => actionsOf(statements);

describe('the DR account', () => {
  const template = readYamlTemplate('accounts/dr-account.yaml');
  const statements = roleStatements(template, 'DrOrchestratorRole');
  const teardown = roleStatements(template, 'DrTeardownRole');
  const pilotlightRoles = ['DrOrchestratorRole', 'DrTeardownRole'];

  it('has one role for read/restore/check and one for teardown, named by the Pilotlight params', () => {
    expect(props(template, 'DrOrchestratorRole').RoleName).toEqual({ Ref: 'DrRoleName' });
    expect(props(template, 'DrTeardownRole').RoleName).toEqual({ Ref: 'DrTeardownRoleName' });
    const { Parameters: parameters } = z
      .object({ Parameters: z.record(z.string(), z.object({ Default: z.unknown().optional() })) })
      .parse(template);
    expect(parameters.DrRoleName?.Default).toBe('pilotlight-dr-orchestrator');
    expect(parameters.DrTeardownRoleName?.Default).toBe('pilotlight-dr-teardown');
  });

  it('lets the read/restore/check role delete nothing, and denies it every delete explicitly', () => {
    expect(allowed(statements).filter((a) => DELETING.test(a))).toEqual([]);
    const deny = statements.find((s) => s.Effect === 'Deny' && s.Resource === '*' && !s.Condition);
    for (const action of [
      'rds:DeleteDBInstance',
      'ec2:DeleteVolume',
      'ec2:DeleteTags',
      'rds:RemoveTagsFromResource',
    ])
      expect(asList(deny?.Action)).toContain(action);
  });

  it('lets the teardown role delete only pl-* instances, clusters and volumes tagged pilotlight:managed=true', () => {
    const all = teardown.filter(
      (s) => s.Effect === 'Allow' && asList(s.Action).some((a) => DELETING.test(a)),
    );
    expect(all.flatMap((s) => asList(s.Action)).sort()).toEqual([
      'dynamodb:DeleteTable',
      'ec2:DeleteVolume',
      'elasticfilesystem:DeleteFileSystem',
      'elasticfilesystem:DeleteMountTarget',
      'fsx:DeleteFileSystem',
      'fsx:DeleteStorageVirtualMachine',
      'fsx:DeleteVolume',
      'rds:DeleteDBCluster',
      'rds:DeleteDBInstance',
      'redshift:DeleteCluster',
      's3:DeleteBucket',
      's3:DeleteObject',
      's3:DeleteObjectVersion',
    ]);
    // S3 does not evaluate bucket tags for deletes: pl-* buckets of this account only (the S3 module refuses a
    // bucket whose tags are not a drill's before it calls).
    const s3 = all.filter((s) => asList(s.Action).some((a) => a.startsWith('s3:')));
    for (const statement of s3) {
      expect(JSON.stringify(statement.Resource)).toMatch(/^"arn:aws:s3:::pl-\*(\/\*)?"$/);
      expect(statement.Condition?.StringEquals?.['aws:ResourceAccount']).toEqual({ Ref: 'AWS::AccountId' });
    }
    const deleting = all.filter((s) => !s3.includes(s));
    for (const statement of deleting) {
      expect(asList(statement.Action)).toHaveLength(1);
      expect(statement.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/pilotlight:managed': 'true' } });
    }
    const rds = deleting.find((s) => asList(s.Action).includes('rds:DeleteDBInstance'));
    expect(JSON.stringify(rds?.Resource)).toMatch(/:db:pl-\*"/);
    const clusters = deleting.find((s) => asList(s.Action).includes('rds:DeleteDBCluster'));
    expect(JSON.stringify(clusters?.Resource)).toMatch(/:cluster:pl-\*"/);
  });

  it('denies every delete of a failover restore (pilotlight:mode=failover) explicitly, in every role', () => {
    for (const id of resourcesOfType(template, 'AWS::IAM::Role').map(([roleId]) => roleId)) {
      const roleStatementsOf = roleStatements(template, id);
      const deletes = allowed(roleStatementsOf).filter((a) => DELETING.test(a));
      if (id === 'DrTeardownRole') expect(deletes.length).toBeGreaterThan(0);
      for (const action of deletes) {
        const deny = roleStatementsOf.find(
          (s) =>
            s.Effect === 'Deny' &&
            asList(s.Action).includes(action) &&
            s.Resource === '*' &&
            JSON.stringify(s.Condition) ===
              JSON.stringify({ StringEquals: { 'aws:ResourceTag/pilotlight:mode': 'failover' } }),
        );
        expect(deny, `${id} ${action}`).toBeDefined();
      }
    }
  });

  it('lets no Pilotlight role both tag and delete, and denies the teardown role every tag change', () => {
    for (const id of pilotlightRoles) {
      const actions = allowed(roleStatements(template, id));
      const tags = actions.some((a) => TAGGING.test(a));
      const deletes = actions.some((a) => DELETING.test(a));
      expect(tags && deletes, id).toBe(false);
    }
    const deny = teardown.find((s) => s.Effect === 'Deny' && asList(s.Action).includes('ec2:CreateTags'));
    expect(deny?.Resource).toBe('*');
    expect(deny?.Condition).toBeUndefined();
    expect(asList(deny?.Action).sort()).toEqual(
      [
        'ec2:CreateTags',
        'ec2:DeleteTags',
        'rds:AddTagsToResource',
        'rds:RemoveTagsFromResource',
        'dynamodb:TagResource',
        'dynamodb:UntagResource',
        's3:PutBucketTagging',
        's3:DeleteBucketTagging',
        'redshift:CreateTags',
        'redshift:DeleteTags',
      ].sort(),
    );
  });

  it('tags only resources that are not Pilotlight-tagged yet, with pilotlight: keys, marking them managed', () => {
    const tagging = statements.filter(
      (s) => s.Effect === 'Allow' && asList(s.Action).some((a) => TAGGING.test(a)),
    );
    expect([...new Set(tagging.flatMap((s) => asList(s.Action)))].sort()).toEqual([
      'dynamodb:TagResource',
      'ec2:CreateTags',
      'elasticfilesystem:TagResource',
      'fsx:TagResource',
      'rds:AddTagsToResource',
      'redshift:CreateTags',
      's3:PutBucketTagging',
    ]);
    for (const statement of tagging) {
      expect(statement.Condition?.['ForAllValues:StringLike']).toEqual({ 'aws:TagKeys': ['pilotlight:*'] });
      // Null = true: the resource has no pilotlight:managed tag, so nothing already Pilotlight's (a drill's
      // or a failover's) can be re-tagged.
      expect(statement.Condition?.Null).toEqual({ 'aws:ResourceTag/pilotlight:managed': 'true' });
      expect(statement.Condition?.StringEquals?.['aws:RequestTag/pilotlight:managed']).toBe('true');
    }
    // DB instances and the DB clusters of Aurora, DocumentDB and Neptune restores: pl-* only.
    const rds = tagging.filter((s) => asList(s.Action).includes('rds:AddTagsToResource'));
    expect(rds.map((s) => JSON.stringify(s.Resource).match(/:(db|cluster):pl-\*"/)?.[1]).sort()).toEqual([
      'cluster',
      'db',
    ]);
    // Volumes only in the restore subnet's Availability Zone.
    const ebs = tagging.find((s) => JSON.stringify(s.Resource).includes(':volume/*'));
    expect(ebs?.Condition?.StringEquals?.['ec2:AvailabilityZone']).toEqual({
      'Fn::GetAtt': ['RestoreSubnetA', 'AvailabilityZone'],
    });
  });

  it('creates DB instances only as drill instances: pl-*, marked managed, cluster engines, private, into a Pilotlight cluster', () => {
    const creating = statements.filter(
      (s) => s.Effect === 'Allow' && asList(s.Action).includes('rds:CreateDBInstance'),
    );
    const onDb = creating.find((s) => JSON.stringify(s.Resource).match(/:db:pl-\*"/));
    const onCluster = creating.find((s) => JSON.stringify(s.Resource).match(/:cluster:pl-\*"/));
    expect(creating).toHaveLength(2);
    expect(onDb?.Condition).toEqual({
      'ForAllValues:StringLike': { 'aws:TagKeys': ['pilotlight:*'] },
      StringEquals: {
        'aws:RequestTag/pilotlight:managed': 'true',
        'rds:DatabaseEngine': ['aurora-postgresql', 'aurora-mysql', 'docdb', 'neptune'],
        'rds:DatabaseClass': ['db.t4g.medium'],
      },
      Bool: { 'rds:PubliclyAccessible': 'false' },
    });
    expect(onCluster?.Condition).toEqual({
      StringEquals: {
        'aws:RequestTag/pilotlight:managed': 'true',
        'aws:ResourceTag/pilotlight:managed': 'true',
      },
    });
  });

  it('keeps AWS Backup (the restore role) from applying pilotlight: tags', () => {
    const deny = roleStatements(template, 'BackupRestoreRole').find(
      (s) => s.Effect === 'Deny' && asList(s.Action).includes('ec2:CreateTags'),
    );
    expect(asList(deny?.Action).sort()).toEqual(['ec2:CreateTags', 'rds:AddTagsToResource']);
    expect(deny?.Condition).toEqual({ 'ForAnyValue:StringLike': { 'aws:TagKeys': ['pilotlight:*'] } });
  });

  it('grants "*" resources only to the actions that have no resource-level permissions', () => {
    const unscoped = (id: string) =>
      roleStatements(template, id)
        .filter((s) => s.Effect === 'Allow' && s.Resource === '*')
        .flatMap((s) => asList(s.Action))
        .sort();
    // Restore-job status and listing, the EC2 describe calls and the orphan sweeper's tag search: none reads
    // data or changes anything, and AWS offers no resource-level permission for any of them. The verdict on a
    // restore testing job (mode validate) has no resource type either; AWS Backup takes it only for restore
    // testing jobs, final once set.
    expect(unscoped('DrOrchestratorRole')).toEqual([
      'backup:DescribeRestoreJob',
      'backup:ListRestoreJobs',
      'backup:PutRestoreValidationResult',
      'ec2:DescribeInstances',
      'ec2:DescribeVolumes',
      'fsx:DescribeFileSystems',
      'redshift:DescribeTags',
    ]);
    // fsx:DescribeVolumes and fsx:DescribeStorageVirtualMachines list an ONTAP file system's members by a
    // file-system-id filter, which names no resource.
    expect(unscoped('DrTeardownRole')).toEqual([
      'backup:DescribeRestoreJob',
      'ec2:DescribeInstances',
      'ec2:DescribeVolumes',
      'fsx:DescribeFileSystems',
      'fsx:DescribeStorageVirtualMachines',
      'fsx:DescribeVolumes',
      'redshift:DescribeTags',
      'tag:GetResources',
    ]);
    expect(unscoped('BackupRestoreRole')).toEqual([
      'ec2:DescribeImages',
      'ec2:DescribeInstances',
      'ec2:DescribeSnapshots',
      'ec2:DescribeVolumes',
      'fsx:DescribeBackups',
      'fsx:DescribeFileSystems',
    ]);
  });

  it('scopes rds:Describe* to pl-* instances and clusters, restore testing instances and AWS Backup snapshots', () => {
    const describes = resourcesOfType(template, 'AWS::IAM::Role')
      .flatMap(([id]) => roleStatements(template, id))
      .filter((s) => s.Effect === 'Allow' && asList(s.Action).some((a) => a.startsWith('rds:Describe')));
    expect(describes.length).toBeGreaterThanOrEqual(3);
    for (const statement of describes) {
      for (const resource of asList(statement.Resource as unknown[]))
        expect(JSON.stringify(resource)).toMatch(
          /:(db:pl-|cluster:pl-|db:awsbackup-restore-test-|snapshot:awsbackup:|cluster-snapshot:awsbackup:)\*"/,
        );
    }
  });

  it('passes only the restore role, only to AWS Backup', () => {
    const pass = statements.find((s) => asList(s.Action).includes('iam:PassRole'));
    expect(pass?.Resource).toEqual({ 'Fn::GetAtt': ['BackupRestoreRole', 'Arn'] });
    expect(pass?.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'backup.amazonaws.com' } });
  });

  it('has a DR vault whose access policy nobody but the administrators can change, and an optional lock', () => {
    const vault = props(template, 'DrVault');
    const statements = (vault.AccessPolicy as { Statement: Statement[] }).Statement;
    const deny = statements.find(
      (s) => s.Effect === 'Deny' && asList(s.Action).includes('backup:PutBackupVaultAccessPolicy'),
    );
    expect(deny?.Principal).toEqual({ AWS: '*' });
    expect(asList(deny?.Action)).toContain('backup:DeleteBackupVaultAccessPolicy');
    expect(asList(deny?.Action)).toContain('backup:DeleteBackupVaultLockConfiguration');
    expect(JSON.stringify(deny?.Condition)).toContain('AdministratorAccess');
    expect(vault.LockConfiguration).toEqual({
      'Fn::If': [
        'HasVaultLock',
        { MinRetentionDays: { Ref: 'VaultLockMinRetentionDays' } },
        { Ref: 'AWS::NoValue' },
      ],
    });
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
    ]) {
      expect(types.has(type), type).toBe(false);
    }
    expect(props(template, 'RestoreSecurityGroup').SecurityGroupIngress).toBeUndefined();
    // The only way in: from the data probe's security group (dr-account only; docs/validation.md).
    for (const [id, ingress] of resourcesOfType(template, 'AWS::EC2::SecurityGroupIngress')) {
      expect(ingress.Properties?.SourceSecurityGroupId, id).toEqual({
        'Fn::GetAtt': ['ProbeSecurityGroup', 'GroupId'],
      });
      expect(ingress.Properties?.CidrIp, id).toBeUndefined();
    }
    for (const [, subnet] of resourcesOfType(template, 'AWS::EC2::Subnet'))
      expect(subnet.Properties?.MapPublicIpOnLaunch).toBe(false);
    expect(props(template, 'RestoreDbSubnetGroup').SubnetIds).toEqual([
      { Ref: 'RestoreSubnetA' },
      { Ref: 'RestoreSubnetB' },
    ]);
  });
  it('lets the data probe reach only restored databases on their ports, and Secrets Manager and Redshift through their endpoints', () => {
    const restoreGroup = { 'Fn::GetAtt': ['RestoreSecurityGroup', 'GroupId'] };
    const endpointGroup = { 'Fn::GetAtt': ['SecretsManagerEndpointSecurityGroup', 'GroupId'] };
    const redshiftEndpointGroup = { 'Fn::GetAtt': ['RedshiftEndpointSecurityGroup', 'GroupId'] };
    const probe = props(template, 'ProbeSecurityGroup');
    expect(probe.SecurityGroupIngress).toBeUndefined();
    const inline = asList(probe.SecurityGroupEgress as Record<string, unknown>[]).map((rule) => [
      rule.FromPort,
      rule.ToPort,
      rule.DestinationSecurityGroupId,
      rule.CidrIp,
    ]);
    expect(inline).toEqual([
      [5432, 5432, restoreGroup, undefined],
      [3306, 3306, restoreGroup, undefined],
      [5439, 5439, restoreGroup, undefined],
    ]);
    const separate = resourcesOfType(template, 'AWS::EC2::SecurityGroupEgress').map(
      ([, rule]) => rule.Properties,
    );
    expect(separate).toEqual([
      expect.objectContaining({ FromPort: 443, ToPort: 443, DestinationSecurityGroupId: endpointGroup }),
      expect.objectContaining({
        FromPort: 443,
        ToPort: 443,
        DestinationSecurityGroupId: redshiftEndpointGroup,
      }),
    ]);
    // The restore group lets the probe in on exactly the database ports it may leave on.
    const ingress = resourcesOfType(template, 'AWS::EC2::SecurityGroupIngress')
      .map(([, rule]) => rule.Properties)
      .filter((rule) => JSON.stringify(rule?.GroupId) === JSON.stringify(restoreGroup))
      .map((rule) => [rule?.FromPort, rule?.ToPort]);
    expect(ingress).toEqual([
      [5432, 5432],
      [3306, 3306],
      [5439, 5439],
    ]);
    const endpoint = props(template, 'SecretsManagerEndpoint');
    expect(endpoint.VpcEndpointType).toBe('Interface');
    expect(JSON.stringify(endpoint.PolicyDocument)).toContain('secretsmanager:GetSecretValue');
    const redshiftEndpoint = props(template, 'RedshiftEndpoint');
    expect(redshiftEndpoint.VpcEndpointType).toBe('Interface');
    expect(redshiftEndpoint.ServiceName).toEqual({
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub string, not a JS template
      'Fn::Sub': 'com.amazonaws.${AWS::Region}.redshift',
    });
    const [only, ...others] = (redshiftEndpoint.PolicyDocument as { Statement: Statement[] }).Statement;
    expect(others).toEqual([]);
    expect(only?.Action).toBe('redshift:GetClusterCredentials');
    expect(JSON.stringify(only?.Resource)).not.toMatch(/:(dbuser|dbname):(?!pl-\*\/)/);
  });

  it("lets only the probe function get temporary Redshift credentials, and only for pl-* drill clusters' users for 15 minutes", () => {
    const statements = roleStatements(template, 'ProbeRole').filter((statement) =>
      asList(statement.Action).includes('redshift:GetClusterCredentials'),
    );
    expect(statements).toHaveLength(1);
    const [statement] = statements;
    expect(statement?.Effect).toBe('Allow');
    expect(asList(statement?.Action)).toEqual(['redshift:GetClusterCredentials']);
    expect(statement?.Resource).toEqual([
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub string, not a JS template
      { 'Fn::Sub': 'arn:${AWS::Partition}:redshift:${AWS::Region}:${AWS::AccountId}:dbuser:pl-*/*' },
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub string, not a JS template
      { 'Fn::Sub': 'arn:${AWS::Partition}:redshift:${AWS::Region}:${AWS::AccountId}:dbname:pl-*/*' },
    ]);
    expect(statement?.Condition?.NumericLessThanEquals).toEqual({ 'redshift:DurationSeconds': 900 });
    expect(statement?.Condition?.ArnEquals?.['lambda:SourceFunctionArn']).toEqual({
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub string, not a JS template
      'Fn::Sub': 'arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:pilotlight-probe',
    });
    // Nothing else of Redshift: no user creation (AutoCreate), no groups, no other cluster, no other role.
    const probeRedshift = roleStatements(template, 'ProbeRole')
      .filter((s) => s.Effect === 'Allow')
      .flatMap((s) => asList(s.Action))
      .filter((action) => action.startsWith('redshift:'));
    expect(probeRedshift).toEqual(['redshift:GetClusterCredentials']);
    const elsewhere = resourcesOfType(template, 'AWS::IAM::Role')
      .filter(([id]) => id !== 'ProbeRole')
      .flatMap(([id]) => roleStatements(template, id))
      .flatMap((s) => asList(s.Action));
    expect(elsewhere).not.toContain('redshift:GetClusterCredentials');
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

  it('lets the DR account use the backup key only through AWS services (grants for AWS resources)', () => {
    const key = props(template, 'SourceBackupKey');
    expect(key.EnableKeyRotation).toBe(true);
    const statements = (key.KeyPolicy as { Statement: Statement[] }).Statement;
    expect(statements.find((s) => s.Sid === 'DrAccountGrantsToAwsBackupOnly')?.Condition).toMatchObject({
      Bool: { 'kms:GrantIsForAWSResource': 'true' },
    });
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub string, not a JS template
    const forDrAccount = statements.filter((s) => JSON.stringify(s.Principal).includes('${DrAccountId}'));
    expect(forDrAccount.length).toBe(2);
    for (const statement of forDrAccount) {
      expect(statement.Effect).toBe('Allow');
      const via = asList(statement.Condition?.StringLike?.['kms:ViaService'] as string[]);
      expect(via.sort()).toEqual(['backup.*.amazonaws.com', 'ec2.*.amazonaws.com', 'rds.*.amazonaws.com']);
    }
  });

  it('lets AWS Backup share EBS snapshots only with the DR account, and never publicly', () => {
    const statements = roleStatements(template, 'BackupCopyRole');
    const share = statements.filter(
      (s) => s.Effect === 'Allow' && asList(s.Action).includes('ec2:ModifySnapshotAttribute'),
    );
    expect(share).toHaveLength(1);
    expect(asList(share[0]?.Action)).toEqual(['ec2:ModifySnapshotAttribute']);
    expect(share[0]?.Condition).toEqual({
      'ForAllValues:StringEquals': { 'ec2:Add/userId': [{ Ref: 'DrAccountId' }] },
      Null: { 'ec2:Add/group': 'true' },
    });
    const deny = statements.find(
      (s) => s.Effect === 'Deny' && asList(s.Action).includes('ec2:ModifySnapshotAttribute'),
    );
    expect(deny?.Condition).toEqual({ 'ForAnyValue:StringEquals': { 'ec2:Add/group': ['all'] } });
    // RDS has no condition key for the accounts added: only AWS Backup's snapshots, only by AWS Backup.
    const rds = statements.find(
      (s) => s.Effect === 'Allow' && asList(s.Action).includes('rds:ModifyDBSnapshotAttribute'),
    );
    expect(asList(rds?.Action)).toEqual(['rds:ModifyDBSnapshotAttribute']);
    expect(JSON.stringify(rds?.Resource)).toMatch(/:snapshot:awsbackup:\*"/);
  });

  it('scopes rds:DescribeDBSnapshots to AWS Backup snapshots', () => {
    const describes = roleStatements(template, 'BackupCopyRole').filter((s) =>
      asList(s.Action).includes('rds:DescribeDBSnapshots'),
    );
    expect(describes).toHaveLength(1);
    expect(JSON.stringify(describes[0]?.Resource)).toMatch(/:snapshot:awsbackup:\*"/);
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
