// Snapshots of the key-value state (for issue 9): a machine fed a random log of every
// type, with deadlines, deletions and request ids, is serialized in chunks and restored
// into a fresh one; both then have the same digest and answer the rest of the log alike.
import { Packr } from 'msgpackr';
import t from 'tap';
import { encodeWrite } from '../lib/kv/entry-codec.js';
import { SNAPSHOT_CHUNK_BYTES } from '../lib/kv/snapshot.js';
import { KvStateMachine } from '../lib/kv/state-machine.js';
import type { Entry } from '../lib/raft/types.js';
import { Prng } from './sim/prng.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

function randomLog(seed: number, n: number, first: number): Entry[] {
  const r = new Prng(seed);
  const keys = ['s', 'h', 'l', 'st', 'z', 'e', '\x00bin\xff'];
  const v = (): string => r.pick(['a', 'b', 'c', '1', '2.5', 'xyz', '\xff\x00']);
  const cmds: (() => string[])[] = [
    () => ['set', r.pick(keys), v(), ...(r.chance(0.3) ? ['PX', String(r.int(1, 3000))] : [])],
    () => ['hset', r.pick(keys), v(), v()],
    () => ['rpush', r.pick(keys), v(), v()],
    () => ['sadd', r.pick(keys), v(), v()],
    () => ['zadd', r.pick(keys), String(r.int(-5, 5) / 2), v()],
    () => ['del', r.pick(keys)],
    () => ['spop', r.pick(keys)],
    () => ['expire', r.pick(keys), String(r.int(1, 3))],
    () => ['incr', 'n'],
    () => ['lpop', r.pick(keys)],
  ];
  const out: Entry[] = [];
  for (let i = 0; i < n; i++) {
    const args = r.pick(cmds)().map(b);
    const data = encodeWrite({ stampMs: 1_000_000 + (first + i) * 37, seed: r.int(0, 2 ** 32 - 1), body: { kind: 'command', args } });
    out.push({ index: first + i, term: 1, kind: 'normal', tid: r.chance(0.3) ? `t${r.int(0, 50)}` : '', data });
  }
  return out;
}

t.test('snapshot, restore, and the same future', (t) => {
  for (const seed of [1, 2, 3]) {
    const a = new KvStateMachine({ dedupEntriesMax: 40, dedupWindowEntries: 200 });
    for (const e of randomLog(seed, 600, 1)) a.apply(e);
    const chunks = [...a.snapshot()];
    const c = new KvStateMachine({ dedupEntriesMax: 40, dedupWindowEntries: 200 });
    c.restore(chunks);
    t.equal(c.digest(), a.digest(), `seed ${seed}: restored digest`);
    t.equal(c.appliedIndex, a.appliedIndex);
    t.equal(c.timeMs, a.timeMs);
    t.equal(c.bytes, a.bytes, 'byte count rebuilt');
    for (const e of randomLog(seed + 100, 300, 601)) t.equal(c.apply(e).toString('latin1'), a.apply(e).toString('latin1'), `entry ${e.index}`);
    t.equal(c.digest(), a.digest(), `seed ${seed}: same digest after the same entries`);
    c.checkInvariants();
    a.checkInvariants();
  }
  t.end();
});

t.test('a large state comes in bounded chunks', (t) => {
  const a = new KvStateMachine({ dedupEntriesMax: 10, dedupWindowEntries: 10 });
  const big = Buffer.alloc(100_000, 0x61);
  for (let i = 1; i <= 40; i++) a.apply({ index: i, term: 1, kind: 'normal', tid: '', data: encodeWrite({ stampMs: null, seed: null, body: { kind: 'command', args: [b('rpush'), b(`l${i}`), big] } }) });
  const chunks = [...a.snapshot()];
  t.ok(chunks.length > 10, `${chunks.length} chunks`);
  t.ok(chunks.every((c) => c.length < SNAPSHOT_CHUNK_BYTES + 200_000), 'each about the chunk size');
  const c = new KvStateMachine({ dedupEntriesMax: 10, dedupWindowEntries: 10 });
  c.restore(chunks);
  t.equal(c.digest(), a.digest());
  t.end();
});

t.test('a truncated or foreign snapshot is refused and the machine kept', (t) => {
  const a = new KvStateMachine({ dedupEntriesMax: 10, dedupWindowEntries: 10 });
  a.apply({ index: 1, term: 1, kind: 'normal', tid: '', data: encodeWrite({ stampMs: 5, seed: null, body: { kind: 'command', args: [b('set'), b('k'), b('v')] } }) });
  const chunks = [...a.snapshot()];
  const before = a.digest();
  t.throws(() => a.restore(chunks.slice(0, -1)), { code: 'RAFTD_FRAME_MALFORMED' });
  t.throws(() => a.restore([Buffer.from([0x92, 0xa4, 0x68, 0x65, 0x61, 0x64, 0x01])]), { code: 'RAFTD_FRAME_MALFORMED' });
  t.equal(a.digest(), before);
  t.end();
});

t.test('a snapshot of the first format (one msgpack row per key) is still restored', (t) => {
  const a = new KvStateMachine({ dedupEntriesMax: 10, dedupWindowEntries: 100 });
  const cmds = [['set', 'k', 'v'], ['hset', 'h', 'f', 'x'], ['rpush', 'l', 'a', 'b'], ['sadd', 's', 'm'], ['zadd', 'z', '1.5', 'm'], ['set', 'gone', '1'], ['del', 'gone'], ['pexpireat', 'k', '9000000']];
  cmds.forEach((args, i) => a.apply({ index: i + 1, term: 1, kind: 'normal', tid: i < 2 ? `t${i}` : '', data: encodeWrite({ stampMs: 1000, seed: null, body: { kind: 'command', args: args.map(b) } }) }));
  const p = new Packr({ useRecords: false, moreTypes: false });
  const v1 = [
    p.pack(['head', 'raftd-kv-1', 8, 1000, 0, 5]),
    p.pack([
      'keys',
      [
        [b('k'), 'string', 9000000, 8, [b('v')]],
        [b('h'), 'hash', null, 2, [b('f'), b('x')]],
        [b('l'), 'list', null, 3, [b('a'), b('b')]],
        [b('s'), 'set', null, 4, [b('m')]],
        [b('z'), 'zset', null, 5, [b('m'), 1.5]],
      ],
    ]),
    p.pack(['tombstones', [[b('gone'), 7]]]),
    p.pack(['dedup', [['t0', 1, b('+OK\r\n')], ['t1', 2, b(':1\r\n')]]]),
    p.pack(['end']),
  ];
  const c = new KvStateMachine({ dedupEntriesMax: 10, dedupWindowEntries: 100 });
  c.restore(v1);
  c.checkInvariants();
  t.equal(c.digest(), a.digest());
  t.end();
});
