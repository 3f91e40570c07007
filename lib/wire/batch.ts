// Turns a batch of messages for one peer into as few frames as frameBytesMax allows.
// The common case is one frame, encoded once. A batch over the bound is split by an
// estimate of encoded size, and an append whose entries alone are over it is split
// into consecutive appends (the second one's prev is the last entry of the first): a
// follower answers each, which Raft handles like any duplicate or reordered answer.
// Only a single entry that cannot fit in any frame is dropped (and reported).
import type { Entry, Message } from '../raft/types.js';
import type { PeerMessage } from '../replica/messages.js';
import { assert } from '../util/assert.js';
import { encodeFrame, frameBodyBytes } from './frame-codec.js';

/** Generous upper estimates of msgpack overhead: keys, type tags, integers. */
const FRAME_BYTES_EST = 16;
const MESSAGE_BYTES_EST = 192;
const ENTRY_BYTES_EST = 64;

export interface EncodedBatch {
  frames: Buffer[];
  /** Messages that could not be sent: an append whose first entry alone is over the bound. */
  dropped: PeerMessage[];
}

function entryBytesEst(e: Entry): number {
  return ENTRY_BYTES_EST + 3 * e.tid.length + e.data.length;
}

export function messageBytesEst(m: PeerMessage): number {
  let n = MESSAGE_BYTES_EST + 3 * (m.from.length + m.to.length);
  if (m.type === 'append') for (const e of m.entries) n += entryBytesEst(e);
  else if (m.type === 'fwdWrite') for (const it of m.items) n += ENTRY_BYTES_EST + 3 * it.tid.length + it.data.length;
  else if (m.type === 'fwdReply') for (const it of m.replies) n += ENTRY_BYTES_EST + it.reply.length + 3 * it.message.length;
  return n;
}

/** Splits an append into two consecutive appends at entry k (0 < k < entries.length). */
export function splitAppend(m: Extract<Message, { type: 'append' }>, k: number): [Message, Message] {
  assert(k > 0 && k < m.entries.length, 'split point inside the entries');
  const last = m.entries[k - 1]!;
  return [
    { ...m, entries: m.entries.slice(0, k) },
    { ...m, prevLogIndex: last.index, prevLogTerm: last.term, entries: m.entries.slice(k) },
  ];
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

/** An append estimated over the budget becomes several (each at least one entry). */
function splitByEstimate(m: PeerMessage, budget: number): PeerMessage[] {
  if (m.type !== 'append' || m.entries.length <= 1 || messageBytesEst(m) <= budget) return [m];
  const pieces: PeerMessage[] = [];
  let rest = m;
  for (;;) {
    let n = messageBytesEst({ ...rest, entries: [] });
    let k = 0;
    while (k < rest.entries.length && (k === 0 || n + entryBytesEst(rest.entries[k]!) <= budget)) n += entryBytesEst(rest.entries[k++]!);
    if (k === rest.entries.length) break;
    const [head, tail] = splitAppend(rest, k);
    pieces.push(head);
    rest = tail as typeof rest;
  }
  pieces.push(rest);
  return pieces;
}

/** Encodes a group as one frame; if the estimate was wrong, halves it until each part fits. */
function encodeGroup(group: PeerMessage[], frameBytesMax: number, out: EncodedBatch): void {
  const frame = encodeFrame({ t: 'msgs', m: group });
  if (frameBodyBytes(frame) <= frameBytesMax) {
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
  if (m.type === 'append' && m.entries.length > 1) {
    const [a, b] = splitAppend(m, m.entries.length >> 1);
    encodeGroup([a], frameBytesMax, out);
    encodeGroup([b], frameBytesMax, out);
    return;
  }
  out.dropped.push(m);
}
