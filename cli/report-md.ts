import {
  againstTarget,
  type DrillView,
  duration,
  REQUIREMENTS,
  type ReportModel,
  verificationText,
} from './report-model.js';

/** The same report in Markdown, for a ticket or a wiki page: the timeline as a table of steps. */

const cell = (text: string | number): string => String(text).replace(/\|/g, '\\|').replace(/\n/g, ' ');
const code = (text: string): string => (text ? `\`${text.replace(/`/g, "'")}\`` : '—');
const yes = (ok: boolean | null, text: string): string =>
  ok === null ? text : ok ? `✅ ${text}` : `❌ **${text}**`;

function table(head: string[], rows: string[][]): string[] {
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ];
}

function offset(from: number, at: number | null): string {
  return at === null ? 'n/a' : `+${duration((at - from) / 1000)}`;
}

function drillSection(d: DrillView): string[] {
  const t0 = Math.min(...d.steps.map((s) => s.startedAt ?? Number.POSITIVE_INFINITY));
  const lines = [`### ${d.drillId} — ${d.status}`, ''];
  if (d.verification.status !== 'verified')
    lines.push(
      `> **⚠ EVIDENCE ${d.verification.status.toUpperCase()}: ${verificationText(d.verification)}. Nothing below can be relied on for this drill.**`,
      '',
    );
  lines.push(
    ...table(
      ['', ''],
      [
        ['trigger', `${d.trigger}${d.triggeredAt ? ` at ${d.triggeredAt}` : ''}`],
        ['resource', `${d.resourceType} ${code(d.resource)}`],
        ['recovery point', `${code(d.recoveryPointArn)}, created ${d.recoveryPointCreatedAt ?? 'n/a'}`],
        ['source account / region', d.source],
        ['target account / region', d.target],
        ['copy job', code(d.copyJob)],
        ['restore job', code(d.restoreJob)],
        ['restored resource', code(d.restoredResourceArn ?? 'none')],
        ['code version', d.codeVersion],
        ...(d.error ? [['error', `**${d.error}**`]] : []),
        ['RTO', yes(d.rto.met, againstTarget(d.rto))],
        ['RPO', yes(d.rpo.met, againstTarget(d.rpo))],
        ...(d.dataRpo ? [['data RPO', yes(d.dataRpo.met, againstTarget(d.dataRpo))]] : []),
        ['cleanup', `${d.cleanup.status}${d.cleanup.completedAt ? ` at ${d.cleanup.completedAt}` : ''}`],
        [d.mode === 'failover' ? 'kept' : 'leftovers', d.cleanup.leftovers.map(code).join(', ') || 'none'],
        ...(d.cleanup.error ? [['teardown error', `**${d.cleanup.error}**`]] : []),
        ['estimated cost', `${d.cost.usd === null ? 'n/a' : `$${d.cost.usd.toFixed(2)}`} (${d.cost.basis})`],
        [
          'evidence',
          d.stored
            ? `${code(`s3://${d.stored.bucket}/${d.stored.key}`)} version ${code(d.stored.versionId ?? 'n/a')}`
            : 'not in the manifest',
        ],
        [
          'retention',
          d.stored ? `${d.stored.lockMode ?? 'no lock'} until ${d.stored.retainUntil ?? 'n/a'}` : 'n/a',
        ],
        ['SHA-256', yes(d.verification.status === 'verified', verificationText(d.verification))],
      ],
    ),
    '',
    '**Timeline**',
    '',
    ...table(
      ['step', 'start', 'end', 'duration'],
      d.steps.map((s) => [
        s.name,
        s.startedAt === null ? 'not run' : offset(t0, s.startedAt),
        s.startedAt === null ? '' : s.endedAt === null ? 'no end recorded (failed)' : offset(t0, s.endedAt),
        duration(s.seconds),
      ]),
    ),
    '',
    '**Checks**',
    '',
    ...(d.checks.length
      ? table(
          ['check', 'result', 'observed', 'expected', 'detail'],
          d.checks.map((c) => [
            c.name,
            yes(c.passed, c.passed ? 'passed' : 'FAILED'),
            c.observed || '—',
            c.expected || '—',
            c.detail,
          ]),
        )
      : ['No check ran.']),
    '',
  );
  return lines;
}

export function renderMarkdown(model: ReportModel): string {
  const lines = ['# Pilotlight DR drill report', ''];
  lines.push(
    `From ${model.generatedFrom} · ${model.drills.length} drill(s), ${model.drills.filter((d) => d.status !== 'SUCCEEDED').length} failed · ${model.verifiedCount} evidence file(s) verified, ${model.failedVerification} not`,
    '',
  );
  if (model.failedVerification > 0)
    lines.push(
      `> **⚠ ${model.failedVerification} evidence file(s) FAILED verification: ${[...model.unreadable.map((u) => `${u.file} (${verificationText(u.verification)})`), ...model.drills.filter((d) => d.verification.status !== 'verified').map((d) => d.file)].join(', ')}. Their content may have been altered after it was stored.**`,
      '',
    );
  lines.push('## Summary', '');
  lines.push(
    ...table(
      ['drill', 'outcome', 'mode', 'type', 'trigger', 'RTO', 'RPO', 'checks', 'cleanup', 'evidence'],
      model.drills.map((d) => [
        d.drillId,
        yes(d.status === 'SUCCEEDED', d.status),
        d.mode,
        d.resourceType,
        d.trigger,
        againstTarget(d.rto),
        duration(d.rpo.seconds),
        `${d.checks.filter((c) => c.passed).length}/${d.checks.length}`,
        d.cleanup.status,
        yes(d.verification.status === 'verified', d.verification.status),
      ]),
    ),
    '',
    '## Drills',
    '',
    'Failed drills and evidence that failed verification first.',
    '',
  );
  for (const d of model.drills) lines.push(...drillSection(d));
  lines.push('## Resources', '');
  lines.push(
    ...table(
      ['resource', 'type', 'drills', 'pass rate', 'RTO history (oldest → newest)', 'trend'],
      model.resources.map((r) => [
        code(r.resource),
        r.resourceType,
        String(r.drills),
        `${Math.round((r.passed / r.drills) * 100)}% (${r.passed}/${r.drills})`,
        r.rtoHistory.map(duration).join(', '),
        r.trend,
      ]),
    ),
    '',
    '## Compliance',
    '',
    ...REQUIREMENTS.map(([name, meaning]) => `- **${name}**: ${meaning}`),
    '',
    ...table(
      ['drill', ...REQUIREMENTS.map(([name]) => name)],
      model.compliance.map((row) => [
        row.drillId,
        ...REQUIREMENTS.map(([name]) => {
          const c = row.cells[name];
          return `${c.ok === null ? 'n/a' : c.ok ? '✅ yes' : '❌ **NO**'} (${c.why})`;
        }),
      ]),
    ),
    '',
  );
  return lines.join('\n');
}
