/**
 * The two pictures of the ACO example, as small hand-written SVG documents:
 * the best tour over the cities, and the convergence curve (best length
 * against time, with the optimum as a dashed line when it is known).
 */
import type { CurvePoint } from './acs.js';
import type { Instance } from './tsplib.js';

const kSize = 600;
const kMargin = 40;

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const round = (value: number) => Math.round(value * 10) / 10;

function document(title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${kSize}" height="${kSize}" viewBox="0 0 ${kSize} ${kSize}" font-family="sans-serif" font-size="13">`,
    `<rect width="${kSize}" height="${kSize}" fill="white"/>`,
    `<text x="${kMargin}" y="24">${escapeXml(title)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

/** A linear map of [min, max] onto [from, to] (the middle of the range when it is empty). */
function scale(min: number, max: number, from: number, to: number): (value: number) => number {
  const span = max - min;
  return (value) => round(span === 0 ? (from + to) / 2 : from + ((value - min) / span) * (to - from));
}

/** The tour (0-based cities) drawn over the cities; y grows upwards as in the file's coordinates. */
export function tourSvg(instance: Instance, tour: readonly number[], title: string): string {
  const { x, y } = instance;
  const span = Math.max(Math.max(...x) - Math.min(...x), Math.max(...y) - Math.min(...y));
  const sx = scale(Math.min(...x), Math.min(...x) + span, kMargin, kSize - kMargin);
  const sy = scale(Math.min(...y), Math.min(...y) + span, kSize - kMargin, kMargin + 20);
  const points = tour.map((city) => `${sx(x[city])},${sy(y[city])}`).join(' ');
  const cities = Array.from(x, (_, city) => `<circle cx="${sx(x[city])}" cy="${sy(y[city])}" r="3" fill="#c0392b"/>`);
  return document(title, [`<polygon points="${points}" fill="none" stroke="#2c3e50" stroke-width="1.5"/>`, ...cities]);
}

/**
 * Best length against time, a step line from the first point to `endMs`.
 * Time is on a log scale: ACS with local search finds most of its
 * improvements in the first milliseconds of a run of seconds.
 */
export function curveSvg(curve: readonly CurvePoint[], endMs: number, optimum: number | undefined, title: string): string {
  if (curve.length === 0) return document(title, [`<text x="${kMargin}" y="60">no tour</text>`]);
  const values = curve.map((point) => point.best);
  const low = Math.min(...values, optimum ?? Number.POSITIVE_INFINITY);
  const high = Math.max(...values);
  const pad = Math.max(1, (high - low) * 0.05);
  const firstMs = Math.max(0.1, curve[0].ms);
  const lastMs = Math.max(endMs, curve[curve.length - 1].ms, firstMs * 10);
  const linear = scale(Math.log10(firstMs), Math.log10(lastMs), kMargin + 40, kSize - kMargin);
  const sx = (ms: number) => linear(Math.log10(Math.max(ms, firstMs)));
  const seconds = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`);
  const sy = scale(low - pad, high + pad, kSize - kMargin, kMargin + 20);
  const steps: string[] = [];
  curve.forEach((point, i) => {
    if (i > 0) steps.push(`${sx(point.ms)},${sy(curve[i - 1].best)}`);
    steps.push(`${sx(point.ms)},${sy(point.best)}`);
  });
  steps.push(`${sx(lastMs)},${sy(curve[curve.length - 1].best)}`);
  const body = [
    `<line x1="${sx(0)}" y1="${sy(low - pad)}" x2="${sx(lastMs)}" y2="${sy(low - pad)}" stroke="#999"/>`,
    `<line x1="${sx(0)}" y1="${sy(low - pad)}" x2="${sx(0)}" y2="${sy(high + pad)}" stroke="#999"/>`,
    `<text x="${sx(0)}" y="${kSize - kMargin + 18}">${seconds(firstMs)}</text>`,
    `<text x="${sx(lastMs)}" y="${kSize - kMargin + 18}" text-anchor="end">${seconds(lastMs)} (time on a log scale)</text>`,
    `<text x="4" y="${sy(high)}">${high}</text>`,
    `<text x="4" y="${sy(curve[curve.length - 1].best) + 14}">${curve[curve.length - 1].best}</text>`,
    `<polyline points="${steps.join(' ')}" fill="none" stroke="#2980b9" stroke-width="2"/>`,
  ];
  if (optimum !== undefined) {
    body.push(`<line x1="${sx(0)}" y1="${sy(optimum)}" x2="${sx(lastMs)}" y2="${sy(optimum)}" stroke="#27ae60" stroke-dasharray="6 4"/>`);
    body.push(`<text x="${sx(lastMs)}" y="${sy(optimum) - 6}" text-anchor="end" fill="#27ae60">optimum ${optimum}</text>`);
  }
  return document(title, body);
}
