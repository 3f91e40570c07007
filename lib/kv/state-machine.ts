// The replicated key-value state machine: every node applies the same committed
// entries in the same order and so holds the same keyspace.
//
// Contract with the node above it (lib/replica/, lib/node/):
// - Determinism: apply(entry) is a pure function of the state and the entry. What a
//   command needs from outside, time and randomness, the LEADER chooses and carries in
//   the entry: right before proposing a write it calls stampWrite(data, {nowMs, random})
//   (or prepareWrite(args, ctx) for a command it builds itself), which re-encodes it
//   with its clock and a 32-bit seed (entry-codec.ts). An entry without a stamp (the
//   gateway's encoding, and logs from before stamps) runs at the state machine's time;
//   without a seed, its randomness is seeded by its log index.
// - Time: timeMs is the max of every stamp applied, so it never goes back and a new
//   leader whose clock lags never resurrects a key. A write runs at the effective time
//   max(stamp, timeMs); a key whose deadline is <= that is gone (deleted when a write
//   touches it). read(args, nowMs) treats keys with deadline <= max(nowMs, timeMs) as
//   absent; the node passes the leader's clock (or its own, bounded by the lease).
// - Active expiry: expiredKeys(nowMs, max) lists keys past their deadline; the leader
//   proposes expireCommand(keys), a stamped `__expire` that deletes only keys whose
//   deadline is still <= its stamp, so a concurrent PERSIST or SET is not undone.
// - WATCH: `__versions key...` (a read) gives each key's version (the log index of its
//   last modification) and liveness; EXEC is one entry holding the watched versions and
//   the queued commands, decided at apply time (exec.ts).
// - checkInvariants() walks the keyspace and asserts its invariants (db.ts): for tests
//   and the simulator, not the hot path.
// - Snapshots: beginSnapshot() returns a cursor whose chunks describe the whole state
//   (keys, deadlines, versions, tombstones, time, request ids) at that moment, even while
//   entries are applied between its next() calls (copy on write, snapshot-cursor.ts);
//   snapshot() is such a cursor drained; restore(chunks) rebuilds the state; digest()
//   covers all of it, so replicas can be compared.
//
// Exactly-once writes (Raft dissertation §6.3): an entry's tid is the client's request
// id; the first reply to a tid is kept and a retry gets that reply without running
// again, a whole transaction included. The table forgets a tid after
// dedupWindowEntries further entries, and the oldest tids once it holds more than
// dedupEntriesMax: both measured in log entries, never in time, so every node forgets
// the same tids at the same index.
//
// Keys are kept as latin1 strings (one char per byte: binary-safe, and comparable
// without allocation). SCAN walks them in hash order (scan-index.ts).
import { createHash, type Hash } from 'node:crypto';
import { seededRandom } from '../node/random.js';
import type { Entry } from '../raft/types.js';
import * as w from '../util/resp-writer.js';
import { assert, assertNever } from '../util/assert.js';
import { runCommand } from './command.js';
import { Db, Keyspace, type KvLimits } from './db.js';
import { decodeWrite, encodeWrite, prepareWrite, stampWrite, type KvWrite, type StampContext } from './entry-codec.js';
import { applyExec } from './exec.js';
import { EXPIRE_COMMAND_NAME } from './expiry.js';
import { ELEMENTS_MAX_DEFAULT, KEY_VALUE_BYTES_MAX_DEFAULT } from './limits.js';
import { checkCommand } from './registry.js';
import { restoreChunks, SNAPSHOT_CHUNK_BYTES, type DedupRecord } from './snapshot.js';
import { KvSnapshotCursor, type SnapshotCursor } from './snapshot-cursor.js';

export type { SnapshotCursor } from './snapshot-cursor.js';

export interface KvStateMachineOptions {
  /** Bound on remembered request ids. */
  dedupEntriesMax: number;
  /** A request id is forgotten once the log has moved this many entries past it. */
  dedupWindowEntries: number;
  /** Elements one collection may hold (every replica must use the same value). */
  elementsMax?: number;
  /** Bytes one key's value may hold (every replica must use the same value). */
  valueBytesMax?: number;
}

export class KvStateMachine {
  private readonly dedupEntriesMax: number;
  private readonly dedupWindowEntries: number;
  private readonly limits: KvLimits;
  private ks = new Keyspace();
  /** Insertion order is index order: the oldest request id comes first. */
  private dedup = new Map<string, DedupRecord>();
  /**
   * The oldest request id still remembered, read through one long-lived iterator. A Map
   * keeps a deleted entry's slot until it next rehashes, so walking it from the start for
   * every eviction crossed up to ~100k dead slots each time: once the table was full,
   * every applied entry cost ~50 µs more, growing with history (test/kv-dedup.test.ts).
   * Invariant: dedupHead, when set, is the first entry of `dedup`.
   */
  private dedupIter: Iterator<[string, DedupRecord]> | null = null;
  private dedupHead: [string, DedupRecord] | null = null;
  private lastIndex = 0;
  /** Open snapshot cursors, handed the request ids forgotten while they read. */
  private readonly cursors = new Set<KvSnapshotCursor>();

  constructor(opts: KvStateMachineOptions) {
    assert(Number.isSafeInteger(opts.dedupEntriesMax) && opts.dedupEntriesMax >= 0, 'dedupEntriesMax must be an integer >= 0');
    assert(Number.isSafeInteger(opts.dedupWindowEntries) && opts.dedupWindowEntries >= 0, 'dedupWindowEntries must be an integer >= 0');
    this.dedupEntriesMax = opts.dedupEntriesMax;
    this.dedupWindowEntries = opts.dedupWindowEntries;
    this.limits = { elementsMax: opts.elementsMax ?? ELEMENTS_MAX_DEFAULT, valueBytesMax: opts.valueBytesMax ?? KEY_VALUE_BYTES_MAX_DEFAULT };
    assert(this.limits.elementsMax >= 1 && this.limits.valueBytesMax >= 1, 'limits must be >= 1');
  }

  get keyCount(): number {
    return this.ks.values.size;
  }

  get dedupSize(): number {
    return this.dedup.size;
  }

  /** Bytes of keys plus values. */
  get bytes(): number {
    return this.ks.bytes;
  }

  /** Index of the last entry applied (0 before any). */
  get appliedIndex(): number {
    return this.lastIndex;
  }

  /** The state machine's clock: the greatest time stamp applied. */
  get timeMs(): number {
    return this.ks.timeMs;
  }

  /** Applies one committed entry; indexes must increase. Returns the RESP reply. */
  apply(entry: Entry): Buffer {
    assert(Number.isSafeInteger(entry.index) && entry.index > this.lastIndex, `apply out of order: ${entry.index} after ${this.lastIndex}`);
    this.lastIndex = entry.index;
    let reply: Buffer;
    switch (entry.kind) {
      case 'noop':
      case 'config': // membership is the core's; the state machine only counts the index
        reply = w.OK;
        break;
      case 'normal':
        reply = this.applyNormal(entry);
        break;
      default:
        assertNever(entry.kind, 'entry kind');
    }
    this.expireDedup(entry.index);
    return reply;
  }

  private applyNormal(entry: Entry): Buffer {
    let write: KvWrite;
    try {
      write = decodeWrite(entry.data);
    } catch (err) {
      return w.error(`ERR bad log entry ${entry.index}: ${(err as Error).message}`);
    }
    // Time moves first, even for a repeated request: it depends only on the log.
    this.ks.timeMs = Math.max(this.ks.timeMs, write.stampMs ?? 0);
    if (entry.tid !== '') {
      const seen = this.dedup.get(entry.tid);
      if (seen !== undefined) return seen.reply;
    }
    const db = new Db(this.ks, this.ks.timeMs, entry.index, true, seededRandom(write.seed ?? entry.index), this.limits);
    let reply: Buffer;
    if (write.body.kind === 'command') {
      const checked = checkCommand(write.body.args, 'write');
      if ('error' in checked) return w.error(checked.error); // Refused: nothing changes, nothing is remembered.
      reply = runCommand(checked.cmd, db, write.body.args);
    } else {
      reply = applyExec(db, write.body.watched, write.body.commands);
    }
    if (entry.tid !== '') this.dedup.set(entry.tid, { index: entry.index, reply });
    return reply;
  }

  /** Forgets request ids recorded at or before index - window, then the oldest beyond the bound. */
  private expireDedup(index: number): void {
    const cutoff = index - this.dedupWindowEntries;
    for (let e = this.oldestDedup(); e !== null; e = this.oldestDedup()) {
      const [tid, rec] = e;
      if (rec.index > cutoff && this.dedup.size <= this.dedupEntriesMax) break;
      this.dedup.delete(tid);
      this.dedupHead = null;
      if (this.cursors.size !== 0) for (const c of this.cursors) c.dedupForgotten(tid, rec);
    }
  }

  /** The first (oldest) entry of the request-id table; O(1) amortized (see dedupIter). */
  private oldestDedup(): [string, DedupRecord] | null {
    if (this.dedupHead !== null) return this.dedupHead;
    // A finished iterator stays finished: a new one is made once entries were added again.
    this.dedupIter ??= this.dedup.entries();
    const next = this.dedupIter.next();
    if (next.done === true) {
      this.dedupIter = null;
      return null;
    }
    this.dedupHead = next.value;
    return this.dedupHead;
  }

  /**
   * Runs a read command (name first, any case) against the current state at
   * max(nowMs, timeMs). nowMs should be the leader's clock; it defaults to this
   * process's clock until the node passes one. Randomness (SRANDMEMBER, RANDOMKEY)
   * is this node's own: a read changes nothing.
   */
  read(args: Buffer[], nowMs: number = Date.now()): Buffer {
    const checked = checkCommand(args, 'read');
    if ('error' in checked) return w.error(checked.error);
    const db = new Db(this.ks, Math.max(nowMs, this.ks.timeMs), 0, false, Math.random, this.limits);
    return runCommand(checked.cmd, db, args);
  }

  // ------------------------------------------------------------ for the leader

  /** A write re-encoded with the leader's clock and a seed (entry-codec.ts). */
  stampWrite(data: Uint8Array, ctx: StampContext): Uint8Array {
    return stampWrite(data, ctx);
  }

  prepareWrite(args: Buffer[], ctx: StampContext): Uint8Array {
    return prepareWrite(args, ctx);
  }

  /** Up to `max` keys whose deadline is <= max(nowMs, timeMs), oldest deadline first not guaranteed. */
  expiredKeys(nowMs: number, max: number): Buffer[] {
    const now = Math.max(nowMs, this.ks.timeMs);
    const out: Buffer[] = [];
    for (const [k, d] of this.ks.deadlines) {
      if (out.length >= max) break;
      if (d <= now) out.push(Buffer.from(k, 'latin1'));
    }
    return out;
  }

  /** The entry data that deletes these keys if they are still expired at `nowMs` (to be proposed as is: it is stamped). */
  expireCommand(keys: Buffer[], nowMs: number): Uint8Array {
    assert(keys.length > 0, 'no keys to expire');
    return encodeWrite({ stampMs: Math.max(0, Math.floor(nowMs)), seed: null, body: { kind: 'command', args: [Buffer.from(EXPIRE_COMMAND_NAME), ...keys] } });
  }

  /** Asserts the keyspace's invariants (db.ts), walking all of it: for tests and the simulator. */
  checkInvariants(): void {
    this.ks.checkInvariants();
  }

  // ------------------------------------------------------------ snapshots

  /**
   * A cursor over the state as it is now (at index appliedIndex): entries may be applied
   * between its next() calls, its chunks still describe this moment. Costs O(keys) pointer
   * copies now and bounded copies later (snapshot-cursor.ts); close it when abandoned.
   * Chunks end once they hold about chunkBytes (tests make them small).
   */
  beginSnapshot(chunkBytes: number = SNAPSHOT_CHUNK_BYTES): SnapshotCursor {
    const c = new KvSnapshotCursor(this.ks, this.dedup, this.lastIndex, (done) => this.cursors.delete(done), chunkBytes);
    this.cursors.add(c);
    return c;
  }

  /** Snapshot cursors neither drained nor closed. */
  get openSnapshotCursors(): number {
    return this.cursors.size;
  }

  /** The whole state as it is now, in chunks: a cursor begun now (the state may change while iterating). */
  snapshot(chunkBytes: number = SNAPSHOT_CHUNK_BYTES): Generator<Uint8Array> {
    const c = this.beginSnapshot(chunkBytes);
    return (function* () {
      try {
        for (let chunk = c.next(); chunk !== null; chunk = c.next()) yield chunk;
      } finally {
        c.close();
      }
    })();
  }

  /** Replaces the whole state with one taken by a cursor; open cursors go on reading the old state. */
  restore(chunks: Iterable<Uint8Array>): void {
    const st = restoreChunks(chunks);
    // Nothing changes the old keyspace and table any more: open cursors read them as they are.
    this.cursors.clear();
    this.ks = st.ks;
    this.dedup = st.dedup;
    this.dedupIter = null;
    this.dedupHead = null;
    this.lastIndex = st.lastIndex;
  }

  /**
   * SHA-256 over everything apply() depends on: keys (in the key list's order, which
   * RANDOMKEY depends on) with type, value (in its own order), deadline and version; tombstones, time, the request-id table
   * and the last index. Two nodes that applied the same entries have the same digest.
   */
  digest(): string {
    const h = createHash('sha256');
    const num = (n: number): void => {
      const b = Buffer.alloc(8);
      b.writeDoubleBE(n);
      h.update(b);
    };
    const bytes = (b: Buffer | string): void => {
      const buf = typeof b === 'string' ? Buffer.from(b, 'latin1') : b;
      num(buf.length);
      h.update(buf);
    };
    num(this.lastIndex);
    num(this.ks.timeMs);
    num(this.ks.tombstoneFloor);
    num(this.ks.values.size);
    for (const k of this.ks.keyList) {
      bytes(k);
      num(this.ks.deadlines.get(k) ?? -1);
      num(this.ks.versions.get(k)!);
      digestValue(h, this.ks.values.get(k)!, num, bytes);
    }
    num(this.ks.tombstones.size);
    for (const [k, i] of this.ks.tombstones) {
      bytes(k);
      num(i);
    }
    num(this.dedup.size);
    for (const [tid, rec] of this.dedup) {
      bytes(Buffer.from(tid, 'utf8'));
      num(rec.index);
      bytes(rec.reply);
    }
    return h.digest('hex');
  }
}

function digestValue(h: Hash, v: import('./values.js').Value, num: (n: number) => void, bytes: (b: Buffer | string) => void): void {
  h.update(v.type);
  switch (v.type) {
    case 'string':
      bytes(v.v);
      return;
    case 'hash':
      num(v.v.size);
      for (const [f, x] of v.v) {
        bytes(f);
        bytes(x);
      }
      return;
    case 'list':
      num(v.v.length);
      for (const x of v.v.toArray()) bytes(x);
      return;
    case 'set':
      num(v.v.size);
      for (const m of v.v) bytes(m);
      return;
    case 'zset':
      num(v.v.scores.size);
      for (const [m, s] of v.v.scores) {
        bytes(m);
        num(s);
      }
      return;
  }
}
