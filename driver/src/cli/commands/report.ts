// `server-bench report <run-dir>`: re-render everything derived from a run's stored results
// (results.json, report.md, report.html, each cell's summary.txt, reports/index.html) and print the
// terminal table. writeReports is also what `bench` calls at the end of a run.
import { basename, dirname, join, resolve } from 'node:path';
import { parseCommandArgs } from '../args.js';
import { BenchError, ExitCode, reportError, UsageError } from '../../errors.js';
import { cellDir, RESULTS_FILE, TEXT_SUMMARY_FILE } from '../../results/layout.js';
import { renderHtml } from '../../report/html.js';
import { buildIndex } from '../../report/index.js';
import { renderMarkdown } from '../../report/markdown.js';
import { buildResultsFromDir, type Results } from '../../report/results.js';
import { renderTerminal, terminalWidth } from '../../report/terminal.js';
import { renderTextSummary } from '../../report/textsummary.js';
import { writeFileAtomic, writeJsonAtomic } from '../../results/store.js';

export interface WrittenReports {
  results: Results;
  /** The terminal table (what `report` prints on stdout). */
  terminal: string;
  /** Every file written, absolute paths. */
  files: string[];
  /** Cells whose summary.txt could not be rendered (e.g. a raw k6 summary that does not parse), with why. */
  textSummaryErrors: string[];
}

/** Build results.json from a run folder and write every derived report; `reportsDir` defaults to the run's parent. */
export async function writeReports(runDir: string, opts: { reportsDir?: string; now?: Date; width?: number } = {}): Promise<WrittenReports> {
  const dir = resolve(runDir);
  const { results, loaded } = await buildResultsFromDir(dir, opts.now);
  const files: string[] = [];
  const put = async (path: string, text: string) => {
    await writeFileAtomic(path, text);
    files.push(path);
  };
  await writeJsonAtomic(join(dir, RESULTS_FILE), results);
  files.push(join(dir, RESULTS_FILE));
  await put(join(dir, 'report.md'), renderMarkdown(results));
  await put(join(dir, 'report.html'), renderHtml(results));
  const textSummaryErrors: string[] = [];
  for (const cell of loaded.cells) {
    try {
      await put(join(cellDir(dir, cell.size.name, cell.impl, cell.rep), TEXT_SUMMARY_FILE), renderTextSummary(cell));
    } catch (err) {
      textSummaryErrors.push(`${cell.id}: ${err instanceof BenchError ? err.oneLine() : String(err)}`);
    }
  }
  const reportsDir = resolve(opts.reportsDir ?? dirname(dir));
  const index = await buildIndex(reportsDir);
  await put(join(reportsDir, 'index.html'), index.html);
  return { results, terminal: renderTerminal(results, opts.width ?? terminalWidth()), files, textSummaryErrors };
}

const USAGE = 'usage: server-bench report <run-dir>';

export async function main(argv: string[]): Promise<number> {
  try {
    const parsed = parseCommandArgs('report', { args: argv, allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } });
    if (parsed.values.help) {
      process.stdout.write(
        `${USAGE}\n\nRe-renders results.json, report.md, report.html, every summary.txt and reports/index.html\nfrom the cells stored in <run-dir> (a folder under reports/, e.g. reports/20261201-120000),\nand prints the terminal table. Nothing is measured.\n`,
      );
      return ExitCode.ok;
    }
    if (parsed.positionals.length !== 1) throw new UsageError(`report takes one run folder, got ${parsed.positionals.length}`, USAGE);
    const out = await writeReports(parsed.positionals[0]!);
    process.stdout.write(out.terminal);
    for (const e of out.textSummaryErrors) process.stderr.write(`server-bench: warning: summary.txt not written for ${e}\n`);
    process.stderr.write(`wrote ${out.files.length} files for run ${basename(resolve(parsed.positionals[0]!))}\n`);
    return ExitCode.ok;
  } catch (err) {
    return reportError(err);
  }
}
