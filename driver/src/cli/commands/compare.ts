// `server-bench compare <baseline-run> <candidate-run>`: refuses runs whose configurations differ
// (naming each difference) unless --force, prints the change table (or --json), writes markdown only
// where --out says, and exits 1 when any cell regressed, so CI can gate on it.
import { resolve } from 'node:path';
import { z } from 'zod';
import { compareResults, MIN_REPS_FOR_VERDICT, renderCompareMarkdown, renderCompareTerminal, summaryLine } from '../../results/compare.js';
import { parseCommandArgs } from '../args.js';
import { ExitCode, reportError, UsageError } from '../../errors.js';
import { resultsForRun } from '../../report/results.js';
import { writeFileAtomic } from '../../results/store.js';

const USAGE =
  'usage: server-bench compare <baseline-run> <candidate-run> [--threshold 5] [--relative-to IMPL] [--unchanged LIST] [--force] [--json] [--out FILE.md]';

const HELP = `${USAGE}

Compares two runs cell by cell: the change of the median req/s, MB/s and p99 latency, with the 95 %
interval of the change and Welch's p on the repetitions. A verdict needs at least ${MIN_REPS_FOR_VERDICT} repetitions on
each side; without them a row says "no noise estimate", and a change the noise cannot rule out is
"inconclusive". Exit 1 when any cell regressed (significant and beyond the threshold), so CI can gate on it.

  --threshold PCT     smallest change that counts (default 5)
  --relative-to IMPL  compare each implementation's ratio to IMPL, repetition by repetition in the
                      same run, instead of absolute numbers (cancels a faster or slower host)
  --unchanged LIST    implementations that did not change between the runs; if one moves beyond its
                      noise, the host changed and compare says so (default: nginx when both runs have it)
  --force             compare runs whose configurations differ (each difference is still printed)
  --json              the comparison as JSON on stdout instead of the table
  --out FILE.md       also write the comparison as markdown to FILE.md (nothing is written otherwise)
`;

const ThresholdSchema = z.coerce.number().finite().nonnegative();

export async function main(argv: string[]): Promise<number> {
  try {
    const parsed = parseCommandArgs(
      'compare',
      {
        args: argv,
        allowPositionals: true,
        options: {
          threshold: { type: 'string', default: '5' },
          'relative-to': { type: 'string' },
          unchanged: { type: 'string' },
          force: { type: 'boolean', default: false },
          json: { type: 'boolean', default: false },
          out: { type: 'string' },
          help: { type: 'boolean', short: 'h' },
        },
      },
      { threshold: 'PCT', 'relative-to': 'IMPL', unchanged: 'LIST', out: 'FILE.md' },
    );
    if (parsed.values.help) {
      process.stdout.write(HELP);
      return ExitCode.ok;
    }
    if (parsed.positionals.length !== 2) throw new UsageError(`compare takes two run folders, got ${parsed.positionals.length}`, USAGE);
    const t = ThresholdSchema.safeParse(parsed.values.threshold);
    if (!t.success) throw new UsageError(`--threshold must be a non-negative percentage, got "${parsed.values.threshold}"`, 'e.g. --threshold 5');
    const [baseDir, candDir] = parsed.positionals.map((p) => resolve(p)) as [string, string];
    const baseline = await resultsForRun(baseDir);
    const candidate = await resultsForRun(candDir);
    const relativeTo = parsed.values['relative-to'] ?? null;
    const unchanged =
      parsed.values.unchanged !== undefined
        ? parsed.values.unchanged
            .split(',')
            .map((x) => x.trim())
            .filter((x) => x !== '')
        : null;
    for (const impl of [...(relativeTo !== null ? [relativeTo] : []), ...(unchanged ?? [])]) {
      if (!baseline.impls.includes(impl) || !candidate.impls.includes(impl)) {
        throw new UsageError(
          `"${impl}" is not in both runs`,
          `both runs have: ${baseline.impls.filter((i) => candidate.impls.includes(i)).join(', ') || 'no implementation in common'}`,
        );
      }
    }
    const cmp = compareResults(baseline, candidate, { threshold: t.data, relativeTo, unchanged });
    if (cmp.configDiffs.length > 0 && !parsed.values.force) {
      for (const d of cmp.configDiffs) process.stderr.write(`difference: ${d}\n`);
      throw new UsageError(
        `the runs' configurations differ in ${cmp.configDiffs.length} way(s); their numbers are not comparable`,
        'compare runs made with the same settings, or pass --force to compare anyway',
      );
    }
    process.stdout.write(
      parsed.values.json
        ? `${JSON.stringify({ ...cmp, summary: summaryLine(cmp), exitCode: cmp.regressions.length > 0 ? ExitCode.regression : ExitCode.ok }, null, 2)}\n`
        : renderCompareTerminal(cmp),
    );
    if (parsed.values.out) {
      const out = resolve(parsed.values.out);
      await writeFileAtomic(out, renderCompareMarkdown(cmp));
      process.stderr.write(`wrote ${out}\n`);
    }
    return cmp.regressions.length > 0 ? ExitCode.regression : ExitCode.ok;
  } catch (err) {
    return reportError(err);
  }
}
