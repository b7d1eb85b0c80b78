/**
 * The asking side of ask-actor-to-actor: `{ type: 'run', n, mode }` makes n
 * sequential exchanges with the echo actor it was given (./echo.ts), each
 * one an `ask` awaited in the handler (`mode: 'ask'`) or a tell answered by a
 * tell (`mode: 'tell'`), and answers with the exchanges counted so far (all
 * runs), which the case checks.
 */
import { defineActor, type ActorRef, type DeferredReply } from '../../src/actor.js';
import type { EchoMsg } from './echo.js';

export type AskerMsg = { type: 'run'; n: number; mode: 'ask' | 'tell' } | { type: 'pong' };

interface State {
  echo: ActorRef<EchoMsg, number | undefined>;
  total: number;
  left: number;
  reply?: DeferredReply;
}

const byTell: EchoMsg = { type: 'ping', tell: true };
const byAsk: EchoMsg = { type: 'ping', tell: false };

async function askMany(state: State, n: number): Promise<number> {
  for (let i = 0; i < n; i++) state.total += (await state.echo.ask(byAsk, { timeoutMs: 60_000 })) as number;
  return state.total;
}

export default defineActor({
  init: (args: { echo: ActorRef<EchoMsg, number | undefined> }): State => ({ echo: args.echo, total: 0, left: 0 }),
  receive(state, msg: AskerMsg, ctx) {
    if (msg.type === 'pong') {
      state.total++;
      if (--state.left > 0) state.echo.tell(byTell);
      else {
        state.reply?.resolve(state.total);
        state.reply = undefined;
      }
      return undefined;
    }
    if (msg.mode === 'ask') return askMany(state, msg.n);
    if (msg.n === 0) return state.total;
    state.left = msg.n;
    state.reply = ctx.replyLater();
    state.echo.tell(byTell);
    return undefined;
  },
});
