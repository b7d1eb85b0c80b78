/**
 * The microswarm side of the comparisons, behind the same small interfaces as
 * the peers (./peer.ts), so that the case files treat every impl alike.
 *
 * The case files import this module dynamically, inside the guard of the
 * microswarm impl: while the runtime cannot load, only the microswarm records
 * fail and the peers are still measured.
 */
import { Runtime } from '../../src/index.js';
import type { CounterMsg } from '../actors/counter.js';
import type { DriverMsg } from '../actors/driver.js';
import type { CrossThreadCounter, LocalPair } from './peer.js';

const counterUrl = new URL('../actors/counter.ts', import.meta.url);
const driverUrl = new URL('../actors/driver.ts', import.meta.url);

/** Generous: a slow ask must show up as a slow figure, not as a failure. */
const askTimeoutMs = 120_000;

/** The part of a ref the cases use (structural, so it does not pin the runtime's generics). */
interface BenchRef<Msg> {
  tell(msg: Msg): boolean;
  send(msg: Msg): Promise<void>;
  ask(msg: Msg, options?: { timeoutMs?: number }): Promise<unknown>;
}

export type MicroswarmCounter = CrossThreadCounter & {
  /** Messages a bounded mailbox refused and that were then sent with backpressure. */
  readonly refused: number;
  /** What differs from the plain impl (metrics on). */
  readonly description?: string;
};

/** How often the `metrics` impls scrape, as a Prometheus server would. */
const scrapeEveryMs = 1000;

/**
 * A runtime of one worker thread holding one counter actor. `journalBytes: 0`
 * turns off the crash journal, to show what it costs side by side.
 * `metrics: true`: `rt.metrics()` registered (default sampling) and scraped
 * every second while the impl lives (the `microswarm-metrics` impls).
 * `threadSetup` runs in the pool thread first (microswarm-tracing.ts).
 * `askStackTraces: 'main-thread'`: each ask creates its timeout error at the
 * call (the `microswarm-stacks` impl: what a caller's stack costs).
 */
export async function startMicroswarmCounter(
  options: { journalBytes?: number; metrics?: boolean; threadSetup?: URL; askStackTraces?: 'main-thread' } = {},
): Promise<MicroswarmCounter> {
  const { metrics, ...runtimeOptions } = options;
  const rt = await Runtime.start({ threads: 1, ...runtimeOptions });
  let scraper: NodeJS.Timeout | undefined;
  try {
    if (metrics === true) {
      const registry = await rt.metrics();
      scraper = setInterval(() => void registry.metrics(), scrapeEveryMs);
    }
    const ref = (await rt.spawn(counterUrl, { start: 0 }, { thread: 0 })) as unknown as BenchRef<CounterMsg>;
    const get = async (): Promise<number> => (await ref.ask({ type: 'get' }, { timeoutMs: askTimeoutMs })) as number;
    await get(); // the actor is up and its module loaded
    let refused = 0;
    return {
      get refused() {
        return refused;
      },
      get description() {
        if (options.askStackTraces !== undefined) return `askStackTraces '${options.askStackTraces}': each ask captures the caller's stack`;
        return metrics === true ? `rt.metrics() scraped every ${scrapeEveryMs} ms` : undefined;
      },
      get,
      async incMany(count) {
        for (let i = 0; i < count; i++) {
          // tell() is the one-way send being measured. When a bounded mailbox
          // refuses, wait for room with send() so that every message is
          // counted once, as with the peers' unbounded queues.
          if (!ref.tell({ type: 'inc', by: 1 })) {
            refused++;
            await ref.send({ type: 'inc', by: 1 });
          }
        }
        // Messages from one sender arrive in order: this answer comes after
        // all `count` increments were handled.
        return get();
      },
      close: () => {
        clearInterval(scraper);
        return rt.shutdown();
      },
    };
  } catch (error) {
    clearInterval(scraper);
    await rt.shutdown().catch(() => undefined);
    throw error;
  }
}

/** A runtime of one worker thread holding a driver actor (which spawns its sibling counter). */
export async function startMicroswarmPair(): Promise<LocalPair> {
  const rt = await Runtime.start({ threads: 1 });
  try {
    const driver = (await rt.spawn(driverUrl, {}, { thread: 0 })) as unknown as BenchRef<DriverMsg>;
    const run = async (n: number): Promise<number> => (await driver.ask({ type: 'run', n }, { timeoutMs: askTimeoutMs })) as number;
    await run(1); // spawns the sibling
    return { run, close: () => rt.shutdown() };
  } catch (error) {
    await rt.shutdown().catch(() => undefined);
    throw error;
  }
}
