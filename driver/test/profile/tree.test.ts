// profile/tree.ts: the flame tree.
import { describe, expect, it } from 'vitest';
import { type FoldedStack, type Frame } from '../../src/profile/folded.js';
import { buildFlameTree } from '../../src/profile/tree.js';

const nat = (name: string): Frame => ({ name, kind: 'native', file: null, line: null });

describe('flame tree', () => {
  it('root → thread → frames, values summed, thin nodes pruned, widest first', () => {
    const stacks: FoldedStack[] = [
      { comm: 'srv', frames: [nat('main'), nat('a')], samples: 600 },
      { comm: 'srv', frames: [nat('main'), nat('b')], samples: 399 },
      { comm: 'srv', frames: [nat('main'), nat('tiny')], samples: 1 },
    ];
    const t = buildFlameTree(stacks, { minShare: 0.002 });
    expect(t).toMatchObject({ name: 'all', kind: 'root', value: 1000 });
    expect(t.children).toHaveLength(1);
    const main = t.children[0]!.children[0]!;
    expect(main).toMatchObject({ name: 'main', value: 1000 });
    expect(main.children.map((c) => [c.name, c.value])).toEqual([
      ['a', 600],
      ['b', 399],
    ]); // tiny: 0.1 % < 0.2 %
    expect(buildFlameTree(stacks, { maxNodes: 3 }).children[0]!.children[0]!.children).toEqual([]);
  });
});
