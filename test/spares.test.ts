/**
 * Spare threads (runtime/spares.ts): started with the pool's own threads,
 * each warmed on a worker of its own, and a dead thread's replacement.
 * What is counted is Piscina's workers and where the warm-ups went, read
 * through the runtime's control plane.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Runtime } from '../src/index.js';
import type { CounterMsg } from './fixtures/counter.js';
import { eventually } from './fixtures/helpers.js';

const counterUrl = new URL('./fixtures/counter.ts', import.meta.url);

let rt: Runtime | undefined;
afterEach(async () => {
  await rt?.shutdown();
  rt = undefined;
});

type Control = {
  pool: { threads: Array<{ threadId: number; terminate(): Promise<number> }> };
  spareWorkers: Map<number, number>;
  endpointToWorker: Map<number, number>;
};
const control = (r: Runtime) => (r as unknown as { control: Control }).control;

/** How many workers the runtime's Piscina pool has (its threads, its spares, and any starting). */
function workers(r: Runtime): number {
  return control(r).pool.threads.length;
}

/** How many workers the spares' warm-ups went to. */
function warmed(r: Runtime): number {
  return new Set(control(r).spareWorkers.values()).size;
}

describe('spare threads', () => {
  it('start with the pool, each warmed on a worker of its own, and one takes over for a thread that dies', async () => {
    rt = await Runtime.start({ threads: 2, standbyThreads: 2 });
    expect(workers(rt)).toBe(4);
    expect(
      await eventually(
        () => warmed(rt as Runtime),
        (n) => n === 2,
      ),
    ).toBe(2);
    const counter = await rt.spawn<CounterMsg, unknown>(counterUrl, { start: 7 }, { thread: 1 });
    const crash = await rt.killThread(1);
    expect(crash).toMatchObject({ thread: 1, replaced: true, rehosted: 1 });
    expect(await counter.ask({ type: 'get' })).toBe(7); // brought back on the spare
    // The spare that took over is a pool thread now, no spare's any more: a new one replaces it.
    expect([...control(rt).spareWorkers.values()]).not.toContain(control(rt).endpointToWorker.get(2));
    expect(
      await eventually(
        () => workers(rt as Runtime),
        (n) => n === 4,
      ),
    ).toBe(4);
    expect(
      await eventually(
        () => warmed(rt as Runtime),
        (n) => n === 2,
      ),
    ).toBe(2);
  });

  it('warm the worker Piscina starts in place of a spare that died on its own, and forget the dead one', async () => {
    rt = await Runtime.start({ threads: 1, standbyThreads: 1 });
    const ctl = control(rt);
    const first = await eventually(
      () => ctl.spareWorkers.get(0),
      (id) => id !== undefined,
    );
    const worker = ctl.pool.threads.find((w) => w.threadId === first);
    await worker?.terminate();
    const next = await eventually(
      () => ctl.spareWorkers.get(0),
      (id) => id !== undefined && id !== first,
    );
    expect(ctl.pool.threads.map((w) => w.threadId)).toContain(next);
    // It serves as the spare: a thread that dies is replaced by it, its actor brought back.
    const counter = await rt.spawn<CounterMsg, unknown>(counterUrl, { start: 3 }, { thread: 0 });
    expect(await rt.killThread(0)).toMatchObject({ thread: 0, replaced: true, rehosted: 1 });
    expect(await counter.ask({ type: 'get' })).toBe(3);
  });
});
