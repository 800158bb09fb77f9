import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HELP } from '../../cli/help.js';
import { PlanOutput } from '../../cli/plan.js';
import { FaultSpecError, parseFaults } from '../../sandbox/faults.js';
import { QUOTAS } from '../../sandbox/world.js';

/** docs/cli.md documents the command as it is: a flag, fault or field added without its line fails here. */
const docs = readFileSync('docs/cli.md', 'utf8');

describe('docs/cli.md', () => {
  it.each(Object.values(HELP).map((help) => [help.name, help] as const))(
    'documents the %s command and every flag its --help lists',
    (name, help) => {
      // Assess
      expect(docs).toContain(`## \`pilotlight ${name}`);
      for (const [flag] of help.options) {
        const first = flag.split(/[ ,]/)[0] ?? '';
        expect(docs, `${name} ${first}`).toContain(`\`${first}`);
      }
    },
  );

  it('names every fault of the grammar (sandbox/faults.ts)', () => {
    // Prepare: the grammar lists itself when a fault is unknown.
    let grammar = '';
    try {
      parseFaults(['no-such-fault'], []);
    } catch (error) {
      expect(error).toBeInstanceOf(FaultSpecError);
      grammar = error instanceof Error ? (/\(expected (.*)\)$/.exec(error.message)?.[1] ?? '') : '';
    }

    // Assess
    const faults = grammar.split(', ');
    expect(faults.length).toBeGreaterThan(10);
    for (const fault of faults) {
      for (const alternative of fault.replace(/^job:restore=/, '').split('|')) {
        const spec = fault.startsWith('job:restore=') ? `job:restore=${alternative}` : alternative;
        const stem = spec.replace(/\[\*N\]$|Error\[\*N\]$/, '').replace(/=.*$/, '=');
        expect(docs, fault).toContain(stem);
      }
    }
  });

  it('names every quota and every field of the plan --json', () => {
    // Assess
    for (const quota of Object.keys(QUOTAS)) expect(docs).toContain(`\`${quota}\``);
    const named = (field: string) => new RegExp(`\`${field}(\\[\\])?\``);
    for (const field of Object.keys(PlanOutput.shape)) expect(docs).toMatch(named(field));
    for (const field of Object.keys(PlanOutput.shape.planned.element.shape))
      expect(docs).toMatch(named(field));
  });

  it('names the fields a drill of the drill --json gained after the first contract', () => {
    const drills = docs.split('\n').find((line) => line.startsWith('| `drills[]` |')) ?? '';
    for (const field of ['dataRpoSeconds', 'restoreValidation', 'restore-test'])
      expect(drills, field).toContain(field);
  });

  it('is linked from the README', () => {
    // Assess
    const readme = readFileSync('README.md', 'utf8');
    expect(readme).toContain('(docs/cli.md)');
    expect(readme.split('\n').slice(0, 6).join('\n')).toContain('npm ci && npm run drill');
  });
});
