/**
 * Swarm coordination cases (issue 6), on 2 pool threads.
 *
 * - broadcast-256: one message to 256 members (128 per thread), until every
 *   member has handled it (each acks to an acker actor; the main thread waits
 *   on the acker's count). Impls: `mesh` (one multicast: encoded once, one
 *   frame per thread), `star` (to the hub, which relays), `hierarchical`
 *   (fanout 4, level by level), `ring` (256 hops in a row), and
 *   `separate-tells` (256 tells from the main thread, each encoded and
 *   framed on its own). p50 per broadcast.
 * - vote-7, vote-31: one proposal (all members approve), `majority` (ends
 *   at a majority) and `bft` (two rounds, every member, to catch
 *   equivocation). p50 per proposal.
 * - failover: the leader's thread is terminated; from the kill to the new
 *   leader being known on every running thread (value: ms, p50 and p99).
 *   Aim: under 300 ms with 100 ms heartbeats.
 */
import { Runtime, type ActorRef, type Topology } from '../src/index.js';
import { guarded, quantile, round, wholeRunRecord, type BenchRecord } from './harness.js';

const nodeUrl = new URL('./actors/swarm-node.ts', import.meta.url);
const ackerUrl = new URL('./actors/acker.ts', import.meta.url);

async function spawnNodes(rt: Runtime, n: number): Promise<ActorRef[]> {
  const nodes: ActorRef[] = [];
  for (let i = 0; i < n; i++) nodes.push(await rt.spawn(nodeUrl, undefined, { thread: i % 2 }));
  return nodes;
}

function latencyRecord(caseName: string, impl: string, samplesMs: number[], note: string): BenchRecord {
  const us = samplesMs.map((ms) => ms * 1000).sort((a, b) => a - b);
  const p50 = quantile(us, 0.5);
  return {
    case: caseName,
    impl,
    opsPerSec: round(1e6 / p50),
    meanUs: round(us.reduce((s, x) => s + x, 0) / us.length),
    p50Us: round(p50),
    p99Us: round(quantile(us, 0.99)),
    samples: us.length,
    note,
  };
}

async function broadcast256(quick: boolean): Promise<BenchRecord[]> {
  const rt = await Runtime.start({ threads: 2, maxAgents: 512 });
  try {
    const nodes = await spawnNodes(rt, 256);
    const acker = (await rt.spawn(ackerUrl, undefined, { thread: 0 })) as ActorRef<{ type: 'wait'; n: number }, number>;
    const impls: Array<[string, (msg: unknown) => void]> = [];
    for (const topology of ['mesh', 'star', 'hierarchical', 'ring'] as Topology[]) {
      const swarm = rt.swarm({ name: `b-${topology}`, members: nodes, topology, fanout: 4, leader: false });
      impls.push([topology, (msg) => swarm.broadcast(msg)]);
    }
    impls.push(['separate-tells', (msg) => nodes.forEach((n) => n.tell(msg))]);
    const rounds = quick ? 20 : 200;
    const samples = impls.map(() => [] as number[]);
    const msg = { type: 'bcast', acker };
    for (let r = 0; r < rounds + 10; r++) {
      // Impls alternate round by round; the first 10 rounds warm up.
      for (let i = 0; i < impls.length; i++) {
        const done = acker.ask({ type: 'wait', n: 256 }, { timeoutMs: 10_000 });
        const start = performance.now();
        impls[i][1](msg);
        await done;
        if (r >= 10) samples[i].push(performance.now() - start);
      }
    }
    return impls.map(([impl], i) => latencyRecord('broadcast-256', impl, samples[i], '256 members on 2 threads, until all handled it'));
  } finally {
    await rt.shutdown();
  }
}

async function votes(quick: boolean): Promise<BenchRecord[]> {
  const rt = await Runtime.start({ threads: 2 });
  try {
    const records: BenchRecord[] = [];
    for (const n of [7, 31]) {
      const swarm = rt.swarm({ name: `vote-${n}`, members: await spawnNodes(rt, n), leader: false });
      const rounds = quick ? 30 : 300;
      for (const quorum of ['majority', 'bft'] as const) {
        const samples: number[] = [];
        for (let r = 0; r < rounds + 20; r++) {
          const start = performance.now();
          const result = await swarm.propose({ r }, { quorum, timeoutMs: 2000 });
          if (result.outcome !== 'approved') throw new Error(`vote-${n} ${quorum}: ${result.outcome}`);
          if (r >= 20) samples.push(performance.now() - start);
        }
        records.push(latencyRecord(`vote-${n}`, quorum, samples, `${n} members, all approve`));
      }
    }
    return records;
  } finally {
    await rt.shutdown();
  }
}

async function failover(quick: boolean): Promise<BenchRecord[]> {
  const rt = await Runtime.start({ threads: 2 });
  try {
    const nodes = await spawnNodes(rt, 8);
    const swarm = rt.swarm({ name: 'failover', members: nodes });
    await swarm.whenAnnounced();
    const ms: number[] = [];
    for (let i = 0; i < (quick ? 3 : 10); i++) {
      // Untimed: Piscina's new spare thread starts and warms up.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const leader = swarm.leader()?.leader as ActorRef;
      const thread = nodes.findIndex((n) => n.equals(leader)) % 2;
      const changed = swarm.leaderChanges.next();
      const start = performance.now();
      const killed = rt.killThread(thread);
      await changed;
      await swarm.whenAnnounced();
      ms.push(performance.now() - start);
      await killed;
      // The crashed leaders come back (same refs): let them lead again later.
      for (const n of nodes) swarm.add(n);
    }
    return [wholeRunRecord('failover', 'microswarm', ms, 'leader thread killed -> new leader known on every running thread (p99 in p99Us)')];
  } finally {
    await rt.shutdown();
  }
}

export async function run(quick: boolean): Promise<BenchRecord[]> {
  return [
    ...(await guarded('broadcast-256', 'mesh', () => broadcast256(quick), { timeoutMs: 240_000 })),
    ...(await guarded('vote-7', 'majority', () => votes(quick), { timeoutMs: 240_000 })),
    ...(await guarded('failover', 'microswarm', () => failover(quick), { timeoutMs: 120_000 })),
  ];
}
