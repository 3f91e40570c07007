// lib/kv/key-order.ts: the keyspace's key order and versions, kept in the value records,
// behave as the IndexedSet and Map they replaced (same order after any adds and deletes,
// so RANDOMKEY and snapshots are unchanged), and a FLUSHALL leaves an open snapshot
// cursor reading the old ones. A SET over a live key keeps its place (db.ts replace).
import t from 'tap';
import { IndexedSet } from '../lib/kv/indexed-set.js';
import { KeyOrder, KeyVersions } from '../lib/kv/key-order.js';
import { KvStateMachine } from '../lib/kv/state-machine.js';
import { encodeCommand } from '../lib/kv/command-codec.js';
import { stringValue, type Value } from '../lib/kv/values.js';
import { Prng } from './sim/prng.js';

t.test('KeyOrder keeps the order an IndexedSet keeps, through random adds and deletes', (t) => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const rnd = new Prng(seed);
    const values = new Map<string, Value>();
    const order = new KeyOrder(values);
    const model = new IndexedSet();
    for (let step = 0; step < 5000; step++) {
      const k = `k${rnd.int(0, 300)}`;
      if (rnd.chance(0.55)) {
        // As db.ts does: the value first, then the order; a present key gets a new value (SET).
        if (values.has(k)) {
          order.delete(k);
          model.delete(k);
          values.delete(k);
        }
        values.set(k, stringValue(Buffer.from('v')));
        t.equal(order.add(k), model.add(k), `seed ${seed} step ${step}: add ${k}`);
      } else {
        // The order first, while the value still holds the position.
        const had = order.delete(k);
        t.equal(had, model.delete(k), `seed ${seed} step ${step}: delete ${k}`);
        values.delete(k);
      }
      if (step % 500 === 0) t.same(order.toArray(), model.toArray(), `seed ${seed} step ${step}: same order`);
    }
    t.same([...order], [...model], `seed ${seed}: same order at the end`);
    t.equal(order.size, values.size, `seed ${seed}: one position per key`);
    for (let i = 0; i < order.size; i++) t.equal(values.get(order.at(i))!.at, i, `seed ${seed}: ${order.at(i)} knows its position`);
  }
  t.end();
});

t.test('KeyOrder.ofDistinct takes the array and writes every position', (t) => {
  const values = new Map<string, Value>(['a', 'b', 'c'].map((k) => [k, stringValue(Buffer.from(k))]));
  const o = KeyOrder.ofDistinct(['c', 'a', 'b'], values);
  t.same(o.toArray(), ['c', 'a', 'b']);
  t.same(['a', 'b', 'c'].map((k) => values.get(k)!.at), [1, 2, 0]);
  t.ok(o.has('a') && !o.has('z'));
  o.delete('c');
  t.same(o.toArray(), ['b', 'a'], 'the last key moved into the hole');
  t.end();
});

t.test('KeyVersions reads and writes the value records; a version needs a present key', (t) => {
  const values = new Map<string, Value>([['a', stringValue(Buffer.from('x'))]]);
  const v = new KeyVersions(values);
  v.set('a', 7);
  t.equal(v.get('a'), 7);
  t.equal(values.get('a')!.version, 7);
  t.equal(v.get('b'), undefined);
  t.notOk(v.has('b'));
  t.throws(() => v.set('b', 1), 'no version without a value');
  t.end();
});

t.test('a snapshot cursor open across FLUSHALL and new writes reads the state it began at', (t) => {
  const sm = new KvStateMachine({ dedupEntriesMax: 100, dedupWindowEntries: 100 });
  let index = 0;
  const w = (...args: string[]): void => void sm.apply({ index: ++index, term: 1, kind: 'normal', tid: '', data: encodeCommand(args.map((a) => Buffer.from(a))) });
  for (let i = 0; i < 50; i++) w('SET', `k${i}`, `v${i}`);
  w('DEL', 'k3');
  const before = sm.digest();
  const chunks = [...(function* () {
    const c = sm.beginSnapshot(64);
    let first = true;
    for (let chunk = c.next(); chunk !== null; chunk = c.next()) {
      yield chunk;
      if (first) {
        // Changes while the cursor reads: it must not see them.
        w('SET', 'k1', 'changed');
        w('FLUSHALL');
        for (let i = 0; i < 20; i++) w('SET', `n${i}`, 'new');
        first = false;
      }
    }
  })()];
  const back = new KvStateMachine({ dedupEntriesMax: 100, dedupWindowEntries: 100 });
  back.restore(chunks);
  // The digest covers the last index, which the snapshot holds as it began.
  t.equal(back.digest(), before, 'restored from the cursor: the state as it was');
  back.checkInvariants();
  sm.checkInvariants();
  t.end();
});

t.test('SET over a live key replaces it in place: its place in the order, its deadline only with KEEPTTL', (t) => {
  const sm = new KvStateMachine({ dedupEntriesMax: 100, dedupWindowEntries: 100 });
  let index = 0;
  const w = (...args: string[]): string => sm.apply({ index: ++index, term: 1, kind: 'normal', tid: '', data: encodeCommand(args.map((a) => Buffer.from(a))) }).toString();
  const r = (...args: string[]): string => sm.read(args.map((a) => Buffer.from(a)), 0).toString();
  for (const k of ['a', 'b', 'c']) w('SET', k, `${k}1`);
  w('SET', 'a', 'a2-longer');
  w('SET', 'b', 'b2', 'PX', '100000');
  t.equal(r('KEYS', '*'), '*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n', 'the keys keep the order they were first set in');
  t.equal(r('GET', 'a'), '$9\r\na2-longer\r\n');
  t.match(r('PTTL', 'b'), /^:\d+\r\n$/, 'a deadline set by the SET');
  w('SET', 'b', 'b3', 'KEEPTTL');
  t.match(r('PTTL', 'b'), /^:\d+\r\n$/, 'kept with KEEPTTL');
  w('SET', 'b', 'b4');
  t.equal(r('PTTL', 'b'), ':-1\r\n', 'dropped without it');
  w('APPEND', 'c', '-more');
  w('INCR', 'n');
  w('INCR', 'n');
  t.equal(r('KEYS', '*'), '*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nn\r\n');
  sm.checkInvariants(); // bytes counted, key order and scan index hold exactly the keys
  // A restore holds the same order and bytes.
  const back = new KvStateMachine({ dedupEntriesMax: 100, dedupWindowEntries: 100 });
  back.restore([...sm.snapshot()]);
  t.equal(back.digest(), sm.digest());
  t.equal(back.bytes, sm.bytes);
  t.end();
});
