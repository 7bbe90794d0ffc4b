// summary.txt per cell: the k6 text summary layout (jslib k6-summary `textSummary`, k6.md §4).
// k6 cells render from the raw k6 summary exactly as the jslib would; wrk cells get the same layout
// synthesised from the normalised numbers, so every cell reads alike whatever the engine. A
// statistic that was not measured prints as "–" (footnoted), and the cell's warnings close the file.
import { parseK6Summary, type K6Check, type K6Metric, type K6Summary } from '../engines/k6summary.js';
import type { CellResult } from '../results/schema.js';
import { NOT_MEASURED } from './format.js';

const SUCC = '✓';
const FAIL = '✗';
const DEFAULT_TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)'];

/** Display width: code points after NFKC, as the jslib counts them. */
function width(s: string): number {
  return [...s.normalize('NFKC')].length;
}

function fixedNoTrailingZeros(v: number, prec: number): string {
  return parseFloat(v.toFixed(prec)).toString();
}

function fixedTrunc(v: number, prec: number): string {
  const m = 10 ** prec;
  return fixedNoTrailingZeros(Math.trunc(m * v) / m, prec);
}

function humanizeBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
  if (bytes < 10) return `${bytes} B`;
  const e = Math.floor(Math.log(bytes) / Math.log(1000));
  const val = Math.floor((bytes / 1000 ** e) * 10 + 0.5) / 10;
  return `${val.toFixed(val < 10 ? 1 : 0)} ${units[e] ?? ''}`;
}

function humanizeGenericDuration(dur: number): string {
  if (dur === 0) return '0s';
  if (dur < 0.001) return `${Math.trunc(dur * 1e6)}ns`;
  if (dur < 1) return `${fixedTrunc(dur * 1000, 2)}µs`;
  if (dur < 1000) return `${fixedTrunc(dur, 2)}ms`;
  let result = `${fixedTrunc((dur % 60000) / 1000, dur > 60000 ? 0 : 2)}s`;
  let rem = Math.trunc(dur / 60000);
  if (rem < 1) return result;
  result = `${rem % 60}m${result}`;
  rem = Math.trunc(rem / 60);
  if (rem < 1) return result;
  return `${rem}h${result}`;
}

const UNITS: Record<string, { unit: string; coef: number }> = { s: { unit: 's', coef: 0.001 }, ms: { unit: 'ms', coef: 1 }, us: { unit: 'µs', coef: 1000 } };

function humanizeValue(val: number, m: Pick<K6Metric, 'type' | 'contains'>, timeUnit: string): string {
  if (m.type === 'rate') return `${(Math.trunc(val * 100 * 100) / 100).toFixed(2)}%`;
  if (m.contains === 'data') return humanizeBytes(val);
  if (m.contains === 'time') {
    const u = UNITS[timeUnit];
    return u ? `${(val * u.coef).toFixed(2)}${u.unit}` : humanizeGenericDuration(val);
  }
  return fixedNoTrailingZeros(val, 6);
}

function displayName(name: string): string {
  const i = name.indexOf('{');
  return i >= 0 ? `{ ${name.substring(i + 1, name.length - 1)} }` : name;
}

function subIndent(name: string): string {
  return name.includes('{') ? '  ' : '';
}

interface Group {
  name: string;
  checks: K6Check[];
  groups: Group[];
}

/** Rebuild the group tree from the checks' group paths, keeping first-seen order. */
function groupTree(checks: K6Check[]): Group {
  const root: Group = { name: '', checks: [], groups: [] };
  for (const c of checks) {
    let g = root;
    for (const name of c.groups) {
      let sub = g.groups.find((x) => x.name === name);
      if (!sub) {
        sub = { name, checks: [], groups: [] };
        g.groups.push(sub);
      }
      g = sub;
    }
    g.checks.push(c);
  }
  return root;
}

function summarizeCheck(indent: string, c: K6Check): string {
  if (c.fails === 0) return `${indent}${SUCC} ${c.name}`;
  const pct = Math.floor((100 * c.passes) / (c.passes + c.fails));
  return `${indent}${FAIL} ${c.name}\n${indent} ↳  ${pct}% — ${SUCC} ${c.passes} / ${FAIL} ${c.fails}`;
}

function summarizeGroup(indent: string, g: Group): string[] {
  const out: string[] = [];
  if (g.name !== '') {
    out.push(`${indent}█ ${g.name}\n`);
    indent += '  ';
  }
  for (const c of g.checks) out.push(summarizeCheck(indent, c));
  if (g.checks.length > 0) out.push('');
  for (const sub of g.groups) out.push(...summarizeGroup(indent, sub));
  return out;
}

/** Sort parents by localeCompare and keep each sub-metric under its parent (k6-jslib-summary ≥ 0.0.3). */
function compareMetricNames(a: string, b: string): number {
  const pa = a.split('{', 1)[0]!;
  const pb = b.split('{', 1)[0]!;
  const r = pa.localeCompare(pb);
  if (r !== 0) return r;
  return a.substring(pa.length).localeCompare(b.substring(pb.length));
}

function summarizeMetrics(indentBase: string, metrics: Record<string, K6Metric>, trendStats: string[], timeUnit: string): string[] {
  const indent = `${indentBase}  `;
  let nameLenMax = 0;
  const nonTrend: Record<string, string[]> = {};
  let nonTrendMax = 0;
  const extraMax = [0, 0];
  const trendCols: Record<string, string[]> = {};
  const colMax = trendStats.map(() => 0);

  for (const [name, m] of Object.entries(metrics)) {
    nameLenMax = Math.max(nameLenMax, width(subIndent(name) + displayName(name)));
    if (m.type === 'trend') {
      trendCols[name] = trendStats.map((stat, i) => {
        const v = m.values[stat];
        // A stat the summary does not hold was not measured: "–", never a neighbour's value.
        const text = v === undefined ? NOT_MEASURED : stat === 'count' ? String(v) : humanizeValue(v, m, timeUnit);
        colMax[i] = Math.max(colMax[i]!, width(text));
        return text;
      });
      continue;
    }
    const v = m.values;
    let parts: string[];
    if (m.type === 'counter') parts = [humanizeValue(v.count ?? 0, m, timeUnit), `${humanizeValue(v.rate ?? 0, m, timeUnit)}/s`];
    else if (m.type === 'gauge')
      parts = [humanizeValue(v.value ?? 0, m, timeUnit), `min=${humanizeValue(v.min ?? 0, m, timeUnit)}`, `max=${humanizeValue(v.max ?? 0, m, timeUnit)}`];
    else parts = [humanizeValue(v.rate ?? 0, m, timeUnit), `${SUCC} ${v.passes ?? 0}`, `${FAIL} ${v.fails ?? 0}`];
    nonTrend[name] = parts;
    nonTrendMax = Math.max(nonTrendMax, width(parts[0]!));
    for (let i = 1; i < parts.length; i++) extraMax[i - 1] = Math.max(extraMax[i - 1]!, width(parts[i]!));
  }

  const data = (name: string): string => {
    const cols = trendCols[name];
    if (cols) return cols.map((c, i) => `${trendStats[i]}=${c}${' '.repeat(colMax[i]! - width(c))}`).join(' ');
    const [first, ...extras] = nonTrend[name]!;
    let s = first! + ' '.repeat(nonTrendMax - width(first!));
    if (extras.length === 1) s += ` ${extras[0]}`;
    else if (extras.length > 1) s += ` ${extras.map((e, i) => e + ' '.repeat(extraMax[i]! - width(e))).join(' ')}`;
    return s;
  };

  return Object.keys(metrics)
    .sort(compareMetricNames)
    .map((name) => {
      const m = metrics[name]!;
      const ts = Object.values(m.thresholds);
      const mark = ts.length === 0 ? ' ' : ts.every(Boolean) ? SUCC : FAIL;
      const ind = subIndent(name);
      const shown = displayName(name);
      const dots = '.'.repeat(Math.max(0, nameLenMax - width(shown) - width(ind) + 3));
      return `${indent}${ind}${mark} ${shown}${dots}: ${data(name)}`;
    });
}

/** The jslib text summary of a parsed k6 summary (indent "", colours off). */
export function renderK6Text(summary: K6Summary, indent = '', timeUnit = ''): string {
  const trendStats = summary.trendStats ?? inferTrendStats(summary);
  const lines = [...summarizeGroup(`${indent}    `, groupTree(summary.checks)), ...summarizeMetrics(indent, summary.metrics, trendStats, timeUnit)];
  return lines.join('\n');
}

/** summary-export and v1 files do not record the trend stats: take the keys a trend actually has. */
function inferTrendStats(summary: K6Summary): string[] {
  const trend = summary.metrics.http_req_duration ?? Object.values(summary.metrics).find((m) => m.type === 'trend');
  if (!trend) return DEFAULT_TREND_STATS;
  const order = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'p(99.9)', 'count'];
  const keys = Object.keys(trend.values);
  return [...order.filter((k) => keys.includes(k)), ...keys.filter((k) => !order.includes(k))];
}

/** A k6-shaped summary synthesised from a normalised (wrk) result. */
export function synthesiseK6(result: CellResult): K6Summary {
  const d = result.durationSeconds;
  // failedChecks is the engine's own count of statuses outside 200/301/308 (status buckets vary by engine).
  const bad = Math.min(result.failedChecks, result.requests);
  const ok = result.requests - bad;
  const l = result.latencyMs;
  const metrics: Record<string, K6Metric> = {
    checks: { type: 'rate', contains: 'default', values: { rate: ok + bad > 0 ? ok / (ok + bad) : 0, passes: ok, fails: bad }, thresholds: {} },
    data_received: { type: 'counter', contains: 'data', values: { count: result.bytes, rate: result.bytes / d }, thresholds: {} },
    http_req_duration: {
      type: 'trend',
      contains: 'time',
      values: measuredOnly({ avg: l.avg, med: l.p50, 'p(90)': l.p90, 'p(95)': l.p95, 'p(99)': l.p99, max: l.max }),
      thresholds: {},
    },
    http_req_failed: {
      type: 'rate',
      contains: 'default',
      values: { rate: result.requests > 0 ? bad / result.requests : 0, passes: bad, fails: ok },
      thresholds: {},
    },
    http_reqs: { type: 'counter', contains: 'default', values: { count: result.requests, rate: result.reqPerSec }, thresholds: {} },
    vus: { type: 'gauge', contains: 'default', values: { value: result.vus, min: result.vus, max: result.vus }, thresholds: {} },
  };
  return {
    dialect: 'handleSummary',
    metrics,
    checks: [{ name: 'status is 200, 301 or 308', path: '::status is 200, 301 or 308', groups: [], passes: ok, fails: bad }],
    durationMs: d * 1000,
    durationSource: null,
    trendStats: ['avg', 'med', 'p(90)', 'p(95)', 'p(99)', 'max'],
    k6Version: null,
  };
}

function measuredOnly(values: Record<string, number | null>): Record<string, number> {
  return Object.fromEntries(Object.entries(values).filter((e): e is [string, number] => e[1] !== null));
}

/** Server CPU, requests per server CPU-second and the generator's share: the cell's efficiency line. */
function resourcesLine(result: CellResult): string {
  const r = result.resources;
  const cpu =
    r.serverCpuSeconds !== null && r.serverCpuSeconds > 0
      ? `server CPU ${r.serverCpuSeconds.toFixed(2)} s (${Math.round(result.requests / r.serverCpuSeconds).toLocaleString('en-US')} requests per CPU-second)`
      : `server CPU ${NOT_MEASURED} (not measured)`;
  const gen =
    r.loadgenUtilisation !== null
      ? `load generator ${(r.loadgenUtilisation * 100).toFixed(0)} % of ${r.loadgenCpus.length} core(s)${result.warnings.some((w) => w.code === 'loadgen-saturated') ? ' (generator-bound: it set req/s)' : ''}`
      : `load generator CPU ${NOT_MEASURED} (not measured)`;
  return `${cpu} · ${gen}`;
}

/** summary.txt for one cell: from the raw k6 summary for k6 cells, synthesised for wrk cells. */
export function renderTextSummary(result: CellResult): string {
  const header = `${result.id} · ${result.impl} at size ${result.size.name} · ${result.engine.name} ${result.engine.version} · ${result.durationSeconds.toFixed(1)} s · ${result.vus} VUs, ${result.connections} connections\n${resourcesLine(result)}`;
  let body: string;
  if (result.engine.name !== 'k6') body = renderK6Text(synthesiseK6(result));
  else {
    // handleSummary JSON keeps options.summaryTimeUnit ("" = human units), which the jslib honours.
    const raw = result.raw as { options?: { summaryTimeUnit?: unknown } } | null;
    const unit = typeof raw?.options?.summaryTimeUnit === 'string' ? raw.options.summaryTimeUnit : '';
    body = renderK6Text(parseK6Summary(result.raw), '', unit);
  }
  const footer: string[] = [];
  if (body.includes(`=${NOT_MEASURED}`))
    footer.push(`${NOT_MEASURED} not measured: the load generator's output did not hold that statistic (never filled in from another one).`);
  for (const w of result.warnings) footer.push(`warning (${w.code}): ${w.message}`);
  return `${header}\n\n${body}\n${footer.length > 0 ? `\n${footer.join('\n')}\n` : ''}`;
}
