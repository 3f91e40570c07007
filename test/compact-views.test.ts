// Posting a view clones its whole backing buffer: views of a much larger buffer are
// moved into one exact-size buffer per round (same bytes), others are left alone.
import t from 'tap';
import { MessageChannel } from 'node:worker_threads';
import { ViewCompactor, SLACK_BYTES_MAX } from '../lib/actor/compact-views.js';
import { compactEffects } from '../lib/node/compact-effects.js';
import type { Entry } from '../lib/raft/types.js';
import type { Effects } from '../lib/replica/replica.js';

function posted<T>(value: T): Promise<T> {
  const ch = new MessageChannel();
  return new Promise((res) => {
    ch.port2.once('message', (m: T) => {
      ch.port1.close();
      res(m);
    });
    ch.port1.postMessage(value);
  });
}

t.test('why: a posted view arrives with its whole backing buffer', async (t) => {
  const big = new Uint8Array(64 * 1024);
  const got = await posted({ d: big.subarray(10, 20) });
  t.equal(got.d.buffer.byteLength, big.byteLength);
});

t.test('views of a large buffer share one exact buffer after compact()', async (t) => {
  const slab = new Uint8Array(16 * 1024).map((_, i) => i & 0xff);
  const own = new Uint8Array(50).fill(7);
  const shared = new Uint8Array(new SharedArrayBuffer(16 * 1024)).subarray(0, 10);
  const views: Uint8Array[] = [slab.subarray(100, 220), slab.subarray(4000, 4100), own, shared];
  const out: Uint8Array[] = [...views];
  const c = new ViewCompactor();
  views.forEach((v, i) => c.add(v, (nv) => (out[i] = nv)));
  t.equal(c.compact(), slab.byteLength - 220, 'what no longer crosses per post');
  t.same(Buffer.from(out[0]!), Buffer.from(views[0]!));
  t.same(Buffer.from(out[1]!), Buffer.from(views[1]!));
  t.equal(out[0]!.buffer, out[1]!.buffer, 'one buffer for both');
  t.equal(out[0]!.buffer.byteLength, 220);
  t.equal(out[2], own, 'a view of a small buffer of its own is left');
  t.equal(out[3], shared, 'shared memory is left');
  const got = await posted({ d: out[1] });
  t.equal(got.d.buffer.byteLength, 220, 'a post clones 220 bytes, not 16 KiB');
  t.equal(c.compact(), 0, 'each compact() starts afresh');
});

t.test('a buffer the views mostly use is left (a follower frame body)', async (t) => {
  const body = new Uint8Array(SLACK_BYTES_MAX + 500);
  const views = [body.subarray(0, 300), body.subarray(300, 600)];
  const c = new ViewCompactor();
  views.forEach((v) => c.add(v, () => t.fail('not compacted')));
  t.equal(c.compact(), 0);
});

t.test('compactEffects re-points entries (once each), forwarded bytes and replies', async (t) => {
  const slab = Buffer.alloc(8192, 1);
  const e: Entry = { index: 5, term: 2, kind: 'normal', tid: 'a', data: slab.subarray(0, 120) };
  const fwd = { fid: 1, ok: true, reply: slab.subarray(200, 205), code: '', message: '' };
  const okReply = { ok: true as const, reply: slab.subarray(300, 305) };
  const fx = {
    writes: [{ seq: 1, hardState: null, entries: [e] }],
    messages: [
      { type: 'append', term: 2, from: 'n1', to: 'n2', prevLogIndex: 4, prevLogTerm: 2, entries: [e], leaderCommit: 4, ctx: 0 },
      { type: 'fwdReply', term: 2, from: 'n1', to: 'n3', epoch: 9, replies: [fwd] },
    ],
    replies: [{ reqId: 3, reply: okReply }, { reqId: 4, reply: { ok: false, code: 'ERR', message: 'x' } }],
  } as unknown as Effects;
  t.equal(compactEffects(fx), 8192 - 120 + (8192 - 10), 'entries, then the rest');
  t.equal(e.data.buffer.byteLength, 120, 'the entry, counted once though in a write and an append');
  t.equal(fwd.reply.buffer.byteLength, 10, 'the forwarded reply and the reply share a buffer of their own');
  const r = fx.replies[0]!.reply;
  t.ok(r.ok && r.reply.buffer === fwd.reply.buffer, 'the reply too, in a new reply object');
  t.equal(okReply.reply.buffer.byteLength, 8192, 'the replica’s reply object is not changed');
  t.same(fx.replies[1]!.reply, { ok: false, code: 'ERR', message: 'x' });
});
