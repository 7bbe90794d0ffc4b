import { describe, expect, it } from 'vitest';
import { buildMatrix } from '../../src/run/matrix.js';
import { DEFAULT_SIZES } from '../../src/run/sizes.js';

const [s1, s2, s16] = DEFAULT_SIZES as [(typeof DEFAULT_SIZES)[0], (typeof DEFAULT_SIZES)[0], (typeof DEFAULT_SIZES)[0]];

describe('buildMatrix', () => {
  it('is the product of sizes × reps × impls, interleaved A B C A B C within a size', () => {
    const m = buildMatrix(['a', 'b', 'c'], [s1, s2], 2);
    expect(m.cells.map((c) => c.id)).toEqual([
      'a-1cpu-r1',
      'b-1cpu-r1',
      'c-1cpu-r1',
      'a-1cpu-r2',
      'b-1cpu-r2',
      'c-1cpu-r2',
      'a-2cpu-r1',
      'b-2cpu-r1',
      'c-2cpu-r1',
      'a-2cpu-r2',
      'b-2cpu-r2',
      'c-2cpu-r2',
    ]);
    expect(m.cells.map((c) => c.order)).toEqual([...Array(12).keys()]);
    expect(m.skipped).toEqual([]);
  });

  it('vetoes a whole size or an implementation with the reason, once per impl × size', () => {
    const m = buildMatrix(['a', 'b'], [s1, s16], 3, [
      { impl: '*', size: '16', reason: 'size 16 needs 17 CPUs' },
      { impl: 'b', size: '*', reason: 'b: not installed' },
    ]);
    expect(m.cells.map((c) => c.id)).toEqual(['a-1cpu-r1', 'a-1cpu-r2', 'a-1cpu-r3']);
    expect(m.skipped).toEqual([
      { impl: 'b', size: '1', reason: 'b: not installed' },
      { impl: 'a', size: '16', reason: 'size 16 needs 17 CPUs' },
      { impl: 'b', size: '16', reason: 'size 16 needs 17 CPUs' },
    ]);
  });

  it('carries the size record into each cell', () => {
    const m = buildMatrix(['x'], [s2], 1);
    expect(m.cells[0]?.size).toEqual({ name: '2', cpus: 2, memoryMiB: 4096, vus: 10 });
  });
});
