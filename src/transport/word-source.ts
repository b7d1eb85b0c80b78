/**
 * The source side of a copy a 32-bit word at a time into shared memory (the
 * ring's pushes, the journal's entries): a byte loop, or `set` from a
 * subarray (a view allocated per copy), into a SharedArrayBuffer costs
 * several times more per message. Keeps the last source buffer seen as
 * words: a thread copies from the same few buffers (its scratch, a backlog
 * chunk, a ring batch) again and again.
 */

/** @internal */
export class WordSource {
  private buffer: ArrayBufferLike | undefined;
  private words: Int32Array<ArrayBufferLike> = new Int32Array(0);

  /**
   * The words of `src`'s buffer when `src[start, start + span)` (`span` a
   * whole number of words) starts on a word of that buffer and ends inside
   * it, so that it can be read as words from `(src.byteOffset + start) >> 2`
   * on; undefined when it cannot (the caller copies bytes instead).
   */
  wordsOf(src: Uint8Array, start: number, span: number): Int32Array<ArrayBufferLike> | undefined {
    const at = src.byteOffset + start;
    if ((at & 3) !== 0 || at + span > (src.buffer.byteLength & ~3)) return undefined;
    if (src.buffer !== this.buffer) {
      this.buffer = src.buffer;
      this.words = new Int32Array(src.buffer, 0, src.buffer.byteLength >> 2);
    }
    return this.words;
  }
}
