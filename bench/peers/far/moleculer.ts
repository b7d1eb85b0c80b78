/**
 * The far side of the moleculer impl of remote-ask-rtt: a Moleculer 0.14
 * broker, node `far`, on the NATS transporter, with a `counter` service
 * whose action `receive` takes the same messages as the other counters.
 * argv: NATS server URL.
 */
import moleculer from 'moleculer';
import { serveFar } from '../far-process.js';

type CounterMsg = { type: 'inc'; by: number } | { type: 'get' };

const [servers] = process.argv.slice(2);

await serveFar(async () => {
  const broker = new moleculer.ServiceBroker({ nodeID: 'far', transporter: { type: 'NATS', options: { url: servers } }, logger: false });
  let n = 0;
  broker.createService({
    name: 'counter',
    actions: {
      receive(ctx: moleculer.Context<CounterMsg>) {
        const m = ctx.params;
        if (m.type === 'inc') {
          n += m.by;
          return null;
        }
        return n;
      },
    },
  });
  await broker.start();
  return { stop: () => broker.stop() };
});
