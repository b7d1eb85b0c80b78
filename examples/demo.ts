/**
 * `npm run demo`: 256 agents on the embedded runtime, no services needed.
 *
 * 1. A token ring: each agent forwards a token to its successor; successors
 *    sit on other threads half of the time, so the token crosses the
 *    SharedArrayBuffer rings again and again. It runs twice: the first run
 *    includes V8's warm-up (compiling the message path on each thread), the
 *    second shows the warm runtime.
 * 2. Fan-out / fan-in: the main thread scatters prime counting over all 256
 *    agents (asks) and gathers the answers.
 * A progress line runs meanwhile; a summary table closes.
 */
import { Runtime, type ActorRef } from '../src/index.js';
import type { RingMsg } from './actors/ring-node.js';

const agents = 256;
const laps = 100;
const primeLimit = 1_000_000;

const nodeUrl = new URL('./actors/ring-node.ts', import.meta.url);
const started = performance.now();
const rt = await Runtime.start({ maxAgents: agents });
// On a terminal the progress line rewrites itself; in a log it is one line per update.
const progress = (line: string) => (process.stdout.isTTY ? process.stdout.write(`\r${line.padEnd(78)}`) : console.log(line));

const nodes: Array<ActorRef<RingMsg>> = await Promise.all(Array.from({ length: agents }, (_, index) => rt.spawn<RingMsg>(nodeUrl, { index })));
for (let i = 0; i < agents; i++) nodes[i].tell({ type: 'link', next: nodes[(i + 1) % agents] });
console.log(`spawned ${agents} agents on ${rt.threads} threads in ${(performance.now() - started).toFixed(0)} ms`);

// 1. Token ring, twice: the first run includes V8 compiling the message path
//    on each thread (its first few thousand hops are many times slower); the
//    second shows the warm runtime.
async function tokenRing(run: string): Promise<{ hops: number; ms: number }> {
  const ringStart = performance.now();
  const ringDone = nodes[0].ask({ type: 'start', laps }, { timeoutMs: 120_000 }) as Promise<number>;
  // Timed when the answer comes, not when the progress loop below next looks.
  let finishedAt = 0;
  void ringDone.finally(() => (finishedAt = performance.now()));
  const finished = () => finishedAt !== 0;
  while (!finished()) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const at = (await nodes[0].ask({ type: 'progress' })) as number;
    if (!finished()) progress(`ring (${run}): token at hop ${at.toLocaleString('en')} of ${(agents * laps).toLocaleString('en')}`);
  }
  const hops = await ringDone;
  const ms = finishedAt - ringStart;
  progress(`ring (${run}): ${hops.toLocaleString('en')} hops in ${ms.toFixed(0)} ms, ${((ms * 1000) / hops).toFixed(1)} us a hop`);
  console.log();
  return { hops, ms };
}
const cold = await tokenRing('first run');
const warm = await tokenRing('second run');
const hops = cold.hops + warm.hops;

// 2. Fan-out / fan-in.
const fanStart = performance.now();
const chunk = Math.ceil(primeLimit / agents);
let answered = 0;
const answers = await Promise.all(
  nodes.map(async (node, i) => {
    const answer = (await node.ask({ type: 'primes', from: i * chunk, to: Math.min(primeLimit, (i + 1) * chunk) }, { timeoutMs: 60_000 })) as {
      thread: number;
      primes: number;
    };
    answered++;
    if (answered % 32 === 0) progress(`fan-out: ${answered}/${agents} agents answered`);
    return answer;
  }),
);
const fanMs = performance.now() - fanStart;
const primes = answers.reduce((sum, a) => sum + a.primes, 0);
progress(`fan-out: ${primes.toLocaleString('en')} primes below ${primeLimit.toLocaleString('en')} in ${fanMs.toFixed(0)} ms`);
console.log('\n');

const perThread = new Map<number, number>();
for (const a of answers) perThread.set(a.thread, (perThread.get(a.thread) ?? 0) + 1);
const messages = hops + 2 * agents + agents; // token hops, primes asks + answers, links
const row = (messages: number, ms: number) => ({ messages, ms: Math.round(ms), 'msg/s': Math.round(messages / (ms / 1000)) });
console.table({
  'token ring, first run (V8 warm-up)': row(cold.hops, cold.ms),
  'token ring, second run (warm)': row(warm.hops, warm.ms),
  'fan-out/fan-in': row(2 * agents, fanMs),
});
console.table([...perThread].sort((a, b) => a[0] - b[0]).map(([thread, count]) => ({ thread, agents: count })));
console.log(`${messages.toLocaleString('en')} messages in all; dead letters: ${rt.deadLetters.count}; failures: ${rt.failures.count}`);
if (primes !== 78_498) throw new Error(`expected 78498 primes below 1,000,000, got ${primes}`);
await rt.shutdown();
console.log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
