// Before a Ready round's effects are posted (entries to the log writer and to each
// replicator, replies to the gateway), the bytes they carry are moved out of the large
// buffers they usually view (lib/actor/compact-views.ts says why that matters). Entry
// objects are the core's own, re-pointed in place, as shareLargeEntries does: the bytes
// are the same and later rounds (a resent append) post the compact copy too.
import { ViewCompactor } from '../actor/compact-views.js';
import type { Entry } from '../raft/types.js';
import type { Effects } from '../replica/replica.js';

const compactor = new ViewCompactor();

/** Re-points the round's entry, reply and forwarded bytes at compact buffers; returns the bytes no longer cloned per crossing. */
export function compactEffects(fx: Effects): number {
  const seen = new Set<Entry>();
  const entry = (e: Entry) => {
    if (seen.has(e)) return;
    seen.add(e);
    compactor.add(e.data, (v) => (e.data = v));
  };
  for (const w of fx.writes) for (const e of w.entries) entry(e);
  for (const m of fx.messages) {
    switch (m.type) {
      case 'append':
        for (const e of m.entries) entry(e);
        break;
      case 'fwdWrite':
        for (const it of m.items) compactor.add(it.data, (v) => (it.data = v));
        break;
      case 'fwdReply':
        for (const it of m.replies) compactor.add(it.reply, (v) => (it.reply = v));
        break;
      default:
        break;
    }
  }
  for (const r of fx.replies) {
    const reply = r.reply;
    if (reply.ok) compactor.add(reply.reply, (v) => (r.reply = { ok: true, reply: v }));
  }
  return compactor.compact();
}
