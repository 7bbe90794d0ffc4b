// The profile sections of report.md and report.html (bench --profile): per implementation and
// size, the top functions by self and by total time, a flame graph (HTML), where the pprof and
// folded files are, and what profiling cost (the profiled repetition against the unprofiled ones).
// Pure: results in, text out; markdown.ts and html.ts only place the sections.
import type { ProfileSummary } from '../profile/summary.js';
import { FLAME_CSS, FLAME_SCRIPT, renderFlameGraph } from './flamegraph.js';
import { int, num } from './format.js';
import type { Results } from './results.js';
import { escapeXml as esc } from './svg.js';

type TopEntry = ProfileSummary['top']['self'][number];

function share(x: number): string {
  return `${(x * 100).toFixed(1)} %`;
}

function signedPercent(x: number): string {
  const p = x * 100;
  return `${p >= 0 ? '' : '−'}${Math.abs(p).toFixed(1)} %`;
}

function kindNote(k: TopEntry['kind']): string {
  return k === 'kernel' ? ' (kernel)' : '';
}

/** A markdown code span that survives any name (C++ templates hold `<`, `&`, `|`). */
function mdCode(s: string): string {
  const body = s.replace(/\|/g, '\\|');
  return body.includes('`') ? `\`\` ${body} \`\`` : `\`${body}\``;
}

function heading(p: ProfileSummary): string {
  return `${p.impl} at ${p.size} vCPU`;
}

function about(p: ProfileSummary): string {
  return `${int(p.samples)} samples at ${p.hz} Hz (${p.callGraph === 'fp' ? 'frame-pointer' : 'DWARF'} call graphs), repetition ${p.rep}`;
}

function overheadText(p: ProfileSummary): string {
  const o = p.overhead;
  if (o.slowdown === null || o.unprofiledReqPerSec === null) return `${int(o.reqPerSec)} req/s profiled; no unprofiled repetition to compare with`;
  const cpu =
    o.cpuMicrosPerRequest !== null && o.unprofiledCpuMicrosPerRequest !== null
      ? `; server CPU ${num(o.cpuMicrosPerRequest)} vs ${num(o.unprofiledCpuMicrosPerRequest)} µs per request`
      : '';
  return `${int(o.reqPerSec)} req/s profiled vs ${int(o.unprofiledReqPerSec)} unprofiled (median): ${o.slowdown >= 0 ? 'slowdown' : 'change'} ${signedPercent(o.slowdown)}${cpu}`;
}

// ---------------------------------------------------------------- markdown

export function renderProfilesMarkdown(results: Results): string[] {
  const profiles = results.profiles ?? [];
  if (profiles.length === 0 && !results.run.config.profile) return [];
  const out: string[] = ['## Profiles: where the time goes', ''];
  const cfg = results.run.config.profile;
  out.push(
    `One extra repetition per implementation and size ran with \`perf record -e cpu-clock -F ${cfg?.hz ?? profiles[0]?.hz ?? 99}\` attached to the server's processes for its measured run; it is ${cfg?.inStats ? 'counted in' : 'kept out of'} the statistics above. Shares are of all on-CPU samples of the server. *Self*: the function was running; *total*: it was on the stack (callees included; a caller that hands ≥ 95 % of its time to one callee is listed as that callee). Open \`profile.proto\` with \`go tool pprof\`, Parca or pprof.me; \`profile.folded\` feeds flame-graph tools.`,
  );
  out.push('');
  if (profiles.length === 0) {
    out.push('No profile could be read (see Warnings).');
    out.push('');
    return out;
  }
  for (const p of profiles) {
    out.push(`### ${heading(p)}`);
    out.push('');
    out.push(`${about(p)}; files: \`${p.files.pprof}\`, \`${p.files.folded}\`.`);
    out.push('');
    out.push('| # | by self | self | by total | total |');
    out.push('|---:|---|---:|---|---:|');
    const rows = Math.max(p.top.self.length, p.top.total.length);
    for (let i = 0; i < rows; i++) {
      const s = p.top.self[i];
      const t = p.top.total[i];
      out.push(
        `| ${i + 1} | ${s ? `${mdCode(s.name)}${kindNote(s.kind)}` : ''} | ${s ? share(s.share) : ''} | ${t ? `${mdCode(t.name)}${kindNote(t.kind)}` : ''} | ${t ? share(t.share) : ''} |`,
      );
    }
    out.push('');
  }
  out.push(
    "Cost of profiling (the profiled repetition against the median of the same cell's unprofiled ones; one repetition each, so within the run-to-run noise it says little):",
  );
  out.push('');
  for (const p of profiles) out.push(`- ${heading(p)}: ${overheadText(p)}`);
  out.push('');
  return out;
}

// ---------------------------------------------------------------- HTML

function topTableHtml(p: ProfileSummary): string {
  const rows = Math.max(p.top.self.length, p.top.total.length);
  const body: string[] = [];
  for (let i = 0; i < rows; i++) {
    const s = p.top.self[i];
    const t = p.top.total[i];
    body.push(
      `<tr><td>${i + 1}</td><td class="fn">${s ? esc(s.name + kindNote(s.kind)) : ''}</td><td>${s ? share(s.share) : ''}</td><td class="fn">${t ? esc(t.name + kindNote(t.kind)) : ''}</td><td>${t ? share(t.share) : ''}</td></tr>`,
    );
  }
  return `<div class="scroll"><table class="top"><thead><tr><th scope="col">#</th><th scope="col">by self</th><th scope="col">self</th><th scope="col">by total</th><th scope="col">total</th></tr></thead><tbody>${body.join('')}</tbody></table></div>`;
}

export const PROFILE_CSS = `${FLAME_CSS}
table.top td.fn{text-align:left;white-space:normal;overflow-wrap:anywhere;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem}
details.top-fns{margin:.4em 0 1em}details.top-fns summary{cursor:pointer;color:var(--muted)}
`;

export function renderProfilesHtml(results: Results): string {
  const profiles = results.profiles ?? [];
  if (profiles.length === 0) return '';
  const legend = `<p class="sub">Colours: <span class="legend-swatch" style="background:#f0883e"></span>kernel <span class="legend-swatch" style="background:#7ccf6c"></span>JavaScript (JIT) <span class="legend-swatch" style="background:#79b8ff"></span>native code (Go, C, C++) <span class="legend-swatch" style="background:#d0d7de"></span>no symbol. Callers above callees; width = share of the server's on-CPU samples during one profiled repetition (kept ${results.run.config.profile?.inStats ? 'in' : 'out of'} the statistics).</p>`;
  const figures = profiles.map((p, i) => {
    const graph = renderFlameGraph({
      id: `flame-${i}`,
      title: `Flame graph of ${heading(p)}: ${about(p)}`,
      tree: p.tree,
      caption: `${heading(p)}: ${about(p)}. Files: ${p.files.pprof} (go tool pprof, Parca, pprof.me), ${p.files.folded}. Cost of profiling: ${overheadText(p)}.`,
    });
    return `<section class="profile"><h3>${esc(heading(p))}</h3>${graph}<details class="top-fns"><summary>Top ${p.top.self.length} functions by self and by total time</summary>${topTableHtml(p)}</details></section>`;
  });
  return ['<section><h2>Profiles: where the time goes</h2>', legend, `<div class="flames">${figures.join('\n')}</div>`, '</section>'].join('\n');
}

/** The inline script the flame graphs need, or '' when the page has none. */
export function profilesScript(results: Results): string {
  return (results.profiles ?? []).length > 0 ? `<script>${FLAME_SCRIPT}</script>` : '';
}
