// Which ratio to trust when the load generator was the limit. A generator-bound cell's req/s is
// the generator's number (a lower bound for the server), so its req/s ratio to the reference is
// not the server's; requests per server CPU-second does not depend on who set the pace. One
// sentence per size, the same in every report. Pure.
import { percent, ratioWithCi } from './format.js';
import { cellOf, comparisonOf, isGeneratorBound, type CellAggregate, type Results } from './results.js';
import { formatRatio } from '../results/stats.js';

/** Generator-bound cells at one size, in the run's implementation order. */
function generatorBoundAt(results: Results, size: string): CellAggregate[] {
  return results.impls.map((i) => cellOf(results, i, size)).filter((c): c is CellAggregate => c !== undefined && isGeneratorBound(c));
}

function share(c: CellAggregate): string {
  return c.loadgenUtilisation ? `load generator at ${percent(c.loadgenUtilisation.median)} of its core(s)` : 'load generator saturated';
}

/** One line per size that has a generator-bound cell, saying which ratio to trust for it; [] when none. */
export function trustLines(results: Results): string[] {
  const out: string[] = [];
  for (const size of results.sizes) {
    const bound = generatorBoundAt(results, size.name);
    const cmp = comparisonOf(results, size.name);
    if (bound.length === 0 || !cmp?.reference) continue;
    const ref = cmp.reference;
    const refBound = bound.find((c) => c.impl === ref);
    if (refBound) {
      const others = cmp.entries.filter((e) => e.impl !== ref);
      const perCpu = others.filter((e) => e.reqPerCpuSecond).map((e) => `${e.impl} ${ratioWithCi(e.reqPerCpuSecond!)}`);
      const without = others.filter((e) => !e.reqPerCpuSecond).map((e) => e.impl);
      const lead = `size ${size.name}: the reference ${ref} is generator-bound (${share(refBound)}), so every req/s ratio at this size is measured against the generator's limit`;
      if (perCpu.length === 0) {
        out.push(`${lead}, and without server CPU measurements${without.length > 0 ? ` (${without.join(', ')})` : ''} no ratio at this size can be trusted.`);
      } else {
        out.push(
          `${lead}; trust the ratios of requests per server CPU-second (${perCpu.join(', ')})${without.length > 0 ? `; none can be given for ${without.join(', ')} (server CPU not measured)` : ''}.`,
        );
      }
      continue;
    }
    for (const c of bound) {
      const e = cmp.entries.find((x) => x.impl === c.impl);
      if (!e) continue;
      const rps = `${formatRatio(e.reqPerSec)} ${ref}`;
      out.push(
        e.reqPerCpuSecond
          ? `size ${size.name}: ${c.impl} is generator-bound (${share(c)}): its req/s ratio (${rps}) is a lower bound set by the generator; trust its ratio of requests per server CPU-second, ${ratioWithCi(e.reqPerCpuSecond)} ${ref}.`
          : `size ${size.name}: ${c.impl} is generator-bound (${share(c)}): its req/s ratio (${rps}) is a lower bound set by the generator, and without a server CPU measurement no ratio can be trusted for it.`,
      );
    }
  }
  return out;
}
