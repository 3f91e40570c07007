// dumpLog: hard state line, one line per entry with text or base64 data, a note for a
// torn tail, and nothing on disk changed.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { dumpLog } from '../lib/cli/dump-log.js';
import { saveHardState } from '../lib/storage/hard-state.js';
import { LogStore } from '../lib/storage/log-store.js';
import { listSegments, logDirOf } from '../lib/storage/segment-files.js';

function tmpDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftd-dump-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function snapshot(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const st = fs.statSync(path.join(dir, name));
    if (st.isFile()) out[name] = st.size;
  }
  return out;
}

t.test('dumps hard state and entries, text or base64', (t) => {
  const dir = tmpDir(t);
  saveHardState(dir, { term: 3, vote: 'n2' });
  const s = LogStore.open({ dataDir: dir, segmentBytesMax: 120 });
  s.append([
    { index: 1, term: 1, kind: 'noop', tid: '', data: new Uint8Array(0) },
    { index: 2, term: 2, kind: 'normal', tid: 'c1-1', data: Buffer.from('set x 1') },
    { index: 3, term: 2, kind: 'normal', tid: 'c1-2', data: Buffer.from('héllo wörld') },
    { index: 4, term: 3, kind: 'normal', tid: 'c1-3', data: Uint8Array.from([0xff, 0x00, 0x01]) },
    { index: 5, term: 3, kind: 'normal', tid: 'c1-4', data: Buffer.from('tab\there') },
    { index: 6, term: 3, kind: 'normal', tid: 'c1-5', data: Buffer.from('base64:looks encoded') },
  ]);
  s.sync();
  s.close();
  const lines: string[] = [];
  const n = dumpLog(dir, (l) => lines.push(l));
  t.equal(n, 6);
  t.same(lines, [
    '# term 3 vote n2',
    '1\t1\tnoop\t\t',
    '2\t2\tnormal\tc1-1\tset x 1',
    '3\t2\tnormal\tc1-2\théllo wörld',
    '4\t3\tnormal\tc1-3\tbase64:' + Buffer.from([0xff, 0x00, 0x01]).toString('base64'),
    '5\t3\tnormal\tc1-4\tbase64:' + Buffer.from('tab\there').toString('base64'),
    '6\t3\tnormal\tc1-5\tbase64:' + Buffer.from('base64:looks encoded').toString('base64'),
  ]);
  t.end();
});

t.test('a fresh data directory: no vote, no entries', (t) => {
  const lines: string[] = [];
  t.equal(
    dumpLog(tmpDir(t), (l) => lines.push(l)),
    0,
  );
  t.same(lines, ['# term 0 vote -']);
  t.throws(() => dumpLog(path.join(os.tmpdir(), 'raftd-no-such-dir-x'), () => undefined), { code: 'RAFTD_IO' });
  t.end();
});

t.test('a torn tail is a note, and nothing is repaired', (t) => {
  const dir = tmpDir(t);
  const s = LogStore.open({ dataDir: dir, segmentBytesMax: 1 << 20 });
  s.append([1, 2, 3].map((i) => ({ index: i, term: 1, kind: 'normal' as const, tid: '', data: Buffer.from(`v${i}`) })));
  s.sync();
  s.close();
  const seg = listSegments(logDirOf(dir))[0]!;
  fs.truncateSync(seg.path, fs.statSync(seg.path).size - 1);
  const before = snapshot(dir);
  const lines: string[] = [];
  t.equal(
    dumpLog(dir, (l) => lines.push(l)),
    2,
  );
  t.match(lines.at(-1), /^# note: torn tail in .*\.seg at byte offset \d+: /);
  t.same(snapshot(dir), before, 'files untouched');
  t.end();
});
