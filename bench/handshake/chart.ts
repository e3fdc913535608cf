/**
 * A small SVG line chart (no dependency): the handshake bench draws rate against pool threads,
 * ours beside strongSwan's, into bench/results/. Plain SVG 1.1 that browsers and GitHub render.
 */

/** One line of the chart. */
export interface Series {
  readonly name: string;
  readonly points: readonly { readonly x: number; readonly y: number }[];
  readonly color: string;
  readonly dashed?: boolean;
}

/** What to draw. */
export interface Chart {
  readonly title: string;
  /** Smaller lines under the title (conditions of the run). */
  readonly subtitle?: readonly string[];
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
}

const W = 760;
const H = 480;
const M = { left: 70, right: 200, top: 80, bottom: 50 };

const esc = (s: string): string => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** A "nice" upper bound and step for an axis from 0 to `max`. */
function niceAxis(max: number): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 0.2 };
  const raw = max / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= raw)!;
  return { top: Math.ceil(max / step) * step, step };
}

/** The chart as an SVG document. */
export function lineChart(c: Chart): string {
  const pts = c.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const xs = [...new Set(pts.map((p) => p.x))].sort((a, b) => a - b);
  const xMin = Math.min(...xs, 0);
  const xMax = Math.max(...xs, 1);
  const y = niceAxis(Math.max(...pts.map((p) => p.y), 0) * 1.05);
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const sx = (v: number): number => M.left + ((v - xMin) / (xMax - xMin || 1)) * pw;
  const sy = (v: number): number => M.top + ph - (v / y.top) * ph;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${M.left}" y="24" font-size="15" font-weight="bold">${esc(c.title)}</text>`,
    ...(c.subtitle ?? []).map((line, i) => `<text x="${M.left}" y="${42 + i * 15}" fill="#444">${esc(line)}</text>`),
  ];
  for (let v = 0; v <= y.top + 1e-9; v += y.step) {
    out.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${sy(v).toFixed(1)}" y2="${sy(v).toFixed(1)}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${M.left - 6}" y="${(sy(v) + 4).toFixed(1)}" text-anchor="end">${+v.toFixed(2)}</text>`);
  }
  for (const x of xs) out.push(`<text x="${sx(x).toFixed(1)}" y="${M.top + ph + 18}" text-anchor="middle">${x}</text>`);
  out.push(`<line x1="${M.left}" x2="${M.left + pw}" y1="${M.top + ph}" y2="${M.top + ph}" stroke="black"/>`);
  out.push(`<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + ph}" stroke="black"/>`);
  out.push(`<text x="${M.left + pw / 2}" y="${H - 10}" text-anchor="middle">${esc(c.xLabel)}</text>`);
  out.push(`<text transform="translate(18 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(c.yLabel)}</text>`);
  c.series.forEach((s, i) => {
    const p = s.points.filter((q) => Number.isFinite(q.x) && Number.isFinite(q.y));
    const dash = s.dashed ? ` stroke-dasharray="6 4"` : "";
    if (p.length > 0) {
      out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2"${dash} points="${p.map((q) => `${sx(q.x).toFixed(1)},${sy(q.y).toFixed(1)}`).join(" ")}"/>`);
      for (const q of p) out.push(`<circle cx="${sx(q.x).toFixed(1)}" cy="${sy(q.y).toFixed(1)}" r="3" fill="${s.color}"/>`);
    }
    const ly = M.top + 10 + i * 20;
    out.push(`<line x1="${W - M.right + 12}" x2="${W - M.right + 36}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${W - M.right + 42}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
