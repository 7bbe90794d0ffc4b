// The call tree a flame graph draws: root "all" → thread → callers → callees, each node with its
// samples, pruned of nodes too thin to see (their samples stay in the parent's total, shown as the
// parent's own time). Small enough to live in results.json. Pure.
import { z } from 'zod';
import type { FoldedStack } from './folded.js';
import { displayName } from './top.js';

const FlameKindSchema = z.enum(['root', 'thread', 'kernel', 'js', 'native', 'unknown']);
type FlameKind = z.infer<typeof FlameKindSchema>;

export interface FlameNode {
  name: string;
  kind: FlameKind;
  /** Samples in this node and everything it called. */
  value: number;
  children: FlameNode[];
}

export const FlameNodeSchema: z.ZodType<FlameNode> = z.lazy(() =>
  z.object({ name: z.string(), kind: FlameKindSchema, value: z.number().int().nonnegative(), children: z.array(FlameNodeSchema) }),
);

interface Building {
  name: string;
  kind: FlameKind;
  value: number;
  children: Map<string, Building>;
}

function child(parent: Building, name: string, kind: FlameKind): Building {
  const key = `${kind}\u0000${name}`;
  let c = parent.children.get(key);
  if (!c) {
    c = { name, kind, value: 0, children: new Map() };
    parent.children.set(key, c);
  }
  return c;
}

/**
 * Build the tree; nodes holding less than `minShare` of all samples are dropped, and at most
 * `maxNodes` are kept (widest first), so the page stays light however deep the stacks are.
 */
export function buildFlameTree(stacks: readonly FoldedStack[], opts: { minShare?: number; maxNodes?: number } = {}): FlameNode {
  const root: Building = { name: 'all', kind: 'root', value: 0, children: new Map() };
  for (const s of stacks) {
    root.value += s.samples;
    let node = child(root, s.comm, 'thread');
    node.value += s.samples;
    for (const f of s.frames) {
      node = child(node, displayName(f), f.kind);
      node.value += s.samples;
    }
  }
  const min = Math.max(1, Math.ceil((opts.minShare ?? 0.002) * root.value));
  let budget = opts.maxNodes ?? 3000;
  // Breadth-first so a budget cut drops the deepest, thinnest frames, not whole threads.
  const out: FlameNode = { name: root.name, kind: root.kind, value: root.value, children: [] };
  const queue: Array<[Building, FlameNode]> = [[root, out]];
  budget--;
  for (let i = 0; i < queue.length; i++) {
    const [b, o] = queue[i] as [Building, FlameNode];
    const kids = [...b.children.values()].filter((c) => c.value >= min).sort((x, y) => y.value - x.value || x.name.localeCompare(y.name));
    for (const c of kids) {
      if (budget <= 0) break;
      budget--;
      const n: FlameNode = { name: c.name, kind: c.kind, value: c.value, children: [] };
      o.children.push(n);
      queue.push([c, n]);
    }
  }
  return out;
}
