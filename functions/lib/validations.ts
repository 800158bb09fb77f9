import * as z from 'zod';

/**
 * Validation profiles (validations.yml): named lists of data checks that prove a restored copy holds the
 * data, not only that it came up. A source resource picks a profile with the tag
 * `pilotlight:validation=<profile>`; otherwise its type's default applies. docs/validation.md.
 */

/** validations.yml cannot be read, is not YAML, or does not match the schema. The message is one line. */
export class ValidationProfilesInvalid extends Error {
  override readonly name = 'ValidationProfilesInvalid';
}

/** A resource's `pilotlight:validation` tag names a profile that does not exist or does not fit its type. */
export class ValidationProfileNotFound extends Error {
  override readonly name = 'ValidationProfileNotFound';
}

export { VALIDATION_TAG } from './drill.js';

import { VALIDATION_TAG } from './drill.js';

const operators = ['>=', '<=', '==', '>', '<'] as const;
export const Expectation = z.strictObject({ op: z.enum(operators), value: z.number() });
export type Expectation = z.infer<typeof Expectation>;

/** One SQL statement: a trailing `;` is tolerated, a second statement is not (the probe runs exactly one). */
const sqlQuery = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .transform((query) => query.replace(/;\s*$/, ''))
  .refine((query) => !query.includes(';'), 'must be a single statement (no ";" inside)');

const identifier = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?$/,
    'must be a table name such as orders or app.orders',
  );

const name = z.string().min(1).max(200).optional();
const withinMinutes = z.number().positive();

/** Your own validator's functions are named pilotlight-validator-*: the only ones the DR role may invoke. */
export const VALIDATOR_PREFIX = 'pilotlight-validator-';
const validatorFunction = z
  .string()
  .regex(
    new RegExp(
      `^(arn:aws[a-z-]*:lambda:[a-z0-9-]+:\\d{12}:function:)?${VALIDATOR_PREFIX}[A-Za-z0-9_-]{1,43}$`,
    ),
    `must be the name or ARN of a Lambda function named ${VALIDATOR_PREFIX}<name> in the DR account`,
  );
/** checkHealth waits at most 110 s for everything; a validator gets at most 60 of them. */
export const VALIDATOR_TIMEOUT_MAX_SECONDS = 60;

/** Each check kind, as written in the YAML (`- sql: {...}`); `name` labels it in evidence. */
const checkKinds = {
  sql: z.strictObject({ name, query: sqlQuery, expect: Expectation }),
  tableExists: z.strictObject({ name, table: identifier }),
  dynamodbCount: z.strictObject({ name, table: z.string().min(3).optional(), expect: Expectation }),
  dynamodbKeys: z.strictObject({
    name,
    keys: z
      .array(z.record(z.string().min(1), z.union([z.string(), z.number()])))
      .min(1)
      .max(100),
  }),
  s3Count: z.strictObject({ name, prefix: z.string(), expect: Expectation }),
  s3Checksums: z.strictObject({ name, prefix: z.string(), sample: z.number().int().min(1).max(1000) }),
  freshness: z.union([
    z.strictObject({ name, query: sqlQuery, withinMinutes }),
    z.strictObject({ name, attribute: z.string().min(1), withinMinutes }),
    z.strictObject({ name, prefix: z.string(), withinMinutes }),
  ]),
  /** Your own Lambda in the DR account: it gets the restored copy and answers checks (functions/lib/validators.ts). */
  validator: z.strictObject({
    name,
    function: validatorFunction,
    timeoutSeconds: z.number().int().min(1).max(VALIDATOR_TIMEOUT_MAX_SECONDS).default(30),
  }),
} as const;

type CheckKinds = { [K in keyof typeof checkKinds]: z.infer<(typeof checkKinds)[K]> };
type KindOf<K extends keyof CheckKinds> = { kind: K } & CheckKinds[K];

export type SqlCheck = KindOf<'sql'>;
export type TableExistsCheck = KindOf<'tableExists'>;
export type DynamoDbCountCheck = KindOf<'dynamodbCount'>;
export type DynamoDbKeysCheck = KindOf<'dynamodbKeys'>;
export type S3CountCheck = KindOf<'s3Count'>;
export type S3ChecksumsCheck = KindOf<'s3Checksums'>;
export type FreshnessCheck = KindOf<'freshness'>;
export type ValidatorCheck = KindOf<'validator'>;
/** The checks the resource type's own module runs (everything but your validators). */
export type DataCheck =
  | SqlCheck
  | TableExistsCheck
  | DynamoDbCountCheck
  | DynamoDbKeysCheck
  | S3CountCheck
  | S3ChecksumsCheck
  | FreshnessCheck;
/** Any check a profile lists. */
export type ProfileCheck = DataCheck | ValidatorCheck;

const kindNames = Object.keys(checkKinds) as (keyof typeof checkKinds)[];

/**
 * A check is an object with exactly one key, the kind. Written as a strict object of optional kinds, so a
 * misspelt kind is reported by name ("Unrecognized key: sqll") rather than as "no union member matched".
 */
export const DataCheckSchema = z
  .strictObject({
    sql: checkKinds.sql.optional(),
    tableExists: checkKinds.tableExists.optional(),
    dynamodbCount: checkKinds.dynamodbCount.optional(),
    dynamodbKeys: checkKinds.dynamodbKeys.optional(),
    s3Count: checkKinds.s3Count.optional(),
    s3Checksums: checkKinds.s3Checksums.optional(),
    freshness: checkKinds.freshness.optional(),
    validator: checkKinds.validator.optional(),
  })
  .transform((written, ctx): ProfileCheck => {
    const found: ProfileCheck[] = [];
    if (written.sql) found.push({ kind: 'sql', ...written.sql });
    if (written.tableExists) found.push({ kind: 'tableExists', ...written.tableExists });
    if (written.dynamodbCount) found.push({ kind: 'dynamodbCount', ...written.dynamodbCount });
    if (written.dynamodbKeys) found.push({ kind: 'dynamodbKeys', ...written.dynamodbKeys });
    if (written.s3Count) found.push({ kind: 's3Count', ...written.s3Count });
    if (written.s3Checksums) found.push({ kind: 's3Checksums', ...written.s3Checksums });
    if (written.freshness) found.push({ kind: 'freshness', ...written.freshness });
    if (written.validator) found.push({ kind: 'validator', ...written.validator });
    const [check] = found;
    if (found.length !== 1 || check === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `a check has exactly one kind (one of ${kindNames.join(', ')}), found ${found.length === 0 ? 'none' : found.map((c) => c.kind).join(', ')}`,
      });
      return z.NEVER;
    }
    return check;
  });

/** Where a check runs: SQL through the probe in the DR VPC; DynamoDB and S3 through the DR role's clients. */
export type DataFamily = 'sql' | 'dynamodb' | 's3';

export function familyOf(check: DataCheck): DataFamily {
  switch (check.kind) {
    case 'sql':
    case 'tableExists':
      return 'sql';
    case 'dynamodbCount':
    case 'dynamodbKeys':
      return 'dynamodb';
    case 's3Count':
    case 's3Checksums':
      return 's3';
    case 'freshness':
      return 'query' in check ? 'sql' : 'attribute' in check ? 'dynamodb' : 's3';
  }
}

export function isValidator(check: ProfileCheck): check is ValidatorCheck {
  return check.kind === 'validator';
}

/** A profile's checks the resource type's module runs (all but your validators). */
export function builtInChecks(checks: readonly ProfileCheck[]): DataCheck[] {
  return checks.filter((check): check is DataCheck => !isValidator(check));
}

/**
 * Whether a profile's checks can run against a resource type: your validators against any type; the other
 * kinds only against a type whose family they are. Returns the first check that cannot, if any.
 */
function misfitFor(resourceType: string, checks: ProfileCheck[]): DataCheck | undefined {
  const family = familyOfResourceType[resourceType];
  return checks.filter((check) => !isValidator(check)).find((check) => familyOf(check) !== family);
}

/** The family each AWS Backup resource type's data is checked with; types not listed have no data checks. */
export const familyOfResourceType: Readonly<Record<string, DataFamily>> = {
  RDS: 'sql',
  Aurora: 'sql',
  Redshift: 'sql',
  DynamoDB: 'dynamodb',
  S3: 's3',
};

const profileName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'profile names are lower-case kebab-case');

export const ValidationProfilesSchema = z
  .strictObject({
    /** The profile each resource type gets when its resource has no `pilotlight:validation` tag. */
    defaults: z.record(z.string(), profileName).default({}),
    profiles: z.record(profileName, z.array(DataCheckSchema).min(1, 'a profile lists at least one check')),
  })
  .superRefine((file, ctx) => {
    for (const [resourceType, profile] of Object.entries(file.defaults)) {
      const checks = file.profiles[profile];
      if (!checks) {
        ctx.addIssue({
          code: 'custom',
          path: ['defaults', resourceType],
          message: `names profile "${profile}", which is not defined (defined: ${Object.keys(file.profiles).join(', ')})`,
        });
        continue;
      }
      const family = familyOfResourceType[resourceType];
      if (!family && !checks.every(isValidator)) {
        ctx.addIssue({
          code: 'custom',
          path: ['defaults', resourceType],
          message: `${resourceType} has no built-in data checks (types with them: ${Object.keys(familyOfResourceType).join(', ')}); its profile may list only validator checks`,
        });
        continue;
      }
      const misfit = misfitFor(resourceType, checks);
      if (misfit) {
        ctx.addIssue({
          code: 'custom',
          path: ['defaults', resourceType],
          message: `profile "${profile}" has a ${misfit.kind} check, which cannot run against ${resourceType}`,
        });
      }
    }
  });
export type ValidationProfiles = z.infer<typeof ValidationProfilesSchema>;

export interface SelectedProfile {
  profile: string;
  /** Why this profile: the resource's tag, or its type's default. */
  selectedBy: 'tag' | 'default';
  checks: ProfileCheck[];
}

/**
 * The profile for a source resource: its `pilotlight:validation` tag, else its type's default, else none
 * (undefined: the type has no data checks configured). A tag naming an unknown profile, or one whose checks
 * cannot run against the type, is an error: silently falling back would pass a drill nobody meant to pass.
 */
export function selectProfile(
  profiles: ValidationProfiles,
  resource: { resourceType: string; tags: Readonly<Record<string, string>> },
): SelectedProfile | undefined {
  const tagged = resource.tags[VALIDATION_TAG]?.trim();
  const selectedBy = tagged ? 'tag' : 'default';
  const profile = tagged || profiles.defaults[resource.resourceType];
  if (!profile) return undefined;
  const checks = profiles.profiles[profile];
  if (!checks) {
    throw new ValidationProfileNotFound(
      `tag ${VALIDATION_TAG}=${profile} names no profile in validations.yml (defined: ${Object.keys(profiles.profiles).join(', ')})`,
    );
  }
  const misfit = misfitFor(resource.resourceType, checks);
  if (misfit) {
    throw new ValidationProfileNotFound(
      `profile ${profile} has a ${misfit.kind} check, which cannot run against ${resource.resourceType}`,
    );
  }
  return { profile, selectedBy, checks };
}

/** A check back in the form validations.yml writes it (`{ sql: {...} }`): what the probe's input carries. */
export function writtenCheck(check: ProfileCheck): z.input<typeof DataCheckSchema> {
  const { kind, ...fields } = check;
  return { [kind]: fields };
}
