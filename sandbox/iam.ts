import {
  createValidatedPolicy,
  type ValidatedPolicy,
  type ValidationError,
  validateIdentityPolicy,
  validateResourcePolicy,
  validateTrustPolicy,
} from '@cloud-copilot/iam-policy';
import {
  allowedContextKeysForRequest,
  isConditionKeyArray,
  type RunSimulationResults,
  runSimulation,
  runUnsafeSimulation,
  type Simulation,
  type SimulationIdentityPolicy,
  typeForContextKey,
} from '@cloud-copilot/iam-simulate';
import { SimulatedAwsError } from './aws-errors.js';
import type { StackNames } from './cloudformation.js';
import { type AccountStack, loadAccountStack } from './iam-accounts.js';
import { accountOf, type IamRequest, iamRequestsFor, type RequestEnvironment } from './iam-requests.js';
import { type Principal, registerPrincipal, sessionArnOf } from './identity.js';
import type { ApiCall } from './interceptor.js';
import type { Json, ServerlessConfig } from './serverless-config.js';
import type { World } from './world.js';

/**
 * IAM, evaluated as AWS does, with @cloud-copilot/iam-simulate: every API call a handler makes is authorized
 * as the calling function's own role (serverless-iam-roles-per-function: its iamRoleStatements, resolved to
 * the sandbox's names), or as the cross-account role session it assumed (the roles of accounts/*.yaml: trust
 * policy and inline policies). Resource policies apply where AWS applies them (role trust policies, the
 * evidence bucket policy, the alert topic policy, KMS key policies, the DR vault's access policy), with the
 * request context AWS supplies. A denied call fails with the service's own access-denied error.
 */
export class IamDenied extends SimulatedAwsError {
  constructor(
    errorName: string,
    message: string,
    /** The service that reports the denial, when not the one called (STS for a role assumed on the way). */
    readonly service?: string,
  ) {
    super(errorName, message);
  }
}

interface IdentityOf {
  roleArn: string;
  sessionArn: string;
  account: string;
  policies: SimulationIdentityPolicy[];
  /** `lambda:SourceFunctionArn` of the calls (Principal.sourceFunctionArn). */
  sourceFunctionArn?: string;
}

export interface IamSettings {
  centralAccount: string;
  drAccount: string;
  drRegion: string;
  sourceAccounts: string[];
  sourceRegion: string;
  organizationId: string;
  stage: string;
}

interface Decision {
  allowed: boolean;
  /** Why not, in AWS's words ("because no identity-based policy allows the X action"). */
  reason: string;
}

/** Context keys whose values change every call; a decision is cached without them if no policy reads them. */
const TIME_KEYS = ['aws:CurrentTime', 'aws:EpochTime'];

const NO_TRUST = createValidatedPolicy(
  {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Deny', Principal: { AWS: '*' }, Action: 'sts:AssumeRole' }],
  },
  validateTrustPolicy,
  { name: 'no such role' },
);

const DENIAL_ERRORS: Record<string, string> = {
  STS: 'AccessDenied',
  EC2: 'UnauthorizedOperation',
  RDS: 'AccessDenied',
  S3: 'AccessDenied',
  SNS: 'AuthorizationErrorException',
};

/**
 * StackNames resolves the stack's own references; a Ref to a pseudo parameter (AWS::AccountId in a key policy's
 * condition) is replaced first.
 */
function withPseudoParameters(value: Json, account: string, region: string): Json {
  if (Array.isArray(value)) return value.map((item) => withPseudoParameters(item, account, region));
  if (!value || typeof value !== 'object') return value;
  const keys = Object.keys(value);
  if (keys.length === 1 && keys[0] === 'Ref') {
    const pseudo: Record<string, string> = {
      'AWS::AccountId': account,
      'AWS::Region': region,
      'AWS::Partition': 'aws',
      'AWS::URLSuffix': 'amazonaws.com',
    };
    const found = pseudo[String(value.Ref)];
    if (found !== undefined) return found;
  }
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, withPseudoParameters(v, account, region)]),
  );
}

function policyDocument(statements: Json[]): Json {
  return { Version: '2012-10-17', Statement: statements };
}

const validators: Record<'identity' | 'resource' | 'trust', (policy: unknown) => ValidationError[]> = {
  identity: validateIdentityPolicy,
  resource: validateResourcePolicy,
  trust: validateTrustPolicy,
};

/** An Action or NotAction element's patterns (`*` any run of characters, `?` one), matched as IAM does: case-insensitively. */
function matchesAny(patterns: Json | undefined, action: string): boolean {
  return [patterns ?? []].flat().some((pattern) => {
    if (typeof pattern !== 'string') return false;
    const escaped = pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\?/g, '.')
      .replace(/\*/g, '.*');
    return new RegExp(`^${escaped}$`, 'i').test(action);
  });
}

/** Whether a policy statement's Action (or NotAction) element can match the action; kept when it has neither. */
export function appliesTo(statement: Json, action: string): boolean {
  if (!statement || typeof statement !== 'object' || Array.isArray(statement)) return true;
  if ('Action' in statement) return matchesAny(statement.Action, action);
  if ('NotAction' in statement) return !matchesAny(statement.NotAction, action);
  return true;
}

/** A policy validated once, as IAM validates it when it is deployed: an invalid one fails the sandbox's "deploy". */
function validated(
  document: Json,
  kind: keyof typeof validators,
  name: string,
): ValidatedPolicy<{ name: string }> {
  const policy = createValidatedPolicy(document, validators[kind], { name });
  if (policy.errors.length > 0)
    throw new Error(`IAM: ${kind} policy ${name} is invalid: ${JSON.stringify(policy.errors)}`);
  return policy;
}

/** The role name serverless-iam-roles-per-function gives a function: service-stage-function-region-lambdaRole. */
export function functionRoleName(config: ServerlessConfig, key: string): string {
  const spec = config.functions.find((f) => f.key === key);
  if (spec?.iamRoleStatementsName) return spec.iamRoleStatementsName;
  const parts = [config.service, config.stage, key, config.region, 'lambdaRole'];
  if (parts.join('-').length > 64) parts.pop();
  const name = parts.join('-');
  if (name.length > 64) throw new Error(`serverless.yml: the role name of ${key} is over 64 characters`);
  return name;
}

export class Iam {
  private readonly functions = new Map<string, IdentityOf>();
  private readonly accountRoles = new Map<
    string,
    { arn: string; trustPolicy: ValidatedPolicy<{ name: string }>; policies: SimulationIdentityPolicy[] }
  >();
  private readonly resourcePolicies = new Map<string, ValidatedPolicy<{ name: string }>>();
  private readonly encryptionKeys = new Map<string, string>();
  private readonly orgAccounts: Set<string>;
  private readonly decisions = new Map<string, Promise<Decision>>();
  /** Allowed context keys per request shape the full simulation validated (see evaluate). */
  private readonly shapes = new Map<string, Set<string>>();
  private readonly keyIsArray = new Map<string, boolean>();
  private readonly timeSensitive: boolean;
  /** Authorizations evaluated (cache misses) and calls authorized, for the record. */
  evaluations = 0;
  authorizedCalls = 0;
  /** The actions each role was allowed and used (to spot grants nothing uses). */
  readonly actionsUsed = new Map<string, Set<string>>();
  /** Calls authorized per calling function and the role session it called as ("teardown as arn:aws:sts::…"). */
  readonly callsByPrincipal = new Map<string, number>();
  /** Every denial, in order: which function (or role session) was refused what. */
  readonly denials: {
    functionKey?: string;
    principal: string;
    action: string;
    resource: string;
    message: string;
  }[] = [];
  /**
   * 'audit' records denials without failing the calls (to list every missing permission of a change at once);
   * the sandbox enforces by default.
   */
  mode: 'enforce' | 'audit' = 'enforce';

  constructor(
    private readonly config: ServerlessConfig,
    private readonly names: StackNames,
    private readonly world: World,
    private readonly settings: IamSettings,
  ) {
    this.orgAccounts = new Set([settings.centralAccount, settings.drAccount, ...settings.sourceAccounts]);
    for (const spec of config.functions) {
      const roleArn = `arn:aws:iam::${settings.centralAccount}:role/${functionRoleName(config, spec.key)}`;
      this.functions.set(spec.key, {
        roleArn,
        sessionArn: sessionArnOf(roleArn, `${config.service}-${config.stage}-${spec.key}`),
        account: settings.centralAccount,
        policies: [
          {
            name: `${spec.key}-iamRoleStatements`,
            policy: validated(
              policyDocument(
                names.resolve(
                  withPseudoParameters(spec.iamRoleStatements, settings.centralAccount, config.region),
                ) as Json[],
              ),
              'identity',
              `${spec.key}-iamRoleStatements`,
            ),
          },
        ],
      });
    }
    const p = config.params;
    const parameters = {
      ...p,
      centralAccountId: settings.centralAccount,
      stageName: settings.stage,
      // The primary deployment runs where production is backed up; the standby in the DR region.
      primaryRegion: settings.sourceRegion,
      primaryEventBusArn: `arn:aws:events:${config.region}:${settings.centralAccount}:event-bus/default`,
    };
    this.accountParameters = parameters;
    this.addStack(
      loadAccountStack(config.root, 'accounts/dr-account.yaml', {
        account: settings.drAccount,
        region: settings.drRegion,
        parameters,
      }),
    );
    for (const account of settings.sourceAccounts) this.addSourceAccount(account, settings.sourceRegion);
    this.loadStackResourcePolicies();
    const everything = JSON.stringify([
      [...this.functions.values()].map((f) => f.policies),
      [...this.accountRoles.values()],
      [...this.resourcePolicies.values()],
    ]);
    this.timeSensitive = TIME_KEYS.some((key) => everything.includes(key));
  }

  private accountParameters: Record<string, string> = {};
  private readonly sourceStacks = new Set<string>();

  /**
   * A source account joins the estate (the StackSet deployed the source-account stack there): its roles and
   * resource policies, as accounts/source-account.yaml defines them, are evaluated from now on.
   */
  addSourceAccount(account: string, region: string): void {
    if (this.sourceStacks.has(account)) return;
    this.sourceStacks.add(account);
    this.orgAccounts.add(account);
    this.addStack(
      loadAccountStack(this.config.root, 'accounts/source-account.yaml', {
        account,
        region,
        parameters: { ...this.accountParameters, createAccountResources: 'true' },
      }),
    );
  }

  private addStack(stack: AccountStack): void {
    for (const role of stack.roles) {
      this.accountRoles.set(role.arn, {
        arn: role.arn,
        trustPolicy: validated(role.trustPolicy, 'trust', `${role.arn} trust policy`),
        policies: role.policies.map((p) => ({
          name: p.name,
          policy: validated(p.policy, 'identity', `${role.arn} ${p.name}`),
        })),
      });
    }
    for (const [arn, policy] of stack.resourcePolicies)
      this.resourcePolicies.set(arn, validated(policy, 'resource', arn));
  }

  /** The Pilotlight stack's own resource policies and encryption keys (serverless.yml resources). */
  private loadStackResourcePolicies(): void {
    for (const [logicalId, resource] of Object.entries(this.config.resources)) {
      const properties = resource.Properties ?? {};
      const resolved = () =>
        this.names.resolve(
          withPseudoParameters(properties, this.settings.centralAccount, this.config.region),
        ) as Record<string, Json>;
      switch (resource.Type) {
        case 'AWS::KMS::Key': {
          const arn = this.names.getAtt(logicalId, 'Arn');
          this.resourcePolicies.set(arn, validated(resolved().KeyPolicy ?? null, 'resource', logicalId));
          break;
        }
        case 'AWS::S3::BucketPolicy': {
          const r = resolved();
          this.resourcePolicies.set(
            `arn:aws:s3:::${String(r.Bucket)}`,
            validated(r.PolicyDocument ?? null, 'resource', logicalId),
          );
          break;
        }
        case 'AWS::SNS::TopicPolicy': {
          const r = resolved();
          for (const topic of (r.Topics as Json[]) ?? [])
            this.resourcePolicies.set(
              String(topic),
              validated(r.PolicyDocument ?? null, 'resource', logicalId),
            );
          break;
        }
        case 'AWS::S3::Bucket': {
          const r = resolved() as {
            BucketEncryption?: {
              ServerSideEncryptionConfiguration?: {
                ServerSideEncryptionByDefault?: { SSEAlgorithm?: string; KMSMasterKeyID?: string };
              }[];
            };
          };
          const sse =
            r.BucketEncryption?.ServerSideEncryptionConfiguration?.[0]?.ServerSideEncryptionByDefault;
          if (sse?.SSEAlgorithm === 'aws:kms' && sse.KMSMasterKeyID)
            this.encryptionKeys.set(this.names.ref(logicalId), sse.KMSMasterKeyID);
          break;
        }
        case 'AWS::SNS::Topic': {
          const key = (resolved() as { KmsMasterKeyId?: string }).KmsMasterKeyId;
          if (key) this.encryptionKeys.set(this.names.ref(logicalId), key);
          break;
        }
      }
    }
  }

  /** Gives every function its own role's credentials (identity.ts), as Lambda puts them in its environment. */
  registerFunctionCredentials(): void {
    let index = 0;
    for (const [key, identity] of this.functions) {
      index += 1;
      registerPrincipal(`ASIASBXFUNCTION${String(index).padStart(5, '0')}`, {
        account: identity.account,
        roleArn: identity.roleArn,
        sessionArn: identity.sessionArn,
        expiresAt: Number.POSITIVE_INFINITY,
        functionKey: key,
      });
    }
  }

  functionRole(key: string): string {
    const identity = this.functions.get(key);
    if (!identity) throw new Error(`no function ${key}`);
    return identity.roleArn;
  }

  /** The identity a request is evaluated as: a function's role, or a role of accounts/*.yaml. */
  private identityOf(principal: Principal): IdentityOf {
    if (principal.functionKey) {
      const identity = this.functions.get(principal.functionKey);
      if (identity) return identity;
    }
    const role = this.accountRoles.get(principal.roleArn);
    if (!role) throw new Error(`IAM: the sandbox knows no policies for ${principal.roleArn}`);
    return {
      roleArn: role.arn,
      sessionArn: principal.sessionArn,
      account: principal.account,
      policies: role.policies,
      ...(principal.sourceFunctionArn ? { sourceFunctionArn: principal.sourceFunctionArn } : {}),
    };
  }

  private environment(call: ApiCall): RequestEnvironment {
    return {
      account: call.caller.account,
      region: call.caller.region,
      centralAccount: this.settings.centralAccount,
      encryptionKeyOf: (resource) => this.encryptionKeys.get(resource),
      resourceArn: (kind, idOrArn, account, region, fallback) => {
        const found = [...this.world.resources.values()].find(
          (r) =>
            r.kind === kind &&
            (r.arn === idOrArn || r.id === idOrArn) &&
            r.account === account &&
            r.region === region &&
            r.phase !== 'deleted',
        );
        if (found) return found.arn;
        return idOrArn.startsWith('arn:') ? idOrArn : fallback;
      },
      vaultOfRecoveryPoint: (arn) => {
        const point = this.world.recoveryPoints.get(arn);
        return point
          ? `arn:aws:backup:${point.region}:${point.account}:backup-vault:${point.vaultName}`
          : undefined;
      },
    };
  }

  /**
   * Authorizes one intercepted call, or throws the service's access-denied error. `provisioned`: after the
   * sandbox has set up the stack, a call with the Lambda runtime's credentials outside any function is a bug.
   */
  async authorize(call: ApiCall, provisioned: boolean): Promise<void> {
    const principal = call.principal;
    if (principal.lambdaRuntime) {
      if (provisioned)
        throw new Error(
          `IAM: ${call.service}.${call.operation} was called with the Lambda credentials outside any function invocation`,
        );
      return; // the sandbox deploying the stack (CloudFormation's role), before anything runs
    }
    // A cross-account role session: the handler modules cache it process-wide, so the function using it may
    // not be the one that assumed it (nor under this sandbox's policies: the cache outlives a sandbox). In
    // AWS each function (its own container) assumes the role itself, so the calling function's right to assume
    // it (its identity policy and the role's trust policy, with the ExternalId presented) is checked on every
    // call made with the session; the decision is cached, so this costs a map look-up.
    const fn = call.caller.functionKey;
    if (principal.assumedBy !== undefined && fn) {
      const identity = this.functions.get(fn);
      if (!identity) throw new Error(`no function ${fn}`);
      const assume: IamRequest = {
        action: 'sts:AssumeRole',
        resource: principal.roleArn,
        resourceAccount: accountOf(principal.roleArn),
        context: principal.externalId === undefined ? {} : { 'sts:ExternalId': principal.externalId },
        resourcePolicyOf: principal.roleArn,
      };
      const decision = await this.decide(identity, assume, call.caller.region);
      if (!decision.allowed)
        this.refuse(call, this.denied('STS', identity.sessionArn, assume, decision, 'STS'), assume);
      else this.used(identity.roleArn, assume.action);
    }
    const identity = this.identityOf(principal);
    const requests = iamRequestsFor(call.service, call.operation, call.input, this.environment(call));
    for (const request of requests) {
      const decision = await this.decide(identity, request, call.caller.region);
      if (!decision.allowed)
        this.refuse(call, this.denied(call.service, identity.sessionArn, request, decision), request);
      else
        this.actionsUsed.set(
          identity.roleArn,
          (this.actionsUsed.get(identity.roleArn) ?? new Set()).add(request.action),
        );
    }
    this.authorizedCalls += 1;
    const who = `${fn ?? '-'} as ${identity.sessionArn}`;
    this.callsByPrincipal.set(who, (this.callsByPrincipal.get(who) ?? 0) + 1);
  }

  /** What a call is authorized as: each action, resource and the full request context (for tests and audits). */
  requestsFor(call: ApiCall): (IamRequest & { principal: string })[] {
    const identity = this.identityOf(call.principal);
    return iamRequestsFor(call.service, call.operation, call.input, this.environment(call)).map(
      (request) => ({
        ...request,
        principal: identity.sessionArn,
        context: this.requestContext(identity, request, call.caller.region),
      }),
    );
  }

  private used(roleArn: string, action: string): void {
    this.actionsUsed.set(roleArn, (this.actionsUsed.get(roleArn) ?? new Set()).add(action));
  }

  private refuse(call: ApiCall, error: IamDenied, request: IamRequest): void {
    this.denials.push({
      functionKey: call.caller.functionKey,
      principal: call.caller.sessionArn,
      action: request.action,
      resource: request.resource,
      message: error.message,
    });
    if (this.mode === 'enforce') throw error;
  }

  /** The request context AWS would supply: global keys, the resource's tags, and the request's own keys. */
  requestContext(
    identity: IdentityOf,
    request: IamRequest,
    region: string,
  ): Record<string, string | string[]> {
    const now = new Date();
    const context: Record<string, string | string[]> = {
      'aws:PrincipalArn': identity.roleArn,
      'aws:PrincipalAccount': identity.account,
      'aws:PrincipalType': 'AssumedRole',
      'aws:SecureTransport': 'true',
      'aws:CurrentTime': now.toISOString(),
      'aws:EpochTime': String(Math.floor(now.getTime() / 1000)),
      'aws:RequestedRegion': region,
      'aws:ViaAWSService': request.via ? 'true' : 'false',
    };
    if (this.orgAccounts.has(identity.account)) context['aws:PrincipalOrgID'] = this.settings.organizationId;
    if (identity.sourceFunctionArn) context['lambda:SourceFunctionArn'] = identity.sourceFunctionArn;
    const resourceAccount = request.resourceAccount || identity.account;
    if (request.resource !== '*') {
      context['aws:ResourceAccount'] = resourceAccount;
      if (this.orgAccounts.has(resourceAccount)) context['aws:ResourceOrgID'] = this.settings.organizationId;
    }
    if (request.taggedResource) {
      const resource = this.world.resources.get(request.taggedResource);
      // The resource type's own condition keys (ec2:AvailabilityZone of a volume: Service Authorization Reference).
      Object.assign(context, resource?.conditionKeys ?? {});
      const tags = resource?.tags ?? {};
      const servicePrefix = resource?.tagConditionPrefix;
      for (const [key, value] of Object.entries(tags)) {
        context[`aws:ResourceTag/${key}`] = value;
        // The service's own tag keys (ec2:ResourceTag/, rds:db-tag/) apply to that service's actions.
        if (servicePrefix && request.action.startsWith(`${servicePrefix.split(':')[0]}:`))
          context[`${servicePrefix}${key}`] = value;
      }
    }
    return { ...context, ...request.context };
  }

  private decide(identity: IdentityOf, request: IamRequest, region: string): Promise<Decision> {
    const context = this.requestContext(identity, request, region);
    const cacheable = this.timeSensitive
      ? context
      : Object.fromEntries(Object.entries(context).filter(([key]) => !TIME_KEYS.includes(key)));
    const key = JSON.stringify([
      identity.roleArn,
      request.action,
      request.resource,
      request.resourcePolicyOf,
      cacheable,
    ]);
    let decision = this.decisions.get(key);
    if (!decision) {
      decision = this.evaluate(identity, request, context);
      this.decisions.set(key, decision);
    }
    return decision;
  }

  private resourcePolicyFor(request: IamRequest): ValidatedPolicy<{ name: string }> | undefined {
    if (!request.resourcePolicyOf) return undefined;
    // A role that does not exist trusts no one.
    if (request.action === 'sts:AssumeRole')
      return this.accountRoles.get(request.resourcePolicyOf)?.trustPolicy ?? NO_TRUST;
    return this.resourcePolicies.get(request.resourcePolicyOf);
  }

  /**
   * The shape of a request (its action, and its resource ARN with the last identifier generalized), whose
   * resource type and allowed context keys do not change with the identifier (pl-1, pl-2, vol-…).
   */
  private shapeOf(request: IamRequest): string {
    return `${request.action} ${request.resource.replace(/[^:/]+$/, '')}`;
  }

  /**
   * The library's fast path: the context normalized as runSimulation normalizes it (only the keys the action
   * and resource type allow, typed as arrays or single values), then evaluated without re-validating anything.
   * Used only for a shape the full simulation has already validated (and agreed with) once.
   */
  private async fastEvaluate(
    simulation: Simulation,
    allowed: Set<string>,
  ): Promise<'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied' | string> {
    const normalized: Record<string, string | string[]> = {};
    for (const [key, value] of Object.entries(simulation.request.contextVariables)) {
      const lower = key.toLowerCase();
      const slash = lower.indexOf('/');
      const prefix = slash < 0 ? undefined : lower.slice(0, slash + 1);
      if (!allowed.has(lower) && !(prefix && [...allowed].some((k) => k.startsWith(prefix)))) continue;
      let isArray = this.keyIsArray.get(lower);
      if (isArray === undefined) {
        isArray = isConditionKeyArray(await typeForContextKey(lower));
        this.keyIsArray.set(lower, isArray);
      }
      normalized[key] = isArray ? [value].flat() : Array.isArray(value) ? (value[0] ?? '') : value;
    }
    return runUnsafeSimulation(
      { ...simulation, request: { ...simulation.request, contextVariables: normalized } },
      {},
    );
  }

  /**
   * The identity's policies with only the statements whose Action (or NotAction) can match `action`. The
   * library analyzes every statement of every policy (resources, conditions and an explanation each) whatever
   * its action; a statement that cannot match the action cannot allow or deny it, so dropping it changes no
   * decision, and the fast path's first answer for every shape is checked against the full simulation anyway.
   */
  private policiesFor(identity: IdentityOf, action: string): SimulationIdentityPolicy[] {
    const key = `${identity.roleArn} ${action}`;
    let policies = this.policiesByAction.get(key);
    if (!policies) {
      policies = identity.policies.flatMap((entry) => {
        const policy = entry.policy as ValidatedPolicy<{ name: string }>;
        const document = policy.policyDocument as { Statement?: Json };
        const statements = [document.Statement ?? []]
          .flat()
          .filter((statement) => appliesTo(statement, action));
        if (statements.length === 0) return [];
        return [
          { name: entry.name, policy: { ...policy, policyDocument: { ...document, Statement: statements } } },
        ];
      });
      this.policiesByAction.set(key, policies);
    }
    return policies;
  }

  private readonly policiesByAction = new Map<string, SimulationIdentityPolicy[]>();

  private async evaluate(
    identity: IdentityOf,
    request: IamRequest,
    context: Record<string, string | string[]>,
  ): Promise<Decision> {
    this.evaluations += 1;
    const simulation: Simulation = {
      request: {
        principal: identity.sessionArn,
        action: request.action,
        resource: { resource: request.resource, accountId: request.resourceAccount || identity.account },
        contextVariables: context,
      },
      identityPolicies: identity.policies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: this.resourcePolicyFor(request),
    };
    // Actions without resource-level permissions ("*") always take the full simulation: it alone knows that a
    // statement naming an ARN does not grant them (and their decisions are cached whole anyway).
    const shape = request.resource === '*' ? undefined : this.shapeOf(request);
    const allowedKeys = shape ? this.shapes.get(shape) : undefined;
    const relevant = { ...simulation, identityPolicies: this.policiesFor(identity, request.action) };
    if (allowedKeys && (await this.fastEvaluate(relevant, allowedKeys)) === 'Allowed')
      return { allowed: true, reason: '' };
    // A denial (or a new shape) is evaluated in full, for AWS's reason and the library's validation.
    const result: RunSimulationResults = await runSimulation(simulation, {});
    if (result.resultType === 'error') {
      // EBS recovery points (arn:aws:ec2:REGION::snapshot/ID) do not fit the library's recovery-point ARN
      // pattern; the same policies are evaluated without its resource-type validation.
      if (result.errors.message === 'no.resource.types' && request.action.startsWith('backup:')) {
        const outcome = runUnsafeSimulation(simulation, {});
        return { allowed: outcome === 'Allowed', reason: this.reason(request.action, outcome, undefined) };
      }
      throw new Error(
        `IAM: cannot evaluate ${request.action} on ${request.resource}: ${JSON.stringify(result.errors)}`,
      );
    }
    if (shape && !allowedKeys && result.resultType === 'single') {
      const [service = '', action = ''] = request.action.split(':');
      const keys = new Set(
        await allowedContextKeysForRequest(service, action, request.resource, false, undefined),
      );
      // The fast path must agree with the full simulation before it is trusted with this shape.
      const fast = await this.fastEvaluate(relevant, keys);
      if (fast !== result.overallResult)
        throw new Error(
          `IAM: the fast evaluation of ${request.action} on ${request.resource} says ${fast}, the full one ${result.overallResult}`,
        );
      this.shapes.set(shape, keys);
    }
    if (result.overallResult === 'Allowed') return { allowed: true, reason: '' };
    const analysis = result.resultType === 'single' ? result.result.analysis : result.results[0]?.analysis;
    return { allowed: false, reason: this.reason(request.action, result.overallResult, analysis) };
  }

  private reason(
    action: string,
    overall: string,
    analysis: { identityAnalysis?: { result: string }; resourceAnalysis?: { result: string } } | undefined,
  ): string {
    if (analysis?.identityAnalysis?.result === 'ExplicitlyDenied')
      return 'with an explicit deny in an identity-based policy';
    if (analysis?.resourceAnalysis?.result === 'ExplicitlyDenied')
      return 'with an explicit deny in a resource-based policy';
    if (overall === 'ExplicitlyDenied') return 'with an explicit deny';
    if (analysis?.identityAnalysis?.result !== 'Allowed')
      return `because no identity-based policy allows the ${action} action`;
    return `because no resource-based policy allows the ${action} action`;
  }

  /** The access-denied error, worded as the service words it. */
  private denied(
    service: string,
    sessionArn: string,
    request: IamRequest,
    decision: Decision,
    reportedBy?: string,
  ): IamDenied {
    if (request.action === 'sts:AssumeRole')
      return new IamDenied(
        'AccessDenied',
        `User: ${sessionArn} is not authorized to perform: sts:AssumeRole on resource: ${request.resource}`,
        reportedBy,
      );
    const action =
      service === 'SNS' && request.action.startsWith('sns:')
        ? `SNS:${request.action.slice(4)}`
        : request.action;
    const resource = service === 'S3' && !request.via ? `"${request.resource}"` : request.resource;
    const message = `User: ${sessionArn} is not authorized to perform: ${action} on resource: ${resource} ${decision.reason}`;
    if (request.via === 'sns') return new IamDenied('KMSAccessDeniedException', message);
    if (service === 'EC2')
      return new IamDenied(
        'UnauthorizedOperation',
        `You are not authorized to perform this operation. ${message}. Encoded authorization failure message: ${Buffer.from(
          JSON.stringify({ allowed: false, action: request.action, resource: request.resource }),
        ).toString('base64')}`,
      );
    return new IamDenied(DENIAL_ERRORS[service] ?? 'AccessDeniedException', message);
  }
}
