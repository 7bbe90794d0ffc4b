// report.md: GitHub-flavoured markdown for a PR or a blog. First the headline table (req/s and
// requests per server CPU-second with their ratios to the reference, and the load generator's CPU
// share) and which ratio to trust where the generator was the limit; then the original post's
// table shape (throughput per server × machine size), req/s, latency, CPU and memory efficiency,
// map fetches, verification findings and warnings. "–" marks a statistic that was not measured.
// Pure.
import { referencesOf } from './wording.js';
import { describeMachines } from './machines.js';
import {
  bytesMB,
  cpuRatioText,
  int,
  latencyText,
  loadgenShareText,
  medianWithCi,
  NOT_MEASURED,
  num,
  relativeText,
  throughput,
  verificationCounts,
} from './format.js';
import { schedulingText } from '../run/resume-check.js';
import { HEADLINE_COLUMNS, headlineLegend, headlineRows } from './headline.js';
import { renderProfilesMarkdown } from './profiles.js';
import { cellOf, comparedOf, comparisonOf, isGeneratorBound, isNotSignificant, missesLatency, sizeLabel, type CellAggregate, type Results } from './results.js';
import { trustLines } from './trust.js';
import { describeServerLogs } from '../servers/serverlogs.js';

function esc(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function grid(results: Results, cell: (c: CellAggregate, impl: string, size: string) => string, firstColumn = 'machine / load'): string {
  const impls = results.impls;
  const lines = [`| ${firstColumn} | ${impls.map(esc).join(' | ')} |`, `|---|${impls.map(() => '---:').join('|')}|`];
  for (const size of results.sizes) {
    const cells = impls.map((impl) => {
      const c = cellOf(results, impl, size.name);
      if (!c) return results.skipped.some((s) => s.impl === impl && s.size === size.name) ? 'skipped' : '—';
      return esc(cell(c, impl, size.name));
    });
    lines.push(`| ${esc(sizeLabel(results, size.name))} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

export function renderMarkdown(results: Results): string {
  const r = results.run;
  const out: string[] = [];
  const anyN1 = results.cells.some((c) => c.n === 1);
  out.push(`# server-bench run ${r.runId}`);
  out.push('');
  const site =
    r.site.kind === 'generated'
      ? `generated site (seed ${r.site.seed}, ${r.site.files} files, ${bytesMB(r.site.bytes)}, ${r.site.aliases} aliases)`
      : `${r.site.webroot} (${r.site.files} files, ${bytesMB(r.site.bytes)}, ${r.site.aliases} aliases)`;
  out.push(
    `${r.config.engine} ${r.versions.engine}, ${r.config.durationSeconds} s measured after ${r.config.warmupSeconds} s warm-up, ${schedulingText(r)}; ${site}; backend ${r.backend}, load generator ${r.loadgen}; host ${r.host.cpuModel} (${r.host.cores} cores), ${r.host.kernel}; git ${r.git.revision ?? 'unknown'}${r.git.dirty ? ' (dirty)' : ''}.`,
  );
  out.push('');
  for (const line of describeMachines(r)) out.push(`- Machine ${line}`);
  if (r.machines) out.push('');
  const versions = results.impls.filter((i) => r.versions.impls[i] !== undefined).map((i) => `**${esc(i)}** ${esc(r.versions.impls[i] as string)}`);
  if (versions.length > 0) {
    out.push(`Implementations: ${versions.join('; ')}.`);
    out.push('');
  }
  out.push(`${esc(describeServerLogs(r.config.serverLogs, r.logging, results.impls)).replace(/^server logs/, 'Server logs')}.`);
  out.push('');
  if (results.warnings.length > 0) {
    out.push(`> **${results.warnings.length} warning(s)** — see [Warnings](#warnings).`);
    out.push('');
  }
  out.push('## Results (median [95 % CI] over repetitions)');
  out.push('');
  out.push(`| ${HEADLINE_COLUMNS.join(' | ')} |`);
  out.push(
    `|---|---|${HEADLINE_COLUMNS.slice(2)
      .map(() => '---:')
      .join('|')}|`,
  );
  for (const row of headlineRows(results)) out.push(`| ${row.cells.map(esc).join(' | ')} |`);
  out.push('');
  for (const line of headlineLegend(results)) out.push(esc(line.replace(/\*/g, '\\*')), '');
  const trust = trustLines(results);
  if (trust.length > 0) {
    out.push('**Which ratio to trust:**');
    out.push('');
    for (const line of trust) out.push(`- ${line}`);
    out.push('');
  }
  out.push('## Throughput (median, MB/s or GB/s)');
  out.push('');
  out.push(
    grid(
      results,
      (c, impl, size) => `${throughput(c.mbPerSec.median)}${comparisonOf(results, size)?.fastest === impl ? ' **\\***' : ''}${isGeneratorBound(c) ? ' †' : ''}`,
    ),
  );
  out.push('');
  out.push(
    `\\* fastest at that size by median req/s, and significantly ahead of the next (Welch p < 0.05). MB = 10⁶ bytes, GB = 10⁹ bytes.${results.cells.some(isGeneratorBound) ? ' † the load generator was saturated: generator-bound, the server may be faster.' : ''}`,
  );
  out.push('');
  out.push('## Requests per second (median [95 % CI])');
  out.push('');
  out.push(
    grid(results, (c, impl, size) => `${medianWithCi(c.reqPerSec, int)}${isNotSignificant(results, impl, size) ? ' ≈' : ''}${isGeneratorBound(c) ? ' †' : ''}`),
  );
  out.push('');
  out.push('## Requests per server CPU-second (median [95 % CI])');
  out.push('');
  out.push(grid(results, (c) => (c.reqPerCpuSecond ? medianWithCi(c.reqPerCpuSecond, int) : NOT_MEASURED)));
  out.push('');
  out.push('## Throughput (MB/s, median [95 % CI])');
  out.push('');
  out.push(grid(results, (c, impl, size) => `${medianWithCi(c.mbPerSec, num)}${isNotSignificant(results, impl, size, 'mbPerSec') ? ' ≈' : ''}`));
  out.push('');
  out.push(
    `≈ not significantly different from the reference (Welch, p ≥ 0.05).${results.cells.some(isGeneratorBound) ? " † generator-bound: req/s is the load generator's limit." : ''}${results.cells.some((c) => !c.reqPerCpuSecond) ? ` ${NOT_MEASURED} server CPU not measured.` : ''}`,
  );
  out.push('');
  if (anyN1) {
    out.push('Cells with a single repetition show `[n = 1]`: no confidence interval can be given.');
    out.push('');
  }
  out.push(`## Relative to the reference, ${referencesOf(results)} (req/s, mean ± σ, Welch p)`);
  out.push('');
  out.push(
    grid(results, (c, impl, size) => {
      const compared = comparedOf(results, impl, size);
      return compared ? relativeText(compared.entry.reqPerSec, compared.isReference) : '—';
    }),
  );
  out.push('');
  out.push('n.s. = not significantly different from the reference at 5 %.');
  for (const c of results.comparisons) if (c.note) out.push(`Size ${c.size}: ${c.note}.`);
  out.push('');
  out.push(`## Relative to the reference, ${referencesOf(results)} (requests per server CPU-second, ratio of means [95 % CI])`);
  out.push('');
  out.push(
    grid(results, (c, impl, size) => {
      const compared = comparedOf(results, impl, size);
      return compared ? cpuRatioText(compared.entry.reqPerCpuSecond, compared.isReference) : '—';
    }),
  );
  out.push('');
  out.push('## Latency (median of repetitions: p50 / p95 / p99)');
  out.push('');
  out.push(grid(results, (c) => latencyText(c.latencyMs)));
  out.push('');
  if (results.cells.some(missesLatency)) {
    out.push(
      `${NOT_MEASURED} not measured: the load generator's output did not hold that statistic (see the not-measured warning); never filled in from another one.`,
    );
    out.push('');
  }
  out.push('## Efficiency');
  out.push('');
  out.push('Server CPU seconds per GB served (median [95 % CI]):');
  out.push('');
  out.push(grid(results, (c) => (c.cpuSecondsPerGB ? medianWithCi(c.cpuSecondsPerGB, num) : 'not measured')));
  out.push('');
  out.push('Server CPU µs per request (median [95 % CI]):');
  out.push('');
  out.push(grid(results, (c) => (c.cpuMicrosPerRequest ? medianWithCi(c.cpuMicrosPerRequest, num) : 'not measured')));
  out.push('');
  out.push('Peak resident memory (largest over repetitions; summed over processes):');
  out.push('');
  out.push(grid(results, (c) => (c.peakRssBytes === null ? 'not measured' : `${bytesMB(c.peakRssBytes)}${c.memoryEnforced ? '' : ' (limit not enforced)'}`)));
  out.push('');
  out.push('Redirect-map fetches per repetition (median):');
  out.push('');
  out.push(grid(results, (c) => (c.mapFetches ? int(c.mapFetches.median) : 'not counted')));
  out.push('');
  out.push('Load generator CPU share per cell (median of repetitions [lowest–highest], of the cores it was pinned to; † ≥ 90 %: generator-bound):');
  out.push('');
  out.push(grid(results, loadgenShareText));
  out.push('');
  out.push(...renderProfilesMarkdown(results));
  out.push('## Verification');
  out.push('');
  if (results.verifications.length === 0) out.push('No verification records.');
  for (const v of results.verifications) {
    out.push(`- ${v.passed ? '✅' : '❌'} **${esc(v.impl)}** at size ${v.size}: ${verificationCounts(v)}`);
    for (const f of v.findings.filter((x) => x.status !== 'pass')) out.push(`  - ${f.status}: \`${f.url}\` — ${f.reason}`);
  }
  if (results.skipped.length > 0) {
    out.push('');
    out.push('Skipped cells:');
    out.push('');
    for (const s of results.skipped) out.push(`- ${esc(s.impl)} at size ${s.size}: ${s.reason}`);
  }
  out.push('');
  out.push('## Warnings');
  out.push('');
  if (results.warnings.length === 0) out.push('None.');
  for (const w of results.warnings) {
    const where = [w.impl, w.size ? `size ${w.size}` : null, w.reps.length > 0 ? `rep ${w.reps.join(', ')}` : null].filter(Boolean).join(', ');
    out.push(`- **${w.code}**${where ? ` (${where})` : ''}: ${w.message}`);
  }
  out.push('');
  out.push(
    `Statistics: medians over repetitions; 95 % intervals of the mean from Student's t; ratios are mean/mean with first-order propagated σ; Welch's t-test at 5 %; outliers by median/MAD (modified z > 3.5) are flagged, never dropped.`,
  );
  return `${out.join('\n')}\n`;
}
