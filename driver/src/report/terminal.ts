// The terminal table printed at the end of a run and by `server-bench report`: rows = sizes,
// columns = implementations, each cell req/s, MB/s and requests per server CPU-second as median
// [95 % CI], then the two ratios to the reference (req/s, and per CPU-second with its interval).
// Marks, the same in every report: `*` fastest per size, `≈` not significantly different from the
// reference, `†` generator-bound. Under the table: which ratio to trust for generator-bound cells,
// then one line per warning. Pure: results in, string out.
import { table } from 'table';
import { int, interval, NOT_MEASURED, num, ratioWithCi, relativeText } from './format.js';
import { cellOf, comparisonOf, describeWarning, isGeneratorBound, sizeLabel, type Results } from './results.js';
import { trustLines } from './trust.js';
import { describeServerLogs } from '../servers/serverlogs.js';

export function renderTerminal(results: Results): string {
  const impls = results.impls;
  const header = ['size', ...impls];
  const rows: string[][] = [header];
  let noCpu = false;
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
      if (c.reqPerCpuSecond) lines.push(`${int(c.reqPerCpuSecond.median)} req/CPU-s`, `  ${interval(c.reqPerCpuSecond, int)}`);
      else {
        noCpu = true;
        lines.push(`${NOT_MEASURED} req/CPU-s`, '');
      }
      if (entry && isRef) lines.push('reference');
      else if (entry) {
        lines.push(`req/s ${relativeText(entry.reqPerSec, false).replace(/ \(.*\)$/, '')}`);
        lines.push(`CPU-s ${entry.reqPerCpuSecond ? ratioWithCi(entry.reqPerCpuSecond) : NOT_MEASURED}`);
      }
      row.push(lines.join('\n'));
    }
    rows.push(row);
  }
  const out: string[] = [];
  out.push(`run ${results.run.runId} · ${results.run.config.engine} · ${results.run.config.durationSeconds} s × ${results.run.config.reps} rep(s) · medians [95 % CI]`);
  out.push(describeServerLogs(results.run.config.serverLogs, results.run.logging, impls));
  out.push(table(rows, { drawHorizontalLine: (i, n) => i === 0 || i === 1 || i === n }).trimEnd());
  out.push('req/CPU-s = requests per second of server CPU; ratios to the reference: req/s = mean ratio ± σ, CPU-s = ratio of req/CPU-s [95 % CI]');
  out.push(
    '* fastest at that size (by median req/s, significantly ahead of the next: Welch p < 0.05)   ≈ not significantly different from the reference (Welch, p ≥ 0.05)   [n = 1] no interval with one repetition' +
      (results.cells.some(isGeneratorBound) ? '   † generator-bound (the load generator used ≥ 90 % of its cores: it set req/s)' : '') +
      (noCpu ? `   ${NOT_MEASURED} not measured (server CPU unknown)` : ''),
  );
  for (const line of trustLines(results)) out.push(`trust: ${line}`);
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
