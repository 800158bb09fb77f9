import {
  againstTarget,
  type DrillView,
  duration,
  REQUIREMENTS,
  type ReportModel,
  type ResourceSummary,
  type Step,
  verificationText,
} from './report-model.js';

/**
 * The report as one HTML file an auditor can open anywhere: CSS and SVG inline, no script, and a
 * Content-Security-Policy that forbids the browser to load anything at all.
 */

const html = (text: string | number): string =>
  String(text).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1100px;padding:24px;color:#1d2430}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:32px 0 8px;border-bottom:2px solid #d8dee8;padding-bottom:4px}
h3{font-size:16px;margin:20px 0 6px}table{border-collapse:collapse;width:100%;margin:6px 0 12px}
th,td{border:1px solid #d8dee8;padding:4px 6px;text-align:left;vertical-align:top}th{background:#f2f5f9}
code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;word-break:break-all}
.ok{color:#16603a;font-weight:600}.bad{color:#b3261e;font-weight:700}.na{color:#6b7380}
.drill{border:1px solid #d8dee8;border-radius:6px;padding:4px 16px 12px;margin:18px 0}
.drill.failed{border-left:6px solid #b3261e}.drill.succeeded{border-left:6px solid #16603a}
.alarm{background:#b3261e;color:#fff;padding:12px 16px;border-radius:6px;font-weight:700;margin:12px 0}
.note{color:#4a5261;font-size:12px}dl{display:grid;grid-template-columns:210px 1fr;gap:2px 12px;margin:6px 0}
dt{color:#4a5261}dd{margin:0}svg text{font:11px system-ui,sans-serif;fill:#1d2430}
@media print{.drill{break-inside:avoid}h2.page{break-before:page}}
`;

const mark = (ok: boolean | null, text: string) =>
  `<span class="${ok === null ? 'na' : ok ? 'ok' : 'bad'}">${html(text)}</span>`;

const isoOrNa = (ms: number | null) => (ms === null ? 'n/a' : new Date(ms).toISOString());

/** The steps as a Gantt chart: one bar per step on a shared time axis, wait steps in grey. */
export function ganttSvg(steps: readonly Step[], drillId: string): string {
  const started = steps.map((s) => s.startedAt).filter((t): t is number => t !== null);
  const ended = steps.map((s) => s.endedAt ?? s.startedAt).filter((t): t is number => t !== null);
  if (started.length === 0) return '<p class="na">No step started.</p>';
  const t0 = Math.min(...started);
  const t1 = Math.max(...ended, t0 + 1000);
  const label = 170;
  const width = 880;
  const plot = width - label - 170;
  const row = 22;
  const height = steps.length * row + 34;
  const x = (t: number) => label + ((t - t0) / (t1 - t0)) * plot;
  const bars = steps.map((step, i) => {
    const y = 8 + i * row;
    const name = `<text x="0" y="${y + 14}">${html(step.name)}</text>`;
    if (step.startedAt === null)
      return `${name}<text x="${label}" y="${y + 14}" class="na" style="fill:#6b7380">not run</text>`;
    const end = step.endedAt ?? t1;
    const w = Math.max(2, x(end) - x(step.startedAt));
    const waiting = step.name.startsWith('wait');
    const fill = step.endedAt === null ? '#b3261e' : waiting ? '#aeb6c2' : '#2f6fb3';
    const text = step.endedAt === null ? 'no end recorded (failed)' : duration(step.seconds);
    return `${name}<rect x="${x(step.startedAt).toFixed(1)}" y="${y + 3}" width="${w.toFixed(1)}" height="${row - 8}" rx="2" fill="${fill}"><title>${html(`${step.name}: ${isoOrNa(step.startedAt)} → ${isoOrNa(step.endedAt)}`)}</title></rect><text x="${(x(step.startedAt) + w + 4).toFixed(1)}" y="${y + 14}">${html(text)}</text>`;
  });
  const axisY = steps.length * row + 14;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const t = t0 + f * (t1 - t0);
    return `<line x1="${x(t).toFixed(1)}" y1="4" x2="${x(t).toFixed(1)}" y2="${axisY}" stroke="#e3e8ef"/><text x="${x(t).toFixed(1)}" y="${axisY + 14}" text-anchor="middle">+${html(duration((t - t0) / 1000))}</text>`;
  });
  return `<svg role="img" aria-label="timeline of ${html(drillId)}" class="gantt" width="100%" viewBox="0 0 ${width} ${height + 6}">${ticks.join('')}${bars.join('')}</svg>`;
}

function sparkline(history: readonly (number | null)[]): string {
  const points = history
    .map((v, i) => [i, v] as const)
    .filter((p): p is readonly [number, number] => p[1] !== null);
  if (points.length === 0) return '<span class="na">n/a</span>';
  const max = Math.max(...points.map(([, v]) => v), 1);
  const w = 120;
  const h = 24;
  const step = history.length > 1 ? w / (history.length - 1) : 0;
  const coords = points.map(
    ([i, v]) => `${(i * step).toFixed(1)},${(h - 2 - (v / max) * (h - 4)).toFixed(1)}`,
  );
  return `<svg class="spark" width="${w + 4}" height="${h}" viewBox="-2 0 ${w + 4} ${h}" role="img" aria-label="RTO history"><polyline fill="none" stroke="#2f6fb3" stroke-width="1.5" points="${coords.join(' ')}"/>${coords.map((c) => `<circle cx="${c.split(',')[0]}" cy="${c.split(',')[1]}" r="2" fill="#2f6fb3"/>`).join('')}</svg>`;
}

function summaryTable(model: ReportModel): string {
  const rows = model.drills.map(
    (d) =>
      `<tr><td><a href="#${html(d.drillId)}" class="mono">${html(d.drillId)}</a></td><td>${mark(d.status === 'SUCCEEDED', d.status)}</td><td>${html(d.mode)}</td><td>${html(d.resourceType)}</td><td>${html(d.trigger)}</td><td>${mark(d.rto.met, againstTarget(d.rto))}</td><td>${html(duration(d.rpo.seconds))}</td><td>${mark(
        d.checks.length === 0 ? null : d.checks.every((c) => c.passed),
        `${d.checks.filter((c) => c.passed).length}/${d.checks.length}`,
      )}</td><td>${mark(d.cleanup.status === 'cleaned up' || d.cleanup.status === 'nothing created' ? true : d.cleanup.status === 'kept (failover)' ? null : false, d.cleanup.status)}</td><td>${mark(d.verification.status === 'verified', d.verification.status)}</td></tr>`,
  );
  const unreadable = model.unreadable.map(
    (u) =>
      `<tr><td class="mono">${html(u.file)}</td><td colspan="8">${mark(false, 'not readable as evidence')}</td><td>${mark(false, u.verification.status)}</td></tr>`,
  );
  return `<table><thead><tr><th>drill</th><th>outcome</th><th>mode</th><th>type</th><th>trigger</th><th>RTO</th><th>RPO</th><th>checks</th><th>cleanup</th><th>evidence</th></tr></thead><tbody>${[...unreadable, ...rows].join('')}</tbody></table>`;
}

function drillSection(d: DrillView): string {
  const failed = d.status !== 'SUCCEEDED';
  const alarm =
    d.verification.status === 'verified'
      ? ''
      : `<div class="alarm">EVIDENCE ${html(d.verification.status.toUpperCase())}: ${html(verificationText(d.verification))}. Nothing below can be relied on for this drill.</div>`;
  const checks = d.checks.length
    ? `<table><thead><tr><th>check</th><th>result</th><th>observed</th><th>expected</th><th>detail</th></tr></thead><tbody>${d.checks
        .map(
          (c) =>
            `<tr><td>${html(c.name)}</td><td>${mark(c.passed, c.passed ? 'passed' : 'FAILED')}</td><td class="mono">${html(c.observed || '—')}</td><td class="mono">${html(c.expected || '—')}</td><td class="mono">${html(c.detail)}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '<p class="na">No check ran.</p>';
  const cleanupOk =
    d.cleanup.status === 'cleaned up' || d.cleanup.status === 'nothing created'
      ? true
      : d.cleanup.status === 'kept (failover)'
        ? null
        : false;
  const stored = d.stored;
  return `<section class="drill ${failed ? 'failed' : 'succeeded'}" id="${html(d.drillId)}">
<h3><span class="mono">${html(d.drillId)}</span> — ${mark(!failed, d.status)}</h3>${alarm}
<dl>
<dt>trigger</dt><dd>${html(d.trigger)}${d.triggeredAt ? ` at ${html(d.triggeredAt)}` : ''}</dd>
<dt>resource</dt><dd>${html(d.resourceType)} <code>${html(d.resource)}</code></dd>
<dt>recovery point</dt><dd><code>${html(d.recoveryPointArn)}</code>, created ${html(d.recoveryPointCreatedAt ?? 'n/a')}</dd>
<dt>source account / region</dt><dd>${html(d.source)}</dd>
<dt>target account / region</dt><dd>${html(d.target)}</dd>
<dt>copy job</dt><dd><code>${html(d.copyJob)}</code></dd>
<dt>restore job</dt><dd><code>${html(d.restoreJob)}</code></dd>
<dt>restored resource</dt><dd><code>${html(d.restoredResourceArn ?? 'none')}</code></dd>
<dt>code version</dt><dd>${html(d.codeVersion)}</dd>
${d.error ? `<dt>error</dt><dd class="bad">${html(d.error)}</dd>` : ''}
</dl>
<h4>Timeline</h4>${ganttSvg(d.steps, d.drillId)}
<h4>Objectives</h4>
<dl><dt>RTO (backup event → validated restore)</dt><dd>${mark(d.rto.met, againstTarget(d.rto))}${d.queuedSeconds ? ` <span class="note">(${html(duration(d.queuedSeconds))} queued behind other drills, not counted)</span>` : ''}</dd>
<dt>RPO (age of the recovery point)</dt><dd>${mark(d.rpo.met, againstTarget(d.rpo))}</dd>
${d.dataRpo ? `<dt>data RPO (newest data restored)</dt><dd>${mark(d.dataRpo.met, againstTarget(d.dataRpo))}</dd>` : ''}</dl>
<h4>Checks</h4>${checks}
<h4>Cleanup</h4>
<dl><dt>status</dt><dd>${mark(cleanupOk, d.cleanup.status)}${d.cleanup.completedAt ? ` at ${html(d.cleanup.completedAt)}` : ''}</dd>
<dt>removed</dt><dd>${d.cleanup.removed.map((r) => `<code>${html(r)}</code>`).join('<br>') || 'nothing'}</dd>
<dt>${d.mode === 'failover' ? 'kept' : 'leftovers'}</dt><dd>${d.cleanup.leftovers.map((r) => `<code>${html(r)}</code>`).join('<br>') || 'none'}</dd>
${d.cleanup.error ? `<dt>teardown error</dt><dd class="bad">${html(d.cleanup.error)}</dd>` : ''}
<dt>estimated cost</dt><dd>${d.cost.usd === null ? 'n/a' : `$${d.cost.usd.toFixed(2)} (${(d.cost.hours ?? 0).toFixed(2)} resource-hours)`} <span class="note">${html(d.cost.basis)}</span></dd></dl>
<h4>Evidence</h4>
<dl><dt>file</dt><dd><code>${html(d.file)}</code></dd>
<dt>stored as</dt><dd>${stored ? `<code>s3://${html(stored.bucket)}/${html(stored.key)}</code> version <code>${html(stored.versionId ?? 'n/a')}</code>` : 'not in the manifest'}</dd>
<dt>retention</dt><dd>${stored ? `${html(stored.lockMode ?? 'no lock')} until ${html(stored.retainUntil ?? 'n/a')}` : 'n/a'}</dd>
<dt>SHA-256</dt><dd>${mark(d.verification.status === 'verified', verificationText(d.verification))}</dd>
<dt>recorded</dt><dd>${html(d.recordedAt ?? 'n/a')}</dd></dl>
</section>`;
}

function resourceTable(resources: readonly ResourceSummary[]): string {
  return `<table><thead><tr><th>resource</th><th>type</th><th>drills</th><th>pass rate</th><th>RTO history (oldest → newest)</th><th>RTO trend</th><th>last drill</th></tr></thead><tbody>${resources
    .map(
      (r) =>
        `<tr><td class="mono">${html(r.resource)}</td><td>${html(r.resourceType)}</td><td>${r.drills}</td><td>${mark(r.passed === r.drills, `${Math.round((r.passed / r.drills) * 100)}% (${r.passed}/${r.drills})`)}</td><td>${sparkline(r.rtoHistory)} <span class="note">${html(r.rtoHistory.map(duration).join(', '))}</span></td><td>${html(r.trend)}</td><td class="mono">${html(r.lastDrill)}</td></tr>`,
    )
    .join('')}</tbody></table>`;
}

function complianceTable(model: ReportModel): string {
  const head = REQUIREMENTS.map(([name]) => `<th>${html(name)}</th>`).join('');
  const rows = model.compliance.map(
    (row) =>
      `<tr><td class="mono">${html(row.drillId)}</td>${REQUIREMENTS.map(([name]) => {
        const cell = row.cells[name];
        return `<td>${mark(cell.ok, cell.ok === null ? 'n/a' : cell.ok ? 'yes' : 'NO')} <span class="note">${html(cell.why)}</span></td>`;
      }).join('')}</tr>`,
  );
  const legend = REQUIREMENTS.map(
    ([name, meaning]) => `<dt>${html(name)}</dt><dd>${html(meaning)}</dd>`,
  ).join('');
  return `<dl>${legend}</dl><table><thead><tr><th>drill</th>${head}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

export function renderHtml(model: ReportModel): string {
  const failed = model.drills.filter((d) => d.status !== 'SUCCEEDED').length;
  const alarm =
    model.failedVerification > 0
      ? `<div class="alarm">${model.failedVerification} evidence file(s) FAILED verification: ${html(
          [
            ...model.unreadable.map((u) => u.file),
            ...model.drills.filter((d) => d.verification.status !== 'verified').map((d) => d.file),
          ].join(', '),
        )}. Their content may have been altered after it was stored.</div>`
      : '';
  const unreadable = model.unreadable
    .map(
      (u) =>
        `<section class="drill failed"><h3 class="mono">${html(u.file)}</h3><div class="alarm">${html(verificationText(u.verification))}</div></section>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pilotlight DR drill report</title><style>${CSS}</style></head><body>
<h1>Pilotlight DR drill report</h1>
<p class="note">From ${html(model.generatedFrom)} · ${model.drills.length} drill(s), ${failed} failed · ${model.verifiedCount} evidence file(s) verified, ${model.failedVerification} not</p>
${alarm}
<h2>Summary</h2>${summaryTable(model)}
<h2>Drills</h2><p class="note">Failed drills and evidence that failed verification first.</p>${unreadable}${model.drills.map(drillSection).join('\n')}
<h2>Resources</h2>${resourceTable(model.resources)}
<h2 class="page" id="compliance">Compliance</h2>${complianceTable(model)}
<p class="note">Each evidence file was hashed again (SHA-256) and compared with the hash recorded beside it and in the manifest when it was taken from the Object Lock bucket. Cost estimates are restored-resource hours at an assumed list price, not a bill.</p>
</body></html>
`;
}
