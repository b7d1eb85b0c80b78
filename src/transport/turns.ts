/**
 * Which handler each pool thread is running, published in shared memory so
 * that the main thread's watchdog (watchdog.ts) can name the actor and the
 * message of a handler that holds its thread, while that thread is blocked
 * and cannot say anything itself.
 *
 * One 64-byte line per endpoint (its own line: the owner writes it per
 * message, and must not invalidate the doorbell line senders read):
 *
 *   word kTurnSeq    bumped by the owner at every handler start (wraps)
 *   word kTurnSlot   slot + 1 of the actor whose handler runs now, 0 between handlers
 *   word kTurnEntry  journal entry of the message it handles, -1 when not journaled
 *
 * A moving kTurnSeq is also the scheduler's progress: a thread that starts
 * handler after handler is busy, not stuck, however long its event loop
 * takes to turn (a backlog of short handlers).
 *
 * The owner writes with plain stores: this is on the per-message path, and
 * a sequentially consistent store costs a fence there. The main thread reads
 * with Atomics.load and only acts on values that stayed the same across
 * heartbeat ticks (a second and more): stores that old are visible, and a
 * value read while it changes is one the watchdog throws away (the sequence
 * it read with it has moved by the next tick).
 */

const kLineWords = 16;
const kTurnSeq = 0;
const kTurnSlot = 1;
const kTurnEntry = 2;

export function allocateTurns(endpoints: number): SharedArrayBuffer {
  return new SharedArrayBuffer(endpoints * kLineWords * 4);
}

/** The owner's side: one endpoint's line. */
export class TurnWriter {
  private readonly words: Int32Array;
  private readonly base: number;

  constructor(sab: SharedArrayBuffer, endpoint: number) {
    this.words = new Int32Array(sab);
    this.base = endpoint * kLineWords;
    // A replacement thread takes over its predecessor's line, which may name
    // the handler that was running when it died (read by then: the main
    // thread reads it before it starts the replacement).
    this.words[this.base + kTurnSlot] = 0;
  }

  /** The handler of actor `slot` starts on the message journaled at `entry` (-1: none). */
  begin(slot: number, entry: number): void {
    const words = this.words;
    const base = this.base;
    words[base + kTurnSlot] = slot + 1;
    words[base + kTurnEntry] = entry;
    words[base + kTurnSeq] = (words[base + kTurnSeq] + 1) | 0;
  }

  /** The handler returned (or threw). */
  end(): void {
    this.words[this.base + kTurnSlot] = 0;
  }
}

/** The main thread's side: reads any endpoint's line. */
export class TurnReader {
  private readonly words: Int32Array;

  constructor(sab: SharedArrayBuffer) {
    this.words = new Int32Array(sab);
  }

  /** Handler starts so far on `endpoint` (wraps). */
  seq(endpoint: number): number {
    return Atomics.load(this.words, endpoint * kLineWords + kTurnSeq);
  }

  /** The slot whose handler runs on `endpoint`, -1 between handlers. */
  slot(endpoint: number): number {
    return Atomics.load(this.words, endpoint * kLineWords + kTurnSlot) - 1;
  }

  /** The journal entry of the message being handled on `endpoint`, -1 when none. */
  entry(endpoint: number): number {
    return Atomics.load(this.words, endpoint * kLineWords + kTurnEntry);
  }
}
