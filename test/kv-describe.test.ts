// describeEntry and the log dump: commands as redis-cli would echo them, ADDENTRY's data
// as the dump always printed it.
import t from 'tap';
import { encodeWrite } from '../lib/kv/entry-codec.js';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { dumpLog } from '../lib/cli/dump-log.js';
import { encodeCommand } from '../lib/kv/command-codec.js';
import { describeEntry } from '../lib/kv/describe.js';
import type { Entry } from '../lib/raft/types.js';
import { LogStore } from '../lib/storage/log-store.js';

const cmd = (...args: (string | Buffer)[]): Uint8Array => encodeCommand(args.map((a) => (typeof a === 'string' ? Buffer.from(a, 'latin1') : a)));
const normal = (data: Uint8Array, index = 1): Entry => ({ index, term: 1, kind: 'normal', tid: '', data });

t.test('commands', (t) => {
  t.equal(describeEntry(normal(cmd('set', 'k', 'v'))), 'SET k v');
  t.equal(describeEntry(normal(cmd('set', 'k', 'a\x00b'))), 'SET k "a\\x00b"');
  t.equal(describeEntry(normal(cmd('set', 'k', 'hello world'))), 'SET k "hello world"');
  t.equal(describeEntry(normal(cmd('set', 'k', ''))), 'SET k ""');
  t.equal(describeEntry(normal(cmd('set', 'q"\\\'', 'x'))), 'SET "q\\"\\\\\'" x');
  t.equal(describeEntry(normal(cmd('set', 'k', '\t\r\n\x07\x08\x7f\xff'))), 'SET k "\\t\\r\\n\\a\\b\\x7f\\xff"');
  t.equal(describeEntry(normal(cmd('set', 'k', Buffer.from('é', 'utf8')))), 'SET k "\\xc3\\xa9"');
  t.equal(describeEntry(normal(cmd('mset', 'a', '1', 'b', '2'))), 'MSET a 1 b 2');
  t.equal(describeEntry(normal(cmd('incrby', 'n', '-5'))), 'INCRBY n -5');
  t.equal(describeEntry(normal(cmd('flushdb'))), 'FLUSHDB');
  t.equal(describeEntry(normal(cmd('fr ob', 'x'))), '"fr ob" x', 'an odd name is quoted too');
  t.end();
});

t.test('ADDENTRY data, noops and data that is no command', (t) => {
  t.equal(describeEntry(normal(cmd('addentry', 'hello'))), 'hello');
  t.equal(describeEntry(normal(cmd('addentry', 'set x 1'))), 'set x 1');
  t.equal(describeEntry(normal(cmd('addentry', Buffer.from('héllo', 'utf8')))), 'héllo');
  t.equal(describeEntry(normal(cmd('addentry', Buffer.from([0xff, 0, 1])))), 'base64:' + Buffer.from([0xff, 0, 1]).toString('base64'));
  t.equal(describeEntry(normal(cmd('addentry', 'tab\there'))), 'base64:' + Buffer.from('tab\there').toString('base64'));
  t.equal(describeEntry(normal(cmd('addentry', ''))), '');
  t.equal(describeEntry(normal(cmd('addentry', 'a', 'b'))), 'ADDENTRY a b', 'not the original shape: a command line');
  t.equal(describeEntry({ index: 1, term: 1, kind: 'noop', tid: '', data: new Uint8Array(0) }), '');
  t.equal(describeEntry(normal(Buffer.from('set x 1'))), 'set x 1', 'raw data from before the key-value store');
  t.equal(describeEntry(normal(Uint8Array.from([0xc1]))), 'base64:wQ==');
  t.end();
});

t.test('dumpLog prints commands', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftd-kv-dump-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const s = LogStore.open({ dataDir: dir, segmentBytesMax: 1 << 20 });
  s.append([
    { index: 1, term: 1, kind: 'noop', tid: '', data: new Uint8Array(0) },
    { index: 2, term: 1, kind: 'normal', tid: 'c1', data: cmd('set', 'k', 'v') },
    { index: 3, term: 1, kind: 'normal', tid: 't1', data: cmd('addentry', 'hello') },
    { index: 4, term: 2, kind: 'normal', tid: '', data: cmd('set', 'bin', 'a\x00b') },
  ]);
  s.sync();
  s.close();
  const lines: string[] = [];
  t.equal(
    dumpLog(dir, (l) => lines.push(l)),
    4,
  );
  t.same(lines, ['# term 0 vote -', '1\t1\tnoop\t\t', '2\t1\tnormal\tc1\tSET k v', '3\t1\tnormal\tt1\thello', '4\t2\tnormal\t\tSET bin "a\\x00b"']);
  t.end();
});

t.test('stamped writes and transactions', (t) => {
  const b = (s: string): Buffer => Buffer.from(s, 'latin1');
  const stamped = encodeWrite({ stampMs: 1700000000123, seed: 7, body: { kind: 'command', args: [b('spop'), b('s')] } });
  t.equal(describeEntry({ index: 1, term: 1, kind: 'normal', tid: '', data: stamped }), 'SPOP s @1700000000123');
  const exec = encodeWrite({
    stampMs: 5,
    seed: null,
    body: { kind: 'exec', watched: [{ key: b('k'), version: 3, alive: true }], commands: [[b('incr'), b('k')], [b('get'), b('k')]] },
  });
  t.equal(describeEntry({ index: 2, term: 1, kind: 'normal', tid: 'r1', data: exec }), 'EXEC WATCHED "k"@3 [INCR k; GET k] @5');
  t.end();
});
