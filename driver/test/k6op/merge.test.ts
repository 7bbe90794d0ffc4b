// Merging k6-operator runners' summaries into one cell (k6op/merge.ts) with real k6 output: our
// script's summary and public ones, as if each came from a runner. Expected numbers are worked out
// here from the raw JSON, not through the parser; what the merge cannot know (percentiles) must be
// an interval holding every runner's value, marked not exact.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normaliseK6, parseK6Summary } from '../../src/engines/k6summary.js';
import { ExitCode, InputError } from '../../src/errors.js';
import { mergeK6Summaries, mergeWarnings, type MergedStat } from '../../src/k6op/merge.js';
import { readRunnerSummary } from '../../src/cli/commands/k6-operator.js';
import { SUMMARY_LINE_PREFIX } from '../../src/k6op/testrun.js';

const PUBLIC = '/work/shared/fixtures/k6-summaries';
const OURS = join(import.meta.dirname, '..', 'fixtures', 'k6-ours');
const OUR_SUMMARY = join(OURS, 'summary.json'); // handleSummary, 2.001 s, trend count present
const EXPORT = join(PUBLIC, 'andreposman__qr-code-generator__summary-export.json'); // --summary-export, trend count, p(99.9)
const SIMPLE = join(PUBLIC, 'benc-uk__k6-reporter__simple.json'); // handleSummary, no trend count
const SPRING = join(PUBLIC, 'unknowntpo__spring-redis-demo__summary.json'); // handleSummary, no count, no p(99)

type Raw = { metrics: Record<string, { values?: Record<string, number> } & Record<string, unknown>> };
const raw = (f: string) => JSON.parse(readFileSync(f, 'utf8')) as Raw;
/** A metric's values in either dialect (summary-export flattens them). */
function vals(f: string, name: string): Record<string, number> {
  const m = raw(f).metrics[name];
  if (!m) return {};
  return (m.values ?? Object.fromEntries(Object.entries(m).filter(([, v]) => typeof v === 'number'))) as Record<string, number>;
}
const runner = (f: string) => ({ name: f, summary: parseK6Summary(readFileSync(f, 'utf8')) });
const value = (s: MergedStat | undefined) => {
  expect(s && 'value' in s, JSON.stringify(s)).toBe(true);
  return s as { value: number; exact: boolean };
};
const bound = (s: MergedStat | undefined) => {
  expect(s && 'low' in s, JSON.stringify(s)).toBe(true);
  return s as { low: number; high: number; exact: boolean };
};

describe('two runners: our summary and a --summary-export one', () => {
  const files = [OUR_SUMMARY, EXPORT];
  const merged = mergeK6Summaries(files.map(runner));
  const info = merged.serverBenchMerge;

  it('sums every count exactly', () => {
    for (const name of ['http_reqs', 'iterations', 'data_received', 'data_sent']) {
      const want = files.reduce((a, f) => a + (vals(f, name).count ?? 0), 0);
      expect(merged.metrics[name]?.values.count, name).toBe(want);
      expect(value(info.metrics[name]?.stats.count)).toEqual({ exact: true, value: want });
    }
    expect(merged.metrics.http_reqs?.values.count).toBe(28315 + 493168);
    for (const name of ['checks', 'http_req_failed']) {
      for (const k of ['passes', 'fails']) {
        const want = files.reduce((a, f) => a + (vals(f, name)[k] ?? 0), 0);
        expect(merged.metrics[name]?.values[k], `${name}.${k}`).toBe(want);
        expect(value(info.metrics[name]?.stats[k]).exact).toBe(true);
      }
    }
    // Our script's status counters exist in one runner only: kept, exact.
    expect(merged.metrics.status_200?.values.count).toBe(vals(OUR_SUMMARY, 'status_200').count);
    expect(info.metrics.status_200?.runners).toBe(1);
  });

  it('takes the longest duration and recomputes rates from the summed counts over it (not exact)', () => {
    const exportSeconds = vals(EXPORT, 'http_reqs').count! / vals(EXPORT, 'http_reqs').rate!;
    expect(info.durationSeconds.value).toBeCloseTo(exportSeconds, 9);
    expect(info.durationSeconds.exact).toBe(false);
    expect(merged.state.testRunDurationMs).toBeCloseTo(exportSeconds * 1000, 6);
    expect(merged.metrics.http_reqs?.values.rate).toBeCloseTo((28315 + 493168) / exportSeconds, 9);
    expect(value(info.metrics.http_reqs?.stats.rate).exact).toBe(false);
  });

  it('latency: min of mins and max of maxes exact, avg weighted by each trend count exact', () => {
    const a = vals(OUR_SUMMARY, 'http_req_duration');
    const b = vals(EXPORT, 'http_req_duration');
    const d = info.metrics.http_req_duration!.stats;
    expect(value(d.min)).toEqual({ exact: true, value: Math.min(a.min!, b.min!) });
    expect(value(d.max)).toEqual({ exact: true, value: Math.max(a.max!, b.max!) });
    expect(value(d.count)).toEqual({ exact: true, value: a.count! + b.count! });
    const avg = (a.avg! * a.count! + b.avg! * b.count!) / (a.count! + b.count!);
    expect(value(d.avg).exact).toBe(true);
    expect(value(d.avg).value).toBeCloseTo(avg, 12);
    expect(value(d.avg).value).toBeCloseTo(18.376697, 5);
  });

  it("percentiles are an interval holding every runner's value, its ends the smallest and largest of them", () => {
    const d = info.metrics.http_req_duration!.stats;
    for (const stat of ['med', 'p(99)']) {
      const xs = files.map((f) => vals(f, 'http_req_duration')[stat]!);
      const b = bound(d[stat]);
      for (const x of xs) {
        expect(b.low).toBeLessThanOrEqual(x);
        expect(b.high).toBeGreaterThanOrEqual(x);
      }
      expect(b.low).toBe(Math.min(...xs));
      expect(b.high).toBe(Math.max(...xs));
      expect(b.exact).toBe(false);
      // The merged summary shows the top end, so the report never understates the tail.
      expect(merged.metrics.http_req_duration?.values[stat]).toBe(b.high);
    }
    // p(90)/p(95) are in our summary only, p(99.9) in the export only: not in every runner, so not merged.
    for (const stat of ['p(90)', 'p(95)', 'p(99.9)']) expect(d[stat], stat).toBeUndefined();
  });

  it('becomes a LoadResult through the same parser as one k6 cell, with the bounds said in a warning', () => {
    const load = normaliseK6(parseK6Summary(merged), { engineVersion: 'test', loadgenCpuSeconds: null });
    expect(load.requests).toBe(28315 + 493168);
    expect(load.bytes).toBe(vals(OUR_SUMMARY, 'data_received').count! + vals(EXPORT, 'data_received').count!);
    expect(load.latencyMs.p99).toBe(Math.max(vals(OUR_SUMMARY, 'http_req_duration')['p(99)']!, vals(EXPORT, 'http_req_duration')['p(99)']!));
    expect(load.failedChecks).toBe(4045);
    const w = mergeWarnings(merged);
    expect(w.find((x) => x.code === 'substituted')?.message).toMatch(/not mergeable.*p50 0\.370–3\.120.*p99 2\.070–348\.649/);
  });
});

describe('three runners without trend counts', () => {
  const files = [OUR_SUMMARY, SIMPLE, SPRING];
  const merged = mergeK6Summaries(files.map(runner));
  const d = merged.serverBenchMerge.metrics.http_req_duration!.stats;

  it('weights avg by http_reqs and marks it not exact', () => {
    const w = files.map((f) => vals(f, 'http_reqs').count!);
    const avgs = files.map((f) => vals(f, 'http_req_duration').avg!);
    const want = avgs.reduce((a, x, i) => a + x * w[i]!, 0) / w.reduce((a, b) => a + b, 0);
    expect(value(d.avg).value).toBeCloseTo(want, 12);
    expect(value(d.avg).exact).toBe(false);
    expect(mergeWarnings(merged).some((x) => /avg weighted by each runner's http_reqs/.test(x.message))).toBe(true);
  });

  it("p(95) bound contains each runner's p(95); p(99), missing in one, is not merged", () => {
    const xs = files.map((f) => vals(f, 'http_req_duration')['p(95)']!);
    const b = bound(d['p(95)']);
    expect([b.low, b.high]).toEqual([Math.min(...xs), Math.max(...xs)]);
    for (const x of xs) expect(x >= b.low && x <= b.high).toBe(true);
    expect(d['p(99)']).toBeUndefined();
  });

  it('merges checks by path, summing those that ran in several runners', () => {
    const all = merged.root_group.checks.concat(merged.root_group.groups.flatMap((g) => g.checks));
    const total = all.reduce((a, c) => a + c.passes + c.fails, 0);
    const want = files.reduce((a, f) => a + vals(f, 'checks').passes! + vals(f, 'checks').fails!, 0);
    expect(total).toBe(want);
  });
});

it('one runner: every field exact, the same numbers as the cell k6 would have made', () => {
  const merged = mergeK6Summaries([runner(OUR_SUMMARY)]);
  for (const [name, m] of Object.entries(merged.serverBenchMerge.metrics))
    for (const [k, s] of Object.entries(m.stats)) expect(s.exact, `${name}.${k}`).toBe(true);
  const ctx = { engineVersion: 't', loadgenCpuSeconds: null };
  const direct = normaliseK6(parseK6Summary(readFileSync(OUR_SUMMARY, 'utf8')), ctx);
  const via = normaliseK6(parseK6Summary(merged), ctx);
  expect({ ...via, raw: null }).toEqual({ ...direct, raw: null });
  expect(mergeWarnings(merged)).toEqual([]);
});

it('two runners with equal percentiles: the interval is one point, still not exact (k6 interpolates: [0,10] twice has p(90) 9 each, 10 pooled)', () => {
  const merged = mergeK6Summaries([runner(OUR_SUMMARY), runner(OUR_SUMMARY)]);
  const p95 = bound(merged.serverBenchMerge.metrics.http_req_duration!.stats['p(95)']);
  expect(p95.low).toBe(p95.high);
  expect(p95.exact).toBe(false);
  expect(value(merged.serverBenchMerge.metrics.http_reqs!.stats.count)).toEqual({ exact: true, value: 2 * 28315 });
  expect(merged.serverBenchMerge.durationSeconds.exact).toBe(true);
});

describe('reading a runner: its pod log or a summary file', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'k6op-merge-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('finds the summary line in a log, with or without kubectl --prefix', async () => {
    const json = JSON.stringify(raw(OUR_SUMMARY));
    const log = join(dir, 'runner-1.log');
    await writeFile(
      log,
      `time="…" level=info msg="…"\n[pod/x-1-abc/k6] server-bench: 28315 requests, 4045 failed checks\n[pod/x-1-abc/k6] ${SUMMARY_LINE_PREFIX}${json}\n`,
    );
    const r = await readRunnerSummary(log);
    expect(r.summary.metrics.http_reqs?.values.count).toBe(28315);
  });

  it('a corrupt summary is one line naming the file', async () => {
    const bad = join(dir, 'runner-2.json');
    await writeFile(bad, readFileSync(OUR_SUMMARY, 'utf8').slice(0, 500));
    const err = await readRunnerSummary(bad).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).exitCode).toBe(ExitCode.input);
    expect((err as InputError).oneLine()).toMatch(new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: .*truncated`));
    expect((err as InputError).oneLine()).not.toContain('\n');
  });
});
