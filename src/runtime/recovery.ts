/**
 * Thread-crash handling: a pool thread that died (crashed, exited, ran out
 * of memory, was terminated as stuck or on request) is replaced and its
 * actors are brought back on the replacement (rehosted), or reported lost.
 * Recoveries run one at a time, in the order the deaths were noticed.
 */
import { ActorRef, systemRef } from '../actors/ref.js';
import type { CrashDecision, SupervisorState } from '../actors/supervision.js';
import { ActorCrashedError, EscalatedError, InvalidArgumentError } from '../base/errors.js';
import type { EventSource } from '../base/events.js';
import type { ActorFailure, Endpoint } from '../engine/endpoint.js';
import type { HostTask, RehostedActor } from '../engine/host.js';
import { encode } from '../transport/codec/index.js';
import { kAlive, kFree, kStarting, kStopAsked, kStopping, kWhyCrashed, type Directory } from '../transport/directory.js';
import { Journal, kBlameNone, kBlameRunning, type JournalEntry } from '../transport/journal.js';
import { Ring } from '../transport/ring.js';
import { finishTakenBatch } from '../transport/transport.js';
import { TurnReader } from '../transport/turns.js';
import { unwrap, withTimeout, type ControlPlane, type ThreadBoot } from './control.js';
import type { ThreadMonitor } from './monitor.js';
import type { ResolvedOptions } from './options.js';
import type { Registry } from './registry.js';
import type { Spares } from './spares.js';

/** What `rt.crashes` reports once a pool thread that died has been dealt with. */
export interface ThreadCrash {
  /** 0-based index of the pool thread that died. */
  thread: number;
  /** 'stuck': silent for `stuckThreadMs` (one handler held it), and the runtime terminated it; 'exited': it died (or was killed) on its own. */
  reason: 'stuck' | 'exited';
  /** Actors brought back on its replacement (same refs; state from checkpoint or init). */
  rehosted: number;
  /** Actors that did not come back (their supervisor said stop, they were children of an actor that died with them, or no replacement thread started). */
  lost: ActorRef[];
  /** True when a replacement thread took over; false when the runtime goes on with the threads it has. */
  replaced: boolean;
  /** From the thread's exit being noticed to its actors running again, in ms. */
  recoveryMs: number;
}

/** @internal What recovery works with: the runtime's parts, set once. */
export interface RecoveryParts {
  options: ResolvedOptions;
  control: ControlPlane;
  endpoint: Endpoint;
  directory: Directory;
  boot: ThreadBoot;
  registry: Registry;
  spares: Spares;
  monitor: ThreadMonitor;
  /** The root supervisor's state: it decides for top-level actors. */
  rootSupervision: SupervisorState;
  failures: EventSource<ActorFailure>;
  crashes: EventSource<ThreadCrash>;
  /** Told at once (before the recovery) that the thread of `endpoint` died: swarms learn their members there lost their state. */
  threadLost(endpoint: number): void;
}

/** @internal Deaths of pool threads, their recovery, and fault injection. */
export class ThreadRecovery {
  private readonly options: ResolvedOptions;
  private readonly threads: number;
  private readonly control: ControlPlane;
  private readonly endpoint: Endpoint;
  private readonly directory: Directory;
  private readonly boot: ThreadBoot;
  private readonly registry: Registry;
  private readonly spares: Spares;
  private readonly monitor: ThreadMonitor;
  private readonly rootSupervision: SupervisorState;
  private readonly failures: EventSource<ActorFailure>;
  private readonly crashes: EventSource<ThreadCrash>;
  private readonly threadLost: (endpoint: number) => void;
  private recovery: Promise<void> = Promise.resolve();
  /** Endpoints terminated by `killThread`: no message is to blame for their death. */
  private readonly injected = new Set<number>();
  /** Deaths of the threads of each endpoint (counted by workerGone). */
  private readonly deaths = new Map<number, number>();
  /** Actors lost by a recovery whose replacement died while taking over, for the next one's report. */
  private readonly lostBefore = new Map<number, { lost: ActorRef[]; pairs: number[] }>();

  constructor(parts: RecoveryParts) {
    this.options = parts.options;
    this.threads = parts.options.threads;
    this.control = parts.control;
    this.endpoint = parts.endpoint;
    this.directory = parts.directory;
    this.boot = parts.boot;
    this.registry = parts.registry;
    this.spares = parts.spares;
    this.monitor = parts.monitor;
    this.rootSupervision = parts.rootSupervision;
    this.failures = parts.failures;
    this.crashes = parts.crashes;
    this.threadLost = parts.threadLost;
  }

  /** Piscina removed a worker: if it hosted an endpoint (and we are not shutting down), recover it. */
  workerGone(workerId: number, endpoint: number): void {
    const control = this.control;
    control.workerToEndpoint.delete(workerId);
    control.endpointToWorker.delete(endpoint);
    this.deaths.set(endpoint, (this.deaths.get(endpoint) ?? 0) + 1);
    if (control.closing) return;
    this.threadLost(endpoint);
    control.recovering.add(endpoint);
    this.recovery = this.recovery
      .then(() => this.recover(endpoint))
      .catch((error: unknown) => {
        this.failures.publish({ actor: systemRef(this.endpoint), error: error as Error, phase: 'crashed' });
      })
      .finally(() => {
        control.recovering.delete(endpoint);
        this.monitor.forget(endpoint);
        control.recovered(endpoint);
      });
  }

  /**
   * Recovery of a thread that died. What it had not read of its rings is
   * still there; its heap (mailboxes, state, backlog) is gone. Each actor
   * spawned through the main thread is brought back in the same slot and
   * generation, unless its supervisor says stop; actors spawned on that
   * thread by an actor of it are not (their parent's new instance makes its
   * own children, as after a restart). Asks other threads had in that
   * thread's heap are rejected with ActorCrashedError; watchers of the lost
   * actors get Terminated ('crashed').
   */
  private async recover(endpoint: number): Promise<void> {
    const began = performance.now();
    const injected = this.injected.delete(endpoint);
    const dir = this.directory;
    const transport = this.endpoint.transport;
    const records = this.registry.records;
    // A batch it was committing is finished first: the counts read next include it.
    finishTakenBatch(this.boot.transport, endpoint);
    // Free slots it kept for its own spawns are everyone's again (before a
    // replacement is bound to the endpoint and starts a cache of its own).
    dir.reclaimCachedSlots(endpoint);
    const consumed = Array.from({ length: this.threads + 1 }, (_, from) => (from === endpoint ? 0 : transport.consumed(from, endpoint)));
    const error = new ActorCrashedError(`on pool thread ${endpoint - 1}`, 'was on a pool thread that died');
    const rehost: RehostedActor[] = [];
    const lost: ActorRef[] = [];
    const limit = dir.highWater();
    for (let slot = 0; slot < limit; slot++) {
      const state = Atomics.load(dir.state, slot);
      if ((state !== kStarting && state !== kAlive && state !== kStopping && state !== kStopAsked) || Atomics.load(dir.thread, slot) !== endpoint)
        continue;
      if (this.registry.spawning.has(slot)) continue; // its spawn call settles it
      const gen = Atomics.load(dir.gen, slot);
      const record = records.get(slot);
      const ref = new ActorRef(slot, gen, record?.name, this.endpoint);
      let decision: CrashDecision = { directive: 'stop', delayMs: 0 };
      if (record !== undefined && record.gen === gen && state === kAlive) decision = await this.crashDirective(ref, record.parent, endpoint, error);
      if (decision.directive === 'restart' && state === kAlive) {
        const r = record!;
        rehost.push({ slot, gen, module: r.module, args: r.args, name: r.name, parent: r.parent, delivery: r.delivery, delayMs: decision.delayMs });
      } else lost.push(ref);
    }
    const lostPairs: number[] = [];
    const release = (refs: ActorRef[]) => {
      for (const ref of refs) {
        lostPairs.push(ref.slot, ref.gen);
        // Live, or stopping when its thread died (it never finished): release it.
        const state = Atomics.load(dir.state, ref.slot);
        if (Atomics.load(dir.gen, ref.slot) !== ref.gen || state === kFree) continue;
        records.delete(ref.slot);
        this.endpoint.pool.reclaim({ slot: ref.slot, gen: ref.gen });
        this.endpoint.dropCheckpoint(ref.slot);
        dir.release(ref.slot, kWhyCrashed);
        transport.addLoad(endpoint, -1);
        this.failures.publish({ actor: ref, error, phase: 'crashed' });
      }
    };
    // Released before the replacement replays anything: what it replays for
    // them becomes a dead letter with reason 'crashed'.
    release(lost);
    // Lost by an attempt whose replacement died while taking over: reported now.
    const earlier = this.lostBefore.get(endpoint);
    if (earlier !== undefined) {
      this.lostBefore.delete(endpoint);
      lost.unshift(...earlier.lost);
      lostPairs.unshift(...earlier.pairs);
    }
    // What it had taken and not finished: replayed by its replacement, whose
    // answers settle those asks (so they are not rejected below). The
    // journal is left as it is: the replacement takes it over, each entry
    // staying until its message is done (see journal.ts).
    const journalBuffer = this.boot.transport.journals[endpoint];
    let replay: JournalEntry[] = [];
    if (journalBuffer !== null && journalBuffer !== undefined) {
      const journal = new Journal(journalBuffer);
      try {
        replay = journal.pending(this.culprit(endpoint, injected));
      } catch (err) {
        // A corrupt journal replays nothing: its asks are rejected as in
        // doubt below, rather than replaying bytes that cannot be trusted;
        // the replacement starts with an empty one.
        this.failures.publish({ actor: systemRef(this.endpoint), error: err as Error, phase: 'crashed' });
        journal.reset();
      }
    }
    const replayedAsks = replay.flatMap((entry) => this.endpoint.askOfJournaled(entry));
    this.recountBounded(endpoint, rehost, replay);
    let replaced = true;
    const deathsBefore = this.deaths.get(endpoint) ?? 0;
    const control = this.control;
    try {
      const a = this.boot;
      const task = {
        op: 'recover',
        index: endpoint,
        transport: a.transport,
        directory: dir.shared,
        pool: a.pool,
        config: a.config,
        actors: rehost,
        setup: this.options.threadSetup,
        error: encode(error, 'error'),
        replay,
      } as HostTask;
      unwrap(await withTimeout(control.run(task, { endpoint, attach: true }), 10_000, 'no replacement thread started'));
    } catch (err) {
      if (this.replacementDied(endpoint, deathsBefore)) {
        // The replacement itself died while taking over (killed, or it crashed
        // replaying): it is recovered in turn, by the recovery its death
        // queued, which finds the same actors and the same journal. One
        // report covers both deaths, and the actors lost in this attempt.
        this.lostBefore.set(endpoint, { lost, pairs: lostPairs });
        return;
      }
      // Piscina does not respawn a thread that fails while starting: go on
      // with the threads we have; what lived there is lost.
      replaced = false;
      control.down.add(endpoint);
      // Its worker (if one took the task) stays idle and bound to nothing:
      // not a spare, not watched by the heartbeat monitor.
      const worker = control.endpointToWorker.get(endpoint);
      if (worker !== undefined) {
        control.endpointToWorker.delete(endpoint);
        control.workerToEndpoint.set(worker, -1);
      }
      const more = rehost.map((a) => new ActorRef(a.slot, a.gen, a.name, this.endpoint));
      lost.push(...more);
      release(more);
      rehost.length = 0;
      replayedAsks.length = 0; // nobody replays them: rejected below
      // Nobody will read its rings either: what waits there is in doubt too
      // (an ask, a spawn or stop from the main thread, a function task),
      // rejected below rather than left unanswered.
      for (let from = 0; from < consumed.length; from++) if (from !== endpoint) consumed[from] = transport.sent(from, endpoint);
      this.failures.publish({ actor: systemRef(this.endpoint), error: err as Error, phase: 'crashed' });
    }
    // Everyone else learns of it: asks in doubt are rejected, watches settled.
    this.endpoint.threadCrashed(endpoint, consumed, lostPairs, replayedAsks);
    for (let e = 1; e <= this.threads; e++) {
      if (e === endpoint || control.down.has(e) || !control.endpointToWorker.has(e)) continue;
      this.endpoint.notify(e, 'threadCrashed', { endpoint, consumed, lost: lostPairs, replayed: replayedAsks });
    }
    this.spares.warm(); // the spare Piscina started in place of the dead thread
    const reason = this.monitor.stuck.delete(endpoint) ? 'stuck' : 'exited';
    // Running again before the crash is published: what its subscribers send
    // to the running threads (the swarm terms the new thread lacks) reaches it.
    if (replaced) {
      control.recovering.delete(endpoint);
      control.recovered(endpoint); // control tasks that waited for it, before what the subscribers do
    }
    this.crashes.publish({ thread: endpoint - 1, reason, rehosted: rehost.length, lost, replaced, recoveryMs: performance.now() - began });
  }

  /**
   * Which journaled message took thread `endpoint` down, for poison counting
   * (kPoisonAfterCrashes): none when it was killed on request (no message's
   * fault); else the message whose handler was running synchronously (the
   * turn words outlive the thread: see turns.ts), or, when none was, every
   * message whose async handler was in flight (the culprit is among them).
   */
  private culprit(endpoint: number, injected: boolean): number {
    if (injected) return kBlameNone;
    const turns = new TurnReader(this.boot.transport.turns);
    return turns.slot(endpoint) >= 0 ? turns.entry(endpoint) : kBlameRunning;
  }

  /**
   * True when the thread that took over `endpoint` has died (and so a
   * recovery of its own is or will be queued by `workerGone`), false when it
   * is alive (it failed to start: setup threw, or it timed out) or none took
   * the task.
   */
  private replacementDied(endpoint: number, deathsBefore: number): boolean {
    // workerGone has run already: it unbound the endpoint and queued a recovery.
    if ((this.deaths.get(endpoint) ?? 0) !== deathsBefore) return true;
    // Or it is about to: the worker bound to the endpoint is no longer in the pool.
    const id = this.control.endpointToWorker.get(endpoint);
    return id !== undefined && !this.control.pool.threads.some((w) => w.threadId === id);
  }

  /**
   * A bounded mailbox counts messages accepted and not yet taken (senders
   * add, the host takes). What a dead thread held only in its heap (messages
   * between its own actors) is gone, so its count would stay taken forever.
   * Each brought-back bounded actor's count is set back to what still waits
   * for it: messages in the rings to the thread plus journaled ones not
   * being handled (the one being handled is re-counted by the replay). A
   * sender between counting and pushing at this very moment can leave the
   * count off by its one message; no count is left holding a lost message.
   */
  private recountBounded(endpoint: number, rehost: RehostedActor[], replay: JournalEntry[]): void {
    const dir = this.directory;
    const bounded = rehost.filter((a) => dir.capacity[a.slot] > 0);
    if (bounded.length === 0) return;
    const waiting = new Map<number, number>();
    const count = (body: Uint8Array) => {
      for (const target of this.endpoint.countedTargetsOf(body)) {
        if (Atomics.load(dir.gen, target.slot) === target.gen) waiting.set(target.slot, (waiting.get(target.slot) ?? 0) + 1);
      }
    };
    const before = bounded.map((a) => Atomics.load(dir.depth, a.slot));
    const rings = this.boot.transport.rings;
    const endpoints = this.threads + 1;
    for (let from = 0; from < endpoints; from++) {
      const ring = rings[from * endpoints + endpoint];
      if (from !== endpoint && ring !== null && ring !== undefined) new Ring(ring).peekMessages(count);
    }
    for (const entry of replay) if (!entry.running) count(entry.body);
    bounded.forEach((a, i) => {
      const lost = before[i] - (waiting.get(a.slot) ?? 0);
      if (lost > 0) Atomics.sub(dir.depth, a.slot, lost);
    });
  }

  /**
   * What the crashed actor's supervisor says: restart (resume counts as
   * restart: its state is gone) or stop, and the restart backoff delay.
   */
  private async crashDirective(ref: ActorRef, parent: { slot: number; gen: number } | undefined, endpoint: number, error: Error): Promise<CrashDecision> {
    const stop: CrashDecision = { directive: 'stop', delayMs: 0 };
    if (parent === undefined) {
      const decision = this.rootSupervision.decide(ref.toString(), error, ref);
      if (decision.directive === 'escalate') {
        this.failures.publish({
          actor: ref,
          error: new EscalatedError(ref.toString(), decision.reason ?? 'the root supervisor escalated', { cause: error }),
          phase: 'escalated',
        });
        return stop;
      }
      if (decision.directive === 'stop') return stop;
      return { directive: 'restart', delayMs: decision.delayMs };
    }
    if (!this.directory.isLive(parent.slot, parent.gen)) return stop;
    const thread = Atomics.load(this.directory.thread, parent.slot);
    if (thread === endpoint) return stop; // died with it: its new instance makes its own children
    try {
      const parentRef = new ActorRef(parent.slot, parent.gen, undefined, this.endpoint);
      return (await withTimeout(
        this.endpoint.request(thread, 'decideCrash', { supervisor: parentRef, child: ref, error }),
        5_000,
        'decideCrash',
      )) as CrashDecision;
    } catch {
      return stop;
    }
  }

  /** `rt.killThread`: terminates pool thread `thread` as a crash would; resolves once it has been recovered. */
  async kill(thread: number): Promise<ThreadCrash> {
    this.control.checkOpen('killThread');
    if (typeof thread !== 'number' || !Number.isInteger(thread) || thread < 0 || thread >= this.threads) {
      throw new InvalidArgumentError('thread', `an integer from 0 to ${this.threads - 1}`, thread);
    }
    const worker = this.control.workerOf(thread + 1);
    if (worker === undefined) throw new InvalidArgumentError('thread', 'a pool thread that is running (it is down or being replaced)', thread);
    const crashed = new Promise<ThreadCrash>((resolve) => {
      const off = this.crashes.subscribe((crash) => {
        if (crash.thread !== thread) return;
        off();
        resolve(crash);
      });
    });
    this.injected.add(thread + 1);
    await worker.terminate();
    return crashed;
  }
}
