/**
 * What every transfer-pipeline-1m implementation does with a 1 MiB frame,
 * kept in one place so that the microswarm stages do exactly the work of the
 * postMessage peers (bench/peers/workers/pipeline-peer.mjs repeats these
 * lines in plain JavaScript; keep the two the same).
 *
 * A frame is 262,144 little-endian i32 words. The header is the first 16
 * words (64 bytes): word 0 is the frame's sequence number, word k + 1 is
 * written by stage k (0-based) as word k + 1. Words 16 and up hold their own
 * index, written once when the frame is made. Stages 0-2 read the header and
 * write their word; the last stage does the same and then reads all 1 MiB
 * (a sum of every payload word) and checks it.
 */

export const kFrameBytes = 1024 * 1024;
export const kFrameWords = kFrameBytes / 4;
export const kHeaderWords = 16;
export const kStages = 4;

/** The payload sum (words 16 and up hold their index), wrapped to 32 bits as the check computes it. */
export const kPayloadSum = (() => {
  let sum = 0;
  for (let i = kHeaderWords; i < kFrameWords; i++) sum = (sum + i) | 0;
  return sum;
})();

/** Writes the payload once, when a frame is made. */
export function fillFrame(words: Int32Array): void {
  for (let i = kHeaderWords; i < words.length; i++) words[i] = i;
}

/** Stage `stage` (0-based): checks the word the previous stage wrote and writes its own; the last stage reads everything. */
export function passStage(words: Int32Array, stage: number, seq: number): void {
  if (words[0] !== seq || words[stage] !== seq + stage) {
    throw new Error(`frame ${seq} reached stage ${stage} with header ${words[0]}, ${words[stage]} (expected ${seq}, ${seq + stage})`);
  }
  words[stage + 1] = seq + stage + 1;
  if (stage === kStages - 1) readFrame(words);
}

function readFrame(words: Int32Array): void {
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  // kFrameWords and kHeaderWords are multiples of 4.
  for (let i = kHeaderWords; i < words.length; i += 4) {
    a = (a + words[i]) | 0;
    b = (b + words[i + 1]) | 0;
    c = (c + words[i + 2]) | 0;
    d = (d + words[i + 3]) | 0;
  }
  const sum = (a + b + c + d) | 0;
  if (sum !== kPayloadSum) throw new Error(`1 MiB frame arrived wrong: payload sum ${sum}, expected ${kPayloadSum}`);
}
