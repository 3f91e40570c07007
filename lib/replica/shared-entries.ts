// A leader posts each new entry to the log writer and to one replicator per follower:
// posting a Uint8Array to a worker copies it (structured clone), so a 100 KB value cost
// the leader's main thread five copies on 5 nodes, and each receiving thread one more.
// Data in a SharedArrayBuffer crosses threads without a copy: one copy here instead.
import type { Entry } from '../raft/types.js';
import { copyBytes } from '../util/copy-bytes.js';

/** Below this, a copy per thread is cheaper than a shared buffer of its own (an allocation each). */
export const SHARE_ENTRY_BYTES_MIN = 16 * 1024;

/**
 * Moves the data of large entries into shared memory, in place: the entry objects are the
 * ones the core's log holds, so later appends (and the state machine) use the shared copy
 * too. The bytes are the same; nobody writes to entry data after it is proposed.
 */
export function shareLargeEntries(entries: readonly Entry[], bytesMin = SHARE_ENTRY_BYTES_MIN): number {
  let shared = 0;
  for (const e of entries) {
    const d = e.data;
    if (d.byteLength < bytesMin || d.buffer instanceof SharedArrayBuffer) continue;
    const copy = new Uint8Array(new SharedArrayBuffer(d.byteLength));
    copyBytes(copy, 0, d);
    e.data = copy;
    shared++;
  }
  return shared;
}
