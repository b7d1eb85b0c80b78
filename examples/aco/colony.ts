/**
 * Runs the Ant Colony System on the runtime: a colony actor on thread 0 and
 * the ants spread round-robin over the pool's threads (see
 * ../actors/aco-colony.ts and ../actors/aco-ant.ts for who owns what).
 */
import { Runtime, type ActorRef } from '../../src/index.js';
import type { AntMsg } from '../actors/aco-ant.js';
import type { ColonyMsg, ColonyProgress } from '../actors/aco-colony.js';
import { cpuMsSince, type Budget, type ProgressListener, type RunResult } from './plain.js';
import { pheromoneBytes, problemBytes } from './problem.js';
import type { Instance } from './tsplib.js';

const colonyUrl = new URL('../actors/aco-colony.ts', import.meta.url);
const antUrl = new URL('../actors/aco-ant.ts', import.meta.url);

const kRegion = 64 * 1024;
/**
 * How the colony asks for walks in the asynchronous mode (see
 * aco-colony.ts). Each message between an ant and the colony costs a few
 * microseconds (a walk of eil51 takes about ten), so walks go in batches.
 * An ant on the colony's thread: one message of 16 walks at a time, so that
 * the colony, which answers once per turn of that thread, gets a turn every
 * millisecond or so. An ant on another thread: 4 messages of 32 walks, 128
 * walks queued (over 5 ms of work for 5 ants), so its thread still has work
 * when the colony is late to answer, for example when the OS gives the
 * colony's core to another process for a time slice. A walk reads the
 * pheromone when it runs, not when it was asked for, so a deep queue makes
 * no tour older. (Measured on eil51, 2 threads: batches of 1 walk did about
 * 80,000 tours per CPU-second, these about 95,000; the plain loop 116,000.)
 */
const kLocal = { batch: 16, depth: 1 };
const kRemote = { batch: 32, depth: 4 };
const kDefaultPool = 28 * 1024 * 1024;

/** The pool size for n cities: the default 28 MiB, or enough for both blocks with room for the runtime's own carriers. */
function poolBytes(n: number): number {
  const needed = problemBytes(n) + pheromoneBytes(n) + 2 * kRegion + 8 * 1024 * 1024;
  return Math.max(kDefaultPool, Math.ceil(needed / kRegion) * kRegion);
}

/** Runs ACS on `threads` pool threads until the budget is spent; `onProgress` about ten times a second. */
export async function runColony(instance: Instance, budget: Budget, threads: number, sync: boolean, onProgress?: ProgressListener): Promise<RunResult> {
  const rt = await Runtime.start({ threads, memory: { size: poolBytes(instance.x.length) } });
  try {
    const failed = new Promise<never>((_, reject) => {
      rt.failures.subscribe((event) => reject(new Error(`${event.actor.toString()} failed: ${event.error.message}`, { cause: event.error })));
    });
    failed.catch(() => undefined); // raced below; not an unhandled rejection when nothing fails
    const colony = await rt.spawn<ColonyMsg, RunResult | ColonyProgress | undefined>(colonyUrl, undefined, { thread: 0 });
    const ants: Array<ActorRef<AntMsg>> = [];
    for (let i = 0; i < budget.ants; i++) ants.push(await rt.spawn<AntMsg>(antUrl, undefined, { thread: i % rt.threads }));
    const asks = ants.map((_, i) => (i % rt.threads === 0 ? kLocal : kRemote)); // ant i is on thread i % threads
    const batch = asks.map((ask) => ask.batch);
    const depth = asks.map((ask) => ask.depth);
    const cpu = process.cpuUsage();
    const run = colony.ask(
      { type: 'run', instance, ants, batch, depth, budget, sync },
      { timeoutMs: budget.seconds * 1000 + 60_000 },
    ) as Promise<RunResult>;
    let finished = false;
    void run.finally(() => (finished = true)).catch(() => undefined);
    while (!finished) {
      await Promise.race([new Promise((resolve) => setTimeout(resolve, 100)), run.catch(() => undefined), failed]);
      if (finished || onProgress === undefined) continue;
      const progress = (await Promise.race([colony.ask({ type: 'progress' }), failed])) as ColonyProgress;
      if (!finished) onProgress(progress);
    }
    const result = await Promise.race([run, failed]);
    return { ...result, cpuMs: cpuMsSince(cpu) };
  } finally {
    await rt.shutdown();
  }
}
