/**
 * The crash soak (not part of `npm test`): the chaos workload for a long
 * time. 32 actors with `checkpointEvery: 1` (test/fixtures/seen.ts) spread
 * over 2 pool threads; the main thread tells each of them numbered messages
 * and now and then asks one of them, while a pool thread is killed with
 * `rt.killThread` every 20-80 ms (the next kill waits for the recovery of the
 * last). At the end every actor is asked what it has seen.
 *
 *   npm run soak -- --kills 1000 --seed 1 --seed 2
 *
 * Options: --kills N (1000), --seed S (repeatable; 1), --actors N (32),
 * --threads N (2), --per-tick N (messages per actor per 1 ms tick; 1),
 * --window N (200: at most this many messages per actor sent and not yet
 * confirmed seen, so the pool threads are not buried under a backlog that
 * outgrows the journal, where losing messages is documented),
 * --ask-timeout-ms N (60000: an ask not settled by then counts as hung; a
 * kill storm on a busy machine makes asks wait seconds: replacements start
 * cold when the spare Piscina starts after each death is not up yet).
 *
 * SOAK_DEBUG=1 also prints, for each actor that lost messages, which ones,
 * and each ask that timed out.
 *
 * Prints a progress line every 50 kills, and for each seed: kills, tells
 * accepted, lost (accepted, never seen), duplicated (seen twice: the
 * message being handled when its thread died, handed over again under
 * `delivery: 'at-least-once'` although its checkpoint already had it; see
 * the README's journal paragraph), reordered, asks that hung (not settled
 * within --ask-timeout-ms), asks rejected with ActorCrashedError (in doubt:
 * allowed), the slowest answered ask, recovery times, actors lost with their
 * thread, and the process's RSS at the start (after the first 5% of kills:
 * the pool, its spare and the code are warm by then) and at the end. Exits
 * with 1 when anything was lost, reordered or hung.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ActorCrashedError, AskTimeoutError, Runtime, type ActorRef } from '../src/index.js';
import type { SeenMsg, SeenReport } from '../test/fixtures/seen.js';
import { mulberry32 } from '../test/fixtures/random.js';

interface Options {
  kills: number;
  seeds: number[];
  actors: number;
  threads: number;
  perTick: number;
  window: number;
  askTimeoutMs: number;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { kills: 1000, seeds: [], actors: 32, threads: 2, perTick: 1, window: 200, askTimeoutMs: 60_000 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = Number(argv[i + 1]);
    const need = () => {
      if (!Number.isInteger(value) || value < 0) throw new Error(`${arg} expects a non-negative integer, got ${argv[i + 1]}`);
      i++;
      return value;
    };
    if (arg === '--kills') options.kills = need();
    else if (arg === '--seed') options.seeds.push(need());
    else if (arg === '--actors') options.actors = need();
    else if (arg === '--threads') options.threads = need();
    else if (arg === '--per-tick') options.perTick = need();
    else if (arg === '--window') options.window = need();
    else if (arg === '--ask-timeout-ms') options.askTimeoutMs = need();
    else throw new Error(`unknown option ${arg} (use --kills N --seed S [--seed S2] --actors N --threads N --per-tick N --window N --ask-timeout-ms N)`);
  }
  if (options.seeds.length === 0) options.seeds.push(1);
  return options;
}

interface Result {
  seed: number;
  kills: number;
  accepted: number;
  lost: number;
  duplicated: number;
  reordered: number;
  hung: number;
  crashedAsks: number;
  rssStartMb: number;
  rssEndMb: number;
  /** The main thread's JS heap in use at the same two moments (apart from the pool threads' and native memory). */
  heapStartMb: number;
  heapEndMb: number;
  seconds: number;
  slowestAskMs: number;
  recoveryP50: number;
  recoveryMax: number;
  /** Actors lost with their thread (+1,000,000 per thread not replaced): 0 expected. */
  actorsLost: number;
}

const mb = (bytes: number) => Math.round(bytes / 1024 / 102.4) / 10;

function rss(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss;
}

async function soak(seed: number, options: Options): Promise<Result> {
  const began = performance.now();
  const random = mulberry32(seed);
  // Every kill restarts the actors of that thread: the root allows it without limit.
  const rt = await Runtime.start({ threads: options.threads, maxAgents: 256, askTimeoutMs: options.askTimeoutMs, supervisor: { maxRestarts: Infinity } });
  try {
    const actors: Array<ActorRef<SeenMsg, SeenReport | undefined>> = [];
    for (let i = 0; i < options.actors; i++) {
      actors.push(
        await rt.spawn<SeenMsg, SeenReport | undefined>(new URL('../test/fixtures/seen.ts', import.meta.url), {}, { thread: i % options.threads }),
      );
    }
    const deadLetters = new Map<string, number>();
    rt.deadLetters.subscribe((letter) => deadLetters.set(letter.reason, (deadLetters.get(letter.reason) ?? 0) + 1));
    const sent = new Array<number>(options.actors).fill(0);
    /** Per actor, the numbers below this are known seen (its last report's high + 1). */
    const confirmed = new Array<number>(options.actors).fill(0);
    let accepted = 0;
    let hung = 0;
    let crashedAsks = 0;
    let slowestAskMs = 0;
    let done = false;

    const teller = (async () => {
      while (!done) {
        for (let i = 0; i < options.actors; i++) {
          for (let k = 0; k < options.perTick && sent[i] - confirmed[i] < options.window; k++) {
            if (actors[i].tell({ n: sent[i] })) {
              sent[i]++;
              accepted++;
            }
          }
        }
        await sleep(1);
      }
    })();
    // Asks each actor in turn what it has seen (the teller's window moves
    // on), so asks in flight meet the kills too: each settles (an answer, or
    // ActorCrashedError when in doubt) or is counted as hung.
    // Counted, not kept: holding every ask's promise for the whole run grew
    // the heap by ~100 MB per 1,000 kills, the soak measuring itself.
    let asksOut = 0;
    const unexpected: unknown[] = [];
    const asker = (async () => {
      for (let turn = 0; !done; turn++) {
        const i = turn % actors.length;
        const asked = performance.now();
        asksOut++;
        actors[i].ask({ type: 'report' }).then(
          (report) => {
            asksOut--;
            slowestAskMs = Math.max(slowestAskMs, performance.now() - asked);
            if (report !== undefined) confirmed[i] = Math.max(confirmed[i], report.high + 1);
          },
          (err: unknown) => {
            asksOut--;
            if (err instanceof AskTimeoutError && process.env.SOAK_DEBUG)
              console.error(`DEBUG hung ask to actor ${i} (thread ${i % options.threads}) at ${Math.round(performance.now() - began)} ms`);
            if (err instanceof AskTimeoutError) hung++;
            else if (err instanceof ActorCrashedError) crashedAsks++;
            else unexpected.push(err);
          },
        );
        await sleep(2);
      }
    })();

    const recoveryMs: number[] = [];
    let actorsLost = 0;
    let rssStart = 0;
    let heapStart = 0;
    const warm = Math.max(1, Math.floor(options.kills / 20));
    for (let k = 1; k <= options.kills; k++) {
      await sleep(20 + random() * 60);
      const crash = await rt.killThread(Math.floor(random() * options.threads));
      recoveryMs.push(crash.recoveryMs);
      actorsLost += crash.lost.length + (crash.replaced ? 0 : 1_000_000);
      if (k === warm) {
        rssStart = rss();
        heapStart = process.memoryUsage().heapUsed;
      }
      if (k % 50 === 0 || k === options.kills) {
        const s = ((performance.now() - began) / 1000).toFixed(0);
        console.log(`seed ${seed}: ${k}/${options.kills} kills, ${accepted} accepted, ${hung} hung, rss ${mb(process.memoryUsage().rss)} MB, ${s} s`);
      }
    }
    done = true;
    await teller;
    await asker;
    // Every ask settles: answered, rejected, or timed out (counted as hung).
    while (asksOut > 0) await sleep(10);
    if (unexpected.length > 0) throw unexpected[0];

    let lost = 0;
    let duplicated = 0;
    let reordered = 0;
    for (let i = 0; i < actors.length; i++) {
      let report: SeenReport | undefined;
      try {
        report = await actors[i].ask({ type: 'report' });
      } catch (err) {
        if (!(err instanceof AskTimeoutError)) throw err;
        hung++;
      }
      if (report === undefined) continue;
      lost += report.gaps.length + Math.max(0, sent[i] - 1 - report.high);
      if (process.env.SOAK_DEBUG && report.gaps.length + Math.max(0, sent[i] - 1 - report.high) > 0) {
        console.error(
          `DEBUG actor ${i} (thread ${i % options.threads}): sent ${sent[i]}, high ${report.high}, gaps ${report.gaps.length} [${report.gaps.slice(0, 5).join(',')}...${report.gaps.slice(-3).join(',')}]`,
        );
      }
      duplicated += report.duplicates;
      reordered += report.reordered;
    }
    const rssEnd = rss();
    if (deadLetters.size > 0) console.log(`seed ${seed}: dead letters ${JSON.stringify(Object.fromEntries(deadLetters))}`);
    recoveryMs.sort((a, b) => a - b);
    return {
      slowestAskMs: Math.round(slowestAskMs),
      recoveryP50: Math.round(recoveryMs[Math.floor(recoveryMs.length / 2)] ?? 0),
      recoveryMax: Math.round(recoveryMs[recoveryMs.length - 1] ?? 0),
      actorsLost,
      seed,
      kills: options.kills,
      accepted,
      lost,
      duplicated,
      reordered,
      hung,
      crashedAsks,
      rssStartMb: mb(rssStart),
      rssEndMb: mb(rssEnd),
      heapStartMb: mb(heapStart),
      heapEndMb: mb(process.memoryUsage().heapUsed),
      seconds: Math.round((performance.now() - began) / 1000),
    };
  } finally {
    await rt.shutdown();
  }
}

const options = parseArgs(process.argv.slice(2));
const results: Result[] = [];
for (const seed of options.seeds) {
  const r = await soak(seed, options);
  results.push(r);
  const drift = r.rssStartMb === 0 ? 0 : ((r.rssEndMb - r.rssStartMb) / r.rssStartMb) * 100;
  console.log(
    `seed ${r.seed}: kills ${r.kills}, accepted ${r.accepted}, lost ${r.lost}, duplicated ${r.duplicated}, reordered ${r.reordered}, ` +
      `hung asks ${r.hung}, asks rejected ActorCrashedError ${r.crashedAsks}, slowest answered ask ${r.slowestAskMs} ms, rss start ${r.rssStartMb} MB, end ${r.rssEndMb} MB ` +
      `(${drift >= 0 ? '+' : ''}${drift.toFixed(1)}%), main heap ${r.heapStartMb} -> ${r.heapEndMb} MB, ` +
      `recovery p50 ${r.recoveryP50} ms max ${r.recoveryMax} ms, actors lost ${r.actorsLost}, ${r.seconds} s`,
  );
}
const total = (key: 'kills' | 'accepted' | 'lost' | 'duplicated' | 'reordered' | 'hung') => results.reduce((sum, r) => sum + r[key], 0);
console.log(
  `total: kills ${total('kills')}, accepted ${total('accepted')}, lost ${total('lost')}, duplicated ${total('duplicated')}, ` +
    `reordered ${total('reordered')}, hung asks ${total('hung')}`,
);
process.exitCode = total('lost') + total('hung') + total('reordered') + results.reduce((sum, r) => sum + r.actorsLost, 0) > 0 ? 1 : 0;
