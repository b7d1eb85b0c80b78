/**
 * The worker of parallel-speedup: Savina's Trapezoid (TrapezoidalConfig:
 * fx, N = 10,000,000 pieces over [1, 5]); `{ l, r, h }` answers the area of
 * its range, summed piece by piece as Savina's Worker does.
 */
import { defineActor } from '../../src/actor.js';

export type TrapezoidMsg = { l: number; r: number; h: number };

/** TrapezoidalConfig.fx */
function fx(x: number): number {
  const a = Math.sin(x ** 3 - 1);
  const b = x + 1;
  const c = a / b;
  const d = Math.sqrt(1 + Math.exp(Math.sqrt(2 * x)));
  return c * d;
}

/** The area of [l, r) in pieces of width h (Savina's Worker: the piece count truncated). */
export function integrate({ l, r, h }: TrapezoidMsg): number {
  const n = Math.trunc((r - l) / h);
  let area = 0;
  for (let i = 0; i < n; i++) {
    const lx = i * h + l;
    const rx = lx + h;
    area += 0.5 * (fx(lx) + fx(rx)) * h;
  }
  return area;
}

/** The ranges of `workers` workers over [left, right) split in `pieces` pieces (Savina's Master). */
export function trapezoidRanges(workers: number, pieces: number, left = 1, right = 5): TrapezoidMsg[] {
  const h = (right - left) / pieces;
  const range = (right - left) / workers;
  return Array.from({ length: workers }, (_, i) => ({ l: range * i + left, r: range * i + left + range, h }));
}

export default defineActor({
  init: () => ({}),
  receive: (_state, msg: TrapezoidMsg) => integrate(msg),
});
