// Flame graphs for report.html, drawn here as inline SVG (no library, nothing fetched): an icicle —
// the root on top, callees below their callers, width = share of samples — coloured by kind
// (kernel, JavaScript, native code, unnamed). Every frame carries a <title> tooltip; a small inline
// script shows the hovered or clicked frame's share in a line under the graph and zooms into a
// clicked frame (click the top bar to zoom out). Pure: tree in, markup out.
import type { FlameNode } from '../profile/tree.js';
import { escapeXml as esc } from './svg.js';

export interface FlameGraphSpec {
  id: string;
  title: string;
  tree: FlameNode;
  caption: string;
}

const W = 1000;
const ROW = 17;
const TOP = 4;
const CHAR = 6.1; // width of one 11px character in viewBox units, for labels that fit

/** A label that fits `width` units, shortened with "…" (empty when not even two characters fit). */
export function fitLabel(name: string, width: number): string {
  const room = Math.floor((width - 6) / CHAR);
  if (room < 2) return '';
  return name.length <= room ? name : `${name.slice(0, room - 1)}…`;
}

function pct(v: number, total: number): string {
  const p = total > 0 ? (v / total) * 100 : 0;
  return `${p >= 10 ? p.toFixed(1) : p.toFixed(2)} %`;
}

function shade(name: string): number {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return h % 3;
}

function depthOf(n: FlameNode): number {
  return 1 + Math.max(0, ...n.children.map(depthOf));
}

export function renderFlameGraph(spec: FlameGraphSpec): string {
  const total = spec.tree.value;
  const depth = depthOf(spec.tree);
  const height = TOP + depth * ROW + 4;
  const parts: string[] = [];
  const titleId = `${spec.id}-title`;
  parts.push(
    `<svg id="${esc(spec.id)}" class="flame" viewBox="0 0 ${W} ${height}" width="${W}" height="${height}" role="img" aria-labelledby="${titleId}" xmlns="http://www.w3.org/2000/svg" data-total="${total}">`,
  );
  parts.push(`<title id="${titleId}">${esc(spec.title)}</title>`);
  const draw = (n: FlameNode, x: number, d: number): void => {
    const w = total > 0 ? (n.value / total) * W : 0;
    if (w <= 0) return;
    const y = TOP + d * ROW;
    const self = n.value - n.children.reduce((s, c) => s + c.value, 0);
    const tip = `${n.name}\n${pct(n.value, total)} of samples (${n.value.toLocaleString('en-US')}), self ${pct(self, total)}`;
    parts.push(
      `<g class="f k-${n.kind} h${shade(n.name)}" data-x="${(x / W).toFixed(6)}" data-w="${(w / W).toFixed(6)}" data-d="${d}" data-v="${n.value}" data-s="${self}" data-n="${esc(n.name)}">` +
        `<title>${esc(tip)}</title><rect x="${x.toFixed(2)}" y="${y}" width="${Math.max(0.5, w - 0.6).toFixed(2)}" height="${ROW - 1}" rx="1.5"/>` +
        `<text x="${(x + 3).toFixed(2)}" y="${y + ROW - 5}">${esc(fitLabel(n.name, w))}</text></g>`,
    );
    let cx = x;
    for (const c of n.children) {
      draw(c, cx, d + 1);
      cx += total > 0 ? (c.value / total) * W : 0;
    }
  };
  draw(spec.tree, 0, 0);
  parts.push('</svg>');
  return `<figure class="flame-figure"><div class="scroll">${parts.join('')}</div><p class="flame-detail" aria-live="polite">Hover over or click a frame to see its share; click a frame to zoom into it, the top bar to zoom out.</p><figcaption>${esc(spec.caption)}</figcaption></figure>`;
}

export const FLAME_CSS = `
.flames{display:grid;grid-template-columns:minmax(0,1fr);gap:16px}.flames>section{min-width:0}
svg.flame{display:block;width:100%;min-width:760px;height:auto;font:11px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
svg.flame g.f{cursor:pointer}svg.flame g.f text{fill:#1b1f24;pointer-events:none}
svg.flame g.f:hover rect{stroke:var(--fg);stroke-width:1}
svg.flame .k-root rect{fill:#8c959f}svg.flame .k-thread rect{fill:#a8b1bb}
svg.flame .k-kernel.h0 rect{fill:#f0883e}svg.flame .k-kernel.h1 rect{fill:#f4a261}svg.flame .k-kernel.h2 rect{fill:#e07b39}
svg.flame .k-js.h0 rect{fill:#7ccf6c}svg.flame .k-js.h1 rect{fill:#95d986}svg.flame .k-js.h2 rect{fill:#6bbf5b}
svg.flame .k-native.h0 rect{fill:#79b8ff}svg.flame .k-native.h1 rect{fill:#9ecbff}svg.flame .k-native.h2 rect{fill:#6aa7ee}
svg.flame .k-unknown rect{fill:#d0d7de}
.flame-detail{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85rem;margin:.3em 4px;min-height:1.5em;overflow-wrap:anywhere}
.legend-swatch{display:inline-block;width:.9em;height:.9em;border-radius:2px;vertical-align:-.1em;margin:0 .25em 0 .6em}
`;

/**
 * The page's one script (inline, only when the page has flame graphs): the share line and zoom.
 * Plain DOM, no globals beyond its own closure.
 */
export const FLAME_SCRIPT = `(function(){
var CH=${CHAR},W=${W};
function pct(v,t){var p=t>0?v/t*100:0;return (p>=10?p.toFixed(1):p.toFixed(2))+' %';}
function fit(n,w){var r=Math.floor((w-6)/CH);if(r<2)return '';return n.length<=r?n:n.slice(0,r-1)+'\\u2026';}
document.querySelectorAll('svg.flame').forEach(function(svg){
  var total=+svg.getAttribute('data-total');
  var fig=svg.closest('figure');var line=fig&&fig.querySelector('.flame-detail');
  var gs=[].slice.call(svg.querySelectorAll('g.f'));
  function show(g){if(!line)return;line.textContent=g.getAttribute('data-n')+' \\u2014 '+pct(+g.getAttribute('data-v'),total)+' of samples ('+(+g.getAttribute('data-v')).toLocaleString('en-US')+'), self '+pct(+g.getAttribute('data-s'),total);}
  function zoom(g){
    var x0=+g.getAttribute('data-x'),w0=+g.getAttribute('data-w'),d0=+g.getAttribute('data-d');
    gs.forEach(function(h){
      var x=+h.getAttribute('data-x'),w=+h.getAttribute('data-w'),d=+h.getAttribute('data-d');
      var inside=x>=x0-1e-9&&x+w<=x0+w0+1e-9;var above=d<d0&&x<=x0+1e-9&&x+w>=x0+w0-1e-9;
      var r=h.querySelector('rect'),t=h.querySelector('text');
      if(!(inside&&d>=d0)&&!above){h.style.display='none';return;}
      h.style.display='';
      var nx=above?0:(x-x0)/w0*W,nw=above?W:w/w0*W;
      r.setAttribute('x',nx.toFixed(2));r.setAttribute('width',Math.max(0.5,nw-0.6).toFixed(2));
      t.setAttribute('x',(nx+3).toFixed(2));t.textContent=fit(h.getAttribute('data-n'),nw);
    });
  }
  gs.forEach(function(g){
    g.addEventListener('mouseenter',function(){show(g);});
    g.addEventListener('click',function(){show(g);zoom(g);});
  });
});
})();`;
