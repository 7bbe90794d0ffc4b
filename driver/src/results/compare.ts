// Run-to-run comparison (`server-bench compare`), a CI gate: the configuration check that refuses
// apples to oranges, the cell-by-cell change of median req/s, MB/s and p99 latency judged by Welch's
// t-test on the repetitions (no verdict without a noise estimate), host-drift warnings from the host
// fingerprint and from implementations that did not change, and optionally ratios to a reference
// taken repetition by repetition. A statistic that was not measured, or a cell holding a substituted
// number, is shown but never judged. Pure: results in, data and strings out.
import { table } from 'table';
import { int, ms, num } from '../report/format.js';
import { cellOf, type CellAggregate, type Results } from '../report/results.js';
import { IMPLS } from '../servers/registry.js';
import { CELL_KEYS, CELL_OPTIONS, storedCellValues, type CellKey } from '../run/cell-options.js';
import { mean, median, stddev, tCritical, welchTest, type Summary } from './stats.js';

/** Cell options configDifferences names in its own words; the others go by their flag. */
const SHOWN_ABOVE: readonly CellKey[] = ['durationSeconds', 'warmupSeconds', 'vusOverride', 'connectionsOverride', 'serverLogs'];

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
  d('server logs', ra.config.serverLogs ?? 'shipped', rb.config.serverLogs ?? 'shipped');
  d('duration (s)', ra.config.durationSeconds, rb.config.durationSeconds);
  d('warm-up (s)', ra.config.warmupSeconds, rb.config.warmupSeconds);
  d(
    'sizes',
    ra.config.sizes.map((s) => `${s.name}:${s.cpus}cpu/${s.memoryMiB}MiB`).join(','),
    rb.config.sizes.map((s) => `${s.name}:${s.cpus}cpu/${s.memoryMiB}MiB`).join(','),
  );
  d('vus', ra.config.sizes.map((s) => ra.config.vusOverride ?? s.vus).join(','), rb.config.sizes.map((s) => rb.config.vusOverride ?? s.vus).join(','));
  d('connections', ra.config.connectionsOverride ?? 'VUs × 6', rb.config.connectionsOverride ?? 'VUs × 6');
  // Every other cell option (run/cell-options.ts) by its flag: an option added there is compared too.
  const [ca, cb] = [storedCellValues(ra.config), storedCellValues(rb.config)];
  for (const k of CELL_KEYS) if (!SHOWN_ABOVE.includes(k)) d(`--${CELL_OPTIONS[k].flag}`, ca[k], cb[k]);
  d('backend', ra.backend, rb.backend);
  // Runs loaded with different request mixes are not comparable, whatever else agrees.
  if (ra.targetsHash !== undefined && rb.targetsHash !== undefined) d('target list (targets.json hash)', ra.targetsHash, rb.targetsHash);
  // Profiled repetitions are out of the statistics by default; counting them changes the numbers.
  d('profiled repetitions in the statistics', ra.config.profile?.inStats === true, rb.config.profile?.inStats === true);
  return diffs;
}

type Verdict =
  'improvement' | 'regression' | 'within noise' | 'below threshold' | 'inconclusive' | 'no noise estimate' | 'no data' | 'not measured' | 'substituted';

/** A cell with a number taken from elsewhere (warning "substituted"): none of its rows is judged. */
function hasSubstitute(c: CellAggregate): boolean {
  return c.warnings.some((w) => w.code === 'substituted');
}

/** Fewer repetitions per side give no usable noise estimate: `compare` gives no verdict then. */
export const MIN_REPS_FOR_VERDICT = 3;
const ALPHA = 0.05;

interface ChangeRow {
  impl: string;
  size: string;
  metric: 'req/s' | 'MB/s' | 'req/CPU-s' | 'p99 latency';
  baseline: number | null;
  candidate: number | null;
  /** Change of the medians, candidate vs baseline, in percent (positive = larger number). */
  changePct: number | null;
  /** 95 % interval of the change of the means, in percent of the baseline mean (Welch); null without a noise estimate. */
  changeCi: { lo: number; hi: number } | null;
  /** Welch's two-sided p on the repetitions; null without a noise estimate. */
  p: number | null;
  verdict: Verdict;
  /** Why there is no verdict, when there is none. */
  note: string | null;
}

export interface CompareOptions {
  /** Percent; a significant change smaller than this is "below threshold". */
  threshold: number;
  /** Compare every implementation's per-repetition ratio to this one (same run, same repetition) instead of absolute numbers. */
  relativeTo: string | null;
  /** Implementations known not to have changed between the runs; a significant move of theirs means the host changed. Default: the reference implementations (nginx) in both runs. */
  unchanged: string[] | null;
}

export interface Comparison {
  baselineId: string;
  candidateId: string;
  threshold: number;
  relativeTo: string | null;
  configDiffs: string[];
  /** Host drift: fingerprint differences and unchanged implementations that moved beyond their noise. */
  driftWarnings: string[];
  rows: ChangeRow[];
  regressions: ChangeRow[];
  improvements: ChangeRow[];
  /** Rows that could not be judged for lack of repetitions. */
  unjudged: ChangeRow[];
}

/**
 * Judge one metric of one cell: the change of the medians is what is shown; whether it is real is
 * Welch's t-test on the repetitions (two-sided, 5 %). A real change smaller than the threshold is
 * "below threshold"; no significant change is "within noise" only when the 95 % interval of the change
 * excludes changes as large as the threshold, and "inconclusive" otherwise (more repetitions needed).
 */
function judge(
  b: readonly number[],
  c: readonly number[],
  higherIsBetter: boolean,
  threshold: number,
): Pick<ChangeRow, 'changePct' | 'changeCi' | 'p' | 'verdict' | 'note'> {
  const mb = median(b);
  const mc = median(c);
  const changePct = mb === 0 ? (mc === 0 ? 0 : Infinity) : ((mc - mb) / mb) * 100;
  if (b.length < MIN_REPS_FOR_VERDICT || c.length < MIN_REPS_FOR_VERDICT) {
    return {
      changePct,
      changeCi: null,
      p: null,
      verdict: 'no noise estimate',
      note: `n = ${b.length} vs ${c.length}: a verdict needs at least ${MIN_REPS_FOR_VERDICT} repetitions on each side (--reps ${MIN_REPS_FOR_VERDICT})`,
    };
  }
  const w = welchTest(c, b);
  const meanB = mean(b);
  const se = Math.sqrt((stddev(b) ?? 0) ** 2 / b.length + (stddev(c) ?? 0) ** 2 / c.length);
  const diff = mean(c) - meanB;
  const half = w && Number.isFinite(w.df) && w.df > 0 ? tCritical(w.df) * se : 0;
  const changeCi = meanB === 0 ? null : { lo: ((diff - half) / meanB) * 100, hi: ((diff + half) / meanB) * 100 };
  const p = w ? w.p : null;
  const better = higherIsBetter ? changePct > 0 : changePct < 0;
  if (p !== null && p < ALPHA) {
    if (Math.abs(changePct) < threshold) return { changePct, changeCi, p, verdict: 'below threshold', note: null };
    return { changePct, changeCi, p, verdict: better ? 'improvement' : 'regression', note: null };
  }
  if (changeCi && changeCi.lo > -threshold && changeCi.hi < threshold) return { changePct, changeCi, p, verdict: 'within noise', note: null };
  return {
    changePct,
    changeCi,
    p,
    verdict: 'inconclusive',
    note: `no significant change, but the noise (95 % interval ${fmtPct(changeCi?.lo)} … ${fmtPct(changeCi?.hi)}) cannot rule out ±${threshold} %: add repetitions`,
  };
}

function fmtPct(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '?';
  return `${x >= 0 ? '+' : ''}${x.toFixed(1)} %`;
}

/** Per-repetition values of a metric, by repetition number. */
function byRep(c: CellAggregate, pick: (x: CellAggregate) => Summary | null): Map<number, number> {
  const values = pick(c)?.values ?? [];
  return new Map(c.reps.map((rep, i) => [rep, values[i] as number]));
}

/** The metric's values of `impl` divided by `ref`'s in the same repetition (interleaved: the same moment of the run). */
function ratios(impl: CellAggregate, ref: CellAggregate, pick: (x: CellAggregate) => Summary | null): number[] {
  const refs = byRep(ref, pick);
  const out: number[] = [];
  for (const [rep, v] of byRep(impl, pick)) {
    const r = refs.get(rep);
    if (r !== undefined && r !== 0) out.push(v / r);
  }
  return out;
}

const METRICS: Array<[ChangeRow['metric'], (x: CellAggregate) => Summary | null, boolean]> = [
  ['req/s', (x) => x.reqPerSec, true],
  ['MB/s', (x) => x.mbPerSec, true],
  // Requests per server CPU-second: steadier than req/s on a busy host, and the number to trust when the generator is the limit.
  ['req/CPU-s', (x) => x.reqPerCpuSecond, true],
  ['p99 latency', (x) => x.latencyMs.p99, false],
];

function hostDifferences(a: Results, b: Results): string[] {
  const out: string[] = [];
  const ha = a.run.host;
  const hb = b.run.host;
  const d = (what: string, x: unknown, y: unknown) => {
    if (JSON.stringify(x) !== JSON.stringify(y)) out.push(`the host differs: ${what} ${String(x)} (baseline) vs ${String(y)} (candidate)`);
  };
  d('CPU', ha.cpuModel, hb.cpuModel);
  d('cores', ha.cores, hb.cores);
  d('memory bytes', ha.memoryBytes, hb.memoryBytes);
  d('kernel', ha.kernel, hb.kernel);
  d('emulated', a.run.emulated, b.run.emulated);
  return out;
}

export function compareResults(baseline: Results, candidate: Results, threshold: number | Partial<CompareOptions> = 5): Comparison {
  const opts: CompareOptions = { threshold: 5, relativeTo: null, unchanged: null, ...(typeof threshold === 'number' ? { threshold } : threshold) };
  const rows: ChangeRow[] = [];
  const impls = [...baseline.impls, ...candidate.impls.filter((i) => !baseline.impls.includes(i))].filter((i) => i !== opts.relativeTo);
  const sizes = [...baseline.sizes.map((s) => s.name), ...candidate.sizes.map((s) => s.name).filter((s) => !baseline.sizes.some((x) => x.name === s))];
  const sample = (r: Results, impl: string, size: string, pick: (x: CellAggregate) => Summary | null): number[] | null => {
    const cell = cellOf(r, impl, size);
    if (!cell) return null;
    if (opts.relativeTo === null) return pick(cell)?.values ?? null;
    const ref = cellOf(r, opts.relativeTo, size);
    if (!ref) return null;
    const xs = ratios(cell, ref, pick);
    return xs.length > 0 ? xs : null;
  };
  for (const size of sizes) {
    for (const impl of impls) {
      if (!cellOf(baseline, impl, size) && !cellOf(candidate, impl, size)) continue;
      for (const [metric, pick, higher] of METRICS) {
        // A statistic the engine did not measure, or a cell holding a substituted number, is shown but never judged.
        const cb = cellOf(baseline, impl, size);
        const cc = cellOf(candidate, impl, size);
        if (cb && cc && (pick(cb) === null || pick(cc) === null)) {
          rows.push({
            impl,
            size,
            metric,
            baseline: pick(cb)?.median ?? null,
            candidate: pick(cc)?.median ?? null,
            changePct: null,
            changeCi: null,
            p: null,
            verdict: 'not measured',
            note: 'the engine did not measure it',
          });
          continue;
        }
        if (cb && cc && (hasSubstitute(cb) || hasSubstitute(cc))) {
          const mb = pick(cb)?.median ?? null;
          const mc = pick(cc)?.median ?? null;
          const changePct = mb !== null && mc !== null && mb !== 0 ? ((mc - mb) / mb) * 100 : null;
          rows.push({
            impl,
            size,
            metric,
            baseline: mb,
            candidate: mc,
            changePct,
            changeCi: null,
            p: null,
            verdict: 'substituted',
            note: 'a cell holds a substituted number',
          });
          continue;
        }
        const b = sample(baseline, impl, size, pick);
        const c = sample(candidate, impl, size, pick);
        if (!b || !c) {
          const why =
            opts.relativeTo !== null
              ? `no ${!b ? 'baseline' : 'candidate'} cell of ${impl} and ${opts.relativeTo} in the same repetitions`
              : `no ${!b ? 'baseline' : 'candidate'} cell`;
          rows.push({
            impl,
            size,
            metric,
            baseline: b ? median(b) : null,
            candidate: c ? median(c) : null,
            changePct: null,
            changeCi: null,
            p: null,
            verdict: 'no data',
            note: why,
          });
          continue;
        }
        rows.push({ impl, size, metric, baseline: median(b), candidate: median(c), ...judge(b, c, higher, opts.threshold) });
      }
    }
  }
  // Host drift: implementations that did not change (the references, by default) must not move.
  const drift = hostDifferences(baseline, candidate);
  const refs = new Set([...IMPLS.filter((i) => i.reference).map((i) => i.name)]);
  const unchanged = opts.unchanged ?? [...refs].filter((i) => baseline.impls.includes(i) && candidate.impls.includes(i));
  for (const impl of unchanged) {
    for (const size of sizes) {
      const b = cellOf(baseline, impl, size);
      const c = cellOf(candidate, impl, size);
      if (!b || !c) continue;
      const j = judge(b.reqPerSec.values, c.reqPerSec.values, true, opts.threshold);
      if (j.verdict === 'improvement' || j.verdict === 'regression') {
        drift.push(
          `${impl} did not change, but its req/s at size ${size} moved ${fmtPct(j.changePct ?? undefined)} (p = ${(j.p ?? 1).toPrecision(2)}): the host changed between the runs${opts.relativeTo === null ? `; compare ratios with --relative-to ${impl}` : ''}`,
        );
      }
    }
  }
  return {
    baselineId: baseline.run.runId,
    candidateId: candidate.run.runId,
    threshold: opts.threshold,
    relativeTo: opts.relativeTo,
    configDiffs: configDifferences(baseline, candidate),
    driftWarnings: drift,
    rows,
    regressions: rows.filter((r) => r.verdict === 'regression'),
    improvements: rows.filter((r) => r.verdict === 'improvement'),
    unjudged: rows.filter((r) => r.verdict === 'no noise estimate' || r.verdict === 'inconclusive'),
  };
}

function value(row: ChangeRow, v: number | null, relativeTo: string | null): string {
  if (v === null) return row.verdict === 'not measured' ? '–' : '—';
  if (relativeTo !== null) return `${v.toFixed(3)}×`;
  return row.metric === 'req/s' || row.metric === 'req/CPU-s' ? int(v) : row.metric === 'MB/s' ? num(v) : ms(v);
}

function change(row: ChangeRow): string {
  if (row.changePct === null) return '—';
  const ci = row.changeCi ? ` [${fmtPct(row.changeCi.lo)}, ${fmtPct(row.changeCi.hi)}]` : '';
  return `${fmtPct(row.changePct)}${ci}`;
}

function pText(row: ChangeRow): string {
  return row.p === null ? '—' : row.p < 0.001 ? '< 0.001' : row.p.toFixed(3);
}

const MARK: Record<Verdict, string> = {
  improvement: '▲ improvement',
  regression: '▼ regression',
  'within noise': '≈ within noise',
  'below threshold': '· below threshold',
  inconclusive: '? inconclusive',
  'no noise estimate': '? no noise estimate',
  'no data': '— no data',
  'not measured': '– not measured (not judged)',
  substituted: '~ holds a substituted number (not judged)',
};

function metricName(cmp: Comparison, row: ChangeRow): string {
  return cmp.relativeTo === null ? row.metric : `${row.metric} ÷ ${cmp.relativeTo}`;
}

/** What the numbers mean, in one line. */
function method(cmp: Comparison): string {
  return `change = change of the medians${cmp.relativeTo !== null ? ` of each repetition's ratio to ${cmp.relativeTo}` : ''} [95 % interval of the change of the means]; a verdict needs n ≥ ${MIN_REPS_FOR_VERDICT} per side, Welch p < 0.05 and a change ≥ ${cmp.threshold} %`;
}

export function renderCompareTerminal(cmp: Comparison): string {
  const rows = [
    ['size', 'implementation', 'metric', 'baseline', 'candidate', 'change [95 % CI]', 'p', 'verdict'],
    ...cmp.rows.map((r) => [
      r.size,
      r.impl,
      metricName(cmp, r),
      value(r, r.baseline, cmp.relativeTo),
      value(r, r.candidate, cmp.relativeTo),
      change(r),
      pText(r),
      MARK[r.verdict],
    ]),
  ];
  const lines = [`compare ${cmp.baselineId} (baseline) → ${cmp.candidateId} (candidate): ${method(cmp)}`];
  lines.push(table(rows, { drawHorizontalLine: (i, n) => i === 0 || i === 1 || i === n }).trimEnd());
  for (const d of cmp.configDiffs) lines.push(`warning: configurations differ (compared with --force): ${d}`);
  for (const d of cmp.driftWarnings) lines.push(`warning: ${d}`);
  const notes = [...new Set(cmp.unjudged.map((r) => r.note).filter((n): n is string => n !== null && n.startsWith('n = ')))];
  for (const n of notes) lines.push(`note: no verdict where ${n}`);
  lines.push(summaryLine(cmp));
  return `${lines.join('\n')}\n`;
}

export function summaryLine(cmp: Comparison): string {
  const parts = [`${cmp.regressions.length} regression(s), ${cmp.improvements.length} improvement(s) (significant and ≥ ${cmp.threshold} %)`];
  const noEstimate = cmp.rows.filter((r) => r.verdict === 'no noise estimate').length;
  const inconclusive = cmp.rows.filter((r) => r.verdict === 'inconclusive').length;
  const notJudged = cmp.rows.filter((r) => r.verdict === 'not measured' || r.verdict === 'substituted').length;
  if (notJudged > 0) parts.push(`${notJudged} row(s) not judged (not measured or substituted)`);
  if (noEstimate > 0) parts.push(`${noEstimate} without a noise estimate`);
  if (inconclusive > 0) parts.push(`${inconclusive} inconclusive`);
  if (cmp.driftWarnings.length > 0) parts.push(`${cmp.driftWarnings.length} host-drift warning(s)`);
  return parts.join('; ');
}

export function renderCompareMarkdown(cmp: Comparison): string {
  const out = [`# server-bench compare: ${cmp.baselineId} → ${cmp.candidateId}`, ''];
  out.push(`${method(cmp)}. ${summaryLine(cmp)}.`, '');
  if (cmp.configDiffs.length > 0) {
    out.push('> **The configurations differ** (compared with `--force`):');
    for (const d of cmp.configDiffs) out.push(`> - ${d}`);
    out.push('');
  }
  if (cmp.driftWarnings.length > 0) {
    out.push('> **The host may have changed between the runs:**');
    for (const d of cmp.driftWarnings) out.push(`> - ${d}`);
    out.push('');
  }
  out.push('| size | implementation | metric | baseline | candidate | change [95 % CI] | p | verdict |', '|---|---|---|---:|---:|---:|---:|---|');
  for (const r of cmp.rows)
    out.push(
      `| ${r.size} | ${r.impl} | ${metricName(cmp, r)} | ${value(r, r.baseline, cmp.relativeTo)} | ${value(r, r.candidate, cmp.relativeTo)} | ${change(r)} | ${pText(r)} | ${r.verdict === 'regression' ? '**▼ regression**' : MARK[r.verdict]} |`,
    );
  return `${out.join('\n')}\n`;
}
