// report.html: one self-contained offline page (inline CSS and SVG; no fonts or requests; a script
// only for the flame graphs of bench --profile, report/profiles.ts):
// warnings first, the headline table (req/s and requests per server CPU-second with their ratios)
// and which ratio to trust, the original table shape, charts with 95 % whiskers, "≈" for
// non-significant differences and "†" on generator-bound cells, the detailed tables ("–" = not
// measured), verification, and the environment. Readable at 390 px and in dark mode
// (prefers-color-scheme). Pure: results in, string out.
import { referencesOf } from './wording.js';
import { describeMachines } from './machines.js';
import {
  bytesMB,
  cpuRatioText,
  int,
  latencyText,
  loadgenShareText,
  medianWithCi,
  ms,
  NOT_MEASURED,
  num,
  relativeText,
  throughput,
  verificationCounts,
} from './format.js';
import { schedulingText } from '../run/resume-check.js';
import { HEADLINE_COLUMNS, headlineLegend, headlineRows } from './headline.js';
import {
  cellOf,
  comparedOf,
  comparisonOf,
  describeWarning,
  isGeneratorBound,
  isNotSignificant,
  missesLatency,
  sizeLabel,
  type CellAggregate,
  type Results,
} from './results.js';
import { trustLines } from './trust.js';
import { escapeXml as esc, renderBarChart, type BarGroup } from './svg.js';
import { describeServerLogs } from '../servers/serverlogs.js';
import { PROFILE_CSS, profilesScript, renderProfilesHtml } from './profiles.js';

export const CSS = `
:root{--bg:#fff;--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--card:#f6f8fa;--warn-bg:#fff8c5;--warn-line:#d4a72c;--bad:#cf222e;--good:#1a7f37;
--s0:#0969da;--s1:#bf3989;--s2:#1a7f37;--s3:#bc4c00;--s4:#8250df;--s5:#57606a}
@media (prefers-color-scheme: dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--line:#30363d;--card:#161b22;--warn-bg:#2d2410;--warn-line:#9e6a03;--bad:#ff7b72;--good:#3fb950;
--s0:#4493f8;--s1:#f778ba;--s2:#3fb950;--s3:#f0883e;--s4:#a371f7;--s5:#9198a1}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;padding:16px;background:var(--bg);color:var(--fg);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:1100px;margin-inline:auto}
h1{font-size:1.5rem;margin:.2em 0}h2{font-size:1.2rem;margin-top:1.6em;border-bottom:1px solid var(--line);padding-bottom:.2em}
.sub{color:var(--muted);margin:0 0 1em}
.caption{color:var(--muted);margin:1em 0 .2em;font-size:.9rem}
.warnings{background:var(--warn-bg);border:1px solid var(--warn-line);border-radius:6px;padding:8px 14px;margin:12px 0}
.warnings h2{border:0;margin:.2em 0;font-size:1.05rem}.warnings ul{margin:.3em 0;padding-left:1.2em}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
table{border-collapse:collapse;margin:.5em 0;font-variant-numeric:tabular-nums;min-width:100%}
th,td{border:1px solid var(--line);padding:4px 8px;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
table.grid td,table.grid th{white-space:normal}table.grid th[scope=col]{overflow-wrap:anywhere}table.headline td:nth-child(2){text-align:left}table.headline th,table.headline td{white-space:normal}.nw{white-space:nowrap}table.headline thead th{vertical-align:bottom}
tr.fastest td:nth-child(2){font-weight:700}
.trust{border-left:4px solid var(--warn-line);padding:2px 12px;margin:10px 0}.trust ul{margin:.3em 0;padding-left:1.2em}
thead th{background:var(--card)}
td.skipped{color:var(--muted);font-style:italic;white-space:normal}
.fastest{font-weight:700}.ns{color:var(--muted)}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(480px,100%),1fr));gap:16px}
figure{margin:0;background:var(--card);border:1px solid var(--line);border-radius:6px;padding:6px}
svg.chart{width:100%;height:auto;display:block}
svg .chart-title{font-size:19px;font-weight:600;fill:var(--fg)}
svg .tick,svg .group-label,svg .legend-text{font-size:15px;fill:var(--fg)}
svg .axis-label{font-size:15px;fill:var(--muted)}
svg .grid{stroke:var(--line);stroke-width:1}svg .axis{stroke:var(--muted);stroke-width:1}
svg .whisker line{stroke:var(--fg);stroke-width:1.5}
svg text.ns{font-size:20px;font-weight:700;fill:var(--fg)}svg text.mark{font-size:18px;font-weight:700;fill:var(--bad)}
svg .s0{fill:var(--s0)}svg .s1{fill:var(--s1)}svg .s2{fill:var(--s2)}svg .s3{fill:var(--s3)}svg .s4{fill:var(--s4)}svg .s5{fill:var(--s5)}
figcaption{font-size:.85rem;color:var(--muted);padding:2px 4px}
dl.env{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px}dl.env dt{color:var(--muted)}dl.env dd{margin:0;overflow-wrap:anywhere}
.pass{color:var(--good)}.fail{color:var(--bad)}
code{overflow-wrap:anywhere}
a{color:var(--s0)}
@media (max-width:500px){body{padding:10px;font-size:14px}th,td{padding:3px 5px}}
`;

function grid(results: Results, cell: (c: CellAggregate, impl: string, size: string) => string, caption: string): string {
  const head = `<thead><tr><th scope="col">machine / load</th>${results.impls.map((i) => `<th scope="col">${esc(i)}</th>`).join('')}</tr></thead>`;
  const rows = results.sizes.map((s) => {
    const tds = results.impls.map((impl) => {
      const c = cellOf(results, impl, s.name);
      if (!c) {
        const sk = results.skipped.find((x) => x.impl === impl && x.size === s.name);
        return `<td class="skipped"${sk ? ` title="${esc(sk.reason)}"` : ''}>${sk ? 'skipped' : '—'}</td>`;
      }
      return `<td>${cell(c, impl, s.name)}</td>`;
    });
    return `<tr><th scope="row">${esc(sizeLabel(results, s.name))}</th>${tds.join('')}</tr>`;
  });
  return `<p class="caption">${esc(caption)}</p><div class="scroll"><table class="grid">${head}<tbody>${rows.join('')}</tbody></table></div>`;
}

interface PerSizeChart {
  id: string;
  title: string;
  yLabel: string;
  pick: (c: CellAggregate) => { value: number; lo: number | null; hi: number | null } | null;
  format: (v: number) => string;
  /** The comparison whose non-significant differences get "≈"; null: none. */
  significance: 'reqPerSec' | 'mbPerSec' | 'reqPerCpuSecond' | null;
  /** Instead of the default caption about medians and whiskers. */
  caption?: string;
  /** "†" on generator-bound cells (the metrics the load generator can cap). */
  markBound?: boolean;
}

function perSizeChart(results: Results, { id, title, yLabel, pick, format, significance, caption, markBound = false }: PerSizeChart): string {
  const groups: BarGroup[] = [];
  for (const s of results.sizes) {
    const bars = results.impls.flatMap((impl, series) => {
      const c = cellOf(results, impl, s.name);
      const v = c ? pick(c) : null;
      if (!c || !v) return [];
      const compared = significance ? comparedOf(results, impl, s.name) : undefined;
      const ns = compared !== undefined && significance !== null && !compared.isReference && compared.entry[significance]?.significant === false;
      const bound = markBound && isGeneratorBound(c);
      const ci = v.lo !== null && v.hi !== null ? ` [95 % CI ${format(v.lo)}–${format(v.hi)}]` : ' (n = 1, no interval)';
      return [
        {
          series,
          value: v.value,
          lo: v.lo,
          hi: v.hi,
          notSignificant: ns,
          ...(bound ? { mark: '†' } : {}),
          label: `${impl} at ${s.name} vCPU: ${format(v.value)} ${yLabel}${ci}${ns ? ', not significantly different from the reference' : ''}${bound ? ', generator-bound (the load generator set this number)' : ''}`,
        },
      ];
    });
    if (bars.length > 0) groups.push({ label: `${s.name} vCPU`, bars });
  }
  const boundNote = markBound && results.cells.some(isGeneratorBound) ? ' † generator-bound: the load generator set this number.' : '';
  return figure(
    renderBarChart({ id, title, yLabel, xLabel: 'machine size', series: results.impls, groups, format }),
    (caption ??
      (significance
        ? 'Bars: median over repetitions; whiskers: 95 % interval of the mean; ≈ not significantly different from the reference (Welch, p ≥ 0.05).'
        : 'Bars: median over repetitions; whiskers: 95 % interval of the mean.')) + boundNote,
  );
}

/** The "≈" after a table cell not significantly different from the reference. */
const NS_MARK = ' <span class="ns" title="not significantly different from the reference">≈</span>';

function figure(svg: string, caption: string): string {
  return `<figure>${svg}<figcaption>${esc(caption)}</figcaption></figure>`;
}

function medianCi(s: { median: number; ci95: { lo: number; hi: number } | null }) {
  return { value: s.median, lo: s.ci95?.lo ?? null, hi: s.ci95?.hi ?? null };
}

function latencyChart(results: Results): string {
  const groups: BarGroup[] = results.cells.map((c) => ({
    label: `${c.impl}\n${c.size} vCPU`,
    // A percentile that was not measured gets no bar (never one borrowed from another statistic).
    bars: (['p50', 'p95', 'p99'] as const).flatMap((p, series) => {
      const v = c.latencyMs[p];
      return v ? [{ series, value: v.median, lo: v.ci95?.lo ?? null, hi: v.ci95?.hi ?? null, label: `${c.impl} at ${c.size} vCPU ${p}: ${ms(v.median)}` }] : [];
    }),
  }));
  const missing = results.cells.some(missesLatency) ? ' A missing bar is a percentile that was not measured (see the warnings).' : '';
  return figure(
    renderBarChart({
      id: 'chart-latency',
      title: 'Latency percentiles',
      yLabel: 'milliseconds',
      xLabel: 'implementation · vCPUs',
      series: ['p50', 'p95', 'p99'],
      groups,
      log: true,
      colorOffset: 3,
      format: num,
    }),
    `Median over repetitions of each percentile; logarithmic axis so sub-millisecond and second-long tails fit together.${missing}`,
  );
}

/** The headline table, its legend and which ratio to trust for generator-bound cells. */
function headlineSection(results: Results): string {
  const head = `<thead><tr>${HEADLINE_COLUMNS.map((h) => `<th scope="col">${esc(h)}</th>`).join('')}</tr></thead>`;
  const rows = headlineRows(results).map((row) => {
    // Cells may wrap between a median and its interval, never inside "[lo–hi]".
    const [size, impl, ...rest] = row.cells.map((t) => esc(t).replace(/\[[^\]]*\]/g, '<span class="nw">$&</span>'));
    return `<tr class="${[row.fastest ? 'fastest' : '', row.generatorBound ? 'bound' : ''].filter(Boolean).join(' ')}"><th scope="row">${size}</th><td>${impl}</td>${rest.map((t) => `<td>${t}</td>`).join('')}</tr>`;
  });
  const trust = trustLines(results);
  return [
    '<section id="results"><h2>Results</h2>',
    `<div class="scroll"><table class="headline">${head}<tbody>${rows.join('')}</tbody></table></div>`,
    ...headlineLegend(results).map((l) => `<p class="caption">${esc(l)}</p>`),
    trust.length > 0 ? `<div class="trust"><p><strong>Which ratio to trust:</strong></p><ul>${trust.map((t) => `<li>${esc(t)}</li>`).join('')}</ul></div>` : '',
    '</section>',
  ].join('\n');
}

export function renderHtml(results: Results): string {
  const r = results.run;
  const title = `server-bench run ${r.runId}`;
  const anyN1 = results.cells.some((c) => c.n === 1);
  const warnings =
    results.warnings.length === 0
      ? ''
      : `<section class="warnings" role="alert" aria-label="warnings"><h2>⚠ ${results.warnings.length} warning${results.warnings.length === 1 ? '' : 's'}</h2><ul>${results.warnings.map((w) => `<li><strong>${esc(w.code)}</strong>: ${esc(describeWarning(w))}</li>`).join('')}</ul></section>`;
  const site =
    r.site.kind === 'generated'
      ? `generated (seed ${r.site.seed}), ${r.site.files} files, ${bytesMB(r.site.bytes)}, ${r.site.aliases} aliases`
      : `${r.site.webroot}, ${r.site.files} files, ${bytesMB(r.site.bytes)}, ${r.site.aliases} aliases`;
  const memEnforced =
    results.cells.length === 0
      ? 'no cells'
      : results.cells.every((c) => c.memoryEnforced)
        ? 'yes (cgroup v2)'
        : results.cells.some((c) => c.memoryEnforced)
          ? 'partly'
          : 'no (recorded only)';
  const env: Array<[string, string]> = [
    ['host', `${r.host.hostname}: ${r.host.cpuModel}, ${r.host.cores} cores, ${bytesMB(r.host.memoryBytes)} RAM`],
    ['OS / kernel', `${r.host.os} / ${r.host.kernel}`],
    [
      'backend',
      r.backend === 'vm'
        ? `VMs${r.emulated ? ' (emulated, no KVM)' : ' (KVM)'}`
        : r.backend === 'hosts'
          ? `machines of a hosts file: ${describeMachines(r).join(' · ')}`
          : 'local: pinned processes on this host',
    ],
    ['load generator', `${r.config.engine} ${r.versions.engine}, ${r.loadgen === 'dedicated' ? 'on dedicated cores' : "sharing the server's cores"}`],
    [
      'load',
      `${r.config.durationSeconds} s measured after ${r.config.warmupSeconds} s warm-up, ${schedulingText(r)}, VUs ${r.config.vusOverride ?? 'per size'}`,
    ],
    ['memory limits enforced', memEnforced],
    ['server logs', describeServerLogs(r.config.serverLogs, r.logging, results.impls).replace(/^server logs: /, '')],
    ['site', site],
    [
      'versions',
      [`node ${r.versions.node}`, r.versions.go ? `go ${r.versions.go}` : null, ...Object.entries(r.versions.impls).map(([k, v]) => `${k} ${v}`)]
        .filter(Boolean)
        .join(', '),
    ],
    ['git revision', `${r.git.revision ?? 'unknown'}${r.git.dirty ? ' (uncommitted changes)' : ''}`],
    ['reference', r.config.reference],
    ['created', r.createdAt],
  ];
  const fastestMark = (impl: string, size: string) => comparisonOf(results, size)?.fastest === impl;
  const body = [
    `<header><h1>${esc(title)}</h1><p class="sub">${esc(`${r.config.engine} · ${results.impls.length} implementation(s) × ${results.sizes.length} size(s) · ${r.config.reps} repetition(s) · backend ${r.backend} · server logs ${r.config.serverLogs ?? 'shipped (not recorded)'}`)}</p></header>`,
    warnings,
    headlineSection(results),
    '<section><h2>Throughput</h2>',
    grid(
      results,
      (c, impl, size) =>
        (fastestMark(impl, size) ? `<span class="fastest">${esc(throughput(c.mbPerSec.median))} *</span>` : esc(throughput(c.mbPerSec.median))) +
        (isGeneratorBound(c) ? ' <span title="load generator saturated">†</span>' : ''),
      `Median throughput per implementation and machine size (MB/s or GB/s; MB = 10⁶ bytes, GB = 10⁹), laid out as in the blog post this project grew from; * fastest at that size, significantly ahead of the next (Welch p < 0.05).${results.cells.some(isGeneratorBound) ? ' † generator-bound: the load generator was saturated.' : ''}`,
    ),
    '</section>',
    '<section><h2>Charts</h2><div class="charts">',
    perSizeChart(results, {
      id: 'chart-rps',
      title: 'Requests per second',
      yLabel: 'req/s',
      pick: (c) => medianCi(c.reqPerSec),
      format: int,
      significance: 'reqPerSec',
      markBound: true,
    }),
    perSizeChart(results, {
      id: 'chart-cpu-rps',
      title: 'Requests per server CPU-second',
      yLabel: 'requests per CPU-second',
      pick: (c) => (c.reqPerCpuSecond ? medianCi(c.reqPerCpuSecond) : null),
      format: int,
      significance: 'reqPerCpuSecond',
      caption:
        'Bars: median over repetitions of requests ÷ server CPU seconds, what the server does with the CPU it used whoever set the pace; whiskers: 95 % interval of the mean; ≈ not significantly different from the reference.',
    }),
    perSizeChart(results, {
      id: 'chart-mbps',
      title: 'Throughput',
      yLabel: 'MB/s',
      pick: (c) => medianCi(c.mbPerSec),
      format: num,
      significance: 'mbPerSec',
      markBound: true,
    }),
    latencyChart(results),
    perSizeChart(results, {
      id: 'chart-cpu',
      title: 'Server CPU per request',
      yLabel: 'µs of CPU per request',
      pick: (c) => (c.cpuMicrosPerRequest ? medianCi(c.cpuMicrosPerRequest) : null),
      format: num,
      significance: null,
    }),
    perSizeChart(results, {
      id: 'chart-memory',
      title: 'Peak memory',
      yLabel: 'MB resident (peak)',
      pick: (c) => (c.peakRssBytes === null ? null : { value: c.peakRssBytes / 1e6, lo: null, hi: null }),
      format: num,
      significance: null,
      caption: "Bars: the largest resident memory of the server's process tree over all repetitions (a maximum, so no interval).",
    }),
    '</div></section>',
    renderProfilesHtml(results),
    '<section><h2>Tables</h2>',
    grid(
      results,
      (c, impl, size) =>
        `${fastestMark(impl, size) ? '<span class="fastest">' : ''}${esc(medianWithCi(c.reqPerSec, int))}${fastestMark(impl, size) ? ' *</span>' : ''}${isNotSignificant(results, impl, size) ? NS_MARK : ''}${isGeneratorBound(c) ? ' <span title="generator-bound">†</span>' : ''}`,
      'Requests per second: median [95 % CI of the mean]; * fastest; ≈ not significantly different from the reference (Welch, p ≥ 0.05); † generator-bound.',
    ),
    grid(
      results,
      (c) => esc(c.reqPerCpuSecond ? medianWithCi(c.reqPerCpuSecond, int) : NOT_MEASURED),
      `Requests per server CPU-second: median [95 % CI]${results.cells.some((c) => !c.reqPerCpuSecond) ? `; ${NOT_MEASURED} server CPU not measured` : ''}.`,
    ),
    grid(
      results,
      (c, impl, size) => `${esc(medianWithCi(c.mbPerSec, num))}${isNotSignificant(results, impl, size, 'mbPerSec') ? NS_MARK : ''}`,
      'MB/s: median [95 % CI]; ≈ not significantly different from the reference.',
    ),
    grid(
      results,
      (c, impl, size) => {
        const compared = comparedOf(results, impl, size);
        if (!compared) return '—';
        const text = relativeText(compared.entry.reqPerSec, compared.isReference);
        return compared.entry.reqPerSec.significant === false ? `<span class="ns">${esc(text)}</span>` : esc(text);
      },
      `req/s relative to the reference (${referencesOf(results)}): mean ratio ± propagated σ, Welch p; n.s. = not significant at 5 %.`,
    ),
    grid(
      results,
      (c, impl, size) => {
        const compared = comparedOf(results, impl, size);
        return compared ? esc(cpuRatioText(compared.entry.reqPerCpuSecond, compared.isReference)) : '—';
      },
      `Requests per server CPU-second relative to the reference (${referencesOf(results)}): ratio of means [95 % interval].`,
    ),
    grid(
      results,
      (c) => esc(latencyText(c.latencyMs)),
      `Latency p50 / p95 / p99 (median over repetitions)${results.cells.some(missesLatency) ? `; ${NOT_MEASURED} not measured (the load generator's output did not hold it; never filled in from another statistic)` : ''}.`,
    ),
    grid(results, (c) => esc(c.cpuSecondsPerGB ? medianWithCi(c.cpuSecondsPerGB, num) : 'not measured'), 'Server CPU seconds per GB served.'),
    grid(results, (c) => esc(c.cpuMicrosPerRequest ? medianWithCi(c.cpuMicrosPerRequest, num) : 'not measured'), 'Server CPU µs per request.'),
    grid(results, (c) => esc(c.peakRssBytes === null ? 'not measured' : bytesMB(c.peakRssBytes)), 'Peak resident memory (largest over repetitions).'),
    grid(results, (c) => esc(c.mapFetches ? int(c.mapFetches.median) : 'not counted'), 'Redirect-map fetches per repetition (median).'),
    grid(
      results,
      (c) => esc(loadgenShareText(c)),
      'Load generator CPU share of the cores it was pinned to (median [lowest–highest] over repetitions); † ≥ 90 %: generator-bound.',
    ),
    anyN1 ? '<p class="sub">[n = 1]: a single repetition, so no confidence interval or significance test can be given.</p>' : '',
    '</section>',
    '<section><h2>Verification</h2><ul>',
    ...results.verifications.map(
      (v) =>
        `<li><span class="${v.passed ? 'pass' : 'fail'}">${v.passed ? '✓ passed' : '✗ failed'}</span> <strong>${esc(v.impl)}</strong> at ${esc(v.size)} vCPU: ${esc(verificationCounts(v))}${
          v.findings.filter((f) => f.status !== 'pass').length > 0
            ? `<ul>${v.findings
                .filter((f) => f.status !== 'pass')
                .map((f) => `<li>${esc(f.status)}: <code>${esc(f.url)}</code> — ${esc(f.reason)}</li>`)
                .join('')}</ul>`
            : ''
        }</li>`,
    ),
    ...results.skipped.map((s) => `<li class="ns">skipped <strong>${esc(s.impl)}</strong> at ${esc(s.size)} vCPU: ${esc(s.reason)}</li>`),
    '</ul></section>',
    `<section><h2>Environment</h2><dl class="env">${env.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl></section>`,
    `<footer><p class="sub">Statistics: medians over repetitions; 95 % intervals of the mean (Student's t); ratios with first-order propagated σ; Welch's t-test at 5 %; outliers flagged by median/MAD, never dropped. Generated ${esc(results.generatedAt)} from results.json.</p></footer>`,
  ].join('\n');
  return htmlPage(title, `${CSS}${results.profiles?.length ? PROFILE_CSS : ''}`, `${body}\n${profilesScript(results)}`);
}

/** The page around a report's body (report.html, reports/index.html): offline, phone-sized, light or dark. */
export function htmlPage(title: string, css: string, body: string): string {
  return `<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">\n<meta name="color-scheme" content="light dark">\n<title>${esc(title)}</title>\n<style>${css}</style>\n</head>\n<body>\n${body}</body>\n</html>\n`;
}
