import { describe, expect, it } from 'vitest';
import {
  chooseRecoveryPoint,
  DrillPoliciesInvalid,
  loadDrillPolicies,
  parseDrillPolicies,
  selects,
} from '../../functions/lib/policies.js';

/** policies.yml: the schema the plan function and `serverless package` check it with, and the choice rules. */
const VALID = `
tiers:
  gold: { rtoSeconds: 3600, rpoSeconds: 86400 }
policies:
  - name: gold-daily
    tier: gold
    select: { tags: { "pilotlight:tier": gold }, resourceTypes: [rds, EBS] }
    every: 1d
    recoveryPoint: { rule: latest }
`;

function problemOf(text: string): string {
  try {
    parseDrillPolicies(text);
  } catch (error) {
    expect(error).toBeInstanceOf(DrillPoliciesInvalid);
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error('accepted');
}

describe('policies.yml', () => {
  it("loads the repository's own file, with a tier for every policy", () => {
    // Act
    const { policies, sha256 } = loadDrillPolicies();

    // Assess
    expect(sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(policies.policies.length).toBeGreaterThan(0);
    for (const policy of policies.policies) expect(policies.tiers[policy.tier], policy.name).toBeDefined();
  });

  it('normalizes resource types and durations, and defaults maxDrillsPerRun', () => {
    // Act
    const [policy] = parseDrillPolicies(VALID).policies;

    // Assess
    expect(policy?.select.resourceTypes).toEqual(['RDS', 'EBS']);
    expect(policy?.every).toBe(86_400_000);
    expect(policy?.maxDrillsPerRun).toBe(20);
  });

  it.each([
    [
      'a tier that does not exist',
      VALID.replace('tier: gold', 'tier: gould'),
      /policies\[0\]\.tier: "gould" is not a tier \(tiers: gold\)$/,
    ],
    ['a misspelt key', VALID.replace('every: 1d', 'evry: 1d'), /policies\[0\]: Unrecognized key: "evry"$/],
    [
      'a duration without a unit',
      VALID.replace('every: 1d', 'every: 7'),
      /policies\[0\]\.every: must be a duration such as 12h or 7d$/,
    ],
    [
      'an unknown resource type',
      VALID.replace('rds, EBS', 'RDS, EBSS'),
      /resourceTypes\[1\]: "EBSS" is not a supported resource type/,
    ],
    [
      'an unknown rule',
      VALID.replace('rule: latest', 'rule: oldest'),
      /policies\[0\]\.recoveryPoint\.rule: /,
    ],
    [
      'a random window older than the RPO target',
      VALID.replace('{ rule: latest }', '{ rule: random, windowDays: 7 }'),
      /windowDays: 7 days .* older than tier gold's rpoSeconds 86400/,
    ],
    [
      'no tag to select on',
      VALID.replace('tags: { "pilotlight:tier": gold }, ', 'tags: {}, '),
      /select\.tags: needs at least one tag$/,
    ],
    ['YAML that does not parse', 'tiers: [', /^policies\.yml: not valid YAML: /],
  ])('refuses %s with one line naming the place', (_case, text, message) => {
    // Act
    const problem = problemOf(text);

    // Assess
    expect(problem).not.toContain('\n');
    expect(problem).toMatch(message);
  });

  it('refuses two policies of the same name', () => {
    // Prepare
    const policy = VALID.slice(VALID.indexOf('  - name'));

    // Act / Assess
    expect(problemOf(`${VALID}${policy}`)).toMatch(
      /policies\[1\]\.name: "gold-daily" is used by two policies$/,
    );
  });
});

describe('selecting and choosing', () => {
  const [policy] = parseDrillPolicies(VALID).policies;
  const now = Date.parse('2026-03-10T12:00:00Z');
  const points = [0, 1, 2, 3, 4, 5, 6, 8, 10].map((days) => ({
    arn: `rp-${days}`,
    createdAt: now - days * 86_400_000 - 3_600_000,
  }));

  it('selects a resource only when every tag matches and its type is listed', () => {
    // Act / Assess
    if (!policy) throw new Error('no policy');
    expect(selects(policy, { 'pilotlight:tier': 'gold', app: 'x' }, 'RDS')).toBe(true);
    expect(selects(policy, { 'pilotlight:tier': 'silver' }, 'RDS')).toBe(false);
    expect(selects(policy, { 'pilotlight:tier': 'gold' }, 'DynamoDB')).toBe(false);
  });

  it('takes the newest for latest, whatever the order listed', () => {
    // Act
    const chosen = chooseRecoveryPoint({ rule: 'latest' }, [...points].reverse(), {
      now,
      policy: 'p',
      resource: 'r',
    });

    // Assess
    expect(chosen?.arn).toBe('rp-0');
  });

  it('takes one within the window for random: the same for the same run, spread across resources', () => {
    // Prepare
    const rule = { rule: 'random' as const, windowDays: 7 };

    // Act
    const chosen = Array.from({ length: 40 }, (_, i) =>
      chooseRecoveryPoint(rule, points, { now, policy: 'p', resource: `r${i}` }),
    );
    const again = Array.from({ length: 40 }, (_, i) =>
      chooseRecoveryPoint(rule, points, { now, policy: 'p', resource: `r${i}` }),
    );

    // Assess
    expect(again).toEqual(chosen);
    for (const point of chosen) expect(now - (point?.createdAt ?? 0)).toBeLessThanOrEqual(7 * 86_400_000);
    expect(new Set(chosen.map((p) => p?.arn)).size).toBeGreaterThan(3);
    expect(chooseRecoveryPoint(rule, points.slice(-1), { now, policy: 'p', resource: 'r' })).toBeUndefined();
  });
});
