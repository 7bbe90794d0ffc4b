// N k6 end-of-test summaries (the k6-operator's runners, one each) → one summary, in the
// handleSummary dialect the rest of server-bench reads (k6summary.ts parses it, normaliseK6 makes
// the cell's numbers, the text summary renders it), plus `serverBenchMerge`: per metric and
// statistic, whether the merged number is exact. Pure: no I/O.
//
// The rules (RULES below, also written into the output):
//   counters (http_reqs, iterations, data_received/sent, status_<code>): counts summed, exact; the
//     rate is the summed count over the LONGEST runner's duration (the operator's starter starts
//     all runners at once, so the longest covers the whole test), not exact.
//   rates (checks, http_req_failed): passes and fails summed, rate = passes / (passes + fails): exact.
//   trends (http_req_duration…): min = min of the mins, max = max of the maxes, count summed: exact.
//     avg = Σ avgᵢ·nᵢ / Σ nᵢ with nᵢ the runner's own sample count (the trend's `count`): exact. A
//     summary without `count` is weighted by its http_reqs (http_req_* trends only), exact only when
//     each runner's trend had one sample per request, so marked not exact.
//   percentiles (med, p(90), p(95), p(99)…) are NOT mergeable from summaries: the merged summary holds
//     the largest runner's value, and serverBenchMerge the interval [min, max] of the runners'
//     values. For a nearest-rank percentile the pooled value provably lies in it (≥ the share of
//     samples at or below the top end in every runner, so in the pool). k6 interpolates between
//     neighbouring samples (p·(n−1), linear), and then the pooled value can leave the interval by
//     up to the gap between the pooled samples within N ranks of that position (N runners), e.g.
//     [10] and [0,1,15]: p(90) 10 and 12.2, pooled 13.5. Exact only when N = 1.
//   gauges (vus, vus_max): the runners' values added, not exact (the total at a moment all peaked).
import type { Warning } from '../results/schema.js';
import type { K6Check, K6Metric, K6Summary } from '../engines/k6summary.js';
import { InputError } from '../errors.js';

const RULES: Record<string, string> = {
  counter: 'count: summed (exact); rate: summed count / longest runner duration (not exact: assumes the runners ran at once)',
  rate: 'passes, fails: summed; rate = passes / (passes + fails) (all exact)',
  'trend min/max/count': 'min of the mins, max of the maxes, sum of the counts (exact)',
  'trend avg':
    "weighted by each runner's trend count (exact); by its http_reqs when a summary has no trend count (exact only if that trend had one sample per request: marked not exact)",
  'trend percentiles':
    "not mergeable: the interval [min, max] of the runners' values (low, high); the merged summary shows high. Holds for nearest-rank percentiles; k6 interpolates between neighbouring samples, so the pooled value may lie outside by up to the gap between the samples within N ranks of it (N runners). Exact only for one runner",
  gauge: "the runners' values added (not exact: the total at a moment every runner peaked)",
  duration: 'the longest runner duration',
};

export type MergedStat = { exact: boolean; value: number } | { exact: boolean; low: number; high: number };

interface MergedMetricInfo {
  type: K6Metric['type'];
  /** How many of the runners' summaries had this metric (k6 leaves a metric without samples out). */
  runners: number;
  stats: Record<string, MergedStat>;
}

interface MergeInfo {
  kind: 'server-bench-k6-merge';
  runners: number;
  inputs: Array<{ name: string; dialect: K6Summary['dialect']; durationSeconds: number; requests: number | null }>;
  durationSeconds: { value: number; exact: boolean };
  rules: Record<string, string>;
  metrics: Record<string, MergedMetricInfo>;
}

/** The merged summary in handleSummary's shape, with `serverBenchMerge` beside it. */
export interface MergedSummary {
  options: { summaryTrendStats: string[] };
  state: { testRunDurationMs: number };
  metrics: Record<string, { type: K6Metric['type']; contains: K6Metric['contains']; values: Record<string, number> }>;
  root_group: MergedGroup;
  serverBenchMerge: MergeInfo;
}

interface MergedGroup {
  name: string;
  path: string;
  id: string;
  groups: MergedGroup[];
  checks: Array<{ name: string; path: string; id: string; passes: number; fails: number }>;
}

export interface RunnerSummary {
  /** The file it came from, for messages. */
  name: string;
  summary: K6Summary;
}

const PERCENTILE = /^(med|p\(\d+(?:\.\d+)?\))$/;
/** Built-in trends with one sample per request: weighted by http_reqs when their count is missing. */
const PER_REQUEST = /^http_req_(duration|blocked|connecting|tls_handshaking|sending|waiting|receiving)$/;

function durationSecondsOf(r: RunnerSummary): number {
  const ms = r.summary.durationMs;
  if (ms === null || !(ms > 0))
    throw new InputError(
      `${r.name}: the k6 summary gives no test duration`,
      "pass the summary k6/script.js's handleSummary writes (it has state.testRunDurationMs)",
    );
  return ms / 1000;
}

function counterCount(s: K6Summary, name: string): number | null {
  const m = s.metrics[name];
  return m?.type === 'counter' && typeof m.values.count === 'number' ? m.values.count : null;
}

/** Merge the checks by path (a check that ran in one runner only keeps its counts). */
function mergeChecks(all: K6Check[][]): MergedGroup {
  const root: MergedGroup = { name: '', path: '', id: '', groups: [], checks: [] };
  const byPath = new Map<string, MergedGroup['checks'][number]>();
  for (const checks of all) {
    for (const c of checks) {
      const have = byPath.get(c.path);
      if (have) {
        have.passes += c.passes;
        have.fails += c.fails;
        continue;
      }
      let g = root;
      for (const name of c.groups) {
        let sub = g.groups.find((x) => x.name === name);
        if (!sub) {
          sub = { name, path: `${g.path}::${name}`, id: '', groups: [], checks: [] };
          g.groups.push(sub);
        }
        g = sub;
      }
      const entry = { name: c.name, path: c.path, id: '', passes: c.passes, fails: c.fails };
      g.checks.push(entry);
      byPath.set(c.path, entry);
    }
  }
  return root;
}

function mergeTrend(
  name: string,
  parts: Array<{ m: K6Metric; runner: RunnerSummary }>,
  stats: Record<string, MergedStat>,
  values: Record<string, number>,
): void {
  // Only the statistics every runner's trend holds: one missing anywhere is not measured.
  const keys = Object.keys(parts[0]!.m.values).filter((k) => parts.every((p) => typeof p.m.values[k] === 'number'));
  const single = parts.length === 1;
  const weights = parts.map((p) => {
    const own = p.m.values.count;
    if (typeof own === 'number') return { n: own, exact: true };
    const reqs = PER_REQUEST.test(name) ? counterCount(p.runner.summary, 'http_reqs') : null;
    return reqs === null ? null : { n: reqs, exact: false };
  });
  for (const k of keys) {
    const xs = parts.map((p) => p.m.values[k] as number);
    if (k === 'min' || k === 'max') {
      values[k] = k === 'min' ? Math.min(...xs) : Math.max(...xs);
      stats[k] = { exact: true, value: values[k] };
    } else if (k === 'count') {
      values[k] = xs.reduce((a, b) => a + b, 0);
      stats[k] = { exact: true, value: values[k] };
    } else if (k === 'avg') {
      if (weights.some((w) => w === null)) continue; // no weights: not measured, never a plain mean
      const ws = weights as Array<{ n: number; exact: boolean }>;
      const total = ws.reduce((a, w) => a + w.n, 0);
      values.avg = total > 0 ? xs.reduce((a, x, i) => a + x * ws[i]!.n, 0) / total : 0;
      stats.avg = { exact: single || ws.every((w) => w.exact), value: values.avg };
    } else if (PERCENTILE.test(k)) {
      const low = Math.min(...xs);
      const high = Math.max(...xs);
      values[k] = high;
      stats[k] = { exact: single, low, high };
    }
    // Any other trend stat k6 may hold (none in ours) is left out rather than merged wrongly.
  }
}

/** Merge the runners' summaries; the input names are used in messages. At least one. */
export function mergeK6Summaries(runners: readonly RunnerSummary[]): MergedSummary {
  if (runners.length === 0) throw new InputError('no k6 summaries to merge', 'pass one summary file per runner');
  const durations = runners.map(durationSecondsOf);
  const duration = Math.max(...durations);
  const single = runners.length === 1;
  const names = [...new Set(runners.flatMap((r) => Object.keys(r.summary.metrics)))].sort();
  const metrics: MergedSummary['metrics'] = {};
  const info: Record<string, MergedMetricInfo> = {};
  for (const name of names) {
    const parts = runners.flatMap((runner) => {
      const m = runner.summary.metrics[name];
      return m ? [{ m, runner }] : [];
    });
    const first = parts[0]!.m;
    const odd = parts.find((p) => p.m.type !== first.type);
    if (odd)
      throw new InputError(
        `${odd.runner.name}: metric ${name} is a ${odd.m.type}, in ${parts[0]!.runner.name} a ${first.type}`,
        'merge the summaries of one test run only',
      );
    const values: Record<string, number> = {};
    const stats: Record<string, MergedStat> = {};
    const sum = (k: string) => parts.reduce((a, p) => a + (p.m.values[k] ?? 0), 0);
    if (first.type === 'counter') {
      values.count = sum('count');
      values.rate = values.count / duration;
      stats.count = { exact: true, value: values.count };
      stats.rate = { exact: single, value: values.rate };
    } else if (first.type === 'rate') {
      values.passes = sum('passes');
      values.fails = sum('fails');
      const n = values.passes + values.fails;
      values.rate = n > 0 ? values.passes / n : 0;
      for (const k of ['passes', 'fails', 'rate']) stats[k] = { exact: true, value: values[k] as number };
    } else if (first.type === 'gauge') {
      for (const k of Object.keys(first.values)) {
        values[k] = sum(k);
        stats[k] = { exact: single, value: values[k] };
      }
    } else mergeTrend(name, parts, stats, values);
    metrics[name] = { type: first.type, contains: first.contains, values };
    info[name] = { type: first.type, runners: parts.length, stats };
  }
  // Our summaries say which trend stats k6 was asked for; the merged one holds those every input holds.
  const trendStats = runners.map((r) => r.summary.trendStats).find((t) => t !== null) ?? ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)'];
  return {
    options: { summaryTrendStats: trendStats },
    state: { testRunDurationMs: duration * 1000 },
    metrics,
    root_group: mergeChecks(runners.map((r) => r.summary.checks)),
    serverBenchMerge: {
      kind: 'server-bench-k6-merge',
      runners: runners.length,
      inputs: runners.map((r, i) => ({
        name: r.name,
        dialect: r.summary.dialect,
        durationSeconds: durations[i]!,
        requests: counterCount(r.summary, 'http_reqs'),
      })),
      durationSeconds: { value: duration, exact: single || durations.every((d) => d === duration) },
      rules: RULES,
      metrics: info,
    },
  };
}

const LATENCY_SHOWN: Array<[string, string]> = [
  ['p(50)', 'p50'],
  ['med', 'p50'],
  ['p(90)', 'p90'],
  ['p(95)', 'p95'],
  ['p(99)', 'p99'],
];

/** The warnings a merged cell carries: which of its numbers are bounds or assumptions, one line each. */
export function mergeWarnings(m: MergedSummary): Warning[] {
  const out: Warning[] = [];
  const n = m.serverBenchMerge.runners;
  const d = m.serverBenchMerge.metrics.http_req_duration;
  if (d) {
    const bounds: string[] = [];
    const seen = new Set<string>();
    for (const [stat, shown] of LATENCY_SHOWN) {
      const s = d.stats[stat];
      if (!s || !('low' in s) || s.exact || seen.has(shown)) continue;
      seen.add(shown);
      bounds.push(`${shown} ${s.low.toFixed(3)}–${s.high.toFixed(3)}`);
    }
    if (bounds.length > 0)
      out.push({
        code: 'substituted',
        message: `latency percentiles of ${n} k6 runners are not mergeable: each shown is the largest runner's value, the pooled one lies near [${bounds.join(', ')}] ms (summary.json serverBenchMerge)`,
      });
    const avg = d.stats.avg;
    if (avg && !avg.exact)
      out.push({
        code: 'substituted',
        message: "latency avg weighted by each runner's http_reqs: a summary had no trend count (summary.json serverBenchMerge)",
      });
  }
  if (n > 1 && !m.serverBenchMerge.durationSeconds.exact)
    out.push({
      code: 'other',
      message: `req/s and MB/s are the ${n} runners' summed counts over the longest runner's ${m.serverBenchMerge.durationSeconds.value.toFixed(1)} s`,
    });
  return out;
}
