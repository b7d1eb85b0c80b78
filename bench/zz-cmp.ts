import { Runtime } from '../src/index.js';
async function make(metrics: number) {
  const rt = await Runtime.start({ threads: 1 });
  const c = await rt.spawn(new URL('./actors/counter.ts', import.meta.url), { start: 0 }, { thread: 0 });
  if (metrics > 0) await rt.metrics(undefined, { sampleEvery: metrics });
  await c.ask({ type: 'get' });
  return { rt, c };
}
const order = process.argv.slice(2).map(Number);
for (const m of order) {
  const { rt, c } = await make(m);
  const times: number[] = [];
  for (let k = 0; k < 7; k++) {
    const t0 = performance.now();
    for (let i = 0; i < 200000; i++) c.tell({ type: 'inc', by: 1 });
    await c.ask({ type: 'get' });
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  console.log('sampleEvery', m, 'median ms', times[3].toFixed(1), times.map((t) => t.toFixed(0)).join(' '));
  await rt.shutdown();
}
