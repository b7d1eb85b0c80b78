/**
 * Swarm coordination on a real runtime: pub/sub across threads (one frame
 * per thread), each topology's routing and repair when a member dies,
 * gather with silent members, proposals with faulty voters at f and f + 1,
 * leader failover (a stopped and a crashed leader) and stale terms refused.
 */
import { describe, expect, it } from 'vitest';
import { type ActorRef, type Runtime, fenced, type DeadLetter, type Swarm, type Topology } from '../src/index.js';
import { neighbors, relayTargets } from '../src/swarm/topology.js';
import type { Fault, MemberArgs, MemberMsg } from './fixtures/swarm-member.js';
import { eventually, useRuntime } from './fixtures/helpers.js';

const memberUrl = new URL('./fixtures/swarm-member.ts', import.meta.url);
type Member = ActorRef<MemberMsg, unknown>;

const start = useRuntime({ threads: 2 }, { timeoutMs: 500 });

async function spawnMembers(r: Runtime, count: number, faults: Array<Fault | undefined> = []): Promise<Member[]> {
  const members: Member[] = [];
  for (let i = 0; i < count; i++) {
    const args: MemberArgs = { name: `m${i}`, fault: faults[i], seed: i + 1 };
    members.push((await r.spawn(memberUrl, args, { thread: i % 2 })) as Member);
  }
  return members;
}

type LogEntry = { msg: { type: string; n?: number }; from: string | undefined };
const logOf = async (m: Member) => (await m.ask({ type: 'log' })) as LogEntry[];

describe('topologies (pure)', () => {
  it('neighbors: mesh everyone, star the hub, ring successor and predecessor, tree parent and children', () => {
    expect(neighbors('mesh', 4, 1, 2)).toEqual([0, 2, 3]);
    expect(neighbors('star', 4, 0, 2)).toEqual([1, 2, 3]);
    expect(neighbors('star', 4, 2, 2)).toEqual([0]);
    expect(neighbors('ring', 5, 0, 2)).toEqual([1, 4]);
    expect(neighbors('hierarchical', 7, 1, 2)).toEqual([0, 3, 4]);
    expect(neighbors('centralized', 3, 2, 2)).toEqual([0]);
    // A tree's root has no parent, and children stop at the last member.
    expect([0, 1, 3].map((at) => neighbors('hierarchical', 4, at, 2))).toEqual([[1, 2], [0, 3], [1]]);
    expect(neighbors('ring', 1, 0, 2)).toEqual([]);
  });

  it('relays skip dead members: the ring closes, the tree re-parents', () => {
    const dead = new Set([2]);
    expect(relayTargets(1, 1, 5, (p) => !dead.has(p))).toEqual([3]);
    // Tree of fanout 2: 0 -> 1, 2; 2 -> 5, 6. With 2 dead, 0 reaches 1, 5 and 6.
    expect(relayTargets(0, 2, 7, (p) => !dead.has(p))).toEqual([1, 5, 6]);
    // A node whose children run past the last member relays to those that exist.
    expect(relayTargets(1, 2, 4, () => true)).toEqual([3]);
  });
});

describe('rt.topic', () => {
  it('delivers to subscribers on every thread, one frame per thread; counts a publish nobody hears; drops stopped subscribers', async () => {
    const r = await start();
    const members = await spawnMembers(r, 6);
    for (const m of members) await m.ask({ type: 'subscribe', topic: 'news' });
    await eventually(
      () => Promise.resolve(r.topic('news').subscribers().length),
      (n) => n === 6,
    );
    const transport = (r as unknown as { endpoint: { transport: { sentTo(t: number): number } } }).endpoint.transport;
    const before = [transport.sentTo(1), transport.sentTo(2)];
    expect(r.topic('news').publish({ type: 'note', n: 1 })).toBe(6);
    expect([transport.sentTo(1) - before[0], transport.sentTo(2) - before[1]]).toEqual([1, 1]); // fanned out once per thread
    for (const m of members) expect((await logOf(m)).map((e) => e.msg)).toEqual([{ type: 'note', n: 1 }]);
    // An actor publishes too (through the main thread's registry), and unsubscribes.
    await members[0].ask({ type: 'unsubscribe', topic: 'news' });
    await members[1].ask({ type: 'publish', topic: 'news', msg: { type: 'note', n: 2 } });
    await eventually(
      () => logOf(members[5]),
      (log) => log.length === 2,
    );
    expect((await logOf(members[0])).length).toBe(1);
    expect((await logOf(members[5]))[1].from).toBe(members[1].toString());
    await r.stop(members[2]);
    expect(r.topic('news').publish({ type: 'note', n: 3 })).toBe(4);
    expect(r.topic('news').stats()).toMatchObject({ subscribers: 4, published: 3 });
    expect(r.topic('nobody').publish({ type: 'note', n: 0 })).toBe(0);
    expect(r.topic('nobody').stats()).toMatchObject({ published: 1, unheard: 1, subscribers: 0 });
    expect(() => r.topic('')).toThrow(expect.objectContaining({ name: 'InvalidArgumentError', option: 'name' }));
  });
});

describe('rt.swarm broadcast', () => {
  const cases: Array<[Topology, (members: Member[], i: number) => Member | undefined]> = [
    ['mesh', () => undefined],
    ['centralized', () => undefined],
    ['star', (m, i) => (i === 0 ? undefined : m[0])],
    ['ring', (m, i) => (i === 0 ? undefined : m[i - 1])],
    ['hierarchical', (m, i) => (i === 0 ? undefined : m[Math.floor((i - 1) / 2)])],
  ];
  for (const [topology, relayedBy] of cases) {
    it(`${topology}: reaches every member once, along the topology`, async () => {
      const r = await start();
      const members = await spawnMembers(r, 7);
      const swarm = r.swarm({ name: `s-${topology}`, members, topology, fanout: 2 });
      expect(swarm.broadcast({ type: 'note', n: 1 })).toBe(7);
      for (let i = 0; i < members.length; i++) {
        const log = await eventually(
          () => logOf(members[i]),
          (l) => l.length === 1,
        );
        expect(log[0].msg).toEqual({ type: 'note', n: 1 });
        expect(log[0].from).toBe(relayedBy(members, i)?.toString());
      }
    });
  }

  it('repairs itself when members die: the ring closes, the tree re-parents, the star gets a new hub', async () => {
    const r = await start();
    const members = await spawnMembers(r, 7);
    const ring = r.swarm({ name: 'ring', members, topology: 'ring' });
    const tree = r.swarm({ name: 'tree', members, topology: 'hierarchical', fanout: 2 });
    const star = r.swarm({ name: 'star', members, topology: 'star' });
    await r.stop(members[2]);
    await r.stop(members[0]);
    const live = members.filter((_, i) => i !== 0 && i !== 2);
    expect(ring.neighbors(members[3])).toEqual([members[4], members[1]]);
    expect(star.neighbors(members[4])).toEqual([members[1]]); // the new hub
    for (const [swarm, n] of [
      [ring, 1],
      [tree, 2],
      [star, 3],
    ] as Array<[Swarm, number]>) {
      expect(swarm.broadcast({ type: 'note', n })).toBe(5);
      for (const m of live)
        await eventually(
          () => logOf(m),
          (l) => l.some((e) => e.msg.n === n),
        );
    }
    expect(() => ring.neighbors(members[0])).toThrow(expect.objectContaining({ name: 'InvalidArgumentError', option: 'ref' }));
  });

  it('gather collects answers, errors and the silent within timeoutMs', async () => {
    const r = await start();
    const members = await spawnMembers(r, 4);
    const swarm = r.swarm({ name: 'g', members });
    void members[3].ask({ type: 'sleep', ms: 3000 }, { timeoutMs: 5000 }).catch(() => undefined); // busy: silent to the gather
    // Deadlines here leave room for a loaded machine: the answering members must all be in within them.
    const result = await swarm.gather<{ name: string; x: number }>({ type: 'echo', x: 7 }, { timeoutMs: 1000 });
    expect(result.replies.map((reply) => reply.value.name)).toEqual(['m0', 'm1', 'm2']);
    expect(result.silent).toEqual([members[3]]);
    expect(result.errors).toEqual([]);
  });
});

describe('rt.swarm propose', () => {
  it('bft with 7 members: decides rightly with 2 faulty voters of each kind, is undecided with 3 liars, and records the evidence', async () => {
    const r = await start();
    const kinds: Fault[] = ['liar', 'silent', 'equivocate', 'wrong-proposal', 'impersonate', 'duplicate', 'random', 'throws'];
    for (const [i, kind] of kinds.entries()) {
      const members = await spawnMembers(r, 7, [kind, kind]);
      const swarm = r.swarm({ name: `v${i}`, members, leader: false });
      const good = await swarm.propose({ valid: true }, { quorum: 'bft', timeoutMs: 1000 });
      expect(good.outcome, kind).toBe('approved');
      const bad = await swarm.propose({ valid: false }, { quorum: 'bft', timeoutMs: 1000 });
      expect(bad.outcome, kind).toBe('rejected');
      expect(good.votes.length + good.silent.length).toBe(7);
      if (kind === 'equivocate') {
        // Both rounds were asked: each equivocator answered both ways and is on record as faulty.
        for (const result of [good, bad]) {
          expect(result.faulty).toEqual([members[0].toString(), members[1].toString()]);
          expect(result.votes.filter((v) => v.fault === 'equivocation').map((v) => v.member)).toEqual(result.faulty);
        }
      }
    }
    // Three equivocators of seven: round 1 alone would count them as honest
    // (7 approvals); caught in round 2, they do not count, and the 4 honest
    // votes do not reach the quorum of 5.
    const equivocators = r.swarm({ name: 'equivocators', members: await spawnMembers(r, 7, ['equivocate', 'equivocate', 'equivocate']), leader: false });
    expect(await equivocators.propose({ valid: true }, { quorum: 'bft', timeoutMs: 1000 })).toMatchObject({
      outcome: 'undecided',
      approvals: 4,
      rejections: 0,
    });
    const members = await spawnMembers(r, 7, ['liar', 'liar', 'liar']);
    const swarm = r.swarm({ name: 'beyond', members, leader: false });
    for (const valid of [true, false]) {
      const result = await swarm.propose({ valid }, { quorum: 'bft', timeoutMs: 1000 });
      expect(result.outcome).toBe('undecided');
      expect(result).toMatchObject({ approvals: valid ? 4 : 3, rejections: valid ? 3 : 4, tolerated: 2, members: 7 });
    }
  });

  it('majority ends as soon as it is decided; bad quorums and timeouts are refused', async () => {
    const r = await start();
    const members = await spawnMembers(r, 5, [undefined, undefined, undefined, 'silent']);
    const swarm = r.swarm({ name: 'maj', members, leader: false });
    const result = await swarm.propose({ valid: true }, { timeoutMs: 5000 });
    expect(result.outcome).toBe('approved');
    // Decided before the silent member's timeout: it is pending (not waited for), not silent.
    expect(result.pending).toContain(members[3].toString());
    expect(result.silent).toEqual([]);
    expect(result.approvals).toBe(3);
    await expect(swarm.propose({ valid: true }, { quorum: 6 })).rejects.toMatchObject({ name: 'InvalidArgumentError', option: 'quorum', value: 6 });
    await expect(swarm.propose({ valid: true }, { quorum: 'most' as never })).rejects.toMatchObject({ name: 'InvalidArgumentError', option: 'quorum' });
    await expect(swarm.propose({ valid: true }, { timeoutMs: -1 })).rejects.toMatchObject({ name: 'InvalidArgumentError', option: 'timeoutMs' });
  });
});

describe('rt.swarm leader', () => {
  it('elects the first member, and a new one (new term, an event, known on every thread) when the leader stops', async () => {
    const r = await start();
    const members = await spawnMembers(r, 4);
    const swarm = r.swarm({ name: 'lead', members });
    expect(swarm.leader()).toEqual({ leader: members[0], term: 1 });
    await swarm.whenAnnounced();
    expect(await members[1].ask({ type: 'leaderOf', swarm: 'lead' })).toMatchObject({ term: 1 });
    const change = swarm.leaderChanges.next();
    await r.stop(members[0]);
    expect(await change).toMatchObject({ leader: members[1], term: 2, previous: members[0], reason: 'stopped' });
    await swarm.whenAnnounced();
    for (const m of members.slice(1)) {
      const known = (await m.ask({ type: 'leaderOf', swarm: 'lead' })) as { leader: ActorRef; term: number };
      expect(known.term).toBe(2);
      expect(known.leader.equals(members[1])).toBe(true);
    }
  });

  it('replaces a leader whose thread crashed; the deposed leader, brought back, is refused by members with its stale term', async () => {
    const r = await start();
    const members = await spawnMembers(r, 4); // m0, m2 on thread 0; m1, m3 on thread 1
    const s = r.swarm({ name: 'fence', members });
    await s.whenAnnounced();
    const dead: DeadLetter[] = [];
    r.deadLetters.subscribe((d) => dead.push(d));
    const change = s.leaderChanges.next();
    await r.killThread(0);
    expect(await change).toMatchObject({ term: 2, reason: 'crashed', previous: members[0] });
    expect(s.leader()?.leader.equals(members[1])).toBe(true);
    await s.whenAnnounced();
    // The thread brought back is told the term again (regression: it was skipped as still recovering).
    expect(await members[0].ask({ type: 'leaderOf', swarm: 'fence' })).toMatchObject({ term: 2 });
    // m0 came back with the thread (same ref); orders it stamps with term 1 are refused.
    await members[0].ask({ type: 'sendFenced', to: members[3], swarm: 'fence', term: 1, n: 1 });
    await eventually(
      () => Promise.resolve(dead.filter((d) => d.reason === 'stale-term').length),
      (n) => n === 1,
    );
    // The new leader's (term 2) are applied.
    await members[1].ask({ type: 'sendFenced', to: members[3], swarm: 'fence', term: 2, n: 2 });
    const log = await eventually(
      () => logOf(members[3]),
      (l) => l.length === 1,
    );
    expect(log[0].msg).toEqual({ type: 'command', n: 2 });
  });

  it('refuses a stale fenced ask with StaleTermError, and a refused message does not free room in a bounded mailbox twice', async () => {
    const r = await start();
    const a = (await r.spawn(memberUrl, { name: 'a' }, { thread: 0 })) as Member;
    const b = (await r.spawn(memberUrl, { name: 'b' }, { thread: 1, mailbox: { capacity: 2 } })) as Member;
    const s = r.swarm({ name: 'f2', members: [a, b] });
    s.resign(); // term 2: a is passed over, b leads
    await s.whenAnnounced();
    expect(s.leader()).toMatchObject({ term: 2 });
    await expect(b.ask(fenced('f2', 1, { type: 'command', n: 1 }) as MemberMsg)).rejects.toMatchObject({ name: 'StaleTermError' });
    expect(b.tell(fenced('f2', 1, { type: 'command', n: 2 }) as MemberMsg)).toBe(true);
    expect(await b.ask(fenced('f2', 2, { type: 'command', n: 3 }) as MemberMsg)).toBe('applied');
    await r.suspend(b);
    expect([1, 2, 3].map((n) => b.tell({ type: 'note', n }))).toEqual([true, true, false]);
    await r.resume(b);
    const log = await eventually(
      () => logOf(b).catch(() => [] as LogEntry[]),
      (l) => l.length === 3,
    );
    expect(log.map((e) => e.msg.n)).toEqual([3, 1, 2]);
  });

  it("regression: a swarm formed again under a dissolved one's name goes on from its term, so every thread believes the new leader", async () => {
    const r = await start();
    const [a, b] = await spawnMembers(r, 2); // a on thread 0, b on thread 1
    const first = r.swarm({ name: 'again', members: [a, b] });
    first.resign(); // term 2: b leads
    first.resign(); // term 3: a leads
    await first.whenAnnounced();
    first.dissolve();
    // Formed again, with b first. Starting over at term 1, its terms were lower than the threads knew: they kept a as
    // leader and refused b's orders as stale.
    const second = r.swarm({ name: 'again', members: [b, a] });
    expect(second.leader()).toEqual({ leader: b, term: 4 });
    await second.whenAnnounced();
    for (const m of [a, b]) {
      const known = (await m.ask({ type: 'leaderOf', swarm: 'again' })) as { leader: ActorRef; term: number };
      expect(known.term).toBe(4);
      expect(known.leader.equals(b)).toBe(true);
    }
    expect(await a.ask(fenced('again', 4, { type: 'command', n: 1 }) as MemberMsg)).toBe('applied');
  });

  it("does not hand leadership to a member of the crashed leader's own thread", async () => {
    const r = await start();
    const a = (await r.spawn(memberUrl, { name: 'a' }, { thread: 0 })) as Member;
    const b = (await r.spawn(memberUrl, { name: 'b' }, { thread: 0 })) as Member;
    const c = (await r.spawn(memberUrl, { name: 'c' }, { thread: 1 })) as Member;
    const s = r.swarm({ name: 'mates', members: [a, b, c] });
    const change = s.leaderChanges.next();
    await r.killThread(0);
    expect((await change).leader?.equals(c)).toBe(true);
  });

  it('relays past a member whose bounded mailbox is full: the rest of the ring still gets the broadcast', async () => {
    const r = await start();
    const members = await spawnMembers(r, 2);
    const full = (await r.spawn(memberUrl, { name: 'full' }, { thread: 1, mailbox: { capacity: 1 } })) as Member;
    const rest = await spawnMembers(r, 2);
    await r.suspend(full);
    expect(full.tell({ type: 'note', n: 0 })).toBe(true); // now full
    const ring = r.swarm({ name: 'ring-full', members: [...members, full, ...rest], topology: 'ring', leader: false });
    ring.broadcast({ type: 'note', n: 1 });
    for (const m of rest)
      await eventually(
        () => logOf(m),
        (l) => l.some((e) => e.msg.n === 1),
      );
  });

  it('refuses bad swarm options with InvalidOptionError naming the option', async () => {
    const r = await start();
    const [a, b] = await spawnMembers(r, 2);
    const bad: Array<[unknown, string]> = [
      [{ members: [a] }, 'name'],
      [{ name: 'x', members: 'a' }, 'members'],
      [{ name: 'x', members: [a, a] }, 'members'],
      [{ name: 'x', members: [a], topology: 'torus' }, 'topology'],
      [{ name: 'x', members: [a], fanout: 0 }, 'fanout'],
      [{ name: 'x', members: [a], colour: 1 }, 'colour'],
    ];
    for (const [options, option] of bad)
      expect(() => r.swarm(options as never), option).toThrow(expect.objectContaining({ name: 'InvalidOptionError', option }));
    const taken = r.swarm({ name: 'taken', members: [a, b] });
    expect(() => r.swarm({ name: 'taken', members: [a] })).toThrow(expect.objectContaining({ option: 'name', value: 'taken' }));
    taken.dissolve();
    expect(r.swarm({ name: 'taken', members: [a] }).members()).toEqual([a]);
    const s = r.swarm({ name: 'calls', members: [a, b] });
    expect(() => s.neighbors('a' as never)).toThrow(expect.objectContaining({ name: 'InvalidArgumentError', option: 'ref' }));
    expect(() => s.add({} as never)).toThrow(expect.objectContaining({ name: 'InvalidArgumentError', option: 'ref' }));
    await expect(s.gather({ type: 'log' }, { timeoutMs: 0 })).rejects.toMatchObject({ name: 'InvalidArgumentError', option: 'timeoutMs', value: 0 });
  });
});
