// Snapshot files: streamed writes published by rename, the newest valid one loaded
// (a damaged or half-written one passed over with a warning), two kept, chunked reads,
// the resumable receiving side of InstallSnapshot, and log compaction under a snapshot.
import t from 'tap';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Entry } from '../lib/raft/types.js';
import { LogStore } from '../lib/storage/log-store.js';
import { listSegments, logDirOf } from '../lib/storage/segment-files.js';
import { SNAPSHOT_CHUNK_BYTES_MAX, snapshotDirOf } from '../lib/storage/snapshot-format.js';
import { SnapshotStore } from '../lib/storage/snapshot-store.js';

function tmpDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftd-snapshot-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Deterministic content of `bytes` bytes, different per seed. */
function content(bytes: number, seed: number): Buffer {
  const b = Buffer.alloc(bytes);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < bytes; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

const CONFIG = { voters: ['n1', 'n2', 'n3'], learners: [] as string[] };

function writeSnapshot(store: SnapshotStore, index: number, term: number, data: Buffer, chunkBytes = 1000) {
  const w = store.beginWrite(index, term, CONFIG);
  for (let off = 0; off < data.length; off += chunkBytes) w.write(data.subarray(off, off + chunkBytes));
  return w.finish();
}

function readAll(store: SnapshotStore, meta: Parameters<SnapshotStore['openReader']>[0], chunkBytes = 777): Buffer {
  const r = store.openReader(meta);
  try {
    return Buffer.concat([...r.chunks(chunkBytes)]);
  } finally {
    r.close();
  }
}

function entries(from: number, count: number, term: number): Entry[] {
  return Array.from({ length: count }, (_, k) => ({ index: from + k, term, kind: 'normal' as const, tid: `t${from + k}`, data: Buffer.from('x'.repeat(50)) }));
}

t.test('write in chunks, load the latest, read it back in chunks', async (t) => {
  const dataDir = tmpDir(t);
  const store = SnapshotStore.open(dataDir);
  t.same(store.latest(), { snapshot: null, warnings: [] }, 'none yet');
  const data = content(123_457, 1);
  const meta = writeSnapshot(store, 500, 3, data);
  t.equal(meta.contentBytes, data.length);
  t.same(meta.digest, createHash('sha256').update(data).digest());
  const { snapshot, warnings } = SnapshotStore.open(dataDir).latest();
  t.same(warnings, []);
  t.ok(snapshot);
  t.equal(snapshot!.index, 500);
  t.equal(snapshot!.term, 3);
  t.same(snapshot!.config, CONFIG, 'the configuration comes back as it went in');
  t.equal(snapshot!.fileBytes, fs.statSync(snapshot!.path).size);
  t.ok(readAll(store, snapshot!).equals(data), 'content read back in chunks is what was written');
  const r = store.openReader(snapshot!);
  t.teardown(() => r.close());
  t.ok(r.readContent(1000, 10).equals(data.subarray(1000, 1010)));
  t.equal(r.readContent(data.length, 10).length, 0, 'empty at the end');
  t.throws(() => r.readFile(0, SNAPSHOT_CHUNK_BYTES_MAX + 1), /at most/, 'reads are bounded');
});

t.test('an empty state machine makes a valid snapshot', async (t) => {
  const store = SnapshotStore.open(tmpDir(t));
  writeSnapshot(store, 1, 1, Buffer.alloc(0));
  t.equal(store.latest().snapshot?.contentBytes, 0);
});

t.test('the newest two are kept, older ones deleted', async (t) => {
  const store = SnapshotStore.open(tmpDir(t));
  for (let i = 1; i <= 5; i++) writeSnapshot(store, i * 100, i, content(5000, i));
  t.same(
    store.list().map((f) => f.index),
    [400, 500],
  );
});

t.test('a snapshot just published is never pruned, even when older than the two kept', async (t) => {
  const store = SnapshotStore.open(tmpDir(t));
  writeSnapshot(store, 300, 3, content(100, 1));
  writeSnapshot(store, 400, 3, content(100, 2));
  const older = writeSnapshot(store, 200, 2, content(100, 3));
  t.same(
    store.list().map((f) => f.index),
    [200, 300, 400],
  );
  t.ok(fs.existsSync(older.path));
});

t.test('a crash in the middle of a write: the truncated temp file is ignored, then removed', async (t) => {
  const dataDir = tmpDir(t);
  const store = SnapshotStore.open(dataDir);
  const data = content(50_000, 7);
  writeSnapshot(store, 100, 2, data);
  const w = store.beginWrite(200, 2, CONFIG);
  w.write(content(4000, 8));
  // The process dies here: no finish. Its temporary file stays, header a placeholder.
  const temp = fs.readdirSync(snapshotDirOf(dataDir)).filter((n) => n.endsWith('.tmp'));
  t.equal(temp.length, 1, 'temp file on disk');
  fs.truncateSync(path.join(snapshotDirOf(dataDir), temp[0]!), 1500);
  const warned: string[] = [];
  const reopened = SnapshotStore.open(dataDir, { info() {}, warn: (e) => warned.push(e) });
  t.same(warned, ['unfinished snapshot removed']);
  t.same(fs.readdirSync(snapshotDirOf(dataDir)).filter((n) => n.endsWith('.tmp')), [], 'removed on open');
  const latest = reopened.latest();
  t.same(latest.warnings, []);
  t.equal(latest.snapshot?.index, 100, 'the last published snapshot is the latest');
  t.ok(readAll(reopened, latest.snapshot!).equals(data));
});

t.test('a corrupt latest snapshot falls back to the previous one, with a warning', async (t) => {
  const dataDir = tmpDir(t);
  const store = SnapshotStore.open(dataDir);
  const older = content(30_000, 1);
  writeSnapshot(store, 100, 2, older);
  const newer = writeSnapshot(store, 200, 3, content(30_000, 2));
  const fd = fs.openSync(newer.path, 'r+');
  fs.writeSync(fd, Buffer.from([0xff ^ content(30_000, 2)[20_000]!]), 0, 1, newer.headerBytes + 20_000);
  fs.closeSync(fd);
  const { snapshot, warnings } = SnapshotStore.open(dataDir).latest();
  t.equal(snapshot?.index, 100);
  t.ok(readAll(store, snapshot!).equals(older));
  t.equal(warnings.length, 1);
  t.match(warnings[0], /00000000000000000200-00000000000000000003\.snap ignored: content sha256 mismatch/);
});

t.test('damage of every kind is passed over, never thrown', async (t) => {
  const dataDir = tmpDir(t);
  const store = SnapshotStore.open(dataDir);
  writeSnapshot(store, 100, 2, content(3000, 1));
  const good = fs.readFileSync(store.list()[0]!.path);
  const damaged: [string, (b: Buffer) => Buffer][] = [
    ['cut in the content', (b) => b.subarray(0, b.length - 10)],
    ['cut in the header', (b) => b.subarray(0, 50)],
    ['empty', () => Buffer.alloc(0)],
    ['bad magic', (b) => Buffer.concat([Buffer.from('XXXX'), b.subarray(4)])],
    ['header byte flipped', (b) => Buffer.from(b).fill(0x55, 30, 31)],
    ['bytes appended', (b) => Buffer.concat([b, Buffer.from('extra')])],
  ];
  for (const [what, damage] of damaged) {
    const file = path.join(snapshotDirOf(dataDir), '00000000000000000300-00000000000000000004.snap');
    fs.writeFileSync(file, damage(good));
    const { snapshot, warnings } = store.latest();
    t.equal(snapshot?.index, 100, what);
    t.equal(warnings.length, 1, `${what}: ${warnings[0]}`);
  }
  // A valid file under another snapshot's name is not that snapshot.
  fs.writeFileSync(path.join(snapshotDirOf(dataDir), '00000000000000000300-00000000000000000004.snap'), good);
  t.match(store.latest().warnings[0], /its header says index 100 term 2/);
});

t.test('an aborted write leaves nothing behind', async (t) => {
  const dataDir = tmpDir(t);
  const store = SnapshotStore.open(dataDir);
  const w = store.beginWrite(10, 1, CONFIG);
  w.write(content(100, 1));
  t.throws(() => store.beginWrite(11, 1, CONFIG), /being written already/, 'one write at a time');
  w.abort();
  t.same(fs.readdirSync(snapshotDirOf(dataDir)), []);
  writeSnapshot(store, 11, 1, content(10, 1));
  t.equal(store.latest().snapshot?.index, 11);
});

t.test('receiving: chunks at offsets, repeats ignored, gaps refused, verified on finish', async (t) => {
  const leaderDir = tmpDir(t);
  const followerDir = tmpDir(t);
  const leader = SnapshotStore.open(leaderDir);
  const data = content(20_000, 9);
  const meta = writeSnapshot(leader, 700, 5, data);
  const reader = leader.openReader(meta);
  t.teardown(() => reader.close());
  const follower = SnapshotStore.open(followerDir);
  const rx = follower.beginReceive(700, 5);
  const chunk = 3000;
  t.same(rx.accept(0, reader.readFile(0, chunk)), { status: 'appended', nextOffset: 3000 });
  t.same(rx.accept(6000, reader.readFile(6000, chunk)), { status: 'gap', nextOffset: 3000 }, 'a lost chunk: the leader is told where to resume');
  t.same(rx.accept(0, reader.readFile(0, chunk)), { status: 'ignored', nextOffset: 3000 }, 'a repeat is ignored');
  t.same(rx.accept(1500, reader.readFile(1500, chunk)), { status: 'appended', nextOffset: 4500 }, 'an overlap adds only its new bytes');
  for (let off = rx.nextOffset; off < meta.fileBytes; off = rx.nextOffset) t.equal(rx.accept(off, reader.readFile(off, chunk)).status, 'appended');
  const got = rx.finish();
  t.equal(got.index, 700);
  t.same(got.config, CONFIG);
  t.ok(fs.readFileSync(got.path).equals(fs.readFileSync(meta.path)), 'byte-identical to the leader file');
  t.equal(SnapshotStore.open(followerDir).latest().snapshot?.index, 700);
});

t.test('a received snapshot that does not verify is refused and deleted', async (t) => {
  const leader = SnapshotStore.open(tmpDir(t));
  const meta = writeSnapshot(leader, 50, 2, content(5000, 3));
  const bytes = fs.readFileSync(meta.path);
  const followerDir = tmpDir(t);
  const follower = SnapshotStore.open(followerDir);
  const bad = Buffer.from(bytes);
  bad[bad.length - 1]! ^= 1;
  const rx = follower.beginReceive(50, 2);
  rx.accept(0, bad);
  t.throws(() => rx.finish(), { code: 'RAFTD_SNAPSHOT_INVALID', message: /sha256 mismatch/ });
  t.same(fs.readdirSync(snapshotDirOf(followerDir)), [], 'nothing published, temp deleted');
  const wrong = follower.beginReceive(51, 2);
  wrong.accept(0, bytes);
  t.throws(() => wrong.finish(), { code: 'RAFTD_SNAPSHOT_INVALID', message: /expected 51 2/ });
  const cut = follower.beginReceive(50, 2);
  cut.accept(0, bytes.subarray(0, 100));
  t.throws(() => cut.finish(), { code: 'RAFTD_SNAPSHOT_INVALID' });
  t.equal(follower.latest().snapshot, null);
});

t.test('compaction deletes segments wholly at or below the index; the log reopens after a snapshot', async (t) => {
  const dataDir = tmpDir(t);
  const s = LogStore.open({ dataDir, segmentBytesMax: 1000 });
  s.append(entries(1, 100, 1));
  s.append(entries(101, 50, 2));
  s.sync();
  const before = listSegments(logDirOf(dataDir));
  t.ok(before.length > 5);
  const r = s.compact(60);
  t.ok(r.segmentsDeleted > 0);
  t.ok(r.firstIndex <= 61, `first index ${r.firstIndex} keeps 61`);
  t.equal(s.firstIndex(), r.firstIndex);
  t.same([...s.entries(r.firstIndex, 150)].map((e) => e.index), Array.from({ length: 150 - r.firstIndex + 1 }, (_, k) => r.firstIndex + k));
  t.equal(s.term(r.firstIndex - 1), 1, 'the term before the log is still known');
  t.equal(s.compact(0).segmentsDeleted, 0, 'nothing below the first segment');
  s.compact(150);
  t.equal(s.segmentCount(), 1, 'the open segment is never deleted');
  s.close();
  const first = listSegments(logDirOf(dataDir))[0]!.firstIndex;
  t.throws(() => LogStore.open({ dataDir, segmentBytesMax: 1000 }), { code: 'RAFTD_LOG_CORRUPT', message: /no snapshot covers/ }, 'a log starting late needs a snapshot');
  t.throws(() => LogStore.open({ dataDir, segmentBytesMax: 1000, snapshot: { index: first - 2, term: 1 } }), { code: 'RAFTD_LOG_CORRUPT', message: /missing/ });
  const re = LogStore.open({ dataDir, segmentBytesMax: 1000, snapshot: { index: 148, term: 2 } });
  t.teardown(() => re.close());
  t.equal(re.firstIndex(), first, 'reports where the log starts');
  t.equal(re.lastIndex(), 150);
  re.append(entries(151, 3, 2));
  re.sync();
  t.equal(re.lastIndex(), 153);
});

t.test('a snapshot newer than the whole log, or disagreeing with it, replaces the log', async (t) => {
  const dataDir = tmpDir(t);
  const s = LogStore.open({ dataDir, segmentBytesMax: 1000 });
  s.append(entries(1, 30, 1));
  s.sync();
  s.close();
  const warned: string[] = [];
  const log = { info() {}, warn: (e: string) => warned.push(e) };
  const newer = LogStore.open({ dataDir, segmentBytesMax: 1000, snapshot: { index: 80, term: 3 }, log });
  t.same(warned, ['log discarded for snapshot']);
  t.equal(newer.firstIndex(), 81);
  t.equal(newer.lastIndex(), 80);
  t.equal(newer.term(80), 3);
  t.same(listSegments(logDirOf(dataDir)), [], 'old segments deleted');
  t.throws(() => newer.append(entries(82, 1, 3)), /must be in \[81, 81\]/);
  t.throws(() => newer.append(entries(81, 1, 2)), /term 2 < previous term 3/);
  newer.append(entries(81, 5, 3));
  newer.sync();
  newer.close();
  const again = LogStore.open({ dataDir, segmentBytesMax: 1000, snapshot: { index: 80, term: 3 } });
  t.equal(again.firstIndex(), 81);
  t.equal(again.lastIndex(), 85);
  t.equal(again.term(80), 3);
  again.close();
  const conflicting = LogStore.open({ dataDir, segmentBytesMax: 1000, snapshot: { index: 83, term: 4 } });
  t.teardown(() => conflicting.close());
  t.equal(conflicting.lastIndex(), 83, 'index 83 has term 3 in the log, 4 in the snapshot: log dropped');
  t.equal(conflicting.firstIndex(), 84);
});
