// A consistent view of the key-value state for a snapshot, read chunk by chunk while
// entries go on being applied (issue 9: taking a snapshot must not stall clients).
//
// beginSnapshot() fixes the state of that moment; next() returns the chunks describing
// exactly it (format in snapshot.ts), however many entries are applied between calls.
// Copy on write, per key: the keyspace tells every open cursor before a key changes in
// any way (Keyspace.willChange: value in place or replaced, deadline, version, deletion,
// expiry), and the cursor keeps a deep copy of what the key held, unless it no longer
// needs it (the cursor has passed all keys, or the key was created or copied after the
// beginning: its version is then above the cursor's index). Keys created after the
// beginning are not in the cursor's key order and are skipped. The rest of the state:
// - time, tombstone floor, last index, key count: fixed in the head chunk at the beginning;
// - tombstones (at most TOMBSTONES_MAX): the cursor holds the map, which the keyspace
//   copies before it next changes it;
// - request ids: the table only grows at its end (ids newer than the cursor, skipped)
//   and forgets from its front, so the cursor is handed the records forgotten before it
//   emitted them (dedupForgotten) and reads the rest from the live table;
// - FLUSHALL replaces the keyspace's maps instead of clearing them, and restore() a whole
//   keyspace: the cursor goes on reading the old ones, which nothing changes any more.
//
// Memory beside the live state, while a cursor is open: the key order (one pointer per key
// present at the beginning, 8 bytes), a copy of each key changed while the cursor has not
// yet passed all keys (at most the keys changed, each once, and dropped as the cursor
// passes it), one copy of the tombstone map if a tombstone changes (at most
// TOMBSTONES_MAX entries), and the request-id records forgotten while it is open (at most
// the table's size at the beginning). Close a cursor you stop reading: until then its
// copies are kept. Copying a key's value costs O(its size) on the write that changes it.
import { assert } from '../util/assert.js';
import type { Keyspace, KeyspaceReader } from './db.js';
import { RecordWriter } from './records.js';
import { ChunkBuilder, encodeEnd, encodeHead, ownChunk, SNAPSHOT_CHUNK_BYTES, type ChunkAlloc, type DedupRecord } from './snapshot.js';
import { cloneValue, type Value } from './values.js';

export interface SnapshotCursor {
  /** The index of the last entry applied when the cursor began: the snapshot's index. */
  readonly index: number;
  /**
   * The next chunk, or null after the last one (the cursor is then closed). The records
   * chunks are written into memory from `alloc` (by default an ArrayBuffer of their own).
   */
  next(alloc?: ChunkAlloc): Uint8Array | null;
  /** Releases the cursor's copies; idempotent. Entries may be applied at any time, open or closed. */
  close(): void;
}

/** The request-id table's side: the state machine hands over what it forgets. */
export interface DedupReader {
  dedupForgotten(tid: string, rec: DedupRecord): void;
}

interface KeptKey {
  v: Value;
  deadline: number | undefined;
  version: number;
}

type Stage = 'head' | 'keys' | 'tombstones' | 'dedup' | 'end' | 'closed';

export class KvSnapshotCursor implements SnapshotCursor, KeyspaceReader, DedupReader {
  private stage: Stage = 'head';
  private readonly head: Uint8Array;
  /** The key list's order at the beginning. */
  private readonly order: string[];
  private pos = 0;
  // The keyspace's maps at the beginning: the live ones until a FLUSHALL or restore replaces them.
  private readonly values: Map<string, Value>;
  private readonly deadlines: Map<string, number>;
  private readonly versions: Keyspace['versions'];
  private readonly tombstones: Map<string, number>;
  private tombstoneIter: Iterator<[string, number]> | null = null;
  /** Keys changed since the beginning that the cursor has not yet passed, as they were. */
  private kept = new Map<string, KeptKey>();
  private detached = false;
  /** Request ids forgotten before being emitted, oldest first. */
  private forgotten: [string, DedupRecord][] = [];
  private forgottenPos = 0;
  private dedupIter: Iterator<[string, DedupRecord]> | null = null;
  /** Request-id records are emitted in index order: the last one emitted. */
  private dedupEmitted = -1;
  /** Where chunks are written before being packed, kept from one chunk to the next. */
  private readonly scratch: RecordWriter;

  constructor(
    private readonly ks: Keyspace,
    private readonly dedup: Map<string, DedupRecord>,
    readonly index: number,
    private readonly onClose: (c: KvSnapshotCursor) => void,
    /** A chunk ends once it holds this many bytes (one value is never split). */
    private readonly chunkBytes: number,
  ) {
    assert(Number.isSafeInteger(chunkBytes) && chunkBytes >= 1, 'chunk bytes must be >= 1');
    this.scratch = new RecordWriter(Math.min(chunkBytes, SNAPSHOT_CHUNK_BYTES) + 64 * 1024);
    this.order = ks.keyList.toArray();
    assert(this.order.length === ks.values.size, 'key list and keys disagree');
    this.values = ks.values;
    this.deadlines = ks.deadlines;
    this.versions = ks.versions;
    this.tombstones = ks.shareTombstones();
    this.head = encodeHead(index, ks.timeMs, ks.tombstoneFloor, this.order.length);
    ks.readers.add(this);
  }

  /** Keys kept as they were, not yet passed (for tests: the memory bound). */
  get keptKeys(): number {
    return this.kept.size;
  }

  keep(k: string): void {
    if (this.detached || this.kept.has(k)) return;
    const v = this.values.get(k);
    if (v === undefined) return; // absent since the beginning, or changed and kept already
    const version = this.versions.get(k)!;
    if (version > this.index) return; // created (or moved) after the beginning
    this.kept.set(k, { v: cloneValue(v), deadline: this.deadlines.get(k), version });
  }

  detach(): void {
    this.detached = true;
  }

  dedupForgotten(tid: string, rec: DedupRecord): void {
    if (rec.index <= this.index && rec.index > this.dedupEmitted) this.forgotten.push([tid, rec]);
  }

  next(alloc: ChunkAlloc = ownChunk): Uint8Array | null {
    switch (this.stage) {
      case 'head':
        this.stage = 'keys';
        return this.head;
      case 'keys': {
        const out = this.keysChunk(alloc);
        if (out !== null) return out;
        this.stopWatchingKeys();
        this.stage = 'tombstones';
        this.tombstoneIter = this.tombstones[Symbol.iterator]();
        return this.next(alloc);
      }
      case 'tombstones': {
        const b = new ChunkBuilder('tombstones2', this.scratch, this.chunkBytes);
        for (let r = this.tombstoneIter!.next(); !r.done; r = this.tombstoneIter!.next()) {
          b.tombstone(r.value[0], r.value[1]);
          if (b.full) break;
        }
        if (!b.empty) return b.take(alloc);
        this.ks.releaseTombstones(this.tombstones);
        this.tombstoneIter = null;
        this.stage = 'dedup';
        this.dedupIter = this.dedup[Symbol.iterator]();
        return this.next(alloc);
      }
      case 'dedup': {
        const out = this.dedupChunk(alloc);
        if (out !== null) return out;
        this.stage = 'end';
        return encodeEnd();
      }
      case 'end':
        this.close();
        return null;
      case 'closed':
        return null;
    }
  }

  private keysChunk(alloc: ChunkAlloc): Uint8Array | null {
    const b = new ChunkBuilder('keys2', this.scratch, this.chunkBytes);
    while (this.pos < this.order.length && !b.full) {
      const k = this.order[this.pos++]!;
      const kept = this.kept.get(k);
      if (kept !== undefined) {
        this.kept.delete(k);
        b.key(k, kept.v, kept.deadline, kept.version);
      } else {
        const v = this.values.get(k);
        assert(v !== undefined, `snapshot cursor: key ${k} neither present nor kept`);
        b.key(k, v, this.deadlines.get(k), this.versions.get(k)!);
      }
    }
    return b.empty ? null : b.take(alloc);
  }

  private dedupChunk(alloc: ChunkAlloc): Uint8Array | null {
    const b = new ChunkBuilder('dedup2', this.scratch, this.chunkBytes);
    const add = (tid: string, rec: DedupRecord): void => {
      assert(rec.index > this.dedupEmitted, 'snapshot cursor: request ids out of order');
      this.dedupEmitted = rec.index;
      b.dedup(tid, rec);
    };
    // Forgotten records are older than any still in the table.
    while (this.forgottenPos < this.forgotten.length && !b.full) {
      const [tid, rec] = this.forgotten[this.forgottenPos]!;
      this.forgottenPos++;
      add(tid, rec);
    }
    if (this.forgottenPos === this.forgotten.length) {
      this.forgotten = [];
      this.forgottenPos = 0;
    }
    while (this.dedupIter !== null && !b.full) {
      const r = this.dedupIter.next();
      if (r.done || r.value[1].index > this.index) {
        this.dedupIter = null;
        break;
      }
      add(r.value[0], r.value[1]);
    }
    return b.empty ? null : b.take(alloc);
  }

  private stopWatchingKeys(): void {
    this.ks.readers.delete(this);
    this.kept = new Map();
  }

  close(): void {
    if (this.stage === 'closed') return;
    this.stopWatchingKeys();
    if (this.stage === 'head' || this.stage === 'keys' || this.stage === 'tombstones') this.ks.releaseTombstones(this.tombstones);
    this.stage = 'closed';
    this.forgotten = [];
    this.tombstoneIter = null;
    this.dedupIter = null;
    this.onClose(this);
  }
}
