import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  loadValidationProfiles,
  parseValidationProfiles,
} from '../../functions/lib/validation-profiles-file.js';
import {
  DataCheckSchema,
  selectProfile,
  ValidationProfileNotFound,
  ValidationProfilesInvalid,
  writtenCheck,
} from '../../functions/lib/validations.js';

const profilesText = `
defaults:
  RDS: relational-basic
  DynamoDB: items
profiles:
  relational-basic:
    - sql: { query: SELECT 1, expect: { op: '==', value: 1 } }
  orders:
    - tableExists: { table: orders }
    - sql: { name: orders row count, query: 'SELECT count(*) FROM orders;', expect: { op: '>=', value: 1000 } }
    - freshness: { query: SELECT max(updated_at) FROM orders, withinMinutes: 60 }
  items:
    - dynamodbCount: { expect: { op: '>', value: 0 } }
    - dynamodbKeys: { keys: [{ pk: 'customer#1', sk: 1 }] }
    - freshness: { attribute: updatedAt, withinMinutes: 15 }
  objects:
    - s3Count: { prefix: invoices/, expect: { op: '>=', value: 10 } }
    - s3Checksums: { prefix: invoices/, sample: 5 }
    - freshness: { prefix: invoices/, withinMinutes: 1440 }
`;

function parseError(text: string): string {
  try {
    parseValidationProfiles(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationProfilesInvalid);
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error('expected the profiles to be rejected');
}

describe('validation profiles', () => {
  it('parses every check kind into its normalized form', () => {
    // Act
    const profiles = parseValidationProfiles(profilesText);

    // Assess
    expect(profiles.profiles.orders).toEqual([
      { kind: 'tableExists', table: 'orders' },
      {
        kind: 'sql',
        name: 'orders row count',
        query: 'SELECT count(*) FROM orders',
        expect: { op: '>=', value: 1000 },
      },
      { kind: 'freshness', query: 'SELECT max(updated_at) FROM orders', withinMinutes: 60 },
    ]);
    expect(profiles.profiles.items?.map((check) => check.kind)).toEqual([
      'dynamodbCount',
      'dynamodbKeys',
      'freshness',
    ]);
    expect(profiles.profiles.objects?.map((check) => check.kind)).toEqual([
      's3Count',
      's3Checksums',
      'freshness',
    ]);
  });

  it('loads the repository validations.yml with its SHA-256', () => {
    // Act
    const loaded = loadValidationProfiles();

    // Assess
    expect(Object.keys(loaded.profiles.profiles)).toContain('orders');
    expect(loaded.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(new URL('../../validations.yml', import.meta.url), 'utf8')).toContain(
      'pilotlight:validation',
    );
  });

  it.each([
    [
      'a misspelt check kind',
      '  p:\n    - sqll: { query: SELECT 1 }\n',
      'profiles.p[0]: Unrecognized key: "sqll"',
    ],
    [
      'an unknown comparison',
      "  p:\n    - sql: { query: SELECT 1, expect: { op: '=>', value: 1 } }\n",
      'profiles.p[0].sql.expect.op: Invalid option: expected one of ">="|"<="|"=="|">"|"<"',
    ],
    [
      'two statements in one query',
      "  p:\n    - sql: { query: 'SELECT 1; DROP TABLE x', expect: { op: '==', value: 1 } }\n",
      'must be a single statement',
    ],
    [
      'a check with two kinds',
      '  p:\n    - { tableExists: { table: a }, s3Count: { prefix: "", expect: { op: ">", value: 0 } } }\n',
      'found tableExists, s3Count',
    ],
    ['an empty profile', '  p: []\n', 'profiles.p: a profile lists at least one check'],
    [
      'a sample of zero objects',
      '  p:\n    - s3Checksums: { prefix: a/, sample: 0 }\n',
      'profiles.p[0].s3Checksums.sample',
    ],
    ['an upper-case profile name', '  Orders:\n    - tableExists: { table: orders }\n', 'profiles.Orders'],
  ])('rejects %s with a one-line message naming where', (_, profiles, message) => {
    // Act
    const error = parseError(`profiles:\n${profiles}`);

    // Assess
    expect(error).toContain(message);
    expect(error).toMatch(/^validations\.yml: /);
    expect(error).not.toContain('\n');
  });

  it('rejects a default that names no profile, or one whose checks cannot run against the type', () => {
    // Act
    const unknown = parseError('defaults: { RDS: nope }\nprofiles:\n  a:\n    - tableExists: { table: x }\n');
    const misfit = parseError('defaults: { S3: a }\nprofiles:\n  a:\n    - tableExists: { table: x }\n');

    // Assess
    expect(unknown).toBe(
      'validations.yml: defaults.RDS: names profile "nope", which is not defined (defined: a)',
    );
    expect(misfit).toBe(
      'validations.yml: defaults.S3: profile "a" has a tableExists check, which cannot run against S3',
    );
  });

  it('rejects text that is not YAML in one line', () => {
    // Act
    const error = parseError('profiles: [\n');

    // Assess
    expect(error).toMatch(/^validations\.yml: not valid YAML: /);
    expect(error).not.toContain('\n');
  });

  it('round-trips a check through the form the probe input carries', () => {
    // Prepare
    const [check] = parseValidationProfiles(profilesText).profiles.orders ?? [];

    // Act
    const again = check && DataCheckSchema.parse(writtenCheck(check));

    // Assess
    expect(again).toEqual(check);
  });
});

describe('profile selection', () => {
  const profiles = parseValidationProfiles(profilesText);

  it('selects the profile a resource names with its pilotlight:validation tag', () => {
    // Act
    const selected = selectProfile(profiles, {
      resourceType: 'RDS',
      tags: { 'pilotlight:validation': 'orders' },
    });

    // Assess
    expect(selected).toMatchObject({ profile: 'orders', selectedBy: 'tag' });
    expect(selected?.checks).toHaveLength(3);
  });

  it("falls back to the type's default profile without a tag", () => {
    // Act
    const selected = selectProfile(profiles, { resourceType: 'DynamoDB', tags: { team: 'payments' } });

    // Assess
    expect(selected).toMatchObject({ profile: 'items', selectedBy: 'default' });
  });

  it('selects nothing for a type without a default and without a tag', () => {
    // Act
    const selected = selectProfile(profiles, { resourceType: 'EBS', tags: {} });

    // Assess
    expect(selected).toBeUndefined();
  });

  it('refuses a tag naming an unknown profile, or a profile for another kind of store', () => {
    // Act
    const unknown = () =>
      selectProfile(profiles, { resourceType: 'RDS', tags: { 'pilotlight:validation': 'ordrs' } });
    const misfit = () =>
      selectProfile(profiles, { resourceType: 'RDS', tags: { 'pilotlight:validation': 'objects' } });

    // Assess
    expect(unknown).toThrow(ValidationProfileNotFound);
    expect(unknown).toThrow('tag pilotlight:validation=ordrs names no profile in validations.yml');
    expect(misfit).toThrow('profile objects has a s3Count check, which cannot run against RDS');
  });
});
