// Batches over frameBytesMax are split into several frames, never refused: messages
// keep their order, an append too big for one frame becomes consecutive appends, and
// only an entry that fits in no frame is dropped. Also the bounded send queue.
import t from 'tap';
import type { Frame, PeerMessage } from '../actors/protocol.js';
import type { Entry, Message } from '../lib/raft/types.js';
import { encodeBatch } from '../lib/wire/batch.js';
import { BoundedQueue } from '../lib/wire/bounded-queue.js';
import { FRAME_HEADER_BYTES, FrameDecoder } from '../lib/wire/frame-codec.js';

type Append = Extract<Message, { type: 'append' }>;

function append(prevLogIndex: number, sizes: number[], term = 5): Append {
  const entries: Entry[] = sizes.map((n, i) => ({ index: prevLogIndex + 1 + i, term, kind: 'normal', tid: `t${i}`, data: new Uint8Array(n).fill(i & 0xff) }));
  return { type: 'append', term, from: 'n1', to: 'n2', prevLogIndex, prevLogTerm: term, entries, leaderCommit: prevLogIndex, ctx: 3 };
}

function decode(t: { ok(v: unknown, msg: string): unknown }, frames: Buffer[], max: number): PeerMessage[] {
  const d = new FrameDecoder(max);
  const out: PeerMessage[] = [];
  for (const f of frames) {
    t.ok(f.length - FRAME_HEADER_BYTES <= max, `frame body ${f.length - FRAME_HEADER_BYTES} <= ${max}`);
    for (const fr of d.push(f)) out.push(...(fr as Extract<Frame, { t: 'msgs' }>).m);
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
