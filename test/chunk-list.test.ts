// The chunk list every stream decoder reads from: against a plain Buffer of the same
// bytes, under random chunking and random reads; and the reply parser built on it
// decoding replies cut at random places, large bulk strings included.
import t from 'tap';
import { ReplyParser } from '../lib/resp/reply-parser.js';
import * as w from '../lib/util/resp-writer.js';
import { ChunkList } from '../lib/util/chunk-list.js';

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
}

t.test('matches a flat buffer under random chunks and reads', async (t) => {
  for (let seed = 1; seed <= 40; seed++) {
    const r = rng(seed);
    const list = new ChunkList();
    let model = Buffer.alloc(0);
    let ops = 0;
    for (let step = 0; step < 400; step++) {
      const op = r();
      if (op < 0.4) {
        const n = Math.floor(r() * (r() < 0.1 ? 300 : 12));
        const chunk = Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 6)));
        list.push(chunk);
        model = Buffer.concat([model, chunk]);
      } else if (op < 0.6 && model.length > 0) {
        const n = Math.floor(r() * (model.length + 1));
        const own = r() < 0.3;
        const got = list.take(n, own);
        if (!got.equals(model.subarray(0, n))) t.fail(`seed ${seed} step ${step}: take(${n})`);
        if (own && got.buffer.byteLength !== n) t.fail(`seed ${seed}: an owned take has memory of its own`);
        model = model.subarray(n);
      } else if (op < 0.7 && model.length > 0) {
        const n = Math.floor(r() * (model.length + 1));
        list.skip(n);
        model = model.subarray(n);
      } else if (op < 0.85) {
        const byte = Math.floor(r() * 6);
        const limit = Math.floor(r() * (model.length + 2));
        const want = model.subarray(0, limit).indexOf(byte);
        if (list.indexOf(byte, limit) !== want) t.fail(`seed ${seed} step ${step}: indexOf(${byte}, ${limit})`);
      } else if (model.length > 0) {
        const i = Math.floor(r() * model.length);
        if (list.peek(i) !== model[i]) t.fail(`seed ${seed} step ${step}: peek(${i})`);
      }
      if (list.length !== model.length) t.fail(`seed ${seed} step ${step}: length ${list.length} vs ${model.length}`);
      ops++;
    }
    t.ok(ops > 0);
  }
  t.throws(() => new ChunkList().take(1), /past the unread bytes/);
  t.throws(() => new ChunkList().peek(0), /past the unread bytes/);
});

t.test('an unsuccessful search resumes where it stopped when more arrives', async (t) => {
  const list = new ChunkList();
  for (let i = 0; i < 1000; i++) {
    list.push(Buffer.from('a'));
    t.equal(list.indexOf(10), -1);
  }
  list.push(Buffer.from('\n'));
  t.equal(list.indexOf(10), 1000);
  list.skip(999);
  t.equal(list.indexOf(10), 1, 'a skip restarts the search from the new front');
  list.clear();
  t.equal(list.length, 0);
});

t.test('reply parser: replies cut anywhere, a large bulk string in small pieces', async (t) => {
  const big = Buffer.alloc(3 * 1024 * 1024, 0x61);
  const replies = [w.simple('OK'), w.bulk(big), w.integer(42), w.array([w.bulk(Buffer.from('x')), w.NULL_BULK]), w.error('ERR no')];
  const all = Buffer.concat(replies);
  for (const piece of [1 << 10, 4093, 65536]) {
    const rp = new ReplyParser();
    const got: unknown[] = [];
    for (let off = 0; off < all.length; off += piece) {
      rp.feed(all.subarray(off, off + piece));
      for (let v = rp.next(); v !== undefined; v = rp.next()) got.push(v);
    }
    t.equal(got.length, 5, `pieces of ${piece} B`);
    t.equal(got[0], 'OK');
    t.ok(Buffer.isBuffer(got[1]) && (got[1] as Buffer).equals(big));
    t.equal(got[2], 42);
    t.same(got[3], [Buffer.from('x'), null]);
    t.match(got[4], { reply: 'ERR no' });
  }
});

t.test("take(n, 'shared') copies across chunks into shared memory", async (t) => {
  const l = new ChunkList();
  l.push(Buffer.from([1, 2, 3]));
  l.push(Buffer.from([4, 5, 6, 7]));
  l.skip(1);
  const out = l.take(5, 'shared');
  t.ok(out.buffer instanceof SharedArrayBuffer, 'shared memory');
  t.same([...out], [2, 3, 4, 5, 6]);
  t.equal(l.length, 1, 'the rest stays');
  t.equal(l.take(0, 'shared').length, 0);
});
