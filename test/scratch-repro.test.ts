import { it, expect } from 'vitest';
import { Runtime, type ActorFailure, type ThreadCrash } from '../src/index.js';
import type { LongAskerMsg } from './fixtures/long-asker.js';
const url = new URL('./fixtures/long-asker.ts', import.meta.url);
it('repro', async () => {
  const count = Number(process.env.COUNT ?? 100000);
  const rt = await Runtime.start({ threads: 2, ...(process.env.STUCK ? { stuckThreadMs: Number(process.env.STUCK) } : {}) });
  const crashes: ThreadCrash[] = []; const failures: ActorFailure[] = [];
  rt.crashes.subscribe((c) => { crashes.push(c); console.log('crash', Date.now() - t0, c.reason, c.rehosted); });
  rt.failures.subscribe((f) => { failures.push(f); console.log('failure', Date.now() - t0, f.phase, f.actor.toString(), f.error.message); });
  const asker = await rt.spawn<LongAskerMsg, unknown>(url, undefined, { thread: 0 });
  const other = await rt.spawn<LongAskerMsg, unknown>(url, undefined, { thread: 0 });
  const echo = await rt.spawn<LongAskerMsg, unknown>(url, undefined, { thread: 1 });
  const born = await other.ask({ type: 'born' });
  const t0 = Date.now();
  const r = await asker.ask({ type: 'burst', to: echo, minCount: count, minMs: Number(process.env.MINMS ?? 1500) }, { timeoutMs: 60_000 }).catch((e) => e);
  console.log('result', r, 'ms', Date.now() - t0, 'born', born, await other.ask({ type: 'born' }));
  await rt.shutdown();
}, 120_000);
