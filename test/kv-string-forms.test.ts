// String values keep their bytes in one of two forms (lib/kv/values.ts): a latin1 JS string
// up to STRING_INLINE_BYTES_MAX, a Buffer of their own beyond it. Every string command, a
// COPY, and a snapshot round trip must see the same bytes whichever form a value is in and
// whenever a value crosses from one to the other.
import t from 'tap';
import { encodeCommand } from '../lib/kv/command-codec.js';
import { KvStateMachine } from '../lib/kv/state-machine.js';
import { STRING_INLINE_BYTES_MAX, stringBytes } from '../lib/kv/values.js';

const OPTS = { dedupEntriesMax: 100, dedupWindowEntries: 100 };

class Fed {
  sm = new KvStateMachine(OPTS);
  index = 0;
  w(...args: (string | Buffer)[]): Buffer {
    return this.sm.apply({ index: ++this.index, term: 1, kind: 'normal', tid: '', data: encodeCommand(args.map((a) => (typeof a === 'string' ? Buffer.from(a, 'latin1') : a))) });
  }
  r(...args: (string | Buffer)[]): Buffer {
    return this.sm.read(args.map((a) => (typeof a === 'string' ? Buffer.from(a, 'latin1') : a)));
  }
}

const bulk = (b: Buffer): Buffer => Buffer.concat([Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n')]);

t.test('a long value is kept as a view of memory it mostly fills, copied out of memory it does not', async (t) => {
  const n = STRING_INLINE_BYTES_MAX + 1000;
  const own = new Uint8Array(new SharedArrayBuffer(n + 100)).subarray(100);
  own.fill(5);
  const kept = stringBytes(own);
  t.ok(Buffer.isBuffer(kept) && kept.buffer === own.buffer && kept.byteOffset === 100 && kept.length === n, 'a view, no copy');
  const roomy = new Uint8Array(2 * n + 2).subarray(1, n + 1);
  roomy.fill(6);
  const copied = stringBytes(roomy) as Buffer;
  t.ok(copied.buffer !== roomy.buffer && copied.buffer.byteLength === n, 'a buffer of its own, as large as the value');
  t.same(copied, Buffer.alloc(n, 6));
  t.type(stringBytes(new Uint8Array(STRING_INLINE_BYTES_MAX)), 'string', 'up to the inline bound: a string');
});

t.test('every byte value survives both forms, the crossing between them, COPY and a snapshot', (t) => {
  const f = new Fed();
  // All 256 byte values, so a latin1 round trip that lost any would show.
  const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  const small = Buffer.concat([bytes, bytes]);
  const large = Buffer.alloc(STRING_INLINE_BYTES_MAX + 1000);
  for (let i = 0; i < large.length; i++) large[i] = (i * 7) & 0xff;
  f.w('SET', 'small', small);
  f.w('SET', 'large', large);
  t.same(f.r('GET', 'small'), bulk(small), 'a small value, every byte');
  t.same(f.r('GET', 'large'), bulk(large), 'a large value');

  // APPEND across the boundary: the inline string becomes a Buffer of its own.
  const grown = Buffer.alloc(STRING_INLINE_BYTES_MAX - 10, 0xe9);
  f.w('SET', 'grow', grown);
  const tail = Buffer.from([0, 1, 0xff, 0x80, 10, 13, 0xc3, 0xa9, 0x7f, 0x20, 0x41, 0x42]);
  t.same(f.w('APPEND', 'grow', tail), Buffer.from(`:${grown.length + tail.length}\r\n`));
  const whole = Buffer.concat([grown, tail]);
  t.same(f.r('GET', 'grow'), bulk(whole), 'appended across the boundary');
  t.same(f.r('STRLEN', 'grow'), Buffer.from(`:${whole.length}\r\n`));
  t.same(f.r('GETRANGE', 'grow', '-12', '-1'), bulk(tail), 'GETRANGE of the large form');
  // SETRANGE and SETBIT on each form.
  f.w('SETRANGE', 'small', '1', Buffer.from([0xfe]));
  small[1] = 0xfe;
  t.same(f.r('GET', 'small'), bulk(small), 'SETRANGE on the inline form');
  f.w('SETBIT', 'large', '7', '1');
  large[0]! |= 1;
  t.same(f.r('GET', 'large'), bulk(large), 'SETBIT on the Buffer form');
  t.same(f.r('BITCOUNT', 'small'), Buffer.from(`:${[...small].reduce((n, b) => n + b.toString(2).replace(/0/g, '').length, 0)}\r\n`), 'BITCOUNT reads the inline form');
  // INCR turns bytes into a number and back.
  f.w('SET', 'n', '41');
  t.same(f.w('INCR', 'n'), Buffer.from(':42\r\n'));
  // COPY shares the bytes: a later change of one is not seen by the other.
  f.w('COPY', 'large', 'large2');
  f.w('APPEND', 'large', 'x');
  t.same(f.r('GET', 'large2'), bulk(large), 'the copy kept the old bytes');
  t.same(f.r('MGET', 'small', 'large2'), Buffer.concat([Buffer.from('*2\r\n'), bulk(small), bulk(large)]), 'MGET of both forms');

  // A snapshot round trip: same state, same digest, same replies.
  const g = new KvStateMachine(OPTS);
  g.restore([...f.sm.snapshot(4096)]);
  t.equal(g.digest(), f.sm.digest(), 'the restored state has the same digest');
  for (const k of ['small', 'large', 'large2', 'grow', 'n']) t.same(g.read([Buffer.from('GET'), Buffer.from(k)]), f.r('GET', k), `GET ${k} after restore`);
  t.end();
});
