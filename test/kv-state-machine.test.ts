// The key-value state machine: every command's reply bytes as Redis sends them,
// exactly-once by request id and its deterministic expiry, bad log entries, SCAN's
// cursor, and two machines fed the same random log ending identical.
import t from 'tap';
import { encodeCommand } from '../lib/kv/command-codec.js';
import { keyHash } from '../lib/kv/scan-index.js';
import { KvStateMachine } from '../lib/kv/state-machine.js';
import type { Entry } from '../lib/raft/types.js';
import { Prng } from './sim/prng.js';

type Arg = string | Buffer;

const buf = (a: Arg): Buffer => (typeof a === 'string' ? Buffer.from(a, 'latin1') : a);

/** A state machine and the log it is fed; replies come back as latin1 strings of the RESP bytes. */
class Fed {
  readonly sm: KvStateMachine;
  index = 0;
  constructor(opts = { dedupEntriesMax: 1000, dedupWindowEntries: 1000 }) {
    this.sm = new KvStateMachine(opts);
  }
  /** Applies a normal entry holding this command. */
  w(...args: Arg[]): string {
    return this.tw('', ...args);
  }
  /** ... with a request id. */
  tw(tid: string, ...args: Arg[]): string {
    return this.raw(tid, encodeCommand(args.map(buf)));
  }
  raw(tid: string, data: Uint8Array): string {
    return this.apply({ index: ++this.index, term: 1, kind: 'normal', tid, data });
  }
  noop(): string {
    return this.apply({ index: ++this.index, term: 1, kind: 'noop', tid: '', data: new Uint8Array(0) });
  }
  apply(e: Entry): string {
    return this.sm.apply(e).toString('latin1');
  }
  r(...args: Arg[]): string {
    return this.sm.read(args.map(buf)).toString('latin1');
  }
}

const OK = '+OK\r\n';
const NIL = '$-1\r\n';
const bulk = (s: string): string => `$${Buffer.byteLength(s, 'latin1')}\r\n${s}\r\n`;
const int = (n: number | bigint | string): string => `:${n}\r\n`;
const arr = (...items: string[]): string => `*${items.length}\r\n${items.join('')}`;
const err = (m: string): string => `-${m}\r\n`;
const NOT_INT = err('ERR value is not an integer or out of range');
const OVERFLOW = err('ERR increment or decrement would overflow');
const SYNTAX = err('ERR syntax error');
const MAX = '9223372036854775807';
const MIN = '-9223372036854775808';

t.test('SET and its options', (t) => {
  const f = new Fed();
  t.equal(f.w('set', 'k', 'v'), OK);
  t.equal(f.r('get', 'k'), bulk('v'));
  t.equal(f.w('set', 'k', 'v2', 'nx'), NIL, 'NX on an existing key');
  t.equal(f.r('get', 'k'), bulk('v'));
  t.equal(f.w('set', 'n', 'v', 'XX'), NIL, 'XX on a missing key');
  t.equal(f.r('exists', 'n'), int(0));
  t.equal(f.w('SET', 'k', 'v3', 'XX'), OK, 'any case');
  t.equal(f.w('set', 'k', 'v4', 'GET'), bulk('v3'), 'GET returns the old value');
  t.equal(f.w('set', 'g', 'x', 'get'), NIL, 'GET of a missing key: nil, and set');
  t.equal(f.r('get', 'g'), bulk('x'));
  t.equal(f.w('set', 'k', 'v5', 'NX', 'GET'), bulk('v4'), 'NX GET on an existing key: old value, not set');
  t.equal(f.r('get', 'k'), bulk('v4'));
  t.equal(f.w('set', 'h', 'y', 'XX', 'GET'), NIL);
  t.equal(f.r('exists', 'h'), int(0));
  t.equal(f.w('set', 'k', 'v', 'NX', 'XX'), SYNTAX);
  t.equal(f.w('set', 'k', 'v', 'XX', 'NX'), SYNTAX);
  t.equal(f.w('set', 'k', 'v', 'NX', 'NX'), NIL, 'a repeated option is fine, as in Redis');
  t.equal(f.w('set', 'k', 'v', 'foo'), SYNTAX);
  for (const o of ['EX', 'px', 'EXAT', 'pxat']) {
    t.equal(f.w('set', 'k', 'v', o, '0'), err("ERR invalid expire time in 'set' command"), o);
    t.equal(f.w('set', 'k', 'v', o, 'x'), NOT_INT, o);
    t.equal(f.w('set', 'k', 'v', o), SYNTAX, `${o} without its value`);
  }
  t.equal(f.w('set', 'k', 'v', 'KEEPTTL', 'EX', '10'), SYNTAX, 'KEEPTTL and EX');
  t.equal(f.w('set', 'k', 'v', 'EX', '10', 'PX', '10'), SYNTAX, 'two expiry options');
  t.equal(f.w('set', 'k', 'v', 'foo', 'EX', '10'), SYNTAX, 'left to right, like Redis');
  t.equal(f.w('set', 'k'), err("ERR wrong number of arguments for 'set' command"));
  t.equal(f.r('get', 'k'), bulk('v4'), 'no refused SET changed anything');
  const bin = Buffer.from([0, 0xff, 13, 10, 0x80]);
  t.equal(f.w('set', bin, bin), OK, 'binary keys and values');
  t.same(f.sm.read([Buffer.from('get'), bin]), Buffer.concat([Buffer.from('$5\r\n'), bin, Buffer.from('\r\n')]));
  t.equal(f.w('set', '', ''), OK, 'the empty key and value');
  t.equal(f.r('get', ''), bulk(''));
  t.end();
});

t.test('GETSET, DEL, MSET, APPEND, FLUSHDB, FLUSHALL', (t) => {
  const f = new Fed();
  t.equal(f.w('getset', 'a', '1'), NIL);
  t.equal(f.w('getset', 'a', '2'), bulk('1'));
  t.equal(f.w('mset', 'b', '1', 'c', '2', 'b', '3'), OK);
  t.equal(f.r('mget', 'a', 'b', 'c', 'd'), arr(bulk('2'), bulk('3'), bulk('2'), NIL), 'a repeated key: the last value wins');
  t.equal(f.w('mset', 'x', '1', 'y'), err("ERR wrong number of arguments for 'mset' command"));
  t.equal(f.w('mset', 'x'), err("ERR wrong number of arguments for 'mset' command"));
  t.equal(f.r('exists', 'x'), int(0));
  t.equal(f.w('del', 'a', 'b', 'a', 'zz'), int(2), 'counts keys removed, each once');
  t.equal(f.r('dbsize'), int(1));
  t.equal(f.w('append', 'p', 'ab'), int(2), 'APPEND creates');
  t.equal(f.w('append', 'p', 'cd'), int(4));
  t.equal(f.w('append', 'p', ''), int(4));
  t.equal(f.r('get', 'p'), bulk('abcd'));
  t.equal(f.w('incr', 'p2'), int(1));
  t.equal(f.w('append', 'p2', '0'), int(2), 'APPEND to a number is a string append');
  t.equal(f.w('incr', 'p2'), int(11));
  t.equal(f.w('flushdb'), OK);
  t.equal(f.r('dbsize'), int(0));
  t.equal(f.sm.bytes, 0);
  t.equal(f.w('set', 'a', '1'), OK);
  t.equal(f.w('flushall', 'ASYNC'), OK);
  t.equal(f.w('flushdb', 'sync'), OK);
  t.equal(f.w('flushdb', 'now'), SYNTAX);
  t.equal(f.w('flushall', 'async', 'sync'), SYNTAX);
  t.end();
});

t.test('INCR, DECR, INCRBY, DECRBY: 64-bit signed, Redis wording', (t) => {
  const f = new Fed();
  t.equal(f.w('incr', 'n'), int(1));
  t.equal(f.w('incrby', 'n', '41'), int(42));
  t.equal(f.w('decr', 'n'), int(41));
  t.equal(f.w('decrby', 'n', '50'), int(-9));
  t.equal(f.w('incrby', 'n', '-1'), int(-10));
  t.equal(f.r('get', 'n'), bulk('-10'), 'stored as its decimal text');
  t.equal(f.w('decr', 'm'), int(-1));
  for (const bad of ['abc', ' 1', '1 ', '+1', '01', '-0', '1.5', '', '9223372036854775808', '0x10', '1e3']) {
    f.w('set', 's', bad);
    t.equal(f.w('incr', 's'), NOT_INT, `INCR on ${JSON.stringify(bad)}`);
    t.equal(f.r('get', 's'), bulk(bad), 'unchanged');
  }
  t.equal(f.w('incrby', 'n', 'x'), NOT_INT);
  t.equal(f.w('incrby', 'n', '9223372036854775808'), NOT_INT);
  t.equal(f.w('incrby', 'n'), err("ERR wrong number of arguments for 'incrby' command"));
  f.w('set', 'big', MAX);
  t.equal(f.w('incr', 'big'), OVERFLOW);
  t.equal(f.w('incrby', 'big', '0'), int(MAX));
  t.equal(f.w('decrby', 'big', '-1'), OVERFLOW);
  t.equal(f.r('get', 'big'), bulk(MAX));
  f.w('set', 'small', MIN);
  t.equal(f.w('decr', 'small'), OVERFLOW);
  t.equal(f.w('incrby', 'small', '-1'), OVERFLOW);
  t.equal(f.w('incrby', 'small', MAX), int(-1), 'exact at the edges (no float rounding)');
  f.w('set', 'small', MIN);
  t.equal(f.w('decrby', 'small', MIN), err('ERR decrement would overflow'), 'DECRBY can never negate INT64_MIN');
  t.equal(f.w('incrby', 'z', MIN), int(MIN));
  t.equal(f.w('decrby', 'y', MAX), int('-' + MAX));
  f.w('set', 'p', '9007199254740993');
  t.equal(f.w('incr', 'p'), int('9007199254740994'), 'past 2^53 stays exact');
  t.end();
});

t.test('ADDENTRY: the original interface, its index as the reply', (t) => {
  const f = new Fed();
  f.noop();
  t.equal(f.tw('c1', 'addentry', 'hello'), int(2));
  t.equal(f.tw('c2', 'addentry', 'world'), int(3));
  t.equal(f.tw('c1', 'addentry', 'hello'), int(2), 'a retry gets the first index');
  t.equal(f.w('addentry', 'x'), int(5));
  t.equal(f.r('dbsize'), int(0), 'ADDENTRY writes no key');
  t.end();
});

t.test('reads: GET MGET EXISTS STRLEN TYPE KEYS DBSIZE', (t) => {
  const f = new Fed();
  f.w('mset', 'one', '1', 'two', '22', 'three', '333', 'h*llo', 'x');
  t.equal(f.r('get', 'nope'), NIL);
  t.equal(f.r('GET', 'one'), bulk('1'), 'the name in any case');
  t.equal(f.r('mget', 'one', 'nope', 'two'), arr(bulk('1'), NIL, bulk('22')));
  t.equal(f.r('exists', 'one', 'one', 'nope', 'two'), int(3), 'duplicates count, as in Redis');
  t.equal(f.r('strlen', 'three'), int(3));
  t.equal(f.r('strlen', 'nope'), int(0));
  t.equal(f.r('type', 'one'), '+string\r\n');
  t.equal(f.r('type', 'nope'), '+none\r\n');
  t.equal(f.r('keys', '*'), arr(bulk('h*llo'), bulk('one'), bulk('three'), bulk('two')), 'sorted by bytes');
  t.equal(f.r('keys', 't*'), arr(bulk('three'), bulk('two')));
  t.equal(f.r('keys', 'h\\*llo'), arr(bulk('h*llo')));
  t.equal(f.r('keys', '?n?'), arr(bulk('one')));
  t.equal(f.r('keys', 'zz*'), arr());
  t.equal(f.r('dbsize'), int(4));
  t.equal(f.r('get'), err("ERR wrong number of arguments for 'get' command"));
  t.equal(f.r('dbsize', 'x'), err("ERR wrong number of arguments for 'dbsize' command"));
  t.equal(f.r('set', 'a', 'b'), err("ERR unknown read command 'set'"), 'a read never writes');
  t.equal(f.r('exists', 'a'), int(0));
  t.equal(f.r('frob'), err("ERR unknown read command 'frob'"));
  t.equal(f.sm.read([]).toString(), err('ERR empty command'));
  f.w('set', '', 'empty');
  t.equal(f.r('keys', '*'), arr(bulk(''), bulk('h*llo'), bulk('one'), bulk('three'), bulk('two')), 'KEYS * includes the empty key');
  t.equal(f.r('keys', '?*'), arr(bulk('h*llo'), bulk('one'), bulk('three'), bulk('two')));
  t.end();
});

t.test('keyCount, bytes and dedupSize follow the contents', (t) => {
  const f = new Fed();
  t.equal(f.sm.keyCount, 0);
  f.w('set', 'ab', 'cde');
  t.equal(f.sm.bytes, 5);
  f.w('append', 'ab', 'f');
  t.equal(f.sm.bytes, 6);
  f.w('set', 'ab', '');
  t.equal(f.sm.bytes, 2);
  f.tw('t1', 'set', 'x', '12');
  t.equal(f.sm.keyCount, 2);
  t.equal(f.sm.bytes, 5);
  t.equal(f.sm.dedupSize, 1);
  f.w('del', 'ab', 'x');
  t.equal(f.sm.bytes, 0);
  t.equal(f.sm.appliedIndex, 5);
  t.end();
});

t.test('exactly once: a request id repeats its first reply and changes nothing', (t) => {
  const f = new Fed();
  t.equal(f.tw('r1', 'incr', 'n'), int(1));
  t.equal(f.tw('r1', 'incr', 'n'), int(1));
  t.equal(f.tw('r1', 'incr', 'n'), int(1));
  t.equal(f.r('get', 'n'), bulk('1'), 'applied once');
  t.equal(f.tw('r2', 'incr', 'n'), int(2));
  t.equal(f.tw('r1', 'set', 'n', 'other'), int(1), 'the id decides, not the data');
  t.equal(f.r('get', 'n'), bulk('2'));
  t.equal(f.w('incr', 'n'), int(3), 'no id: every entry runs');
  t.equal(f.w('incr', 'n'), int(4));
  f.w('set', 's', 'abc');
  t.equal(f.tw('r3', 'incr', 's'), NOT_INT, 'an error is a reply like any other ...');
  f.w('set', 's', '5');
  t.equal(f.tw('r3', 'incr', 's'), NOT_INT, '... and is repeated');
  t.equal(f.r('get', 's'), bulk('5'));
  t.equal(f.tw('r4', 'set', 'k'), err("ERR wrong number of arguments for 'set' command"));
  t.equal(f.sm.dedupSize, 3, 'a refused entry is not remembered');
  t.equal(f.tw('r4', 'set', 'k', 'v'), OK);
  t.end();
});

t.test('request ids expire after the window, counted in log entries', (t) => {
  const f = new Fed({ dedupEntriesMax: 100, dedupWindowEntries: 3 });
  t.equal(f.tw('a', 'incr', 'n'), int(1)); // index 1
  t.equal(f.tw('a', 'incr', 'n'), int(1)); // 2
  f.noop(); // 3
  t.equal(f.tw('a', 'incr', 'n'), int(1), 'index 4 = 1 + window: still remembered');
  t.equal(f.sm.dedupSize, 0, 'forgotten once applied entries reach 1 + window');
  t.equal(f.tw('a', 'incr', 'n'), int(2), 'index 5: runs again');
  t.equal(f.sm.dedupSize, 1);
  f.noop();
  f.noop();
  f.noop();
  t.equal(f.sm.dedupSize, 0, 'noops move the window too');
  const g = new Fed({ dedupEntriesMax: 100, dedupWindowEntries: 0 });
  t.equal(g.tw('a', 'incr', 'n'), int(1));
  t.equal(g.tw('a', 'incr', 'n'), int(2), 'a zero window remembers nothing');
  t.end();
});

t.test('request ids beyond the bound drop the oldest', (t) => {
  const f = new Fed({ dedupEntriesMax: 2, dedupWindowEntries: 1000 });
  f.tw('a', 'incr', 'n');
  f.tw('b', 'incr', 'n');
  f.tw('c', 'incr', 'n');
  t.equal(f.sm.dedupSize, 2);
  t.equal(f.tw('c', 'incr', 'n'), int(3));
  t.equal(f.tw('b', 'incr', 'n'), int(2));
  t.equal(f.tw('a', 'incr', 'n'), int(4), 'the oldest was forgotten: it runs again');
  t.equal(f.tw('b', 'incr', 'n'), int(5), 'and that pushed b out');
  t.end();
});

t.test('expiry is the same on two machines fed the same entries', (t) => {
  const opts = { dedupEntriesMax: 5, dedupWindowEntries: 7 };
  const a = new Fed(opts);
  const b = new Fed(opts);
  const rnd = new Prng(7);
  for (let i = 0; i < 500; i++) {
    const tid = rnd.chance(0.8) ? `t${rnd.int(0, 12)}` : '';
    const args = rnd.chance(0.1) ? null : ['incr', `k${rnd.int(0, 3)}`];
    const ra = args === null ? a.noop() : a.tw(tid, ...args);
    const rb = args === null ? b.noop() : b.tw(tid, ...args);
    t.equal(ra, rb);
    t.equal(a.sm.dedupSize, b.sm.dedupSize);
    if (a.sm.dedupSize > 5) t.fail('bound exceeded');
  }
  t.equal(a.sm.digest(), b.sm.digest());
  t.end();
});

t.test('noop: OK, nothing changes', (t) => {
  const f = new Fed();
  f.w('set', 'a', '1');
  const before = f.r('keys', '*') + f.r('mget', 'a');
  t.equal(f.noop(), OK);
  t.equal(f.r('keys', '*') + f.r('mget', 'a'), before);
  t.equal(f.sm.appliedIndex, 2);
  t.end();
});

t.test('a bad log entry is refused, not fatal, and changes nothing', (t) => {
  const f = new Fed();
  f.w('set', 'a', '1');
  const digestWithout = (): string => f.r('keys', '*') + f.r('mget', 'a') + f.sm.dedupSize;
  const before = digestWithout();
  const bad: [string, Uint8Array, RegExp][] = [
    ['not msgpack', Uint8Array.from([0xc1]), /^-ERR bad log entry 2: bad command encoding/],
    ['not a list', Buffer.from('set x 1'), /^-ERR bad log entry 3: bad command encoding/],
    ['an empty list', Uint8Array.from([0x90]), /^-ERR bad log entry 4/],
    ['numbers', encodeCommandUnsafe([1, 2]), /^-ERR bad log entry 5/],
    ['empty data', new Uint8Array(0), /^-ERR bad log entry 6/],
    ['unknown', encodeCommand([Buffer.from('frob'), Buffer.from('a')]), /^-ERR unknown write command 'frob'\r\n$/],
    ['a read', encodeCommand([Buffer.from('get'), Buffer.from('a')]), /^-ERR unknown write command 'get'\r\n$/],
    ['bad arity', encodeCommand([Buffer.from('del')]), /^-ERR wrong number of arguments for 'del' command\r\n$/],
    ['bad syntax', encodeCommand(['set', 'a', '2', 'ex', '0'].map((s) => Buffer.from(s))), /^-ERR invalid expire time in 'set' command/],
    ['bad increment', encodeCommand(['incrby', 'a', 'x'].map((s) => Buffer.from(s))), /^-ERR value is not an integer/],
  ];
  for (const [what, data, want] of bad) {
    t.match(f.raw('tid-' + what, data), want, what);
    t.equal(digestWithout(), before, `${what}: nothing changed`);
  }
  t.equal(f.r('get', 'a'), bulk('1'));
  t.end();
});

t.test('entries must come in index order', (t) => {
  const f = new Fed();
  f.w('set', 'a', '1');
  t.throws(() => f.sm.apply({ index: 1, term: 1, kind: 'noop', tid: '', data: new Uint8Array(0) }), { code: 'RAFTD_ASSERT' });
  t.throws(() => new KvStateMachine({ dedupEntriesMax: -1, dedupWindowEntries: 1 }), { code: 'RAFTD_ASSERT' });
  t.end();
});

/** Parses a SCAN reply: [cursor, keys]. */
function scanReply(s: string): [string, string[]] {
  const m = /^\*2\r\n\$\d+\r\n(\d+)\r\n\*(\d+)\r\n([\s\S]*)$/.exec(s);
  if (m === null) throw new Error(`not a SCAN reply: ${JSON.stringify(s)}`);
  const keys: string[] = [];
  let rest = m[3]!;
  for (let i = 0; i < Number(m[2]); i++) {
    const h = /^\$(\d+)\r\n/.exec(rest)!;
    const len = Number(h[1]);
    keys.push(rest.slice(h[0].length, h[0].length + len));
    rest = rest.slice(h[0].length + len + 2);
  }
  if (rest !== '') throw new Error('trailing bytes');
  return [m[1]!, keys];
}

t.test('SCAN: replies, options and errors', (t) => {
  const f = new Fed();
  t.equal(f.r('scan', '0'), arr(bulk('0'), arr()), 'an empty database');
  f.w('mset', 'a', '1', 'b', '2', 'c', '3');
  // FNV-1a: a = 3826002220, c = 3859557458, b = 3876335077; the cursor is the next key's hash + 1.
  t.same([keyHash('a'), keyHash('c'), keyHash('b')], [3826002220, 3859557458, 3876335077]);
  const all = arr(bulk('0'), arr(bulk('a'), bulk('c'), bulk('b')));
  t.equal(f.r('scan', '0'), all, 'in hash order');
  t.equal(f.r('scan', '0', 'COUNT', '2'), arr(bulk('3876335078'), arr(bulk('a'), bulk('c'))));
  t.equal(f.r('scan', '3876335078', 'count', '2'), arr(bulk('0'), arr(bulk('b'))));
  t.equal(f.r('scan', '3876335077', 'count', '2'), arr(bulk('0'), arr(bulk('b'))), 'any cursor resumes at the next hash at or after it');
  t.equal(f.r('scan', '3876335079'), arr(bulk('0'), arr()));
  t.equal(f.r('scan', '0', 'MATCH', '[ab]'), arr(bulk('0'), arr(bulk('a'), bulk('b'))));
  t.equal(f.r('scan', '0', 'MATCH', 'b', 'COUNT', '1'), arr(bulk('3859557459'), arr()), 'MATCH filters after COUNT, as in Redis');
  t.equal(f.r('scan', '0', 'TYPE', 'string'), all);
  t.equal(f.r('scan', '0', 'type', 'HASH'), arr(bulk('0'), arr()));
  t.equal(f.r('scan', '0', 'type', 'blob'), err("ERR unknown type name 'blob'"));
  t.equal(f.r('scan', '18446744073709551615'), arr(bulk('0'), arr()), 'a cursor past the end');
  t.equal(f.r('scan', '4294967297'), arr(bulk('0'), arr()), 'just past the hash space');
  t.equal(f.r('scan', '000'), all);
  for (const bad of ['x', '-1', '1.0', '', '18446744073709551616', ' 1']) {
    t.equal(f.r('scan', bad), err('ERR invalid cursor'), `cursor ${JSON.stringify(bad)}`);
  }
  t.equal(f.r('scan', '0', 'COUNT', '0'), SYNTAX);
  t.equal(f.r('scan', '0', 'COUNT', '-1'), SYNTAX);
  t.equal(f.r('scan', '0', 'COUNT', 'x'), NOT_INT);
  t.equal(f.r('scan', '0', 'MATCH'), SYNTAX);
  t.equal(f.r('scan', '0', 'FOO', 'bar'), SYNTAX);
  t.equal(f.r('scan'), err("ERR wrong number of arguments for 'scan' command"));
  t.end();
});

t.test('SCAN with COUNT 1 returns every key present throughout, once, while keys come and go', (t) => {
  const f = new Fed();
  const rnd = new Prng(11);
  const stable = new Set<string>();
  for (let i = 0; i < 300; i++) {
    const k = `key:${i}`;
    f.w('set', k, String(i));
    stable.add(k);
  }
  const seen = new Map<string, number>();
  let cursor = '0';
  let calls = 0;
  let churn = 0;
  do {
    const [next, keys] = scanReply(f.r('scan', cursor, 'COUNT', '1'));
    for (const k of keys) seen.set(k, (seen.get(k) ?? 0) + 1);
    cursor = next;
    calls++;
    // Churn: delete some stable keys (they leave the "throughout" set), create a key on
    // every call (a scan must still end) and remove others, overwrite values, and add and
    // remove thousands at once.
    if (rnd.chance(0.3)) {
      const victim = `key:${rnd.int(0, 299)}`;
      f.w('del', victim);
      stable.delete(victim);
    }
    f.w('set', `tmp:${churn++}`, 'x');
    if (rnd.chance(0.5)) f.w('del', `tmp:${rnd.int(0, churn)}`);
    f.w('set', `key:${rnd.int(0, 299)}`, 'overwritten');
    if (calls === 150) {
      const many: string[] = [];
      for (let i = 0; i < 3000; i++) many.push(`bulk:${i}`, '1');
      f.w('mset', ...many);
      for (let i = 0; i < 3000; i += 100) f.w('del', ...Array.from({ length: 100 }, (_, j) => `bulk:${i + j}`));
    }
    if (calls > 100000) throw new Error('SCAN does not end');
  } while (cursor !== '0');
  for (const k of stable) {
    if (!seen.has(k)) t.fail(`missed ${k}`);
  }
  const dups = [...seen].filter(([, n]) => n > 1);
  t.same(dups, [], 'no key twice');
  t.ok(calls < 2000, `ended after ${calls} calls`);
  t.end();
});

t.test('SCAN returns keys sharing a hash in one call', (t) => {
  // Found by hashing c0, c1, ... until two collided.
  const pair = ['c693596', 'c1170850'] as const;
  t.equal(keyHash(pair[0]), keyHash(pair[1]));
  const f = new Fed();
  f.w('mset', pair[0], '1', pair[1], '2', 'x', '3');
  const seen: string[][] = [];
  let cursor = '0';
  do {
    const [next, keys] = scanReply(f.r('scan', cursor, 'COUNT', '1'));
    seen.push(keys);
    cursor = next;
  } while (cursor !== '0');
  t.equal(seen.length, 2, 'two calls for three keys');
  t.ok(seen.some((keys) => keys.length === 2 && keys.includes(pair[0]) && keys.includes(pair[1])), `${pair.join(' and ')} together`);
  t.end();
});

t.test('SCAN pages add up to KEYS', (t) => {
  const f = new Fed();
  for (let i = 0; i < 57; i++) f.w('set', `k${i}`, 'v');
  for (let i = 0; i < 57; i += 3) f.w('del', `k${i}`);
  const all: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = scanReply(f.r('scan', cursor, 'MATCH', 'k*', 'COUNT', '4'));
    all.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  t.same(all.sort(), scanReply(arr(bulk('0'), f.r('keys', '*').slice(0)))[1].sort());
  t.end();
});

/** Everything a client can observe, for comparing two machines without trusting digest(). */
function contents(f: Fed): string {
  const keys = scanReply(arr(bulk('0'), f.r('keys', '*')))[1];
  return JSON.stringify(keys.map((k) => [k, f.r('get', k)]));
}

t.test('two machines fed the same random log end identical', (t) => {
  for (const seed of [1, 2, 3, 42]) {
    const rnd = new Prng(seed);
    const opts = { dedupEntriesMax: 20, dedupWindowEntries: 50 };
    const a = new Fed(opts);
    const b = new Fed(opts);
    const keys = ['a', 'b', 'c', 'n', 'm', '', 'k\x00'];
    const val = (): string => rnd.pick(['1', '-5', 'x', '', '9223372036854775806', 'hello', '\xff\x00']);
    const entries: Entry[] = [];
    for (let i = 1; i <= 2000; i++) {
      const k = rnd.pick(keys);
      const choice = rnd.int(0, 13);
      let args: string[] | null;
      switch (choice) {
        case 0: args = ['set', k, val()]; break;
        case 1: args = ['set', k, val(), rnd.pick(['NX', 'XX', 'GET', 'nx', 'EX'])]; break;
        case 2: args = ['del', k, rnd.pick(keys)]; break;
        case 3: args = ['incr', k]; break;
        case 4: args = ['decrby', k, rnd.pick(['3', '-9223372036854775807', 'x'])]; break;
        case 5: args = ['append', k, val()]; break;
        case 6: args = ['mset', k, val(), rnd.pick(keys), val()]; break;
        case 7: args = ['getset', k, val()]; break;
        case 8: args = rnd.chance(0.1) ? ['flushdb'] : ['incrby', k, '7']; break;
        case 9: args = ['addentry', val()]; break;
        case 10: args = ['frob', k]; break;
        case 11: args = ['decr', k]; break;
        default: args = null;
      }
      const tid = rnd.chance(0.5) ? `c${rnd.int(0, 30)}` : '';
      entries.push(
        args === null
          ? { index: i, term: 1, kind: 'noop', tid: '', data: new Uint8Array(0) }
          : { index: i, term: 1, kind: 'normal', tid, data: encodeCommand(args.map((s) => Buffer.from(s, 'latin1'))) },
      );
    }
    for (const e of entries) {
      // Each machine gets its own copy, as two nodes would.
      const ra = a.apply({ ...e, data: Uint8Array.from(e.data) });
      const rb = b.apply({ ...e, data: Uint8Array.from(e.data) });
      if (ra !== rb) t.fail(`seed ${seed}: replies differ at ${e.index}`);
    }
    t.equal(a.sm.digest(), b.sm.digest(), `seed ${seed}: digests`);
    t.equal(contents(a), contents(b), `seed ${seed}: contents`);
    t.equal(a.sm.dedupSize, b.sm.dedupSize);
    t.ok(a.sm.keyCount > 0, 'the log did something');
    // bytes is kept incrementally; recount it from the contents.
    const ks = scanReply(arr(bulk('0'), a.r('keys', '*')))[1];
    const recount = ks.reduce((n, k) => n + k.length + Number(/^\$(\d+)/.exec(a.r('get', k))![1]), 0);
    t.equal(a.sm.bytes, recount, `seed ${seed}: bytes`);
  }
  const c = new Fed();
  const d = new Fed();
  c.w('set', 'a', '1');
  d.w('set', 'a', '2');
  t.not(c.sm.digest(), d.sm.digest(), 'the digest sees values');
  t.end();
});

/** msgpack of an arbitrary JS value (for entries that are not commands). */
function encodeCommandUnsafe(v: unknown[]): Uint8Array {
  // A fixarray of positive fixints is simple enough to write by hand.
  return Uint8Array.from([0x90 | v.length, ...(v as number[])]);
}
