// A line chart as SVG text, log-scale (or linear) x, linear y from 0: enough for a few series
// over a few points, with no dependency.

const W = 640;
const H = 400;
const M = { left: 64, right: 24, top: 40, bottom: 56 };
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

/**
 * series: [{ name, points: [{ x, y }] }]; guide (optional): { y, label }, a dashed level line;
 * markers (optional): [{ x, label }], dashed vertical lines (events on a time axis).
 * x values must be positive with the default log scale; `xScale: 'linear'` for a time axis
 * (then x ticks are `xTicks`, or six even ones).
 */
export function lineChart({ title, xLabel, yLabel, series, guide, markers = [], xScale = 'log', xTicks }) {
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  const ys = series.flatMap((s) => s.points.map((p) => p.y)).concat(guide ? [guide.y] : []);
  const fx = xScale === 'log' ? Math.log10 : (x) => x;
  const [lx0, lx1] = [fx(Math.min(...xs)), fx(Math.max(...xs))];
  const yMax = niceCeil(Math.max(...ys) * 1.1);
  const px = (x) => M.left + ((fx(x) - lx0) / (lx1 - lx0 || 1)) * (W - M.left - M.right);
  const py = (y) => H - M.bottom - (y / yMax) * (H - M.top - M.bottom);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${esc(title)}</text>`,
  ];
  for (let i = 0; i <= 5; i++) {
    const y = (yMax * i) / 5;
    out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${py(y)}" y2="${py(y)}" stroke="#ddd"/>`,
      `<text x="${M.left - 6}" y="${py(y) + 4}" text-anchor="end">${+y.toPrecision(3)}</text>`);
  }
  const ticks = xTicks ?? (xScale === 'log' ? [...new Set(xs)] : Array.from({ length: 6 }, (_, i) => +(lx0 + ((lx1 - lx0) * i) / 5).toPrecision(3)));
  for (const x of ticks) {
    out.push(`<line x1="${px(x)}" x2="${px(x)}" y1="${M.top}" y2="${H - M.bottom}" stroke="#eee"/>`,
      `<text x="${px(x)}" y="${H - M.bottom + 16}" text-anchor="middle">${x.toLocaleString('en-US')}</text>`);
  }
  out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${H - M.bottom}" y2="${H - M.bottom}" stroke="black"/>`,
    `<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${H - M.bottom}" stroke="black"/>`,
    `<text x="${(M.left + W - M.right) / 2}" y="${H - 14}" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text transform="translate(16 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`);
  markers.forEach((m, i) => {
    out.push(`<line x1="${px(m.x)}" x2="${px(m.x)}" y1="${M.top}" y2="${H - M.bottom}" stroke="#888" stroke-dasharray="4 4"/>`,
      `<text x="${px(m.x) + 4}" y="${M.top + 12 + (i % 4) * 14}" fill="#555">${esc(m.label)}</text>`);
  });
  if (guide) {
    out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${py(guide.y)}" y2="${py(guide.y)}" stroke="#888" stroke-dasharray="6 4"/>`,
      `<text x="${W - M.right - 4}" y="${py(guide.y) - 6}" text-anchor="end" fill="#555">${esc(guide.label)}</text>`);
  }
  series.forEach((s, i) => {
    const c = COLORS[i % COLORS.length];
    const pts = s.points.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`);
    out.push(`<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts.join(' ')}"/>`);
    for (const p of s.points) out.push(`<circle cx="${px(p.x).toFixed(1)}" cy="${py(p.y).toFixed(1)}" r="3.5" fill="${c}"><title>${esc(`${s.name}: ${p.y} at ${p.x}`)}</title></circle>`);
    out.push(`<rect x="${M.left + 12}" y="${M.top + 8 + i * 18}" width="12" height="3" fill="${c}"/>`,
      `<text x="${M.left + 30}" y="${M.top + 13 + i * 18}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** 1, 2 or 5 times a power of ten, at least v. */
function niceCeil(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * p).find((c) => c >= v);
}
