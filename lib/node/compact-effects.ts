// Before a Ready round's effects are posted (entries to the log writer and to each
// replicator, replies to the gateway), the bytes they carry are moved out of the large
// buffers they usually view (lib/actor/compact-views.ts says why that matters). Entry
// objects are the core's own, re-pointed in place, as shareLargeEntries does: the bytes
// are the same and later rounds (a resent append) post the compact copy too.
import { ViewCompactor, wasteful } from '../actor/compact-views.js';
import type { Entry } from '../raft/types.js';
import type { Effects } from '../replica/replica.js';

const compactor = new ViewCompactor();

function addEntry(e: Entry): void {
  if (wasteful(e.data)) compactor.add(e.data, (v) => (e.data = v));
}

/** Re-points the round's entry, reply and forwarded bytes at compact buffers; returns the bytes no longer cloned per crossing. */
export function compactEffects(fx: Effects): number {
  // The log's new entries first: the appends that carry them then find them compact
  // already (an entry is in a write and in an append per follower).
  for (const w of fx.writes) for (const e of w.entries) addEntry(e);
  let saved = compactor.compact();
  for (const m of fx.messages) {
    switch (m.type) {
      case 'append':
        for (const e of m.entries) addEntry(e);
        break;
      case 'fwdWrite':
        for (const it of m.items) if (wasteful(it.data)) compactor.add(it.data, (v) => (it.data = v));
        break;
      case 'fwdReply':
        for (const it of m.replies) if (wasteful(it.reply)) compactor.add(it.reply, (v) => (it.reply = v));
        break;
      default:
        break;
    }
  }
  for (const r of fx.replies) {
    const reply = r.reply;
    if (reply.ok && wasteful(reply.reply)) compactor.add(reply.reply, (v) => (r.reply = { ok: true, reply: v }));
  }
  saved += compactor.compact();
  return saved;
}
