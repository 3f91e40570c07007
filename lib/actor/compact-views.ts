// Posting a Uint8Array to another thread clones its whole backing ArrayBuffer, not just
// the bytes it views (V8's serializer writes the buffer, then the view's range). The
// bytes of an entry or a reply are usually a small view of a much larger buffer: a
// msgpack packer's 8 KiB+ output buffer (a stamped write), Node's 8 KiB Buffer pool
// (`Buffer.from('+OK\r\n')`). A 120-byte entry then cost an 8 KiB copy at every
// crossing: to the log writer and to each replicator, and a reply one to the gateway.
// ViewCompactor moves such views into one exact-size buffer per message first (one
// copy of the bytes actually used), so each crossing clones only those.
import { assert } from '../util/assert.js';

/** A backing buffer holding this many bytes more than its views in a message use is compacted. */
export const SLACK_BYTES_MAX = 1024;

/** Posting this view would clone more than SLACK_BYTES_MAX bytes it does not show (shared memory is never cloned). */
export function wasteful(view: Uint8Array): boolean {
  return view.byteLength > 0 && !(view.buffer instanceof SharedArrayBuffer) && view.buffer.byteLength > view.byteLength + SLACK_BYTES_MAX;
}

interface Ref {
  view: Uint8Array;
  put: (v: Uint8Array) => void;
}

/**
 * Collects the views one message will carry (with how to re-point each), then
 * compact() moves the views of every wasteful backing buffer into one buffer of the
 * bytes they use. Views of shared memory are left alone (posting them copies nothing),
 * as are buffers the views mostly use (a follower's frame body: one clone is the cost).
 */
export class ViewCompactor {
  private refs: Ref[] = [];

  add(view: Uint8Array, put: (v: Uint8Array) => void): void {
    if (wasteful(view)) this.refs.push({ view, put });
  }

  /** Returns the bytes no longer cloned per crossing (the backing buffers' size minus what was copied). */
  compact(): number {
    const refs = this.refs;
    this.refs = [];
    if (refs.length === 0) return 0;
    const used = new Map<ArrayBufferLike, number>();
    for (const r of refs) used.set(r.view.buffer, (used.get(r.view.buffer) ?? 0) + r.view.byteLength);
    // One destination per wasteful backing buffer; views of the same bytes (one entry in
    // two messages of the round) are copied once each, which is harmless.
    const dest = new Map<ArrayBufferLike, { buf: Buffer; at: number }>();
    let saved = 0;
    for (const [backing, bytes] of used) {
      if (backing.byteLength <= bytes + SLACK_BYTES_MAX) continue;
      dest.set(backing, { buf: Buffer.from(new ArrayBuffer(bytes)), at: 0 });
      saved += backing.byteLength - bytes;
    }
    for (const r of refs) {
      const d = dest.get(r.view.buffer);
      if (d === undefined) continue;
      const n = r.view.byteLength;
      d.buf.set(r.view, d.at);
      r.put(d.buf.subarray(d.at, d.at + n));
      d.at += n;
    }
    for (const d of dest.values()) assert(d.at === d.buf.length, 'compacted views fill their buffer exactly');
    return saved;
  }
}
