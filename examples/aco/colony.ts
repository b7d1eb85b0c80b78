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
 * Walks asked at a time of an ant on another thread than the colony's
 * (asynchronous mode): enough queued work (16 walks x the ants there, a
 * millisecond or more) that the thread still has work when the colony's
 * thread is late to answer, such as when the OS takes its core for a time
 * slice. A walk reads the pheromone when it runs, not when it was asked
 * for, so a deep queue makes no tour older. Ants on the colony's thread get
 * one (see aco-colony.ts).
 */
const kDepth = 16;
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
    const depth = ants.map((_, i) => (i % rt.threads === 0 ? 1 : kDepth));
    const cpu = process.cpuUsage();
    const run = colony.ask({ type: 'run', instance, ants, depth, budget, sync }, { timeoutMs: budget.seconds * 1000 + 60_000 }) as Promise<RunResult>;
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
