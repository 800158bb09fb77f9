import type { Json, ServerlessConfig } from './serverless-config.js';

/**
 * Resolves the CloudFormation intrinsics serverless.yml and the ASL use (Ref, Fn::GetAtt, Fn::Sub, Fn::Join)
 * to the names and ARNs the stack would have in the sandbox's central account.
 */
export class StackNames {
  constructor(
    private readonly config: ServerlessConfig,
    readonly account: string,
  ) {}

  get region(): string {
    return this.config.region;
  }

  functionArn(key: string): string {
    return `arn:aws:lambda:${this.region}:${this.account}:function:${this.config.service}-${this.config.stage}-${key}`;
  }

  stateMachineArn(name: string): string {
    return `arn:aws:states:${this.region}:${this.account}:stateMachine:${name}`;
  }

  private property(logicalId: string, name: string): string | undefined {
    const value = this.config.resources[logicalId]?.Properties?.[name];
    return value === undefined ? undefined : String(this.resolve(value));
  }

  private generatedName(logicalId: string): string {
    return `${this.config.service}-${this.config.stage}-${logicalId.toLowerCase()}-sbx`;
  }

  ref(logicalId: string): string {
    const machine = this.config.stateMachines.find((m) => m.id === logicalId);
    if (machine) return this.stateMachineArn(machine.name);
    const resource = this.config.resources[logicalId];
    if (!resource) throw new Error(`Ref: no resource ${logicalId} in serverless.yml`);
    switch (resource.Type) {
      case 'AWS::DynamoDB::Table':
        return this.property(logicalId, 'TableName') ?? this.generatedName(logicalId);
      case 'AWS::SNS::Topic':
        return `arn:aws:sns:${this.region}:${this.account}:${this.property(logicalId, 'TopicName') ?? this.generatedName(logicalId)}`;
      case 'AWS::S3::Bucket':
        return this.property(logicalId, 'BucketName') ?? this.generatedName(logicalId);
      case 'AWS::SQS::Queue':
        return `https://sqs.${this.region}.amazonaws.com/${this.account}/${this.property(logicalId, 'QueueName') ?? this.generatedName(logicalId)}`;
      case 'AWS::KMS::Key':
        return `${logicalId.toLowerCase()}-0000-4000-a000-000000000000`;
      default:
        throw new Error(`Ref: the sandbox does not name ${resource.Type} (${logicalId})`);
    }
  }

  getAtt(logicalId: string, attribute: string): string {
    if (this.config.functions.some((f) => f.key === logicalId) && attribute === 'Arn')
      return this.functionArn(logicalId);
    const resource = this.config.resources[logicalId];
    if (!resource) throw new Error(`Fn::GetAtt: no resource ${logicalId} in serverless.yml`);
    const name = this.ref(logicalId);
    switch (`${resource.Type}.${attribute}`) {
      case 'AWS::DynamoDB::Table.Arn':
        return `arn:aws:dynamodb:${this.region}:${this.account}:table/${name}`;
      case 'AWS::S3::Bucket.Arn':
        return `arn:aws:s3:::${name}`;
      case 'AWS::SNS::Topic.TopicArn':
        return name;
      case 'AWS::SQS::Queue.Arn':
        return `arn:aws:sqs:${this.region}:${this.account}:${name.split('/').pop()}`;
      case 'AWS::KMS::Key.Arn':
        return `arn:aws:kms:${this.region}:${this.account}:key/${name}`;
      default:
        throw new Error(
          `Fn::GetAtt: the sandbox does not resolve ${resource.Type}.${attribute} (${logicalId})`,
        );
    }
  }

  private sub(template: string, variables: Record<string, Json>): string {
    return template.replace(/\$\{([^}]+)\}/g, (_match, name: string) => {
      if (name in variables) return String(this.resolve(variables[name] ?? ''));
      if (name === 'AWS::Region') return this.region;
      if (name === 'AWS::AccountId') return this.account;
      if (name === 'AWS::Partition') return 'aws';
      if (name === 'AWS::URLSuffix') return 'amazonaws.com';
      if (name === 'AWS::StackName') return `${this.config.service}-${this.config.stage}`;
      const [logicalId = '', attribute] = name.split('.');
      return attribute ? this.getAtt(logicalId, attribute) : this.ref(logicalId);
    });
  }

  /** Replaces every intrinsic in a value (recursively) with its sandbox value. */
  resolve(value: Json): Json {
    if (Array.isArray(value)) return value.map((item) => this.resolve(item));
    if (!value || typeof value !== 'object') return value;
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
          return this.getAtt(logicalId ?? '', attribute ?? 'Arn');
        }
        case 'Fn::Sub':
          return Array.isArray(argument)
            ? this.sub(String(argument[0]), (argument[1] ?? {}) as Record<string, Json>)
            : this.sub(String(argument), {});
        case 'Fn::Join': {
          const [delimiter, parts] = argument as [string, Json[]];
          return parts.map((part) => String(this.resolve(part))).join(delimiter);
        }
      }
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.resolve(v)]));
  }
}
