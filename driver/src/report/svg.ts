// Inline SVG charts for report.html, drawn here (no chart library, nothing fetched): grouped bar
// charts with 95 % interval whiskers, "≈" marks for differences that are not significant, a
// linear or logarithmic value axis, a title, axis labels with units, and a legend.

interface Bar {
  series: number;
  value: number;
  lo?: number | null;
  hi?: number | null;
  /** Not significantly different from the reference: drawn with a "≈" mark. */
  notSignificant?: boolean;
  /** A mark drawn above the bar, e.g. "†" for a generator-bound cell (explained in the caption). */
  mark?: string;
  /** Tooltip text. */
  label: string;
}

export interface BarGroup {
  label: string;
  bars: Bar[];
}

export interface ChartSpec {
  id: string;
  title: string;
  yLabel: string;
  xLabel: string;
  series: string[];
  groups: BarGroup[];
  log?: boolean;
  /** First palette colour: charts whose series are not implementations use other colours. */
  colorOffset?: number;
  format: (v: number) => string;
}

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function niceStep(max: number, ticks: number): number {
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const n = raw / mag;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * mag;
}

const W = 640;
const H = 380;
const M = { top: 56, right: 12, bottom: 76, left: 84 };

export function renderBarChart(spec: ChartSpec): string {
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const all = spec.groups.flatMap((g) => g.bars.flatMap((b) => [b.value, b.hi ?? b.value]));
  const positive = all.filter((v) => v > 0);
  let yOf: (v: number) => number;
  let ticks: number[];
  if (spec.log && positive.length > 0) {
    const lo = Math.floor(Math.log10(Math.min(...positive)));
    const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(...positive))));
    yOf = (v) => M.top + plotH - ((Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo)) * plotH;
    ticks = [];
    for (let e = lo; e <= hi; e++) ticks.push(10 ** e);
  } else {
    const max = Math.max(1e-9, ...all);
    const step = niceStep(max, 5);
    const top = Math.ceil(max / step) * step;
    yOf = (v) => M.top + plotH - (v / top) * plotH;
    ticks = [];
    for (let t = 0; t <= top + step / 2; t += step) ticks.push(t);
  }
  const titleId = `${spec.id}-title`;
  const off = spec.colorOffset ?? 0;
  const parts: string[] = [];
  parts.push(`<svg id="${spec.id}" class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${titleId}" xmlns="http://www.w3.org/2000/svg">`);
  parts.push(`<title id="${titleId}">${escapeXml(spec.title)}</title>`);
  parts.push(`<text class="chart-title" x="${W / 2}" y="22" text-anchor="middle">${escapeXml(spec.title)}</text>`);
  // Legend.
  let lx = M.left;
  spec.series.forEach((name, i) => {
    parts.push(
      `<rect class="legend s${(i + off) % 6}" x="${lx}" y="32" width="12" height="12"/><text class="legend-text" x="${lx + 16}" y="43">${escapeXml(name)}</text>`,
    );
    lx += 30 + name.length * 8.5;
  });
  // Grid and value axis.
  for (const t of ticks) {
    const y = yOf(t).toFixed(1);
    parts.push(
      `<line class="grid" x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}"/><text class="tick" x="${M.left - 6}" y="${y}" dy="0.32em" text-anchor="end">${escapeXml(spec.format(t))}</text>`,
    );
  }
  parts.push(
    `<line class="axis" x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + plotH}"/><line class="axis" x1="${M.left}" x2="${W - M.right}" y1="${M.top + plotH}" y2="${M.top + plotH}"/>`,
  );
  parts.push(
    `<text class="axis-label" transform="translate(18 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(spec.yLabel)}${spec.log ? ' (log scale)' : ''}</text>`,
  );
  parts.push(`<text class="axis-label" x="${M.left + plotW / 2}" y="${H - 8}" text-anchor="middle">${escapeXml(spec.xLabel)}</text>`);
  // Bars.
  const groupW = plotW / Math.max(1, spec.groups.length);
  const nSeries = Math.max(1, spec.series.length);
  const barW = Math.min(48, (groupW * 0.8) / nSeries);
  const base = M.top + plotH;
  spec.groups.forEach((g, gi) => {
    const gx = M.left + gi * groupW + (groupW - barW * nSeries) / 2;
    const gxMid = (M.left + gi * groupW + groupW / 2).toFixed(1);
    // Multi-line labels ("impl\nsize") keep narrow groups readable.
    const labelLines = g.label.split('\n');
    parts.push(
      `<text class="group-label" x="${gxMid}" y="${base + 20}" text-anchor="middle">${labelLines.map((l, i) => `<tspan x="${gxMid}" dy="${i === 0 ? 0 : '1.1em'}">${escapeXml(l)}</tspan>`).join('')}</text>`,
    );
    for (const b of g.bars) {
      const x = gx + b.series * barW;
      const y = yOf(b.value);
      parts.push(
        `<rect class="bar s${(b.series + off) % 6}" x="${(x + 1).toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(1, barW - 2).toFixed(1)}" height="${Math.max(0, base - y).toFixed(1)}"><title>${escapeXml(b.label)}</title></rect>`,
      );
      const cx = (x + barW / 2).toFixed(1);
      let markY = y;
      if (b.lo != null && b.hi != null) {
        const y1 = yOf(Math.max(b.lo, spec.log ? 1e-12 : 0));
        const y2 = yOf(b.hi);
        markY = Math.min(y, y2);
        parts.push(
          `<g class="whisker"><line x1="${cx}" x2="${cx}" y1="${y1.toFixed(1)}" y2="${y2.toFixed(1)}"/><line x1="${(x + barW / 2 - 5).toFixed(1)}" x2="${(x + barW / 2 + 5).toFixed(1)}" y1="${y2.toFixed(1)}" y2="${y2.toFixed(1)}"/><line x1="${(x + barW / 2 - 5).toFixed(1)}" x2="${(x + barW / 2 + 5).toFixed(1)}" y1="${y1.toFixed(1)}" y2="${y1.toFixed(1)}"/></g>`,
        );
      }
      if (b.notSignificant)
        parts.push(
          `<text class="ns" x="${cx}" y="${(markY - 6).toFixed(1)}" text-anchor="middle">≈<title>not significantly different from the reference (p ≥ 0.05)</title></text>`,
        );
      // Beside a "≈" rather than above it, so it never reaches the legend.
      if (b.mark)
        parts.push(
          `<text class="mark" x="${(x + barW / 2 + (b.notSignificant ? 14 : 0)).toFixed(1)}" y="${(markY - 6).toFixed(1)}" text-anchor="middle">${escapeXml(b.mark)}</text>`,
        );
    }
  });
  parts.push('</svg>');
  return parts.join('');
}
