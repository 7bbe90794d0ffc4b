// The tables a reader looks at first: each implementation's top functions by self time (the leaf of
// the sampled stack: where the CPU was) and by total time (anywhere on the stack: what it cost,
// callees included), as shares of the samples. Pure.
import type { FoldedStack, Frame, FrameKind } from './folded.js';

interface TopEntry {
  name: string;
  kind: FrameKind;
  samples: number;
  /** Share of all samples, 0..1. */
  share: number;
}

export interface TopTables {
  samples: number;
  self: TopEntry[];
  total: TopEntry[];
}

function fileBase(file: string): string {
  const i = file.lastIndexOf('/');
  return i >= 0 ? file.slice(i + 1) : file;
}

/** How a function is named in tables and flame graphs: JavaScript with its file and line, kernel marked. */
export function displayName(f: Frame): string {
  if (f.kind === 'js' && f.file !== null) return `${f.name} (${fileBase(f.file)}:${f.line ?? 0})`;
  return f.name;
}

/** Functions are told apart by display name and kind (a kernel and a user function may share a name). */
function keyOf(f: Frame): string {
  return `${f.kind}\u0000${displayName(f)}`;
}

function ranked(counts: Map<string, { frame: Frame; samples: number }>, samples: number, n: number): TopEntry[] {
  return [...counts.values()]
    .sort((a, b) => b.samples - a.samples || displayName(a.frame).localeCompare(displayName(b.frame)))
    .slice(0, n)
    .map(({ frame, samples: s }) => ({ name: displayName(frame), kind: frame.kind, samples: s, share: samples > 0 ? s / samples : 0 }));
}

/** A caller that hands at least this share of its samples to one callee is shown by that callee. */
const PASS_THROUGH = 0.95;

/**
 * Top functions by self and by total samples. The total table leaves out frames perf could not
 * name ("[unknown]": a broken unwind is not a function) and pass-through callers: a function that
 * spends ≥ 95 % of its samples in one callee (an event loop's uv_run → uv__io_poll → …, a
 * goroutine's wrappers) is represented by that callee, so the ten rows reach the places where time
 * divides instead of ten links of one chain.
 */
export function topFunctions(stacks: readonly FoldedStack[], n = 10): TopTables {
  const self = new Map<string, { frame: Frame; samples: number }>();
  const total = new Map<string, { frame: Frame; samples: number }>();
  const edges = new Map<string, Map<string, number>>();
  let samples = 0;
  for (const s of stacks) {
    samples += s.samples;
    const leaf = s.frames[s.frames.length - 1];
    if (leaf) {
      const k = keyOf(leaf);
      const e = self.get(k) ?? { frame: leaf, samples: 0 };
      e.samples += s.samples;
      self.set(k, e);
    }
    // Once per stack, however often recursion repeats a function.
    const seen = new Set<string>();
    const seenEdges = new Set<string>();
    s.frames.forEach((f, i) => {
      const k = keyOf(f);
      if (f.kind !== 'unknown' && !seen.has(k)) {
        seen.add(k);
        const e = total.get(k) ?? { frame: f, samples: 0 };
        e.samples += s.samples;
        total.set(k, e);
      }
      const next = s.frames[i + 1];
      if (!next) return;
      const nk = keyOf(next);
      if (nk === k || seenEdges.has(`${k}\u0001${nk}`)) return;
      seenEdges.add(`${k}\u0001${nk}`);
      const out = edges.get(k) ?? new Map<string, number>();
      out.set(nk, (out.get(nk) ?? 0) + s.samples);
      edges.set(k, out);
    });
  }
  const listed = new Map([...total].filter(([k, e]) => Math.max(0, ...(edges.get(k)?.values() ?? [])) < PASS_THROUGH * e.samples));
  return { samples, self: ranked(self, samples, n), total: ranked(listed, samples, n) };
}

/** Share of samples whose stack holds a function whose display name matches `pattern`. */
export function shareMatching(stacks: readonly FoldedStack[], pattern: RegExp): number {
  let hit = 0;
  let all = 0;
  for (const s of stacks) {
    all += s.samples;
    if (s.frames.some((f) => pattern.test(displayName(f)))) hit += s.samples;
  }
  return all > 0 ? hit / all : 0;
}
