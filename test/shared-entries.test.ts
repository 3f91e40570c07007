// Large entries a leader fans out live in shared memory (lib/replica/shared-entries.ts):
// moved in place, the same bytes, small ones left alone, and posted to a worker without a copy.
import { MessageChannel } from 'node:worker_threads';
import t from 'tap';
import type { Entry } from '../lib/raft/types.js';
import { SHARE_ENTRY_BYTES_MIN, shareLargeEntries } from '../lib/replica/shared-entries.js';

const entry = (index: number, bytes: number): Entry => {
  const data = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (i * 7 + index) & 0xff;
  return { index, term: 1, kind: 'normal', tid: '', data };
};

t.test('large entries move to shared memory with the same bytes; small ones stay', async (t) => {
  const small = entry(1, SHARE_ENTRY_BYTES_MIN - 1);
  const large = entry(2, SHARE_ENTRY_BYTES_MIN);
  const want = [small.data.slice(), large.data.slice()];
  const smallData = small.data;
  t.equal(shareLargeEntries([small, large]), 1, 'one entry shared');
  t.equal(small.data, smallData, 'the small entry keeps its buffer');
  t.ok(large.data.buffer instanceof SharedArrayBuffer, 'the large entry is in shared memory');
  t.same(small.data, want[0]);
  t.same(large.data, want[1], 'same bytes');
  const sharedData = large.data;
  t.equal(shareLargeEntries([large]), 0, 'sharing again does nothing');
  t.equal(large.data, sharedData);
});

t.test('a shared entry crosses a message port without a copy', async (t) => {
  const e = entry(3, 100_000);
  shareLargeEntries([e]);
  const { port1, port2 } = new MessageChannel();
  t.teardown(() => {
    port1.close();
    port2.close();
  });
  const got = new Promise<Entry>((res) => port2.once('message', (m: Entry) => res(m)));
  port1.postMessage(e);
  const r = await got;
  t.ok(r.data.buffer instanceof SharedArrayBuffer, 'the receiver sees shared memory');
  t.same(r.data, e.data, 'the same bytes');
  e.data[0] = e.data[0]! ^ 0xff; // only to prove the memory is one; entries are never written in production
  t.equal(r.data[0], e.data[0], 'one memory, not a copy');
});
