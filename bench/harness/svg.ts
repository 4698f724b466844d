/**
 * A small SVG chart writer for RESULTS.md: line, CDF (step) and grouped bar charts with axes,
 * ticks, a title and a legend. Our own code rather than a plotting library: the charts we need
 * are simple, and the maintained headless options (vega + vega-lite) pull in a few dozen
 * packages for what is a few hundred lines here. The output is plain SVG 1.1 text, so it renders
 * on GitHub and diffs readably.
 *
 * Axes switch to a log scale by themselves when the values are positive and span a wide range
 * (sizes 10^3..10^6, workers 10..10^4), which is what the scenarios plot.
 */
import type { ResultChart } from './types.js';

const WIDTH = 760;
const HEIGHT = 420;
const M = { left: 84, right: 190, top: 44, bottom: 62 };
const PLOT_W = WIDTH - M.left - M.right;
const PLOT_H = HEIGHT - M.top - M.bottom;
/** Colour-blind-safe palette (Okabe–Ito), in series order. */
const COLORS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];

interface Scale {
  at(v: number): number;
  ticks: number[];
  log: boolean;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Tick label: compact (1k, 2.5M) so axes stay narrow. */
export function tickLabel(v: number): string {
  const a = Math.abs(v);
  const trim = (x: number) => String(Number(x.toPrecision(3)));
  if (a >= 1e9) return `${trim(v / 1e9)}G`;
  if (a >= 1e6) return `${trim(v / 1e6)}M`;
  if (a >= 1e4) return `${trim(v / 1e3)}k`;
  return trim(v);
}

/** A step of 1, 2 or 5 × 10^k giving about `count` ticks over [lo, hi]. */
function niceStep(lo: number, hi: number, count: number): number {
  const raw = (hi - lo) / count || 1;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const f = raw / pow;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * pow;
}

/**
 * Maps [lo, hi] to [from, to] pixels. `wantLog` is honoured only when every value is positive
 * and the range spans at least `minDecades`.
 */
function makeScale(
  lo: number,
  hi: number,
  from: number,
  to: number,
  opts: { wantLog: boolean; minDecades: number; zero: boolean },
): Scale {
  if (opts.wantLog && lo > 0 && Math.log10(hi / lo) >= opts.minDecades) {
    const l0 = Math.floor(Math.log10(lo));
    const l1 = Math.ceil(Math.log10(hi));
    const ticks: number[] = [];
    for (let e = l0; e <= l1; e++) ticks.push(10 ** e);
    const span = l1 - l0 || 1;
    return { log: true, ticks, at: (v) => from + ((Math.log10(v) - l0) / span) * (to - from) };
  }
  if (opts.zero) lo = Math.min(0, lo);
  if (lo === hi) {
    lo -= Math.abs(lo) * 0.1 || 1;
    hi += Math.abs(hi) * 0.1 || 1;
  }
  const step = niceStep(lo, hi, 5);
  const a = Math.floor(lo / step) * step;
  const b = Math.ceil(hi / step) * step;
  const ticks: number[] = [];
  for (let t = a; t <= b + step / 2; t += step) ticks.push(Number(t.toPrecision(12)));
  return { log: false, ticks, at: (v) => from + ((v - a) / (b - a)) * (to - from) };
}

function text(x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${escapeXml(s)}</text>`;
}

function axes(chart: ResultChart, xs: Scale | null, ys: Scale, categories?: number[]): string[] {
  const out: string[] = [];
  const x0 = M.left;
  const y0 = M.top + PLOT_H;
  for (const t of ys.ticks) {
    const y = ys.at(t);
    out.push(
      `<line x1="${x0}" x2="${x0 + PLOT_W}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#e5e5e5"/>`,
    );
    out.push(text(x0 - 8, y + 4, tickLabel(t), 'text-anchor="end"'));
  }
  if (xs) {
    for (const t of xs.ticks) {
      const x = xs.at(t);
      out.push(`<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${M.top}" y2="${y0}" stroke="#f0f0f0"/>`);
      out.push(text(x, y0 + 18, tickLabel(t), 'text-anchor="middle"'));
    }
  } else if (categories) {
    const band = PLOT_W / categories.length;
    categories.forEach((c, i) =>
      out.push(text(x0 + band * (i + 0.5), y0 + 18, tickLabel(c), 'text-anchor="middle"')),
    );
  }
  out.push(`<line x1="${x0}" x2="${x0}" y1="${M.top}" y2="${y0}" stroke="#333"/>`);
  out.push(`<line x1="${x0}" x2="${x0 + PLOT_W}" y1="${y0}" y2="${y0}" stroke="#333"/>`);
  const xLabel = chart.x + (xs?.log ? ' (log scale)' : '');
  const yLabel = chart.y + (ys.log ? ' (log scale)' : '');
  out.push(text(x0 + PLOT_W / 2, HEIGHT - 18, xLabel, 'text-anchor="middle"'));
  out.push(
    text(
      18,
      M.top + PLOT_H / 2,
      yLabel,
      `text-anchor="middle" transform="rotate(-90 18 ${M.top + PLOT_H / 2})"`,
    ),
  );
  return out;
}

function legend(names: string[]): string[] {
  const x = M.left + PLOT_W + 16;
  return names.flatMap((name, i) => {
    const y = M.top + 8 + i * 20;
    const color = COLORS[i % COLORS.length]!;
    return [
      `<rect x="${x}" y="${y - 9}" width="14" height="10" fill="${color}"/>`,
      text(x + 20, y, name.length > 24 ? `${name.slice(0, 23)}…` : name),
    ];
  });
}

function finitePoints(chart: ResultChart): [number, number][][] {
  return chart.series.map((s) => s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)));
}

function lineOrCdf(chart: ResultChart): string[] {
  const series = finitePoints(chart).map((pts) => [...pts].sort((a, b) => a[0] - b[0]));
  const all = series.flat();
  if (all.length === 0)
    return [text(M.left + PLOT_W / 2, M.top + PLOT_H / 2, 'no data', 'text-anchor="middle"')];
  const xsv = all.map((p) => p[0]);
  const ysv = all.map((p) => p[1]);
  const cdf = chart.kind === 'cdf';
  const xs = makeScale(Math.min(...xsv), Math.max(...xsv), M.left, M.left + PLOT_W, {
    wantLog: true,
    minDecades: 2,
    zero: false,
  });
  const ys = cdf
    ? makeScale(0, 1, M.top + PLOT_H, M.top, { wantLog: false, minDecades: 0, zero: true })
    : makeScale(Math.min(...ysv), Math.max(...ysv), M.top + PLOT_H, M.top, {
        wantLog: true,
        minDecades: 3,
        zero: true,
      });
  const out = axes(chart, xs, ys);
  series.forEach((pts, i) => {
    const color = COLORS[i % COLORS.length]!;
    let d = '';
    pts.forEach(([x, y], k) => {
      const px = xs.at(x).toFixed(1);
      const py = ys.at(y).toFixed(1);
      // A CDF is a step function: it stays at the previous fraction until the next value.
      if (k === 0) d += `M${px},${py}`;
      else d += cdf ? `H${px}V${py}` : `L${px},${py}`;
    });
    out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`);
    if (!cdf || pts.length <= 30) {
      for (const [x, y] of pts) {
        out.push(`<circle cx="${xs.at(x).toFixed(1)}" cy="${ys.at(y).toFixed(1)}" r="3" fill="${color}"/>`);
      }
    }
  });
  return out;
}

function bars(chart: ResultChart): string[] {
  const series = finitePoints(chart);
  const categories = [...new Set(series.flat().map((p) => p[0]))].sort((a, b) => a - b);
  const ysv = series.flat().map((p) => p[1]);
  if (ysv.length === 0)
    return [text(M.left + PLOT_W / 2, M.top + PLOT_H / 2, 'no data', 'text-anchor="middle"')];
  const ys = makeScale(Math.min(0, ...ysv), Math.max(0, ...ysv), M.top + PLOT_H, M.top, {
    wantLog: false,
    minDecades: 0,
    zero: true,
  });
  const out = axes(chart, null, ys, categories);
  const band = PLOT_W / categories.length;
  const barW = (band * 0.8) / Math.max(1, series.length);
  const base = ys.at(0);
  series.forEach((pts, i) => {
    const color = COLORS[i % COLORS.length]!;
    for (const [x, y] of pts) {
      const left = M.left + band * categories.indexOf(x) + band * 0.1 + barW * i;
      const top = Math.min(base, ys.at(y));
      const h = Math.abs(ys.at(y) - base);
      out.push(
        `<rect x="${left.toFixed(1)}" y="${top.toFixed(1)}" width="${barW.toFixed(1)}" height="${h.toFixed(1)}" fill="${color}"><title>${escapeXml(`${chart.series[i]!.name}: ${y}`)}</title></rect>`,
      );
    }
  });
  return out;
}

/** Renders one chart as a standalone SVG document. Non-finite points are left out. */
export function renderChart(chart: ResultChart): string {
  const body = chart.kind === 'bar' ? bars(chart) : lineOrCdf(chart);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    text(WIDTH / 2, 24, chart.title, 'text-anchor="middle" font-size="15" font-weight="bold"'),
    ...body,
    ...legend(chart.series.map((s) => s.name)),
    '</svg>',
    '',
  ].join('\n');
}
