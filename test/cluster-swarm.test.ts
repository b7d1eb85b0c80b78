/**
 * A swarm with members on three cluster nodes (child processes, on a
 * nats-server -js this file starts): the swarm lives on node a, its members
 * on a, b and c. Broadcasts reach every member along each topology (relays
 * cross nodes at every hop), gather hears every node, proposals with faulty
 * voters of other nodes decide as they do on one node, a member of another
 * node that shares slot and generation with one of a is a member of its
 * own, and the leader's node killed with SIGKILL is replaced once it is
 * declared down, every node's threads learning the new term.
 *
 * a and b start their directories at the same generation, so their first
 * actors share slot and generation (the twins); c's is random as usual.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeProcess, type WireRef } from './fixtures/cluster.js';
import type { SwarmCommand } from './fixtures/cluster-node.js';
import { eventually } from './fixtures/helpers.js';
import { startNatsServer, type NatsServer } from './fixtures/nats.js';
import type { Fault, MemberArgs } from './fixtures/swarm-member.js';

const memberUrl = new URL('./fixtures/swarm-member.ts', import.meta.url);
const cluster = 'swarmtest';
/** The first generation of a's and b's directories (any below 2^30). */
const kGenBase = 4_242_424;

let nats: NatsServer;
let a: NodeProcess;
let b: NodeProcess;
let c: NodeProcess;
const nodes = () => ({ a, b, c }) as Record<string, NodeProcess>;
/** The first actors of a and of b: the same slot and generation, on two nodes. */
let twinA: WireRef;
let twinB: WireRef;

function start(name: string, genBase?: number): Promise<NodeProcess> {
  return NodeProcess.start({ servers: nats.url, name: cluster, node: name }, {}, { genBase });
}

const ref = (r: WireRef) => ({ $ref: r });
const on = (member: WireRef) => nodes()[member.node as string];
/** How node `node` prints `member` (`ctx.sender`, a vote's member): without the node when it is its own. */
const printedOn = (node: string, member: WireRef) => `Actor(${member.node === node ? '' : `${member.node}/`}${member.slot}.${member.gen})`;
const swarmCall = <T = unknown>(name: string, command: SwarmCommand) => a.call<T>({ cmd: 'swarm', name, ...command });

type LogEntry = { msg: { type: string; n?: number }; from: string | undefined };
const logOf = (member: WireRef) => on(member).call<LogEntry[]>({ cmd: 'ask', to: member, msg: { type: 'log' } });
const leaderOf = (member: WireRef, swarm: string) =>
  on(member).call<{ leader: WireRef; term: number } | null | undefined>({ cmd: 'ask', to: member, msg: { type: 'leaderOf', swarm } });

/** `count` members, member i on node a, b, c in turn (so neighbours are on different nodes), faults by position. */
async function spawnMembers(count: number, faults: Array<Fault | undefined> = [], prefix = 'm'): Promise<WireRef[]> {
  const order = [a, b, c];
  const members: WireRef[] = [];
  for (let i = 0; i < count; i++) {
    const args: MemberArgs = { name: `${prefix}${i}`, fault: faults[i], seed: i + 1 };
    members.push(await order[i % 3].spawn(memberUrl, args, { thread: Math.floor(i / 3) % 2 }));
  }
  return members;
}

beforeAll(async () => {
  nats = await startNatsServer();
  [a, b, c] = await Promise.all([start('a', kGenBase), start('b', kGenBase), start('c')]);
  await eventually(
    () => Promise.all([a, b, c].map((n) => n.call<string[]>({ cmd: 'members' }))),
    (views) => views.every((v) => v.join() === 'a,b,c'),
    10_000,
  );
  // Before anything else is spawned on a or b: both get their first slot at the pinned generation.
  twinA = await a.spawn(memberUrl, { name: 'twin-a' }, { thread: 0 });
  twinB = await b.spawn(memberUrl, { name: 'twin-b' }, { thread: 0 });
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.shutdown(), b?.shutdown(), c?.shutdown()]);
  await nats?.stop();
});

describe('a swarm with members on three nodes', () => {
  it('broadcast reaches every member on every node once, along each topology', async () => {
    const members = [twinA, twinB, ...(await spawnMembers(5))];
    const relayedBy: Array<[SwarmCommand & { op: 'form' }, (i: number) => WireRef | undefined]> = [
      [{ op: 'form', members, topology: 'mesh' }, () => undefined],
      [{ op: 'form', members, topology: 'centralized' }, () => undefined],
      [{ op: 'form', members, topology: 'star' }, (i) => (i === 0 ? undefined : members[0])],
      [{ op: 'form', members, topology: 'ring' }, (i) => (i === 0 ? undefined : members[i - 1])],
      [{ op: 'form', members, topology: 'hierarchical', fanout: 2 }, (i) => (i === 0 ? undefined : members[Math.floor((i - 1) / 2)])],
    ];
    for (const [n, [form, relayer]] of relayedBy.entries()) {
      const name = `b-${form.topology}`;
      await swarmCall(name, form);
      expect(await swarmCall(name, { op: 'broadcast', msg: { type: 'note', n } })).toBe(7);
      for (const [i, member] of members.entries()) {
        const log = await eventually(
          () => logOf(member),
          (l) => l.some((e) => e.msg.n === n),
          10_000,
        );
        const got = log.filter((e) => e.msg.n === n);
        expect(got, `${form.topology}: member ${i}`).toHaveLength(1);
        const by = relayer(i);
        expect(got[0].from, `${form.topology}: member ${i}`).toBe(by === undefined ? undefined : printedOn(member.node as string, by));
      }
    }
  }, 60_000);

  it('gather collects an answer from every node, and a busy member of another node is silent', async () => {
    const members = await spawnMembers(6, [], 'g');
    await swarmCall('gather', { op: 'form', members, leader: false });
    const busy = members[4]; // on b
    // Busy until released, and inside its handler before the gather starts: no race, no window between two timers.
    const dir = await mkdtemp(join(tmpdir(), 'microswarm-hold-'));
    const hold = { type: 'hold', entered: join(dir, 'entered'), release: join(dir, 'release') };
    const held = b.call({ cmd: 'ask', to: busy, msg: hold, timeoutMs: 30_000 });
    try {
      await eventually(
        () => existsSync(hold.entered),
        (entered) => entered,
        10_000,
      );
      type Gathered = { replies: Array<{ member: WireRef; value: { name: string; x: number } }>; errors: unknown[]; silent: WireRef[] };
      const result = await swarmCall<Gathered>('gather', { op: 'gather', msg: { type: 'echo', x: 7 }, timeoutMs: 1_500 });
      expect(result.replies.map((r) => `${r.member.node}:${r.value.name}:${r.value.x}`)).toEqual(['a:g0:7', 'b:g1:7', 'c:g2:7', 'a:g3:7', 'c:g5:7']);
      expect(result.silent).toEqual([busy]);
      expect(result.errors).toEqual([]);
    } finally {
      await writeFile(hold.release, 'go');
    }
    expect(await held).toBe('released');
  }, 30_000);

  it('bft with faulty voters on other nodes: decides rightly with 2 of each kind, is undecided with 3 liars, and records the evidence', async () => {
    type Result = {
      outcome: string;
      votes: Array<{ member: string; fault?: string }>;
      silent: string[];
      faulty: string[];
      approvals: number;
      rejections: number;
    };
    const kinds: Fault[] = ['liar', 'silent', 'equivocate', 'wrong-proposal', 'impersonate', 'duplicate', 'random', 'throws'];
    for (const kind of kinds) {
      // Members 1 and 2 are of nodes b and c.
      const members = await spawnMembers(7, [undefined, kind, kind], kind);
      const name = `v-${kind}`;
      await swarmCall(name, { op: 'form', members, leader: false });
      const good = await swarmCall<Result>(name, { op: 'propose', value: { valid: true }, quorum: 'bft', timeoutMs: 1_500 });
      expect(good.outcome, kind).toBe('approved');
      const bad = await swarmCall<Result>(name, { op: 'propose', value: { valid: false }, quorum: 'bft', timeoutMs: 1_500 });
      expect(bad.outcome, kind).toBe('rejected');
      expect(good.votes.length + good.silent.length, kind).toBe(7);
      const faulty = [printedOn('a', members[1]), printedOn('a', members[2])];
      if (kind === 'silent') expect(good.silent).toEqual(faulty);
      if (kind === 'equivocate' || kind === 'throws' || kind === 'wrong-proposal') {
        for (const result of [good, bad]) expect(result.faulty, kind).toEqual(faulty);
      }
    }
    // Three liars of seven, all of other nodes: 4 honest votes do not reach the quorum of 5.
    const members = await spawnMembers(7, [undefined, 'liar', 'liar', undefined, 'liar'], 'l');
    await swarmCall('beyond', { op: 'form', members, leader: false });
    for (const valid of [true, false]) {
      const result = await swarmCall<Result>('beyond', { op: 'propose', value: { valid }, quorum: 'bft', timeoutMs: 1_500 });
      expect(result).toMatchObject({ outcome: 'undecided', approvals: valid ? 4 : 3, rejections: valid ? 3 : 4, tolerated: 2, members: 7 });
    }
  }, 120_000);

  it('tells a member of another node from one of this node with the same slot and generation', async () => {
    expect({ slot: twinB.slot, gen: twinB.gen }).toEqual({ slot: twinA.slot, gen: twinA.gen });
    const third = await c.spawn(memberUrl, { name: 'third' });
    // Keyed by slot and generation alone, the twins were one member: the swarm was refused.
    await swarmCall('twins', { op: 'form', members: [twinB, twinA, third] });
    type Leader = { leader: WireRef; term: number; changes: Array<{ reason: string; term: number }> };
    expect(await swarmCall<Leader>('twins', { op: 'leader' })).toMatchObject({ leader: twinB, term: 1 });
    // twinA's thread on a dies: twinB, on b, lost nothing and stays leader.
    await a.call({ cmd: 'killThread', thread: 0 });
    const after = await swarmCall<Leader>('twins', { op: 'leader' });
    expect(after).toMatchObject({ leader: twinB, term: 1 });
    expect(after.changes).toEqual([]); // (the first election is made as the swarm is formed, before the fixture listens)
    // twinB resigns: passed over is twinB, not twinA, which leads next.
    expect(await swarmCall('twins', { op: 'resign' })).toMatchObject({ leader: twinA, term: 2 });
    type Result = { votes: Array<{ member: string }> };
    const result = await swarmCall<Result>('twins', { op: 'propose', value: { valid: true }, quorum: 'unanimous', timeoutMs: 5_000 });
    expect(result.votes.map((v) => v.member)).toEqual([printedOn('a', twinB), printedOn('a', twinA), printedOn('a', third)]);
  }, 30_000);

  it("regression: a swarm of another node's name is this node's own here: a TERM naming it is ignored (and counted)", async () => {
    const here = await a.spawn(memberUrl, { name: 'own-a' }, { thread: 1 });
    await swarmCall('shared', { op: 'form', members: [here] });
    const there = await b.spawn(memberUrl, { name: 'own-b' }, { thread: 1 });
    // b's swarm of the same name, with a's member in it: its terms go to a, and pass a's own (1).
    const onB = (command: SwarmCommand) => b.call({ cmd: 'swarm', name: 'shared', ...command });
    await onB({ op: 'form', members: [there, here] });
    await onB({ op: 'resign' });
    await onB({ op: 'resign' });
    // A TERM b sends a later arrives after those (one stream, in order).
    await b.call({ cmd: 'swarm', name: 'shared-after', op: 'form', members: [there, here] });
    await eventually(
      () => leaderOf(here, 'shared-after'),
      (known) => known?.term === 1,
      10_000,
    );
    expect(await leaderOf(here, 'shared')).toMatchObject({ leader: { node: 'a', slot: here.slot, gen: here.gen }, term: 1 });
    const stats = await a.call<{ dropped: Record<string, number> }>({ cmd: 'stats' });
    expect(stats.dropped['term-of-local-swarm']).toBe(3);
  }, 30_000);

  it('regression: terms heard from a node are forgotten when it dies, and its next process, starting again at term 1, is believed', async () => {
    const [here0, here1] = [await a.spawn(memberUrl, { name: 'r0' }, { thread: 0 }), await a.spawn(memberUrl, { name: 'r1' }, { thread: 1 })];
    let d = await start('d');
    try {
      await eventually(
        () => Promise.all([a, d].map((n) => n.call<string[]>({ cmd: 'members' }))),
        (views) => views.every((v) => v.includes('a') && v.includes('d')),
        10_000,
      );
      const onD = (command: SwarmCommand) => d.call({ cmd: 'swarm', name: 'reborn', ...command });
      const old = await d.spawn(memberUrl, { name: 'old-d' });
      await onD({ op: 'form', members: [old, here0, here1] });
      await onD({ op: 'resign' }); // term 2: here0 leads
      for (const m of [here0, here1])
        await eventually(
          () => leaderOf(m, 'reborn'),
          (known) => known?.term === 2 && known.leader.node === 'a',
          10_000,
        );
      const forgotten = () =>
        Promise.all(
          [here0, here1].map((m) =>
            eventually(
              () => leaderOf(m, 'reborn'),
              (known) => known == null,
              10_000,
            ),
          ),
        );
      // d paused past downAfterMs: declared down, its terms are forgotten on a; it wakes, joins again under a new
      // incarnation, and sends its swarm's term again.
      d.child.kill('SIGSTOP');
      try {
        await forgotten();
      } finally {
        d.child.kill('SIGCONT');
      }
      for (const m of [here0, here1])
        await eventually(
          () => leaderOf(m, 'reborn'),
          (known) => known?.term === 2 && known.leader.node === 'a',
          10_000,
        );
      await d.kill();
      // Declared down: both threads of a forget what d's process said (they kept its leader and term for good).
      await forgotten();
      d = await start('d');
      await eventually(
        () => a.call<string[]>({ cmd: 'members' }),
        (view) => view.includes('d'),
        10_000,
      );
      const fresh = await d.spawn(memberUrl, { name: 'fresh-d' });
      await onD({ op: 'form', members: [fresh, here0, here1] });
      for (const m of [here0, here1])
        await eventually(
          () => leaderOf(m, 'reborn'),
          (known) => known?.term === 1 && known.leader.node === 'd' && known.leader.slot === fresh.slot,
          10_000,
        );
      // The new leader's orders, stamped with term 1, are applied.
      await d.call({ cmd: 'ask', to: fresh, msg: { type: 'sendFenced', to: ref(here1), swarm: 'reborn', term: 1, n: 5 } });
      await eventually(
        () => logOf(here1),
        (log) => log.some((e) => e.msg.type === 'command' && e.msg.n === 5),
        10_000,
      );
    } finally {
      await d.shutdown();
    }
  }, 60_000);

  it("elects a member of another node, known on every node's threads; when its node is killed and declared down, a live member leads with a new term", async () => {
    const members = await spawnMembers(6, [], 'x');
    const order = [members[2], members[1], members[0], ...members.slice(3)]; // c, b, a, a, b, c
    const [onC, onB, onA] = order;
    await swarmCall('lead', { op: 'form', members: order });
    expect(await swarmCall('lead', { op: 'leader' })).toMatchObject({ leader: onC, term: 1 });
    // The TERM record reaches the threads of b and c (not waited for by the swarm).
    for (const m of [onB, onC, onA])
      await eventually(
        () => leaderOf(m, 'lead'),
        (known) => known?.term === 1 && known.leader.node === 'c' && known.leader.slot === onC.slot,
        10_000,
      );
    await c.kill();
    type Leader = { leader: WireRef; term: number; changes: Array<{ leader?: WireRef; previous?: WireRef; reason: string; term: number }> };
    const now = await eventually(
      () => swarmCall<Leader>('lead', { op: 'leader' }),
      (l) => l.term === 2,
      10_000,
    );
    expect(now.leader).toEqual(onB);
    expect(now.changes).toHaveLength(1);
    expect(now.changes[0]).toMatchObject({ leader: onB, previous: onC, reason: 'crashed', term: 2 });
    // Every thread of a and b with a member (other is on b's thread 1, onB on its thread 0) knows term 2 before
    // the deposed term is sent there.
    const other = order[4]; // on b
    for (const m of [onB, onA, other, order[3]])
      await eventually(
        () => leaderOf(m, 'lead'),
        (known) => known?.term === 2 && known.leader.node === 'b' && known.leader.slot === onB.slot,
        10_000,
      );
    // The deposed term is refused on b; the new one is applied.
    await a.call({ cmd: 'ask', to: onA, msg: { type: 'sendFenced', to: ref(other), swarm: 'lead', term: 1, n: 1 } });
    await a.call({ cmd: 'ask', to: onA, msg: { type: 'sendFenced', to: ref(other), swarm: 'lead', term: 2, n: 2 } });
    const log = await eventually(
      () => logOf(other),
      (l) => l.length > 0,
      10_000,
    );
    expect(log.map((e) => e.msg)).toEqual([{ type: 'command', n: 2 }]);
    const letters = await b.call<Array<{ reason: string }>>({ cmd: 'deadLetters' });
    expect(letters.map((l) => l.reason)).toContain('stale-term');
    // c's members are silent to a gather (their node is gone), not errors.
    type Gathered = { replies: unknown[]; errors: unknown[]; silent: WireRef[] };
    const gathered = await swarmCall<Gathered>('lead', { op: 'gather', msg: { type: 'echo', x: 1 }, timeoutMs: 2_000 });
    expect(gathered.silent).toEqual([onC, order[5]]);
    expect(gathered.errors).toEqual([]);
    expect(gathered.replies).toHaveLength(4);
    // Broadcast goes to the live members only.
    expect(await swarmCall('lead', { op: 'broadcast', msg: { type: 'note', n: 9 } })).toBe(4);
    // A thread of b brought back after a crash is told the term it heard from a again.
    await b.call({ cmd: 'killThread', thread: 0 }); // onB's
    const told = await eventually(
      () => leaderOf(onB, 'lead').catch(() => undefined), // (an ask may meet the thread's recovery)
      (known) => known?.term === 2,
      10_000,
    );
    expect(told).toMatchObject({ term: 2, leader: onB });
  }, 60_000);
});
