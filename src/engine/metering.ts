/**
 * What one thread counts for metrics: this endpoint's block of counter words
 * in shared memory (transport/meters.ts), bumped by the router, dispatcher,
 * asks, lifecycle and supervisor; and the sampling of the histograms
 * (handler time, time in mailbox, ask latency, mailbox length).
 *
 * Cost per message: counts are one plain add to a word of this thread's own
 * block. Histograms need a clock read, so only one message in `sampleEvery`
 * is timed (set by `rt.metrics()`; 0 until then): the hot path pays one
 * decrement of a countdown per message, and the shared sampling word is read
 * only when a countdown runs out.
 *
 * Time in mailbox is sampled one message at a time per thread: the sampled
 * message's actor and how many messages are ahead of it in its mailbox are
 * kept, and each message taken from that mailbox counts down, so mailboxes
 * carry no timestamp per entry. A sample that waits more than
 * kStaleSampleMs (a suspended actor) is recorded as waited so far and the
 * next one starts.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Cell } from '../actors/cell.js';
import { HandlerTimes } from '../actors/handler-times.js';
import {
  MeterWriter,
  kAskStarted,
  kAskTime,
  kAsks,
  kHandled,
  kHandlerTime,
  kHistWords,
  kMailboxLength,
  kMailboxTime,
  kRestarted,
  kSent,
  kSpawned,
  kStopped,
} from '../transport/meters.js';

/** How many messages go by between two reads of the sampling word while histograms are off. */
const kRecheckEvery = 4096;
/** A sampled message still in its mailbox after this long is recorded as waited so far. */
const kStaleSampleMs = 30_000;

/** The label of an actor module in metrics: its path relative to the working directory when under it, else its URL. */
function moduleLabel(url: string): string {
  if (!url.startsWith('file:')) return url;
  try {
    const file = fileURLToPath(url);
    const relative = path.relative(process.cwd(), file);
    return relative.startsWith('..') || path.isAbsolute(relative) ? file : relative.split(path.sep).join('/');
  } catch {
    return url;
  }
}

/** @internal One endpoint's metric counts and samples. */
export class Metering {
  readonly writer: MeterWriter;
  private readonly modules = new Map<string, number>();
  private enqueueIn = 1;
  private handlerIn = 1;
  private askIn = 1;
  /** The sampled message waiting in a mailbox: its actor, messages ahead of it, when it was queued (ms). */
  private pendingCell: Cell | undefined = undefined;
  private pendingAhead = 0;
  private pendingAt = 0;

  constructor(sab: SharedArrayBuffer, endpoint: number) {
    this.writer = new MeterWriter(sab, endpoint);
  }

  /** The sampling rate now (0: histograms off) and the countdown to set: that rate, or a recheck later while off. */
  private rate(): number {
    return this.writer.sampleEvery();
  }

  // ------------------------------------------------------------- counts

  /** One message sent by `path` (kPathLocal, kPathCross, kPathRemote). */
  sent(path: number): void {
    this.writer.bump(kSent + path);
  }

  /** An ask outcome (kAskStarted, kAskTimedOut, kAskAborted). */
  ask(what: number): void {
    this.writer.bump(kAsks + what);
  }

  /** `count` messages of `cell` handled. */
  handled(cell: Cell, count: number): void {
    this.writer.add(kHandled + cell.meterModule, count);
  }

  /** An actor of this thread got its cell: its module is looked up (once per module), and counted as spawned unless it was already running elsewhere. */
  cellCreated(cell: Cell, fresh: boolean): void {
    let index = this.modules.get(cell.moduleUrl);
    if (index === undefined) {
      index = this.writer.moduleIndex(moduleLabel(cell.moduleUrl));
      this.modules.set(cell.moduleUrl, index);
    }
    cell.meterModule = index;
    this.writer.setSlotModule(cell.slot, index);
    if (fresh) this.writer.bump(kSpawned + index);
  }

  stopped(cell: Cell): void {
    this.writer.bump(kStopped + cell.meterModule);
    this.forget(cell);
  }

  restarted(cell: Cell): void {
    this.writer.bump(kRestarted + cell.meterModule);
  }

  // ------------------------------------------------------------ samples

  /** A message is about to be pushed on `cell`'s mailbox. */
  enqueued(cell: Cell): void {
    if (--this.enqueueIn === 0) this.sampleEnqueue(cell);
  }

  private sampleEnqueue(cell: Cell): void {
    const every = this.rate();
    this.enqueueIn = every > 0 ? every : kRecheckEvery;
    if (every === 0) return;
    const ahead = cell.mailbox.length;
    this.writer.observe(kMailboxLength, ahead + 1);
    const now = performance.now();
    if (this.pendingCell !== undefined) {
      if (now - this.pendingAt < kStaleSampleMs) return;
      this.writer.observe(kMailboxTime, Math.floor((now - this.pendingAt) * 1000));
    }
    this.pendingCell = cell;
    this.pendingAhead = ahead;
    this.pendingAt = now;
  }

  /** The oldest message of `cell`'s mailbox was taken: `handled` (to be run) or dropped. */
  dequeued(cell: Cell, handled: boolean): void {
    if (cell !== this.pendingCell) return;
    if (this.pendingAhead-- > 0) return;
    this.pendingCell = undefined;
    if (handled) this.writer.observe(kMailboxTime, Math.floor((performance.now() - this.pendingAt) * 1000));
  }

  /** `cell`'s mailbox was emptied other than one by one (stopped, moved): a sample in it is dropped. */
  forget(cell: Cell): void {
    if (cell === this.pendingCell) this.pendingCell = undefined;
  }

  /** True when the handler about to run is timed. */
  timeHandler(): boolean {
    if (--this.handlerIn !== 0) return false;
    const every = this.rate();
    this.handlerIn = every > 0 ? every : kRecheckEvery;
    return every > 0;
  }

  /** A timed handler of `cell` that began at `began` (performance.now()) has finished. */
  handlerDone(cell: Cell, began: number): void {
    const us = Math.floor((performance.now() - began) * 1000);
    this.writer.observe(kHandlerTime + cell.meterModule * kHistWords, us);
    (cell.handlerTimes ??= new HandlerTimes()).record(us);
  }

  /** An ask starts: counted, and 0 or, when it is timed, its start time (performance.now()). */
  askStarted(): number {
    this.writer.bump(kAsks + kAskStarted);
    if (--this.askIn !== 0) return 0;
    const every = this.rate();
    this.askIn = every > 0 ? every : kRecheckEvery;
    return every > 0 ? performance.now() : 0;
  }

  /** A timed ask that started at `began` was answered. */
  askAnswered(began: number): void {
    this.writer.observe(kAskTime, Math.floor((performance.now() - began) * 1000));
  }

  /** The `n` deepest mailboxes of this thread's actors, deepest first (a scrape asks; walks every actor here). */
  deepest(cells: ReadonlyArray<Cell | undefined>, n: number): Array<{ actor: string; module: number; depth: number }> {
    const top: Cell[] = [];
    if (n < 1) return [];
    for (const cell of cells) {
      if (cell === undefined || cell.stopped || cell.mailbox.length === 0) continue;
      const depth = cell.mailbox.length;
      if (top.length === n && depth <= top[n - 1].mailbox.length) continue;
      let at = top.length;
      while (at > 0 && top[at - 1].mailbox.length < depth) at--;
      top.splice(at, 0, cell);
      if (top.length > n) top.pop();
    }
    return top.map((cell) => ({ actor: cell.ref.toString(), module: cell.meterModule, depth: cell.mailbox.length }));
  }
}
