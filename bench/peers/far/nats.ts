/**
 * The far side of the raw nats.js impls (nats-request, nats-publish): one
 * connection subscribed to the counter's subject. `{ type: 'inc', by }` is
 * counted; `{ type: 'get' }` is answered with the count. JSON on the wire,
 * as a user of nats.js alone would write it. argv: NATS server URL, subject.
 */
import { connect } from '@nats-io/transport-node';
import { serveFar } from '../far-process.js';

type CounterMsg = { type: 'inc'; by: number } | { type: 'get' };

const [servers, subject] = process.argv.slice(2);

await serveFar(async () => {
  const nc = await connect({ servers });
  let n = 0;
  nc.subscribe(subject, {
    callback: (error, msg) => {
      if (error !== null) return;
      const m = msg.json<CounterMsg>();
      if (m.type === 'inc') {
        n += m.by;
        return;
      }
      // One publisher, one subject: this answer leaves after every 'inc' published before the 'get' was counted.
      msg.respond(JSON.stringify(n));
    },
  });
  await nc.flush(); // the subscription is known to the server
  return { stop: () => nc.drain() };
});
