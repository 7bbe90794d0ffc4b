// profile/top.ts: the top-functions tables from folded stacks.
import { describe, expect, it } from 'vitest';
import { type FoldedStack, type Frame } from '../../src/profile/folded.js';
import { displayName, shareMatching, topFunctions } from '../../src/profile/top.js';

const js = (name: string, file: string | null = null, line: number | null = null): Frame => ({ name, kind: 'js', file, line });
const nat = (name: string): Frame => ({ name, kind: 'native', file: null, line: null });
const ker = (name: string): Frame => ({ name, kind: 'kernel', file: null, line: null });

describe('top functions', () => {
  // main → serve → handle → { read (3 self), write → copy (5 self) }, plus 2 samples in gc.
  const stacks: FoldedStack[] = [
    { comm: 'srv', frames: [nat('main'), nat('serve'), nat('handle'), nat('read')], samples: 3 },
    { comm: 'srv', frames: [nat('main'), nat('serve'), nat('handle'), nat('write'), ker('copy')], samples: 5 },
    { comm: 'srv', frames: [nat('main'), nat('serve'), nat('handle')], samples: 1 },
    { comm: 'srv', frames: [nat('gc')], samples: 2 },
    { comm: 'srv', frames: [nat('main'), nat('rec'), nat('rec'), nat('rec')], samples: 1 },
  ];

  it('self = leaf; total counts a function once per stack and skips pass-through callers', () => {
    const t = topFunctions(stacks, 10);
    expect(t.samples).toBe(12);
    expect(t.self.map((e) => [e.name, e.samples])).toEqual([
      ['copy', 5],
      ['read', 3],
      ['gc', 2],
      ['handle', 1],
      ['rec', 1],
    ]);
    expect(t.self[0]).toMatchObject({ kind: 'kernel', share: 5 / 12 });
    // main (10) splits into serve and rec: listed; serve (9) hands 9/9 to handle: a pass-through, so
    // handle (9) stands for it; write (5) hands everything to copy: copy stands for it; rec once, not thrice.
    expect(t.total.map((e) => [e.name, e.samples])).toEqual([
      ['main', 10],
      ['handle', 9],
      ['copy', 5],
      ['read', 3],
      ['gc', 2],
      ['rec', 1],
    ]);
  });

  it('leaves unnamed frames out of the total table, keeps them as self, and cuts at n', () => {
    const t = topFunctions(
      [
        {
          comm: 'x',
          frames: [{ name: '[unknown]', kind: 'unknown', file: null, line: null }, nat('a'), { name: '[nginx]', kind: 'unknown', file: null, line: null }],
          samples: 4,
        },
        ...stacks,
      ],
      3,
    );
    expect(t.total.map((e) => e.name)).not.toContain('[unknown]');
    expect(t.self.map((e) => e.name)).toEqual(['copy', '[nginx]', 'read']);
    expect(t.total).toHaveLength(3);
  });

  it('names JavaScript by file and line, and finds shares by pattern', () => {
    expect(displayName(js('handle', 'file:///srv/dist/handler.js', 169))).toBe('handle (handler.js:169)');
    expect(shareMatching(stacks, /^(read|write)$/)).toBeCloseTo(8 / 12);
  });
});
