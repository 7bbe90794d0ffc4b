// `server-bench compare` on stored runs: an improvement, a regression (exit 1), a mismatched
// configuration (refused with every difference named; accepted with --force), no verdict without a
// noise estimate, host drift (an unchanged implementation that moved; ratios that cancel it), --json,
// and bad usage.
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main as compareMain } from '../../src/cli/commands/compare.js';
import { main as reportMain } from '../../src/cli/commands/report.js';
import { compareResults, configDifferences, renderCompareTerminal } from '../../src/results/compare.js';
import { buildResultsFromDir } from '../../src/report/results.js';
import { loadRun } from '../../src/results/store.js';

const RUNS = join(import.meta.dirname, '..', 'fixtures', 'runs');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sb-compare-'));
  for (const id of ['cmp-base', 'cmp-better', 'cmp-worse', 'cmp-other-config', 'k6', 'normal', 'n1'])
    await cp(join(RUNS, id), join(dir, id), { recursive: true });
  await cp(join(RUNS, 'n1'), join(dir, 'n1-again'), { recursive: true });
  // The same code on a host 58 % faster: every implementation's numbers scaled alike.
  await cp(join(RUNS, 'cmp-base'), join(dir, 'cmp-fast-host'), { recursive: true });
  await scaleRun(join(dir, 'cmp-fast-host'), 1.58);
});

async function scaleRun(runDir: string, factor: number): Promise<void> {
  for (const size of await readdir(join(runDir, 'cells'))) {
    for (const impl of await readdir(join(runDir, 'cells', size))) {
      for (const rep of await readdir(join(runDir, 'cells', size, impl))) {
        const f = join(runDir, 'cells', size, impl, rep, 'result.json');
        const r = JSON.parse(await readFile(f, 'utf8')) as { requests: number; reqPerSec: number; bytes: number; bytesPerSec: number };
        r.requests = Math.round(r.requests * factor);
        r.reqPerSec *= factor;
        r.bytes = Math.round(r.bytes * factor);
        r.bytesPerSec *= factor;
        await writeFile(f, JSON.stringify(r));
      }
    }
  }
}
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Run a command's main with its stdout/stderr captured. */
async function run(fn: (argv: string[]) => Promise<number>, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
  try {
    return { code: await fn(argv), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('compare (pure)', () => {
  it('classifies improvement, regression and noise', async () => {
    const base = (await buildResultsFromDir(join(RUNS, 'cmp-base'))).results;
    const better = (await buildResultsFromDir(join(RUNS, 'cmp-better'))).results;
    const c = compareResults(base, better, 5);
    expect(c.configDiffs).toEqual([]);
    expect(c.regressions).toEqual([]);
    const ts = c.rows.filter((r) => r.impl === 'tsherve');
    // req/s, MB/s up; p99 down; the fixture's CPU grew with the load, so requests per CPU-second did not move.
    expect(ts.map((r) => `${r.metric} ${r.verdict}`)).toEqual(
      ['1', '2'].flatMap(() => ['req/s improvement', 'MB/s improvement', 'req/CPU-s within noise', 'p99 latency improvement']),
    );
    expect(ts[0]!.changePct).toBeCloseTo(30, 6);
    expect(c.rows.filter((r) => r.impl === 'gosherve').every((r) => r.verdict === 'within noise')).toBe(true);
  });
});

describe('compare never judges a statistic that was not measured or a substituted number', () => {
  it('p99 absent → "not measured"; a cell holding a substituted duration → not judged; the rest as usual', async () => {
    const base = (await buildResultsFromDir(join(RUNS, 'gaps'))).results;
    // The candidate: every cell 30 % slower, which is a regression wherever it can be judged.
    const worse = join(dir, 'gaps-worse');
    await cp(join(RUNS, 'gaps'), worse, { recursive: true });
    const loaded = await loadRun(worse);
    for (const c of loaded.cells) {
      const r = { ...c, requests: Math.round(c.requests * 0.7), reqPerSec: c.reqPerSec * 0.7, bytes: c.bytes * 0.7, bytesPerSec: c.bytesPerSec * 0.7 };
      await writeFile(join(worse, 'cells', '1cpu', c.impl, `r${c.rep}`, 'result.json'), JSON.stringify(r));
    }
    const cand = (await buildResultsFromDir(worse)).results;
    const cmp = compareResults(base, cand, 5);
    const verdict = (impl: string, metric: string) => cmp.rows.find((r) => r.impl === impl && r.metric === metric)!.verdict;
    expect(verdict('gosherve', 'p99 latency')).toBe('not measured');
    expect(verdict('tsherve', 'p99 latency')).toBe('not measured');
    expect(cmp.rows.find((r) => r.metric === 'p99 latency')).toMatchObject({ baseline: null, candidate: null, changePct: null });
    // gosherve's second repetition took the configured duration: its -30 % is shown, not judged.
    expect(verdict('gosherve', 'req/s')).toBe('substituted');
    expect(cmp.rows.find((r) => r.impl === 'gosherve' && r.metric === 'req/s')!.changePct).toBeCloseTo(-30, 1);
    // Two repetitions a side give no noise estimate: tsherve's -30 % is shown without a verdict.
    expect(verdict('tsherve', 'req/s')).toBe('no noise estimate');
    expect(cmp.rows.find((r) => r.impl === 'tsherve' && r.metric === 'req/s')!.changePct).toBeCloseTo(-30, 1);
    expect(cmp.regressions).toEqual([]);
    const text = renderCompareTerminal(cmp);
    expect(text).toMatch(/gosherve .*p99 latency .*– .*– .*– not measured \(not judged\)/);
    expect(text).toMatch(/gosherve .*req\/s .*-30\.0 % .*~ holds a substituted number \(not judged\)/);
    expect(text).toMatch(
      /0 regression\(s\), 0 improvement\(s\) \(significant and ≥ 5 %\); 6 row\(s\) not judged \(not measured or substituted\); 2 without a noise estimate/,
    );
  });
});

describe('server-bench compare', () => {
  it('improvement: exit 0, table on stdout, nothing written into the candidate folder; markdown only with --out', async () => {
    const before = await readdir(join(dir, 'cmp-better'));
    const r = await run(compareMain, [join(dir, 'cmp-base'), join(dir, 'cmp-better')]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/tsherve.*req\/s.*\+30\.0 % \[\+[0-9.]+ %, \+[0-9.]+ %\].*▲ improvement/);
    expect(await readdir(join(dir, 'cmp-better'))).toEqual(before);
    const out = join(dir, 'better.md');
    await run(compareMain, [join(dir, 'cmp-base'), join(dir, 'cmp-better'), '--out', out]);
    expect(await readFile(out, 'utf8')).toMatch(/\| 1 \| tsherve \| req\/s \| 15,500 \| 20,150 \| \+30\.0 % \[[^\]]+\] \| [^|]+ \| ▲ improvement \|/);
  });

  it('gives no verdict without a noise estimate: n = 1 on each side is never a regression', async () => {
    const r = await run(compareMain, [join(dir, 'n1'), join(dir, 'n1-again'), '--json']);
    expect(r.code).toBe(0);
    const cmp = JSON.parse(r.out) as { rows: { verdict: string; note: string | null }[]; regressions: unknown[]; summary: string };
    expect(cmp.rows.length).toBeGreaterThan(0);
    expect(new Set(cmp.rows.map((x) => x.verdict))).toEqual(new Set(['no noise estimate']));
    expect(cmp.rows[0]?.note).toMatch(/needs at least 3 repetitions on each side \(--reps 3\)/);
    expect(cmp.regressions).toEqual([]);
    expect(cmp.summary).toMatch(/0 regression\(s\), 0 improvement\(s\).*without a noise estimate/);
    const t = await run(compareMain, [join(dir, 'n1'), join(dir, 'n1-again')]);
    expect(t.out).toMatch(/note: no verdict where n = 1 vs 1: a verdict needs at least 3 repetitions/);
  });

  it('warns when an implementation that did not change moved: the host changed; --relative-to compares ratios instead', async () => {
    const r = await run(compareMain, [join(dir, 'cmp-base'), join(dir, 'cmp-fast-host'), '--unchanged', 'gosherve-old']);
    expect(r.out).toMatch(
      /warning: gosherve-old did not change, but its req\/s at size 1 moved \+58\.0 % .*the host changed between the runs; compare ratios with --relative-to gosherve-old/,
    );
    const rel = await run(compareMain, [join(dir, 'cmp-base'), join(dir, 'cmp-fast-host'), '--relative-to', 'gosherve-old', '--json']);
    expect(rel.code).toBe(0);
    const cmp = JSON.parse(rel.out) as {
      rows: { impl: string; metric: string; verdict: string; changePct: number }[];
      improvements: unknown[];
      regressions: unknown[];
    };
    // Every ratio to gosherve-old is as before: no improvement or regression is claimed.
    expect(cmp.improvements).toEqual([]);
    expect(cmp.regressions).toEqual([]);
    for (const row of cmp.rows.filter((x) => x.metric !== 'p99 latency')) expect(Math.abs(row.changePct)).toBeLessThan(1e-9);
    expect(cmp.rows.some((x) => x.impl === 'gosherve-old')).toBe(false);
    const bad = await run(compareMain, [join(dir, 'cmp-base'), join(dir, 'cmp-fast-host'), '--relative-to', 'nginx']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/^server-bench: "nginx" is not in both runs \(both runs have: gosherve-old, gosherve, tsherve\)/);
  });

  it('refuses runs loaded with different target lists', async () => {
    const a = (await buildResultsFromDir(join(RUNS, 'cmp-base'))).results;
    const b = structuredClone(a);
    a.run.targetsHash = `sha256:${'a'.repeat(64)}`;
    b.run.targetsHash = `sha256:${'b'.repeat(64)}`;
    expect(configDifferences(a, b)).toEqual([`target list (targets.json hash): sha256:${'a'.repeat(64)} (baseline) vs sha256:${'b'.repeat(64)} (candidate)`]);
  });

  it('names a host whose fingerprint differs', async () => {
    const a = (await buildResultsFromDir(join(RUNS, 'cmp-base'))).results;
    const b = structuredClone(a);
    b.run.host.kernel = '6.12.0-1-amd64';
    expect(compareResults(a, b).driftWarnings).toEqual(['the host differs: kernel 6.1.0-28-amd64 (baseline) vs 6.12.0-1-amd64 (candidate)']);
  });

  it('regression beyond the threshold: exit 1', async () => {
    const out = join(dir, 'worse.md');
    const r = await run(compareMain, [join(dir, 'cmp-base'), join(dir, 'cmp-worse'), '--out', out]);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/gosherve .*req\/s.*-30\.0 %.*▼ regression/);
    expect(await readFile(out, 'utf8')).toContain('**▼ regression**');
  });

  it('a large threshold turns the regression into "below threshold"', async () => {
    const r = await run(compareMain, [join(dir, 'cmp-base'), join(dir, 'cmp-worse'), '--threshold', '50', '--out', join(dir, 't.md')]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('below threshold');
  });

  it('mismatched configuration: refused naming every difference; accepted with --force', async () => {
    const r = await run(compareMain, [join(dir, 'cmp-base'), join(dir, 'cmp-other-config')]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('difference: duration (s): 30 (baseline) vs 10 (candidate)');
    expect(r.err).toMatch(/difference: sizes: 1:1cpu\/256MiB,2:2cpu\/4096MiB \(baseline\) vs 1:1cpu\/256MiB \(candidate\)/);
    expect(r.err).toMatch(/difference: vus: /);
    expect(r.err).toContain('--force');
    const forced = await run(compareMain, [join(dir, 'cmp-base'), join(dir, 'cmp-other-config'), '--force', '--out', join(dir, 'forced.md')]);
    expect([0, 1]).toContain(forced.code);
    expect(forced.out).toContain('configurations differ (compared with --force): duration (s)');
    expect(await readFile(join(dir, 'forced.md'), 'utf8')).toContain('The configurations differ');
  });

  it('engine and site differences are named too', async () => {
    const a = (await buildResultsFromDir(join(RUNS, 'normal'))).results;
    const b = (await buildResultsFromDir(join(RUNS, 'k6'))).results;
    const d = configDifferences(a, b);
    expect(d).toContain('engine: wrk (baseline) vs k6 (candidate)');
  });

  it('usage and input errors: exit 2 and 3', async () => {
    expect((await run(compareMain, [join(dir, 'cmp-base')])).code).toBe(2);
    expect((await run(compareMain, [join(dir, 'cmp-base'), join(dir, 'cmp-better'), '--threshold', 'lots'])).code).toBe(2);
    const missing = await run(compareMain, [join(dir, 'cmp-base'), join(dir, 'nope')]);
    expect(missing.code).toBe(3);
    expect(missing.err).toMatch(/^server-bench: .*not a run folder/);
  });
});

describe('server-bench report', () => {
  it('re-renders every derived file and prints the terminal table', async () => {
    const r = await run(reportMain, [join(dir, 'k6')]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('36 req/s');
    for (const f of ['results.json', 'report.md', 'report.html', 'cells/1cpu/tsherve/r1/summary.txt']) expect(existsSync(join(dir, 'k6', f)), f).toBe(true);
    expect(existsSync(join(dir, 'index.html'))).toBe(true);
    expect(await readFile(join(dir, 'k6', 'cells/1cpu/tsherve/r1/summary.txt'), 'utf8')).toContain('█ Example group');
  });
  it('re-rendering an unchanged run writes the same bytes (a committed example stays as it is)', async () => {
    const files = ['results.json', 'report.md', 'report.html'];
    expect((await run(reportMain, [join(dir, 'normal')])).code).toBe(0);
    const first = await Promise.all(files.map((f) => readFile(join(dir, 'normal', f), 'utf8')));
    await new Promise((r) => setTimeout(r, 20)); // a clock-stamped render would differ now
    expect((await run(reportMain, [join(dir, 'normal')])).code).toBe(0);
    expect(await Promise.all(files.map((f) => readFile(join(dir, 'normal', f), 'utf8')))).toEqual(first);
    expect(JSON.parse(first[0] as string).generatedAt).toBe('2026-11-27T00:19:30.000Z'); // the newest cell's finishedAt
  });

  it('a missing run folder is an input error', async () => {
    expect((await run(reportMain, [join(dir, 'missing')])).code).toBe(3);
    expect((await run(reportMain, [])).code).toBe(2);
  });
});
