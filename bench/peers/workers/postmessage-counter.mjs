// The worker of the postMessage peer: a counter behind a raw MessagePort.
// Plain .mjs so that it loads without a TypeScript loader.
import { workerData } from 'node:worker_threads';

/** @type {import('node:worker_threads').MessagePort} */
const port = workerData.port;
let n = 0;

port.on('message', (msg) => {
  if (msg.type === 'inc') {
    n += msg.by;
    return;
  }
  // { type: 'get' }: the port delivers in order, so this answer leaves after
  // every 'inc' posted before the 'get' was counted.
  port.postMessage(n);
});
