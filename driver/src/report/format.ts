// Number formatting shared by the renderers, so the terminal, markdown and HTML say the same
// number the same way: thousands separators, MB/s that turns into GB/s as in the original table,
// latencies in ms/µs/s, and "median [lo–hi]" intervals (or "n = 1, no interval").
import { isGeneratorBound, type CellAggregate, type Relative } from './results.js';
import { formatRatio, type Summary } from '../results/stats.js';
import type { Verification } from '../results/schema.js';

export function int(x: number): string {
  return Math.round(x).toLocaleString('en-US');
}

/** Three significant digits below 100, integers above. */
export function num(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Math.abs(x) >= 100) return int(x);
  if (x === 0) return '0';
  return Number(x.toPrecision(3)).toString();
}

/** MB/s (10^6 bytes) as the original post wrote it: "587 MB/s", "1.3 GB/s". */
export function throughput(mbPerSec: number): string {
  if (mbPerSec >= 1000) return `${(mbPerSec / 1000).toFixed(1)} GB/s`;
  return `${num(mbPerSec)} MB/s`;
}

export function ms(x: number): string {
  if (x >= 1000) return `${num(x / 1000)} s`;
  if (x < 1 && x > 0) return `${num(x * 1000)} µs`;
  return `${num(x)} ms`;
}

/** A size in decimal units that fit it: "640 B", "64 kB", "40.5 MB", "3.1 GB" (never "0.000064 MB"). */
export function bytesMB(b: number): string {
  if (b < 1e3) return `${int(b)} B`;
  if (b < 1e6) return `${num(b / 1e3)} kB`;
  if (b < 1e9) return `${num(b / 1e6)} MB`;
  return `${num(b / 1e9)} GB`;
}

/** Every quantity we report is non-negative: a wide interval's lower end is shown clipped at 0. */
export function interval(s: Summary, f: (x: number) => string = num): string {
  return s.ci95 ? `[${f(Math.max(0, s.ci95.lo))}–${f(s.ci95.hi)}]` : '[n = 1]';
}

export function medianWithCi(s: Summary, f: (x: number) => string = num): string {
  return `${f(s.median)} ${interval(s, f)}`;
}

/** What a ratio cell says for the reference itself. */
export const REFERENCE_RATIO = '1× (reference)';

/** "2.40 ± 0.10×", marked "(n.s.)" when not significant at 5 % and "(untested)" when n < 2. */
export function relativeText(r: Relative, isReference: boolean): string {
  if (isReference) return REFERENCE_RATIO;
  const base = formatRatio(r);
  if (r.significant === null) return `${base} (untested, n = 1)`;
  return r.significant ? `${base} (${pValue(r.p!)})` : `${base} (n.s., ${pValue(r.p!)})`;
}

/** "p = 0.016", "p < 0.001". */
export function pValue(p: number): string {
  return p < 0.001 ? 'p < 0.001' : `p = ${p.toFixed(3)}`;
}

export function percent(x: number): string {
  return `${(x * 100).toFixed(0)} %`;
}

/** What a table shows for a statistic that was not measured; every renderer footnotes it. */
export const NOT_MEASURED = '–';

/** "2.13× [2.05–2.21]": a ratio of means with its 95 % interval, or "[n = 1]" when none can be given. */
export function ratioWithCi(r: Relative): string {
  const f = (x: number) => x.toFixed(2);
  return `${f(r.ratio)}× ${r.ci95 ? `[${f(Math.max(0, r.ci95.lo))}–${f(r.ci95.hi)}]` : '[n = 1]'}`;
}

/** A latency in ms, or "–" when it was not measured. */
function msOrNot(s: Summary | null): string {
  return s ? ms(s.median) : NOT_MEASURED;
}

/**
 * A verification's counts in words. With the number of checks recorded: "719 of 722 checks passed,
 * 0 warning(s), 3 failure(s) (720 targets)" — passes count checks, warnings and failures count findings,
 * so they need not add up; an older run's record says "pass, warn, fail over N targets".
 */
export function verificationCounts(v: Pick<Verification, 'counts' | 'targets' | 'checks'>): string {
  if (v.checks === undefined) return `${v.counts.pass} pass, ${v.counts.warn} warn, ${v.counts.fail} fail over ${v.targets} targets`;
  return `${v.counts.pass} of ${v.checks} checks passed, ${v.counts.warn} warning(s), ${v.counts.fail} failure(s) (${v.targets} targets)`;
}

/** "400 µs / 1.2 ms / –": the medians of p50 / p95 / p99. */
export function latencyText(l: CellAggregate['latencyMs']): string {
  return `${msOrNot(l.p50)} / ${msOrNot(l.p95)} / ${msOrNot(l.p99)}`;
}

/** The requests-per-server-CPU-second ratio as the tables show it: "1× (reference)", "2.13× [2.05–2.21]" or "–". */
export function cpuRatioText(r: Relative | null, isReference: boolean): string {
  if (isReference) return REFERENCE_RATIO;
  return r ? ratioWithCi(r) : NOT_MEASURED;
}

/** "52 % [48 %–55 %] of 1 †": the load generator's CPU share over repetitions, or "not measured". */
export function loadgenShareText(c: CellAggregate): string {
  const u = c.loadgenUtilisation;
  return u ? `${percent(u.median)} [${percent(u.min)}–${percent(u.max)}] of ${c.loadgenCores}${isGeneratorBound(c) ? ' †' : ''}` : 'not measured';
}
