// The run matrix as data: axes (sizes × repetitions × implementations) → product → cell ids,
// in interleaved order (A B C A B C within a size and repetition), with an explicit veto list of
// cells that cannot run and why. Pure: bench.ts and the VM backend schedule from its output.
import { cellId, type Size } from '../results/schema.js';

export interface Cell {
  id: string;
  impl: string;
  size: Size;
  rep: number;
  /** Position in the execution order, 0-based. */
  order: number;
}

export interface Veto {
  impl: string; // "*" = every implementation at this size
  size: string; // "*" = every size for this implementation
  reason: string;
}

export interface Matrix {
  cells: Cell[];
  skipped: { impl: string; size: string; reason: string }[];
}

/**
 * Cartesian product in the order the cells run: for each size, for each repetition, every
 * implementation in turn. Interleaving spreads slow drift (thermal, noisy neighbours) over all
 * implementations instead of loading it onto the last one.
 */
export function buildMatrix(impls: readonly string[], sizes: readonly Size[], reps: number, vetoes: readonly Veto[] = []): Matrix {
  const skipped: Matrix['skipped'] = [];
  const cells: Cell[] = [];
  const vetoOf = (impl: string, size: string) => vetoes.find((v) => (v.impl === impl || v.impl === '*') && (v.size === size || v.size === '*'));
  for (const size of sizes) {
    for (const impl of impls) {
      const v = vetoOf(impl, size.name);
      if (v) skipped.push({ impl, size: size.name, reason: v.reason });
    }
    for (let rep = 1; rep <= reps; rep++) {
      for (const impl of impls) {
        if (vetoOf(impl, size.name)) continue;
        cells.push({ id: cellId(impl, size.name, rep), impl, size, rep, order: cells.length });
      }
    }
  }
  return { cells, skipped };
}
