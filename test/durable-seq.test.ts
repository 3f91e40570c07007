// The shared durable seq: one writer that only moves it forward, any thread reads it.
import t from 'tap';
import { Worker } from 'node:worker_threads';
import { DurableSeq } from '../lib/node/durable-seq.js';

t.test('starts at 0, moves forward, never back', async (t) => {
  const d = new DurableSeq();
  t.equal(d.load(), 0);
  d.store(3);
  d.store(3);
  t.equal(d.load(), 3);
  t.throws(() => d.store(2), /durable seq 2 after 3/);
  t.throws(() => new DurableSeq(new SharedArrayBuffer(4)), /4 bytes/);
});

t.test('a store on one thread is seen on another', async (t) => {
  const d = new DurableSeq();
  const w = new Worker(
    `const { workerData, parentPort } = require('node:worker_threads');
     Atomics.store(new BigInt64Array(workerData), 0, 2n ** 40n);
     parentPort.postMessage('stored');`,
    { eval: true, workerData: d.buffer },
  );
  await new Promise((r) => w.once('message', r));
  t.equal(d.load(), 2 ** 40, 'past 32 bits');
  await w.terminate();
});
