// Chunk slots (lib/replica/chunk-slots.ts): the chunks of a snapshot being taken are
// written into a few reused shared buffers; the log writer frees each once the chunk is
// on disk. Checked: slots are handed out until all are in flight, freed by the real log
// writer on its thread, reused; a chunk too large for a slot gets a buffer of its own;
// the snapshot the log writer wrote from slots restores to the state it was taken from.
import t from 'tap';
import { encodeWrite } from '../lib/kv/entry-codec.js';
import { restoreChunks } from '../lib/kv/snapshot.js';
import { KvStateMachine } from '../lib/kv/state-machine.js';
import { ChunkSlots, releaseChunk } from '../lib/replica/chunk-slots.js';
import { FrameReader, frame } from '../lib/replica/snapshots.js';
import { load, startWriter, tmpDir } from './helpers/log-writer.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

t.test('slots are handed out until all are in flight, freed, reused; a chunk too large gets its own buffer', async (t) => {
  const slots = new ChunkSlots(2, 4096);
  const a = slots.alloc(1000);
  const c = slots.alloc(4096);
  t.ok(a.buffer instanceof SharedArrayBuffer && c.buffer instanceof SharedArrayBuffer, 'two slots');
  t.notOk(slots.hasFree(), 'both in flight');
  const own = slots.alloc(100);
  t.ok(own.buffer instanceof ArrayBuffer && own.byteOffset === 4, 'none free: a buffer of its own, room for the length in front');
  const big = slots.alloc(5000);
  t.ok(big.buffer instanceof ArrayBuffer, 'larger than a slot: a buffer of its own');
  releaseChunk(frame(a));
  t.ok(slots.hasFree(), 'freed');
  const again = slots.alloc(10);
  t.equal(again.buffer, a.buffer, 'the same slot again');
  releaseChunk(frame(again));
  t.throws(() => releaseChunk(frame(again)), 'a slot freed twice is a bug');
  releaseChunk(frame(own)); // nothing to free
});

t.test('a snapshot taken through slots and written by the log writer restores to the state it was taken from', async (t) => {
  const sm = new KvStateMachine({ dedupEntriesMax: 100, dedupWindowEntries: 100 });
  const value = Buffer.alloc(100_000, 7);
  for (let i = 1; i <= 40; i++) {
    value.writeUInt32BE(i, 0);
    sm.apply({ index: i, term: 1, kind: 'normal', tid: `t${i}`, data: encodeWrite({ stampMs: 1000 + i, seed: i, body: { kind: 'command', args: [b('set'), b(`k${i % 25}`), Buffer.from(value)] } }) });
  }
  const want = sm.digest();
  const dir = tmpDir(t);
  const w = startWriter(dir, {});
  t.teardown(() => w.handle.stop({ type: 'stop' }, 5000));
  await load(w);
  const slots = new ChunkSlots(2, 400 * 1024);
  const cursor = sm.beginSnapshot(150_000);
  w.handle.post({ type: 'snapshotBegin', index: cursor.index, term: 1, config: { voters: ['n1'] } });
  let chunks = 0;
  let waits = 0;
  for (;;) {
    // As Snapshots.continue(): wait while every slot is in flight (the log writer frees them on its thread).
    while (!slots.hasFree()) {
      waits++;
      await new Promise((r) => setTimeout(r, 1));
    }
    const chunk = cursor.next((n) => slots.alloc(n));
    if (chunk === null) break;
    w.handle.post({ type: 'snapshotChunk', index: cursor.index, data: frame(chunk) });
    chunks++;
  }
  w.handle.post({ type: 'snapshotEnd', index: cursor.index });
  await w.until((m) => m.type === 'snapshotWritten');
  t.ok(chunks > 4, `${chunks} chunks through 2 slots (waited ${waits} times)`);
  t.ok(slots.hasFree(), 'every slot freed');
  // Read the content back and restore it.
  const frames = new FrameReader();
  for (let off = 0; ; ) {
    w.handle.post({ type: 'snapshotRead', reqId: off + 1, index: cursor.index, term: 1, part: 'content', offset: off, bytesMax: 64 * 1024 });
    const d = await w.until((m) => m.type === 'snapshotData' && m.reqId === off + 1);
    if (d.type !== 'snapshotData') throw new Error('unexpected');
    frames.push(d.data);
    off += d.data.length;
    if (d.done) break;
  }
  const restored = new KvStateMachine({ dedupEntriesMax: 100, dedupWindowEntries: 100 });
  const chunksRead = frames.finish();
  restored.restore(chunksRead);
  // The same content pushed in pieces of every size from 1 byte up: frames that straddle
  // two, three or many pieces come out whole and equal.
  const whole = Buffer.concat(chunksRead.flatMap((c) => [Buffer.from([c.length >>> 24, (c.length >>> 16) & 0xff, (c.length >>> 8) & 0xff, c.length & 0xff]), c]));
  const hex = (cs: Uint8Array[]): string[] => cs.map((c) => Buffer.from(c).toString('hex'));
  const twoFrames = 8 + chunksRead[0]!.length + chunksRead[1]!.length;
  for (const [piece, bytes] of [[1, twoFrames], [3, twoFrames], [1000, whole.length], [65_536, whole.length], [whole.length, whole.length]] as const) {
    const r = new FrameReader();
    for (let off = 0; off < bytes; off += piece) r.push(whole.subarray(off, Math.min(bytes, off + piece)));
    t.same(hex(r.finish()), hex(bytes === whole.length ? chunksRead : chunksRead.slice(0, 2)), `pieces of ${piece} B`);
  }
  t.equal(restored.digest(), want, 'the same state');
  t.equal(restoreChunks(frames.finish()).lastIndex, 40);
});
