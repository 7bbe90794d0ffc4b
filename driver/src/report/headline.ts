// The headline table of report.md and report.html: one row per machine size × implementation with
// req/s and requests per server CPU-second side by side, each with its ratio to the reference,
// and the load generator's CPU share, so a generator-bound cell (†) is read by the ratio that
// still means something. Built once here as plain text cells; each renderer escapes and lays out.
import { cpuRatioText, int, medianWithCi, NOT_MEASURED, percent, REFERENCE_RATIO } from './format.js';
import { cellOf, comparedOf, comparisonOf, isGeneratorBound, isNotSignificant, sizeLabel, type Results } from './results.js';
import { formatRatio } from '../results/stats.js';

export const HEADLINE_COLUMNS = [
  'machine / load',
  'implementation',
  'req/s',
  'req/s ÷ reference',
  'req per server CPU-s',
  'req/CPU-s ÷ reference',
  'load generator CPU',
] as const;

export interface HeadlineRow {
  /** Text per column of HEADLINE_COLUMNS. */
  cells: string[];
  fastest: boolean;
  generatorBound: boolean;
}

export function headlineRows(results: Results): HeadlineRow[] {
  const rows: HeadlineRow[] = [];
  for (const size of results.sizes) {
    const cmp = comparisonOf(results, size.name);
    for (const impl of results.impls) {
      const c = cellOf(results, impl, size.name);
      if (!c) continue;
      const compared = comparedOf(results, impl, size.name);
      const e = compared?.entry;
      const isRef = compared?.isReference === true;
      const fastest = cmp?.fastest === impl;
      const bound = isGeneratorBound(c);
      const marks = `${fastest ? ' *' : ''}${bound ? ' †' : ''}`;
      const ns = isNotSignificant(results, impl, size.name) ? ' ≈' : '';
      rows.push({
        fastest,
        generatorBound: bound,
        cells: [
          sizeLabel(results, size.name),
          `${impl}${marks}`,
          `${medianWithCi(c.reqPerSec, int)}${ns}`,
          isRef ? REFERENCE_RATIO : e ? `${formatRatio(e.reqPerSec)}${e.reqPerSec.significant === false ? ' (n.s.)' : ''}` : NOT_MEASURED,
          c.reqPerCpuSecond ? medianWithCi(c.reqPerCpuSecond, int) : NOT_MEASURED,
          cpuRatioText(e?.reqPerCpuSecond ?? null, isRef),
          c.loadgenUtilisation ? `${percent(c.loadgenUtilisation.median)} of ${c.loadgenCores} core${c.loadgenCores === 1 ? '' : 's'}` : NOT_MEASURED,
        ],
      });
    }
  }
  return rows;
}

/** The legend under the headline table, in the order the marks appear. */
export function headlineLegend(results: Results): string[] {
  const lines = [
    'req/s ÷ reference: mean ratio ± σ (n.s. = not significantly different, Welch p ≥ 0.05); req/CPU-s ÷ reference: ratio of mean requests per server CPU-second with its 95 % interval. * fastest at that size by median req/s, significantly ahead of the next (Welch p < 0.05).',
  ];
  if (results.cells.some(isGeneratorBound))
    lines.push(
      '† generator-bound: the load generator used ≥ 90 % of its cores, so it — not the server — set req/s; for these cells trust req/CPU-s and its ratio.',
    );
  if (results.cells.some((c) => !c.reqPerCpuSecond || !c.loadgenUtilisation))
    lines.push(`${NOT_MEASURED} not measured (the server's or the generator's CPU time is unknown for that cell).`);
  return lines;
}
