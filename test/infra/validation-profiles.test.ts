import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageStack } from './lib.js';

/** validations.yml is checked by serverless/validation-profiles.mjs before anything is packaged. */
const dir = mkdtempSync(join(tmpdir(), 'pilotlight-profiles-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let written = 0;

function failureOf(profiles: string): string {
  const file = join(dir, `validations-${++written}.yml`);
  writeFileSync(file, profiles);
  try {
    packageStack('prod', ['--param', `validationProfiles=${file}`]);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error('serverless package accepted a broken validations.yml');
}

describe('validation profiles at packaging time', () => {
  it('fails serverless package on a misspelt check kind, with one line naming the file, the place and the typo', () => {
    // Act
    const output = failureOf('profiles:\n  orders:\n    - sqll: { query: SELECT count(*) FROM orders }\n');

    // Assess
    const lines = output.split('\n').filter((line) => line.includes('validations-'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/validations-\w+\.yml: profiles\.orders\[0\]: Unrecognized key: "sqll"$/);
  }, 120_000);

  it('fails serverless package on a default that names no profile', () => {
    // Act
    const output = failureOf(
      'defaults: { RDS: order }\nprofiles:\n  orders:\n    - tableExists: { table: orders }\n',
    );

    // Assess
    expect(output).toMatch(
      /: defaults\.RDS: names profile "order", which is not defined \(defined: orders\)\n/,
    );
  }, 120_000);
});
