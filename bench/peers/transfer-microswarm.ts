/**
 * The microswarm side of transfer-64k, behind the same interface as the
 * postMessage peers (./transfer.ts): a runtime of two threads, the ping actor
 * (bench/actors/memory-ping.ts) on thread 0 and the pong actor on thread 1.
 * The ping actor allocates one 64 KB region once and reuses it; it moves to
 * the other side with every message (`tell(msg, { transfer: [handle] })`)
 * and each side reads all of it on arrival.
 *
 * `transfers()` reads the pool's transfer counter, so the case can check that
 * every handoff moved the region (two per round trip).
 */
import { Runtime } from '../../src/index.js';
import type { PingMsg } from '../actors/memory-ping.js';
import type { PongMsg } from '../actors/memory-pong.js';
import type { HandoffPair } from './transfer.js';

const pingUrl = new URL('../actors/memory-ping.ts', import.meta.url);
const pongUrl = new URL('../actors/memory-pong.ts', import.meta.url);

/** Generous: a slow run must show up as a slow figure, not as a failure. */
const runTimeoutMs = 120_000;

export type MicroswarmHandoffPair = HandoffPair & { transfers(): number };

export async function startMicroswarmPair(): Promise<MicroswarmHandoffPair> {
  const rt = await Runtime.start({ threads: 2 });
  try {
    const ping = await rt.spawn<PingMsg, Float64Array>(pingUrl, undefined, { thread: 0 });
    const pong = await rt.spawn<PongMsg, undefined>(pongUrl, undefined, { thread: 1 });
    return {
      run: (roundTrips) => ping.ask({ type: 'run', pong, roundTrips }, { timeoutMs: runTimeoutMs }),
      transfers: () => rt.memory.stats().transfers,
      close: () => rt.shutdown(),
    };
  } catch (error) {
    await rt.shutdown().catch(() => undefined);
    throw error;
  }
}
