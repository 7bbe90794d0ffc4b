import { describe, expect, it } from 'vitest';
import {
  confidenceInterval,
  findOutliers,
  formatRatio,
  incompleteBeta,
  mean,
  median,
  modifiedZScores,
  normalCdf,
  ratioInterval,
  ratioWithError,
  stddev,
  summarize,
  tCritical,
  tTwoSidedP,
  welchTest,
} from '../../src/results/stats.js';

describe('basic statistics', () => {
  it('mean, sample σ, median', () => {
    expect(mean([2, 4, 4, 4, 5, 5, 7, 9])).toBe(5);
    // Sample σ (n−1) of that classic set: √(32/7).
    expect(stddev([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
  it('n = 1 has no σ and no interval', () => {
    const s = summarize([42]);
    expect(s.sd).toBeNull();
    expect(s.ci95).toBeNull();
    expect(s.median).toBe(42);
  });
});

describe('t distribution', () => {
  it('incomplete beta at known points', () => {
    expect(incompleteBeta(0.5, 2, 2)).toBeCloseTo(0.5, 12);
    // I_x(1, 1) = x; I_x(a, 1) = x^a.
    expect(incompleteBeta(0.3, 1, 1)).toBeCloseTo(0.3, 12);
    expect(incompleteBeta(0.7, 3, 1)).toBeCloseTo(0.343, 12);
  });
  it('normal CDF', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 12);
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6);
    expect(normalCdf(-1)).toBeCloseTo(0.158655, 6);
  });
  it.each([
    [1, 12.706],
    [2, 4.303],
    [3, 3.182],
    [4, 2.776],
    [10, 2.228],
    [30, 2.042],
    [Infinity, 1.96],
  ])('two-sided 95 %% critical value, df = %s → %s', (df, expected) => {
    expect(tCritical(df)).toBeCloseTo(expected, 3);
  });
  it('99 % critical value for df = 5 is 4.032', () => {
    expect(tCritical(5, 0.01)).toBeCloseTo(4.032, 3);
  });
  it('p-value inverts the critical value', () => {
    expect(tTwoSidedP(2.228139, 10)).toBeCloseTo(0.05, 5);
    expect(tTwoSidedP(0, 7)).toBeCloseTo(1, 12);
  });
  it('95 % interval of [1, 2, 3] is 2 ± 4.303 · 1/√3', () => {
    const ci = confidenceInterval([1, 2, 3])!;
    const half = (4.302653 * 1) / Math.sqrt(3);
    expect(ci.lo).toBeCloseTo(2 - half, 4);
    expect(ci.hi).toBeCloseTo(2 + half, 4);
  });
});

describe("Welch's t-test", () => {
  // Wikipedia's "Welch's t-test", example 1 (two samples of 15): t = −2.46, ν ≈ 25.0, p = 0.021.
  const a1 = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4];
  const a2 = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4];
  it('matches the published example', () => {
    const w = welchTest(a1, a2)!;
    expect(w.t).toBeCloseTo(-2.46, 2);
    expect(w.df).toBeCloseTo(25.0, 1);
    expect(w.p).toBeCloseTo(0.021, 3);
  });
  it('matches a small example worked by hand', () => {
    // a = 10, 12, 14 (mean 12, s² 4); b = 20, 21, 22 (mean 21, s² 1).
    // t = (12 − 21)/√(4/3 + 1/3) = −9/√(5/3) = −6.9714; ν = (5/3)² / ((4/3)²/2 + (1/3)²/2) = (25/9)/(17/18) = 2.9412.
    const w = welchTest([10, 12, 14], [20, 21, 22])!;
    expect(w.t).toBeCloseTo(-6.97137, 4);
    expect(w.df).toBeCloseTo(50 / 17, 6);
    expect(w.p).toBeGreaterThan(0.005);
    expect(w.p).toBeLessThan(0.01);
  });
  it('needs two samples on each side', () => {
    expect(welchTest([1], [2, 3])).toBeNull();
  });
  it('no spread: exact difference is significant, no difference is not', () => {
    expect(welchTest([5, 5], [6, 6])!.p).toBe(0);
    expect(welchTest([5, 5], [5, 5])!.p).toBe(1);
  });
});

describe('ratio with propagated uncertainty', () => {
  it('first-order propagation', () => {
    const r = ratioWithError(240, 6, 100, 2);
    expect(r.ratio).toBeCloseTo(2.4, 12);
    expect(r.sd).toBeCloseTo(2.4 * Math.sqrt(0.025 ** 2 + 0.02 ** 2), 12);
    expect(formatRatio(r, 1)).toBe('2.4 ± 0.1×');
    expect(formatRatio(ratioWithError(3, null, 2, 1))).toBe('1.50×');
  });
});

describe('95 % interval of a ratio of means', () => {
  it('none below two samples a side or against a zero mean; a point when nothing varies', () => {
    expect(ratioInterval([1], [1, 2])).toBeNull();
    expect(ratioInterval([1, 2], [0, 0])).toBeNull();
    expect(ratioInterval([3, 3, 3], [2, 2])).toEqual({ lo: 1.5, hi: 1.5 });
  });

  it('covers the true ratio about 95 % of the time (5 vs 5 repetitions, 10 % and 5 % noise)', () => {
    // Deterministic normal draws: a small LCG and Box–Muller, so the test never flickers.
    let seed = 12345;
    const uniform = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) + 1) / (2 ** 31 + 1);
    const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
    const trials = 4000;
    let covered = 0;
    for (let t = 0; t < trials; t++) {
      const a = Array.from({ length: 5 }, () => 30_000 * (1 + 0.1 * normal()));
      const b = Array.from({ length: 5 }, () => 20_000 * (1 + 0.05 * normal()));
      const ci = ratioInterval(a, b)!;
      expect(ci.lo).toBeLessThan(mean(a) / mean(b));
      if (ci.lo <= 1.5 && 1.5 <= ci.hi) covered++;
    }
    expect(covered / trials).toBeGreaterThan(0.925);
    expect(covered / trials).toBeLessThan(0.97);
  });
});

describe('outliers by median/MAD', () => {
  it('modified z-scores', () => {
    // median 101, |dev| = 1,0,1,1,49 → MAD 1; z(150) = 0.6745 · 49.
    const z = modifiedZScores([100, 101, 102, 100, 150]);
    expect(z[4]).toBeCloseTo(0.6745 * 49, 10);
    expect(z[1]).toBe(0);
  });
  it('flags the far value, never drops it', () => {
    const xs = [100, 101, 102, 100, 150];
    const o = findOutliers(xs);
    expect(o.map((x) => x.index)).toEqual([4]);
    expect(xs).toHaveLength(5);
  });
  it('MAD = 0 falls back to the mean absolute deviation', () => {
    expect(findOutliers([100, 100, 100, 100, 200]).map((o) => o.index)).toEqual([4]);
    expect(findOutliers([100, 100, 100])).toEqual([]);
  });
  it('close values are not outliers; fewer than five cannot be judged', () => {
    expect(findOutliers([100, 103, 98, 101, 99])).toEqual([]);
    expect(findOutliers([1, 1000])).toEqual([]);
    // Three repetitions: the median/MAD test flagged the tightest cell of a real run (z = −5.0).
    expect(modifiedZScores([27_100, 29_900, 30_300])[0]).toBeCloseTo(-4.72, 1);
    expect(findOutliers([27_100, 29_900, 30_300])).toEqual([]);
    expect(findOutliers([100, 100, 100, 200])).toEqual([]);
  });
});
