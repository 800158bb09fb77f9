/**
 * The one ARN helper. ARNs are `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`; RESOURCE may hold further
 * colons (`db:name`, `snapshot:awsbackup:…`) or slashes (`volume/vol-…`, `table/name`). Some have no account
 * (S3 buckets, EBS snapshots) or no region (S3). Written here rather than adding @aws-sdk/util-arn-parser for
 * the same dozen lines; the resource-part helpers below are what every resource module needs.
 */
export interface Arn {
  partition: string;
  service: string;
  region: string;
  account: string;
  /** Everything after the account field. */
  resource: string;
}

export class InvalidArn extends Error {
  override readonly name = 'InvalidArn';
}

export function parseArn(value: string): Arn | undefined {
  const match = value.match(/^arn:(aws[a-z-]*):([a-z0-9-]+):([a-z0-9-]*):(\d{12}|aws|):(.+)$/);
  if (!match) return undefined;
  const [, partition = '', service = '', region = '', account = '', resource = ''] = match;
  return { partition, service, region, account, resource };
}

export function mustParseArn(value: string): Arn {
  const parsed = parseArn(value);
  if (!parsed) throw new InvalidArn(`"${value.slice(0, 200)}" is not an ARN`);
  return parsed;
}

/** The account field of an ARN (empty for ARNs without one). */
export function accountOf(arn: string): string {
  return parseArn(arn)?.account ?? '';
}

/** The last `/`- or `:`-separated segment of an ARN: the resource id (instance, volume, table, cluster…). */
export function resourceIdFromArn(arn: string): string {
  const id = mustParseArn(arn).resource.split(/[:/]/).pop();
  if (!id) throw new InvalidArn(`cannot read a resource id from ${arn}`);
  return id;
}

/**
 * The resource type and id of an ARN's resource part: `db:orders` → {type: 'db', id: 'orders'},
 * `volume/vol-1` → {type: 'volume', id: 'vol-1'}; for S3 (`bucket-name`) the type is '' and the id the bucket.
 */
export function resourceParts(arn: string): { service: string; type: string; id: string } {
  const { service, resource } = mustParseArn(arn);
  const separator = resource.search(/[:/]/);
  if (separator < 0) return { service, type: '', id: resource };
  return { service, type: resource.slice(0, separator), id: resource.slice(separator + 1) };
}

/** `service:type` as the Resource Groups Tagging API names resource types (`rds:db`, `ec2:volume`, `s3`). */
export function taggingTypeOf(arn: string): string {
  const { service, type } = resourceParts(arn);
  return type ? `${service}:${type}` : service;
}
