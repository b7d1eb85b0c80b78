/**
 * The source side of a copy by 32-bit words into shared memory (the ring's
 * pushes, the journal's entries): a byte loop, or `set` from a subarray (a
 * view allocated per copy), into a SharedArrayBuffer costs several times
 * more per small message; past `kSetFromWords`, `copyWords` uses `set`.
 * Keeps the last source seen as words: a thread copies from the same few
 * views (its scratch, a backlog chunk, a ring batch) again and again.
 */

/** @internal */
export class WordSource {
  /** The last source view seen, its byteOffset, and its whole buffer as words. */
  private src: Uint8Array | undefined;
  private offset = 0;
  private words: Int32Array<ArrayBufferLike> = new Int32Array(0);

  /**
   * The words of `src`'s buffer when `src[start, start + span)` (`span` a
   * whole number of words) starts on a word of that buffer and ends inside
   * it, so that it can be read as words from `(src.byteOffset + start) >> 2`
   * on; undefined when it cannot (the caller copies bytes instead).
   *
   * Keyed by the view, not its buffer: a typed array's `buffer` getter cost
   * about 50-70 ns a call (Node 20), a few times the rest of a small
   * message's copy; a view's buffer and offset never change. The bound is
   * the words' own length, which is 0 once a buffer is detached.
   */
  wordsOf(src: Uint8Array, start: number, span: number): Int32Array<ArrayBufferLike> | undefined {
    if (src !== this.src) {
      this.src = src;
      this.offset = src.byteOffset;
      this.words = new Int32Array(src.buffer, 0, src.buffer.byteLength >> 2);
    }
    const at = this.offset + start;
    if ((at & 3) !== 0 || at + span > this.words.length << 2) return undefined;
    return this.words;
  }
}

/**
 * Below this many words, a copy loop beats `set` from a subarray: the view
 * costs about 60 ns, after which `set` moves about 7 words a nanosecond
 * against the loop's one (measured on Node 20, into a SharedArrayBuffer:
 * 32 words 52 ns by loop and 61 by `set`, 64 words 73 and 59, 3,300 words
 * 3,260 and 530).
 */
const kSetFromWords = 64;

/** @internal Copies `count` words from `src[from]` to `dst[to]` by a loop or by `set`, whichever is faster for `count`. */
export function copyWords(dst: Int32Array<ArrayBufferLike>, to: number, src: Int32Array<ArrayBufferLike>, from: number, count: number): void {
  if (count < kSetFromWords) {
    for (let i = 0; i < count; i++) dst[to + i] = src[from + i];
  } else {
    dst.set(src.subarray(from, from + count), to);
  }
}
