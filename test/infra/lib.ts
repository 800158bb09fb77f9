import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import { parse } from 'yaml';

/** Template checks: package the stack offline, lint it with cfn-lint, run the Control Tower guard rules. */

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(import.meta.url);

export interface Resource {
  Type: string;
  Condition?: string;
  Properties?: Record<string, unknown>;
}
export interface Template {
  Resources: Record<string, Resource>;
  Conditions?: Record<string, unknown>;
  Outputs?: Record<string, unknown>;
}

export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: unknown;
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

const PACKAGE_ENV = {
  SLS_TELEMETRY_DISABLED: '1',
  SLS_NOTIFICATIONS_MODE: 'off',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

/**
 * Every temporary directory these checks make, removed after the test file that made them. serverless-esbuild
 * zips each function through a `<function>-<pid>-<time>-<hex>` directory in the system temp dir and leaves it
 * there, so `serverless package` runs with TMPDIR inside the package directory, which is removed too.
 */
const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** `serverless package --stage <stage>` into a fresh directory; returns the update-stack template. */
export function packageStack(stage: string, extraArgs: string[] = []): { dir: string; template: Template } {
  const dir = tempDir(`pilotlight-${stage}-`);
  const scratch = join(dir, '.tmp');
  mkdirSync(scratch);
  const bin = join(dirname(require.resolve('osls/package.json')), 'bin', 'serverless.js');
  const run = spawnSync(
    process.execPath,
    [bin, 'package', '--stage', stage, '--package', dir, ...extraArgs],
    {
      cwd: repoRoot,
      env: { ...process.env, ...PACKAGE_ENV, TMPDIR: scratch, TMP: scratch, TEMP: scratch },
      encoding: 'utf8',
    },
  );
  if (run.status !== 0)
    throw new Error(`serverless package failed (${run.status}):\n${run.stdout}\n${run.stderr}`);
  const file = join(dir, 'cloudformation-template-update-stack.json');
  return { dir, template: JSON.parse(readFileSync(file, 'utf8')) as Template };
}

export function readYamlTemplate(path: string): Template {
  return parse(readFileSync(join(repoRoot, path), 'utf8')) as Template;
}

export function asList<T>(value: T | T[] | undefined): T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

export function resourcesOfType(template: Template, type: string): [string, Resource][] {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

export function props(template: Template, logicalId: string): Record<string, unknown> {
  const resource = template.Resources[logicalId];
  if (!resource) throw new Error(`${logicalId} is not in the template`);
  return resource.Properties ?? {};
}

/** Every policy statement in the template, with where it comes from (IAM, key, bucket, topic, queue, bus, vault). */
export function allStatements(template: Template): { where: string; statement: Statement }[] {
  const found: { where: string; statement: Statement }[] = [];
  const add = (where: string, document: unknown) => {
    if (!document || typeof document !== 'object') return;
    const statements = (document as { Statement?: Statement | Statement[] }).Statement;
    for (const statement of asList(statements)) found.push({ where, statement });
  };
  for (const [id, resource] of Object.entries(template.Resources)) {
    const p = resource.Properties ?? {};
    switch (resource.Type) {
      case 'AWS::IAM::Role':
        add(`${id} trust`, p.AssumeRolePolicyDocument);
        for (const policy of asList(p.Policies as { PolicyDocument: unknown }[] | undefined))
          add(id, policy.PolicyDocument);
        break;
      case 'AWS::IAM::Policy':
      case 'AWS::IAM::ManagedPolicy':
      case 'AWS::S3::BucketPolicy':
      case 'AWS::SNS::TopicPolicy':
      case 'AWS::SQS::QueuePolicy':
        add(id, p.PolicyDocument);
        break;
      case 'AWS::KMS::Key':
        add(id, p.KeyPolicy);
        break;
      case 'AWS::Backup::BackupVault':
        add(id, p.AccessPolicy);
        break;
      case 'AWS::Events::EventBusPolicy':
        add(id, { Statement: p.Statement });
        break;
    }
  }
  return found;
}

/** The statements of the inline policies of one IAM role. */
export function roleStatements(template: Template, roleId: string): Statement[] {
  const policies = asList(
    props(template, roleId).Policies as { PolicyDocument: { Statement: Statement[] } }[],
  );
  return policies.flatMap((policy) => asList(policy.PolicyDocument.Statement));
}

export function actionsOf(statements: Statement[]): string[] {
  return [...new Set(statements.filter((s) => s.Effect === 'Allow').flatMap((s) => asList(s.Action)))].sort();
}

// ------------------------------------------------------------------ cfn-lint

let cfnLintPrepared = false;

/** Validates a template file against the current CloudFormation resource specification. */
export function cfnLint(
  file: string,
  parameters: Record<string, string> = {},
): { message: string; resource: string }[] {
  if (!cfnLintPrepared) {
    // Swaps in the current resource specification before cfn-lint loads it (idempotent, offline).
    execFileSync(process.execPath, [join(repoRoot, 'test', 'infra', 'prepare-cfn-lint.mjs')], {
      stdio: 'pipe',
    });
    cfnLintPrepared = true;
  }
  const cfnLint = require('cfn-lint') as {
    validateFile(
      file: string,
      options: { parameters: Record<string, string> },
    ): { templateValid: boolean; errors: { crit: { message: string; resource: string }[] } };
  };
  return cfnLint.validateFile(file, { parameters }).errors.crit;
}

export function cfnLintObject(template: unknown): { message: string; resource: string }[] {
  const dir = tempDir('pilotlight-lint-');
  const file = join(dir, 'template.json');
  writeFileSync(file, JSON.stringify(template));
  return cfnLint(file);
}

// ------------------------------------------------------------------ cfn-guard (Control Tower rules)

export interface GuardViolation {
  rule: string;
  control: string;
  resource: string;
}

const guardPackage = dirname(require.resolve('@cdklabs/cdk-validator-cfnguard/package.json'));
const controlTowerRules = join(guardPackage, 'rules', 'control-tower', 'cfn-guard');

function guardBinary(): string {
  if (process.platform !== 'linux' && process.platform !== 'darwin')
    throw new Error(`no cfn-guard binary for ${process.platform}`);
  const os = process.platform === 'linux' ? 'ubuntu' : 'macos';
  const arch = process.arch === 'arm64' ? 'aarch64' : 'x86_64';
  return join(guardPackage, 'bin', os, arch, 'cfn-guard');
}

function resourcesIn(node: unknown, into: Set<string>): void {
  if (Array.isArray(node)) {
    for (const item of node) resourcesIn(item, into);
  } else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'path' && typeof value === 'string') {
        const match = /^\/Resources\/([^/]+)/.exec(value);
        if (match?.[1]) into.add(match[1]);
      } else {
        resourcesIn(value, into);
      }
    }
  }
}

/** Runs every Control Tower guard rule against a template file; one violation per rule and resource. */
export function guardViolations(file: string): GuardViolation[] {
  const run = spawnSync(
    guardBinary(),
    ['validate', '-r', controlTowerRules, '-d', file, '-o', 'json', '-S', 'none'],
    {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    },
  );
  // cfn-guard exits 19 when a rule fails and 0 when all pass; anything else is a broken run.
  if (run.status !== 0 && run.status !== 19)
    throw new Error(`cfn-guard failed (${run.status}): ${run.stderr}`);
  // One JSON document per rule file, written back to back.
  const reports = JSON.parse(`[${run.stdout.trim().replace(/\}\s*\{/g, '},{')}]`) as {
    not_compliant: { Rule: { name: string } }[];
  }[];
  if (reports.length < 100) throw new Error(`cfn-guard ran only ${reports.length} rule files`);
  const violations: GuardViolation[] = [];
  for (const report of reports) {
    for (const failure of report.not_compliant) {
      const control = /\[(CT\.[A-Z0-9]+\.PR\.\d+)\]/.exec(JSON.stringify(failure))?.[1] ?? 'unknown';
      const resources = new Set<string>();
      resourcesIn(failure, resources);
      for (const resource of resources) violations.push({ rule: failure.Rule.name, control, resource });
    }
  }
  return violations;
}

export interface GuardException {
  template: string;
  rule: string;
  control: string;
  resources: string[];
  reason: string;
}

export function guardExceptions(): GuardException[] {
  const file = parse(readFileSync(join(repoRoot, 'test', 'infra', 'guard-exceptions.yaml'), 'utf8')) as {
    exceptions: GuardException[];
  };
  return file.exceptions;
}

/** Violations no exception covers, and exceptions that no longer match a violation (stale entries). */
export function compareWithExceptions(templateName: string, violations: GuardViolation[]) {
  const exceptions = guardExceptions().filter((e) => e.template === templateName);
  const excused = (v: GuardViolation) =>
    exceptions.some((e) => e.rule === v.rule && e.resources.includes(v.resource));
  const unlisted = violations
    .filter((v) => !excused(v))
    .map((v) => `${v.control} ${v.rule} on ${v.resource}`);
  const stale = exceptions.flatMap((e) =>
    e.resources
      .filter((resource) => !violations.some((v) => v.rule === e.rule && v.resource === resource))
      .map((resource) => `${e.control} ${e.rule} on ${resource}`),
  );
  return { unlisted, stale, exceptions };
}
