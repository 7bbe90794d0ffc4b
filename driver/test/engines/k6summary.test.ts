// The k6 summary parser on every real summary we have (public fixtures in both legacy dialects,
// and our own script's output in all three), plus malformed input and its messages. Normalising
// must never report a number the summary does not hold: a missing statistic is null with a
// "not-measured" warning, and a summary of a non-HTTP test is an input error.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode, InputError } from '../../src/errors.js';
import { normaliseK6, parseK6Summary, type K6LoadResult } from '../../src/engines/k6summary.js';
import { LatencySchema } from '../../src/results/schema.js';

const PUBLIC = '/work/shared/fixtures/k6-summaries';
const OURS = join(import.meta.dirname, '..', 'fixtures', 'k6-ours');
const read = (dir: string, name: string) => readFileSync(join(dir, name), 'utf8');
const ctx = { engineVersion: 'test', loadgenCpuSeconds: null };

function inputError(fn: () => unknown): InputError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).exitCode).toBe(ExitCode.input);
    return e as InputError;
  }
  throw new Error('expected an InputError');
}

describe('every fixture parses and normalises', () => {
  const files = [
    ...readdirSync(PUBLIC)
      .filter((f) => f.endsWith('.json'))
      .map((f) => [PUBLIC, f] as const),
    ...readdirSync(OURS)
      .filter((f) => f.endsWith('.json'))
      .map((f) => [OURS, f] as const),
  ];
  it('found the fixtures', () => {
    expect(files.length).toBeGreaterThanOrEqual(7);
  });
  for (const [dir, file] of files) {
    it(file, () => {
      const s = parseK6Summary(read(dir, file));
      expect(Object.keys(s.metrics).length).toBeGreaterThan(5);
      expect(s.durationMs).toBeGreaterThan(0);
      const r = normaliseK6(s, ctx);
      expect(r.requests).toBeGreaterThan(0);
      expect(LatencySchema.parse(r.latencyMs)).toEqual(r.latencyMs);
      // Every latency reported is the very statistic of that name in the summary, or null and said so.
      const v = s.metrics.http_req_duration!.values;
      const source = { avg: v.avg, p50: v['p(50)'] ?? v.med, p90: v['p(90)'], p95: v['p(95)'], p99: v['p(99)'], max: v.max };
      for (const [k, want] of Object.entries(source)) expect(r.latencyMs[k as keyof typeof source], k).toBe(want ?? null);
      const nulls = Object.values(r.latencyMs).filter((x) => x === null).length;
      expect(r.warnings.filter((w) => w.code === 'not-measured')).toHaveLength(nulls > 0 ? 1 : 0);
      const present = [r.latencyMs.p50, r.latencyMs.p90, r.latencyMs.p95, r.latencyMs.p99, r.latencyMs.max].filter((x): x is number => x !== null);
      expect([...present].sort((a, b) => a - b)).toEqual(present);
      // The same object parses like its JSON text.
      expect(parseK6Summary(JSON.parse(read(dir, file)))).toEqual(s);
    });
  }
});

describe('public fixtures: values read from the files', () => {
  it('benc-uk simple.json (handleSummary, groups, failing checks, p(99))', () => {
    const s = parseK6Summary(read(PUBLIC, 'benc-uk__k6-reporter__simple.json'));
    expect(s.dialect).toBe('handleSummary');
    expect(s.durationMs).toBe(24425.289882);
    expect(s.durationSource).toBe('state.testRunDurationMs');
    expect(s.trendStats).toEqual(['avg', 'min', 'max', 'med', 'p(90)', 'p(95)', 'p(99)']);
    expect(s.metrics.http_req_duration?.thresholds).toEqual({ 'p(95)<1000': true });
    expect(s.metrics.data_received).toMatchObject({ type: 'counter', contains: 'data' });
    expect(s.checks).toEqual([
      { name: 'Status is ok', path: '::Status is ok', groups: [], passes: 90, fails: 349 },
      { name: 'NOT 500', path: '::Example group::NOT 500', groups: ['Example group'], passes: 439, fails: 0 },
    ]);
    const r = normaliseK6(s, ctx);
    expect(r.requests).toBe(878);
    expect(r.bytes).toBe(4767303);
    expect(r.durationSeconds).toBeCloseTo(24.425, 3);
    expect(r.latencyMs).toEqual({ avg: 21.37513127107059, p50: 20.090773, p90: 26.358651200000008, p95: 30.0256841, p99: 39.577136380000084, max: 143.326605 });
    expect(r.failedChecks).toBe(349);
    // Not our script: no status_<code> counters, so the split comes from http_req_failed.
    expect(r.statusCounts).toEqual({ '2xx-3xx': 529, other: 349 });
    // Without status_0 network errors cannot be told from bad statuses: unknown, not 0.
    expect(r.errors).toBeNull();
    expect(r.warnings).toEqual([]);
  });

  it('NikoyanGar (summary-export, inverted thresholds, tagged sub-metrics, no p(99))', () => {
    const s = parseK6Summary(read(PUBLIC, 'NikoyanGar__ApiGatewayBenchmarks__summary.json'));
    expect(s.dialect).toBe('summary-export');
    expect(s.durationSource).toBe('counter count/rate');
    expect((s.durationMs as number) / 1000).toBeCloseTo(613790 / 1334.398196695031, 6);
    // true in the export means FAILED.
    expect(s.metrics.fast_latency?.thresholds).toEqual({ 'p(95)<50': false });
    expect(s.metrics.yarp_latency?.thresholds).toEqual({ 'p(95)<50': true });
    expect(s.metrics['http_req_failed{gateway:fast}']).toEqual({
      type: 'rate',
      contains: 'default',
      values: { passes: 0, fails: 202261, rate: 0 },
      thresholds: { 'rate<0.01': true },
    });
    expect(s.metrics.vus_max).toMatchObject({ type: 'gauge', values: { min: 400, max: 2925, value: 2925 } });
    expect(s.metrics.http_req_duration).toMatchObject({ type: 'trend', contains: 'time' });
    expect(s.metrics.data_received).toMatchObject({ type: 'counter', contains: 'data' });
    expect(s.checks.map((c) => c.passes).sort()).toEqual([202261, 204903, 206626]);
    const r = normaliseK6(s, ctx);
    expect(r.requests).toBe(613790);
    expect(r.bytes).toBe(126942418);
    // No p(99) in its trend stats: null, never max (14,239.7 ms against a p95 of 83.9 ms).
    expect(r.latencyMs.p99).toBeNull();
    expect(r.latencyMs.max).toBe(14239.697849);
    expect(r.latencyMs.p95).toBe(83.93890599999999);
    expect(r.warnings).toEqual([
      { code: 'not-measured', message: expect.stringMatching(/^latency p\(99\) not in the k6 summary \(its trend stats: .*\); shown as –$/) },
    ]);
    expect(r.failedChecks).toBe(0);
  });

  it('unknowntpo (handleSummary, extra top-level keys, custom default-contains trends)', () => {
    const s = parseK6Summary(read(PUBLIC, 'unknowntpo__spring-redis-demo__summary.json'));
    expect(s.dialect).toBe('handleSummary');
    expect(s.durationMs).toBe(30363.212);
    expect(s.metrics.with_cache_duration).toMatchObject({ type: 'trend', contains: 'default' });
    const r = normaliseK6(s, ctx);
    expect(r.requests).toBe(600);
    expect(r.latencyMs.p50).toBe(6.1165);
    expect(r.latencyMs.p95).toBe(20.951749999999915);
    expect(r.latencyMs.p99).toBeNull(); // default trend stats: no p(99), and max (121.388) is not one
    expect(r.statusCounts).toEqual({ '2xx-3xx': 600, other: 0 });
  });

  it('andreposman (2021 summary-export, count and p(99.9) without p(90)/p(95))', () => {
    const s = parseK6Summary(read(PUBLIC, 'andreposman__qr-code-generator__summary-export.json'));
    expect(s.dialect).toBe('summary-export');
    expect(s.metrics.http_req_duration?.type).toBe('trend');
    expect(s.metrics.http_req_duration?.values.count).toBe(493168);
    expect(s.metrics.checks).toMatchObject({ type: 'rate', values: { passes: 493168, fails: 0, rate: 1 } });
    const r = normaliseK6(s, ctx);
    expect(r.requests).toBe(493168);
    expect(r.durationSeconds).toBeCloseTo(493168 / 4288.100370179589, 6);
    // Trend stats avg, med, p(99), p(99.9), max, count: p90 and p95 were never measured, and the
    // old normaliser's p90 = p95 = p99 = 348.65 ms beside a 3.12 ms median must not come back.
    expect(r.latencyMs).toEqual({ avg: 19.40724789726824, p50: 3.12, p90: null, p95: null, p99: 348.6492700000003, max: 1737.376 });
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]!.message).toMatch(/^latency p\(90\), p\(95\) not in the k6 summary/);
  });
});

describe('our own script, real k6 2.2 output', () => {
  const expectedStatus = { '200': 16180, '301': 4045, '308': 4045, '404': 4045 };

  it('handleSummary: status counters become statusCounts, 404s are failed checks', () => {
    const s = parseK6Summary(read(OURS, 'summary.json'));
    expect(s.dialect).toBe('handleSummary');
    expect(s.trendStats).toContain('p(99)');
    const r = normaliseK6(s, { engineVersion: '2.2.0', loadgenCpuSeconds: 1.5, raw: 'x' });
    expect(r.requests).toBe(28315);
    expect(r.statusCounts).toEqual(expectedStatus);
    expect(Object.values(r.statusCounts).reduce((a, b) => a + b, 0)).toBe(r.requests);
    expect(r.failedChecks).toBe(4045);
    expect(r.errors).toBe(0);
    expect(r.bytes).toBe(695828875);
    expect(r.durationSeconds).toBeCloseTo(2.001162759, 9);
    expect(r.latencyMs.p99).toBe(2.069966180000005);
    expect(r.warnings).toEqual([]);
    expect(r).toMatchObject({ engine: 'k6', engineVersion: '2.2.0', loadgenCpuSeconds: 1.5, raw: 'x' });
  });

  it('the same run through --summary-export gives the same numbers', () => {
    const a = normaliseK6(parseK6Summary(read(OURS, 'summary.json')), ctx);
    const b = normaliseK6(parseK6Summary(read(OURS, 'summary-export.json')), ctx);
    expect(b.statusCounts).toEqual(expectedStatus);
    expect(b.requests).toBe(a.requests);
    expect(b.latencyMs).toEqual(a.latencyMs);
    expect(b.durationSeconds).toBeCloseTo(a.durationSeconds, 2);
  });

  it('machine-readable v1 (opt-in): p90 spelling, checks from results, duration from config', () => {
    const s = parseK6Summary(read(OURS, 'summary-v1.json'));
    expect(s.dialect).toBe('machine-readable-v1');
    expect(s.k6Version).toBe('2.2.0');
    expect(s.durationMs).toBeCloseTo(1000.706213, 6);
    expect(s.metrics.http_req_duration?.values['p(90)']).toBe(0.2681989999999999);
    expect(s.metrics.http_req_failed?.values).toEqual({ passes: 2086, fails: 12516, rate: 0.14285714285714285 });
    expect(s.checks).toEqual([{ name: 'status is 200, 301 or 308', path: '::status is 200, 301 or 308', groups: [], passes: 12516, fails: 2086 }]);
    const r = normaliseK6(s, ctx);
    expect(r.requests).toBe(14602);
    expect(r.statusCounts).toEqual({ '200': 8344, '301': 2086, '308': 2086, '404': 2086 });
    expect(r.failedChecks).toBe(2086);
    expect(r.latencyMs.p99).toBeNull(); // the v1 schema drops p(99); its max (5.68 ms) is not one
    expect(r.latencyMs.p95).toBe(s.metrics.http_req_duration!.values['p(95)']);
    expect(r.warnings.map((w) => w.code)).toEqual(['not-measured']);
  });
});

describe('malformed input: one message naming what is wrong', () => {
  const simple = read(PUBLIC, 'benc-uk__k6-reporter__simple.json');
  const exported = read(PUBLIC, 'NikoyanGar__ApiGatewayBenchmarks__summary.json');

  it('truncated JSON', () => {
    const e = inputError(() => parseK6Summary(simple.slice(0, 200)));
    expect(e.message).toMatch(
      /^k6 summary: not JSON at position 200 \(line 9, column 11\): the text ends where a closing quote \("\) was expected; was the file truncated\?$/,
    );
    expect(inputError(() => parseK6Summary('{"metrics": {')).message).toMatch(/^k6 summary: not JSON at position 13 /);
  });
  it('broken JSON reports the position', () => {
    expect(inputError(() => parseK6Summary('{"metrics" 1}')).message).toBe(
      'k6 summary: not JSON at position 11 (line 1, column 12): found "1", expected ":" after the property name',
    );
    // V8 names no position for this one ("Unexpected token '}', ... is not valid JSON").
    expect(inputError(() => parseK6Summary('{"metrics": {"vus": tru}}')).message).toBe(
      'k6 summary: not JSON at position 23 (line 1, column 24): found "}", expected "e" (to complete "true")',
    );
  });
  it('a UTF-8 byte-order mark: position 0 and what it is', () => {
    const e = inputError(() => parseK6Summary(`\uFEFF${simple}`));
    expect(e.message).toBe(
      'k6 summary: not JSON at position 0 (line 1, column 1): the text starts with a UTF-8 byte-order mark (U+FEFF), which k6 never writes',
    );
    expect(e.hint).toMatch(/without a byte-order mark/);
  });
  it('pasted console output before the JSON: the true position and what it looks like', () => {
    const pasted = `\n          /\\      Grafana   /‾‾/\n     execution: local\n\nrunning (0m24.4s), 00/20 VUs, 439 complete and 0 interrupted iterations\n${simple}`;
    const e = inputError(() => parseK6Summary(pasted));
    expect(e.message).toMatch(
      /^k6 summary: not JSON at position 11 \(line 2, column 11\): found "\/", expected a JSON value .*; the text starts with "\/\\\\ {6}Grafana {3}\/‾‾\/", which looks like pasted console output/,
    );
    expect(e.hint).toMatch(/not what k6 printed/);
  });
  it('console text after the JSON: the position where the JSON ends', () => {
    const text = `${simple.trimEnd()}\n\n     ✓ Status is ok\n`;
    const e = inputError(() => parseK6Summary(text));
    const pos = text.indexOf('✓');
    const line = text.slice(0, pos).split('\n').length;
    expect(e.message).toBe(
      `k6 summary: not JSON at position ${pos} (line ${line}, column 6): found "✓", expected the end of the text (something follows the JSON value)`,
    );
  });
  it('{"metrics":{}} says it has no metrics', () => {
    expect(inputError(() => parseK6Summary('{"metrics":{}}')).message).toBe(
      'k6 summary: the summary has no metrics ("metrics" is an empty object); k6 writes at least vus and iterations for a run that started',
    );
    const v1 = JSON.parse(read(OURS, 'summary-v1.json'));
    v1.results.metrics = [];
    delete v1.results.checks;
    expect(inputError(() => parseK6Summary(v1)).message).toMatch(/no metrics \(results\.metrics is an empty list\)/);
  });
  it('negative counts and durations are rejected, naming the field', () => {
    const a = JSON.parse(simple);
    a.metrics.http_reqs.values.count = -878;
    expect(inputError(() => parseK6Summary(a)).message).toBe(
      'k6 summary: metrics.http_reqs.values.count is -878, but it is a count and cannot be negative (metric "http_reqs")',
    );
    const b = JSON.parse(exported);
    b.metrics.http_req_duration['p(95)'] = -0.5;
    expect(inputError(() => parseK6Summary(b)).message).toBe(
      'k6 summary: metrics.http_req_duration.p(95) is -0.5, but it is a duration and cannot be negative (metric "http_req_duration")',
    );
    const c = JSON.parse(simple);
    c.state.testRunDurationMs = -1;
    expect(inputError(() => parseK6Summary(c)).message).toMatch(/^k6 summary: state\.testRunDurationMs is out of range .*got -1/);
    const d = JSON.parse(simple);
    d.metrics.http_req_failed.values.passes = -3;
    expect(inputError(() => parseK6Summary(d)).message).toMatch(/http_req_failed\.values\.passes is -3, but it is a count/);
    // A gauge may be negative: not a count or a duration.
    const g = JSON.parse(simple);
    g.metrics.vus.values.min = -1;
    expect(parseK6Summary(g).metrics.vus?.values.min).toBe(-1);
  });
  it('non-finite numbers are rejected (1e400 parses as Infinity)', () => {
    expect(inputError(() => parseK6Summary(simple.replace('"count": 878', '"count": 1e400'))).message).toBe(
      'k6 summary: metrics.http_reqs.values.count must be a finite number, got Infinity (read as handleSummary JSON)',
    );
    const o = JSON.parse(exported);
    o.metrics.http_req_duration.avg = Number.NaN;
    expect(inputError(() => parseK6Summary(o)).message).toMatch(/^k6 summary: metrics\.http_req_duration\.avg must be a finite number, got NaN/);
  });
  it('empty text', () => {
    expect(inputError(() => parseK6Summary('  ')).message).toBe('k6 summary: empty input, not JSON');
  });
  it('a number where a count belongs (handleSummary)', () => {
    const bad = JSON.parse(simple);
    bad.metrics.http_reqs.values.count = 'x';
    expect(inputError(() => parseK6Summary(bad)).message).toBe(
      'k6 summary: metrics.http_reqs.values.count must be a number, got "x" (read as handleSummary JSON)',
    );
  });
  it('a number where a count belongs (summary-export)', () => {
    const bad = JSON.parse(exported);
    bad.metrics.http_reqs.count = 'x';
    expect(inputError(() => parseK6Summary(bad)).message).toBe('k6 summary: metrics.http_reqs.count must be a number, got "x" (read as --summary-export JSON)');
  });
  it('an unknown metric type', () => {
    const bad = JSON.parse(simple);
    bad.metrics.vus.type = 'histogram';
    expect(inputError(() => parseK6Summary(bad)).message).toMatch(
      /^k6 summary: metrics\.vus\.type must be one of "counter", "gauge", "rate", "trend", got "histogram"/,
    );
  });
  it('a counter without its count', () => {
    const bad = JSON.parse(simple);
    delete bad.metrics.http_reqs.values.count;
    expect(inputError(() => parseK6Summary(bad)).message).toBe('k6 summary: metrics.http_reqs.values.count is missing (a counter metric "http_reqs" needs it)');
  });
  it('a check with a negative count, deep in a group', () => {
    const bad = JSON.parse(simple);
    bad.root_group.groups[0].checks[0].passes = -1;
    expect(inputError(() => parseK6Summary(bad)).message).toMatch(/^k6 summary: root_group\.groups\[0\]\.checks\[0\]\.passes is out of range .*got -1/);
  });
  it('an empty object', () => {
    expect(inputError(() => parseK6Summary('{}')).message).toBe('k6 summary: neither a handleSummary nor a --summary-export object: missing "metrics"');
  });
  it('an array', () => {
    expect(inputError(() => parseK6Summary('[1,2]')).message).toBe('k6 summary: expected a JSON object, got an array');
  });
  it('metrics that is not an object', () => {
    expect(inputError(() => parseK6Summary({ metrics: [] })).message).toBe('k6 summary: metrics must be an object, got an array');
  });
  it('a v1 summary with an unsupported version', () => {
    const v1 = JSON.parse(read(OURS, 'summary-v1.json'));
    v1.version = '2.0.0';
    expect(inputError(() => parseK6Summary(v1)).message).toMatch(/^k6 summary: version: must be a 1\.x\.y version, got "2\.0\.0"/);
  });
  it('no duration anywhere: an error, or the configured one with a "substituted" warning', () => {
    const s = parseK6Summary({ metrics: { http_reqs: { count: 0, rate: 0 }, vus: { value: 1, min: 1, max: 1 } } });
    expect(inputError(() => normaliseK6(s, ctx)).message).toMatch(/cannot tell the test duration/);
    const r = normaliseK6(s, { ...ctx, fallbackDurationSeconds: 5 });
    expect(r.durationSeconds).toBe(5);
    expect(r.warnings.find((w) => w.code === 'substituted')?.message).toMatch(/the configured 5 s was used/);
    // No requests, no http_req_duration: every latency statistic is absent, not 0.
    expect(r.latencyMs).toEqual({ avg: null, p50: null, p90: null, p95: null, p99: null, max: null });
  });
});

describe('a summary of a test that made no HTTP requests is an input error naming what it has', () => {
  // Derived from real files (the public fixtures hold no gRPC or messaging run): the HTTP metrics
  // are taken out and the protocol's own metrics put in, as k6 names them.
  const base = () => JSON.parse(read(PUBLIC, 'unknowntpo__spring-redis-demo__summary.json')) as { metrics: Record<string, unknown> };
  const withoutHttp = () => {
    const d = base();
    for (const k of Object.keys(d.metrics)) if (k.startsWith('http_') || (k.endsWith('_duration') && k !== 'iteration_duration')) delete d.metrics[k];
    return d;
  };
  function normaliseError(data: unknown): InputError {
    const s = parseK6Summary(data);
    return inputError(() => normaliseK6(s, ctx));
  }

  it('gRPC: grpc_req_duration, no http_reqs', () => {
    const d = withoutHttp();
    d.metrics.grpc_req_duration = base().metrics.http_req_duration;
    const e = normaliseError(d);
    expect(e.message).toBe(
      'k6 summary: this summary has grpc_req_duration, no http_reqs: it is not from an HTTP load test, and server-bench measures HTTP servers',
    );
    expect(e.hint).toMatch(/k6\/http/);
  });
  it("messaging (an extension's metrics), summary-export dialect", () => {
    const d = JSON.parse(read(PUBLIC, 'andreposman__qr-code-generator__summary-export.json')) as { metrics: Record<string, unknown> };
    for (const k of Object.keys(d.metrics)) if (k.startsWith('http_')) delete d.metrics[k];
    d.metrics.kafka_writer_message_count = { count: 1200, rate: 40 };
    d.metrics.kafka_writer_write_seconds = { avg: 0.002, min: 0.001, med: 0.002, max: 0.01, 'p(90)': 0.003, 'p(95)': 0.004 };
    expect(normaliseError(d).message).toMatch(/^k6 summary: this summary has kafka_writer_message_count, kafka_writer_write_seconds, no http_reqs: /);
  });
  it('only generic metrics: says so', () => {
    expect(normaliseError(withoutHttp()).message).toMatch(
      /^k6 summary: this summary has only checks, data_received, data_sent, iteration_duration, iterations, vus and 1 more, no http_reqs: /,
    );
  });
  it('http_reqs without data_received: the bytes are unknown, not 0', () => {
    const d = base();
    delete d.metrics.data_received;
    expect(normaliseError(d).message).toBe('k6 summary: this summary has 600 http_reqs but no data_received counter, so the bytes served are unknown');
  });
  it('http_reqs without an http_req_duration trend: latency absent and said so', () => {
    const d = base();
    delete d.metrics.http_req_duration;
    const r: K6LoadResult = normaliseK6(parseK6Summary(d), ctx);
    expect(r.requests).toBe(600);
    expect(Object.values(r.latencyMs).every((x) => x === null)).toBe(true);
    expect(r.warnings).toEqual([
      { code: 'not-measured', message: 'latency: the k6 summary has no http_req_duration trend; every latency statistic is shown as –' },
    ]);
  });
});
