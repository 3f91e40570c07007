// Turns a batch of messages for one peer into as few frames as frameBytesMax allows.
// The common case is one frame, encoded once. A batch over the bound is split by an
// estimate of encoded size; a message whose own payload is over it is split too:
// - an append into consecutive appends (the second one's prev is the last entry of the
//   first): a follower answers each, which Raft handles like any duplicate or reordered
//   answer;
// - a forwarded write (fwdWrite) or its replies (fwdReply) by items: each item stands
//   alone, matched by its fid.
// What cannot fit in any frame is never lost silently. A single entry is dropped and
// reported (Raft retries and the operator reads why). A single forwarded write is
// returned in `dropped` so the caller fails that client's request. A single reply is
// answered with an error reply in its place, which always fits, and reported.
import type { Frame } from '../actor/protocol.js';
import type { Entry, Message } from '../raft/types.js';
import type { ForwardMessage, PeerMessage } from '../replica/messages.js';
import { assert } from '../util/assert.js';
import { encodeFrame, FRAME_HEADER_BYTES } from './frame-codec.js';
import { encodeFrameParts, hasLargeBytes } from './frame-parts.js';

/** Generous upper estimates of msgpack overhead: keys, type tags, integers. */
const FRAME_BYTES_EST = 16;
const MESSAGE_BYTES_EST = 192;
const ENTRY_BYTES_EST = 64;
/** Bound on the text of an error reply that replaces an oversized one. */
const REPLY_MESSAGE_CHARS_MAX = 200;

type Append = Extract<Message, { type: 'append' }>;
type FwdWrite = Extract<ForwardMessage, { type: 'fwdWrite' }>;
type FwdReply = Extract<ForwardMessage, { type: 'fwdReply' }>;
/** A message whose payload can be cut into smaller messages of the same kind. */
type Splittable = Append | FwdWrite | FwdReply;

export interface EncodedBatch {
  /** Each frame as the parts to write in order (one, unless it carries large byte strings: frame-parts.ts). */
  frames: Buffer[][];
  /**
   * What could not be sent as it was, one message per payload item: an append of one
   * entry, a fwdWrite of one item (the caller fails it), a fwdReply of one reply (already
   * answered with an error in its place).
   */
  dropped: PeerMessage[];
}

function entryBytesEst(e: Entry): number {
  return ENTRY_BYTES_EST + 3 * e.tid.length + e.data.length;
}

function itemBytesEst(m: Splittable, k: number): number {
  switch (m.type) {
    case 'append':
      return entryBytesEst(m.entries[k]!);
    case 'fwdWrite': {
      const it = m.items[k]!;
      return ENTRY_BYTES_EST + 3 * it.tid.length + it.data.length;
    }
    case 'fwdReply': {
      const it = m.replies[k]!;
      return ENTRY_BYTES_EST + it.reply.length + 3 * (it.message.length + it.code.length);
    }
  }
}

function itemCount(m: Splittable): number {
  return m.type === 'append' ? m.entries.length : m.type === 'fwdWrite' ? m.items.length : m.replies.length;
}

function isSplittable(m: PeerMessage): m is Splittable {
  return m.type === 'append' || m.type === 'fwdWrite' || m.type === 'fwdReply';
}

export function messageBytesEst(m: PeerMessage): number {
  let n = MESSAGE_BYTES_EST + 3 * (m.from.length + m.to.length);
  if (isSplittable(m)) for (let k = itemCount(m) - 1; k >= 0; k--) n += itemBytesEst(m, k);
  else if (m.type === 'snapChunk') n += m.data.length;
  return n;
}

/** Splits an append into two consecutive appends at entry k (0 < k < entries.length). */
export function splitAppend(m: Append, k: number): [Append, Append] {
  assert(k > 0 && k < m.entries.length, 'split point inside the entries');
  const last = m.entries[k - 1]!;
  return [
    { ...m, entries: m.entries.slice(0, k) },
    { ...m, prevLogIndex: last.index, prevLogTerm: last.term, entries: m.entries.slice(k) },
  ];
}

/** Splits any splittable message into two at item k (0 < k < its item count). */
function splitAt<M extends Splittable>(m: M, k: number): [M, M] {
  assert(k > 0 && k < itemCount(m), 'split point inside the items');
  switch (m.type) {
    case 'append':
      return splitAppend(m, k) as [M, M];
    case 'fwdWrite':
      return [{ ...m, items: m.items.slice(0, k) }, { ...m, items: m.items.slice(k) }];
    case 'fwdReply':
      return [{ ...m, replies: m.replies.slice(0, k) }, { ...m, replies: m.replies.slice(k) }];
  }
}

export function encodeBatch(messages: readonly PeerMessage[], frameBytesMax: number): EncodedBatch {
  const out: EncodedBatch = { frames: [], dropped: [] };
  const budget = frameBytesMax - FRAME_BYTES_EST;
  let group: PeerMessage[] = [];
  let groupBytes = 0;
  const flush = () => {
    if (group.length > 0) encodeGroup(group, frameBytesMax, out);
    group = [];
    groupBytes = 0;
  };
  for (const m of messages) {
    for (const piece of splitByEstimate(m, budget)) {
      const n = messageBytesEst(piece);
      if (groupBytes + n > budget) flush();
      group.push(piece);
      groupBytes += n;
    }
  }
  flush();
  return out;
}

/** A message estimated over the budget becomes several of its kind (each at least one item). */
function splitByEstimate(m: PeerMessage, budget: number): PeerMessage[] {
  if (!isSplittable(m) || itemCount(m) <= 1 || messageBytesEst(m) <= budget) return [m];
  const pieces: PeerMessage[] = [];
  let rest: Splittable = m;
  for (;;) {
    let n = MESSAGE_BYTES_EST + 3 * (rest.from.length + rest.to.length);
    let k = 0;
    const count = itemCount(rest);
    while (k < count && (k === 0 || n + itemBytesEst(rest, k) <= budget)) n += itemBytesEst(rest, k++);
    if (k === count) break;
    const [head, tail] = splitAt(rest, k);
    pieces.push(head);
    rest = tail;
  }
  pieces.push(rest);
  return pieces;
}

/** A frame's parts: one buffer from msgpackr, or parts that leave large byte strings uncopied. */
function encodeParts(frame: Frame): Buffer[] {
  return hasLargeBytes(frame) ? encodeFrameParts(frame) : [encodeFrame(frame)];
}

/** Bytes of a frame's parts, length prefix included. */
export function partsBytes(parts: readonly Buffer[]): number {
  let n = 0;
  for (const p of parts) n += p.length;
  return n;
}

/** Encodes a group as one frame; if the estimate was wrong, halves it until each part fits. */
function encodeGroup(group: PeerMessage[], frameBytesMax: number, out: EncodedBatch): void {
  const frame = encodeParts({ t: 'msgs', m: group });
  if (partsBytes(frame) - FRAME_HEADER_BYTES <= frameBytesMax) {
    out.frames.push(frame);
    return;
  }
  if (group.length > 1) {
    const half = group.length >> 1;
    encodeGroup(group.slice(0, half), frameBytesMax, out);
    encodeGroup(group.slice(half), frameBytesMax, out);
    return;
  }
  const m = group[0]!;
  if (isSplittable(m) && itemCount(m) > 1) {
    const [a, b] = splitAt(m, itemCount(m) >> 1);
    encodeGroup([a], frameBytesMax, out);
    encodeGroup([b], frameBytesMax, out);
    return;
  }
  out.dropped.push(m);
  if (m.type === 'fwdReply') {
    const answer = replyTooLarge(m, frameBytesMax);
    const f = encodeFrame({ t: 'msgs', m: [answer] });
    assert(f.length - FRAME_HEADER_BYTES <= frameBytesMax, `an error reply does not fit a ${frameBytesMax} B frame`);
    out.frames.push([f]);
  }
}

/** The error reply that stands for a reply too large for any frame. */
function replyTooLarge(m: FwdReply, frameBytesMax: number): FwdReply {
  const r = m.replies[0]!;
  const message = `reply of ${r.reply.length} bytes is over the peer frame bound of ${frameBytesMax} bytes`.slice(0, REPLY_MESSAGE_CHARS_MAX);
  return { ...m, replies: [{ fid: r.fid, ok: false, reply: new Uint8Array(0), code: 'ERR', message }] };
}
