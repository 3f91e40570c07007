// Batches over frameBytesMax are split into several frames, never refused: messages
// keep their order, an append too big for one frame becomes consecutive appends, and
// only an entry that fits in no frame is dropped. Forwarded writes and replies split by
// items; one too big for any frame is returned (a write) or answered with an error (a
// reply), never lost silently. Also the bounded send queue.
import t from 'tap';
import type { Frame, PeerMessage } from '../actors/protocol.js';
import type { Entry, Message } from '../lib/raft/types.js';
import { encodeBatch, partsBytes } from '../lib/wire/batch.js';
import { BoundedQueue } from '../lib/wire/bounded-queue.js';
import { FRAME_HEADER_BYTES, FrameDecoder } from '../lib/wire/frame-codec.js';

type Append = Extract<Message, { type: 'append' }>;

function append(prevLogIndex: number, sizes: number[], term = 5): Append {
  const entries: Entry[] = sizes.map((n, i) => ({ index: prevLogIndex + 1 + i, term, kind: 'normal', tid: `t${i}`, data: new Uint8Array(n).fill(i & 0xff) }));
  return { type: 'append', term, from: 'n1', to: 'n2', prevLogIndex, prevLogTerm: term, entries, leaderCommit: prevLogIndex, ctx: 3 };
}

function decode(t: { ok(v: unknown, msg: string): unknown }, frames: Buffer[][], max: number): PeerMessage[] {
  const d = new FrameDecoder(max);
  const out: PeerMessage[] = [];
  for (const parts of frames) {
    const body = partsBytes(parts) - FRAME_HEADER_BYTES;
    t.ok(body <= max, `frame body ${body} <= ${max}`);
    for (const p of parts) for (const fr of d.push(p)) out.push(...(fr as Extract<Frame, { t: 'msgs' }>).m);
  }
  return out;
}

/** All entries carried, in order, with each piece's prev matching the entry before it. */
function entriesOf(msgs: PeerMessage[]): Entry[] {
  const out: Entry[] = [];
  for (const m of msgs) if (m.type === 'append') out.push(...m.entries);
  return out;
}

t.test('a batch that fits is one frame', async (t) => {
  const msgs: Message[] = [append(0, [10, 20]), { type: 'readIndex', term: 5, from: 'n1', to: 'n2', ctx: 1 }];
  const { frames, dropped } = encodeBatch(msgs, 4096);
  t.equal(frames.length, 1);
  t.same(dropped, []);
  t.equal(decode(t, frames, 4096).length, 2);
});

t.test('many messages over the bound are spread over frames in order', async (t) => {
  const msgs: Message[] = [];
  for (let i = 0; i < 300; i++) msgs.push({ type: 'appendResp', term: 5, from: 'n1', to: 'n2', success: true, matchIndex: i, rejectIndex: 0, conflictTerm: 0, conflictIndex: 0, ctx: 0 });
  const { frames, dropped } = encodeBatch(msgs, 2000);
  t.ok(frames.length > 1, `${frames.length} frames`);
  t.same(dropped, []);
  t.same(
    decode(t, frames, 2000).map((m) => (m as { matchIndex: number }).matchIndex),
    msgs.map((_, i) => i),
  );
});

t.test('an append over the bound becomes consecutive appends', async (t) => {
  const big = append(100, Array.from({ length: 50 }, (_, i) => 100 + i * 7));
  const { frames, dropped } = encodeBatch([big], 1500);
  t.ok(frames.length > 1, `${frames.length} frames`);
  t.same(dropped, []);
  const got = decode(t, frames, 1500) as Append[];
  let prev = { index: big.prevLogIndex, term: big.prevLogTerm };
  for (const m of got) {
    t.equal(m.prevLogIndex, prev.index);
    t.equal(m.prevLogTerm, prev.term);
    t.equal(m.ctx, big.ctx);
    t.ok(m.entries.length > 0);
    const last = m.entries[m.entries.length - 1]!;
    prev = { index: last.index, term: last.term };
  }
  t.same(
    entriesOf(got).map((e) => [e.index, e.data.length]),
    big.entries.map((e) => [e.index, e.data.length]),
  );
});

t.test('when the estimate is wrong, halving still fits every frame', async (t) => {
  // Long tids (3 bytes a char in UTF-8) and tiny data: the estimate counts them, halving is the backstop.
  const m = append(0, Array.from({ length: 40 }, () => 1));
  m.entries.forEach((e, i) => (e.tid = '€'.repeat(20 + i)));
  const { frames, dropped } = encodeBatch([m, m], 1200);
  t.same(dropped, []);
  t.equal(entriesOf(decode(t, frames, 1200)).length, 80);
});

t.test('only an entry that fits in no frame is dropped', async (t) => {
  const m = append(0, [10, 5000, 10]);
  const { frames, dropped } = encodeBatch([m], 1000);
  t.equal(dropped.length, 1);
  t.same((dropped[0] as Append).entries.map((e) => e.index), [2]);
  t.same(
    entriesOf(decode(t, frames, 1000)).map((e) => e.index),
    [1, 3],
  );
});

t.test('bounded queue drops the oldest, by count and by bytes', async (t) => {
  const q = new BoundedQueue<number>(3);
  t.equal(q.pushAll([1, 2]), 0);
  t.equal(q.pushAll([3, 4, 5]), 2);
  t.same(q.shift(10), [3, 4, 5]);
  t.equal(q.length, 0);
  const b = new BoundedQueue<number>(100, 10, (n) => n);
  t.equal(b.pushAll([4, 4]), 0);
  t.equal(b.pushAll([4]), 1, 'over 10 bytes: oldest goes');
  t.equal(b.bytes, 8);
  t.equal(b.pushAll([50]), 2, 'the newest stays even alone over the bound');
  t.same(b.shift(5), [50]);
  t.equal(b.bytes, 0);
  // Wrap around many times.
  const w = new BoundedQueue<number>(7);
  let next = 0;
  let expect = 0;
  for (let i = 0; i < 1000; i++) {
    const k = 1 + (i % 5);
    const d = w.pushAll(Array.from({ length: k }, () => next++));
    expect += d;
    for (const v of w.shift(i % 3)) t.equal(v, expect++);
  }
});

type FwdWrite = Extract<PeerMessage, { type: 'fwdWrite' }>;
type FwdReply = Extract<PeerMessage, { type: 'fwdReply' }>;

function fwdWrite(sizes: number[]): FwdWrite {
  return { type: 'fwdWrite', term: 5, from: 'n2', to: 'n1', epoch: 7, items: sizes.map((n, i) => ({ fid: i + 1, tid: `r${i}`, data: new Uint8Array(n).fill(i & 0xff) })) };
}

function fwdReply(sizes: number[]): FwdReply {
  return {
    type: 'fwdReply',
    term: 5,
    from: 'n1',
    to: 'n2',
    epoch: 7,
    replies: sizes.map((n, i) => ({ fid: i + 1, ok: true, reply: new Uint8Array(n).fill(i & 0xff), code: '', message: '' })),
  };
}

t.test('a forwarded-write batch over the bound is split by items, none lost', async (t) => {
  // Before: the whole fwdWrite was dropped and every client in it waited for -TIMEOUT.
  const m = fwdWrite(Array.from({ length: 60 }, (_, i) => 200 + i * 13));
  const { frames, dropped } = encodeBatch([m], 2000);
  t.ok(frames.length > 1, `${frames.length} frames`);
  t.same(dropped, []);
  const got = decode(t, frames, 2000) as FwdWrite[];
  for (const g of got) {
    t.equal(g.type, 'fwdWrite');
    t.equal(g.term, 5);
    t.ok(g.items.length > 0);
  }
  t.same(
    got.flatMap((g) => g.items.map((it) => [it.fid, it.tid, it.data.length])),
    m.items.map((it) => [it.fid, it.tid, it.data.length]),
  );
});

t.test('a forwarded-reply batch over the bound is split by replies, none lost', async (t) => {
  const m = fwdReply(Array.from({ length: 80 }, (_, i) => 50 + i * 11));
  const other = fwdWrite([10]);
  const { frames, dropped } = encodeBatch([m, other], 1500);
  t.ok(frames.length > 1);
  t.same(dropped, []);
  const got = decode(t, frames, 1500);
  t.same(got.at(-1), other, 'order kept: the message after the split one comes last');
  t.same(
    (got.slice(0, -1) as FwdReply[]).flatMap((g) => g.replies.map((r) => [r.fid, r.reply.length])),
    m.replies.map((r) => [r.fid, r.reply.length]),
  );
});

t.test('splitting by real size when the estimate is wrong (long multi-byte messages)', async (t) => {
  const m = fwdReply(Array.from({ length: 30 }, () => 1));
  m.replies.forEach((r) => {
    r.ok = false;
    r.code = 'ERR';
    r.message = '€'.repeat(60);
  });
  const { frames, dropped } = encodeBatch([m], 1200);
  t.same(dropped, []);
  t.equal((decode(t, frames, 1200) as FwdReply[]).flatMap((g) => g.replies).length, 30);
});

t.test('a forwarded write too big for any frame is returned for the caller to fail; the rest go', async (t) => {
  const m = fwdWrite([10, 5000, 10]);
  const { frames, dropped } = encodeBatch([m], 1000);
  t.equal(dropped.length, 1);
  t.same((dropped[0] as FwdWrite).items.map((it) => it.fid), [2]);
  t.same(
    (decode(t, frames, 1000) as FwdWrite[]).flatMap((g) => g.items.map((it) => it.fid)),
    [1, 3],
  );
});

t.test('a reply too big for any frame is answered with an error reply in its place', async (t) => {
  const m = fwdReply([10, 5000, 10]);
  const { frames, dropped } = encodeBatch([m], 1000);
  t.same((dropped as FwdReply[]).map((d) => d.replies.map((r) => r.fid)), [[2]], 'reported');
  const replies = (decode(t, frames, 1000) as FwdReply[]).flatMap((g) => g.replies);
  t.same(
    replies.map((r) => [r.fid, r.ok]),
    [
      [1, true],
      [2, false],
      [3, true],
    ],
    'every client gets an answer, in order',
  );
  t.equal(replies[1]!.code, 'ERR');
  t.match(replies[1]!.message, /reply of 5000 bytes is over the peer frame bound of 1000 bytes/);
});

t.test('frame bound of 16 MiB: a 20 MiB forwarded batch of 1 MiB writes arrives whole', async (t) => {
  const max = 16 * 1024 * 1024;
  const m = fwdWrite(Array.from({ length: 20 }, () => 1024 * 1024));
  const { frames, dropped } = encodeBatch([m], max);
  t.same(dropped, []);
  t.equal(frames.length, 2);
  t.equal((decode(t, frames, max) as FwdWrite[]).flatMap((g) => g.items).length, 20);
});
