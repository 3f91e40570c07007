// Expiry decided by the log, never by a replica's clock: stamped entries, a state
// machine clock that never goes back (a lagging new leader resurrects nothing), reads
// at the leader's clock, the leader's `__expire` proposals that never undo a PERSIST,
// and the TTL family with NX|XX|GT|LT, from Redis' command reference.
import t from 'tap';
import { encodeCommand } from '../lib/kv/command-codec.js';
import { encodeWrite } from '../lib/kv/entry-codec.js';
import { KvStateMachine } from '../lib/kv/state-machine.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

class Fed {
  readonly sm = new KvStateMachine({ dedupEntriesMax: 100, dedupWindowEntries: 100 });
  index = 0;
  /** A write stamped at `at` ms (the leader's clock). */
  at(at: number, ...args: string[]): string {
    return this.sm.apply({ index: ++this.index, term: 1, kind: 'normal', tid: '', data: encodeWrite({ stampMs: at, seed: null, body: { kind: 'command', args: args.map(b) } }) }).toString('latin1');
  }
  /** An unstamped write (an old log): runs at the state machine's time. */
  old(...args: string[]): string {
    return this.sm.apply({ index: ++this.index, term: 1, kind: 'normal', tid: '', data: encodeCommand(args.map(b)) }).toString('latin1');
  }
  r(now: number, ...args: string[]): string {
    return this.sm.read(args.map(b), now).toString('latin1');
  }
}

const NIL = '$-1\r\n';
const int = (n: number): string => `:${n}\r\n`;

t.test('SET EX/PX/EXAT/PXAT/KEEPTTL and the TTL family at stamped times', (t) => {
  const f = new Fed();
  t.equal(f.at(1_000_000, 'set', 'k', 'v', 'EX', '10'), '+OK\r\n');
  t.equal(f.r(1_000_000, 'ttl', 'k'), int(10));
  t.equal(f.r(1_004_400, 'ttl', 'k'), int(6), 'rounded as Redis: (ms + 500) / 1000');
  t.equal(f.r(1_004_400, 'pttl', 'k'), int(5600));
  t.equal(f.r(1_004_400, 'expiretime', 'k'), int(1010));
  t.equal(f.r(1_004_400, 'pexpiretime', 'k'), int(1_010_000));
  t.equal(f.r(1_009_999, 'get', 'k'), '$1\r\nv\r\n');
  t.equal(f.r(1_010_000, 'get', 'k'), NIL, 'gone at its deadline');
  t.equal(f.r(1_010_000, 'ttl', 'k'), int(-2));
  t.equal(f.at(1_000_100, 'set', 'k', 'v2', 'PX', '500'), '+OK\r\n', 'stamps may lag: the machine time is the max');
  t.equal(f.r(0, 'pttl', 'k'), int(500), 'counted from the machine time, not the lagging stamp');
  t.equal(f.at(1_000_200, 'set', 'k', 'v3', 'KEEPTTL'), '+OK\r\n');
  t.equal(f.r(0, 'pttl', 'k'), int(400), 'KEEPTTL keeps the deadline');
  t.equal(f.at(1_000_200, 'set', 'k', 'v4'), '+OK\r\n');
  t.equal(f.r(0, 'ttl', 'k'), int(-1), 'a plain SET drops it');
  t.equal(f.at(1_000_300, 'set', 'a', '1', 'PXAT', '2000000'), '+OK\r\n');
  t.equal(f.r(0, 'pexpiretime', 'a'), int(2_000_000));
  t.equal(f.at(1_000_300, 'set', 'a', '1', 'EXAT', '999'), '+OK\r\n', 'a deadline in the past');
  t.equal(f.r(0, 'exists', 'a'), int(0), '... leaves no key');
  t.equal(f.at(1_000_300, 'setex', 's', '5', 'x'), '+OK\r\n');
  t.equal(f.at(1_000_300, 'psetex', 'p', '5', 'x'), '+OK\r\n');
  t.equal(f.r(0, 'pttl', 's'), int(5000));
  t.equal(f.r(0, 'pttl', 'p'), int(5));
  t.equal(f.at(1_000_300, 'setex', 's', '0', 'x'), "-ERR invalid expire time in 'setex' command\r\n");
  t.equal(f.at(1_000_300, 'getex', 's', 'PERSIST'), '$1\r\nx\r\n');
  t.equal(f.r(0, 'ttl', 's'), int(-1));
  t.equal(f.at(1_000_300, 'getex', 's', 'PX', '100'), '$1\r\nx\r\n');
  t.equal(f.r(0, 'pttl', 's'), int(100));
  t.end();
});

t.test('EXPIRE with NX|XX|GT|LT, PERSIST, and a deadline in the past deleting the key', (t) => {
  const f = new Fed();
  const T = 5_000_000;
  f.at(T, 'set', 'k', 'v');
  t.equal(f.at(T, 'expire', 'k', '100', 'XX'), int(0), 'XX: no deadline yet');
  t.equal(f.at(T, 'expire', 'k', '100', 'GT'), int(0), 'GT: no deadline counts as forever');
  t.equal(f.at(T, 'expire', 'k', '100', 'LT'), int(1), 'LT: anything is less than forever');
  t.equal(f.at(T, 'expire', 'k', '50', 'NX'), int(0));
  t.equal(f.at(T, 'expire', 'k', '200', 'LT'), int(0));
  t.equal(f.at(T, 'expire', 'k', '200', 'GT'), int(1));
  t.equal(f.r(T, 'ttl', 'k'), int(200));
  t.equal(f.at(T, 'pexpire', 'k', '1500', 'XX'), int(1));
  t.equal(f.r(T, 'pttl', 'k'), int(1500));
  t.equal(f.at(T, 'expireat', 'k', String(T / 1000 + 7)), int(1));
  t.equal(f.r(T, 'ttl', 'k'), int(7));
  t.equal(f.at(T, 'expire', 'k', '1', 'NX', 'XX'), '-ERR NX and XX, GT or LT options at the same time are not compatible\r\n');
  t.equal(f.at(T, 'expire', 'k', '1', 'GT', 'LT'), '-ERR GT and LT options at the same time are not compatible\r\n');
  t.equal(f.at(T, 'expire', 'k', '1', 'sometimes'), '-ERR Unsupported option sometimes\r\n');
  t.equal(f.at(T, 'expire', 'k', 'soon'), '-ERR value is not an integer or out of range\r\n');
  t.equal(f.at(T, 'expire', 'k', '9223372036854775807'), "-ERR invalid expire time in 'expire' command\r\n");
  t.equal(f.at(T, 'expire', 'nope', '10'), int(0), 'no key');
  t.equal(f.at(T, 'persist', 'k'), int(1));
  t.equal(f.at(T, 'persist', 'k'), int(0));
  t.equal(f.at(T, 'expire', 'k', '-1'), int(1), 'a deadline in the past deletes');
  t.equal(f.r(T, 'exists', 'k'), int(0));
  t.end();
});

t.test('time never goes back: a new leader whose clock lags resurrects nothing', (t) => {
  const f = new Fed();
  f.at(10_000, 'set', 'k', 'v', 'PX', '100');
  f.at(10_200, 'set', 'other', 'x'); // the old leader's clock passed the deadline
  t.equal(f.sm.timeMs, 10_200);
  t.equal(f.at(9_000, 'lpush', 'k', 'new'), int(1), 'a lagging stamp: k is gone all the same');
  t.equal(f.r(9_000, 'type', 'k'), '+list\r\n');
  f.at(20_000, 'set', 'g', 'v', 'PX', '100');
  t.equal(f.r(15_000, 'get', 'g'), '$1\r\nv\r\n', 'a read at a lagging clock still sees a live key');
  t.equal(f.r(20_100, 'get', 'g'), NIL);
  t.equal(f.old('set', 'g2', 'v', 'PX', '50'), '+OK\r\n', 'an unstamped entry runs at the machine time');
  t.equal(f.r(0, 'pttl', 'g2'), int(50));
  t.equal(f.old('exists', 'g') + f.r(0, 'exists', 'g'), "-ERR unknown write command 'exists'\r\n" + int(1), 'g lives at 20000');
  t.end();
});

t.test('the leader proposes deletions; a PERSIST that won the race is not undone', (t) => {
  const f = new Fed();
  f.at(1000, 'set', 'a', '1', 'PX', '10');
  f.at(1000, 'set', 'b', '1', 'PX', '10');
  f.at(1000, 'set', 'c', '1', 'PX', '5000');
  f.at(1000, 'set', 'd', '1');
  const expired = f.sm.expiredKeys(2000, 10).map((k) => k.toString()).sort();
  t.same(expired, ['a', 'b']);
  t.same(f.sm.expiredKeys(2000, 1).length, 1, 'bounded');
  t.equal(f.sm.keyCount, 4, 'still held until deleted');
  f.at(1005, 'persist', 'b'); // wins the race: applied before the deletion
  const reply = f.sm.apply({ index: ++f.index, term: 1, kind: 'normal', tid: '', data: f.sm.expireCommand([b('a'), b('b'), b('c')], 2000) });
  t.equal(reply.toString(), int(1), 'only a was still expired');
  t.equal(f.sm.keyCount, 3);
  t.equal(f.r(2000, 'exists', 'b', 'c', 'd'), int(3));
  t.same(f.sm.expiredKeys(2000, 10), []);
  t.end();
});

t.test('stampWrite: the leader re-stamps a write; data that is no write passes unchanged', (t) => {
  const f = new Fed();
  const gw = encodeWrite({ stampMs: 1, seed: null, body: { kind: 'command', args: [b('set'), b('k'), b('v'), b('PX'), b('100')] } });
  const data = f.sm.stampWrite(gw, { nowMs: 50_000, random: () => 0.5 });
  f.sm.apply({ index: ++f.index, term: 1, kind: 'normal', tid: '', data });
  t.equal(f.sm.timeMs, 50_000, 'the leader\'s stamp, not the gateway\'s');
  t.equal(f.r(0, 'pexpiretime', 'k'), int(50_100));
  const junk = Buffer.from('not a command');
  t.equal(f.sm.stampWrite(junk, { nowMs: 1, random: Math.random }), junk);
  const prepared = f.sm.prepareWrite([b('incr'), b('n')], { nowMs: 60_000, random: Math.random });
  t.equal(f.sm.apply({ index: ++f.index, term: 1, kind: 'normal', tid: '', data: prepared }).toString(), int(1));
  t.equal(f.sm.timeMs, 60_000);
  t.end();
});

t.test('the same stamped log gives the same digest on two machines', (t) => {
  const x = new Fed();
  const y = new Fed();
  for (const f of [x, y]) {
    f.at(100, 'set', 'a', '1', 'PX', '50');
    f.at(120, 'hset', 'h', 'f', 'v');
    f.at(130, 'expire', 'h', '1');
    f.at(200, 'incr', 'a');
    f.at(2000, 'set', 'z', '1');
  }
  t.equal(x.sm.digest(), y.sm.digest());
  t.end();
});
