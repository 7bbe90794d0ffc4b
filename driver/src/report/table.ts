// The plain terminal table printed at the end of a run when the full reports cannot be rendered:
// rows = sizes, columns = implementations, each cell the median req/s and MB/s across repetitions.
// Its marks mean what they mean in every other report: `*` fastest at that size (by median req/s),
// `†` generator-bound. Pure (results in, string out); the rich reports live elsewhere.
import { table } from 'table';
import { int as fmtInt } from './format.js';
import type { CellResult } from '../results/schema.js';
import { median } from '../results/stats.js';

// Not report/results.ts's isGeneratorBound: this fallback imports nothing of the renderers it stands in for.
const saturated = (r: CellResult): boolean => r.warnings.some((w) => w.code === 'loadgen-saturated');

/** One row per size, one column per implementation (in `impls` order); "–" where nothing ran. */
export function renderTable(results: readonly CellResult[], impls: readonly string[]): string {
  const sizes = [...new Set(results.map((r) => r.size.name))].sort((a, b) => Number(a) - Number(b));
  const header = ['size', ...impls];
  const rows: string[][] = [header];
  for (const size of sizes) {
    const reps = impls.map((impl) => results.filter((r) => r.size.name === size && r.impl === impl));
    const medians = reps.map((rs) => (rs.length > 0 ? median(rs.map((r) => r.reqPerSec)) : -1));
    const fastest = Math.max(...medians) >= 0 ? impls[medians.indexOf(Math.max(...medians))] : undefined;
    const first = results.find((r) => r.size.name === size);
    const label = first
      ? `${size} CPU / ${first.size.memoryMiB >= 1024 ? `${first.size.memoryMiB / 1024} GB` : `${first.size.memoryMiB} MB`} / ${first.vus} VU`
      : size;
    const row = [label];
    for (const [i, impl] of impls.entries()) {
      const rs = reps[i]!;
      if (rs.length === 0) {
        row.push('–');
        continue;
      }
      const mbs = median(rs.map((r) => r.bytesPerSec / 1e6));
      const flag = `${impl === fastest ? ' *' : ''}${rs.some(saturated) ? ' †' : ''}`;
      row.push(`${fmtInt(medians[i]!)} req/s${flag}\n${fmtInt(mbs)} MB/s\n(n=${rs.length})`);
    }
    rows.push(row);
  }
  const note = `* fastest at that size (by median req/s)\n${results.some(saturated) ? '† generator-bound: the load generator was saturated, it, not the server, set that number\n' : ''}`;
  return `${table(rows)}${note}medians across repetitions\n`;
}
