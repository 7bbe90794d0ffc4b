// report.html and reports/index.html in a real headless Chromium (Debian's /usr/bin/chromium via
// playwright-core): no console errors, no network requests beyond the file itself, every chart an
// SVG of non-zero size with the expected bars, the tables' cells, and screenshots as artefacts.
import { cp, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReports } from '../src/commands/report.js';

const RUNS = join(import.meta.dirname, 'fixtures', 'runs');
const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts');
let browser: Browser;
let reportsDir: string;

beforeAll(async () => {
  reportsDir = await mkdtemp(join(tmpdir(), 'sb-html-'));
  for (const id of ['normal', 'mixed', 'n1']) await cp(join(RUNS, id), join(reportsDir, id), { recursive: true });
  for (const id of ['normal', 'mixed', 'n1']) await writeReports(join(reportsDir, id), { now: new Date('2026-11-27T01:00:00Z') });
  await mkdir(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
});

afterAll(async () => {
  await browser?.close();
  await rm(reportsDir, { recursive: true, force: true });
});

async function open(file: string, opts: { width?: number; dark?: boolean } = {}): Promise<{ page: Page; errors: string[]; requests: string[] }> {
  const page = await browser.newPage({ viewport: { width: opts.width ?? 1200, height: 900 } });
  if (opts.dark) await page.emulateMedia({ colorScheme: 'dark' });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('request', (r) => requests.push(r.url()));
  const url = pathToFileURL(file).href;
  await page.goto(url, { waitUntil: 'load' });
  return { page, errors, requests };
}

async function bars(page: Page, id: string): Promise<{ count: number; width: number; height: number }> {
  return page.$eval(`svg#${id}`, (svg) => {
    const r = svg.getBoundingClientRect();
    return { count: svg.querySelectorAll('rect.bar').length, width: r.width, height: r.height };
  });
}

describe('report.html in Chromium', () => {
  it('normal run: offline, charts with the expected bars, tables with the expected cells', async () => {
    const file = join(reportsDir, 'normal', 'report.html');
    const { page, errors, requests } = await open(file);
    try {
      expect(errors).toEqual([]);
      expect(requests).toEqual([pathToFileURL(file).href]);
      // 3 impls × 2 sizes = 6 cells: 6 bars per per-size chart, 18 in the latency chart (p50/p95/p99).
      const expected: Record<string, number> = { 'chart-rps': 6, 'chart-mbps': 6, 'chart-latency': 18, 'chart-cpu': 6, 'chart-memory': 6 };
      for (const [id, n] of Object.entries(expected)) {
        const b = await bars(page, id);
        expect(b.count, id).toBe(n);
        expect(b.width, id).toBeGreaterThan(100);
        expect(b.height, id).toBeGreaterThan(50);
        expect(await page.$eval(`svg#${id} > title`, (t) => t.textContent?.length ?? 0), id).toBeGreaterThan(3);
        expect(await page.$$eval(`svg#${id} text.axis-label`, (ts) => ts.length), id).toBe(2);
      }
      // CI whiskers on the req/s chart (all cells have n ≥ 3), and one "≈" (tsherve vs gosherve at 1 vCPU).
      expect(await page.$$eval('svg#chart-rps g.whisker', (g) => g.length)).toBe(6);
      expect(await page.$$eval('svg#chart-rps text.ns', (t) => t.length)).toBe(1);
      // Peak memory is a maximum: no whiskers drawn, and the caption does not promise any.
      expect(await page.$$eval('svg#chart-memory g.whisker', (g) => g.length)).toBe(0);
      expect(await page.$eval('figure:has(svg#chart-memory) figcaption', (c) => c.textContent ?? '')).toMatch(/^Bars: the largest resident memory .* no interval\)\.$/);
      const firstTable = await page.$$eval('table:first-of-type tr', (rows) => rows.map((r) => [...r.querySelectorAll('th,td')].map((c) => c.textContent?.trim())));
      expect(firstTable[0]).toEqual(['machine / VUs', 'gosherve-old', 'gosherve', 'tsherve']);
      // tsherve leads at 1 vCPU only by a non-significant margin: no "fastest" mark there.
      expect(firstTable[1]).toEqual(['1 vCPU / 256 MB / 1 VU', '172 MB/s', '896 MB/s', '899 MB/s']);
      expect(firstTable[2]).toEqual(['2 vCPU / 4 GB / 10 VUs', '223 MB/s', '1.2 GB/s', '1.7 GB/s *']);
      expect(await page.textContent('body')).toContain('15,500 [14,708–16,172] ≈');
      // Warnings come before the first table.
      // (Browser-side code as strings: this project's tsconfig has no DOM lib.)
      expect(await page.evaluate("document.querySelector('section.warnings').compareDocumentPosition(document.querySelector('table')) & Node.DOCUMENT_POSITION_FOLLOWING")).toBeTruthy();
      await page.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });
      await page.locator('div.charts').screenshot({ path: join(ARTIFACTS, 'report-charts.png') });
    } finally {
      await page.close();
    }
  });

  it('readable at 390 px in dark mode: no page-wide horizontal scroll, dark background', async () => {
    const { page, errors } = await open(join(reportsDir, 'mixed', 'report.html'), { width: 390, dark: true });
    try {
      expect(errors).toEqual([]);
      const { scrollWidth, bg } = (await page.evaluate('({ scrollWidth: document.documentElement.scrollWidth, bg: getComputedStyle(document.body).backgroundColor })')) as { scrollWidth: number; bg: string };
      expect(scrollWidth).toBeLessThanOrEqual(390);
      expect(bg).toBe('rgb(13, 17, 23)');
      // mixed: size 1 has tsherve and gosherve-old only; size 16 is skipped entirely.
      expect((await bars(page, 'chart-rps')).count).toBe(2);
      expect((await bars(page, 'chart-latency')).count).toBe(6);
      expect(await page.textContent('section.warnings')).toContain('loadgen-saturated');
      await page.screenshot({ path: join(ARTIFACTS, 'report-390-dark.png'), fullPage: true });
      await page.screenshot({ path: join(ARTIFACTS, 'report-390-dark-top.png') });
      await page.$eval('#chart-rps', (e) => e.scrollIntoView());
      await page.screenshot({ path: join(ARTIFACTS, 'report-390-dark-chart.png') });
    } finally {
      await page.close();
    }
  });

  it('n = 1: bars without whiskers, the page says no interval can be given', async () => {
    const { page, errors } = await open(join(reportsDir, 'n1', 'report.html'));
    try {
      expect(errors).toEqual([]);
      expect((await bars(page, 'chart-rps')).count).toBe(2);
      expect(await page.$$eval('svg#chart-rps g.whisker', (g) => g.length)).toBe(0);
      expect(await page.textContent('body')).toContain('no confidence interval');
    } finally {
      await page.close();
    }
  });

  it('index.html lists every run newest first, linking each report', async () => {
    const file = join(reportsDir, 'index.html');
    const html = await readFile(file, 'utf8');
    expect(html).not.toMatch(/https?:\/\//);
    const { page, errors, requests } = await open(file);
    try {
      expect(errors).toEqual([]);
      expect(requests).toEqual([pathToFileURL(file).href]);
      const links = await page.$$eval('section.run h2 a', (as) => as.map((a) => a.getAttribute('href')));
      expect(links.sort()).toEqual(['mixed/report.html', 'n1/report.html', 'normal/report.html']);
      const created = await page.$$eval('section.run p.sub', (ps) => ps.map((p) => p.textContent!.slice(0, 24)));
      expect([...created].sort().reverse()).toEqual(created);
      expect(await page.$$eval('section.run table', (t) => t.length)).toBe(3);
    } finally {
      await page.close();
    }
  });
});
