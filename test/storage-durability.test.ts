// Recovery must not trust the page cache: after a process crash, bytes that were written
// but never synced are still visible, so opening the log makes them durable (every
// segment fdatasynced, the log directory, data directory and its parent fsynced) before
// it reports anything loaded. The same for the hard state's rename. A failing fsync is
// fail-stop: a coded error, the store refuses further use, nothing retries it.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Entry } from '../lib/raft/types.js';
import { probeSyncs, type SyncKind } from '../lib/storage/durable-fs.js';
import { recoverHardState, saveHardState, hardStatePath } from '../lib/storage/hard-state.js';
import { LogStore } from '../lib/storage/log-store.js';
import { listSegments, logDirOf } from '../lib/storage/segment-files.js';

function tmpDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftd-durable-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function entries(from: number, count: number, term: number): Entry[] {
  return Array.from({ length: count }, (_, k) => ({
    index: from + k,
    term,
    kind: 'normal' as const,
    tid: `t${from + k}`,
    data: Buffer.from(`entry ${from + k}`.padEnd(60, '.')),
  }));
}

type Event = [SyncKind | 'opened', string];

/** Records every sync (and the store's `opened` line) in order while fn runs. */
function recording<T>(t: { teardown(fn: () => void): void }, fn: (events: Event[]) => T): { events: Event[]; result: T } {
  const events: Event[] = [];
  const remove = probeSyncs((kind, file) => events.push([kind, file]));
  t.teardown(remove);
  try {
    return { events, result: fn(events) };
  } finally {
    remove();
  }
}

const openedLog = (events: Event[]) => ({
  info(event: string) {
    if (event === 'opened') events.push(['opened', '']);
  },
  warn() {},
});

t.test('open makes unsynced appends durable before it reports the log', async (t) => {
  const dataDir = path.join(tmpDir(t), 'node', 'n1');
  fs.mkdirSync(dataDir, { recursive: true });
  const s = LogStore.open({ dataDir, segmentBytesMax: 1000 });
  s.append(entries(1, 40, 1));
  s.sync();
  s.append(entries(41, 5, 1)); // written, never synced: the crash comes now
  s.close();
  const segs = listSegments(logDirOf(dataDir));
  t.ok(segs.length > 2, `${segs.length} segments`);
  const { events, result: store } = recording(t, (ev) => LogStore.open({ dataDir, segmentBytesMax: 1000, log: openedLog(ev) }));
  t.teardown(() => store.close());
  t.equal(store.lastIndex(), 45);
  const opened = events.findIndex(([k]) => k === 'opened');
  t.ok(opened > 0, 'opened reported');
  const before = events.slice(0, opened);
  for (const seg of segs) t.ok(before.some(([k, f]) => k === 'fdatasync' && f === seg.path), `${path.basename(seg.path)} fdatasynced before opened`);
  const logDir = logDirOf(dataDir);
  const synced = before.filter(([k]) => k === 'fsyncDir').map(([, f]) => f);
  t.ok(synced.includes(logDir), 'log directory fsynced before opened');
  t.ok(synced.includes(dataDir), 'data directory fsynced before opened');
  t.ok(synced.includes(path.dirname(dataDir)), "data directory's parent fsynced before opened");
  const lastDataSync = before.map(([k]) => k).lastIndexOf('fdatasync');
  t.ok(before.findIndex(([k, f]) => k === 'fsyncDir' && f === logDir) > lastDataSync, 'directory synced after the segments');
});

t.test('first start: the new log directory and the data directory it lives in are made durable', async (t) => {
  const root = tmpDir(t);
  const dataDir = path.join(root, 'fresh');
  const { events, result: store } = recording(t, (ev) => LogStore.open({ dataDir, segmentBytesMax: 1000, log: openedLog(ev) }));
  store.close();
  t.ok(fs.existsSync(logDirOf(dataDir)));
  t.same(
    events.filter(([k]) => k === 'fsyncDir').map(([, f]) => f),
    [logDirOf(dataDir), dataDir, root],
  );
  t.equal(events.at(-1)![0], 'opened');
});

t.test('hard state: fsync of the temp file, rename, directory fsync; recovery syncs again', async (t) => {
  const dataDir = tmpDir(t);
  const saved = recording(t, () => saveHardState(dataDir, { term: 7, vote: 'n2' }));
  t.same(saved.events, [
    ['fsync', hardStatePath(dataDir) + '.tmp'],
    ['fsyncDir', dataDir],
  ]);
  const recovered = recording(t, () => recoverHardState(dataDir));
  t.same(recovered.result, { term: 7, vote: 'n2' });
  t.same(recovered.events, [
    ['fdatasync', hardStatePath(dataDir)],
    ['fsyncDir', dataDir],
  ]);
});

t.test('segment creation and deletion are followed by a directory fsync', async (t) => {
  const dataDir = tmpDir(t);
  const logDir = logDirOf(dataDir);
  const s = LogStore.open({ dataDir, segmentBytesMax: 1000 });
  t.teardown(() => s.close());
  const appended = recording(t, () => {
    s.append(entries(1, 40, 1));
    return s.sync();
  });
  t.same(appended.events.at(-1), ['fsyncDir', logDir], 'new segments: directory fsynced in sync()');
  const truncated = recording(t, () => s.append(entries(3, 1, 2)));
  t.same(truncated.events.at(-1), ['fsyncDir', logDir], 'segments deleted by a truncation: directory fsynced');
  s.append(entries(4, 40, 2));
  s.sync();
  const compacted = recording(t, () => s.compact(30));
  t.ok(compacted.result.segmentsDeleted > 0);
  t.same(compacted.events, [['fsyncDir', logDir]], 'compaction: one directory fsync after the deletes');
});

t.test('a failing fsync stops the store: coded error, no retry, no further use', async (t) => {
  const dataDir = tmpDir(t);
  const s = LogStore.open({ dataDir, segmentBytesMax: 1 << 20 });
  t.teardown(() => s.close());
  s.append(entries(1, 3, 1));
  s.sync();
  s.append(entries(4, 3, 1));
  let attempts = 0;
  const remove = probeSyncs((kind) => {
    if (kind !== 'fdatasync') return;
    attempts++;
    throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
  });
  t.teardown(remove);
  t.throws(() => s.sync(), { code: 'RAFTD_FSYNC_FAILED', message: /fdatasync .*EIO/ });
  remove();
  t.throws(() => s.sync(), { code: 'RAFTD_ASSERT', message: /failed earlier/ }, 'a second sync is refused, not retried');
  t.throws(() => s.append(entries(7, 1, 1)), { message: /failed earlier/ });
  t.equal(attempts, 1);
});

t.test('ENOSPC from an fsync is reported as a full disk', async (t) => {
  const dataDir = tmpDir(t);
  const s = LogStore.open({ dataDir, segmentBytesMax: 1 << 20 });
  t.teardown(() => s.close());
  s.append(entries(1, 3, 1));
  const remove = probeSyncs(() => {
    throw Object.assign(new Error('ENOSPC: no space left on device, fdatasync'), { code: 'ENOSPC' });
  });
  t.teardown(remove);
  t.throws(() => s.sync(), { code: 'RAFTD_DISK_FULL', message: /no space left/ });
});
