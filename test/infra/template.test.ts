import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { supportedResourceTypes } from '../../functions/resources/index.js';
import {
  actionsOf,
  allStatements,
  asList,
  cfnLint,
  cfnLintObject,
  compareWithExceptions,
  guardViolations,
  packageStack,
  props,
  readYamlTemplate,
  resourcesOfType,
  roleStatements,
  type Statement,
  type Template,
} from './lib.js';

// Packaged once for the whole file: `serverless package --stage prod`, offline, with the default params.
let template: Template;
let templateFile: string;
let packageDir: string;

beforeAll(() => {
  const packaged = packageStack('prod');
  packageDir = packaged.dir;
  template = packaged.template;
  templateFile = join(packaged.dir, 'cloudformation-template-update-stack.json');
}, 180_000);

const getAtt = (id: string, attribute = 'Arn') => ({ 'Fn::GetAtt': [id, attribute] });
/** The DR account's two roles (params drRoleName and drTeardownRoleName, accounts/dr-account.yaml). */
const DR_ROLE = 'arn:aws:iam::333333333333:role/pilotlight-dr-orchestrator';
const DR_TEARDOWN_ROLE = 'arn:aws:iam::333333333333:role/pilotlight-dr-teardown';
const KEY = getAtt('PilotlightKey');

/** What each function's code calls (functions/*.ts), and nothing more. */
const EXPECTED_ACTIONS: Record<string, string[]> = {
  intake: [
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'states:StartExecution',
    'sqs:SendMessage',
  ],
  prepareDrill: [
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'states:DescribeExecution',
    'sts:AssumeRole',
  ],
  startCopy: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'sts:AssumeRole'],
  acquireSlot: [
    'dynamodb:DeleteItem',
    'dynamodb:PutItem',
    'dynamodb:Query',
    'dynamodb:UpdateItem',
    'states:SendTaskSuccess',
  ],
  releaseSlots: [
    'dynamodb:DeleteItem',
    'dynamodb:PutItem',
    'dynamodb:Query',
    'dynamodb:UpdateItem',
    'states:SendTaskSuccess',
  ],
  startRestore: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'sts:AssumeRole'],
  resumeDrill: [
    'dynamodb:GetItem',
    'dynamodb:UpdateItem',
    'states:SendTaskSuccess',
    'states:SendTaskFailure',
    'sts:AssumeRole',
    'sqs:SendMessage',
  ],
  reconcile: [
    'dynamodb:DeleteItem',
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'dynamodb:Query',
    'dynamodb:Scan',
    'dynamodb:UpdateItem',
    'states:DescribeExecution',
    'states:ListExecutions',
    'states:SendTaskFailure',
    'states:SendTaskSuccess',
    'states:StartExecution',
    'sts:AssumeRole',
    'sqs:SendMessage',
  ],
  // Drills by policy: claims and open-drill places as intake takes them, the source role for the listings.
  plan: [
    'dynamodb:GetItem',
    'dynamodb:PutItem',
    'dynamodb:UpdateItem',
    'states:StartExecution',
    'sts:AssumeRole',
    'sqs:SendMessage',
  ],
  sweepOrphans: ['dynamodb:GetItem', 'states:DescribeExecution', 'sts:AssumeRole', 'sqs:SendMessage'],
  checkHealth: ['dynamodb:UpdateItem', 'sts:AssumeRole'],
  reportValidation: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'sts:AssumeRole'],
  teardown: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'sts:AssumeRole'],
  recordEvidence: ['dynamodb:GetItem', 'dynamodb:UpdateItem', 's3:PutObject', 's3:PutObjectRetention'],
  publishResult: ['sns:Publish'],
};
/** Every function writes its logs and traces and uses the stack's key (environment, table, queue, topic). */
const EVERY_FUNCTION = [
  'logs:CreateLogStream',
  'logs:CreateLogGroup',
  'logs:PutLogEvents',
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
  'kms:Decrypt',
  'kms:GenerateDataKey',
];
/** Actions AWS offers no resource-level permissions for; only these may have Resource "*". */
const NO_RESOURCE_LEVEL = new Set([
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
  'xray:GetSamplingRules',
  'xray:GetSamplingTargets',
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
  // The task token names no resource (the IAM console: "only support the all resources wildcard").
  'states:SendTaskSuccess',
  'states:SendTaskFailure',
]);

const logicalId = (functionKey: string) =>
  `${functionKey[0]?.toUpperCase()}${functionKey.slice(1)}LambdaFunction`;

function roleOf(functionKey: string): string {
  const role = props(template, logicalId(functionKey)).Role as { 'Fn::GetAtt': [string, string] };
  return role['Fn::GetAtt'][0];
}

describe('the packaged stack', () => {
  it('ships policies.yml inside the plan function package, and outputs the function for pilotlight plan --aws', () => {
    // Zip entry names are stored uncompressed: the file is in the archive the function runs from.
    const zip = readFileSync(join(packageDir, 'plan.zip'));
    expect(zip.includes('policies.yml')).toBe(true);
    expect(Object.keys(template.Outputs ?? {})).toContain('PlanLambdaFunctionQualifiedArn');
  });

  it('is valid against the current CloudFormation resource specification', () => {
    expect(cfnLint(templateFile)).toEqual([]);
  }, 30_000);

  it('is linted by a validator that knows current resource types and rejects unknown properties', () => {
    const schedule = {
      Type: 'AWS::Scheduler::Schedule',
      Properties: {
        ScheduleExpression: 'rate(1 hour)',
        FlexibleTimeWindow: { Mode: 'OFF' },
        Target: { Arn: 'arn:aws:sqs:us-east-2:111111111111:q', RoleArn: 'arn:aws:iam::111111111111:role/r' },
      },
    };
    expect(cfnLintObject({ Resources: { Schedule: schedule } })).toEqual([]);
    const broken = { ...schedule, Properties: { ...schedule.Properties, NotAProperty: true } };
    expect(cfnLintObject({ Resources: { Schedule: broken } })).not.toEqual([]);
  }, 30_000);

  it('breaks no Control Tower guard rule except the reviewed exceptions, and every exception still applies', () => {
    const { unlisted, stale, exceptions } = compareWithExceptions(
      'serverless',
      guardViolations(templateFile),
    );
    expect(unlisted).toEqual([]);
    expect(stale).toEqual([]);
    for (const exception of exceptions) expect(exception.reason.length).toBeGreaterThan(40);
  }, 60_000);

  it('reserves a bounded concurrency for intake, so an event storm cannot start drills without bound', () => {
    expect(props(template, 'IntakeLambdaFunction').ReservedConcurrentExecutions).toBe(10);
  });

  it('hard-codes no region of its own, so the same stack deploys to the primary and the DR region', () => {
    // Packaged for us-east-2 (the default): that name must appear nowhere; AWS::Region stands for it.
    const mentions = JSON.stringify(template).match(/us-east-2/g) ?? [];
    expect(mentions).toEqual([]);
    for (const [, role] of resourcesOfType(template, 'AWS::IAM::Role').filter(([, r]) => !r.Condition)) {
      // Role names are account-wide: each region's deployment must name its own.
      const name = JSON.stringify(role.Properties?.RoleName ?? 'generated');
      if (name !== '"generated"') expect(name).toContain('AWS::Region');
    }
  });
});

describe('least privilege', () => {
  it('allows no wildcard action and no NotAction anywhere', () => {
    const statements = allStatements(template);
    expect(statements.length).toBeGreaterThan(20);
    const wildcardAllows = statements
      .filter(({ statement }) => statement.Effect === 'Allow')
      .filter(
        ({ statement }) => statement.NotAction || asList(statement.Action).some((a) => a.includes('*')),
      );
    expect(wildcardAllows).toEqual([]);
  });

  it('uses wildcard actions only to deny (the TLS-only bucket policy)', () => {
    const wildcardDenies = allStatements(template)
      .filter(({ statement }) => asList(statement.Action).some((a) => a.includes('*')))
      .map(({ where, statement }) => `${where}:${statement.Effect}`);
    expect(new Set(wildcardDenies.map((w) => w.split(':')[1]))).toEqual(new Set(['Deny']));
  });

  it('gives every function its own role, assumable only by Lambda', () => {
    const roles = Object.keys(EXPECTED_ACTIONS).map(roleOf);
    expect(new Set(roles).size).toBe(Object.keys(EXPECTED_ACTIONS).length);
    expect(
      resourcesOfType(template, 'AWS::Lambda::Function')
        .map(([id]) => id)
        .sort(),
    ).toEqual(Object.keys(EXPECTED_ACTIONS).map(logicalId).sort());
    for (const role of roles) {
      const trust = props(template, role).AssumeRolePolicyDocument as { Statement: { Principal: unknown }[] };
      expect(trust.Statement.map((s) => s.Principal)).toEqual([{ Service: ['lambda.amazonaws.com'] }]);
      expect(props(template, role).ManagedPolicyArns ?? []).toEqual([]);
    }
  });

  it('never creates the framework default role that the per-function roles are cloned from', () => {
    const unused = resourcesOfType(template, 'AWS::IAM::Role')
      .map(([id]) => id)
      .filter(
        (id) => !Object.keys(EXPECTED_ACTIONS).map(roleOf).includes(id) && id !== 'DrillStateMachineRole',
      );
    expect(unused).toEqual(['IamRoleLambdaExecution']);
    const condition = template.Resources.IamRoleLambdaExecution?.Condition ?? '';
    const never = template.Conditions?.[condition] as { 'Fn::Equals': [unknown, unknown] } | undefined;
    expect(never).toBeDefined();
    const [left, right] = never?.['Fn::Equals'] ?? [0, 0];
    expect(left).not.toEqual(right);
  });

  it.each(Object.entries(EXPECTED_ACTIONS))(
    'grants %s exactly the actions its code calls',
    (functionKey, actions) => {
      expect(actionsOf(roleStatements(template, roleOf(functionKey)))).toEqual(
        [...EVERY_FUNCTION, ...actions].sort(),
      );
    },
  );

  it('scopes every function permission to ARNs, except the actions that have no resource-level permissions', () => {
    for (const functionKey of Object.keys(EXPECTED_ACTIONS)) {
      for (const statement of roleStatements(template, roleOf(functionKey))) {
        if (JSON.stringify(statement.Resource) !== '"*"') continue;
        for (const action of asList(statement.Action))
          expect(NO_RESOURCE_LEVEL.has(action), action).toBe(true);
      }
    }
  });

  it('assumes only the two DR roles, and source roles only inside the organization', () => {
    const assumes = Object.keys(EXPECTED_ACTIONS).flatMap((key) =>
      roleStatements(template, roleOf(key)).filter((s) => asList(s.Action).includes('sts:AssumeRole')),
    );
    expect(assumes.length).toBeGreaterThan(0);
    for (const statement of assumes) {
      const resource = String(statement.Resource);
      if (resource.includes(':role/pilotlight-source-orchestrator')) {
        expect(statement.Condition?.StringEquals?.['aws:ResourceOrgID']).toMatch(/^o-/);
      } else {
        expect([DR_ROLE, DR_TEARDOWN_ROLE]).toContain(resource);
      }
    }
  });

  it('lets only teardown, sweepOrphans and resumeDrill assume the DR teardown role', () => {
    const assuming = Object.keys(EXPECTED_ACTIONS).filter((key) =>
      roleStatements(template, roleOf(key)).some(
        (s) => asList(s.Action).includes('sts:AssumeRole') && s.Resource === DR_TEARDOWN_ROLE,
      ),
    );
    expect(assuming.sort()).toEqual(['resumeDrill', 'sweepOrphans', 'teardown']);
  });

  it('tells every function both DR role names (DR_ROLE_NAME read/restore/check, DR_TEARDOWN_ROLE_NAME delete)', () => {
    for (const [, fn] of resourcesOfType(template, 'AWS::Lambda::Function')) {
      const environment = fn.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined;
      const variables = environment?.Variables ?? {};
      expect(variables.DR_ROLE_NAME).toBe('pilotlight-dr-orchestrator');
      expect(variables.DR_TEARDOWN_ROLE_NAME).toBe('pilotlight-dr-teardown');
    }
  });

  it('names each function role as the accounts/ trust policies expect (pilotlight-<stage>-<fn>-<region>-lambdaRole)', () => {
    for (const key of Object.keys(EXPECTED_ACTIONS)) {
      expect(props(template, roleOf(key)).RoleName).toEqual({
        'Fn::Join': ['-', ['pilotlight', 'prod', key, { Ref: 'AWS::Region' }, 'lambdaRole']],
      });
    }
  });

  it.each([
    ['accounts/dr-account.yaml', 'DrOrchestratorRole', DR_ROLE, 'AWS::Region'],
    ['accounts/dr-account.yaml', 'DrTeardownRole', DR_TEARDOWN_ROLE, 'AWS::Region'],
    [
      'accounts/source-account.yaml',
      'SourceOrchestratorRole',
      'arn:aws:iam::*:role/pilotlight-source-orchestrator',
      'DrRegion',
    ],
  ])(
    'is trusted by %s (%s) for exactly the functions that assume it, in both regions',
    (file, roleId, roleArn, standby) => {
      const assuming = Object.keys(EXPECTED_ACTIONS).filter((key) =>
        roleStatements(template, roleOf(key)).some(
          (s) => asList(s.Action).includes('sts:AssumeRole') && s.Resource === roleArn,
        ),
      );
      const trust = props(readYamlTemplate(file), roleId).AssumeRolePolicyDocument as {
        Statement: { Condition: { ArnEquals: { 'aws:PrincipalArn': { 'Fn::Sub': string }[] } } }[];
      };
      const trusted = (trust.Statement[0]?.Condition.ArnEquals['aws:PrincipalArn'] ?? []).map((principal) =>
        principal['Fn::Sub']
          .match(
            /:role\/pilotlight-\$\{StageName\}-([a-zA-Z]+)-\$\{(PrimaryRegion|AWS::Region|DrRegion)\}-lambdaRole$/,
          )
          ?.slice(1, 3)
          .join('@'),
      );
      expect(assuming.length).toBeGreaterThan(0);
      expect(trusted.sort()).toEqual(
        assuming.flatMap((fn) => [`${fn}@PrimaryRegion`, `${fn}@${standby}`]).sort(),
      );
    },
  );

  it("lets Step Functions assume the state machine role only for this stack's drill state machine", () => {
    const trust = props(template, 'DrillStateMachineRole').AssumeRolePolicyDocument as {
      Statement: Statement[];
    };
    expect(trust.Statement).toHaveLength(1);
    expect(trust.Statement[0]?.Condition).toEqual({
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      ArnEquals: {
        'aws:SourceArn': {
          'Fn::Sub':
            // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub string, not a JS template
            'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:pilotlight-prod-drill',
        },
      },
    });
  });

  it('puts aws:SourceArn next to aws:SourceAccount wherever a service principal is allowed', () => {
    // The per-function Lambda roles are the exception: Lambda documents no aws:SourceArn for assuming an
    // execution role, and each is reachable only through its own function.
    const lambdaRoles = new Set(Object.keys(EXPECTED_ACTIONS).map(roleOf));
    const serviceAllows = allStatements(template).filter(
      ({ where, statement }) =>
        statement.Effect === 'Allow' &&
        JSON.stringify(statement.Principal ?? '').includes('"Service"') &&
        !lambdaRoles.has(where.replace(/ trust$/, '')) &&
        where !== 'IamRoleLambdaExecution trust' &&
        // The logs service is bound to this account's log groups by encryption context instead.
        !JSON.stringify(statement.Principal).includes('logs.'),
    );
    expect(serviceAllows.map(({ where }) => where).sort()).toEqual(
      [
        'AlertTopicPolicy',
        'DrillStateMachineRole trust',
        'EventTargetDeadLetterQueuePolicy',
        'PilotlightKey',
      ].sort(),
    );
    for (const { where, statement } of serviceAllows) {
      // The key is used on behalf of the topic and queues, whose policies name the source (serverless.yml).
      if (where === 'PilotlightKey') continue;
      const condition = JSON.stringify(statement.Condition);
      expect(condition, where).toContain('aws:SourceAccount');
      expect(condition, where).toContain('aws:SourceArn');
    }
  });

  it('lets the state machine invoke only its task functions, and log and trace', () => {
    const statements = roleStatements(template, 'DrillStateMachineRole');
    const invoke = statements.find((s) => asList(s.Action).includes('lambda:InvokeFunction'));
    const targets = asList(invoke?.Resource as unknown[]).filter((r) =>
      JSON.stringify(r).startsWith('{"Fn::GetAtt"'),
    );
    expect(targets.map((r) => (r as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0]).sort()).toEqual(
      [
        'prepareDrill',
        'acquireSlot',
        'startCopy',
        'releaseSlots',
        'startRestore',
        'checkHealth',
        'reportValidation',
        'teardown',
        'recordEvidence',
        'publishResult',
      ]
        .map(logicalId)
        .sort(),
    );
    const others = actionsOf(statements).filter((a) => a !== 'lambda:InvokeFunction');
    for (const action of others) expect(NO_RESOURCE_LEVEL.has(action), action).toBe(true);
  });

  it('scopes every Lambda permission to its source rule', () => {
    const permissions = resourcesOfType(template, 'AWS::Lambda::Permission');
    // One per EventBridge rule that invokes a function: reconcile has two schedules (the whole reconciliation,
    // and the job check every minute), the plan one; intake three (backup, copy, restore testing jobs).
    expect(permissions.length).toBe(9);
    for (const [, permission] of permissions) {
      expect(permission.Properties?.Principal).toBe('events.amazonaws.com');
      expect(permission.Properties?.SourceArn).toBeDefined();
    }
  });

  it('accepts only AWS Backup job events on the bus, only from the organization', () => {
    const policy = props(template, 'OrganizationBackupEventsPolicy').Statement as {
      Action: string;
      Condition: unknown;
    };
    expect(policy.Action).toBe('events:PutEvents');
    expect(policy.Condition).toEqual({
      StringEquals: { 'aws:PrincipalOrgID': 'o-a1b2c3d4e5' },
      'ForAllValues:StringEquals': {
        'events:source': ['aws.backup'],
        'events:detail-type': [
          'Backup Job State Change',
          'Copy Job State Change',
          'Restore Job State Change',
        ],
      },
      Null: { 'events:source': 'false', 'events:detail-type': 'false' },
    });
  });

  it('resumes drills on restore job events from the DR account only', () => {
    const restoreRules = resourcesOfType(template, 'AWS::Events::Rule').filter(([, rule]) =>
      JSON.stringify(rule.Properties?.EventPattern ?? {}).includes('Restore Job State Change'),
    );
    type Pattern = { account?: unknown; detail?: { restoreTestingPlanArn?: unknown; status?: unknown } };
    const patterns = restoreRules.map(([, rule]) => rule.Properties?.EventPattern as Pattern);
    const resume = patterns.filter((pattern) => pattern.detail?.restoreTestingPlanArn === undefined);
    expect(resume).toHaveLength(1);
    expect(resume[0]?.account).toEqual(['333333333333']);
    // The other one is intake's: only restore testing jobs that COMPLETED, from any account, so intake can
    // say why one outside the DR account is not validated (docs/validation.md).
    expect(patterns.filter((pattern) => pattern !== resume[0])).toEqual([
      {
        source: ['aws.backup'],
        'detail-type': ['Restore Job State Change'],
        detail: { status: ['COMPLETED'], restoreTestingPlanArn: [{ exists: true }] },
      },
    ]);
  });
});

describe('data at rest and in transit', () => {
  it('has a customer-managed key with rotation that only AWS services can be granted', () => {
    const key = props(template, 'PilotlightKey');
    expect(key.EnableKeyRotation).toBe(true);
    const statements = asList((key.KeyPolicy as { Statement: { Sid: string; Effect: string }[] }).Statement);
    expect(statements.find((s) => s.Sid === 'GrantsOnlyForAwsServices')?.Effect).toBe('Deny');
  });

  it('lets only the break-glass role disable, schedule the deletion of, or re-policy the evidence key', () => {
    const key = props(template, 'PilotlightKey');
    const statements = asList((key.KeyPolicy as { Statement: Statement[] }).Statement);
    const guarded = ['kms:DisableKey', 'kms:PutKeyPolicy', 'kms:ScheduleKeyDeletion'];
    const breakGlass = {
      'aws:PrincipalArn': {
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub string, not a JS template
        'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/pilotlight-break-glass',
      },
    };
    const allows = statements.filter(
      (s) => s.Effect === 'Allow' && asList(s.Action).some((a) => guarded.includes(a)),
    );
    expect(allows).toHaveLength(1);
    expect(asList(allows[0]?.Action).sort()).toEqual(guarded);
    expect(allows[0]?.Condition).toEqual({ ArnEquals: breakGlass });
    const deny = statements.find((s) => s.Effect === 'Deny' && asList(s.Action).includes('kms:PutKeyPolicy'));
    expect(deny?.Principal).toEqual({ AWS: '*' });
    expect(asList(deny?.Action).sort()).toEqual(guarded);
    expect(deny?.Condition).toEqual({ ArnNotEquals: breakGlass });
    // Deliberate: the deploying principal is locked out of PutKeyPolicy too (README.md, Security).
    expect(key.BypassPolicyLockoutSafetyCheck).toBe(true);
  });

  it('denies plain-HTTP access to every queue', () => {
    const queues = resourcesOfType(template, 'AWS::SQS::Queue').map(([id]) => id);
    expect(queues.length).toBe(2);
    const policies = resourcesOfType(template, 'AWS::SQS::QueuePolicy');
    for (const queue of queues) {
      const policy = policies.find(([, p]) =>
        asList(p.Properties?.Queues as unknown[]).some(
          (q) => JSON.stringify(q) === JSON.stringify({ Ref: queue }),
        ),
      );
      const statements = asList(
        (policy?.[1].Properties?.PolicyDocument as { Statement: Statement[] })?.Statement,
      );
      expect(statements, queue).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Principal: '*',
          Resource: getAtt(queue),
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
      const deny = statements.find((s) => s.Effect === 'Deny');
      for (const action of ['sqs:SendMessage', 'sqs:ReceiveMessage'])
        expect(asList(deny?.Action), queue).toContain(action);
    }
  });

  it('encrypts the state table, the alert topic, the queues and the function environment with that key', () => {
    expect(props(template, 'StateTable').SSESpecification).toEqual({
      SSEEnabled: true,
      SSEType: 'KMS',
      KMSMasterKeyId: KEY,
    });
    expect(props(template, 'AlertTopic').KmsMasterKeyId).toEqual(KEY);
    for (const [, queue] of resourcesOfType(template, 'AWS::SQS::Queue'))
      expect(queue.Properties?.KmsMasterKeyId).toEqual(KEY);
    for (const [, fn] of resourcesOfType(template, 'AWS::Lambda::Function'))
      expect(fn.Properties?.KmsKeyArn).toEqual(KEY);
  });

  it('lets CloudWatch alarms and EventBridge publish to the alert topic', () => {
    const statements = asList(
      (
        props(template, 'AlertTopicPolicy').PolicyDocument as {
          Statement: { Effect: string; Principal: unknown }[];
        }
      ).Statement,
    );
    const allow = statements.find((s) => s.Effect === 'Allow');
    expect(allow?.Principal).toEqual({ Service: ['cloudwatch.amazonaws.com', 'events.amazonaws.com'] });
    const keyPolicy = JSON.stringify(props(template, 'PilotlightKey').KeyPolicy);
    expect(keyPolicy).toContain('cloudwatch.amazonaws.com');
    expect(keyPolicy).toContain('events.amazonaws.com');
  });

  it('keeps evidence in a locked, versioned, private, encrypted bucket for 365 days by default', () => {
    const bucket = props(template, 'EvidenceBucket');
    expect(bucket.ObjectLockEnabled).toBe(true);
    const lock = bucket.ObjectLockConfiguration as {
      ObjectLockEnabled: string;
      Rule: { DefaultRetention: { Mode: string; Days: unknown } };
    };
    expect(lock.ObjectLockEnabled).toBe('Enabled');
    expect(lock.Rule.DefaultRetention.Mode).toBe('COMPLIANCE');
    expect(Number(lock.Rule.DefaultRetention.Days)).toBe(365);
    expect(bucket.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(bucket.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [
        {
          ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: KEY },
          BucketKeyEnabled: true,
        },
      ],
    });
  });

  it('takes the evidence retention from the evidenceRetentionDays parameter', () => {
    const packaged = packageStack('retention', ['--param', 'evidenceRetentionDays=30']);
    const lock = props(packaged.template, 'EvidenceBucket').ObjectLockConfiguration as {
      Rule: { DefaultRetention: { Days: unknown } };
    };
    expect(Number(lock.Rule.DefaultRetention.Days)).toBe(30);
  }, 180_000);

  it('denies every request to the evidence bucket that does not use TLS', () => {
    const statements = asList(
      (
        props(template, 'EvidenceBucketPolicy').PolicyDocument as {
          Statement: { Effect: string; Condition: unknown }[];
        }
      ).Statement,
    );
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Principal: '*',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
  });
});

describe('operability', () => {
  it('gives every EventBridge target a dead-letter queue and a retry policy', () => {
    const rules = resourcesOfType(template, 'AWS::Events::Rule');
    // The six before, reconcile's job check every minute, the plan's schedule and intake's restore testing jobs.
    expect(rules.length).toBe(9);
    for (const [, rule] of rules) {
      for (const target of asList(rule.Properties?.Targets as Record<string, unknown>[])) {
        expect(target.DeadLetterConfig).toEqual({ Arn: getAtt('EventTargetDeadLetterQueue') });
        expect(target.RetryPolicy).toBeDefined();
      }
    }
  });

  it('gives every asynchronously invoked function a dead-letter queue', () => {
    const invokedByRules = new Set(
      resourcesOfType(template, 'AWS::Events::Rule').flatMap(([, rule]) =>
        asList(rule.Properties?.Targets as { Arn: { 'Fn::GetAtt': string[] } }[]).map(
          (t) => t.Arn['Fn::GetAtt'][0],
        ),
      ),
    );
    expect([...invokedByRules].sort()).toEqual([
      'IntakeLambdaFunction',
      'PlanLambdaFunction',
      'ReconcileLambdaFunction',
      'ResumeDrillLambdaFunction',
      'SweepOrphansLambdaFunction',
    ]);
    for (const id of invokedByRules) {
      expect(props(template, id ?? '').DeadLetterConfig).toEqual({
        TargetArn: getAtt('AsyncDeadLetterQueue'),
      });
    }
  });

  it('keeps every log group for at least a year, encrypted with the key', () => {
    const groups = resourcesOfType(template, 'AWS::Logs::LogGroup');
    expect(groups.length).toBe(Object.keys(EXPECTED_ACTIONS).length + 1);
    for (const [, group] of groups) {
      expect(Number(group.Properties?.RetentionInDays)).toBeGreaterThanOrEqual(365);
      expect(group.Properties?.KmsKeyId).toEqual(KEY);
    }
  });

  it('traces every function and the state machine, and logs every state machine event', () => {
    for (const [, fn] of resourcesOfType(template, 'AWS::Lambda::Function')) {
      expect(fn.Properties?.TracingConfig).toEqual({ Mode: 'Active' });
    }
    const machine = props(template, 'DrillStateMachine');
    expect(machine.StateMachineName).toBe('pilotlight-prod-drill');
    expect(machine.TracingConfiguration).toEqual({ Enabled: true });
    // No execution data: state input and output carry task tokens.
    expect(machine.LoggingConfiguration).toEqual({
      Level: 'ALL',
      IncludeExecutionData: false,
      Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: getAtt('DrillStateMachineLogGroup') } }],
    });
  });
});

describe('alarms and dashboard', () => {
  type Alarm = Record<string, unknown> & { Dimensions?: { Name: string; Value: unknown }[] };
  const alarms = (): Alarm[] =>
    resourcesOfType(template, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties as Alarm);
  const find = (namespace: string, metric: string, dimension?: [string, unknown]) =>
    alarms().filter(
      (a) =>
        a.Namespace === namespace &&
        a.MetricName === metric &&
        (!dimension ||
          (a.Dimensions ?? []).some(
            (d) => d.Name === dimension[0] && JSON.stringify(d.Value) === JSON.stringify(dimension[1]),
          )),
    );

  it('notifies the alert topic from every alarm, when it fires and when it clears', () => {
    expect(alarms().length).toBeGreaterThanOrEqual(13);
    for (const alarm of alarms()) {
      expect(alarm.AlarmActions).toEqual([{ Ref: 'AlertTopic' }]);
      expect(alarm.OKActions).toEqual([{ Ref: 'AlertTopic' }]);
      expect(String(alarm.AlarmDescription).length).toBeGreaterThan(40);
    }
  });

  it.each(supportedResourceTypes)(
    'alarms on a failed drill, a breached RTO and a failed teardown of %s',
    (type) => {
      for (const metric of ['DrillFailed', 'RtoTargetBreached', 'TeardownFailed']) {
        const [alarm] = find('Pilotlight', metric, ['ResourceType', type]);
        expect(alarm, metric).toMatchObject({
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        });
        expect(alarm?.Dimensions).toContainEqual({ Name: 'service', Value: 'pilotlight' });
      }
    },
  );

  it.each(supportedResourceTypes)(
    'alarms when no %s drill succeeded in 24 hours, treating no data as breaching',
    (type) => {
      const [alarm] = find('Pilotlight', 'DrillSucceeded', ['ResourceType', type]);
      expect(alarm).toMatchObject({
        Statistic: 'Sum',
        Period: 86400,
        EvaluationPeriods: 1,
        ComparisonOperator: 'LessThanThreshold',
        Threshold: 1,
        TreatMissingData: 'breaching',
        ActionsEnabled: true,
      });
    },
  );

  it.each(supportedResourceTypes)(
    'alarms when a %s drill restored data older than the data RPO target',
    (type) => {
      const [alarm] = find('Pilotlight', 'DataRpoTargetBreached', ['ResourceType', type]);
      expect(alarm).toMatchObject({
        Statistic: 'Maximum',
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 1,
        TreatMissingData: 'notBreaching',
      });
    },
  );

  it('alarms on orphaned resources reported by the sweeper', () => {
    expect(find('Pilotlight', 'OrphanedResources', ['service', 'pilotlight'])).toHaveLength(1);
  });

  it.each(['EventsFromUnknownAccounts', 'DrillsDeferred'])(
    'alarms on %s from intake and the reconciler as soon as one happens',
    (metric) => {
      const [alarm, ...others] = find('Pilotlight', metric, ['service', 'pilotlight']);
      expect(others).toEqual([]);
      expect(alarm).toMatchObject({
        Statistic: 'Sum',
        Period: 300,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 1,
        TreatMissingData: 'notBreaching',
      });
    },
  );

  it('alarms on messages in each dead-letter queue', () => {
    for (const queue of ['EventTargetDeadLetterQueue', 'AsyncDeadLetterQueue']) {
      expect(
        find('AWS/SQS', 'ApproximateNumberOfMessagesVisible', ['QueueName', getAtt(queue, 'QueueName')]),
      ).toHaveLength(1);
    }
  });

  it('alarms on failed and timed-out drill executions', () => {
    for (const metric of ['ExecutionsFailed', 'ExecutionsTimedOut']) {
      expect(
        find('AWS/States', metric, ['StateMachineArn', { Ref: 'DrillStateMachine' }]),
        metric,
      ).toHaveLength(1);
    }
  });

  it('has a dashboard with outcomes, RTO and RPO per type, durations, open drills, orphans and every alarm', () => {
    const body = JSON.stringify(props(template, 'DrillDashboard').DashboardBody);
    for (const metric of [
      'DrillSucceeded',
      'DrillFailed',
      'RtoSeconds',
      'RpoSeconds',
      'DataRpoSeconds',
      'CopySeconds',
      'RestoreSeconds',
      'OpenJobs',
      'OrphanedResources',
      'OrphansDeleted',
    ]) {
      expect(body).toContain(metric);
    }
    for (const [id] of resourcesOfType(template, 'AWS::CloudWatch::Alarm'))
      expect(body).toContain(`\${${id}.Arn}`);
  });
});
