// One side of the postMessage peers of transfer-64k, between two worker
// threads joined by a MessageChannel (bench/peers/transfer.ts). Plain .mjs so
// that it loads without a TypeScript loader.
//
// workerData: { role: 'ping' | 'pong', mode: 'clone' | 'transfer', port }.
// - mode 'clone': the Uint8Array is posted by structured clone (copied).
// - mode 'transfer': its ArrayBuffer is in the transfer list (moved); the
//   sender loses it until it comes back, as with a microswarm region.
// The ping side takes `{ roundTrips }` from the main thread on parentPort and
// answers with a Float64Array of per-handoff microseconds, exactly as
// bench/actors/memory-ping.ts does.
//
// The buffer work below repeats bench/actors/memory-ball.ts; keep them the same.
import { parentPort, workerData } from 'node:worker_threads';

const kBallBytes = 64 * 1024;
const kBallWords = kBallBytes / 4;
const kBallPayloadSum = ((kBallWords - 1) * kBallWords) / 2;

function fillBall(words) {
  for (let i = 1; i < words.length; i++) words[i] = i;
}

function readBall(words, expectedHop) {
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  for (let i = 0; i < words.length; i += 4) {
    a = (a + words[i]) | 0;
    b = (b + words[i + 1]) | 0;
    c = (c + words[i + 2]) | 0;
    d = (d + words[i + 3]) | 0;
  }
  const sum = (a + b + c + d) | 0;
  const hop = words[0];
  if (hop !== expectedHop || ((sum - hop) | 0) !== kBallPayloadSum) {
    throw new Error(`64 KB buffer arrived wrong: hop ${hop} (expected ${expectedHop}), payload sum ${(sum - hop) | 0} (expected ${kBallPayloadSum})`);
  }
}

/** @type {{ role: 'ping' | 'pong', mode: 'clone' | 'transfer', port: import('node:worker_threads').MessagePort }} */
const { role, mode, port } = workerData;

/** Hands the buffer to the other side: copied or moved. */
function post(bytes) {
  if (mode === 'transfer') port.postMessage(bytes, [bytes.buffer]);
  else port.postMessage(bytes);
}

const wordsOf = (bytes) => new Int32Array(bytes.buffer, bytes.byteOffset, kBallWords);

if (role === 'pong') {
  port.on('message', (bytes) => {
    try {
      const words = wordsOf(bytes);
      const hop = words[0];
      readBall(words, hop);
      words[0] = hop + 1;
      post(bytes);
    } catch (error) {
      port.postMessage({ error: error instanceof Error ? error.message : String(error) });
    }
  });
} else {
  let ball = new Uint8Array(kBallBytes);
  fillBall(wordsOf(ball));
  let run;

  port.on('message', (bytes) => {
    if (run === undefined) return;
    try {
      if (!(bytes instanceof Uint8Array)) throw new Error(`pong failed: ${bytes.error}`);
      const words = wordsOf(bytes);
      readBall(words, run.hop + 1);
      const now = performance.now();
      run.samples[run.done++] = ((now - run.lastSendMs) * 1000) / 2;
      // Keep what came back: in 'transfer' mode it is the only copy left.
      ball = bytes;
      if (run.done === run.samples.length) {
        const samples = run.samples;
        run = undefined;
        parentPort.postMessage({ samples }, [samples.buffer]);
        return;
      }
      run.hop += 2;
      words[0] = run.hop;
      run.lastSendMs = now;
      post(bytes);
    } catch (error) {
      run = undefined;
      parentPort.postMessage({ error: error instanceof Error ? error.message : String(error) });
    }
  });

  parentPort.on('message', ({ roundTrips }) => {
    run = { samples: new Float64Array(roundTrips), done: 0, hop: 1, lastSendMs: 0 };
    wordsOf(ball)[0] = 1;
    run.lastSendMs = performance.now();
    post(ball);
  });
}
