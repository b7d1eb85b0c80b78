/**
 * The `microswarm` impl of the Savina cases: a runtime of two threads; per
 * case, a driver actor on thread 0 (bench/actors/savina-<case>.ts) that
 * builds the case's actors on every run and answers with the case's answer.
 * Where each actor lives is said in its module (`spread`), or all on the
 * driver's thread (`local`: bench/actors/savina-common.ts).
 */
import { Runtime } from '../../src/index.js';
import type { Placement } from '../actors/savina-common.js';
import type { SavinaCase, SavinaPeer, SavinaSizes } from './savina-shape.js';

/** Enough for fib(25)'s 242,785 actors and fjcreation's 40,000 live at once. */
const maxAgents = 1_000_000;

export async function startMicroswarmSavina(placement: Placement, threads = 2): Promise<SavinaPeer> {
  const rt = await Runtime.start({ threads, maxAgents });
  const drivers = new Map<SavinaCase, { ask(msg: unknown, options: { timeoutMs: number }): Promise<unknown> }>();
  return {
    async run(caseName: SavinaCase, sizes: SavinaSizes) {
      let driver = drivers.get(caseName);
      if (driver === undefined) {
        driver = await rt.spawn(new URL(`../actors/savina-${caseName}.ts`, import.meta.url), { role: 'driver' }, { thread: 0 });
        drivers.set(caseName, driver);
      }
      return String(await driver.ask({ type: 'run', sizes, placement }, { timeoutMs: 300_000 }));
    },
    close: () => rt.shutdown({ timeoutMs: 60_000 }),
  };
}
