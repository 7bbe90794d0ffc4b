// Statistics for repetitions, hyperfine style: mean ± σ, median, min–max, Student-t 95 % intervals,
// Welch's t-test between implementations, ratios with propagated uncertainty, and median/MAD
// outlier flags (flagged, never dropped). Pure functions: numbers in, numbers out.

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Sample standard deviation (n − 1); null below two samples, where no spread can be estimated. */
export function stddev(xs: readonly number[]): number | null {
  if (xs.length < 2) return null;
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) ** 2;
  return Math.sqrt(s / (xs.length - 1));
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

// ---------------------------------------------------------------- the t distribution
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
  9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos, g = 7; ~15 significant digits). */
function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0]!;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i]! / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction for the incomplete beta (modified Lentz), valid for x < (a+1)/(a+b+2). */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const TINY = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return h;
}

/** Regularized incomplete beta I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  // The continued fraction converges fast only on one side of the mean; use the symmetry otherwise.
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(x, a, b)) / a;
  return 1 - (front * betaContinuedFraction(1 - x, b, a)) / b;
}

/** P(|T| ≥ |t|) for Student's t with `df` degrees of freedom (df may be fractional, Welch). */
export function tTwoSidedP(t: number, df: number): number {
  if (!Number.isFinite(t)) return 0;
  if (!Number.isFinite(df)) return 2 * (1 - normalCdf(Math.abs(t)));
  return incompleteBeta(df / (df + t * t), df / 2, 0.5);
}

/** Standard normal CDF via erf (Abramowitz–Stegun 7.1.26 is too coarse; use the t limit instead). */
export function normalCdf(z: number): number {
  // Φ(z) = 1/2 · (1 + sign·P(1/2, z²/2)) with the regularized lower gamma via its series.
  const x = (z * z) / 2;
  let sum = 1 / 0.5;
  let term = 1 / 0.5;
  for (let n = 1; n < 500; n++) {
    term *= x / (0.5 + n);
    sum += term;
    if (term < sum * 1e-16) break;
  }
  const p = Math.exp(-x + 0.5 * Math.log(x) - logGamma(0.5)) * sum;
  return z >= 0 ? 0.5 * (1 + p) : 0.5 * (1 - p);
}

/**
 * Two-sided critical value t* with P(|T| ≥ t*) = alpha (default 0.05 → 95 % interval).
 * Bisection on the p-value (monotone in t), so no table is needed and any df works.
 */
export function tCritical(df: number, alpha = 0.05): number {
  if (!(df > 0)) throw new RangeError(`degrees of freedom must be positive, got ${df}`);
  const p = (t: number) => (Number.isFinite(df) && df < 1e7 ? tTwoSidedP(t, df) : 2 * (1 - normalCdf(t)));
  let lo = 0;
  let hi = 1;
  for (let i = 0; i < 200 && p(hi) > alpha; i++) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (p(mid) > alpha) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

// ---------------------------------------------------------------- summaries
export interface Interval {
  lo: number;
  hi: number;
}

export interface Summary {
  n: number;
  mean: number;
  /** Sample σ; null when n = 1. */
  sd: number | null;
  median: number;
  min: number;
  max: number;
  /** 95 % confidence interval of the mean (Student's t); null when n = 1: no interval can be given. */
  ci95: Interval | null;
  values: number[];
}

export function confidenceInterval(xs: readonly number[], alpha = 0.05): Interval | null {
  const sd = stddev(xs);
  if (sd === null) return null;
  const m = mean(xs);
  const half = (tCritical(xs.length - 1, alpha) * sd) / Math.sqrt(xs.length);
  return { lo: m - half, hi: m + half };
}

export function summarize(xs: readonly number[]): Summary {
  if (xs.length === 0) throw new RangeError('cannot summarise an empty sample');
  return {
    n: xs.length,
    mean: mean(xs),
    sd: stddev(xs),
    median: median(xs),
    min: Math.min(...xs),
    max: Math.max(...xs),
    ci95: confidenceInterval(xs),
    values: [...xs],
  };
}

// ---------------------------------------------------------------- comparisons
export interface WelchResult {
  t: number;
  df: number;
  /** Two-sided p-value. */
  p: number;
}

/** Welch's unequal-variances t-test; null when either side has fewer than two samples. */
export function welchTest(a: readonly number[], b: readonly number[]): WelchResult | null {
  if (a.length < 2 || b.length < 2) return null;
  const va = stddev(a)! ** 2 / a.length;
  const vb = stddev(b)! ** 2 / b.length;
  const diff = mean(a) - mean(b);
  if (va + vb === 0) {
    // No spread on either side: the difference is exact, or there is none.
    return diff === 0 ? { t: 0, df: a.length + b.length - 2, p: 1 } : { t: diff > 0 ? Infinity : -Infinity, df: a.length + b.length - 2, p: 0 };
  }
  const t = diff / Math.sqrt(va + vb);
  const df = (va + vb) ** 2 / (va ** 2 / (a.length - 1) + vb ** 2 / (b.length - 1));
  return { t, df, p: tTwoSidedP(t, df) };
}

export interface Ratio {
  ratio: number;
  /** First-order propagated σ of the ratio; null when either side has no σ (n = 1). */
  sd: number | null;
}

/** a / b with σ_r = r · √((σa/a)² + (σb/b)²), as hyperfine reports "2.4 ± 0.1×". */
export function ratioWithError(a: number, sdA: number | null, b: number, sdB: number | null): Ratio {
  const ratio = a / b;
  if (sdA === null || sdB === null || a === 0 || b === 0) return { ratio, sd: null };
  return { ratio, sd: Math.abs(ratio) * Math.sqrt((sdA / a) ** 2 + (sdB / b) ** 2) };
}

/**
 * 95 % interval (by default) of mean(a) / mean(b): the delta method on the two means' standard
 * errors, var(r) ≈ se_a²/b̄² + ā²·se_b²/b̄⁴, with Welch–Satterthwaite degrees of freedom over the
 * two terms. Null below two samples on either side (no spread to estimate) or when mean(b) is 0.
 */
export function ratioInterval(a: readonly number[], b: readonly number[], alpha = 0.05): Interval | null {
  if (a.length < 2 || b.length < 2) return null;
  const ma = mean(a);
  const mb = mean(b);
  if (mb === 0) return null;
  const r = ma / mb;
  const ta = stddev(a)! ** 2 / a.length / mb ** 2;
  const tb = (ma ** 2 * (stddev(b)! ** 2 / b.length)) / mb ** 4;
  if (ta + tb === 0) return { lo: r, hi: r };
  const df = (ta + tb) ** 2 / (ta ** 2 / (a.length - 1) + tb ** 2 / (b.length - 1));
  const half = tCritical(df, alpha) * Math.sqrt(ta + tb);
  return { lo: r - half, hi: r + half };
}

/** "2.40 ± 0.10×" (or "2.40×" without σ). */
export function formatRatio(r: Ratio, digits = 2): string {
  return r.sd === null ? `${r.ratio.toFixed(digits)}×` : `${r.ratio.toFixed(digits)} ± ${r.sd.toFixed(digits)}×`;
}

// ---------------------------------------------------------------- outliers
export interface Outlier {
  index: number;
  value: number;
  /** Modified z-score. */
  z: number;
}

const OUTLIER_Z = 3.5;

/**
 * Modified z-scores (Iglewicz & Hoaglin): 0.6745 · (x − median) / MAD. When MAD is 0 (more than half
 * the values equal) fall back to the mean absolute deviation scaled by 1.253314, so one deviating
 * repetition among identical ones is still judged by its size.
 */
export function modifiedZScores(xs: readonly number[]): number[] {
  const med = median(xs);
  const dev = xs.map((x) => Math.abs(x - med));
  const mad = median(dev);
  if (mad > 0) return xs.map((x) => (0.6745 * (x - med)) / mad);
  const meanAd = mean(dev);
  if (meanAd === 0) return xs.map(() => 0);
  return xs.map((x) => (x - med) / (1.253314 * meanAd));
}

/**
 * Fewer values than this make the median/MAD test meaningless: with three, the median is one of them
 * and the MAD is the smaller of two gaps, so the tightest cell gets the largest z (issue 13: 27.1k /
 * 29.9k / 30.3k req/s flagged 27.1k at z = −5.0).
 */
const MIN_OUTLIER_N = 5;

/** Values whose |modified z| exceeds 3.5; needs at least MIN_OUTLIER_N values to say anything. */
export function findOutliers(xs: readonly number[], threshold = OUTLIER_Z): Outlier[] {
  if (xs.length < MIN_OUTLIER_N) return [];
  return modifiedZScores(xs)
    .map((z, index) => ({ index, value: xs[index]!, z }))
    .filter((o) => Math.abs(o.z) > threshold);
}

/** Repetitions that vary by more than this (σ / mean) get a warning: the host was noisy or the server unstable. */
export const HIGH_VARIANCE_CV = 0.1;

/** σ / mean, or null below two samples or at a mean of 0. */
export function coefficientOfVariation(s: Pick<Summary, 'mean' | 'sd'>): number | null {
  return s.sd === null || s.mean === 0 ? null : s.sd / Math.abs(s.mean);
}
