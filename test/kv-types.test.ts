// Data types, command by command, from Redis' command reference: what the differential
// test against redis-server cannot cover (randomness, bounds, big collections, the skip
// list's order under churn, float formatting).
import t from 'tap';
import { encodeWrite } from '../lib/kv/entry-codec.js';
import { formatHuman, formatScore, parseDouble } from '../lib/kv/numbers.js';
import { IndexedSet } from '../lib/kv/indexed-set.js';
import { SkipList } from '../lib/kv/skiplist.js';
import { KvStateMachine, type KvStateMachineOptions } from '../lib/kv/state-machine.js';
import { Prng } from './sim/prng.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

class Fed {
  readonly sm: KvStateMachine;
  index = 0;
  constructor(opts: Partial<KvStateMachineOptions> = {}) {
    this.sm = new KvStateMachine({ dedupEntriesMax: 100, dedupWindowEntries: 100, ...opts });
  }
  w(...args: string[]): string {
    return this.ws(this.index + 1, ...args);
  }
  /** A write with this random seed. */
  ws(seed: number, ...args: string[]): string {
    const data = encodeWrite({ stampMs: 1000, seed, body: { kind: 'command', args: args.map(b) } });
    return this.sm.apply({ index: ++this.index, term: 1, kind: 'normal', tid: '', data }).toString('latin1');
  }
  r(...args: string[]): string {
    return this.sm.read(args.map(b), 1000).toString('latin1');
  }
}

const int = (n: number): string => `:${n}\r\n`;
const bulk = (s: string): string => `$${Buffer.byteLength(s, 'latin1')}\r\n${s}\r\n`;
const arr = (...items: string[]): string => `*${items.length}\r\n${items.join('')}`;

t.test('float parsing and formatting as Redis', (t) => {
  t.equal(parseDouble(b('1e3')), 1000);
  t.equal(parseDouble(b('-inf')), -Infinity);
  t.equal(parseDouble(b('+Infinity')), Infinity);
  t.equal(parseDouble(b('nan')), null);
  t.equal(parseDouble(b(' 1')), null);
  t.equal(parseDouble(b('1 ')), null);
  t.equal(parseDouble(b('')), null);
  t.equal(parseDouble(b('.5')), 0.5);
  t.equal(formatScore(1.5), '1.5');
  t.equal(formatScore(3), '3');
  t.equal(formatScore(1e20), '1e+20');
  t.equal(formatScore(1e16), '10000000000000000');
  t.equal(formatScore(0.0001), '0.0001');
  t.equal(formatScore(0.00001), '1e-05', 'shortest digits (Redis 7.2), not 7.0\'s 1.0000000000000001e-05');
  t.equal(formatScore(-Infinity), '-inf');
  t.equal(formatHuman(10.6), '10.6');
  t.equal(formatHuman(5e21), '5000000000000000000000');
  t.equal(formatHuman(-0.25), '-0.25');
  t.equal(formatHuman(1e-20), '0');
  t.end();
});

t.test('IndexedSet: add, delete (swap with the last), at, iteration', (t) => {
  const s = new IndexedSet(['a', 'b', 'c', 'd']);
  t.notOk(s.add('a'));
  t.ok(s.delete('b'));
  t.notOk(s.delete('b'));
  t.same([...s], ['a', 'd', 'c'], 'd moved into the hole');
  t.equal(s.at(1), 'd');
  t.ok(s.has('c'));
  t.equal(s.size, 3);
  const r = new Prng(3);
  const model = new Set<string>(s);
  let agree = true;
  for (let i = 0; i < 5000; i++) {
    const m = `m${r.int(0, 200)}`;
    if (r.chance(0.5)) {
      if (s.add(m) === model.has(m)) agree = false;
      model.add(m);
    } else if (s.delete(m) !== model.delete(m)) agree = false;
  }
  t.ok(agree, 'add and delete answer as a Set does');
  t.same(new Set(s), model);
  t.ok([...s].every((m, i) => s.at(i) === m), 'at() follows the iteration order');
  t.end();
});

t.test('the skip list keeps (score, member) order and ranks under churn', (t) => {
  const r = new Prng(7);
  const sl = new SkipList();
  const model = new Map<string, number>();
  for (let i = 0; i < 3000; i++) {
    const m = `m${r.int(0, 300)}`;
    const old = model.get(m);
    if (old !== undefined) {
      t.ok(sl.delete(old, m), 'delete present');
      model.delete(m);
    }
    if (r.chance(0.7)) {
      const s = r.int(-20, 20);
      sl.insert(s, m);
      model.set(m, s);
    }
  }
  const sorted = [...model].sort((x, y) => x[1] - y[1] || (x[0] < y[0] ? -1 : 1));
  t.equal(sl.length, sorted.length);
  const walked: string[] = [];
  for (let n = sl.first(); n !== null; n = n.forward[0]!) walked.push(n.member);
  t.same(walked, sorted.map(([m]) => m), 'in order');
  let ok = true;
  sorted.forEach(([m, s], i) => {
    if (sl.rank(s, m) !== i || sl.at(i)?.member !== m) ok = false;
  });
  t.ok(ok, 'rank and at agree with the order');
  t.equal(sl.last()?.member, sorted.at(-1)?.[0]);
  t.end();
});

t.test('SPOP is chosen by the entry seed: the same seed pops the same members everywhere', (t) => {
  const x = new Fed();
  const y = new Fed();
  for (const f of [x, y]) f.w('sadd', 's', ...Array.from({ length: 50 }, (_, i) => `m${i}`));
  const five = x.ws(12345, 'spop', 's', '5');
  t.equal(five, y.ws(12345, 'spop', 's', '5'));
  t.equal(new Set(five.match(/m\d+/g)).size, 5, 'five distinct members');
  t.equal(x.r('sismember', 's', five.match(/m\d+/)![0]), int(0), 'popped');
  t.equal(x.ws(99, 'spop', 's'), y.ws(99, 'spop', 's'));
  t.equal(x.sm.digest(), y.sm.digest());
  t.equal(x.r('scard', 's'), int(44));
  t.equal(x.w('spop', 's', '100').startsWith('*44\r\n'), true, 'a count past the size pops all');
  t.equal(x.r('exists', 's'), int(0), 'an emptied set is deleted');
  t.equal(x.w('spop', 's'), '$-1\r\n');
  t.equal(x.w('spop', 's', '1'), '*0\r\n');
  t.equal(x.w('spop', 's', '-1'), '-ERR value is out of range, must be positive\r\n');
  t.end();
});

t.test('SRANDMEMBER: distinct for a positive count, repeats for a negative one', (t) => {
  const f = new Fed();
  f.w('sadd', 's', 'a', 'b', 'c');
  const distinct = f.r('srandmember', 's', '10');
  t.match(distinct, /^\*3\r\n/);
  t.equal(new Set(distinct.match(/\r\n[abc]\r\n/g)).size, 3, 'distinct');
  for (let i = 0; i < 20; i++) t.equal(new Set(f.r('srandmember', 's', '2').match(/\r\n[abc]\r\n/g)).size, 2);
  t.match(f.r('srandmember', 's', '-7'), /^\*7\r\n/);
  t.match(f.r('srandmember', 's'), /^\$1\r\n[abc]\r\n$/);
  t.equal(f.r('srandmember', 'nope', '3'), '*0\r\n');
  t.equal(f.r('srandmember', 'nope'), '$-1\r\n');
  t.end();
});

t.test('RANDOMKEY, SCAN ... TYPE, TYPE for every type', (t) => {
  const f = new Fed();
  t.equal(f.r('randomkey'), '$-1\r\n');
  f.w('set', 'str', 'v');
  f.w('hset', 'hash', 'f', 'v');
  f.w('rpush', 'list', 'v');
  f.w('sadd', 'set', 'v');
  f.w('zadd', 'zset', '1', 'v');
  for (const k of ['str', 'hash', 'list', 'set', 'zset']) t.equal(f.r('type', k), `+${k === 'str' ? 'string' : k}\r\n`);
  t.equal(f.r('type', 'none'), '+none\r\n');
  t.match(f.r('randomkey'), /^\$\d\r\n(str|hash|list|set|zset)\r\n$/);
  const scan = f.r('scan', '0', 'COUNT', '100', 'TYPE', 'hash');
  t.equal(scan, arr(bulk('0'), arr(bulk('hash'))));
  t.equal(f.r('scan', '0', 'TYPE', 'stream'), arr(bulk('0'), '*0\r\n'));
  t.end();
});

t.test('RENAME and COPY carry the deadline; COPY copies deeply', (t) => {
  const f = new Fed();
  f.w('rpush', 'a', '1', '2');
  f.w('pexpire', 'a', '5000');
  t.equal(f.w('copy', 'a', 'b'), int(1));
  t.equal(f.r('pttl', 'b'), int(5000));
  f.w('rpush', 'b', '3');
  t.equal(f.r('llen', 'a'), int(2), 'the copy is its own list');
  t.equal(f.w('copy', 'a', 'b'), int(0), 'no REPLACE');
  t.equal(f.w('copy', 'a', 'b', 'REPLACE'), int(1));
  t.equal(f.w('copy', 'a', 'a'), '-ERR source and destination objects are the same\r\n');
  t.equal(f.w('copy', 'a', 'c', 'DB', '1'), '-ERR DB index is out of range\r\n');
  t.equal(f.w('rename', 'a', 'r'), '+OK\r\n');
  t.equal(f.r('pttl', 'r'), int(5000));
  t.equal(f.w('rename', 'a', 'r'), '-ERR no such key\r\n');
  t.equal(f.w('renamenx', 'r', 'b'), int(0));
  t.end();
});

t.test('bounds: elements per collection and bytes per key, refused before any change', (t) => {
  const f = new Fed({ elementsMax: 3, valueBytesMax: 10 });
  t.equal(f.w('rpush', 'l', 'a', 'b', 'c'), int(3));
  t.equal(f.w('rpush', 'l', 'd'), '-ERR raftd limit: a key holds at most 3 elements\r\n');
  t.equal(f.w('sadd', 's', 'a', 'b', 'c', 'd'), '-ERR raftd limit: a key holds at most 3 elements\r\n');
  t.equal(f.r('exists', 's'), int(0), 'nothing added');
  t.equal(f.w('hset', 'h', 'f', '12345678901'), '-ERR raftd limit: a key holds at most 10 bytes\r\n');
  t.equal(f.w('set', 'k', '12345678901'), '-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n');
  t.equal(f.w('setrange', 'k', '10', 'x'), '-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n');
  const g = new Fed({ elementsMax: 3 });
  t.equal(g.w('zadd', 'z', '1', 'a', '2', 'b', '3', 'c'), int(3));
  t.equal(g.w('zadd', 'z', '5', 'a'), int(0), 'updating a member is fine at the bound');
  t.equal(g.w('zadd', 'z', '5', 'd'), '-ERR raftd limit: a key holds at most 3 elements\r\n');
  t.equal(f.r('srandmember', 'l', '-5'), '-WRONGTYPE Operation against a key holding the wrong kind of value\r\n');
  f.w('sadd', 's2', 'a');
  t.equal(f.r('srandmember', 's2', '-5'), '-ERR raftd limit: a reply holds at most 3 elements\r\n');
  t.end();
});

t.test('HSCAN/SSCAN/ZSCAN page a big collection and return every member once', (t) => {
  const f = new Fed();
  const n = 1000;
  for (let i = 0; i < n; i += 100) f.w('sadd', 's', ...Array.from({ length: 100 }, (_, j) => `m${i + j}`));
  const seen = new Map<string, number>();
  let cursor = '0';
  let calls = 0;
  do {
    const reply = f.r('sscan', 's', cursor, 'COUNT', '50');
    const m = /^\*2\r\n\$\d+\r\n(\d+)\r\n\*(\d+)\r\n/.exec(reply)!;
    cursor = m[1]!;
    for (const x of reply.matchAll(/\r\n(m\d+)\r\n/g)) seen.set(x[1]!, (seen.get(x[1]!) ?? 0) + 1);
    calls++;
  } while (cursor !== '0' && calls < 1000);
  t.equal(seen.size, n, 'every member');
  t.ok([...seen.values()].every((c) => c === 1), 'each once');
  t.ok(calls > 10, `in ${calls} calls`);
  t.end();
});

t.test('sorted sets: ZADD flags, ranges and ranks from the reference', (t) => {
  const f = new Fed();
  t.equal(f.w('zadd', 'z', '1', 'one', '2', 'two', '3', 'three'), int(3));
  t.equal(f.w('zadd', 'z', 'CH', 'GT', '0', 'one', '5', 'two'), int(1), 'GT: only raises');
  t.equal(f.w('zadd', 'z', 'INCR', '1.5', 'one'), bulk('2.5'));
  t.equal(f.w('zadd', 'z', 'NX', 'INCR', '1', 'one'), '$-1\r\n', 'NX with INCR on an existing member: nil');
  t.equal(f.r('zrange', 'z', '0', '-1', 'WITHSCORES'), arr(bulk('one'), bulk('2.5'), bulk('three'), bulk('3'), bulk('two'), bulk('5')));
  t.equal(f.r('zrange', 'z', '(2.5', '+inf', 'BYSCORE', 'LIMIT', '1', '1'), arr(bulk('two')));
  t.equal(f.r('zrange', 'z', '+inf', '-inf', 'BYSCORE', 'REV'), arr(bulk('two'), bulk('three'), bulk('one')));
  t.equal(f.r('zrevrank', 'z', 'one'), int(2));
  t.equal(f.r('zrank', 'z', 'three', 'WITHSCORE'), arr(int(1), bulk('3')));
  t.equal(f.r('zcount', 'z', '-inf', '(5'), int(2));
  t.equal(f.w('zincrby', 'z', 'inf', 'x'), bulk('inf'));
  t.equal(f.w('zincrby', 'z', '-inf', 'x'), '-ERR resulting score is not a number (NaN)\r\n');
  t.equal(f.w('zpopmax', 'z', '2'), arr(bulk('x'), bulk('inf'), bulk('two'), bulk('5')));
  t.equal(f.w('zpopmin', 'z'), arr(bulk('one'), bulk('2.5')));
  t.equal(f.r('zcard', 'z'), int(1));
  t.end();
});
