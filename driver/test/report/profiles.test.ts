// The reports of a profiled run (fixtures/runs/profiled: 2 measured repetitions and a profiled
// third with hand-written folded stacks): profiled repetitions out of the statistics unless the run
// counts them, one profile summary per implementation with its top functions and measured cost, a
// missing profile named instead of breaking the report, report.md's profile section (golden), and
// the flame graphs in report.html in a real headless Chromium (hover shows the share, click zooms).
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeReports } from '../../src/cli/commands/report.js';
import { buildFlameTree } from '../../src/profile/tree.js';
import { fitLabel, renderFlameGraph } from '../../src/report/flamegraph.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import { buildResultsFromDir } from '../../src/report/results.js';
import { ARTIFACTS, launchChromium, openPage } from '../support/chromium.js';

const RUN = join(import.meta.dirname, '..', 'fixtures', 'runs', 'profiled');
const GOLDEN = join(import.meta.dirname, '..', 'golden');
const NOW = new Date('2026-11-27T01:00:00.000Z');
const G = 'github.com/jnsgruk/gosherve/pkg/server.';
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'sb-profile-report-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function copyRun(name: string, edit?: (runJson: { config: { profile: { inStats: boolean } } }) => void): Promise<string> {
  const dir = join(scratch, name);
  await cp(RUN, dir, { recursive: true });
  if (edit) {
    const run = JSON.parse(await readFile(join(dir, 'run.json'), 'utf8')) as { config: { profile: { inStats: boolean } } };
    edit(run);
    await writeFile(join(dir, 'run.json'), JSON.stringify(run));
  }
  return dir;
}

describe('results of a profiled run', () => {
  it('keeps the profiled repetition out of the statistics and summarises each profile', async () => {
    const { results } = await buildResultsFromDir(RUN, NOW);
    expect(results.cells.map((c) => [c.impl, c.n, c.reps])).toEqual([
      ['gosherve-old', 2, [1, 2]],
      ['gosherve', 2, [1, 2]],
      ['tsherve', 2, [1, 2]],
    ]);
    expect(results.cells[0]!.reqPerSec.median).toBe(2989); // (2968 + 3010) / 2, not 2,700
    expect(results.repetitions).toHaveLength(9);
    expect(results.repetitions.filter((r) => r.profile).map((r) => r.id)).toEqual(['gosherve-old-1cpu-r3', 'gosherve-1cpu-r3', 'tsherve-1cpu-r3']);
    expect(results.warnings.filter((w) => w.code === 'no-results')).toEqual([]);
    const [old, cur, ts] = results.profiles!;
    expect(old).toMatchObject({
      impl: 'gosherve-old',
      size: '1',
      rep: 3,
      hz: 99,
      samples: 1000,
      files: { pprof: 'cells/1cpu/gosherve-old/r3/profile.proto', folded: 'cells/1cpu/gosherve-old/r3/profile.folded' },
    });
    // The map refresh: 330 of 1,000 samples under fetchRedirects (RefreshRedirects hands it all on).
    expect(old!.top.total.find((e) => e.name === `${G}(*Server).fetchRedirects`)).toMatchObject({ samples: 330, share: 0.33 });
    expect(old!.top.self[0]).toMatchObject({ name: 'crypto/sha1.blockSHANI.abi0', samples: 260 });
    expect(old!.overhead.unprofiledReqPerSec).toBe(2989);
    expect(old!.overhead.slowdown).toBeCloseTo(1 - 2700 / 2989, 10);
    const cpuPerReq = (id: string) => {
      const r = results.repetitions.find((x) => x.id === id)!;
      return (r.resources.serverCpuSeconds! * 1e6) / r.requests;
    };
    expect(old!.overhead.cpuMicrosPerRequest).toBeCloseTo(cpuPerReq('gosherve-old-1cpu-r3'), 6);
    expect(old!.overhead.unprofiledCpuMicrosPerRequest).toBeCloseTo((cpuPerReq('gosherve-old-1cpu-r1') + cpuPerReq('gosherve-old-1cpu-r2')) / 2, 6); // median of two
    expect(cur!.top.total.some((e) => /RefreshRedirects|fetchRedirects/.test(e.name))).toBe(false);
    // tsherve: its handler by JavaScript name and file, and the kernel copy of writev.
    expect(ts!.top.total.find((e) => e.name === 'serveEntry (handler.js:96)')?.samples).toBe(580);
    expect(ts!.top.self[0]).toMatchObject({ name: '_copy_from_iter', kind: 'kernel', samples: 430 });
    expect(ts!.tree.value).toBe(1000);
    expect(ts!.tree.children.map((c) => [c.name, c.kind])).toEqual([['node', 'thread']]);
  });

  it('--profile-in-stats: the profiled repetition counts', async () => {
    const dir = await copyRun('in-stats', (r) => {
      r.config.profile.inStats = true;
    });
    const { results } = await buildResultsFromDir(dir, NOW);
    expect(results.cells.map((c) => c.n)).toEqual([3, 3, 3]);
    expect(results.cells[0]!.reqPerSec.median).toBe(2968);
  });

  it('a missing profile.folded is a warning naming it; the rest still renders', async () => {
    const dir = await copyRun('missing');
    await rm(join(dir, 'cells', '1cpu', 'tsherve', 'r3', 'profile.folded'));
    const { results } = await buildResultsFromDir(dir, NOW);
    expect(results.profiles?.map((p) => p.impl)).toEqual(['gosherve-old', 'gosherve']);
    const w = results.warnings.find((x) => x.code === 'profile');
    expect(w).toMatchObject({ impl: 'tsherve', size: '1', reps: [3] });
    expect(w!.message).toBe('its profile cells/1cpu/tsherve/r3/profile.folded cannot be read (ENOENT): no flame graph or top functions for it');
    expect(renderMarkdown(results)).toContain('### gosherve at 1 vCPU');
  });

  it('report.md: the profile section (golden)', async () => {
    const md = renderMarkdown((await buildResultsFromDir(RUN, NOW)).results);
    const path = join(GOLDEN, 'profiled.md');
    if (process.env.UPDATE_GOLDEN === '1' || !existsSync(path)) writeFileSync(path, md);
    expect(md).toBe(readFileSync(path, 'utf8'));
    const section = md.slice(md.indexOf('## Profiles'), md.indexOf('## Verification'));
    expect(section.match(/^\| 4 \| `[^`]+`/gm)).toHaveLength(3); // every profile has at least 4 functions by self
    expect(section).toContain('| 5 |  |  | `tcp_sendmsg_locked` (kernel) | 52.0 % |'); // gosherve's: only 4 by self, more by total
    expect(section).toContain('| 1 | `crypto/sha1.blockSHANI.abi0` | 26.0 % |');
    expect(section).toContain('`_copy_from_iter` (kernel) | 43.0 %');
    expect(section).toContain('- gosherve-old at 1 vCPU: 2,700 req/s profiled vs 2,989 unprofiled (median): slowdown 9.7 %');
  });
});

describe('flame graph renderer', () => {
  it('fits labels, draws every node once with its share', () => {
    expect(fitLabel('runtime.goexit', 1000)).toBe('runtime.goexit');
    expect(fitLabel('runtime.goexit', 50)).toBe('runtim…'); // (50 − 6) / 6.1 → 7 characters
    expect(fitLabel('runtime.goexit', 15)).toBe('');
    const tree = buildFlameTree([
      {
        comm: 'srv',
        frames: [
          { name: 'main', kind: 'native', file: null, line: null },
          { name: 'a<b>&c', kind: 'native', file: null, line: null },
        ],
        samples: 3,
      },
      { comm: 'srv', frames: [{ name: 'main', kind: 'native', file: null, line: null }], samples: 1 },
    ]);
    const svg = renderFlameGraph({ id: 'f', title: 'T', tree, caption: 'C' });
    expect(svg.match(/<g class="f /g)).toHaveLength(4); // all, srv, main, a<b>&c
    expect(svg).toContain('data-n="a&lt;b&gt;&amp;c"');
    expect(svg).toContain('<title>main\n100.0 % of samples (4), self 25.0 %</title>');
  });
});

describe('report.html flame graphs in Chromium', () => {
  let browser: Browser;
  let html: string;
  beforeAll(async () => {
    const dir = await copyRun('html');
    await writeReports(dir, { now: NOW, reportsDir: scratch });
    html = join(dir, 'report.html');
    await mkdir(ARTIFACTS, { recursive: true });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('one flame graph per implementation, offline; hover shows the share, click zooms in and out', async () => {
    const { page, errors, requests } = await openPage(browser, html);
    expect(await page.$$eval('svg.flame', (s) => s.map((x) => x.id))).toEqual(['flame-0', 'flame-1', 'flame-2']);
    expect(await page.$$eval('section.profile h3', (h) => h.map((x) => x.textContent))).toEqual([
      'gosherve-old at 1 vCPU',
      'gosherve at 1 vCPU',
      'tsherve at 1 vCPU',
    ]);
    const box = await page.$eval('svg#flame-0', (s) => s.getBoundingClientRect().toJSON() as { width: number; height: number });
    expect(box.width).toBeGreaterThan(700);
    expect(box.height).toBeGreaterThan(100);
    // Readable names: the widest frames carry their label.
    expect(await page.$$eval('svg#flame-0 g.f text', (t) => t.map((x) => x.textContent))).toContain('runtime.goexit.abi0');
    const fetch = page.locator('svg#flame-0 g.f[data-n$="fetchRedirects"]');
    await fetch.hover();
    const detail = page.locator('svg#flame-0 >> xpath=ancestor::figure//p[contains(@class,"flame-detail")]');
    expect(await detail.textContent()).toBe(`${G}(*Server).fetchRedirects — 33.0 % of samples (330), self 0.00 %`);
    await fetch.click();
    expect(Number(await fetch.locator('rect').getAttribute('width'))).toBeGreaterThan(990);
    const hidden = await page.$$eval('svg#flame-0 g.f', (gs) =>
      gs.filter((g) => (g as unknown as { style: { display: string } }).style.display === 'none').map((g) => g.getAttribute('data-n')),
    );
    expect(hidden).toContain('crypto/sha1.blockSHANI.abi0'); // not under fetchRedirects
    expect(hidden).not.toContain('runtime.goexit.abi0'); // its callers stay, full width
    await page.screenshot({ path: join(ARTIFACTS, 'report-flame-zoomed.png'), fullPage: false });
    await page.locator('svg#flame-0 g.f[data-d="0"]').click();
    expect(
      await page.$$eval('svg#flame-0 g.f', (gs) => gs.filter((g) => (g as unknown as { style: { display: string } }).style.display === 'none').length),
    ).toBe(0);
    expect(errors).toEqual([]);
    expect(requests).toEqual([pathToFileURL(html).href]);
    await page.close();
  });

  it('dark mode and a phone width: the graph scrolls sideways instead of shrinking its names', async () => {
    const { page } = await openPage(browser, html, { width: 390, height: 844, dark: true });
    const w = await page.$eval('svg#flame-2', (s) => s.getBoundingClientRect().width);
    expect(w).toBeGreaterThanOrEqual(760);
    const scroller = await page.$eval('svg#flame-2', (s) => {
      const d = s.parentElement as unknown as {
        clientWidth: number;
        scrollWidth: number;
        ownerDocument: { defaultView: { getComputedStyle(e: unknown): { overflowX: string } } };
      };
      return { client: d.clientWidth, scroll: d.scrollWidth, overflow: d.ownerDocument.defaultView.getComputedStyle(d).overflowX };
    });
    expect(scroller.overflow).toBe('auto');
    expect(scroller.scroll).toBeGreaterThan(scroller.client);
    await page.locator('svg#flame-2').screenshot({ path: join(ARTIFACTS, 'report-flame-dark-phone.png') });
    await page.close();
  });
});
