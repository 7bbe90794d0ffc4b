// reports/index.html: every run folder in reports/ that has a results.json, newest first, with its
// matrix (implementations × sizes), headline numbers (median req/s, MB/s and requests per server
// CPU-second; fastest `*`, generator-bound `†`) and a link to its report.html. Self-contained like report.html. renderIndex is pure; buildIndex reads.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { RESULTS_FILE } from '../results/layout.js';
import { int, NOT_MEASURED, throughput } from './format.js';
import { CSS, htmlPage } from './html.js';
import { cellOf, comparisonOf, isGeneratorBound, readResults, sizeLabel, type Results } from './results.js';
import { escapeXml as esc } from './svg.js';

export interface IndexEntry {
  /** Folder name under reports/, used for the link. */
  folder: string;
  results: Results;
}

function renderIndex(entries: IndexEntry[]): string {
  const sorted = [...entries].sort((a, b) => b.results.run.createdAt.localeCompare(a.results.run.createdAt) || b.folder.localeCompare(a.folder));
  const sections = sorted.map(({ folder, results }) => {
    const r = results.run;
    const head = `<tr><th scope="col">machine / load</th>${results.impls.map((i) => `<th scope="col">${esc(i)}</th>`).join('')}</tr>`;
    const rows = results.sizes.map((s) => {
      const cmp = comparisonOf(results, s.name);
      const tds = results.impls.map((impl) => {
        const c = cellOf(results, impl, s.name);
        if (!c) return '<td class="skipped">skipped</td>';
        const mark = cmp?.fastest === impl ? ' *' : '';
        const bound = isGeneratorBound(c) ? ' †' : '';
        return `<td${mark ? ' class="fastest"' : ''}>${esc(`${int(c.reqPerSec.median)} req/s${mark}${bound}`)}<br>${esc(throughput(c.mbPerSec.median))}<br>${esc(`${c.reqPerCpuSecond ? int(c.reqPerCpuSecond.median) : NOT_MEASURED} req/CPU-s`)}</td>`;
      });
      return `<tr><th scope="row">${esc(sizeLabel(results, s.name))}</th>${tds.join('')}</tr>`;
    });
    const warn = results.warnings.length > 0 ? ` · <span class="fail">${results.warnings.length} warning(s)</span>` : '';
    return `<section class="run"><h2><a href="${esc(encodeURIComponent(folder))}/report.html">${esc(r.runId)}</a></h2><p class="sub">${esc(`${r.createdAt} · ${r.config.engine} · ${r.backend} · ${r.config.reps} rep(s) × ${r.config.durationSeconds} s · git ${r.git.revision?.slice(0, 12) ?? 'unknown'}`)}${warn}</p><div class="scroll"><table><thead>${head}</thead><tbody>${rows.join('')}</tbody></table></div></section>`;
  });
  const body = sections.length > 0 ? sections.join('\n') : '<p>No runs yet: run <code>npm run bench</code>.</p>';
  return htmlPage(
    'server-bench runs',
    CSS,
    `<header><h1>server-bench runs</h1><p class="sub">${sorted.length} run(s), newest first. Median req/s, MB/s and requests per server CPU-second per cell; * fastest at that size; † generator-bound (the load generator set req/s); ${NOT_MEASURED} not measured.</p></header>\n${body}\n`,
  );
}

/** Read every reports/<folder>/results.json (unreadable ones are listed on `skippedFolders`). */
export async function buildIndex(reportsDir: string): Promise<{ html: string; entries: IndexEntry[]; skippedFolders: string[] }> {
  const entries: IndexEntry[] = [];
  const skippedFolders: string[] = [];
  const names = await readdir(reportsDir, { withFileTypes: true }).catch(() => []);
  for (const d of names) {
    if (!d.isDirectory()) continue;
    try {
      entries.push({ folder: d.name, results: await readResults(join(reportsDir, d.name, RESULTS_FILE)) });
    } catch {
      skippedFolders.push(d.name);
    }
  }
  return { html: renderIndex(entries), entries, skippedFolders };
}
