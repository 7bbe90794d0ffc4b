// Run-to-run comparison (`server-bench compare`): the configuration check that refuses apples to
// oranges, and the cell-by-cell change of median req/s, MB/s and p99 latency with a noise band
// (overlapping 95 % intervals → within noise) and a percentage threshold. Pure: results in, data
// and strings out.
import { table } from 'table';
import { int, ms, num } from './report/format.js';
import { cellOf, type CellAggregate, type Results } from './report/results.js';
import { CELL_KEYS, CELL_OPTIONS, type CellKey } from './run/cell-options.js';
import { intervalsOverlap, type Summary } from './stats.js';

/** Cell options configDifferences names in its own words; the others go by their flag. */
const SHOWN_ABOVE: readonly CellKey[] = ['durationSeconds', 'warmupSeconds', 'vusOverride'];

/** Every configuration difference that makes two runs incomparable, one line each. */
export function configDifferences(a: Results, b: Results): string[] {
  const diffs: string[] = [];
  const ra = a.run;
  const rb = b.run;
  const d = (what: string, x: unknown, y: unknown) => {
    const sx = typeof x === 'string' ? x : JSON.stringify(x);
    const sy = typeof y === 'string' ? y : JSON.stringify(y);
    if (sx !== sy) diffs.push(`${what}: ${sx} (baseline) vs ${sy} (candidate)`);
  };
  d('site kind', ra.site.kind, rb.site.kind);
  if (ra.site.kind === 'generated' && rb.site.kind === 'generated') {
    d('site seed', ra.site.seed, rb.site.seed);
    d('site size (target bytes)', ra.site.targetBytes, rb.site.targetBytes);
  } else if (ra.site.kind === 'user' && rb.site.kind === 'user') {
    d('webroot', ra.site.webroot, rb.site.webroot);
  }
  d('site files', ra.site.files, rb.site.files);
  d('site bytes', ra.site.bytes, rb.site.bytes);
  d('engine', ra.config.engine, rb.config.engine);
  d('duration (s)', ra.config.durationSeconds, rb.config.durationSeconds);
  d('warm-up (s)', ra.config.warmupSeconds, rb.config.warmupSeconds);
  d('sizes', ra.config.sizes.map((s) => `${s.name}:${s.cpus}cpu/${s.memoryMiB}MiB`).join(','), rb.config.sizes.map((s) => `${s.name}:${s.cpus}cpu/${s.memoryMiB}MiB`).join(','));
  d('vus', ra.config.sizes.map((s) => ra.config.vusOverride ?? s.vus).join(','), rb.config.sizes.map((s) => rb.config.vusOverride ?? s.vus).join(','));
  // Every other cell option (run/cell-options.ts) by its flag: an option added there is compared too.
  for (const k of CELL_KEYS) if (!SHOWN_ABOVE.includes(k)) d(`--${CELL_OPTIONS[k].flag}`, ra.config[k], rb.config[k]);
  d('backend', ra.backend, rb.backend);
  return diffs;
}

export type Verdict = 'improvement' | 'regression' | 'within noise' | 'below threshold' | 'no data';

export interface ChangeRow {
  impl: string;
  size: string;
  metric: 'req/s' | 'MB/s' | 'p99 latency';
  baseline: number | null;
  candidate: number | null;
  /** Candidate vs baseline in percent (positive = larger number). */
  changePct: number | null;
  verdict: Verdict;
}

export interface Comparison {
  baselineId: string;
  candidateId: string;
  threshold: number;
  configDiffs: string[];
  rows: ChangeRow[];
  regressions: ChangeRow[];
  improvements: ChangeRow[];
}

function judge(b: Summary, c: Summary, higherIsBetter: boolean, threshold: number): { changePct: number; verdict: Verdict } {
  const changePct = b.median === 0 ? (c.median === 0 ? 0 : Infinity) : ((c.median - b.median) / b.median) * 100;
  // Overlapping intervals: the change is inside what repetitions of one run already vary by.
  if (b.ci95 && c.ci95 && intervalsOverlap(b.ci95, c.ci95)) return { changePct, verdict: 'within noise' };
  if (Math.abs(changePct) < threshold) return { changePct, verdict: 'below threshold' };
  const better = higherIsBetter ? changePct > 0 : changePct < 0;
  return { changePct, verdict: better ? 'improvement' : 'regression' };
}

export function compareResults(baseline: Results, candidate: Results, threshold = 5): Comparison {
  const rows: ChangeRow[] = [];
  const impls = [...baseline.impls, ...candidate.impls.filter((i) => !baseline.impls.includes(i))];
  const sizes = [...baseline.sizes.map((s) => s.name), ...candidate.sizes.map((s) => s.name).filter((s) => !baseline.sizes.some((x) => x.name === s))];
  for (const size of sizes) {
    for (const impl of impls) {
      const b = cellOf(baseline, impl, size);
      const c = cellOf(candidate, impl, size);
      if (!b && !c) continue;
      const metrics: Array<[ChangeRow['metric'], (x: CellAggregate) => Summary, boolean]> = [
        ['req/s', (x) => x.reqPerSec, true],
        ['MB/s', (x) => x.mbPerSec, true],
        ['p99 latency', (x) => x.latencyMs.p99, false],
      ];
      for (const [metric, pick, higher] of metrics) {
        if (!b || !c) {
          rows.push({ impl, size, metric, baseline: b ? pick(b).median : null, candidate: c ? pick(c).median : null, changePct: null, verdict: 'no data' });
          continue;
        }
        const j = judge(pick(b), pick(c), higher, threshold);
        rows.push({ impl, size, metric, baseline: pick(b).median, candidate: pick(c).median, changePct: j.changePct, verdict: j.verdict });
      }
    }
  }
  return {
    baselineId: baseline.run.runId,
    candidateId: candidate.run.runId,
    threshold,
    configDiffs: configDifferences(baseline, candidate),
    rows,
    regressions: rows.filter((r) => r.verdict === 'regression'),
    improvements: rows.filter((r) => r.verdict === 'improvement'),
  };
}

function value(row: ChangeRow, v: number | null): string {
  if (v === null) return '—';
  return row.metric === 'req/s' ? int(v) : row.metric === 'MB/s' ? num(v) : ms(v);
}

function change(row: ChangeRow): string {
  if (row.changePct === null) return '—';
  return `${row.changePct >= 0 ? '+' : ''}${row.changePct.toFixed(1)} %`;
}

const MARK: Record<Verdict, string> = { improvement: '▲ improvement', regression: '▼ regression', 'within noise': '≈ within noise', 'below threshold': '· below threshold', 'no data': '— no data' };

export function renderCompareTerminal(cmp: Comparison): string {
  const rows = [['size', 'implementation', 'metric', 'baseline', 'candidate', 'change', 'verdict'], ...cmp.rows.map((r) => [r.size, r.impl, r.metric, value(r, r.baseline), value(r, r.candidate), change(r), MARK[r.verdict]])];
  const lines = [`compare ${cmp.baselineId} (baseline) → ${cmp.candidateId} (candidate), threshold ${cmp.threshold} %, noise band = overlapping 95 % intervals`];
  lines.push(table(rows, { drawHorizontalLine: (i, n) => i === 0 || i === 1 || i === n }).trimEnd());
  for (const d of cmp.configDiffs) lines.push(`warning: configurations differ (compared with --force): ${d}`);
  lines.push(summaryLine(cmp));
  return `${lines.join('\n')}\n`;
}

function summaryLine(cmp: Comparison): string {
  return `${cmp.regressions.length} regression(s), ${cmp.improvements.length} improvement(s) beyond ${cmp.threshold} % and outside the noise band`;
}

export function renderCompareMarkdown(cmp: Comparison): string {
  const out = [`# server-bench compare: ${cmp.baselineId} → ${cmp.candidateId}`, ''];
  out.push(`Median per cell; a change counts when the 95 % intervals do not overlap **and** it exceeds ${cmp.threshold} %. ${summaryLine(cmp)}.`, '');
  if (cmp.configDiffs.length > 0) {
    out.push('> **The configurations differ** (compared with `--force`):');
    for (const d of cmp.configDiffs) out.push(`> - ${d}`);
    out.push('');
  }
  out.push('| size | implementation | metric | baseline | candidate | change | verdict |', '|---|---|---|---:|---:|---:|---|');
  for (const r of cmp.rows) out.push(`| ${r.size} | ${r.impl} | ${r.metric} | ${value(r, r.baseline)} | ${value(r, r.candidate)} | ${change(r)} | ${r.verdict === 'regression' ? '**▼ regression**' : MARK[r.verdict]} |`);
  return `${out.join('\n')}\n`;
}
