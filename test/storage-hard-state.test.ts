// The hard state file: missing means {term 0, vote null}; a save is read back whole;
// a damaged file is RAFTD_HARDSTATE_CORRUPT naming it; a leftover temp file is ignored.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeHardState, hardStatePath, loadHardState, saveHardState } from '../lib/storage/hard-state.js';

function tmpDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftd-hardstate-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('missing hard state is term 0, no vote', (t) => {
  t.same(loadHardState(tmpDir(t)), { term: 0, vote: null });
  t.end();
});

t.test('save and load round trip, replacing the previous state', (t) => {
  const dir = tmpDir(t);
  for (const hs of [
    { term: 1, vote: 'n1' },
    { term: 2, vote: null },
    { term: 2 ** 40 + 3, vote: 'nœud-5' },
    { term: 7, vote: '' },
  ]) {
    saveHardState(dir, hs);
    t.same(loadHardState(dir), hs);
  }
  t.same(fs.readdirSync(dir), ['hardstate'], 'no temp file left behind');
  t.end();
});

t.test('a leftover temp file (crash before rename) is ignored and replaced', (t) => {
  const dir = tmpDir(t);
  saveHardState(dir, { term: 3, vote: 'n2' });
  fs.writeFileSync(hardStatePath(dir) + '.tmp', 'half a write');
  t.same(loadHardState(dir), { term: 3, vote: 'n2' });
  saveHardState(dir, { term: 4, vote: 'n3' });
  t.same(loadHardState(dir), { term: 4, vote: 'n3' });
  t.end();
});

t.test('damaged hard state is RAFTD_HARDSTATE_CORRUPT naming the file', (t) => {
  const dir = tmpDir(t);
  const file = hardStatePath(dir);
  const good = encodeHardState({ term: 9, vote: 'n4' });
  const damaged: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['cut short', good.subarray(0, good.length - 1)],
    ['extra byte', Buffer.concat([good, Buffer.from([0])])],
    ['zeros', Buffer.alloc(good.length)],
  ];
  for (let i = 0; i < good.length; i++) {
    const b = Buffer.from(good);
    b[i] = b[i]! ^ 0x01;
    damaged.push([`bit flipped in byte ${i}`, b]);
  }
  for (const [what, bytes] of damaged) {
    fs.writeFileSync(file, bytes);
    t.throws(() => loadHardState(dir), { code: 'RAFTD_HARDSTATE_CORRUPT', message: new RegExp(`^${file}: `) }, what);
  }
  t.end();
});
