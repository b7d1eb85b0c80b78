/**
 * ask-rtt: one request and its reply between the main thread and a counter on
 * another thread, sequential. `{ type: 'get' }` answered with the count, for
 * every impl; tinybench times each round trip (per-op p50/p99).
 *
 * Impls run back to back in this process, each set up, warmed up (tinybench
 * warm-up phase), measured and torn down before the next starts: on a
 * 2-core machine an idle-but-alive peer (a thread that polls) would take CPU
 * from the one being measured.
 */
import { Bench } from 'tinybench';
import { guarded, recordFromTask, type BenchRecord } from './harness.js';
import type { CrossThreadCounter } from './peers/peer.js';

const caseName = 'ask-rtt';

interface Impl {
  name: string;
  start(): Promise<CrossThreadCounter & { description?: string }>;
}

const impls: Impl[] = [
  { name: 'microswarm', start: async () => (await import('./peers/microswarm.js')).startMicroswarmCounter() },
  { name: 'microswarm-nojournal', start: async () => (await import('./peers/microswarm.js')).startMicroswarmCounter({ journalBytes: 0 }) },
  { name: 'postMessage', start: async () => (await import('./peers/postmessage.js')).startPostMessageCounter() },
  { name: 'piscina', start: async () => (await import('./peers/piscina.js')).startPiscinaCounter() },
  { name: 'comlink', start: async () => (await import('./peers/comlink.js')).startComlinkCounter() },
];

export async function run(quick: boolean): Promise<BenchRecord[]> {
  const timeMs = quick ? 1_000 : 4_000;
  const warmupTimeMs = quick ? 300 : 1_000;
  const records: BenchRecord[] = [];
  for (const impl of impls) {
    let peer: (CrossThreadCounter & { description?: string }) | undefined;
    const measured = await guarded(
      caseName,
      impl.name,
      async () => {
        peer = await impl.start();
        const counter = peer;
        const bench = new Bench({ time: timeMs, warmupTime: warmupTimeMs, warmupIterations: 100, throws: true });
        let answer: unknown;
        bench.add(impl.name, async () => {
          answer = await counter.get();
        });
        await bench.run();
        if (typeof answer !== 'number') throw new Error(`expected a number from get, got ${typeof answer}`);
        return [recordFromTask(caseName, impl.name, bench.tasks[0], peer.description)];
      },
      { timeoutMs: timeMs + warmupTimeMs + 30_000, cleanup: async () => peer?.close() },
    );
    records.push(...measured);
  }
  return records;
}
