// The postMessage peers of transfer-pipeline-1m (bench/peers/pipeline.ts):
// worker 'a' holds the source and stages 0 and 2, worker 'b' stages 1 and 3,
// joined by a MessageChannel, the same layout as the microswarm actors
// (bench/actors/pipeline-stage.ts). 'clone' posts the frame's Int32Array by
// structured clone (each hop copies 1 MiB; the last stage answers with the
// sequence number only and the source reuses its own frame); 'transfer' puts
// its ArrayBuffer in the transfer list, and the last stage hands it back.
// The frame work repeats bench/actors/pipeline-frame.ts: keep the two the same.
import { parentPort, workerData } from 'node:worker_threads';

const kFrameWords = 262_144;
const kHeaderWords = 16;
const kStages = 4;
let kPayloadSum = 0;
for (let i = kHeaderWords; i < kFrameWords; i++) kPayloadSum = (kPayloadSum + i) | 0;

function passStage(words, stage, seq) {
  if (words[0] !== seq || words[stage] !== seq + stage) {
    throw new Error(`frame ${seq} reached stage ${stage} with header ${words[0]}, ${words[stage]} (expected ${seq}, ${seq + stage})`);
  }
  words[stage + 1] = seq + stage + 1;
  if (stage !== kStages - 1) return;
  let a = 0;
  let b = 0;
  let c = 0;
  let d = 0;
  for (let i = kHeaderWords; i < words.length; i += 4) {
    a = (a + words[i]) | 0;
    b = (b + words[i + 1]) | 0;
    c = (c + words[i + 2]) | 0;
    d = (d + words[i + 3]) | 0;
  }
  const sum = (a + b + c + d) | 0;
  if (sum !== kPayloadSum) throw new Error(`1 MiB frame arrived wrong: payload sum ${sum}, expected ${kPayloadSum}`);
}

const { role, mode, port } = workerData;
const transfer = mode === 'transfer';
const post = (msg, words) => (transfer && words ? port.postMessage({ ...msg, words }, [words.buffer]) : port.postMessage({ ...msg, words }));

if (role === 'b') {
  port.on('message', ({ stage, seq, words }) => {
    passStage(words, stage, seq);
    if (stage === 1) post({ stage: 2, seq }, words);
    else if (transfer) post({ back: seq }, words);
    else port.postMessage({ back: seq });
  });
} else {
  const spare = [];
  let run;
  const send = (words) => {
    const seq = run.sent++;
    words[0] = seq;
    passStage(words, 0, seq); // stage 0 lives here, with the source
    post({ stage: 1, seq }, words);
  };
  port.on('message', ({ stage, seq, back, words }) => {
    try {
      if (stage === 2) {
        passStage(words, 2, seq);
        post({ stage: 3, seq }, words);
        return;
      }
      // A frame came back: with 'transfer' its buffer, with 'clone' the frame of that slot is ours again.
      const frame = transfer ? words : run.slots[back % run.slots.length];
      run.back++;
      if (run.back === run.frames) {
        if (transfer) spare.push(frame);
        else spare.push(...run.slots);
        const done = run;
        run = undefined;
        parentPort.postMessage({ frames: done.back });
      } else if (run.sent < run.frames) send(frame);
      else if (transfer) spare.push(frame);
    } catch (error) {
      parentPort.postMessage({ error: error instanceof Error ? error.message : String(error) });
    }
  });
  parentPort.on('message', ({ frames, window }) => {
    try {
      while (spare.length < window) {
        const words = new Int32Array(kFrameWords);
        for (let i = kHeaderWords; i < kFrameWords; i++) words[i] = i;
        spare.push(words);
      }
      const slots = spare.splice(0, window);
      run = { frames, sent: 0, back: 0, slots };
      for (const words of slots) send(words);
    } catch (error) {
      parentPort.postMessage({ error: error instanceof Error ? error.message : String(error) });
    }
  });
}
