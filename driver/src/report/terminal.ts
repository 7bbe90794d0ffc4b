// The terminal table printed at the end of a run and by `server-bench report`: rows = sizes,
// columns = implementations, each cell req/s, MB/s and requests per server CPU-second as median
// [95 % CI], then the two ratios to the reference (req/s, and per CPU-second with its interval).
// Marks, the same in every report: `*` fastest per size, `≈` not significantly different from the
// reference, `†` generator-bound. Under the table: which ratio to trust for generator-bound cells,
// then one line per warning, and a hyperfine-style verdict per implementation. Fitted to the
// terminal's width (implementations split over several tables when they do not fit; skip reasons
// footnoted once). Pure: results and a width in, string out.
import { table } from 'table';
import { formatDuration } from '../cli/duration.js';
import { cpuRatioText, int, interval, NOT_MEASURED, num, pValue } from './format.js';
import { formatRatio } from '../results/stats.js';
import { cellOf, comparedOf, comparisonOf, describeWarning, isGeneratorBound, isNotSignificant, sizeLabel, type Results } from './results.js';
import { trustLines } from './trust.js';
import { describeServerLogs } from '../servers/serverlogs.js';

/** The width the terminal table is fitted to when none is given (a pipe, a file): 100 columns. */
const DEFAULT_TERMINAL_WIDTH = 100;

/** The terminal's width: stdout's columns on a terminal, else $COLUMNS, else DEFAULT_TERMINAL_WIDTH. */
export function terminalWidth(stream: { columns?: number; isTTY?: boolean } = process.stdout, env: NodeJS.ProcessEnv = process.env): number {
  if (stream.isTTY && stream.columns !== undefined && stream.columns > 0) return stream.columns;
  const cols = Number(env.COLUMNS);
  return Number.isInteger(cols) && cols > 0 ? cols : DEFAULT_TERMINAL_WIDTH;
}

/**
 * The table fitted to `width` columns: implementations split over as many tables as it takes (the
 * size column repeated), legends wrapped, each skip reason said once under the table, and a
 * hyperfine-style verdict per implementation at the end.
 */
export function renderTerminal(results: Results, width = DEFAULT_TERMINAL_WIDTH): string {
  const impls = results.impls;
  let noCpu = false;
  // Skip reasons are footnoted: each cell says "skipped (a)", the reason is printed once.
  const reasons: string[] = [];
  const note = (reason: string): string => {
    if (!reasons.includes(reason)) reasons.push(reason);
    return `skipped (${String.fromCharCode(97 + reasons.indexOf(reason))})`;
  };
  const cellText = (impl: string, size: string): string => {
    const c = cellOf(results, impl, size);
    if (!c) {
      const s = results.skipped.find((x) => x.impl === impl && x.size === size);
      return s ? note(s.reason) : '—';
    }
    const compared = comparedOf(results, impl, size);
    const fastest = comparisonOf(results, size)?.fastest === impl ? ' *' : '';
    const ns = isNotSignificant(results, impl, size) ? ' ≈' : '';
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
    if (compared?.isReference) lines.push('reference');
    else if (compared) lines.push(`req/s ${formatRatio(compared.entry.reqPerSec)}`, `CPU-s ${cpuRatioText(compared.entry.reqPerCpuSecond, false)}`);
    return lines.join('\n');
  };
  const grid = new Map<string, string>();
  for (const size of results.sizes) for (const impl of impls) grid.set(`${impl}|${size.name}`, cellText(impl, size.name));
  const render = (group: readonly string[]): string => {
    const rows: string[][] = [['size', ...group]];
    for (const size of results.sizes)
      rows.push([sizeLabel(results, size.name).replace(/ \/ /g, '\n'), ...group.map((impl) => grid.get(`${impl}|${size.name}`) ?? '—')]);
    return table(rows, { drawHorizontalLine: (i, n) => i === 0 || i === 1 || i === n }).trimEnd();
  };
  const widest = (text: string): number => Math.max(...text.split('\n').map((l) => [...l].length));
  // As many implementations per table as fit; one per table at the least.
  const tables: string[] = [];
  let group: string[] = [];
  for (const impl of impls) {
    if (group.length > 0 && widest(render([...group, impl])) > width) {
      tables.push(render(group));
      group = [];
    }
    group.push(impl);
  }
  if (group.length > 0 || impls.length === 0) tables.push(render(group));

  const out: string[] = [];
  out.push(
    `run ${results.run.runId} · ${results.run.config.engine} · ${formatDuration(results.run.config.durationSeconds)} × ${results.run.config.reps} rep(s) · medians [95 % CI]`,
  );
  out.push(describeServerLogs(results.run.config.serverLogs, results.run.logging, impls));
  out.push(...tables);
  reasons.forEach((r, i) => out.push(`(${String.fromCharCode(97 + i)}) skipped: ${r}`));
  out.push('req/CPU-s = requests per second of server CPU; ratios to the reference: req/s = mean ratio ± σ, CPU-s = ratio of req/CPU-s [95 % CI]');
  // Each mark's legend only when a table shows the mark.
  const shown = [...grid.values()].join('\n');
  if (/ req\/s \*/.test(shown)) out.push('* fastest at that size (by median req/s, significantly ahead of the next: Welch p < 0.05)');
  const marks = [
    shown.includes('≈') ? '≈ not significantly different from the reference (Welch, p ≥ 0.05)' : '',
    shown.includes('[n = 1]') ? '[n = 1] no interval with one repetition' : '',
  ].filter(Boolean);
  if (marks.length > 0) out.push(marks.join('   '));
  if (results.cells.some(isGeneratorBound)) out.push('† generator-bound (the load generator used ≥ 90 % of its cores: it set req/s)');
  if (noCpu) out.push(`${NOT_MEASURED} not measured (server CPU unknown)`);
  for (const line of trustLines(results)) out.push(`trust: ${line}`);
  // A skip's reason is said once, in its footnote above.
  for (const w of results.warnings) {
    const text = describeWarning(w);
    if (!reasons.some((r) => text.includes(r))) out.push(`warning: ${text}`);
  }
  out.push(...verdictLines(results));
  return `${out.map((l) => (l.includes('\n') ? l : wrap(l, width, '  '))).join('\n')}\n`;
}

/**
 * hyperfine's closing summary, per size: "tsherve: 3.84 ± 0.21× gosherve's req/s (p < 0.001)"; a
 * difference the test cannot tell from noise says so, and one repetition says no test was made.
 */
function verdictLines(results: Results): string[] {
  const out: string[] = [];
  const many = results.comparisons.filter((c) => c.reference !== null).length > 1;
  for (const cmp of results.comparisons) {
    if (cmp.reference === null) continue;
    for (const e of cmp.entries) {
      if (e.impl === cmp.reference) continue;
      const r = e.reqPerSec;
      const test = r.significant === null ? 'untested: n = 1' : r.significant ? pValue(r.p as number) : `not significantly different, ${pValue(r.p as number)}`;
      out.push(`${many ? `size ${cmp.size}: ` : ''}${e.impl}: ${formatRatio(r)} ${cmp.reference}'s req/s (${test})`);
    }
  }
  return out;
}

/** Words onto lines of at most `w` columns; continuation lines start with `indent`. */
function wrap(text: string, w: number, indent = ''): string {
  const words = text.split(' ');
  const lines: string[] = [];
  let cur = '';
  for (const word of words) {
    if (cur && [...cur].length + 1 + [...word].length > w) {
      lines.push(cur);
      cur = `${indent}${word}`;
    } else cur = cur ? `${cur} ${word}` : word;
  }
  if (cur) lines.push(cur);
  return lines.join('\n');
}
