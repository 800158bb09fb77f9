import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteVolumeCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateDBInstanceCommand, RDSClient } from '@aws-sdk/client-rds';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterEach, describe, expect, it } from 'vitest';
import { Ec2State } from '../../sandbox/aws/ec2.js';
import { RdsState } from '../../sandbox/aws/rds.js';
import { invocationContext, principalFor } from '../../sandbox/identity.js';
import { CENTRAL_ACCOUNT, Sandbox } from '../../sandbox/index.js';
import { buildReport } from '../../sandbox/report.js';
import { projectRoot } from '../../sandbox/serverless-config.js';
import { onlyDrill, simulate } from './harness.js';

const DR_ROLE = 'arn:aws:iam::333333333333:role/pilotlight-dr-orchestrator';
const DR_TEARDOWN_ROLE = 'arn:aws:iam::333333333333:role/pilotlight-dr-teardown';
const DR_REGION = 'us-west-2';
const read = (path: string) => readFileSync(join(projectRoot, path), 'utf8');

/** Replaces exactly one occurrence, so a test cannot silently edit nothing (or too much). */
function replaceOnce(text: string, search: string, replacement: string): string {
  const at = text.indexOf(search);
  if (at < 0 || text.indexOf(search, at + 1) >= 0)
    throw new Error(`expected exactly one occurrence of ${JSON.stringify(search)}`);
  return text.slice(0, at) + replacement + text.slice(at + search.length);
}

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

/** A copy of the project whose serverless.yml or account templates were edited (handlers and ASL are the real ones). */
function projectWith(edits: { serverless?: string; drAccount?: string; sourceAccount?: string }): string {
  const root = mkdtempSync(join(tmpdir(), 'pilotlight-iam-'));
  roots.push(root);
  for (const name of ['functions', 'statemachines', 'package.json'])
    symlinkSync(join(projectRoot, name), join(root, name));
  mkdirSync(join(root, 'accounts'));
  writeFileSync(join(root, 'serverless.yml'), edits.serverless ?? read('serverless.yml'));
  writeFileSync(join(root, 'accounts/dr-account.yaml'), edits.drAccount ?? read('accounts/dr-account.yaml'));
  writeFileSync(
    join(root, 'accounts/source-account.yaml'),
    edits.sourceAccount ?? read('accounts/source-account.yaml'),
  );
  return root;
}

async function drillIn(root: string, type: 'RDS' | 'EBS' | 'Redshift') {
  const sandbox = await Sandbox.create({ seed: 7, root });
  try {
    const startedAt = new Date(sandbox.clock.now).toISOString();
    sandbox.backupCompleted(type);
    await sandbox.run();
    return { report: buildReport(sandbox, 7, startedAt), sandbox };
  } finally {
    sandbox.dispose();
  }
}

/** SDK calls made as a function's handler would make them (its role, via the invocation context). */
function asFunction<T>(functionKey: string, call: () => Promise<T>): Promise<T> {
  return invocationContext.run({ functionKey }, call);
}

describe('IAM, evaluated as AWS does', () => {
  it.each(['RDS', 'EBS'] as const)(
    'lets the %s drill succeed with every call authorized as the calling function or its role session',
    async (type) => {
      const { report, sandbox } = await simulate((s) => s.backupCompleted(type));
      expect(onlyDrill(report).status).toBe('SUCCEEDED');
      expect(sandbox.iam.denials).toEqual([]);
      // Every call but the sandbox's own provisioning (the state table) was evaluated.
      expect(sandbox.iam.authorizedCalls).toBeGreaterThan(20);
      const callers = [...sandbox.iam.callsByPrincipal.keys()];
      expect(callers).toContain(
        'intake as arn:aws:sts::222222222222:assumed-role/pilotlight-sandbox-intake-us-east-2-lambdaRole/pilotlight-sandbox-intake',
      );
      expect(callers).toContain(
        'teardown as arn:aws:sts::333333333333:assumed-role/pilotlight-dr-orchestrator/pilotlight',
      );
      expect(callers).toContain(
        'startCopy as arn:aws:sts::111111111111:assumed-role/pilotlight-source-orchestrator/pilotlight',
      );
      // No function acted under another function's role.
      for (const caller of callers) {
        const [fn, , principal] = caller.split(' ');
        if (principal?.includes('lambdaRole')) expect(principal).toContain(`-${fn}-us-east-2-lambdaRole/`);
      }
    },
  );

  it('fails the drill with AccessDenied when teardown loses sts:AssumeRole, and still records evidence and alerts', async () => {
    const serverless = replaceOnce(
      read('serverless.yml'),
      `      - \${self:custom.iam.assumeDrTeardownRole}
  recordEvidence:`,
      `  recordEvidence:`,
    );
    const { report, sandbox } = await drillIn(projectWith({ serverless }), 'RDS');

    const drill = onlyDrill(report);
    expect(drill.status).toBe('FAILED');
    expect(drill.steps.find((s) => s.name === 'TearDown')?.status).toBe('FAILED');
    expect(`${drill.error?.name} ${drill.error?.message}`).toContain(
      'AccessDenied User: arn:aws:sts::222222222222:assumed-role/pilotlight-sandbox-teardown-us-east-2-lambdaRole/pilotlight-sandbox-teardown is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::333333333333:role/pilotlight-dr-teardown',
    );
    expect(
      sandbox.iam.denials.every((d) => d.functionKey === 'teardown' && d.action === 'sts:AssumeRole'),
    ).toBe(true);
    // Evidence and alerts still go out, and the restored instance is reported as left behind.
    expect(drill.evidence?.key).toBeTruthy();
    expect(sandbox.world.objects.some((o) => o.key === drill.evidence?.key)).toBe(true);
    expect(report.sandbox.alerts.length).toBeGreaterThan(0);
    expect(report.sandbox.resourcesLeft).toBe(1);
  });

  it("fails a Redshift drill's data checks on its credentials when the probe role may not get them, and still tears down", async () => {
    const drAccount = replaceOnce(
      read('accounts/dr-account.yaml'),
      `                  - Fn::Sub: arn:\${AWS::Partition}:redshift:\${AWS::Region}:\${AWS::AccountId}:dbuser:pl-*/*
                  - Fn::Sub: arn:\${AWS::Partition}:redshift:\${AWS::Region}:\${AWS::AccountId}:dbname:pl-*/*
                Condition:
                  NumericLessThanEquals:`,
      `                  - Fn::Sub: arn:\${AWS::Partition}:redshift:\${AWS::Region}:\${AWS::AccountId}:dbuser:pl-*/reader
                  - Fn::Sub: arn:\${AWS::Partition}:redshift:\${AWS::Region}:\${AWS::AccountId}:dbname:pl-*/*
                Condition:
                  NumericLessThanEquals:`,
    );
    const { report, sandbox } = await drillIn(projectWith({ drAccount }), 'Redshift');
    await sandbox.databasesClosed;

    const drill = onlyDrill(report);
    expect(drill.status).toBe('FAILED');
    expect(drill.error?.name).toBe('HealthCheckFailed');
    const credentials = drill.checks.find((check) => check.name === 'data: database credentials');
    expect(credentials?.passed).toBe(false);
    expect(credentials?.detail).toMatch(
      /^observed data probe failed: DatabaseCredentialsUnavailable: cannot get temporary credentials for awsuser on Redshift cluster pl-redshift-[a-z0-9-]+: AccessDenied\w*: User: arn:aws:sts::333333333333:assumed-role\/pilotlight-probe\/pilotlight-probe is not authorized to perform: redshift:GetClusterCredentials on resource: arn:aws:redshift:us-west-2:333333333333:dbuser:pl-redshift-[a-z0-9-]+\/awsuser because no identity-based policy allows the redshift:GetClusterCredentials action, expected temporary credentials for awsuser \(redshift:GetClusterCredentials\)$/,
    );
    expect(sandbox.iam.denials.map((d) => d.action)).toEqual(['redshift:GetClusterCredentials']);
    expect(drill.dataRpoSeconds).toBeNull();
    expect(sandbox.world.objects.some((o) => o.key === drill.evidence?.key)).toBe(true);
    expect(report.sandbox.alerts.length).toBeGreaterThan(0);
    expect(report.sandbox.resourcesLeft).toBe(0);
  });

  it("fails the EBS teardown with EC2's UnauthorizedOperation when the DR teardown role loses its delete statement", async () => {
    const drAccount = replaceOnce(
      read('accounts/dr-account.yaml'),
      `              - Sid: DeletePilotlightVolumesOnly
                Effect: Allow
                Action: [ec2:DeleteVolume]`,
      `              - Sid: DeletePilotlightVolumesOnly
                Effect: Allow
                Action: [ec2:DetachVolume]`,
    );
    const { report, sandbox } = await drillIn(projectWith({ drAccount }), 'EBS');

    const drill = onlyDrill(report);
    expect(drill.status).toBe('FAILED');
    expect(drill.error?.name).toBe('TeardownIncomplete');
    expect(drill.error?.message).toMatch(
      /: UnauthorizedOperation: You are not authorized to perform this operation\. User: arn:aws:sts::333333333333:assumed-role\/pilotlight-dr-teardown\/pilotlight is not authorized to perform: ec2:DeleteVolume on resource: arn:aws:ec2:us-west-2:333333333333:volume\/vol-0[0-9a-f]+ because no identity-based policy allows the ec2:DeleteVolume action\. Encoded authorization failure message: /,
    );
    expect(sandbox.iam.denials.map((d) => d.action)).toContain('ec2:DeleteVolume');
    expect(sandbox.iam.denials[0]?.message).toContain(
      'because no identity-based policy allows the ec2:DeleteVolume action',
    );
    expect(sandbox.world.objects.some((o) => o.key === drill.evidence?.key)).toBe(true);
    expect(report.sandbox.alerts.length).toBeGreaterThan(0);
    expect(report.sandbox.resourcesLeft).toBe(1);
  });

  it('denies a function the DR trust policy does not name, even with the role session another function cached', async () => {
    // startRestore is dropped from the DR role's trust. The handler modules cache the DR session process-wide
    // (assumed by another function, or in an earlier sandbox of this file), so startRestore may never call
    // AssumeRole itself here: its right to the session is checked on each call it makes with it.
    const drAccount = replaceOnce(
      read('accounts/dr-account.yaml'),
      `                  - Fn::Sub: arn:\${AWS::Partition}:iam::\${CentralAccountId}:role/pilotlight-\${StageName}-startRestore-\${PrimaryRegion}-lambdaRole
                  - Fn::Sub: arn:\${AWS::Partition}:iam::\${CentralAccountId}:role/pilotlight-\${StageName}-startRestore-\${AWS::Region}-lambdaRole\n`,
      '',
    );
    const { report, sandbox } = await drillIn(projectWith({ drAccount }), 'RDS');

    const drill = onlyDrill(report);
    expect(drill.status).toBe('FAILED');
    expect(drill.steps.find((s) => s.name === 'RestoreInDrAccount')?.status).toBe('FAILED');
    expect(drill.error?.message).toContain(
      'User: arn:aws:sts::222222222222:assumed-role/pilotlight-sandbox-startRestore-us-east-2-lambdaRole/pilotlight-sandbox-startRestore is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::333333333333:role/pilotlight-dr-orchestrator',
    );
    expect(new Set(sandbox.iam.denials.map((d) => d.functionKey))).toEqual(new Set(['startRestore']));
    expect(report.sandbox.alerts.length).toBeGreaterThan(0);
  });

  describe('checked call by call', () => {
    let sandbox: Sandbox;
    afterEach(() => sandbox?.dispose());

    const assumeDr = (functionKey: string, externalId: string, roleArn = DR_ROLE) =>
      asFunction(functionKey, () =>
        new STSClient({ region: 'us-east-2' }).send(
          new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'pilotlight', ExternalId: externalId }),
        ),
      );

    it('denies AssumeRole with a wrong ExternalId, or from a function the trust policy does not name', async () => {
      sandbox = await Sandbox.create({ seed: 3 });
      const externalId = sandbox.config.params.externalId ?? '';

      const trusted = await assumeDr('teardown', externalId);
      expect(trusted.AssumedRoleUser?.Arn).toBe(
        'arn:aws:sts::333333333333:assumed-role/pilotlight-dr-orchestrator/pilotlight',
      );

      const wrongId = await assumeDr('teardown', 'not-the-external-id').catch((error: unknown) => error);
      expect(wrongId).toMatchObject({
        name: 'AccessDenied',
        message: `User: arn:aws:sts::${CENTRAL_ACCOUNT}:assumed-role/pilotlight-sandbox-teardown-us-east-2-lambdaRole/pilotlight-sandbox-teardown is not authorized to perform: sts:AssumeRole on resource: ${DR_ROLE}`,
        $metadata: { httpStatusCode: 403 },
      });

      // recordEvidence has no sts:AssumeRole of its own, and the DR trust policy does not name it.
      const untrusted = await assumeDr('recordEvidence', externalId).catch((error: unknown) => error);
      expect(untrusted).toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
      expect((untrusted as Error).message).toContain(
        'pilotlight-sandbox-recordEvidence-us-east-2-lambdaRole',
      );
      expect(sandbox.iam.denials.map((d) => [d.functionKey, d.action])).toEqual([
        ['teardown', 'sts:AssumeRole'],
        ['recordEvidence', 'sts:AssumeRole'],
      ]);
    });

    it('supplies the request context AWS would: principal, organization, resource account and tags, time', async () => {
      sandbox = await Sandbox.create({ seed: 3 });
      const arn = `arn:aws:ec2:${DR_REGION}:333333333333:volume/vol-0context00000001`;
      sandbox.world.state(Ec2State).addVolume(sandbox.world, {
        arn,
        account: '333333333333',
        region: DR_REGION,
        id: 'vol-0context00000001',
        status: 'available',
        tags: { 'pilotlight:managed': 'true', 'pilotlight:drill-id': 'd-1' },
        availabilityZone: `${DR_REGION}a`,
        size: 100,
        encrypted: true,
      });
      const session = await assumeDr('teardown', sandbox.config.params.externalId ?? '');
      const principal = principalFor(session.Credentials?.AccessKeyId ?? '');
      if (!principal) throw new Error('the session was not registered');
      const [request, ...others] = sandbox.iam.requestsFor({
        service: 'EC2',
        operation: 'DeleteVolume',
        input: { VolumeId: 'vol-0context00000001' },
        caller: {
          account: principal.account,
          region: DR_REGION,
          roleArn: principal.roleArn,
          sessionArn: principal.sessionArn,
          functionKey: 'teardown',
        },
        principal,
      });
      expect(others).toEqual([]);
      expect(request).toMatchObject({
        action: 'ec2:DeleteVolume',
        resource: arn,
        principal: 'arn:aws:sts::333333333333:assumed-role/pilotlight-dr-orchestrator/pilotlight',
      });
      expect(request?.context).toMatchObject({
        'aws:PrincipalArn': DR_ROLE,
        'aws:PrincipalAccount': '333333333333',
        'aws:PrincipalOrgID': sandbox.config.params.organizationId,
        'aws:ResourceAccount': '333333333333',
        'aws:ResourceOrgID': sandbox.config.params.organizationId,
        'aws:ResourceTag/pilotlight:managed': 'true',
        'aws:ResourceTag/pilotlight:drill-id': 'd-1',
        'ec2:ResourceTag/pilotlight:managed': 'true',
        'aws:SecureTransport': 'true',
        'aws:RequestedRegion': DR_REGION,
        'aws:CurrentTime': new Date(sandbox.clock.now).toISOString(),
      });
    });

    it('denies deleting a DR volume that does not carry pilotlight:managed=true, and allows it once tagged', async () => {
      sandbox = await Sandbox.create({ seed: 3 });
      const volume = (id: string, tags: Record<string, string>) => {
        const arn = `arn:aws:ec2:${DR_REGION}:333333333333:volume/${id}`;
        sandbox.world.state(Ec2State).addVolume(sandbox.world, {
          arn,
          account: '333333333333',
          region: DR_REGION,
          id,
          status: 'available',
          tags,
          availabilityZone: `${DR_REGION}a`,
          size: 100,
          encrypted: true,
        });
        return id;
      };
      const untagged = volume('vol-0untagged0000001', { Name: 'production-data' });
      const tagged = volume('vol-0tagged000000001', { 'pilotlight:managed': 'true' });
      const session = await assumeDr('teardown', sandbox.config.params.externalId ?? '', DR_TEARDOWN_ROLE);
      const ec2 = new EC2Client({
        region: DR_REGION,
        credentials: {
          accessKeyId: session.Credentials?.AccessKeyId ?? '',
          secretAccessKey: session.Credentials?.SecretAccessKey ?? '',
          sessionToken: session.Credentials?.SessionToken,
        },
      });

      const denied = await asFunction('teardown', () =>
        ec2.send(new DeleteVolumeCommand({ VolumeId: untagged })),
      ).catch((error: unknown) => error);
      expect(denied).toMatchObject({ name: 'UnauthorizedOperation', $metadata: { httpStatusCode: 403 } });
      expect((denied as Error).message).toContain(
        `You are not authorized to perform this operation. User: arn:aws:sts::333333333333:assumed-role/pilotlight-dr-teardown/pilotlight is not authorized to perform: ec2:DeleteVolume on resource: arn:aws:ec2:${DR_REGION}:333333333333:volume/${untagged} because no identity-based policy allows the ec2:DeleteVolume action`,
      );
      expect(sandbox.world.resourcesLeft().map((r) => r.id)).toContain(untagged);

      await asFunction('teardown', () => ec2.send(new DeleteVolumeCommand({ VolumeId: tagged })));
      expect(sandbox.world.resourcesLeft().map((r) => r.id)).not.toContain(tagged);
    });

    it("creates a cluster's drill instance only marked managed, private, of the drill class, into a Pilotlight cluster", async () => {
      sandbox = await Sandbox.create({ seed: 3 });
      const cluster = (id: string, tags: Record<string, string>) =>
        sandbox.world.state(RdsState).addCluster(sandbox.world, {
          account: '333333333333',
          region: DR_REGION,
          id,
          status: 'available',
          tags,
          engine: 'aurora-postgresql',
          engineVersion: '16.4',
          port: 5432,
          subnetGroup: 'pilotlight-restore',
          securityGroups: ['sg-0a1b2c3d4e5f60718'],
          deletionProtection: false,
          storageEncrypted: true,
        }).id;
      const marked = cluster('pl-d-1', { 'pilotlight:managed': 'true', 'pilotlight:drill-id': 'd-1' });
      const unmarked = cluster('pl-someone-else', {});
      const session = await assumeDr('checkHealth', sandbox.config.params.externalId ?? '');
      const rds = new RDSClient({
        region: DR_REGION,
        credentials: {
          accessKeyId: session.Credentials?.AccessKeyId ?? '',
          secretAccessKey: session.Credentials?.SecretAccessKey ?? '',
          sessionToken: session.Credentials?.SessionToken,
        },
      });
      const create = (overrides: Partial<ConstructorParameters<typeof CreateDBInstanceCommand>[0]>) =>
        asFunction('checkHealth', () =>
          rds.send(
            new CreateDBInstanceCommand({
              DBInstanceIdentifier: 'pl-d-1-i1',
              DBClusterIdentifier: marked,
              Engine: 'aurora-postgresql',
              DBInstanceClass: 'db.t4g.medium',
              PubliclyAccessible: false,
              Tags: [
                { Key: 'pilotlight:managed', Value: 'true' },
                { Key: 'pilotlight:drill-id', Value: 'd-1' },
              ],
              ...overrides,
            }),
          ),
        ).catch((error: unknown) => error);

      for (const refused of [
        { PubliclyAccessible: true },
        { DBInstanceClass: 'db.r6g.16xlarge' },
        { Tags: [{ Key: 'pilotlight:drill-id', Value: 'd-1' }] },
        { DBClusterIdentifier: unmarked },
        { DBInstanceIdentifier: 'orders-replica' },
      ]) {
        expect(await create(refused), JSON.stringify(refused)).toMatchObject({
          $metadata: { httpStatusCode: 403 },
        });
      }
      expect(sandbox.world.state(RdsState).instances.size).toBe(0);

      expect(await create({})).toMatchObject({ DBInstance: { DBInstanceIdentifier: 'pl-d-1-i1' } });
      expect([...sandbox.world.state(RdsState).instances.values()].map((i) => [i.id, i.clusterId])).toEqual([
        ['pl-d-1-i1', 'pl-d-1'],
      ]);
    });
  });
});
