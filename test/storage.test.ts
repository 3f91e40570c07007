// The log store: append and read back across segments, truncation of a suffix
// (inside a segment, at a segment boundary, across segments, the whole log), the
// invariants append asserts, and a failed fdatasync stopping the store for good.
import t from 'tap';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Entry } from '../lib/raft/types.js';
import { LogStore, type StorageLog } from '../lib/storage/log-store.js';
import { readLog } from '../lib/storage/read-log.js';
import { recordBytes } from '../lib/storage/record.js';
import { listSegments, logDirOf, segmentName } from '../lib/storage/segment-files.js';

function tmpDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftd-storage-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function entries(from: number, count: number, term: number, dataBytes = 40, tag = ''): Entry[] {
  return Array.from({ length: count }, (_, k) => {
    const index = from + k;
    const text = `${tag}e${index}t${term}:`.padEnd(dataBytes, 'x');
    return { index, term, kind: index % 13 === 0 ? 'noop' : 'normal', tid: index % 3 === 0 ? '' : `tid-${index}-é`, data: Buffer.from(text) };
  });
}

/** Comparable form (Buffer vs Uint8Array differ for t.same). */
function plain(es: Iterable<Entry>): object[] {
  return [...es].map((e) => ({ index: e.index, term: e.term, kind: e.kind, tid: e.tid, data: Buffer.from(e.data).toString('hex') }));
}

function memLog(): StorageLog & { lines: { event: string; fields?: Record<string, unknown> }[] } {
  const lines: { event: string; fields?: Record<string, unknown> }[] = [];
  return {
    lines,
    info: (event, fields) => lines.push({ event, fields }),
    warn: (event, fields) => lines.push({ event, fields }),
  };
}

function appendBatches(store: LogStore, es: Entry[], batch: number): void {
  for (let i = 0; i < es.length; i += batch) store.append(es.slice(i, i + batch));
}

t.test('empty log: opens, syncs nothing, reopens empty', (t) => {
  const dir = tmpDir(t);
  const s = LogStore.open({ dataDir: dir, segmentBytesMax: 1000 });
  t.equal(s.firstIndex(), 1);
  t.equal(s.lastIndex(), 0);
  t.equal(s.term(0), 0);
  t.equal(s.sync(), 0, 'nothing to sync');
  t.same([...s.entries()], []);
  s.close();
  const s2 = LogStore.open({ dataDir: dir, segmentBytesMax: 1000 });
  t.equal(s2.lastIndex(), 0);
  t.equal(s2.repairedTail, null);
  s2.close();
  t.end();
});

t.test('append and read back across several segments', (t) => {
  const dir = tmpDir(t);
  const max = 1000;
  const log = memLog();
  const s = LogStore.open({ dataDir: dir, segmentBytesMax: max, log });
  const es = [...entries(1, 100, 1), ...entries(101, 100, 2, 90), ...entries(201, 5, 3, 0)];
  appendBatches(s, es, 7);
  t.equal(s.sync(), 2, 'fdatasync of the open segment and fsync of the log directory');
  t.equal(s.sync(), 0, 'nothing new to sync');
  t.equal(s.lastIndex(), 205);
  t.equal(s.term(100), 1);
  t.equal(s.term(101), 2);
  t.same(plain(s.entries()), plain(es));
  t.same(plain(s.entries(99, 103)), plain(es.slice(98, 103)));
  const files = listSegments(logDirOf(dir));
  t.ok(files.length >= 10, `${files.length} segments`);
  t.equal(s.segmentCount(), files.length);
  for (const f of files) {
    t.ok(fs.statSync(f.path).size <= max, `${path.basename(f.path)} within segmentBytesMax`);
    t.equal(path.basename(f.path), segmentName(f.firstIndex));
  }
  t.equal(files[0]!.firstIndex, 1);
  t.equal(log.lines.filter((l) => l.event === 'segment rolled').length, files.length);
  s.close();

  const s2 = LogStore.open({ dataDir: dir, segmentBytesMax: max });
  t.equal(s2.lastIndex(), 205);
  t.same(plain(s2.entries()), plain(es), 'reopened log holds the same entries');
  s2.append(entries(206, 3, 3));
  s2.sync();
  s2.close();
  t.same(plain(readLog(dir)), plain([...es, ...entries(206, 3, 3)]), 'offline reader agrees');
  t.end();
});

t.test('batches reuse one encode buffer: larger, smaller and shared-memory values all read back', (t) => {
  const dir = tmpDir(t);
  const s = LogStore.open({ dataDir: dir, segmentBytesMax: 8 * 1024 * 1024 });
  // A follower's large values are views at odd offsets of a shared frame body.
  const body = new Uint8Array(new SharedArrayBuffer(300_007));
  for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 0xff;
  const big = (index: number, off: number, n: number): Entry => ({ index, term: 1, kind: 'normal', tid: `big-${index}`, data: body.subarray(off, off + n) });
  const batches: Entry[][] = [entries(1, 3, 1, 500), [big(4, 3, 100_001)], entries(5, 2, 1, 10), [big(7, 5, 200_000), big(8, 1, 90_000)], entries(9, 40, 1, 100)];
  for (const b of batches) s.append(b);
  s.sync();
  const want = batches.flat();
  t.same(plain(s.entries()), plain(want), 'read back from the open store');
  s.close();
  t.same(plain(readLog(dir)), plain(want), 'and from the files');
  t.end();
});

t.test('a record larger than segmentBytesMax gets a segment of its own', (t) => {
  const dir = tmpDir(t);
  const s = LogStore.open({ dataDir: dir, segmentBytesMax: 200 });
  const es = [...entries(1, 2, 1, 20), ...entries(3, 1, 1, 500), ...entries(4, 2, 1, 20)];
  s.append(es);
  s.sync();
  s.close();
  const sizes = listSegments(logDirOf(dir)).map((f) => [f.firstIndex, fs.statSync(f.path).size]);
  t.same(sizes, [
    [1, 2 * recordBytes(es[0]!)],
    [3, recordBytes(es[2]!)],
    [4, 2 * recordBytes(es[3]!)],
  ]);
  t.same(plain(readLog(dir)), plain(es));
  t.end();
});

t.test('the open segment gets zeros written ahead; a closed one is cut to its records', (t) => {
  const dir = tmpDir(t);
  const max = 3 * 1024 * 1024;
  const s = LogStore.open({ dataDir: dir, segmentBytesMax: max });
  const es = entries(1, 40_000, 1, 100);
  const size = () => fs.statSync(listSegments(logDirOf(dir)).at(-1)!.path).size;
  s.append(es.slice(0, 10));
  const first = es.slice(0, 10).reduce((n, e) => n + recordBytes(e), 0);
  t.equal(size(), first + 1024 * 1024, 'a MiB of room after the first small append');
  s.append(es.slice(10, 20));
  t.equal(size(), first + 1024 * 1024, 'the next append lands in the room');
  appendBatches(s, es.slice(20), 50);
  s.sync();
  const files = listSegments(logDirOf(dir));
  t.ok(files.length >= 2, `${files.length} segments`);
  for (const f of files) t.ok(fs.statSync(f.path).size <= max, 'within segmentBytesMax, room included');
  const lastRecords = () => {
    const first = listSegments(logDirOf(dir)).at(-1)!.firstIndex;
    return [...readLog(dir)].filter((e) => e.index >= first).reduce((n, e) => n + recordBytes(e), 0);
  };
  t.ok(size() > lastRecords(), 'the open segment has room past its records');
  // Zeros in a segment that is not the last would be corruption to the reader.
  t.same(plain(readLog(dir)), plain(es), 'the offline reader reads every segment and stops at the zeros of the open one');
  s.close();
  t.equal(size(), lastRecords(), 'closing cuts the room off');
  const log = memLog();
  const s2 = LogStore.open({ dataDir: dir, segmentBytesMax: max, log });
  t.equal(s2.repairedTail, null, 'zeros are not a torn tail');
  t.same(log.lines.filter((l) => l.event === 'torn tail repaired'), []);
  t.equal(s2.lastIndex(), 40_000);
  // Truncating inside the open segment cuts the room too; appends write it again.
  s2.append(entries(39_990, 3, 2, 100, 'new'));
  s2.sync();
  t.ok(size() > lastRecords(), 'room written again after the truncation');
  s2.close();
  const want = [...es.slice(0, 39_989), ...entries(39_990, 3, 2, 100, 'new')];
  t.same(plain(readLog(dir)), plain(want));
  const s3 = LogStore.open({ dataDir: dir, segmentBytesMax: max });
  t.same(plain(s3.entries(39_980)), plain(want.slice(39_979)), 'reopened after the truncation');
  s3.close();
  t.end();
});

t.test('a large append gets no zeros written ahead', (t) => {
  const dir = tmpDir(t);
  const s = LogStore.open({ dataDir: dir, segmentBytesMax: 8 * 1024 * 1024 });
  const es = entries(1, 2, 1, 100 * 1024);
  s.append(es);
  s.sync();
  t.equal(fs.statSync(listSegments(logDirOf(dir))[0]!.path).size, 2 * recordBytes(es[0]!));
  s.close();
  t.end();
});

t.test('truncation in the middle of a segment, then append and reopen', (t) => {
  const dir = tmpDir(t);
  const log = memLog();
  const s = LogStore.open({ dataDir: dir, segmentBytesMax: 1000, log });
  const old = entries(1, 60, 1);
  appendBatches(s, old, 10);
  s.sync();
  const segsBefore = s.segmentCount();
  // 45 is inside a segment, not its first entry.
  const seg45 = listSegments(logDirOf(dir)).filter((f) => f.firstIndex <= 45).at(-1)!;
  t.not(seg45.firstIndex, 45);
  const repl = entries(45, 5, 2, 40, 'new');
  const r = s.append(repl);
  t.equal(r.truncated, 16, 'dropped 45..60');
  t.equal(s.lastIndex(), 49);
  t.ok(s.segmentCount() < segsBefore, 'later segments deleted');
  const trunc = log.lines.find((l) => l.event === 'truncated');
  t.match(trunc?.fields, { fromIndex: 45, entriesDropped: 16 });
  s.sync();
  const want = [...old.slice(0, 44), ...repl];
  t.same(plain(s.entries()), plain(want));
  s.close();
  const s2 = LogStore.open({ dataDir: dir, segmentBytesMax: 1000 });
  t.same(plain(s2.entries()), plain(want), 'reopened');
  s2.append(entries(50, 20, 2));
  s2.sync();
  s2.close();
  t.same(plain(readLog(dir)), plain([...want, ...entries(50, 20, 2)]));
  t.end();
});

t.test('truncation at a segment boundary and across segments', (t) => {
  const dir = tmpDir(t);
  const s = LogStore.open({ dataDir: dir, segmentBytesMax: 600 });
  const old = entries(1, 80, 1);
  appendBatches(s, old, 3);
  s.sync();
  const files = listSegments(logDirOf(dir));
  t.ok(files.length >= 5, `${files.length} segments`);
  // From the first entry of the third segment: that file and all later go.
  const boundary = files[2]!.firstIndex;
  s.append(entries(boundary, 2, 2));
  s.sync();
  let now = listSegments(logDirOf(dir));
  t.same(
    now.map((f) => f.firstIndex),
    [files[0]!.firstIndex, files[1]!.firstIndex, boundary],
    'segment of the boundary recreated for the new entries',
  );
  let want = [...old.slice(0, boundary - 1), ...entries(boundary, 2, 2)];
  t.same(plain(s.entries()), plain(want));
  // From inside the first segment: everything after it goes.
  s.append(entries(2, 1, 3));
  s.sync();
  now = listSegments(logDirOf(dir));
  t.same(now.map((f) => f.firstIndex), [1]);
  want = [old[0]!, ...entries(2, 1, 3)];
  t.same(plain(s.entries()), plain(want));
  s.close();
  const s2 = LogStore.open({ dataDir: dir, segmentBytesMax: 600 });
  t.same(plain(s2.entries()), plain(want));
  // The whole log, from its first index.
  s2.append(entries(1, 30, 4));
  s2.sync();
  s2.close();
  t.same(plain(readLog(dir)), plain(entries(1, 30, 4)));
  t.end();
});

t.test('truncating everything leaves an empty log that takes appends', (t) => {
  const dir = tmpDir(t);
  const s = LogStore.open({ dataDir: dir, segmentBytesMax: 400 });
  appendBatches(s, entries(1, 20, 1), 5);
  s.sync();
  s.append(entries(1, 1, 2));
  s.sync();
  t.equal(s.lastIndex(), 1);
  t.equal(s.segmentCount(), 1);
  s.close();
  t.same(plain(readLog(dir)), plain(entries(1, 1, 2)));
  t.end();
});

t.test('append asserts contiguity, position and term order', (t) => {
  const dir = tmpDir(t);
  const s = LogStore.open({ dataDir: dir, segmentBytesMax: 1000 });
  s.append(entries(1, 5, 2));
  t.throws(() => s.append(entries(7, 1, 2)), { code: 'RAFTD_ASSERT' }, 'gap after the last index');
  const s2dir = tmpDir(t);
  const s2 = LogStore.open({ dataDir: s2dir, segmentBytesMax: 1000 });
  t.throws(() => s2.append([...entries(1, 2, 1), ...entries(4, 1, 1)]), { code: 'RAFTD_ASSERT' }, 'batch not contiguous');
  const s3 = LogStore.open({ dataDir: tmpDir(t), segmentBytesMax: 1000 });
  t.throws(() => s3.append([...entries(1, 1, 2), ...entries(2, 1, 1)]), { code: 'RAFTD_ASSERT' }, 'term goes backwards in a batch');
  const s4 = LogStore.open({ dataDir: tmpDir(t), segmentBytesMax: 1000 });
  s4.append(entries(1, 3, 2));
  t.throws(() => s4.append(entries(4, 1, 1)), { code: 'RAFTD_ASSERT' }, 'term below the stored previous entry');
  t.throws(() => s4.append(entries(3, 1, 1)), { code: 'RAFTD_ASSERT' }, 'checked before truncating');
  t.equal(s4.lastIndex(), 3, 'nothing dropped by a rejected append');
  for (const x of [s, s2, s3, s4]) x.close();
  t.end();
});

t.test('a failed fdatasync throws RAFTD_FSYNC_FAILED and the store refuses further use', (t) => {
  const dir = tmpDir(t);
  const s = LogStore.open({ dataDir: dir, segmentBytesMax: 1000 });
  s.append(entries(1, 3, 1));
  const real = fs.fdatasyncSync;
  fs.fdatasyncSync = () => {
    throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
  };
  syncBuiltinESMExports();
  try {
    t.throws(() => s.sync(), { code: 'RAFTD_FSYNC_FAILED', message: /fdatasync .*\.seg: EIO/ });
  } finally {
    fs.fdatasyncSync = real;
    syncBuiltinESMExports();
  }
  t.throws(() => s.sync(), { code: 'RAFTD_ASSERT' }, 'never retried');
  t.throws(() => s.append(entries(4, 1, 1)), { code: 'RAFTD_ASSERT' });
  s.close();
  t.end();
});
