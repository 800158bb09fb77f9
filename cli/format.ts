import type { RunReport } from '../sandbox/report.js';

function duration(seconds: number | null): string {
  if (seconds === null) return 'n/a';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m${String(s).padStart(2, '0')}s`;
  if (m > 0) return `${m}m${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}

function offset(from: string, at: string): string {
  const seconds = Math.max(0, Math.round((Date.parse(at) - Date.parse(from)) / 1000));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return `+${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(seconds % 60).padStart(2, '0')}`;
}

/** The human summary: one line per step (simulated start, duration), then RTO, RPO, evidence, outcome. */
export function formatReport(report: RunReport): string {
  const lines: string[] = [];
  const { sandbox } = report;
  lines.push(`Pilotlight sandbox run (seed ${sandbox.seed}, simulated clock starts ${sandbox.startedAt})`);
  for (const drill of report.drills) {
    lines.push('');
    lines.push(
      `${drill.drillId}  ${drill.mode.toUpperCase()}  ${drill.source.resourceType}  ${drill.source.resourceArn ?? drill.source.recoveryPointArn}`,
    );
    lines.push(
      `  ${drill.source.account} ${drill.source.region} → ${drill.target.account || '?'} ${drill.target.region || '?'} (vault ${drill.target.vault || '?'})`,
    );
    for (const step of drill.steps) {
      const seconds = step.endedAt
        ? Math.round((Date.parse(step.endedAt) - Date.parse(step.startedAt)) / 1000)
        : null;
      const attempts = step.attempts > 1 ? ` (${step.attempts} attempts)` : '';
      lines.push(
        `  ${offset(sandbox.startedAt, step.startedAt)}  ${step.name.padEnd(20)} ${duration(seconds).padStart(9)}  ${step.status}${attempts}`,
      );
    }
    const passed = drill.checks.filter((c) => c.passed).length;
    if (drill.checks.length > 0) {
      lines.push(
        `  checks   ${passed}/${drill.checks.length} passed${drill.checks
          .filter((c) => !c.passed)
          .map((c) => `; FAILED ${c.name}: ${c.detail}`)
          .join('')}`,
      );
    }
    lines.push(
      `  RTO      ${duration(drill.rtoSeconds)}   RPO ${duration(drill.rpoSeconds)}${
        drill.dataRpoSeconds === null ? '' : `   data RPO ${duration(drill.dataRpoSeconds)}`
      }`,
    );
    lines.push(
      `  evidence ${drill.evidence ? `s3://${drill.evidence.bucket}/${drill.evidence.key} sha256 ${drill.evidence.sha256}` : 'NOT RECORDED'}`,
    );
    if (drill.error) lines.push(`  error    ${drill.error.name}: ${drill.error.message}`);
    lines.push(`  outcome  ${drill.status}`);
  }
  for (const skip of report.skipped) lines.push('', `skipped event ${skip.eventId}: ${skip.reason}`);
  for (const lost of report.lostTriggers)
    lines.push('', `NOT DRILLED event ${lost.eventId}: accepted as a trigger, but ${lost.reason}`);
  lines.push('');
  for (const alert of sandbox.alerts) lines.push(`alert    ${alert.subject}`);
  for (const arn of sandbox.swept) lines.push(`swept    ${arn} (orphan sweeper)`);
  const kept = new Set(sandbox.kept);
  for (const arn of sandbox.leftBehind)
    lines.push(`left     ${arn}${kept.has(arn) ? ' (kept by the failover)' : ' (LEFT BEHIND)'}`);
  lines.push(
    `sandbox  ${sandbox.resourcesLeft} resources left · ${sandbox.alerts.length} alerts · ${sandbox.transitions} transitions · ${sandbox.lambdaInvocations} Lambda invocations · ${sandbox.apiCalls} API calls · peak ${sandbox.peakConcurrentRestores} concurrent restores · ${duration(sandbox.simulatedSeconds)} simulated in ${sandbox.wallMs} ms`,
  );
  return lines.join('\n');
}
