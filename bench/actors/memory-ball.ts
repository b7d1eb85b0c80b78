/**
 * What every transfer-64k implementation does with the 64 KB buffer, kept in
 * one place so that the microswarm actors do exactly the work of the
 * postMessage peers (bench/peers/workers/transfer-peer.mjs repeats these few
 * lines in plain JavaScript; keep the two the same).
 *
 * The buffer is 16,384 little-endian i32 words: word 0 is the hop count, word
 * i (i >= 1) is i, written once at setup. On every arrival the receiver reads
 * all 64 KB (a sum of every word), checks the sum and the hop count, and
 * writes the next hop count into word 0 before handing the buffer on.
 *
 * The sum runs four accumulators: with one, each add waits for the previous
 * and the read costs about twice as much (measured ~16 us vs ~9 us per 64 KB
 * here), which would only add the same constant to every impl.
 */

/** Bytes handed over per handoff. */
export const kBallBytes = 64 * 1024;
export const kBallWords = kBallBytes / 4;
/** Sum of words 1..16383 (word i holds i); fits an int32. */
export const kBallPayloadSum = ((kBallWords - 1) * kBallWords) / 2;

/** Writes the payload words (not the hop count). */
export function fillBall(words: Int32Array): void {
  for (let i = 1; i < words.length; i++) words[i] = i;
}

/**
 * Reads all 64 KB and checks it: the payload sum and the hop count the sender
 * stamped. Throws when the bytes are not what was sent (a torn or stale view).
 */
export function readBall(words: Int32Array, expectedHop: number): void {
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  // kBallWords is a multiple of 4.
  for (let i = 0; i < words.length; i += 4) {
    a = (a + words[i]) | 0;
    b = (b + words[i + 1]) | 0;
    c = (c + words[i + 2]) | 0;
    d = (d + words[i + 3]) | 0;
  }
  const sum = (a + b + c + d) | 0;
  const hop = words[0];
  if (hop !== expectedHop || ((sum - hop) | 0) !== kBallPayloadSum) {
    throw new Error(`64 KB buffer arrived wrong: hop ${hop} (expected ${expectedHop}), payload sum ${(sum - hop) | 0} (expected ${kBallPayloadSum})`);
  }
}
