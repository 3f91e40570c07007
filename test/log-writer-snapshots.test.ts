// The log writer's snapshot messages on a real worker thread: a snapshot streamed in
// chunks and read back, compaction (clipped to the snapshot a restart would fall back
// to), a restart loading the snapshot and the log after it (the snapshot's content sent
// unasked with the load), InstallSnapshot chunks from
// one writer to another with a lost and a repeated chunk, and a crash mid-write.
import t from 'tap';
import * as fs from 'node:fs';
import type { LogWriterOut } from '../actors/protocol.js';
import { snapshotDirOf } from '../lib/storage/snapshot-format.js';
import { entries, load, startWriter, tmpDir, type Writer } from './helpers/log-writer.js';

type Out<K extends LogWriterOut['type']> = Extract<LogWriterOut, { type: K }>;

const CONFIG = { voters: ['n1', 'n2', 'n3'] };

function content(bytes: number, seed: number): Buffer {
  return Buffer.from(Array.from({ length: bytes }, (_, i) => (i * 31 + seed * 7) & 0xff));
}

async function writeSnapshot(w: Writer, index: number, term: number, data: Buffer, chunkBytes = 10_000): Promise<Out<'snapshotWritten'>> {
  w.handle.post({ type: 'snapshotBegin', index, term, config: CONFIG });
  for (let off = 0; off < data.length; off += chunkBytes) w.handle.post({ type: 'snapshotChunk', index, data: data.subarray(off, off + chunkBytes) });
  w.handle.post({ type: 'snapshotEnd', index });
  return (await w.until((m) => m.type === 'snapshotWritten' && m.snapshot.index === index)) as Out<'snapshotWritten'>;
}

let nextReq = 1;
async function read(w: Writer, index: number, term: number, part: 'content' | 'file', offset: number, bytesMax: number): Promise<Out<'snapshotData'>> {
  const reqId = nextReq++;
  w.handle.post({ type: 'snapshotRead', reqId, index, term, part, offset, bytesMax });
  return (await w.until((m) => m.type === 'snapshotData' && m.reqId === reqId)) as Out<'snapshotData'>;
}

async function readAll(w: Writer, index: number, term: number, part: 'content' | 'file', chunk = 7000): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for (let off = 0; ; ) {
    const d = await read(w, index, term, part, off, chunk);
    if (!d.found) throw new Error('snapshot not found');
    parts.push(d.data);
    off += d.data.length;
    if (d.done) return Buffer.concat(parts);
  }
}

t.test('snapshot written in chunks, read back in chunks, loaded on restart with the log after it', async (t) => {
  const dir = tmpDir(t);
  const w = startWriter(dir, { segmentBytesMax: 2000 });
  await load(w);
  w.handle.post({ type: 'write', seq: 1, hardState: { term: 2, vote: 'n1' }, entries: entries(1, 300, 2) });
  await w.until((m) => m.type === 'written' && m.seq === 1);
  const data1 = content(45_000, 1);
  const s1 = await writeSnapshot(w, 100, 2, data1);
  t.match(s1.snapshot, { index: 100, term: 2, config: CONFIG, contentBytes: data1.length });
  t.ok((await readAll(w, 100, 2, 'content')).equals(data1), 'content read back');
  t.notOk((await read(w, 99, 2, 'content', 0, 100)).found, 'an unknown snapshot is not found');

  w.handle.post({ type: 'compact', throughIndex: 90 });
  const c1 = (await w.until((m) => m.type === 'compacted')) as Out<'compacted'>;
  t.same(c1, { type: 'compacted', throughIndex: 0, firstIndex: 1, segmentsDeleted: 0 }, 'one snapshot: nothing to fall back to, the log stays whole');

  const data2 = content(60_000, 2);
  await writeSnapshot(w, 250, 2, data2);
  w.handle.post({ type: 'compact', throughIndex: 240 });
  const c2 = (await w.until((m) => m.type === 'compacted' && m.segmentsDeleted > 0)) as Out<'compacted'>;
  t.equal(c2.throughIndex, 100, 'clipped to the older snapshot');
  t.ok(c2.firstIndex > 1 && c2.firstIndex <= 101, `log starts at ${c2.firstIndex}`);
  w.handle.post({ type: 'write', seq: 2, hardState: null, entries: entries(301, 5, 2) });
  await w.until((m) => m.type === 'written' && m.seq === 2);
  await w.handle.stop({ type: 'stop' }, 5000);
  t.same(w.fatal, []);

  const w2 = startWriter(dir, { segmentBytesMax: 2000 });
  const again = await load(w2);
  t.match(again.loaded, { firstIndex: 251, lastIndex: 305, snapshot: { index: 250, term: 2, config: CONFIG, contentBytes: data2.length } });
  t.same(
    again.entries.map((e) => e.index),
    Array.from({ length: 305 - 251 + 1 }, (_, k) => 251 + k),
    'the entries after the snapshot are loaded, not the tail kept below it',
  );
  const pushed = w2.out.flatMap((m) => (m.type === 'loadSnapshot' ? [m] : []));
  t.ok(Buffer.concat(pushed.map((m) => m.data)).equals(data2), 'the content comes with the load, unasked');
  const types = w2.out.map((m) => m.type);
  t.ok(types.lastIndexOf('loadSnapshot') < types.indexOf('loaded'), 'before loaded');
  t.ok((await readAll(w2, 250, 2, 'content', 4096)).equals(data2));
  await w2.handle.stop({ type: 'stop' }, 5000);
  t.same(w2.fatal, []);
});

t.test('InstallSnapshot: file chunks from one writer to another, a lost and a repeated chunk', async (t) => {
  const leader = startWriter(tmpDir(t));
  await load(leader);
  const data = content(80_000, 3);
  const s = (await writeSnapshot(leader, 500, 4, data)).snapshot;
  const followerDir = tmpDir(t);
  const follower = startWriter(followerDir);
  await load(follower);
  follower.handle.post({ type: 'write', seq: 1, hardState: null, entries: entries(1, 20, 1) });
  await follower.until((m) => m.type === 'written');

  const acks: Out<'snapshotRecvAck'>[] = [];
  const send = async (offset: number, chunk: number) => {
    const d = await read(leader, 500, 4, 'file', offset, chunk);
    follower.handle.post({ type: 'snapshotRecv', index: 500, term: 4, offset, data: d.data, done: d.done });
    const ack = (await follower.until((m) => m.type === 'snapshotRecvAck' && !acks.includes(m as Out<'snapshotRecvAck'>))) as Out<'snapshotRecvAck'>;
    acks.push(ack);
    return ack;
  };
  const chunk = 16_000;
  t.match(await send(0, chunk), { status: 'appended', nextOffset: chunk });
  t.match(await send(2 * chunk, chunk), { status: 'gap', nextOffset: chunk }, 'chunk 2 lost: resume at chunk 1');
  t.match(await send(0, chunk), { status: 'ignored', nextOffset: chunk }, 'a repeat is ignored');
  let ack = acks.at(-1)!;
  for (let off = chunk; ack.status !== 'installed'; off = ack.nextOffset) {
    ack = await send(off, chunk);
    t.not(ack.status, 'invalid');
  }
  t.match(ack, { status: 'installed', nextOffset: s.fileBytes, firstIndex: 501, lastIndex: 500 }, 'the short log was replaced');
  t.match(await send(Math.floor((s.fileBytes - 1) / chunk) * chunk, chunk), { status: 'installed' }, 'a repeated last chunk is answered again');
  t.ok((await readAll(follower, 500, 4, 'content')).equals(data), 'the follower holds the same content');
  follower.handle.post({ type: 'write', seq: 2, hardState: null, entries: entries(501, 3, 4) });
  await follower.until((m) => m.type === 'written' && m.seq === 2);
  await follower.handle.stop({ type: 'stop' }, 5000);
  await leader.handle.stop({ type: 'stop' }, 5000);
  t.same([...leader.fatal, ...follower.fatal], []);

  const again = startWriter(followerDir);
  const l = await load(again);
  t.match(l.loaded, { firstIndex: 501, lastIndex: 503, snapshot: { index: 500, term: 4 } });
  await again.handle.stop({ type: 'stop' }, 5000);
});

t.test('a crash in the middle of a snapshot write: the previous snapshot is loaded, the temp file removed', async (t) => {
  const dir = tmpDir(t);
  const w = startWriter(dir);
  await load(w);
  w.handle.post({ type: 'write', seq: 1, hardState: null, entries: entries(1, 50, 1) });
  await w.until((m) => m.type === 'written');
  await writeSnapshot(w, 20, 1, content(5000, 4));
  w.handle.post({ type: 'snapshotBegin', index: 40, term: 1, config: CONFIG });
  w.handle.post({ type: 'snapshotChunk', index: 40, data: content(3000, 5) });
  await read(w, 20, 1, 'content', 0, 10); // the chunk before it was handled
  await w.handle.terminate();
  t.ok(fs.readdirSync(snapshotDirOf(dir)).some((n) => n.endsWith('.tmp')), 'a temp file is left behind');

  const w2 = startWriter(dir);
  const l = await load(w2);
  t.match(l.loaded, { firstIndex: 21, lastIndex: 50, snapshot: { index: 20, term: 1 } });
  t.same(fs.readdirSync(snapshotDirOf(dir)).filter((n) => n.endsWith('.tmp')), []);
  await w2.handle.stop({ type: 'stop' }, 5000);
  t.same(w2.fatal, []);
});
