import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main.js';

/**
 * The report as an auditor sees it: loaded in headless Chromium from a file, with nothing fetched, the summary
 * and the timelines of succeeded and failed drills of several types rendered. The screenshot is kept.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT = resolve('artifacts/report.png');
const root = mkdtempSync(join(tmpdir(), 'pilotlight-browser-'));
const evidenceDir = join(root, 'evidence');
const reportPath = join(root, 'report.html');
let browser: Browser;
const drillIds: { id: string; status: string; type: string }[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium, or set CHROMIUM_PATH`);
  let stdout = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  // One seeded sweep (drills by policy over a tagged estate): six drills of six types in three tiers, the first
  // two restore jobs refused, so two drills fail.
  const code = await main([
    'sweep',
    '--count',
    '6',
    '--seed',
    '11',
    '--fault',
    'api:Backup.StartRestoreJob=InvalidParameterValueException*2',
    '--evidence-dir',
    evidenceDir,
    '--json',
  ]);
  if (code !== 1) throw new Error(`sweep exited ${code}, expected 1 (two drills fail)`);
  const run = JSON.parse(stdout) as {
    drills: { drillId: string; status: string; source: { resourceType: string } }[];
  };
  drillIds.push(...run.drills.map((d) => ({ id: d.drillId, status: d.status, type: d.source.resourceType })));
  await main(['report', '--evidence-dir', evidenceDir, '--out', reportPath]);
  vi.restoreAllMocks();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

afterAll(async () => {
  await browser?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('the HTML report in Chromium', () => {
  it('renders the summary and a timeline for every drill, succeeded and failed, loading nothing', async () => {
    // Prepare
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    const blocked: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') blocked.push(message.text());
    });

    // Act
    await page.goto(pathToFileURL(reportPath).href);
    mkdirSync('artifacts', { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // Assess
    expect(drillIds.filter((d) => d.status === 'FAILED')).toHaveLength(2);
    expect(drillIds.filter((d) => d.status === 'SUCCEEDED')).toHaveLength(4);
    expect(new Set(drillIds.filter((d) => d.status === 'FAILED').map((d) => d.type)).size).toBe(2);
    expect(new Set(drillIds.filter((d) => d.status === 'SUCCEEDED').map((d) => d.type)).size).toBe(4);
    // Started by the policies, judged against their tiers.
    expect(await page.getByText('schedule: policy gold-daily (tier gold)').count()).toBeGreaterThanOrEqual(1);
    expect(
      await page.getByText('schedule: policy bronze-monthly (tier bronze)').count(),
    ).toBeGreaterThanOrEqual(1);
    const summaryRows = page.locator('h2:text("Summary") + table tbody tr');
    expect(await summaryRows.count()).toBe(drillIds.length);
    // Failed drills first in the summary.
    const outcomes = await summaryRows.locator('td:nth-child(2)').allTextContents();
    expect(outcomes).toEqual([...drillIds.map((d) => d.status)].sort());
    for (const { id } of drillIds) {
      const gantt = page.locator(`section[id="${id}"] svg.gantt`);
      await expect.poll(() => gantt.isVisible()).toBe(true);
      const box = await gantt.boundingBox();
      expect(box?.width).toBeGreaterThan(400);
      expect(await gantt.locator('rect').count()).toBeGreaterThanOrEqual(4);
    }
    expect(await page.locator('.drill.failed .gantt rect[fill="#b3261e"]').count()).toBeGreaterThanOrEqual(1);
    expect(requests).toEqual([pathToFileURL(reportPath).href]);
    expect(blocked).toEqual([]);
    expect(readFileSync(SCREENSHOT).length).toBeGreaterThan(10_000);
    process.stderr.write(`report screenshot: ${SCREENSHOT}\n`);
  });
});
