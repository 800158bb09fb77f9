import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageStack } from './lib.js';

/** policies.yml is checked by serverless/drill-policies.mjs before anything is packaged. */
const dir = mkdtempSync(join(tmpdir(), 'pilotlight-policies-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let written = 0;

function failureOf(policies: string): string {
  const file = join(dir, `policies-${++written}.yml`);
  writeFileSync(file, policies);
  try {
    packageStack('prod', ['--param', `drillPolicies=${file}`]);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error('serverless package accepted a broken policies.yml');
}

describe('drill policies at packaging time', () => {
  it('fails serverless package on a policy naming a tier that does not exist, with one line naming the file, the place and the typo', () => {
    // Act
    const output = failureOf(
      [
        'tiers:',
        '  gold: { rtoSeconds: 3600, rpoSeconds: 86400 }',
        'policies:',
        '  - name: gold-daily',
        '    tier: gold',
        '    select: { tags: { "pilotlight:tier": gold } }',
        '    every: 1d',
        '    recoveryPoint: { rule: latets }',
        '',
      ].join('\n'),
    );

    // Assess
    const lines = output.split('\n').filter((line) => line.includes('policies-'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/policies-\w+\.yml: policies\[0\]\.recoveryPoint\.rule: /);
  }, 120_000);
});
