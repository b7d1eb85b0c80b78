/**
 * The frames of the pipeline example and what each stage does to them: plain
 * functions over RGBA bytes, row by row, so that the sink can replay them on
 * one row and check a frame without keeping a copy of it.
 *
 * A frame is `kWidth x kHeight` pixels, 4 bytes each (R, G, B, A), rows one
 * after the other: 256 x 256 x 4 = 256 KiB, four 64 KiB regions of the pool.
 */

export const kWidth = 256;
export const kHeight = 256;
export const kBytesPerPixel = 4;
export const kRowBytes = kWidth * kBytesPerPixel;
export const kFrameBytes = kRowBytes * kHeight;

/** The stages, in pipeline order. */
export const stageKinds = ['invert', 'blur', 'threshold'] as const;
export type StageKind = (typeof stageKinds)[number];

/**
 * Writes the source picture of frame `seq` into `rows` (which start at row
 * `firstRow`): gradients that move with `seq`, so every frame differs and a
 * frame that arrived twice, or another frame's bytes, would not check.
 */
export function fillRows(rows: Uint8Array, firstRow: number, seq: number): void {
  const count = rows.length / kRowBytes;
  for (let row = 0; row < count; row++) {
    const y = firstRow + row;
    let at = row * kRowBytes;
    for (let x = 0; x < kWidth; x++, at += 4) {
      rows[at] = (x + seq) & 255;
      rows[at + 1] = (y + 3 * seq) & 255;
      rows[at + 2] = (x ^ y ^ seq) & 255;
      rows[at + 3] = 255;
    }
  }
}

/** R, G, B become 255 minus themselves; alpha is kept. */
export function invert(rows: Uint8Array): void {
  for (let at = 0; at < rows.length; at += 4) {
    rows[at] = 255 - rows[at];
    rows[at + 1] = 255 - rows[at + 1];
    rows[at + 2] = 255 - rows[at + 2];
  }
}

/**
 * A horizontal 3-tap box blur of R, G and B, in place: each row keeps the
 * previous pixel's original value in a local, so no scratch row is needed.
 * Edges repeat their own pixel.
 */
export function blur(rows: Uint8Array): void {
  const count = rows.length / kRowBytes;
  for (let row = 0; row < count; row++) {
    const start = row * kRowBytes;
    for (let channel = 0; channel < 3; channel++) {
      let previous = rows[start + channel];
      for (let x = 0; x < kWidth; x++) {
        const at = start + x * 4 + channel;
        const current = rows[at];
        const next = x + 1 < kWidth ? rows[at + 4] : current;
        rows[at] = ((previous + current + next) / 3) | 0;
        previous = current;
      }
    }
  }
}

/** Luma at or above 128 becomes white, below it black. */
export function threshold(rows: Uint8Array): void {
  for (let at = 0; at < rows.length; at += 4) {
    const luma = (rows[at] * 77 + rows[at + 1] * 150 + rows[at + 2] * 29) >> 8;
    const value = luma >= 128 ? 255 : 0;
    rows[at] = value;
    rows[at + 1] = value;
    rows[at + 2] = value;
  }
}

export const kernels: Record<StageKind, (rows: Uint8Array) => void> = { invert, blur, threshold };
