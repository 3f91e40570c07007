// Snapshot cursors (issue 9): a cursor begun at some moment is read a few chunks at a
// time while random writes, deletions, expiries, collection changes, transactions,
// FLUSHALLs and request ids go on being applied between reads; restoring its chunks must
// give exactly the digest the machine had when the cursor began, and a machine restored
// from them must answer the rest of the log like one restored from a snapshot taken at
// that moment.
import t from 'tap';
import { encodeWrite, type WriteBody } from '../lib/kv/entry-codec.js';
import { KvSnapshotCursor } from '../lib/kv/snapshot-cursor.js';
import { KvStateMachine } from '../lib/kv/state-machine.js';
import type { Entry } from '../lib/raft/types.js';
import { Prng } from './sim/prng.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const OPTS = { dedupEntriesMax: 60, dedupWindowEntries: 150 };

/** A random write touching a small set of keys, so keys a cursor has not yet read are changed often. */
function randomArgs(r: Prng, fresh: () => string): string[] {
  const keys = ['s0', 's1', 'h0', 'h1', 'l0', 'l1', 'st0', 'st1', 'z0', 'z1', 'n', '\x00bin\xff', 'k2', 'k3', 'k4', 'k5'];
  const k = (): string => (r.chance(0.1) ? fresh() : r.pick(keys));
  const v = (): string => r.pick(['a', 'b', 'c', '1', '2.5', 'xyz', '\xff\x00', 'long-'.repeat(r.int(1, 20))]);
  const cmds: (() => string[])[] = [
    () => ['set', k(), v(), ...(r.chance(0.3) ? ['PX', String(r.int(1, 400))] : [])],
    () => ['set', k(), v(), 'KEEPTTL'],
    () => ['append', k(), v()],
    () => ['setrange', k(), String(r.int(0, 5)), v()],
    () => ['incr', 'n'],
    () => ['getdel', k()],
    () => ['del', k(), k()],
    () => ['expire', k(), String(r.int(1, 2))],
    () => ['pexpire', k(), String(r.int(1, 300))],
    () => ['persist', k()],
    () => ['rename', k(), k()],
    () => ['copy', k(), k(), ...(r.chance(0.5) ? ['REPLACE'] : [])],
    () => ['hset', k(), v(), v(), v(), v()],
    () => ['hdel', k(), v()],
    () => ['hincrby', k(), 'f', String(r.int(-3, 3))],
    () => ['rpush', k(), v(), v()],
    () => ['lpush', k(), v()],
    () => ['lpop', k()],
    () => ['rpop', k()],
    () => ['lset', k(), '0', v()],
    () => ['linsert', k(), 'BEFORE', v(), v()],
    () => ['ltrim', k(), '1', '-1'],
    () => ['rpoplpush', k(), k()],
    () => ['sadd', k(), v(), v(), v()],
    () => ['srem', k(), v()],
    () => ['spop', k()],
    () => ['smove', k(), k(), v()],
    () => ['sunionstore', k(), k(), k()],
    () => ['zadd', k(), String(r.int(-5, 5) / 2), v(), String(r.int(-5, 5)), v()],
    () => ['zrem', k(), v()],
    () => ['zincrby', k(), '1.5', v()],
    () => ['zpopmin', k()],
    () => ['__expire', k(), k()],
  ];
  return r.pick(cmds)();
}

class Workload {
  private readonly r: Prng;
  private next = 1;
  private freshN = 0;

  constructor(seed: number) {
    this.r = new Prng(seed);
  }

  entry(flushAllowed: boolean): Entry {
    const r = this.r;
    const fresh = (): string => `f${this.freshN++}`;
    let body: WriteBody;
    if (flushAllowed && r.chance(0.01)) body = { kind: 'command', args: [b('flushall')] };
    else if (r.chance(0.15)) {
      const commands = Array.from({ length: r.int(1, 4) }, () => randomArgs(r, fresh).map(b));
      body = { kind: 'exec', watched: [], commands };
    } else body = { kind: 'command', args: randomArgs(r, fresh).map(b) };
    const index = this.next++;
    // Time moves 20 ms an entry: deadlines of a few hundred ms pass within the run.
    const data = encodeWrite({ stampMs: 1_000_000 + index * 20, seed: r.int(0, 2 ** 32 - 1), body });
    const tid = r.chance(0.5) ? `t${r.int(0, 400)}` : '';
    return r.chance(0.03) ? { index, term: 1, kind: 'noop', tid: '', data: new Uint8Array() } : { index, term: 1, kind: 'normal', tid, data };
  }
}

function restored(chunks: Uint8Array[]): KvStateMachine {
  const m = new KvStateMachine(OPTS);
  m.restore(chunks);
  m.checkInvariants();
  return m;
}

t.test('a cursor read in slices while entries are applied gives the state at its beginning', (t) => {
  for (let seed = 1; seed <= 12; seed++) {
    const w = new Workload(seed);
    const r = new Prng(seed * 7919);
    const sm = new KvStateMachine(OPTS);
    for (let i = 0; i < 400; i++) sm.apply(w.entry(seed % 3 === 0));
    let rounds = 0;
    for (let round = 0; round < 4; round++) {
      const digest = sm.digest();
      const index = sm.appliedIndex;
      // The reference: the state at this moment, by a snapshot drained at once.
      const reference = restored([...sm.snapshot()]);
      t.equal(reference.digest(), digest);
      const cursor = sm.beginSnapshot(r.int(40, 400));
      t.equal(cursor.index, index, 'the cursor is at the applied index');
      const chunks: Uint8Array[] = [];
      for (;;) {
        const c = cursor.next();
        if (c === null) break;
        chunks.push(c);
        for (let n = r.int(0, 12); n > 0; n--) sm.apply(w.entry(seed % 3 === 0));
      }
      t.equal(cursor.next(), null, 'stays at the end');
      t.equal(sm.openSnapshotCursors, 0, 'a drained cursor is closed');
      t.ok(chunks.length > 5, `seed ${seed}: ${chunks.length} chunks`);
      const copy = restored(chunks);
      if (copy.digest() !== digest) {
        t.fail(`seed ${seed} round ${round}: the chunks are not the state at index ${index}`);
        break;
      }
      // Both copies answer the rest of the log alike.
      const rest = new Workload(seed + 1000 * (round + 1));
      for (let i = 0; i < 100; i++) {
        const e = rest.entry(true);
        const x = { ...e, index: index + 1 + i };
        t.equal(copy.apply(x).toString('latin1'), reference.apply(x).toString('latin1'));
      }
      t.equal(copy.digest(), reference.digest());
      rounds++;
      sm.checkInvariants();
    }
    t.equal(rounds, 4, `seed ${seed}: every round matched`);
  }
  t.end();
});

t.test('several cursors open at once, begun at different moments, each gives its own moment', (t) => {
  const w = new Workload(77);
  const r = new Prng(78);
  const sm = new KvStateMachine(OPTS);
  for (let i = 0; i < 300; i++) sm.apply(w.entry(true));
  const open: { cursor: ReturnType<KvStateMachine['beginSnapshot']>; digest: string; chunks: Uint8Array[] }[] = [];
  let checked = 0;
  for (let step = 0; step < 3000 && checked < 25; step++) {
    if (open.length < 4 && r.chance(0.05)) open.push({ cursor: sm.beginSnapshot(r.int(30, 300)), digest: sm.digest(), chunks: [] });
    const o = open.length > 0 ? r.pick(open) : undefined;
    if (o !== undefined) {
      const c = o.cursor.next();
      if (c === null) {
        t.equal(restored(o.chunks).digest(), o.digest, `cursor at ${o.cursor.index}`);
        open.splice(open.indexOf(o), 1);
        checked++;
      } else o.chunks.push(c);
    }
    sm.apply(w.entry(true));
  }
  t.ok(checked >= 10, `${checked} cursors checked`);
  for (const o of open) o.cursor.close();
  t.equal(sm.openSnapshotCursors, 0);
  t.end();
});

t.test('restore while a cursor is open: the cursor goes on with the old state', (t) => {
  const w = new Workload(5);
  const a = new KvStateMachine(OPTS);
  for (let i = 0; i < 300; i++) a.apply(w.entry(false));
  const other = new KvStateMachine(OPTS);
  const w6 = new Workload(6);
  for (let i = 0; i < 50; i++) other.apply(w6.entry(false));
  const digest = a.digest();
  const cursor = a.beginSnapshot(100);
  const chunks = [cursor.next()!, cursor.next()!];
  a.restore([...other.snapshot()]);
  for (let i = 0; i < 50; i++) a.apply({ ...w.entry(false), index: a.appliedIndex + 1 });
  for (let c = cursor.next(); c !== null; c = cursor.next()) chunks.push(c);
  t.equal(restored(chunks).digest(), digest);
  t.end();
});

t.test('memory: a cursor keeps at most the keys changed before it passed them, and nothing once closed', (t) => {
  const sm = new KvStateMachine({ dedupEntriesMax: 10, dedupWindowEntries: 10 });
  let index = 0;
  const set = (k: string, v: string): void => {
    sm.apply({ index: ++index, term: 1, kind: 'normal', tid: '', data: encodeWrite({ stampMs: null, seed: null, body: { kind: 'command', args: [b('set'), b(k), b(v)] } }) });
  };
  for (let i = 0; i < 1000; i++) set(`k${i}`, 'x'.repeat(50));
  const digest = sm.digest();
  const cursor = sm.beginSnapshot(2000);
  t.ok(cursor instanceof KvSnapshotCursor);
  const kc = cursor as KvSnapshotCursor;
  const chunks = [cursor.next()!, cursor.next()!]; // the head, then the first keys
  // Keys changed before the cursor reaches them are kept; the same key twice is kept once;
  // new keys are not kept.
  for (let i = 900; i < 1000; i++) set(`k${i}`, 'y');
  for (let i = 900; i < 1000; i++) set(`k${i}`, 'z');
  for (let i = 0; i < 100; i++) set(`new${i}`, 'n');
  t.equal(kc.keptKeys, 100);
  for (let c = cursor.next(); c !== null; c = cursor.next()) chunks.push(c);
  t.equal(kc.keptKeys, 0, 'each kept key is dropped once passed');
  t.equal(restored(chunks).digest(), digest);
  const early = sm.beginSnapshot(2000);
  early.next();
  early.next();
  for (let i = 0; i < 1000; i++) set(`k${i}`, 'w');
  t.ok((early as KvSnapshotCursor).keptKeys > 0);
  early.close();
  t.equal((early as KvSnapshotCursor).keptKeys, 0, 'closing drops the copies');
  t.equal(sm.openSnapshotCursors, 0);
  t.equal(early.next(), null, 'a closed cursor gives nothing more');
  for (let i = 0; i < 100; i++) set(`k${i}`, 'v');
  t.end();
});

t.test('tombstones evicted past their bound while a cursor reads', (t) => {
  const sm = new KvStateMachine({ dedupEntriesMax: 10, dedupWindowEntries: 10 });
  let index = 0;
  const cmd = (...args: string[]): void => {
    sm.apply({ index: ++index, term: 1, kind: 'normal', tid: `x${index}`, data: encodeWrite({ stampMs: null, seed: null, body: { kind: 'command', args: args.map(b) } }) });
  };
  // 65,536 tombstones (the bound) and a few live keys.
  for (let i = 0; i < 66_000; i++) {
    cmd('set', `d${i}`, 'v');
    cmd('del', `d${i}`);
  }
  for (let i = 0; i < 20; i++) cmd('set', `live${i}`, 'v');
  const digest = sm.digest();
  const cursor = sm.beginSnapshot(4096);
  const chunks: Uint8Array[] = [];
  for (let c = cursor.next(); c !== null; c = cursor.next()) {
    chunks.push(c);
    // Each deletion evicts the oldest tombstone and raises the floor; re-creating a key removes its tombstone.
    for (let j = 0; j < 50; j++) cmd('set', `d${index}`, 'v'), cmd('del', `d${index - 1}`), cmd('set', `d${j * 7}`, 'again');
  }
  t.ok(chunks.length > 50, `${chunks.length} chunks`);
  t.equal(restored(chunks).digest(), digest);
  t.end();
});
