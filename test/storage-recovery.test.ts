// Opening a damaged log: a torn tail of the last segment is cut off and reported,
// any other damage stops the node with RAFTD_LOG_CORRUPT naming file and offset, and
// arbitrary bytes never fail with anything but a RaftdError.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Entry } from '../lib/raft/types.js';
import { LogStore, type StorageLog } from '../lib/storage/log-store.js';
import { readLog } from '../lib/storage/read-log.js';
import { checkRecord, encodeEntries } from '../lib/storage/record.js';
import { listSegments, logDirOf, segmentName } from '../lib/storage/segment-files.js';
import { RaftdError } from '../lib/util/errors.js';

function tmpDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftd-recovery-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function entries(from: number, count: number, term: number, dataBytes = 40): Entry[] {
  return Array.from({ length: count }, (_, k) => ({
    index: from + k,
    term,
    kind: 'normal' as const,
    tid: `t${from + k}`,
    data: Buffer.from(`entry ${from + k}`.padEnd(dataBytes, '.')),
  }));
}

function plain(es: Iterable<Entry>): object[] {
  return [...es].map((e) => ({ index: e.index, term: e.term, kind: e.kind, tid: e.tid, data: Buffer.from(e.data).toString('hex') }));
}

/** A log of `count` entries in segments of about segmentBytesMax, closed. */
function makeLog(dir: string, count: number, segmentBytesMax: number): Entry[] {
  const es = entries(1, count, 1);
  const s = LogStore.open({ dataDir: dir, segmentBytesMax });
  for (let i = 0; i < es.length; i += 4) s.append(es.slice(i, i + 4));
  s.sync();
  s.close();
  return es;
}

function recordOffsets(file: string): number[] {
  const buf = fs.readFileSync(file);
  const offsets: number[] = [];
  for (let p = 0; p < buf.length; ) {
    const c = checkRecord(buf, p);
    if (!c.ok) throw new Error(`test setup: bad record at ${p}`);
    offsets.push(p);
    p = c.meta.end;
  }
  return offsets;
}

function flipByte(file: string, offset: number): void {
  const fd = fs.openSync(file, 'r+');
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, offset);
  b[0] = b[0]! ^ 0x5a;
  fs.writeSync(fd, b, 0, 1, offset);
  fs.closeSync(fd);
}

function memLog(): StorageLog & { warns: Record<string, unknown>[] } {
  const warns: Record<string, unknown>[] = [];
  return { warns, info: () => undefined, warn: (_e, f) => warns.push(f ?? {}) };
}

function openError(dir: string): unknown {
  try {
    LogStore.open({ dataDir: dir, segmentBytesMax: 1000 }).close();
  } catch (err) {
    return err;
  }
  return null;
}

for (const [name, cut] of [
  ['cut in the middle of the last record', (start: number, end: number) => start + Math.floor((end - start) / 2)],
  ['cut inside the last record header', (start: number) => start + 3],
] as const) {
  t.test(`torn tail: ${name}`, (t) => {
    const dir = tmpDir(t);
    const es = makeLog(dir, 30, 1000);
    const last = listSegments(logDirOf(dir)).at(-1)!;
    const offsets = recordOffsets(last.path);
    const start = offsets.at(-1)!;
    const size = fs.statSync(last.path).size;
    fs.truncateSync(last.path, cut(start, size));
    const sizeTorn = fs.statSync(last.path).size;

    const notes: string[] = [];
    t.same(plain(readLog(dir, { onNote: (n) => notes.push(n) })), plain(es.slice(0, 29)), 'reader stops before the torn record');
    t.match(notes, [new RegExp(`torn tail in .*${path.basename(last.path)} at byte offset ${start}`)]);
    t.equal(fs.statSync(last.path).size, sizeTorn, 'reader repaired nothing');

    const log = memLog();
    const s = LogStore.open({ dataDir: dir, segmentBytesMax: 1000, log });
    t.match(s.repairedTail, { file: last.path, offset: start, bytesDropped: sizeTorn - start });
    t.match(log.warns, [{ file: last.path, offset: start, bytesDropped: sizeTorn - start }]);
    t.equal(s.lastIndex(), 29);
    t.equal(fs.statSync(last.path).size, start, 'file cut at the torn record');
    s.append(entries(30, 5, 2));
    s.sync();
    s.close();
    const s2 = LogStore.open({ dataDir: dir, segmentBytesMax: 1000 });
    t.equal(s2.repairedTail, null, 'clean on the next open');
    t.same(plain(s2.entries()), plain([...es.slice(0, 29), ...entries(30, 5, 2)]));
    s2.close();
    t.end();
  });
}

/** Replaces the last record of the last segment, and all after it, with `tail`. */
function replaceLastRecord(dir: string, tail: Buffer): { last: { path: string }; start: number } {
  const last = listSegments(logDirOf(dir)).at(-1)!;
  const start = recordOffsets(last.path).at(-1)!;
  fs.writeFileSync(last.path, Buffer.concat([fs.readFileSync(last.path).subarray(0, start), tail]));
  return { last, start };
}

// The log store writes zeros ahead of its records (preallocation), so zeros to the end of
// the last segment are room, not damage: an unsynced record the file system left
// zero-filled after power loss is dropped the same way, without a repair or a warning.
t.test('zeros after the last record are room for appends, not a torn tail', (t) => {
  const dir = tmpDir(t);
  const es = makeLog(dir, 30, 1000);
  const { last, start } = replaceLastRecord(dir, Buffer.alloc(4096));
  const notes: string[] = [];
  t.same(plain(readLog(dir, { onNote: (n) => notes.push(n) })), plain(es.slice(0, 29)), 'reader stops at the zeros');
  t.same(notes, [], 'and reports nothing');
  const log = memLog();
  const s = LogStore.open({ dataDir: dir, segmentBytesMax: 1000, log });
  t.equal(s.repairedTail, null);
  t.same(log.warns, []);
  t.equal(s.lastIndex(), 29);
  t.equal(fs.statSync(last.path).size, start + 4096, 'the zeros stay as room');
  s.append(entries(30, 5, 2));
  s.sync();
  s.close();
  const s2 = LogStore.open({ dataDir: dir, segmentBytesMax: 1000 });
  t.equal(s2.repairedTail, null);
  t.same(plain(s2.entries()), plain([...es.slice(0, 29), ...entries(30, 5, 2)]), 'appends land after the records, in the room');
  s2.close();
  t.end();
});

t.test('zeros followed by anything else in the last segment are a torn tail', (t) => {
  const dir = tmpDir(t);
  makeLog(dir, 30, 1000);
  const tail = Buffer.alloc(4096);
  tail[4000] = 7;
  const { last, start } = replaceLastRecord(dir, tail);
  const s = LogStore.open({ dataDir: dir, segmentBytesMax: 1000 });
  t.match(s.repairedTail, { offset: start, bytesDropped: 4096 });
  t.equal(fs.statSync(last.path).size, start, 'cut at the torn record');
  s.close();
  t.end();
});

t.test('a bad last record whose claimed end is end of file is a torn tail', (t) => {
  const dir = tmpDir(t);
  makeLog(dir, 30, 1000);
  const last = listSegments(logDirOf(dir)).at(-1)!;
  const start = recordOffsets(last.path).at(-1)!;
  flipByte(last.path, fs.statSync(last.path).size - 2);
  const s = LogStore.open({ dataDir: dir, segmentBytesMax: 1000 });
  t.match(s.repairedTail, { offset: start, problem: /crc mismatch/ });
  t.equal(s.lastIndex(), 29);
  s.close();
  t.end();
});

t.test('a torn tail that empties the last segment', (t) => {
  const dir = tmpDir(t);
  makeLog(dir, 30, 1000);
  const last = listSegments(logDirOf(dir)).at(-1)!;
  fs.truncateSync(last.path, 5);
  const s = LogStore.open({ dataDir: dir, segmentBytesMax: 1000 });
  t.equal(s.lastIndex(), last.firstIndex - 1);
  s.append(entries(last.firstIndex, 3, 1));
  s.sync();
  s.close();
  t.same(
    [...readLog(dir)].map((e) => e.index),
    Array.from({ length: last.firstIndex + 2 }, (_, i) => i + 1),
  );
  t.end();
});

t.test('a flipped byte in a middle record of the last segment is corruption', (t) => {
  const dir = tmpDir(t);
  makeLog(dir, 30, 100_000);
  const last = listSegments(logDirOf(dir)).at(-1)!;
  const offsets = recordOffsets(last.path);
  t.ok(offsets.length >= 3, 'last segment has a middle record');
  const victim = offsets[1]!;
  flipByte(last.path, victim + 20);
  const size = fs.statSync(last.path).size;
  const err = openError(dir);
  t.type(err, RaftdError);
  t.match(err, { code: 'RAFTD_LOG_CORRUPT', message: `${last.path} at byte offset ${victim}` });
  t.match(err, { message: /crc mismatch.*valid record follows/ });
  t.equal(fs.statSync(last.path).size, size, 'nothing cut');
  t.throws(() => [...readLog(dir)], { code: 'RAFTD_LOG_CORRUPT' }, 'the reader agrees');
  t.end();
});

t.test('a middle record whose length field points past end of file is corruption, not a torn tail', (t) => {
  const dir = tmpDir(t);
  makeLog(dir, 30, 100_000);
  const last = listSegments(logDirOf(dir)).at(-1)!;
  const victim = recordOffsets(last.path)[1]!;
  const buf = fs.readFileSync(last.path);
  buf.writeUInt32LE(100_000, victim);
  fs.writeFileSync(last.path, buf);
  t.match(openError(dir), { code: 'RAFTD_LOG_CORRUPT', message: `${last.path} at byte offset ${victim}` });
  t.end();
});

t.test('a flipped byte in a segment that is not the last is corruption', (t) => {
  const dir = tmpDir(t);
  makeLog(dir, 60, 1000);
  const files = listSegments(logDirOf(dir));
  t.ok(files.length >= 3);
  const seg = files[1]!;
  const offsets = recordOffsets(seg.path);
  // Its last record: at the end of its file, but other segments follow.
  const victim = offsets.at(-1)!;
  flipByte(seg.path, fs.statSync(seg.path).size - 1);
  t.match(openError(dir), {
    code: 'RAFTD_LOG_CORRUPT',
    message: `${seg.path} at byte offset ${victim}: bad record for index ${seg.firstIndex + offsets.length - 1}`,
  });
  // A cut (not a flip) in a non-last segment too.
  fs.truncateSync(seg.path, victim + 10);
  t.match(openError(dir), { code: 'RAFTD_LOG_CORRUPT', message: /not the last/ });
  t.end();
});

t.test('a missing segment (gap) is corruption', (t) => {
  const dir = tmpDir(t);
  makeLog(dir, 60, 1000);
  const files = listSegments(logDirOf(dir));
  fs.unlinkSync(files[1]!.path);
  t.match(openError(dir), {
    code: 'RAFTD_LOG_CORRUPT',
    message: `${files[2]!.path} at byte offset 0: segment is named for index ${files[2]!.firstIndex}`,
  });
  t.end();
});

t.test('records out of sequence are corruption even at the tail', (t) => {
  const dir = tmpDir(t);
  fs.mkdirSync(logDirOf(dir), { recursive: true });
  const file = path.join(logDirOf(dir), segmentName(1));
  // Valid CRCs, but index 3 follows 1.
  fs.writeFileSync(file, Buffer.concat([encodeEntries(entries(1, 1, 1)).buf, encodeEntries(entries(3, 1, 1)).buf]));
  t.match(openError(dir), { code: 'RAFTD_LOG_CORRUPT', message: /byte offset \d+: record holds index 3 where 2 was expected/ });
  // Term going backwards.
  fs.writeFileSync(file, Buffer.concat([encodeEntries(entries(1, 2, 5)).buf, encodeEntries(entries(3, 1, 4)).buf]));
  t.match(openError(dir), { code: 'RAFTD_LOG_CORRUPT', message: /index 3 has term 4 below the previous entry's 5/ });
  // A file whose name does not match its first record.
  fs.rmSync(file);
  fs.writeFileSync(path.join(logDirOf(dir), segmentName(7)), encodeEntries(entries(1, 2, 1)).buf);
  t.match(openError(dir), { code: 'RAFTD_LOG_CORRUPT', message: /record holds index 1 where 7 was expected/ });
  t.end();
});

/** xorshift32: tests replay from their seed. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

t.test('garbage and damaged segments never fail with anything but RaftdError', (t) => {
  const seed = 0x5eed;
  const rnd = prng(seed);
  const base = tmpDir(t);
  const good = path.join(base, 'good');
  makeLog(good, 40, 700);
  const goodFiles = listSegments(logDirOf(good)).map((f) => ({ name: path.basename(f.path), bytes: fs.readFileSync(f.path) }));
  const outcomes = { opened: 0, repaired: 0, corrupt: 0 };
  for (let round = 0; round < 300; round++) {
    const dir = path.join(base, `r${round}`);
    fs.mkdirSync(logDirOf(dir), { recursive: true });
    const mode = round % 3;
    if (mode === 0) {
      // Pure garbage, sometimes with a plausible header.
      const n = Math.floor(rnd() * 300);
      const buf = Buffer.alloc(n);
      for (let i = 0; i < n; i++) buf[i] = Math.floor(rnd() * 256);
      if (n >= 8 && rnd() < 0.5) buf.writeUInt32LE(Math.floor(rnd() * n), 0);
      fs.writeFileSync(path.join(logDirOf(dir), segmentName(1 + Math.floor(rnd() * 3))), buf);
    } else {
      // The good log with a few flipped bytes, a cut, or appended junk.
      for (const f of goodFiles) {
        const buf = Buffer.from(f.bytes);
        if (rnd() < 0.5) {
          const flips = 1 + Math.floor(rnd() * 3);
          for (let i = 0; i < flips && buf.length > 0; i++) buf[Math.floor(rnd() * buf.length)] ^= 1 << Math.floor(rnd() * 8);
        }
        const cut = mode === 2 && rnd() < 0.3 ? Math.floor(rnd() * buf.length) : buf.length;
        fs.writeFileSync(path.join(logDirOf(dir), f.name), buf.subarray(0, cut));
      }
    }
    try {
      const readable = [...readLog(dir)].length;
      const s = LogStore.open({ dataDir: dir, segmentBytesMax: 700 });
      outcomes.opened++;
      if (s.repairedTail) outcomes.repaired++;
      t.equal(s.lastIndex() - s.firstIndex() + 1, readable, `round ${round}: reader and store agree`);
      [...s.entries()];
      s.close();
    } catch (err) {
      if (!(err instanceof RaftdError)) {
        t.fail(`seed ${seed} round ${round}: ${(err as Error).stack}`);
        continue;
      }
      outcomes.corrupt++;
    }
  }
  t.ok(outcomes.corrupt > 0 && outcomes.opened > 0, `outcomes ${JSON.stringify(outcomes)}`);
  t.end();
});
