// The terminal table printed at the end of a run and by `server-bench report`: rows = sizes,
// columns = implementations, each cell req/s and MB/s as median [95 % CI]; the fastest per size
// marked `*`, differences from the reference that are not significant marked `≈`; then one line
// per warning. Pure: results in, string out.
import { table } from 'table';
import { int, interval, num, relativeText } from './format.js';
import { cellOf, comparisonOf, describeWarning, isGeneratorBound, sizeLabel, type Results } from './results.js';
import { describeServerLogs } from '../serverlogs.js';

export function renderTerminal(results: Results): string {
  const impls = results.impls;
  const header = ['size', ...impls];
  const rows: string[][] = [header];
  for (const size of results.sizes) {
    const cmp = comparisonOf(results, size.name);
    const row = [sizeLabel(results, size.name)];
    for (const impl of impls) {
      const c = cellOf(results, impl, size.name);
      if (!c) {
        const s = results.skipped.find((x) => x.impl === impl && x.size === size.name);
        row.push(s ? `skipped:\n${wrap(s.reason, 28)}` : '—');
        continue;
      }
      const entry = cmp?.entries.find((e) => e.impl === impl);
      const fastest = cmp?.fastest === impl ? ' *' : '';
      const isRef = cmp?.reference === impl;
      const ns = entry && !isRef && entry.reqPerSec.significant === false ? ' ≈' : '';
      const lines = [
        `${int(c.reqPerSec.median)} req/s${fastest}${ns}${isGeneratorBound(c) ? ' †' : ''}`,
        `  ${interval(c.reqPerSec, int)}`,
        `${num(c.mbPerSec.median)} MB/s`,
        `  ${interval(c.mbPerSec, num)}`,
      ];
      if (entry) lines.push(isRef ? 'reference' : relativeText(entry.reqPerSec, false).replace(/ \(.*\)$/, ''));
      row.push(lines.join('\n'));
    }
    rows.push(row);
  }
  const out: string[] = [];
  out.push(`run ${results.run.runId} · ${results.run.config.engine} · ${results.run.config.durationSeconds} s × ${results.run.config.reps} rep(s) · medians [95 % CI]`);
  out.push(describeServerLogs(results.run.config.serverLogs, results.run.logging, impls));
  out.push(table(rows, { drawHorizontalLine: (i, n) => i === 0 || i === 1 || i === n }).trimEnd());
  out.push('* fastest at that size (by median req/s)   ≈ not significantly different from the reference (Welch, p ≥ 0.05)   [n = 1] no interval with one repetition' + (results.cells.some(isGeneratorBound) ? '   † generator-bound (load generator saturated)' : ''));
  for (const w of results.warnings) out.push(`warning: ${describeWarning(w)}`);
  return `${out.join('\n')}\n`;
}

function wrap(text: string, w: number): string {
  const words = text.split(' ');
  const lines: string[] = [];
  let cur = '';
  for (const word of words) {
    if (cur && cur.length + 1 + word.length > w) {
      lines.push(cur);
      cur = word;
    } else cur = cur ? `${cur} ${word}` : word;
  }
  if (cur) lines.push(cur);
  return lines.join('\n');
}
