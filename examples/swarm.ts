/**
 * `npm run example:swarm`: a swarm of 10 sensor agents on 2 pool threads.
 * Readings go round a ring; the swarm gathers averages; two calibration
 * proposals are put to a bft vote while three agents are faulty (a liar, a
 * silent one, an equivocator: f = 3 tolerated out of 10); then the leader's
 * thread is killed, a new leader is elected, and the old one's orders (an
 * older term) are refused by the members.
 */
import { Runtime, type ActorRef } from '../src/index.js';
import type { AgentMsg } from './actors/swarm-agent.js';

const rt = await Runtime.start({ threads: 2 });
const url = new URL('./actors/swarm-agent.ts', import.meta.url);
const faults: Record<number, 'liar' | 'silent' | 'equivocator'> = { 3: 'liar', 6: 'silent', 8: 'equivocator' };
const agents: Array<ActorRef<AgentMsg, unknown>> = [];
for (let i = 0; i < 10; i++) agents.push(await rt.spawn(url, { name: `s${i}`, fault: faults[i] }, { thread: i % 2 }));

const nameOf = (ref: unknown): string => {
  const at = agents.findIndex((a) => String(a) === String(ref));
  return at < 0 ? String(ref) : `s${at}`;
};

const swarm = rt.swarm({ name: 'sensors', members: agents, topology: 'ring' });
await swarm.whenAnnounced();
console.log(
  `swarm "${swarm.name}": ${agents.length} agents, topology ${swarm.topology}; neighbours of s4: ${swarm.neighbors(agents[4]).map(nameOf).join(', ')}`,
);
console.log(`leader: ${nameOf(swarm.leader()?.leader)} (term ${swarm.leader()?.term})`);

for (const value of [20.5, 21, 19.5]) swarm.broadcast({ type: 'reading', value });
// Each reading goes round the ring, member to member: give it a moment to arrive everywhere.
await new Promise((resolve) => setTimeout(resolve, 100));
const gathered = await swarm.gather<number>({ type: 'average' }, { timeoutMs: 500 });
console.log(
  `gather: ${gathered.replies.length} averages (${gathered.replies.map((r) => r.value.toFixed(2)).join(' ')}), silent: ${gathered.silent.length}`,
);

for (const offset of [2, 40]) {
  const result = await swarm.propose({ offset }, { quorum: 'bft', timeoutMs: 300 });
  console.log(
    `propose offset ${offset}: ${result.outcome} (${result.approvals} for, ${result.rejections} against, needs ${result.needed.approve}; ` +
      `silent ${result.silent.map(nameOf).join(' ') || 'none'}; faulty ${
        result.votes
          .filter((v) => !v.valid)
          .map((v) => `${nameOf(v.member)} (${v.fault})`)
          .join(' ') || 'none'
      }; ${result.ms.toFixed(0)} ms)`,
  );
}

const old = swarm.leader()!;
const changed = swarm.leaderChanges.next();
const killedAt = performance.now();
const crash = rt.killThread(0);
const change = await changed;
await swarm.whenAnnounced();
console.log(
  `leader ${nameOf(old.leader)} lost with thread 0: ${nameOf(change.leader)} leads in term ${change.term}, known on every thread after ${(performance.now() - killedAt).toFixed(0)} ms`,
);
await crash;

const stale: string[] = [];
rt.deadLetters.subscribe((d) => d.reason === 'stale-term' && stale.push(`an order to ${nameOf(d.recipient)}`));
// The old leader (brought back with its thread) still gives orders with its old term; the new one with the new term.
await agents[0].ask({ type: 'order', to: agents[5], swarm: 'sensors', term: old.term, offset: 99 });
await change.leader!.ask({ type: 'order', to: agents[5], swarm: 'sensors', term: change.term, offset: 2 });
await new Promise((resolve) => setTimeout(resolve, 50));
console.log(`s5 after both orders: ${JSON.stringify(await agents[5].ask({ type: 'status' }))}; refused as stale: ${stale.join(', ') || 'none'}`);
await rt.shutdown({ timeoutMs: 500 });
