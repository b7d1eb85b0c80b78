/**
 * A sensor agent of the swarm example. It keeps readings it is sent,
 * answers a gather with its average, and votes on whether a calibration
 * value is plausible. A few are faulty by design (`fault` in their args):
 * one lies, one never answers, one says different things when asked twice.
 */
import { defineActor, fenced, type ActorRef, type Proposal } from '../../src/actor.js';

export type AgentMsg =
  | { type: 'reading'; value: number }
  | { type: 'average' }
  | { type: 'calibrate'; offset: number }
  | { type: 'order'; to: ActorRef; swarm: string; term: number; offset: number }
  | { type: 'status' };

interface State {
  name: string;
  fault: 'liar' | 'silent' | 'equivocator' | undefined;
  readings: number[];
  offset: number;
}

export default defineActor({
  init: (args: { name: string; fault?: State['fault'] }): State => ({ name: args.name, fault: args.fault, readings: [], offset: 0 }),
  receive(state: State, msg: AgentMsg) {
    switch (msg.type) {
      case 'reading':
        state.readings.push(msg.value);
        return undefined;
      case 'average':
        return state.readings.length === 0 ? 0 : state.readings.reduce((a, b) => a + b, 0) / state.readings.length + state.offset;
      case 'calibrate':
        state.offset = msg.offset; // arrives fenced: only a current leader's order gets here
        return undefined;
      case 'order':
        msg.to.tell(fenced(msg.swarm, msg.term, { type: 'calibrate', offset: msg.offset }));
        return undefined;
      case 'status':
        return { name: state.name, offset: state.offset };
    }
  },
  async vote(state: State, proposal: Proposal<{ offset: number }>) {
    const plausible = Math.abs(proposal.value.offset) <= 5;
    if (state.fault === 'liar') return { approve: !plausible, reason: 'contrarian' };
    if (state.fault === 'silent') return new Promise<boolean>(() => undefined);
    if (state.fault === 'equivocator') return { approve: proposal.round === 1 };
    return { approve: plausible, reason: plausible ? 'within 5 units' : 'too far off' };
  },
});
