import { supportedResourceTypes } from '../functions/resources/index.js';

/** What `--help` prints: one page per command, and the list of commands. */
export interface CommandHelp {
  name: string;
  summary: string;
  usage: string[];
  options: [flag: string, meaning: string][];
  examples: [command: string, meaning: string][];
  exitStatus: string;
}

const AWS_OPTIONS: CommandHelp['options'] = [
  ['--aws', 'target the deployed stack pilotlight-<stage> instead of the sandbox'],
  ['--stage S', 'the Serverless stage deployed (default prod)'],
  ['--region R', "the deployment's region (default: the profile's or AWS_REGION)"],
  ['--profile P', 'the AWS profile to use (default: the SDK default chain)'],
];

export const HELP: Record<string, CommandHelp> = {
  drill: {
    name: 'drill',
    summary: 'run DR drills in the sandbox, or start one in a deployed stack (--aws)',
    usage: [
      'pilotlight drill [--resource-type T] [--count N] [--event FILE]... [--seed N] [--mode drill|failover]',
      '                 [--fault SPEC]... [--quota NAME=N]... [--evidence-dir DIR] [--json]',
      'pilotlight drill --aws --recovery-point ARN [--resource-type T] [--vault NAME] [--mode drill|failover] [--yes]',
      '                 [--stage S] [--region R] [--profile P] [--json]',
    ],
    options: [
      [
        '--resource-type T',
        `the resource backed up, any case: ${supportedResourceTypes.join(', ')} (default RDS), or all (each in turn)`,
      ],
      ['--count N', 'N resources backed up at once, 1..1000 (default 1)'],
      ['--event FILE', 'deliver this EventBridge event at its time (repeatable, in order)'],
      ['--seed N', 'seed of the simulation (default 1): same seed, same run'],
      ['--mode M', 'drill (default: restore, check, tear down) or failover (restore and keep)'],
      [
        '--fault SPEC',
        'inject a fault (repeatable): api:Service.Operation=Error[*N], job:restore=FAILED, ...',
      ],
      ['--quota NAME=N', 'a service quota of the simulated DR account (repeatable)'],
      ['--evidence-dir DIR', "write each drill's evidence document, its .sha256 and manifest.json to DIR"],
      ['--json', 'print the run as one JSON object'],
      [
        '--recovery-point ARN',
        'with --aws: the recovery point to restore (its account and region are read from it)',
      ],
      ['--vault NAME', "with --aws: the recovery point's source vault (default Default)"],
      ['--yes', 'with --aws --mode failover: do not ask for confirmation'],
      ...AWS_OPTIONS,
    ],
    examples: [
      ['pilotlight drill', 'one RDS drill in the sandbox, human-readable timeline'],
      ['pilotlight drill --resource-type EBS --json', 'the JSON report'],
      ['pilotlight drill --count 10 --seed 7 --evidence-dir evidence', 'ten drills, evidence kept'],
      ['pilotlight drill --fault job:restore=FAILED', 'exits 1: torn down, evidence written, alert sent'],
      ['pilotlight drill --event events/backup-job-completed-rds.json', 'deliver a real-shaped event'],
      [
        'pilotlight drill --aws --stage prod --recovery-point arn:aws:rds:us-east-2:111111111111:snapshot:awsbackup:job-1',
        'start a drill in the deployed stack and follow it',
      ],
    ],
    exitStatus:
      '0 every drill succeeded (or the event was not a trigger); 1 a drill failed, a trigger was never drilled, or something was left; 2 bad input, nothing started',
  },
  status: {
    name: 'status',
    summary: 'list running and recent drills of a deployed stack (--aws)',
    usage: ['pilotlight status --aws [--stage S] [--region R] [--profile P] [--limit N] [--json]'],
    options: [
      ...AWS_OPTIONS,
      ['--limit N', 'how many executions, newest first (default 20)'],
      ['--json', 'print JSON'],
    ],
    examples: [
      ['pilotlight status --aws --stage prod --region us-east-2', 'the last 20 drills and their outcome'],
    ],
    exitStatus: '0 listed; 2 bad input, no credentials or no stack',
  },
  evidence: {
    name: 'evidence',
    summary: 'verify an evidence directory, or pull the evidence of a deployed stack into one (--aws)',
    usage: [
      'pilotlight evidence verify --evidence-dir DIR [--json]',
      'pilotlight evidence pull --aws [--stage S] [--region R] [--profile P] [--since Nd] --out DIR',
    ],
    options: [
      ['--evidence-dir DIR', 'verify: the directory drill --evidence-dir (or evidence pull) wrote'],
      ['--json', 'verify: print the verification of every file as JSON'],
      ['--since Nd', 'pull: the evidence recorded in the last N days (default 30d)'],
      ['--out DIR', 'pull: the directory to write to (same layout as drill --evidence-dir)'],
      ...AWS_OPTIONS,
    ],
    examples: [
      ['pilotlight evidence verify --evidence-dir evidence', 'recompute and compare every SHA-256'],
      [
        'pilotlight evidence pull --aws --stage prod --region us-east-2 --since 30d --out evidence',
        "download the month's evidence, check each SHA-256 against S3's checksum and its Object Lock retention",
      ],
    ],
    exitStatus:
      'verify: 0 every file verified, 1 a file is tampered, missing, unhashed or not evidence; pull: 0 every document verified and locked, 1 one is not (or none found); 2 bad input, no credentials or no stack',
  },
  report: {
    name: 'report',
    summary:
      "render an auditor's report (one self-contained HTML file, or Markdown) from an evidence directory",
    usage: ['pilotlight report --evidence-dir DIR [--out FILE] [--format html|md]'],
    options: [
      ['--evidence-dir DIR', 'the directory drill --evidence-dir wrote'],
      ['--out FILE', 'write the report there (default: stdout)'],
      ['--format F', 'html (default; inline CSS and SVG, nothing loaded from the network) or md'],
    ],
    examples: [
      [
        'pilotlight drill --count 3 --evidence-dir evidence && pilotlight report --evidence-dir evidence --out report.html',
        '',
      ],
      [
        'pilotlight report --evidence-dir evidence --format md --out report.md',
        'the same report in Markdown',
      ],
    ],
    exitStatus:
      '0 report written, every evidence file verified; 1 report written, but a file failed verification (flagged in it); 2 bad input',
  },
  plan: {
    name: 'plan',
    summary: 'show what the next drills-by-policy run would start (policies.yml), and what it skips',
    usage: [
      'pilotlight plan --dry-run [--seed N] [--count N] [--json]',
      'pilotlight plan --dry-run --aws [--stage S] [--region R] [--profile P] [--json]',
    ],
    options: [
      ['--dry-run', 'required: plan only, start nothing'],
      ['--count N', 'sandbox: tagged, backed-up resources in the seeded estate, 1..200 (default 9)'],
      ['--seed N', 'sandbox: seed of the simulation (default 1)'],
      ['--json', 'print the plan as JSON (planned, skipped with the reason, policies.yml sha256)'],
      ...AWS_OPTIONS,
    ],
    examples: [
      ['pilotlight plan --dry-run', 'the plan over a seeded sandbox estate of tagged resources'],
      [
        'pilotlight plan --dry-run --aws --stage prod --region us-east-2',
        'ask the deployed plan function what it would start now',
      ],
    ],
    exitStatus:
      '0 planned; 2 bad input (--dry-run missing), no credentials, no stack, or the plan function failed',
  },
  sweep: {
    name: 'sweep',
    summary: 'run one drills-by-policy sweep over a seeded sandbox estate of tagged resources',
    usage: ['pilotlight sweep [--seed N] [--count N] [--fault SPEC]... [--evidence-dir DIR] [--json]'],
    options: [
      ['--count N', 'tagged, backed-up resources in the estate, 1..200 (default 9; types and tiers in turn)'],
      ['--seed N', 'seed of the simulation (default 1): same seed, same sweep'],
      ['--fault SPEC', 'inject a fault, as for drill (repeatable)'],
      ['--evidence-dir DIR', "write each drill's evidence document, its .sha256 and manifest.json to DIR"],
      ['--json', 'print the drill report with the plan and the estate as one JSON object'],
    ],
    examples: [
      ['pilotlight sweep', 'plan over the estate, run every drill it starts, one line per drill'],
      [
        'pilotlight sweep --fault api:Backup.StartRestoreJob=InvalidParameterValueException*2 --evidence-dir evidence',
        'two drills fail; then: pilotlight report --evidence-dir evidence --out report.html',
      ],
    ],
    exitStatus:
      '0 every drill succeeded; 1 a drill failed, the plan failed, or something was left; 2 bad input, nothing started',
  },
};

function columns(rows: [string, string][], indent = '  '): string[] {
  const width = Math.max(0, ...rows.map(([left]) => left.length));
  return rows.map(([left, right]) =>
    `${indent}${right ? `${left.padEnd(width)}  ${right}` : left}`.trimEnd(),
  );
}

export function commandHelp(help: CommandHelp): string {
  const lines = [
    `pilotlight ${help.name} — ${help.summary}`,
    '',
    'usage:',
    ...help.usage.map((u) => `  ${u}`),
  ];
  if (help.options.length > 0) lines.push('', 'options:', ...columns(help.options));
  if (help.examples.length > 0)
    lines.push(
      '',
      'examples:',
      ...help.examples.flatMap(([cmd, meaning]) => [`  ${cmd}`, ...(meaning ? [`      ${meaning}`] : [])]),
    );
  lines.push(
    '',
    `exit status: ${help.exitStatus}`,
    '',
    `more: docs/cli.md (every command, flag, exit status, --json field and fault), section "pilotlight ${help.name}"`,
  );
  return lines.join('\n');
}

export function mainHelp(version: string): string {
  return [
    `pilotlight ${version} — disaster-recovery drills for AWS Backup: restore every backup in the DR account,`,
    'prove it, measure RTO and RPO, keep tamper-evident evidence.',
    '',
    'usage:',
    '  pilotlight <command> [options]',
    '  pilotlight <command> --help',
    '',
    'commands:',
    ...columns(Object.values(HELP).map((h) => [h.name, h.summary])),
    '',
    'options:',
    ...columns([
      ['-h, --help', 'this help'],
      ['-V, --version', 'the version'],
    ]),
    '',
    'Without --aws every command runs on the embedded sandbox (no AWS account needed).',
    'more: docs/cli.md (every command, flag, exit status, --json field and fault name)',
  ].join('\n');
}
