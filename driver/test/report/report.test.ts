// Golden-file tests for the renderers, from the fixed run folders under fixtures/runs/.
// UPDATE_GOLDEN=1 rewrites the golden files; review the diff before committing.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { parseK6Summary } from '../../src/engines/k6summary.js';
import { renderMarkdown } from '../../src/report/markdown.js';
import { buildResultsFromDir, readResults, resultsForRun, RESULTS_SCHEMA_VERSION, ResultsSchema, type Results } from '../../src/report/results.js';
import { renderHtml } from '../../src/report/html.js';
import { renderTerminal } from '../../src/report/terminal.js';
import { renderK6Text, renderTextSummary } from '../../src/report/textsummary.js';
import { loadRun } from '../../src/results/store.js';

const RUNS = join(import.meta.dirname, '..', 'fixtures', 'runs');
const GOLDEN = join(import.meta.dirname, '..', 'golden');
const NOW = new Date('2026-11-27T01:00:00.000Z');

function golden(name: string, actual: string): void {
  const path = join(GOLDEN, name);
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(path)) writeFileSync(path, actual);
  expect(actual).toBe(readFileSync(path, 'utf8'));
}

async function results(id: string): Promise<Results> {
  return (await buildResultsFromDir(join(RUNS, id), NOW)).results;
}

describe('results.json', () => {
  it('aggregates the normal run: 3 impls × 2 sizes, medians, CIs, outliers flagged', async () => {
    const r = await results('normal');
    expect(ResultsSchema.parse(JSON.parse(JSON.stringify(r)))).toBeTruthy();
    expect(r.cells).toHaveLength(6);
    const ts2 = r.cells.find((c) => c.impl === 'tsherve' && c.size === '2')!;
    expect(ts2.n).toBe(5);
    expect(ts2.reqPerSec.median).toBe(30000);
    expect(ts2.outliers.map((o) => o.rep)).toEqual([5]);
    expect(ts2.reqPerSec.values).toHaveLength(5); // flagged, never dropped
    expect(r.warnings.some((w) => w.code === 'outlier' && w.impl === 'tsherve' && w.size === '2')).toBe(true);
    const g1 = r.cells.find((c) => c.impl === 'gosherve' && c.size === '1')!;
    expect(g1.cpuMicrosPerRequest!.median).toBeCloseTo(64, 6);
    expect(g1.mbPerSec.median).toBeCloseTo((15453 * 58000) / 1e6, 0);
    const c1 = r.comparisons.find((c) => c.size === '1')!;
    expect(c1.reference).toBe('gosherve');
    // tsherve leads by median (15.5k vs 15.4k) but not significantly: no "fastest" is named.
    expect(c1.fastest).toBeNull();
    expect(c1.fastestSignificant).toBe(false);
    expect(r.comparisons.find((c) => c.size === '2')!.fastest).toBe('tsherve');
    const ts1 = c1.entries.find((e) => e.impl === 'tsherve')!;
    expect(ts1.reqPerSec.significant).toBe(false); // 15.5k vs 15.4k with overlapping spread
    const old1 = c1.entries.find((e) => e.impl === 'gosherve-old')!;
    expect(old1.reqPerSec.significant).toBe(true);
    expect(old1.reqPerSec.ratio).toBeCloseTo(2972.67 / 15421, 3);
  });

  it('n = 1: no interval, no test, and a warning saying so', async () => {
    const r = await results('n1');
    expect(r.cells.every((c) => c.reqPerSec.ci95 === null)).toBe(true);
    expect(r.comparisons[0]!.entries.find((e) => e.impl === 'tsherve')!.reqPerSec.significant).toBeNull();
    expect(r.warnings.some((w) => w.code === 'no-interval')).toBe(true);
  });

  it('skipped cells, failed verification and reference fallback', async () => {
    const r = await results('mixed');
    expect(r.skipped.map((s) => `${s.impl}@${s.size}`).sort()).toEqual(['gosherve-old@16', 'gosherve@1', 'gosherve@16', 'tsherve@16']);
    const c1 = r.comparisons.find((c) => c.size === '1')!;
    expect(c1.reference).toBe('gosherve-old');
    expect(c1.referenceFallback).toBe(true);
    const codes = r.warnings.map((w) => w.code);
    for (const code of ['loadgen-saturated', 'verification-failed', 'reference-fallback', 'skipped', 'failed-checks']) expect(codes).toContain(code);
    // The saturated generator warning appears once for the cell, naming its three repetitions.
    expect(r.warnings.filter((w) => w.code === 'loadgen-saturated')).toEqual([expect.objectContaining({ impl: 'tsherve', reps: [1, 2, 3] })]);
  });

  it('a corrupt cell file is an InputError naming the file and the fix', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sb-corrupt-'));
    try {
      await cp(join(RUNS, 'n1'), dir, { recursive: true });
      const f = join(dir, 'cells', '1cpu', 'tsherve', 'r1', 'result.json');
      await writeFile(f, '{"schemaVersion": 1, "id": ');
      const err = await buildResultsFromDir(dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).oneLine()).toContain(f);
      expect((err as InputError).oneLine()).toContain('--resume');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('golden renderers', () => {
  for (const id of ['normal', 'n1', 'mixed', 'bound', 'gaps']) {
    it(`markdown: ${id}`, async () => golden(`${id}.md`, renderMarkdown(await results(id))));
    it(`terminal: ${id}`, async () => golden(`${id}.terminal.txt`, renderTerminal(await results(id))));
  }

  it('markdown opens with the headline table, then the original table shape; marks non-significance and n = 1', async () => {
    const md = renderMarkdown(await results('normal'));
    expect(md.indexOf('## Results')).toBeLessThan(md.indexOf('## Throughput (median, MB/s or GB/s)'));
    expect(md).toContain('| machine / load | implementation | req/s | req/s ÷ reference | req per server CPU-s | req/CPU-s ÷ reference | load generator CPU |');
    expect(md).toMatch(/## Throughput \(median, MB\/s or GB\/s\)\n\n\| machine \/ load \| gosherve-old \| gosherve \| tsherve \|/);
    // wrk opens connections (VUs × 6), so the label says connections, not VUs.
    expect(md).toContain('| 1 vCPU / 256 MB / 6 connections |');
    expect(md).not.toMatch(/\d VUs? \|/);
    expect(md).toMatch(/n\.s\., p = /);
    expect(renderMarkdown(await results('n1'))).toContain('[n = 1]');
  });

  it('terminal marks the fastest and the non-significant, prints each warning, and each skip reason once', async () => {
    const r = await results('mixed');
    const t = renderTerminal(r, 1000);
    expect(t).toMatch(/46,000 req\/s \*/);
    // Two of the warnings are skips (a failed verification, size 16): footnoted once, not repeated as warnings.
    expect(t.split('\n').filter((l) => l.startsWith('warning: '))).toHaveLength(r.warnings.length - 2);
    expect(t.split('\n').filter((l) => l.includes('size 16 needs 16 CPUs'))).toEqual([
      '(b) skipped: size 16 needs 16 CPUs plus one for the load generator; this host has 2',
    ]);
    expect(t.split('\n').filter((l) => l.includes('verification failed'))).toHaveLength(1);
    expect(t.match(/skipped \(b\)/g)).toHaveLength(3);
    expect(renderTerminal(await results('normal'))).toMatch(/15,500 req\/s ≈/);
    expect(renderTerminal(await results('normal'))).not.toMatch(/15,500 req\/s \*/);
  });

  it('terminal fits the width it is given, and ends with a hyperfine-style verdict per implementation', async () => {
    const r = await results('normal');
    for (const width of [60, 80, 100]) {
      const t = renderTerminal(r, width);
      expect(Math.max(...t.split('\n').map((l) => [...l].length)), t).toBeLessThanOrEqual(width);
      for (const impl of r.impls) expect(t).toContain(impl);
    }
    // Wide enough: one table (one top border), the implementations side by side.
    expect(renderTerminal(r, 200).match(/╔/g)).toHaveLength(1);
    expect(renderTerminal(r, 80).match(/╔/g)!.length).toBeGreaterThan(1);
    const lines = renderTerminal(r, 200).trimEnd().split('\n');
    expect(lines.slice(-4)).toEqual([
      "size 1: gosherve-old: 0.19 ± 0.00× gosherve's req/s (p < 0.001)",
      "size 1: tsherve: 1.00 ± 0.02× gosherve's req/s (not significantly different, p = 0.932)",
      "size 2: gosherve-old: 0.18 ± 0.00× gosherve's req/s (p < 0.001)",
      "size 2: tsherve: 1.34 ± 0.19× gosherve's req/s (p = 0.016)",
    ]);
    expect(renderTerminal(await results('n1'), 200)).toMatch(/\(untested: n = 1\)\n$/);
  });

  it('ratio cells hold the ratio alone (the reference is named once, in the heading); no "MB/s" heading over GB/s; no unexplained "original post"', async () => {
    const r = await results('normal');
    const md = renderMarkdown(r);
    const html = renderHtml(r);
    expect(md).toContain('## Relative to the reference, gosherve (req/s, mean ± σ, Welch p)');
    // Before: "0.19 ± 0.00× (p < 0.001) gosherve" in every cell.
    expect(md).not.toMatch(/\) gosherve \|/);
    expect(md).not.toMatch(/\] gosherve \|/);
    expect(html).not.toMatch(/\) gosherve<\/td>|\] gosherve<\/td>/);
    expect(html).toContain('relative to the reference (gosherve)');
    // The throughput table shows GB/s where it is that large, so its heading does not say MB/s alone.
    expect(md).toContain('1.7 GB/s');
    expect(md).not.toContain('## Throughput (MB/s, median)');
    expect(html).not.toContain("the original post's table");
  });

  it('text summary of a wrk cell (synthesised k6 layout)', async () => {
    const run = await loadRun(join(RUNS, 'normal'));
    const cell = run.cells.find((c) => c.id === 'gosherve-1cpu-r1')!;
    golden('wrk-cell.summary.txt', renderTextSummary(cell));
  });

  it('text summary of a k6 cell matches k6.md §4 exactly', async () => {
    const raw = JSON.parse(await readFile('/work/shared/fixtures/k6-summaries/benc-uk__k6-reporter__simple.json', 'utf8'));
    const text = renderK6Text(parseK6Summary(raw));
    // k6.md §4's example block shows the checks and a subset of the metric lines; every one of
    // its lines must appear verbatim (trailing pad spaces included) and in the same order.
    const example = [
      '    ✗ Status is ok',
      '     ↳  20% — ✓ 90 / ✗ 349',
      '',
      '    █ Example group',
      '',
      '      ✓ NOT 500',
      '',
      '    checks.........................: 60.25% ✓ 529       ✗ 349 ',
      '    data_received..................: 4.8 MB 195 kB/s',
      '  ✓ http_req_duration..............: avg=21.37ms  min=259.85µs max=143.32ms med=20.09ms  p(90)=26.35ms  p(95)=30.02ms  p(99)=39.57ms ',
      '      { expected_response:true }...: avg=21.22ms  min=14.64ms  max=58.31ms  med=20.23ms  p(90)=25.76ms  p(95)=28.97ms  p(99)=36.64ms ',
      '    http_req_failed................: 39.74% ✓ 349       ✗ 529 ',
      '    http_reqs......................: 878    35.946349/s',
      '    vus............................: 20     min=4       max=20',
    ];
    const lines = text.split('\n');
    expect(lines.slice(0, 8)).toEqual(example.slice(0, 8));
    let at = 0;
    for (const want of example.slice(7)) {
      const found = lines.indexOf(want, at);
      expect(found, `line not found in order: ${JSON.stringify(want)}`).toBeGreaterThanOrEqual(at);
      at = found + 1;
    }
    expect(text.endsWith('\n')).toBe(false);
    const run = await loadRun(join(RUNS, 'k6'));
    const full = renderTextSummary(run.cells[0]!);
    expect(full).toContain(text);
    golden('k6-cell.summary.txt', full);
  });
});

describe('requests per server CPU-second and generator-bound cells', () => {
  it('per cell: requests ÷ server CPU seconds, with an interval; the ratio to the reference with one too', async () => {
    const r = await results('bound');
    const ts = r.cells.find((c) => c.impl === 'tsherve')!;
    const reps = r.repetitions.filter((x) => x.impl === 'tsherve');
    expect(ts.reqPerCpuSecond!.values).toEqual(reps.sort((a, b) => a.rep - b.rep).map((x) => x.requests / x.resources.serverCpuSeconds!));
    expect(ts.reqPerCpuSecond!.ci95).not.toBeNull();
    const e = r.comparisons[0]!.entries.find((x) => x.impl === 'tsherve')!;
    expect(e.reqPerCpuSecond!.ratio).toBeCloseTo(ts.reqPerCpuSecond!.mean / r.cells.find((c) => c.impl === 'nginx')!.reqPerCpuSecond!.mean, 12);
    expect(e.reqPerCpuSecond!.ci95!.lo).toBeLessThan(e.reqPerCpuSecond!.ratio);
    expect(e.reqPerCpuSecond!.ci95!.hi).toBeGreaterThan(e.reqPerCpuSecond!.ratio);
  });

  it('a generator-bound reference: every report says to trust the per-CPU-second ratios', async () => {
    const r = await results('bound');
    const line =
      /size 1: the reference nginx is generator-bound \(load generator at 96 % of its core\(s\)\), so every req\/s ratio at this size is measured against the generator's limit; trust the ratios of requests per server CPU-second \(gosherve 0\.\d\d× \[[0-9.]+–[0-9.]+\], tsherve 0\.\d\d× \[[0-9.]+–[0-9.]+\]\)\./;
    expect(renderTerminal(r, 1000)).toMatch(new RegExp(`\ntrust: ${line.source}`));
    expect(renderMarkdown(r)).toMatch(new RegExp(`\n- ${line.source}`));
    expect(renderHtml(r)).toMatch(line);
    // The † sits on the nginx cell in every table.
    expect(renderMarkdown(r)).toContain('| 1 vCPU / 256 MB / 6 connections | nginx † |');
    expect(renderTerminal(r)).toMatch(/49,800 req\/s †/);
  });

  it('a generator-bound cell that is not the reference: its per-CPU ratio is the one to trust', async () => {
    expect(renderTerminal(await results('mixed'), 1000)).toMatch(
      /trust: size 1: tsherve is generator-bound \(load generator at 97 % of its core\(s\)\): its req\/s ratio \(15\.45 ± 0\.23× gosherve-old\) is a lower bound set by the generator; trust its ratio of requests per server CPU-second, 14\.71× \[[0-9.]+–[0-9.]+\] gosherve-old\./,
    );
  });

  it("report.md records the load generator's CPU share per cell", async () => {
    const md = renderMarkdown(await results('bound'));
    expect(md).toMatch(
      /Load generator CPU share per cell[^\n]*\n\n\| machine \/ load \| gosherve \| tsherve \| nginx \|\n\|---\|---:\|---:\|---:\|\n\| 1 vCPU \/ 256 MB \/ 6 connections \| 31 % \[30 %–31 %\] of 1 \| 82 % \[81 %–84 %\] of 1 \| 96 % \[95 %–97 %\] of 1 † \|/,
    );
  });
});

describe('statistics that were not measured', () => {
  it('stay null through results.json and show as "–" with a footnote in every report', async () => {
    const r = await results('gaps');
    for (const c of r.cells) expect(c.latencyMs.p99).toBeNull();
    expect(r.cells.find((c) => c.impl === 'tsherve')!.reqPerCpuSecond).toBeNull();
    expect(r.comparisons[0]!.entries.find((e) => e.impl === 'tsherve')!.reqPerCpuSecond).toBeNull();
    expect(ResultsSchema.parse(JSON.parse(JSON.stringify(r)))).toBeTruthy();
    const md = renderMarkdown(r);
    expect(md).toMatch(/\| 1 vCPU \/ 256 MB \/ 1 VU \| 400 µs \/ 1\.2 ms \/ – \| 400 µs \/ 1\.2 ms \/ – \|/);
    expect(md).toContain("– not measured: the load generator's output did not hold that statistic");
    expect(md).toMatch(/- \*\*not-measured\*\* \(gosherve, size 1, rep 1, 2\): latency p\(99\) not in the k6 summary/);
    const t = renderTerminal(r);
    expect(t).toContain('– req/CPU-s');
    expect(t).toMatch(/– not measured \(server CPU unknown\)/);
    expect(t).toMatch(/warning: gosherve at size 1 \(rep 1, 2\): latency p\(99\) not in the k6 summary/);
    expect(t).toMatch(/warning: gosherve at size 1 \(rep 2\): the k6 summary gives no test duration/);
    const html = renderHtml(r);
    expect(html).toContain('400 µs / 1.2 ms / –');
    expect(html).toContain('A missing bar is a percentile that was not measured');
  });

  it("summary.txt of a k6 cell without p(99) ends with the cell's warnings", async () => {
    const run = await loadRun(join(RUNS, 'gaps'));
    const text = renderTextSummary(run.cells.find((c) => c.id === 'gosherve-1cpu-r2')!);
    expect(text).toMatch(/\nwarning \(not-measured\): latency p\(99\) not in the k6 summary/);
    expect(text).toMatch(/\nwarning \(substituted\): the k6 summary gives no test duration/);
    expect(text).not.toMatch(/p\(99\)=/);
    expect(text.split('\n')[1]).toMatch(
      /^server CPU [0-9.]+ s \([0-9,]+ requests per CPU-second\) · load generator 98 % of 1 core\(s\) \(generator-bound: it set req\/s\)$/,
    );
    const noCpu = renderTextSummary(run.cells.find((c) => c.id === 'tsherve-1cpu-r1')!);
    expect(noCpu.split('\n')[1]).toMatch(/^server CPU – \(not measured\) · /);
  });

  it('a wrk cell without latency (no response) prints "–" and the footnote, never NaN or 0', async () => {
    const run = await loadRun(join(RUNS, 'normal'));
    const cell = { ...run.cells[0]!, latencyMs: { avg: null, p50: null, p90: null, p95: null, p99: null, max: null } };
    const text = renderTextSummary(cell);
    expect(text).toMatch(/http_req_duration\.+: avg=– +med=– +p\(90\)=– +p\(95\)=– +p\(99\)=– +max=–/);
    expect(text).toContain("– not measured: the load generator's output did not hold that statistic");
    expect(text).not.toMatch(/NaN|avg=0s/);
  });
});

describe('results.json versions', () => {
  it('writes version 2', async () => {
    expect((await results('normal')).schemaVersion).toBe(2);
    expect(RESULTS_SCHEMA_VERSION).toBe(2);
  });
  it('reads a version-1 results.json (a real run) by rebuilding it from the repetitions it stores', async () => {
    const file = join(import.meta.dirname, '..', 'fixtures', 'results-v1', 'results.json');
    const old = JSON.parse(readFileSync(file, 'utf8'));
    expect(old.schemaVersion).toBe(1);
    const r = await readResults(file);
    expect(r.schemaVersion).toBe(2);
    expect(r.generatedAt).toBe(old.generatedAt);
    expect(r.cells.map((c) => [c.impl, c.reqPerSec.median])).toEqual(
      old.cells.map((c: { impl: string; reqPerSec: { median: number } }) => [c.impl, c.reqPerSec.median]),
    );
    const nginx = r.cells.find((c) => c.impl === 'nginx')!;
    expect(nginx.reqPerCpuSecond!.median).toBeCloseTo(1e6 / old.cells.find((c: { impl: string }) => c.impl === 'nginx').cpuMicrosPerRequest.median, 6);
    // A folder holding only results.json (as a committed example may) compares and renders too.
    expect((await resultsForRun(join(import.meta.dirname, '..', 'fixtures', 'results-v1'))).schemaVersion).toBe(2);
  });
});

describe('text summary on every real k6 summary', () => {
  const dir = '/work/shared/fixtures/k6-summaries';
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.json'))) {
    it(f, () => {
      const s = parseK6Summary(JSON.parse(readFileSync(join(dir, f), 'utf8')));
      const metricLines = renderK6Text(s)
        .split('\n')
        .filter((l) => /\.{3,}: /.test(l));
      expect(metricLines.length).toBe(Object.keys(s.metrics).length);
      // Colons align: every metric line has its first ": " at the same column.
      expect(new Set(metricLines.map((l) => l.indexOf('.: '))).size).toBe(1);
      expect(renderK6Text(s)).not.toContain('undefined');
    });
  }
  // With a fixed unit the jslib rounds (toFixed) instead of truncating: 21.376 ms → 21.38ms.
  it('a time unit from the summary options is honoured', () => {
    const raw = JSON.parse(readFileSync(join(dir, 'benc-uk__k6-reporter__simple.json'), 'utf8'));
    expect(renderK6Text(parseK6Summary(raw), '', 'ms')).toMatch(/http_req_duration\.+: avg=21\.38ms +min=0\.26ms /);
  });
});

describe('sizes in units that fit', () => {
  it('never shows a tiny site as a fraction of a megabyte', async () => {
    const { bytesMB } = await import('../../src/report/format.js');
    expect(bytesMB(64)).toBe('64 B');
    expect(bytesMB(64_000)).toBe('64 kB');
    expect(bytesMB(40_500_000)).toBe('40.5 MB');
    expect(bytesMB(3_100_000_000)).toBe('3.1 GB');
  });
});
