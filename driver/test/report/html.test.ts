// report.html and reports/index.html in a real headless Chromium (Debian's /usr/bin/chromium via
// playwright-core): no console errors, no network requests beyond the file itself, every chart an
// SVG of non-zero size with the expected bars, the tables' cells, and screenshots as artefacts.
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReports } from '../../src/cli/commands/report.js';
import { ARTIFACTS, launchChromium, openPage } from '../support/chromium.js';

const RUNS = join(import.meta.dirname, '..', 'fixtures', 'runs');
let browser: Browser;
let reportsDir: string;

beforeAll(async () => {
  reportsDir = await mkdtemp(join(tmpdir(), 'sb-html-'));
  for (const id of ['normal', 'mixed', 'n1', 'bound', 'gaps']) await cp(join(RUNS, id), join(reportsDir, id), { recursive: true });
  for (const id of ['normal', 'mixed', 'n1', 'bound', 'gaps']) await writeReports(join(reportsDir, id), { now: new Date('2026-11-27T01:00:00Z') });
  await mkdir(ARTIFACTS, { recursive: true });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await rm(reportsDir, { recursive: true, force: true });
});

const open = (file: string, opts: { width?: number; dark?: boolean } = {}) => openPage(browser, file, opts);

async function bars(page: Page, id: string): Promise<{ count: number; width: number; height: number }> {
  return page.$eval(`svg#${id}`, (svg) => {
    const r = svg.getBoundingClientRect();
    return { count: svg.querySelectorAll('rect.bar').length, width: r.width, height: r.height };
  });
}

describe('report.html in Chromium', () => {
  it('six implementations at 1280 px: no table is wider than the page (none scrolls sideways)', async () => {
    // The normal run with three more implementations (copies of tsherve's cells under other names).
    const dir = join(await mkdtemp(join(tmpdir(), 'sb-html-wide-')), 'wide'); // its own reports folder: not in the index test's
    await cp(join(RUNS, 'normal'), dir, { recursive: true });
    const run = JSON.parse(await readFile(join(dir, 'run.json'), 'utf8')) as {
      config: { impls: string[] };
      versions: { impls: Record<string, string> };
      order: string[];
    };
    for (const name of ['servy', 'tsherve-bun', 'nginx']) {
      for (const size of await readdir(join(dir, 'cells'))) {
        for (const rep of await readdir(join(dir, 'cells', size, 'tsherve'))) {
          await mkdir(join(dir, 'cells', size, name, rep), { recursive: true });
          const r = JSON.parse(await readFile(join(dir, 'cells', size, 'tsherve', rep, 'result.json'), 'utf8')) as { id: string; impl: string };
          await writeFile(join(dir, 'cells', size, name, rep, 'result.json'), JSON.stringify({ ...r, id: r.id.replace('tsherve', name), impl: name }));
        }
        const v = JSON.parse(await readFile(join(dir, 'verify', size, 'tsherve.json'), 'utf8')) as object;
        await writeFile(join(dir, 'verify', size, `${name}.json`), JSON.stringify({ ...v, impl: name }));
      }
      run.config.impls.push(name);
      run.versions.impls[name] = `${name} 0.1.0`;
      run.order.push(...run.order.filter((id) => id.startsWith('tsherve-')).map((id) => id.replace('tsherve', name)));
    }
    await writeFile(join(dir, 'run.json'), JSON.stringify(run));
    await writeReports(dir, { now: new Date('2026-11-27T01:00:00Z') });
    const { page, errors } = await open(join(dir, 'report.html'), { width: 1280 });
    try {
      expect(errors).toEqual([]);
      // Each table against the box that holds it: wider means a sideways scroll bar (before: 9 of 13 tables).
      const wider = (await page.evaluate(
        "[...document.querySelectorAll('table')].map((t, i) => [i, Math.round(t.getBoundingClientRect().width), t.parentElement.clientWidth]).filter(([, w, box]) => w > box + 1)",
      )) as number[][];
      expect(wider).toEqual([]);
      expect(await page.$$eval('table', (t) => t.length)).toBeGreaterThan(10);
      expect((await page.evaluate('document.documentElement.scrollWidth')) as number).toBeLessThanOrEqual(1280);
      await page.screenshot({ path: join(ARTIFACTS, 'report-1280-six.png'), fullPage: true });
    } finally {
      await page.close();
      await rm(join(dir, '..'), { recursive: true, force: true });
    }
  });

  it('normal run: offline, charts with the expected bars, tables with the expected cells', async () => {
    const file = join(reportsDir, 'normal', 'report.html');
    const { page, errors, requests } = await open(file);
    try {
      expect(errors).toEqual([]);
      expect(requests).toEqual([pathToFileURL(file).href]);
      // 3 impls × 2 sizes = 6 cells: 6 bars per per-size chart, 18 in the latency chart (p50/p95/p99).
      const expected: Record<string, number> = { 'chart-rps': 6, 'chart-cpu-rps': 6, 'chart-mbps': 6, 'chart-latency': 18, 'chart-cpu': 6, 'chart-memory': 6 };
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
      expect(await page.$eval('figure:has(svg#chart-memory) figcaption', (c) => c.textContent ?? '')).toMatch(
        /^Bars: the largest resident memory .* no interval\)\.$/,
      );
      const tables = (await page.$$eval('table', (ts) =>
        ts.map((t) => [...t.querySelectorAll('tr')].map((r) => [...r.querySelectorAll('th,td')].map((c) => c.textContent?.trim()))),
      )) as string[][][];
      // First the headline: req/s and requests per server CPU-second side by side, with ratios.
      expect(tables[0]![0]).toEqual([
        'machine / load',
        'implementation',
        'req/s',
        'req/s ÷ reference',
        'req per server CPU-s',
        'req/CPU-s ÷ reference',
        'load generator CPU',
      ]);
      expect(tables[0]![3]).toEqual([
        '1 vCPU / 256 MB / 6 connections',
        'tsherve',
        '15,500 [14,708–16,172] ≈',
        '1.00 ± 0.02× (n.s.)',
        '33,333 [31,685–34,999]',
        '2.13× [2.04–2.23]',
        '50 % of 1 core',
      ]);
      // Then the throughput table laid out as in the blog post this project grew from.
      expect(tables[1]![0]).toEqual(['machine / load', 'gosherve-old', 'gosherve', 'tsherve']);
      expect(tables[1]![1]).toEqual(['1 vCPU / 256 MB / 6 connections', '172 MB/s', '896 MB/s', '899 MB/s']);
      expect(tables[1]![2]).toEqual(['2 vCPU / 4 GB / 60 connections', '223 MB/s', '1.2 GB/s', '1.7 GB/s *']);
      expect(await page.$$eval('svg#chart-cpu-rps g.whisker', (g) => g.length)).toBe(6);
      // Nothing is generator-bound here: no † anywhere, and no "which ratio to trust" box.
      expect(await page.$$eval('svg text.mark', (t) => t.length)).toBe(0);
      expect(await page.$$eval('div.trust', (d) => d.length)).toBe(0);
      expect(await page.textContent('body')).toContain('15,500 [14,708–16,172] ≈');
      // Warnings come before the first table.
      // (Browser-side code as strings: this project's tsconfig has no DOM lib.)
      expect(
        await page.evaluate(
          "document.querySelector('section.warnings').compareDocumentPosition(document.querySelector('table')) & Node.DOCUMENT_POSITION_FOLLOWING",
        ),
      ).toBeTruthy();
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
      const { scrollWidth, bg } = (await page.evaluate(
        '({ scrollWidth: document.documentElement.scrollWidth, bg: getComputedStyle(document.body).backgroundColor })',
      )) as { scrollWidth: number; bg: string };
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

  it('a generator-bound reference: † on its bars and table cells, and the ratio to trust stated above the tables', async () => {
    const { page, errors } = await open(join(reportsDir, 'bound', 'report.html'));
    try {
      expect(errors).toEqual([]);
      // nginx is bound: one † on the req/s chart and one on the MB/s chart, none on per-CPU-second.
      expect(await page.$$eval('svg#chart-rps text.mark', (t) => t.map((x) => x.textContent))).toEqual(['†']);
      expect(await page.$$eval('svg#chart-mbps text.mark', (t) => t.length)).toBe(1);
      expect(await page.$$eval('svg#chart-cpu-rps text.mark', (t) => t.length)).toBe(0);
      expect(await page.$$eval('svg#chart-rps rect.bar title', (t) => t.map((x) => x.textContent ?? '').filter((x) => x.includes('generator-bound')))).toEqual([
        expect.stringMatching(/^nginx at 1 vCPU: 49,800 req\/s/),
      ]);
      const headline = (await page.$$eval('table.headline tr.bound', (rs) =>
        rs.map((r) => [...r.querySelectorAll('th,td')].map((c) => c.textContent?.trim())),
      )) as string[][];
      expect(headline).toEqual([
        [
          '1 vCPU / 256 MB / 6 connections',
          'nginx †',
          '49,800 [46,700–53,012]',
          '1× (reference)',
          '52,632 [50,030–55,262]',
          '1× (reference)',
          '96 % of 1 core',
        ],
      ]);
      const trust = await page.textContent('div.trust');
      expect(trust).toMatch(
        /the reference nginx is generator-bound .* trust the ratios of requests per server CPU-second \(gosherve 0\.34× \[0\.32–0\.35\], tsherve 0\.92× \[0\.88–0\.96\]\)/,
      );
      expect(
        await page.evaluate(
          "document.querySelector('div.trust').compareDocumentPosition(document.querySelectorAll('table')[1]) & Node.DOCUMENT_POSITION_FOLLOWING",
        ),
      ).toBeTruthy();
      await page.screenshot({ path: join(ARTIFACTS, 'report-bound.png'), fullPage: true });
    } finally {
      await page.close();
    }
  });

  it('statistics that were not measured: no bar, "–" in the tables, and a caption saying so', async () => {
    const { page, errors } = await open(join(reportsDir, 'gaps', 'report.html'));
    try {
      expect(errors).toEqual([]);
      // 2 cells × 3 percentiles, but p99 was never measured: 4 bars, not 6.
      expect((await bars(page, 'chart-latency')).count).toBe(4);
      expect(await page.$eval('figure:has(svg#chart-latency) figcaption', (c) => c.textContent ?? '')).toContain(
        'A missing bar is a percentile that was not measured',
      );
      // tsherve's server CPU was not measured: one bar on the per-CPU-second chart.
      expect((await bars(page, 'chart-cpu-rps')).count).toBe(1);
      expect(await page.textContent('body')).toContain('400 µs / 1.2 ms / –');
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
      expect(links.sort()).toEqual(['bound/report.html', 'gaps/report.html', 'mixed/report.html', 'n1/report.html', 'normal/report.html']);
      const created = await page.$$eval('section.run p.sub', (ps) => ps.map((p) => p.textContent!.slice(0, 24)));
      expect([...created].sort().reverse()).toEqual(created);
      expect(await page.$$eval('section.run table', (t) => t.length)).toBe(5);
      expect(await page.textContent('body')).toMatch(/49,800 req\/s †2\.9 GB\/s52,632 req\/CPU-s/);
    } finally {
      await page.close();
    }
  });
});
