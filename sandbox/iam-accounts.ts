import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, type Tags } from 'yaml';
import type { Json } from './serverless-config.js';

/**
 * The IAM side of the account stacks (accounts/dr-account.yaml, accounts/source-account.yaml), read as
 * CloudFormation would deploy them into a sandbox account: parameters from the values the Pilotlight stack's
 * params give (or the template's defaults), conditions, and the intrinsics those templates use. What comes
 * out: each role's name, trust policy and inline policies, and the resource policies (vault access policy,
 * key policy) that IAM evaluation needs.
 */
export interface AccountRole {
  arn: string;
  trustPolicy: Json;
  policies: { name: string; policy: Json }[];
}

export interface AccountStack {
  account: string;
  region: string;
  roles: AccountRole[];
  /** Resource policies by the ARN of the resource they protect (backup vaults, KMS keys). */
  resourcePolicies: Map<string, Json>;
}

type Template = {
  Parameters?: Record<string, { Default?: Json }>;
  Conditions?: Record<string, Json>;
  Resources?: Record<string, { Type: string; Condition?: string; Properties?: Record<string, Json> }>;
};

/** Short-form tags (!Ref, !Sub, ...) read as their long form, in case a template uses them. */
const shortForms: Tags = [
  'Ref',
  'Sub',
  'GetAtt',
  'Join',
  'If',
  'Equals',
  'Not',
  'Select',
  'GetAZs',
  'Split',
].flatMap((name) => {
  const key = name === 'Ref' ? 'Ref' : `Fn::${name}`;
  const resolve = (value: unknown) => ({
    [key]: name === 'GetAtt' && typeof value === 'string' ? value.split('.') : value,
  });
  return (['scalar', 'seq', 'map'] as const).map((nodeClass) => ({
    tag: `!${name}`,
    collection: nodeClass === 'scalar' ? undefined : nodeClass,
    resolve: (value: unknown) =>
      resolve(
        typeof value === 'object' && value !== null && 'toJSON' in value
          ? (value as { toJSON: () => unknown }).toJSON()
          : value,
      ),
  })) as Tags;
});

function isRecord(value: unknown): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class TemplateResolver {
  constructor(
    private readonly file: string,
    private readonly template: Template,
    private readonly parameters: Record<string, string>,
    private readonly account: string,
    private readonly region: string,
  ) {}

  parameter(name: string): string {
    const value = this.parameters[name] ?? this.template.Parameters?.[name]?.Default;
    if (value === undefined || value === null)
      throw new Error(`${this.file}: parameter ${name} has no value in the sandbox`);
    return String(value);
  }

  condition(name: string): boolean {
    const expression = this.template.Conditions?.[name];
    if (expression === undefined) throw new Error(`${this.file}: no condition ${name}`);
    return Boolean(this.resolve(expression));
  }

  private resource(logicalId: string) {
    const resource = this.template.Resources?.[logicalId];
    if (!resource) throw new Error(`${this.file}: no resource ${logicalId}`);
    return resource;
  }

  /** The physical name CloudFormation gives a resource (its name property, or a generated one). */
  private physicalName(logicalId: string, property: string): string {
    const value = this.resource(logicalId).Properties?.[property];
    return value === undefined ? `${logicalId.toLowerCase()}-sbx` : String(this.resolve(value));
  }

  ref(name: string): string {
    if (name === 'AWS::AccountId') return this.account;
    if (name === 'AWS::Region') return this.region;
    if (name === 'AWS::Partition') return 'aws';
    if (name === 'AWS::URLSuffix') return 'amazonaws.com';
    if (this.template.Parameters && name in this.template.Parameters) return this.parameter(name);
    const resource = this.resource(name);
    switch (resource.Type) {
      case 'AWS::IAM::Role':
        return this.physicalName(name, 'RoleName');
      case 'AWS::Backup::BackupVault':
        return this.physicalName(name, 'BackupVaultName');
      case 'AWS::KMS::Key':
        return `${name.toLowerCase()}-0000-4000-a000-000000000000`;
      case 'AWS::Logs::LogGroup':
        return this.physicalName(name, 'LogGroupName');
      default:
        return `${name.toLowerCase()}-sbx`;
    }
  }

  getAtt(logicalId: string, attribute: string): string {
    const resource = this.resource(logicalId);
    switch (`${resource.Type}.${attribute}`) {
      case 'AWS::IAM::Role.Arn':
        return `arn:aws:iam::${this.account}:role/${this.ref(logicalId)}`;
      case 'AWS::Backup::BackupVault.BackupVaultArn':
        return `arn:aws:backup:${this.region}:${this.account}:backup-vault:${this.ref(logicalId)}`;
      case 'AWS::KMS::Key.Arn':
        return `arn:aws:kms:${this.region}:${this.account}:key/${this.ref(logicalId)}`;
      case 'AWS::Logs::LogGroup.Arn':
        return `arn:aws:logs:${this.region}:${this.account}:log-group:${this.ref(logicalId)}:*`;
      case 'AWS::EC2::Subnet.AvailabilityZone':
        return String(this.resolve(resource.Properties?.AvailabilityZone ?? ''));
      default:
        return `${logicalId}.${attribute}`;
    }
  }

  private sub(template: string, variables: Record<string, Json>): string {
    return template.replace(/\$\{([^}!]+)\}/g, (_match, name: string) => {
      if (name in variables) return String(this.resolve(variables[name] ?? ''));
      const [logicalId = '', attribute] = name.split('.');
      return attribute ? this.getAtt(logicalId, attribute) : this.ref(logicalId);
    });
  }

  resolve(value: Json): Json {
    if (Array.isArray(value)) return value.map((item) => this.resolve(item));
    if (!isRecord(value)) return value;
    const keys = Object.keys(value);
    if (keys.length === 1) {
      const argument = value[keys[0] ?? ''] as Json;
      switch (keys[0]) {
        case 'Ref':
          return this.ref(String(argument));
        case 'Fn::GetAtt': {
          const [logicalId, attribute] = Array.isArray(argument)
            ? argument.map(String)
            : String(argument).split('.');
          return this.getAtt(logicalId ?? '', attribute ?? '');
        }
        case 'Fn::Sub':
          return Array.isArray(argument)
            ? this.sub(String(argument[0]), (argument[1] ?? {}) as Record<string, Json>)
            : this.sub(String(argument), {});
        case 'Fn::Select': {
          const [index, list] = argument as [Json, Json];
          const items = this.resolve(list) as Json[];
          return items[Number(this.resolve(index))] ?? '';
        }
        case 'Fn::GetAZs':
          // The sandbox's regions have three Availability Zones, a to c.
          return ['a', 'b', 'c'].map((zone) => `${this.region}${zone}`);
        case 'Fn::Join': {
          const [delimiter, parts] = argument as [string, Json[]];
          return (this.resolve(parts) as Json[]).map(String).join(delimiter);
        }
        case 'Fn::If': {
          const [condition, whenTrue, whenFalse] = argument as [string, Json, Json];
          return this.resolve(this.condition(condition) ? whenTrue : whenFalse);
        }
        case 'Fn::Equals': {
          const [left, right] = this.resolve(argument) as Json[];
          return JSON.stringify(left) === JSON.stringify(right);
        }
        case 'Fn::Not':
          return !(this.resolve(argument) as Json[])[0];
        case 'Condition':
          if (typeof argument === 'string') return this.condition(argument);
      }
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.resolve(v)]));
  }
}

/**
 * Deploys (in the sandbox's imagination) one account template: `parameters` are matched to the template's
 * Parameters by name (DrRoleName ← drRoleName); those absent take the template's Default.
 */
export function loadAccountStack(
  root: string,
  file: string,
  options: { account: string; region: string; parameters: Record<string, string> },
): AccountStack {
  const template = parse(readFileSync(join(root, file), 'utf8'), { customTags: shortForms }) as Template;
  const byName = new Map(Object.entries(options.parameters).map(([k, v]) => [k.toLowerCase(), v]));
  const parameters: Record<string, string> = {};
  for (const name of Object.keys(template.Parameters ?? {})) {
    const value = byName.get(name.toLowerCase());
    if (value !== undefined) parameters[name] = value;
  }
  const resolver = new TemplateResolver(file, template, parameters, options.account, options.region);
  const roles: AccountRole[] = [];
  const resourcePolicies = new Map<string, Json>();
  for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
    if (resource.Condition && !resolver.condition(resource.Condition)) continue;
    const properties = resource.Properties ?? {};
    if (resource.Type === 'AWS::IAM::Role') {
      roles.push({
        arn: resolver.getAtt(logicalId, 'Arn'),
        trustPolicy: resolver.resolve(properties.AssumeRolePolicyDocument ?? null),
        policies: (Array.isArray(properties.Policies) ? properties.Policies : [])
          .filter(isRecord)
          .map((p) => ({
            name: String(resolver.resolve(p.PolicyName ?? logicalId)),
            policy: resolver.resolve(p.PolicyDocument ?? null),
          })),
      });
      if (properties.ManagedPolicyArns)
        throw new Error(`${file}: ${logicalId} has managed policies, which the sandbox cannot read`);
    } else if (resource.Type === 'AWS::Backup::BackupVault' && properties.AccessPolicy) {
      resourcePolicies.set(
        resolver.getAtt(logicalId, 'BackupVaultArn'),
        resolver.resolve(properties.AccessPolicy),
      );
    } else if (resource.Type === 'AWS::KMS::Key' && properties.KeyPolicy) {
      resourcePolicies.set(resolver.getAtt(logicalId, 'Arn'), resolver.resolve(properties.KeyPolicy));
    } else if (resource.Type === 'AWS::IAM::ManagedPolicy' || resource.Type === 'AWS::IAM::Policy') {
      throw new Error(
        `${file}: ${logicalId} (${resource.Type}) is not read by the sandbox's IAM evaluation yet`,
      );
    }
  }
  return { account: options.account, region: options.region, roles, resourcePolicies };
}
