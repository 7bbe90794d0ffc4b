// `server-bench compare <baseline-run> <candidate-run> [--threshold 5] [--force] [--out FILE.md]`:
// refuses runs whose configurations differ (naming each difference) unless --force, prints the
// change table, writes it as markdown, and exits 1 when any cell regressed, so CI can gate on it.
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { compareResults, renderCompareMarkdown, renderCompareTerminal } from '../compare.js';
import { ExitCode, reportError, UsageError } from '../errors.js';
import { resultsForRun } from '../report/results.js';
import { writeFileAtomic } from '../store.js';

const USAGE = 'usage: server-bench compare <baseline-run> <candidate-run> [--threshold 5] [--force] [--out FILE.md]';

const ThresholdSchema = z.coerce.number().finite().nonnegative();

export async function main(argv: string[]): Promise<number> {
  try {
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        allowPositionals: true,
        options: { threshold: { type: 'string', default: '5' }, force: { type: 'boolean', default: false }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      });
    } catch (err) {
      throw new UsageError((err as Error).message, USAGE);
    }
    if (parsed.values.help) {
      process.stdout.write(`${USAGE}\n`);
      return ExitCode.ok;
    }
    if (parsed.positionals.length !== 2) throw new UsageError(`compare takes two run folders, got ${parsed.positionals.length}`, USAGE);
    const t = ThresholdSchema.safeParse(parsed.values.threshold);
    if (!t.success) throw new UsageError(`--threshold must be a non-negative percentage, got "${parsed.values.threshold}"`, 'e.g. --threshold 5');
    const [baseDir, candDir] = parsed.positionals.map((p) => resolve(p)) as [string, string];
    const baseline = await resultsForRun(baseDir);
    const candidate = await resultsForRun(candDir);
    const cmp = compareResults(baseline, candidate, t.data);
    if (cmp.configDiffs.length > 0 && !parsed.values.force) {
      for (const d of cmp.configDiffs) process.stderr.write(`difference: ${d}\n`);
      throw new UsageError(`the runs' configurations differ in ${cmp.configDiffs.length} way(s); their numbers are not comparable`, 'compare runs made with the same settings, or pass --force to compare anyway');
    }
    process.stdout.write(renderCompareTerminal(cmp));
    const out = parsed.values.out ? resolve(parsed.values.out) : join(candDir, `compare-${baseline.run.runId}.md`);
    await writeFileAtomic(out, renderCompareMarkdown(cmp));
    process.stderr.write(`wrote ${out}\n`);
    return cmp.regressions.length > 0 ? ExitCode.regression : ExitCode.ok;
  } catch (err) {
    return reportError(err);
  }
}
