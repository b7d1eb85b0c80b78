// The worker of the comlink peer: a counter object exposed over the worker's
// parentPort through comlink's Node endpoint adapter. comlink's package has no
// "exports" map and its "main" is a UMD build, so the ESM files are imported
// by path.
import { parentPort } from 'node:worker_threads';
import { expose } from 'comlink/dist/esm/comlink.mjs';
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs';

const counter = {
  n: 0,
  inc(by) {
    counter.n += by;
  },
  get() {
    return counter.n;
  },
};

expose(counter, nodeEndpoint(parentPort));
