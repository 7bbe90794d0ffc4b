// Reading k6's end-of-test summaries: both legacy dialects (handleSummary's JSON and
// --summary-export) and the opt-in machine-readable v1 schema, into one shape; then normalising
// that shape into the LoadResult every engine returns. Malformed input fails with a message that
// names the exact field (or the line and column) and what was found there. Normalising never
// invents a number: a statistic the summary does not hold is null and said so in a warning.
import { z } from 'zod';
import type { LoadResult } from '../contracts.js';
import { InputError } from '../errors.js';
import { findJsonSyntaxError } from './jsonerror.js';
import type { Latency, Warning } from '../results/schema.js';

type K6Dialect = 'handleSummary' | 'summary-export' | 'machine-readable-v1';
type K6MetricType = 'counter' | 'gauge' | 'rate' | 'trend';
type K6Contains = 'default' | 'time' | 'data';

export interface K6Metric {
  type: K6MetricType;
  /** summary-export drops it: inferred there from the metric's name (built-in time/data metrics). */
  contains: K6Contains;
  /** Rates always carry `rate`, `passes`, `fails` (export's `value` and v1's matches/total are mapped). */
  values: Record<string, number>;
  /** Threshold expression, as written → ok (export's inverted booleans are turned back). */
  thresholds: Record<string, boolean>;
}

export interface K6Check {
  name: string;
  /** "::Group::Sub::check name"; v1 summaries have no groups, so "::" + name. */
  path: string;
  /** Group names from the root down; [] for checks in the root group. */
  groups: string[];
  passes: number;
  fails: number;
}

export interface K6Summary {
  dialect: K6Dialect;
  metrics: Record<string, K6Metric>;
  checks: K6Check[];
  /** Test run duration; null when the file does not say and no counter has a rate. */
  durationMs: number | null;
  durationSource: 'state.testRunDurationMs' | 'counter count/rate' | 'config.duration' | null;
  /** options.summaryTrendStats (handleSummary only). */
  trendStats: string[] | null;
  /** metadata.k6Version (v1 only). */
  k6Version: string | null;
}

const HINT = 'pass the JSON that k6 wrote (handleSummary or --summary-export), unedited';

function fail(what: string, hint: string = HINT): never {
  throw new InputError(`k6 summary: ${what}`, hint);
}

// ------------------------------------------------------------------ zod schemas, per dialect
const count = z.number().int().nonnegative();

const handleMetric = z.object({
  type: z.enum(['counter', 'gauge', 'rate', 'trend']),
  contains: z.enum(['default', 'time', 'data']),
  values: z.record(z.string(), z.number()),
  thresholds: z.record(z.string(), z.object({ ok: z.boolean() })).optional(),
});

const checkSchema = z.object({ name: z.string(), path: z.string(), passes: count, fails: count });

interface ArrayGroup {
  name: string;
  path: string;
  groups: ArrayGroup[];
  checks: z.infer<typeof checkSchema>[];
}
const arrayGroup: z.ZodType<ArrayGroup> = z.lazy(() =>
  z.object({
    name: z.string(),
    path: z.string(),
    groups: z.array(arrayGroup),
    checks: z.array(checkSchema),
  }),
);

interface ObjectGroup {
  name?: string | undefined;
  path: string;
  groups: Record<string, ObjectGroup>;
  checks: Record<string, z.infer<typeof checkSchema>>;
}
const objectGroup: z.ZodType<ObjectGroup> = z.lazy(() =>
  z.object({
    name: z.string().optional(),
    path: z.string(),
    groups: z.record(z.string(), objectGroup),
    checks: z.record(z.string(), checkSchema),
  }),
);

const handleSummarySchema = z.object({
  options: z.object({ summaryTrendStats: z.array(z.string()).optional() }).optional(),
  state: z.object({ testRunDurationMs: z.number().nonnegative().optional() }).optional(),
  metrics: z.record(z.string(), handleMetric),
  root_group: arrayGroup.optional(),
});

const exportMetric = z.object({ thresholds: z.record(z.string(), z.boolean()).optional() }).catchall(z.number());

const exportSchema = z.object({
  metrics: z.record(z.string(), exportMetric),
  root_group: objectGroup.optional(),
});

const v1Metric = z.object({
  name: z.string(),
  type: z.enum(['counter', 'gauge', 'rate', 'trend']),
  contains: z.enum(['default', 'time', 'data']),
  values: z.record(z.string(), z.number()),
});

const v1Schema = z.object({
  version: z.string().regex(/^1\.\d+\.\d+/, 'must be a 1.x.y version'),
  config: z.object({ duration: z.number().nonnegative() }),
  // k6 2.2 writes snake_case (k6_version); the schema's generated Go types say k6Version.
  metadata: z.object({ k6Version: z.string().optional(), k6_version: z.string().optional() }).optional(),
  results: z.object({
    checks: z
      .object({
        metrics: z.array(v1Metric).optional(),
        results: z.array(z.object({ name: z.string(), passes: count, fails: count })).optional(),
      })
      .optional(),
    metrics: z.array(v1Metric),
  }),
});

// ------------------------------------------------------------------ messages
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') {
    const s = JSON.stringify(value);
    return s.length > 40 ? `${s.slice(0, 37)}..."` : s;
  }
  return String(value);
}

function article(expected: string): string {
  if (expected === 'array' || expected === 'object') return `an ${expected}`;
  return `a ${expected}`;
}

function fieldPath(prefix: string, path: readonly PropertyKey[]): string {
  return [prefix, ...path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))]
    .filter((s) => s !== '')
    .join('.')
    .replace(/\.\[/g, '[');
}

/** One line for the first zod issue: "metrics.http_reqs.values.count must be a number, got "x"". */
function issueMessage(error: z.ZodError, prefix = ''): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  const at = fieldPath(prefix, issue.path) || 'the summary';
  const input = (issue as { input?: unknown }).input;
  let text: string;
  if (issue.code === 'invalid_type' && issue.expected === 'number' && typeof input === 'number') {
    text = `${at} must be a finite number, got ${input}`;
  } else if (issue.code === 'invalid_type' && input === undefined) {
    text = `${at} is missing (expected ${article(issue.expected)})`;
  } else if (issue.code === 'invalid_type') {
    text = `${at} must be ${article(issue.expected)}, got ${describe(input)}`;
  } else if (issue.code === 'invalid_value') {
    text = `${at} must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describe(input)}`;
  } else if (issue.code === 'too_small' || issue.code === 'too_big') {
    text = `${at} is out of range (${issue.message}), got ${describe(input)}`;
  } else {
    text = `${at}: ${issue.message}${input !== undefined ? `, got ${describe(input)}` : ''}`;
  }
  const more = error.issues.length - 1;
  return more > 0 ? `${text} (and ${more} more problem${more > 1 ? 's' : ''})` : text;
}

function parseWith<T>(schema: z.ZodType<T>, data: unknown, dialect: string): T {
  const r = schema.safeParse(data, { reportInput: true });
  if (!r.success) fail(`${issueMessage(r.error)} (read as ${dialect})`);
  return r.data;
}

// ------------------------------------------------------------------ helpers
function toJson(input: unknown): unknown {
  if (typeof input !== 'string') return input;
  if (input.trim() === '') fail('empty input, not JSON');
  try {
    return JSON.parse(input) as unknown;
  } catch (e) {
    // V8's message names a position only for some errors; find the true place ourselves.
    const where = findJsonSyntaxError(input);
    if (!where) fail(`not JSON (${e instanceof Error ? e.message : String(e)})`);
    const at = `not JSON at position ${where.position} (line ${where.line}, column ${where.column})`;
    if (input[where.position] === '\uFEFF') {
      fail(
        `${at}: the text starts with a UTF-8 byte-order mark (U+FEFF), which k6 never writes`,
        'save the file as UTF-8 without a byte-order mark, or pass the file k6 wrote',
      );
    }
    if (where.position >= input.length) fail(`${at}: the text ends where ${where.expected} was expected; was the file truncated?`);
    const lead = input.trimStart();
    if (!lead.startsWith('{') && !lead.startsWith('[')) {
      const first = JSON.stringify(lead.split('\n', 1)[0]!.slice(0, 40));
      fail(
        `${at}: found ${where.found}, expected ${where.expected}; the text starts with ${first}, which looks like pasted console output, not k6's JSON summary`,
        'pass the file handleSummary or --summary-export wrote, not what k6 printed',
      );
    }
    fail(`${at}: found ${where.found}, expected ${where.expected}`);
  }
}

/** Built-in metrics whose values are milliseconds or bytes: the export does not say so itself. */
function inferContains(name: string): K6Contains {
  const base = name.replace(/\{.*$/, '');
  if (/^data_(received|sent)$/.test(base) || /_(bytes|data)$/.test(base)) return 'data';
  if (
    /^(http_req_(duration|blocked|connecting|tls_handshaking|sending|waiting|receiving)|iteration_duration|group_duration|grpc_req_duration|ws_session_duration|ws_connecting)$/.test(
      base,
    )
  ) {
    return 'time';
  }
  return 'default';
}

function inferExportType(values: Record<string, number>): K6MetricType {
  const keys = Object.keys(values).sort().join(',');
  if ('passes' in values && 'fails' in values) return 'rate';
  if (keys === 'count,rate') return 'counter';
  if (keys === 'max,min,value') return 'gauge';
  return 'trend';
}

const REQUIRED: Record<K6MetricType, string[]> = {
  counter: ['count'],
  gauge: ['value'],
  rate: ['passes', 'fails'],
  trend: [],
};

function requireValues(name: string, m: K6Metric, where: string): void {
  for (const key of REQUIRED[m.type]) {
    if (typeof m.values[key] !== 'number') fail(`${where}.${key} is missing (a ${m.type} metric "${name}" needs it)`);
  }
  // Counts and durations k6 writes are never negative (a gauge or a custom unit-less trend may be).
  for (const [key, v] of Object.entries(m.values)) {
    if (!Number.isFinite(v)) fail(`${where}.${key} must be a finite number, got ${v}`);
    const isCount = m.type === 'counter' || (m.type === 'rate' && (key === 'passes' || key === 'fails')) || (m.type === 'trend' && key === 'count');
    const isAmount = m.type === 'trend' && (m.contains === 'time' || m.contains === 'data');
    if (v < 0 && (isCount || isAmount)) {
      const what = isCount ? 'a count' : m.contains === 'time' ? 'a duration' : 'an amount of data';
      fail(`${where}.${key} is ${v}, but it is ${what} and cannot be negative (metric "${name}")`);
    }
  }
}

function groupsOf(path: string): string[] {
  const parts = path.split('::');
  return parts.slice(1, -1).filter((p) => p !== '');
}

function flattenArrayGroup(g: ArrayGroup, out: K6Check[]): K6Check[] {
  for (const c of g.checks) out.push({ name: c.name, path: c.path, groups: groupsOf(c.path), passes: c.passes, fails: c.fails });
  for (const sub of g.groups) flattenArrayGroup(sub, out);
  return out;
}

function flattenObjectGroup(g: ObjectGroup, out: K6Check[]): K6Check[] {
  for (const c of Object.values(g.checks)) out.push({ name: c.name, path: c.path, groups: groupsOf(c.path), passes: c.passes, fails: c.fails });
  for (const sub of Object.values(g.groups)) flattenObjectGroup(sub, out);
  return out;
}

/** k6 computes a counter's rate as count / test-run seconds, so any counter gives the duration back. */
function durationFromCounters(metrics: Record<string, K6Metric>): number | null {
  const preferred = ['http_reqs', 'iterations', 'data_received', 'data_sent'];
  const names = [...preferred, ...Object.keys(metrics).filter((n) => !preferred.includes(n))];
  for (const name of names) {
    const m = metrics[name];
    if (m?.type !== 'counter') continue;
    const { count: c, rate } = m.values;
    if (typeof c === 'number' && typeof rate === 'number' && c > 0 && rate > 0) return (c / rate) * 1000;
  }
  return null;
}

// ------------------------------------------------------------------ the parser
function detectDialect(obj: Record<string, unknown>): K6Dialect {
  if (typeof obj.version === 'string' && typeof obj.results === 'object' && obj.results !== null) return 'machine-readable-v1';
  if (!('metrics' in obj)) fail('neither a handleSummary nor a --summary-export object: missing "metrics"');
  const metrics = obj.metrics;
  if (typeof metrics !== 'object' || metrics === null || Array.isArray(metrics)) fail(`metrics must be an object, got ${describe(metrics)}`);
  if ('options' in obj || 'state' in obj) return 'handleSummary';
  const first = Object.values(metrics as Record<string, unknown>)[0];
  if (typeof first === 'object' && first !== null && 'values' in first && 'type' in first) return 'handleSummary';
  return 'summary-export';
}

/**
 * Parse a k6 summary in any dialect k6 writes: a JSON string or an already-parsed value.
 * Throws InputError naming the field that is wrong.
 */
export function parseK6Summary(input: unknown): K6Summary {
  const data = toJson(input);
  if (typeof data !== 'object' || data === null || Array.isArray(data)) fail(`expected a JSON object, got ${describe(data)}`);
  const obj = data as Record<string, unknown>;
  const dialect = detectDialect(obj);
  const summary = dialect === 'handleSummary' ? fromHandleSummary(obj) : dialect === 'summary-export' ? fromExport(obj) : fromV1(obj);
  if (Object.keys(summary.metrics).length === 0) {
    fail(
      `the summary has no metrics (${dialect === 'machine-readable-v1' ? 'results.metrics is an empty list' : '"metrics" is an empty object'}); k6 writes at least vus and iterations for a run that started`,
      'pass the summary of a k6 run that made requests',
    );
  }
  return summary;
}

function fromHandleSummary(obj: Record<string, unknown>): K6Summary {
  const s = parseWith(handleSummarySchema, obj, 'handleSummary JSON');
  const metrics: Record<string, K6Metric> = {};
  for (const [name, m] of Object.entries(s.metrics)) {
    const thresholds: Record<string, boolean> = {};
    for (const [expr, t] of Object.entries(m.thresholds ?? {})) thresholds[expr] = t.ok;
    const metric: K6Metric = { type: m.type, contains: m.contains, values: m.values, thresholds };
    requireValues(name, metric, `metrics.${name}.values`);
    metrics[name] = metric;
  }
  const stateMs = s.state?.testRunDurationMs;
  const derived = stateMs === undefined ? durationFromCounters(metrics) : null;
  return {
    dialect: 'handleSummary',
    metrics,
    checks: s.root_group ? flattenArrayGroup(s.root_group, []) : [],
    durationMs: stateMs ?? derived,
    durationSource: stateMs !== undefined ? 'state.testRunDurationMs' : derived !== null ? 'counter count/rate' : null,
    trendStats: s.options?.summaryTrendStats ?? null,
    k6Version: null,
  };
}

function fromExport(obj: Record<string, unknown>): K6Summary {
  const s = parseWith(exportSchema, obj, '--summary-export JSON');
  const metrics: Record<string, K6Metric> = {};
  for (const [name, raw] of Object.entries(s.metrics)) {
    const { thresholds: inverted, ...rest } = raw;
    const values: Record<string, number> = {};
    for (const [k, v] of Object.entries(rest)) if (typeof v === 'number') values[k] = v;
    const type = inferExportType(values);
    if (type === 'rate') {
      // The export renames a rate's `rate` to `value`.
      if (typeof values.value !== 'number') fail(`metrics.${name}.value is missing (a rate metric needs it)`);
      values.rate = values.value;
      delete values.value;
    }
    const thresholds: Record<string, boolean> = {};
    // The export stores "crossed" (true = failed): flip it back to ok.
    for (const [expr, crossed] of Object.entries(inverted ?? {})) thresholds[expr] = !crossed;
    const metric: K6Metric = { type, contains: inferContains(name), values, thresholds };
    requireValues(name, metric, `metrics.${name}`);
    metrics[name] = metric;
  }
  const derived = durationFromCounters(metrics);
  return {
    dialect: 'summary-export',
    metrics,
    checks: s.root_group ? flattenObjectGroup(s.root_group, []) : [],
    durationMs: derived,
    durationSource: derived !== null ? 'counter count/rate' : null,
    trendStats: null,
    k6Version: null,
  };
}

function fromV1(obj: Record<string, unknown>): K6Summary {
  const s = parseWith(v1Schema, obj, 'machine-readable summary v1');
  const seconds = s.config.duration;
  const metrics: Record<string, K6Metric> = {};
  const all = [...s.results.metrics, ...(s.results.checks?.metrics ?? [])];
  const nMain = s.results.metrics.length;
  all.forEach((m, i) => {
    const where = i < nMain ? `results.metrics[${i}]` : `results.checks.metrics[${i - nMain}]`;
    const values: Record<string, number> = {};
    // Real v1 files name percentiles "p90"; the legacy dialects say "p(90)". Use the legacy spelling.
    for (const [k, v] of Object.entries(m.values)) values[k.replace(/^p(\d+(?:\.\d+)?)$/, 'p($1)')] = v;
    if (m.type === 'rate') {
      const { matches, total } = values;
      if (typeof matches !== 'number' || typeof total !== 'number') fail(`${where}.values needs matches and total (rate metric "${m.name}")`);
      values.passes = matches;
      values.fails = total - matches;
      delete values.matches;
      delete values.total;
    }
    // v1 counters carry only `count`; restore the legacy rate so every dialect looks alike.
    if (m.type === 'counter' && typeof values.count === 'number' && values.rate === undefined && seconds > 0) values.rate = values.count / seconds;
    const metric: K6Metric = { type: m.type, contains: m.contains, values, thresholds: {} };
    requireValues(m.name, metric, `${where}.values`);
    metrics[m.name] = metric;
  });
  return {
    dialect: 'machine-readable-v1',
    metrics,
    checks: (s.results.checks?.results ?? []).map((c) => ({ name: c.name, path: `::${c.name}`, groups: [], passes: c.passes, fails: c.fails })),
    durationMs: seconds * 1000,
    durationSource: 'config.duration',
    trendStats: null,
    k6Version: s.metadata?.k6Version ?? s.metadata?.k6_version ?? null,
  };
}

// ------------------------------------------------------------------ normalising to LoadResult
export interface K6NormaliseContext {
  engineVersion: string;
  loadgenCpuSeconds: number | null;
  /** Stored verbatim as LoadResult.raw (default: the parsed summary's metrics are not kept). */
  raw?: unknown;
  /**
   * Used only when the summary itself cannot give the duration (possible only for a run without
   * requests); the result then carries a "substituted" warning.
   */
  fallbackDurationSeconds?: number;
}

/** The LoadResult of a k6 summary; `warnings` says which statistics the summary did not hold. */
export type K6LoadResult = LoadResult & { warnings: Warning[] };

/** Metrics every k6 run writes whatever it tests: they say nothing about what was loaded. */
const GENERIC = new Set(['vus', 'vus_max', 'iterations', 'iteration_duration', 'checks', 'data_received', 'data_sent', 'group_duration', 'dropped_iterations']);

/** "grpc_req_duration, grpc_streams" — what a summary without http_reqs measured instead. */
function whatItHas(metrics: Record<string, K6Metric>): string {
  const names = Object.keys(metrics)
    .filter((n) => !n.includes('{'))
    .sort();
  const specific = names.filter((n) => !GENERIC.has(n) && !/^status_/.test(n));
  const shown = specific.length > 0 ? specific : names;
  const list = shown.length > 6 ? `${shown.slice(0, 6).join(', ')} and ${shown.length - 6} more` : shown.join(', ');
  return specific.length > 0 ? list : `only ${list}`;
}

/** The latency statistics we report and the trend stat that holds each; med is k6's p(50). */
const LATENCY_STATS: Array<[keyof Latency, string[]]> = [
  ['avg', ['avg']],
  ['p50', ['p(50)', 'med']],
  ['p90', ['p(90)']],
  ['p95', ['p(95)']],
  ['p99', ['p(99)']],
  ['max', ['max']],
];

/** The trend stats k6/script.js must ask for: one per latency statistic the reports show. */
export const REQUIRED_TREND_STATS: readonly string[] = LATENCY_STATS.map(([, stats]) => stats[0]!);

function latencyFrom(metric: K6Metric | undefined, warnings: Warning[]): Latency {
  const none: Latency = { avg: null, p50: null, p90: null, p95: null, p99: null, max: null };
  if (!metric || metric.type !== 'trend') {
    warnings.push({ code: 'not-measured', message: 'latency: the k6 summary has no http_req_duration trend; every latency statistic is shown as –' });
    return none;
  }
  const out = { ...none };
  const missing: string[] = [];
  for (const [key, stats] of LATENCY_STATS) {
    const stat = stats.find((k) => typeof metric.values[k] === 'number');
    if (stat === undefined) missing.push(stats[0]!);
    else out[key] = metric.values[stat]!;
  }
  if (missing.length > 0) {
    // Never filled from a neighbouring statistic: max is not p99, and p99 is not p90.
    warnings.push({
      code: 'not-measured',
      message: `latency ${missing.join(', ')} not in the k6 summary (its trend stats: ${Object.keys(metric.values).join(', ')}); shown as –`,
    });
  }
  return out;
}

const STATUS_COUNTER = /^status_(\d{1,3}|other)$/;

/**
 * Turn a parsed summary into the engine-neutral LoadResult. Status counts come from the
 * `status_<code>` counters our script adds (k6 itself keeps none); for a summary from another
 * script they fall back to http_req_failed's split (k6 counts 200–399 as expected). A summary
 * of a test that made no HTTP requests is an InputError naming what it measured instead.
 */
export function normaliseK6(summary: K6Summary, ctx: K6NormaliseContext): K6LoadResult {
  const warnings: Warning[] = [];
  const m = summary.metrics;
  const counter = (name: string): number | null => {
    const metric = m[name];
    return metric?.type === 'counter' && typeof metric.values.count === 'number' ? metric.values.count : null;
  };

  const requests = counter('http_reqs');
  if (requests === null) {
    fail(
      `this summary has ${whatItHas(m)}, no http_reqs: it is not from an HTTP load test, and server-bench measures HTTP servers`,
      'pass the summary of a k6 run that made HTTP requests (k6/http), such as the one k6/script.js writes',
    );
  }
  // k6 counts every byte read from the network in data_received; an HTTP test that made requests always has it.
  const bytes = counter('data_received') ?? (requests === 0 ? 0 : null);
  if (bytes === null) fail(`this summary has ${requests} http_reqs but no data_received counter, so the bytes served are unknown`);

  let durationSeconds: number;
  if (summary.durationMs !== null && summary.durationMs > 0) {
    durationSeconds = summary.durationMs / 1000;
  } else if (ctx.fallbackDurationSeconds !== undefined && ctx.fallbackDurationSeconds > 0) {
    durationSeconds = ctx.fallbackDurationSeconds;
    warnings.push({
      code: 'substituted',
      message: `the k6 summary gives no test duration (no state.testRunDurationMs and no counter with a rate); the configured ${ctx.fallbackDurationSeconds} s was used for req/s and MB/s`,
    });
  } else {
    fail('cannot tell the test duration: no state.testRunDurationMs and no counter with a rate');
  }

  const statusCounts: Record<string, number> = {};
  let errors: number | null;
  const ours = Object.keys(m).filter((n) => STATUS_COUNTER.test(n) && m[n]?.type === 'counter');
  if (ours.length > 0) {
    for (const name of ours) {
      const code = (STATUS_COUNTER.exec(name) as RegExpExecArray)[1] as string;
      statusCounts[code] = Math.round(counter(name) ?? 0);
    }
    // k6 reports status 0 when no response came back (refused, reset, timeout); our script
    // declares status_0, and k6 leaves a counter without samples out of the summary.
    errors = statusCounts['0'] ?? 0;
  } else {
    const failed = m.http_req_failed;
    if (failed?.type === 'rate') {
      statusCounts['2xx-3xx'] = Math.round(failed.values.fails ?? 0);
      statusCounts.other = Math.round(failed.values.passes ?? 0);
    }
    // Not server-bench's script: without status_0, network errors cannot be told from bad statuses.
    errors = null;
  }

  let failedChecks = summary.checks.reduce((sum, c) => sum + c.fails, 0);
  if (summary.checks.length === 0 && m.checks?.type === 'rate') failedChecks = m.checks.values.fails ?? 0;

  return {
    engine: 'k6',
    engineVersion: ctx.engineVersion,
    durationSeconds,
    requests: Math.round(requests),
    bytes,
    latencyMs: latencyFrom(m.http_req_duration, warnings),
    statusCounts,
    failedChecks: Math.round(failedChecks),
    errors,
    loadgenCpuSeconds: ctx.loadgenCpuSeconds,
    raw: ctx.raw,
    warnings,
  };
}
