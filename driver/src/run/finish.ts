// How a bench command starts listening for Ctrl-C and how it ends, whichever backend ran the
// cells: reports derived from the stored results, the statistics table on stdout, failed cells
// named. One place, so the local and the VM backend write the same reports.
import { InterruptedError } from './events.js';
import type { BenchOutcome } from './loop.js';
import { ExitCode, type ExitCodeValue } from '../errors.js';
import { outcomeCode } from './outcome-code.js';
import { renderTable } from '../report/table.js';

/**
 * The first SIGINT/SIGTERM aborts the returned signal (the backend stops the current cell and keeps
 * finished ones); a second one calls `killNow` and exits at once.
 */
export function interruptible(stopping: string, killNow: () => void): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController();
  let count = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (++count === 1) {
      process.stderr.write(`\nserver-bench: ${sig}: ${stopping} (again to kill at once)\n`);
      ac.abort(new InterruptedError(null));
    } else {
      killNow();
      process.exit(ExitCode.interrupted);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: ac.signal,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** Write every report of the run and print the outcome; a renderer failure loses no result. */
export async function finishRun(
  outcome: BenchOutcome,
  opts: { reportsDir: string; json: boolean; retryHint: string; requested?: readonly string[] | null },
): Promise<ExitCodeValue> {
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ runDir: outcome.runDir, run: outcome.run, results: outcome.results }, null, 2)}\n`);
  }
  try {
    const { writeReports } = await import('../cli/commands/report.js');
    const written = await writeReports(outcome.runDir, { reportsDir: opts.reportsDir });
    if (!opts.json) {
      process.stdout.write(written.terminal.endsWith('\n') ? written.terminal : `${written.terminal}\n`);
      process.stdout.write(`results: ${outcome.runDir} (report.md, report.html, results.json)\n`);
    }
    for (const e of written.textSummaryErrors) process.stderr.write(`server-bench: warning: summary.txt not written for ${e}\n`);
  } catch (err) {
    if (!opts.json) {
      process.stdout.write(renderTable(outcome.results, outcome.run.config.impls));
      process.stdout.write(`results: ${outcome.runDir}\n`);
    }
    process.stderr.write(
      `server-bench: the reports could not be rendered: ${(err as Error).message} (the results are stored; run server-bench report ${outcome.runDir})\n`,
    );
  }
  const end = outcomeCode(outcome, opts.requested ?? null, opts.retryHint);
  for (const line of end.lines) process.stderr.write(`${line}\n`);
  return end.code;
}
