// The log writer actor on a real worker thread: back-to-back writes are covered by
// fewer syncs than writes, `written` acknowledges every seq in order, and a new actor
// on the same directory loads exactly what was written (entries and hard state).
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Entry, HardState } from '../lib/raft/types.js';
import { LogStore } from '../lib/storage/log-store.js';
import { listSegments, logDirOf } from '../lib/storage/segment-files.js';
import { entries, load, plain, startWriter, tmpDir } from './helpers/log-writer.js';

t.test('back-to-back writes: coalesced syncs, ordered acks, exact reload', async (t) => {
  const dir = tmpDir(t);
  const w = startWriter(dir);
  const first = await load(w);
  t.same(first.entries, []);
  t.match(first.loaded, { hardState: { term: 0, vote: null }, firstIndex: 1, lastIndex: 0, repairedTail: false });

  const writes = 400;
  const perWrite = 10;
  let hs: HardState = { term: 1, vote: 'n1' };
  const all: Entry[] = [];
  for (let seq = 1; seq <= writes; seq++) {
    const term = 1 + Math.floor(seq / 100);
    const es = entries(all.length + 1, perWrite, term);
    all.push(...es);
    const newTerm = term !== hs.term;
    if (newTerm) hs = { term, vote: seq % 2 ? 'n2' : null };
    w.handle.post({ type: 'write', seq, hardState: newTerm || seq === 1 ? hs : null, entries: es });
  }
  await w.until((m) => m.type === 'written' && m.seq === writes);
  t.same(w.fatal, []);
  const acks = w.out.flatMap((m) => (m.type === 'written' ? [m.seq] : []));
  t.ok(acks.every((s, i) => i === 0 || s > acks[i - 1]!), 'written seqs strictly increase');
  t.equal(acks.at(-1), writes, 'the last write is acknowledged');
  t.ok(acks.length < writes, `${acks.length} syncs for ${writes} writes`);
  t.comment(`${writes} writes covered by ${acks.length} syncs`);
  t.ok(listSegments(logDirOf(dir)).length > 1, 'rolled over segments');

  // A truncating write: replace the last 25 entries with 5 of a new term.
  const from = all.length - 24;
  hs = { term: 9, vote: 'n3' };
  w.handle.post({ type: 'write', seq: writes + 1, hardState: hs, entries: entries(from, 5, 9) });
  all.splice(from - 1, all.length, ...entries(from, 5, 9));
  await w.until((m) => m.type === 'written' && m.seq === writes + 1);
  await w.handle.stop({ type: 'stop' }, 5000);
  t.same(w.fatal, []);

  const logText = fs.readFileSync(path.join(dir, 'logs', 'log-writer.log'), 'utf8');
  const events = logText.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.ok(events.some((e) => e.event === 'opened' && e.level === 'info'));
  t.ok(events.some((e) => e.event === 'segment rolled' && e.level === 'info'));
  t.match(
    events.find((e) => e.event === 'truncated'),
    { level: 'info', fromIndex: from, entriesDropped: 25 },
  );
  const batches = events.filter((e) => e.event === 'batch');
  t.equal(batches.length, acks.length + 1, 'one debug line per sync');
  t.match(events.find((e) => e.event === 'stopped'), { writes: writes + 1, syncs: acks.length + 1 });

  const w2 = startWriter(dir, { loadChunkEntriesMax: 64 });
  const second = await load(w2);
  t.same(plain(second.entries), plain(all), 'reload returns exactly the entries written');
  t.same(second.loaded.hardState, hs, 'and the hard state');
  t.match(second.loaded, { firstIndex: 1, lastIndex: all.length, repairedTail: false });
  t.ok(second.chunks.every((n) => n <= 64), 'chunks within loadChunkEntriesMax');
  t.equal(second.chunks.length, Math.ceil(all.length / 64));
  await w2.handle.stop({ type: 'stop' }, 5000);
  t.same(w2.fatal, []);
});

t.test('a corrupt log stops the actor at startup with RAFTD_LOG_CORRUPT', async (t) => {
  const dir = tmpDir(t);
  const s = LogStore.open({ dataDir: dir, segmentBytesMax: 1 << 20 });
  s.append(entries(1, 10, 1));
  s.sync();
  s.close();
  const seg = listSegments(logDirOf(dir))[0]!;
  const buf = fs.readFileSync(seg.path);
  buf[30] = buf[30]! ^ 0xff; // inside the first record, with nine valid ones after it
  fs.writeFileSync(seg.path, buf);
  const w = startWriter(dir);
  await t.rejects(w.handle.ready, { code: 'RAFTD_LOG_CORRUPT', message: new RegExp(`${seg.path} at byte offset 0`) });
  t.match(w.fatal, [{ code: 'RAFTD_LOG_CORRUPT' }]);
  await w.handle.terminate();
});

t.test('a protocol violation is fatal and nothing after it is written', async (t) => {
  const dir = tmpDir(t);
  const w = startWriter(dir);
  await load(w);
  w.handle.post({ type: 'write', seq: 5, hardState: null, entries: entries(1, 3, 1) });
  await w.until((m) => m.type === 'written' && m.seq === 5);
  // Index 10 leaves a gap after 3.
  w.handle.post({ type: 'write', seq: 6, hardState: null, entries: entries(10, 1, 1) });
  w.handle.post({ type: 'write', seq: 7, hardState: null, entries: entries(4, 1, 1) });
  await w.until(() => false).catch(() => undefined);
  t.match(w.fatal, [{ code: 'RAFTD_IO', message: /append from index 10/ }]);
  t.notOk(w.out.some((m) => m.type === 'written' && m.seq >= 6), 'nothing acknowledged after the failure');
  await w.handle.terminate();
  const s = LogStore.open({ dataDir: dir, segmentBytesMax: 1 << 20 });
  t.equal(s.lastIndex(), 3);
  s.close();
});
