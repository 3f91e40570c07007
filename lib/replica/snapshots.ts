// Snapshots above the core (Raft dissertation ch. 5): taking one when the log has
// grown, compacting after it is durable, streaming the newest one to a follower the
// core says needs it (InstallSnapshot, one chunk in flight per follower, resumable),
// and installing one received from a leader. Pure: it asks the log writer for what it
// needs (effects) and is told the answers (inputs).
//
// The state machine's chunks are framed (4-byte length each) in the snapshot's
// content, so content read back in byte ranges of any size splits into them again.
import { CHUNK_HEADROOM_BYTES, ownChunk, SNAPSHOT_CHUNK_BYTES, type ChunkAlloc } from '../kv/snapshot.js';
import type { SnapshotCursor } from '../kv/snapshot-cursor.js';
import type { KvStateMachine } from '../kv/state-machine.js';
import type { RaftCore } from '../raft/core.js';
import { configForSnapshot, configFromSnapshot } from '../raft/config-entry.js';
import type { NodeId, SnapshotMeta } from '../raft/types.js';
import { decodeSnapshotHeader, SNAPSHOT_FIXED_BYTES, snapshotHeaderBytes } from '../storage/snapshot-format.js';
import { assert } from '../util/assert.js';
import { ChunkSlots } from './chunk-slots.js';
import type { SnapAck, SnapChunk } from './messages.js';
import type { LogWriterSnapshotIn, LogWriterSnapshotOut } from './storage-messages.js';

export interface SnapshotLimits {
  /** Take a snapshot once this many entries were applied past the last one ... */
  snapshotEntries: number;
  /** ... or once the entries applied since carry this many bytes (large values fill memory and disk sooner). */
  snapshotLogBytes: number;
  /** Entries kept in the log behind a snapshot, so a briefly lagging follower catches up from the log ... */
  retainEntries: number;
  /**
   * ... but no more of them than hold this many bytes: the log is in memory, and 5,000
   * entries of 100 KB values would keep 500 MB there for a follower that could as well
   * be sent the snapshot.
   */
  retainBytes: number;
  /** Bytes of one InstallSnapshot chunk (and of one content read). */
  chunkBytes: number;
  /** Bytes of the state serialized per process() call while a snapshot is taken: applies go on between. */
  takeBytesPerRound: number;
  /**
   * Reused shared buffers for the chunks of a snapshot being taken (chunk-slots.ts), which
   * the log writer frees once written; the taking waits while all are in flight. 0 or
   * absent: a buffer of its own per chunk, transferred (for a log writer that does not
   * free slots, as the simulator's).
   */
  chunkSlots?: number;
  /** A chunk not acknowledged within this many ticks is sent again; after `attemptsMax` tries the transfer ends. */
  chunkTimeoutTicks: number;
  attemptsMax: number;
}

/** A transfer to one follower: one chunk in flight. */
interface Outgoing {
  index: number;
  term: number;
  offset: number;
  /** 'read': waiting for the log writer's bytes; 'ack': waiting for the follower. */
  stage: 'read' | 'ack';
  reqId: number;
  deadlineTick: number;
  attempts: number;
}

/** A snapshot from a leader being received, then loaded into the state machine. */
interface Incoming {
  from: NodeId;
  leaderTerm: number;
  index: number;
  term: number;
  /** Set once installed: the file read back, its header for the configuration, its content for the state machine. */
  restore: { reqId: number; offset: number; file: SnapshotFileReader } | null;
}

const FRAME_HEADER_BYTES = CHUNK_HEADROOM_BYTES;
/** A chunk slot holds a cursor's chunk plus a value this large past its bound; a chunk larger gets a buffer of its own. */
const SLOT_VALUE_BYTES_MAX = 128 * 1024;

export class Snapshots {
  /** The newest durable snapshot on this node. */
  latest: SnapshotMeta | null;
  /** Index of the snapshot being written (0: none). */
  private taking = 0;
  /** The state machine's copy-on-write view being serialized, a slice per round. */
  private cursor: SnapshotCursor | null = null;
  private takenBytes = 0;
  private readonly outgoing = new Map<NodeId, Outgoing>();
  private incoming: Incoming | null = null;
  private nextReqId = 0;
  private tickNow = 0;
  /** Effects, collected until the replica hands them out. */
  storage: LogWriterSnapshotIn[] = [];
  messages: (SnapChunk | SnapAck)[] = [];
  /** The snapshot sizes, for status. */
  lastBytes = 0;
  /** Bytes of the entries applied since the last snapshot began. */
  private appliedBytes = 0;
  private readonly slots: ChunkSlots | null;
  private readonly alloc: ChunkAlloc;

  constructor(
    private readonly id: NodeId,
    private readonly core: RaftCore,
    private readonly sm: KvStateMachine,
    private readonly limits: SnapshotLimits,
    latest: SnapshotMeta | null,
  ) {
    assert(limits.snapshotEntries >= 1 && limits.chunkBytes >= 1024 && limits.chunkTimeoutTicks >= 1 && limits.attemptsMax >= 1, 'snapshot limits');
    this.latest = latest;
    const slots = limits.chunkSlots ?? 0;
    this.slots = slots > 0 ? new ChunkSlots(slots, SNAPSHOT_CHUNK_BYTES + SLOT_VALUE_BYTES_MAX) : null;
    this.alloc = this.slots === null ? ownChunk : (bytes) => this.slots!.alloc(bytes);
  }

  // ------------------------------------------------------------------ taking

  /** After entries were applied: snapshot the state machine if the log has grown enough since the last one. */
  /** Entries were applied (their byte count feeds the byte bound). */
  onApplied(bytes: number): void {
    this.appliedBytes += bytes;
  }

  maybeTake(applied: number): void {
    if (this.taking !== 0 || this.incoming !== null) return;
    const entries = applied - (this.latest?.index ?? 0);
    if (entries <= 0) return;
    if (entries < this.limits.snapshotEntries && this.appliedBytes < this.limits.snapshotLogBytes) return;
    this.appliedBytes = 0;
    const term = this.core.termAt(applied);
    assert(term !== undefined, `no term for applied index ${applied}`);
    this.taking = applied;
    // The configuration as of the snapshot's index goes in its header: after compaction, and
    // on a node that installs it, it is the configuration until the log says otherwise.
    this.storage.push({ type: 'snapshotBegin', index: applied, term, config: configForSnapshot(this.core.configAt(applied)) });
    // A copy-on-write view (lib/kv/snapshot-cursor.ts): it is serialized a slice per round
    // (continue()), while entries go on being applied, so clients never wait for it whole.
    this.cursor = this.sm.beginSnapshot();
    assert(this.cursor.index === applied, `snapshot cursor at ${this.cursor.index}, applied ${applied}`);
    this.takenBytes = 0;
    this.continue();
  }

  /** Serializes the next slice of a snapshot being taken; ends it after the last chunk. */
  continue(): void {
    const c = this.cursor;
    if (c === null) return;
    for (let bytes = 0; bytes < this.limits.takeBytesPerRound; ) {
      // Every slot in flight: a round after the log writer frees one goes on (serializing).
      if (this.slots !== null && !this.slots.hasFree()) return;
      const chunk = c.next(this.alloc);
      if (chunk === null) {
        this.cursor = null;
        this.storage.push({ type: 'snapshotEnd', index: this.taking });
        this.lastBytes = this.takenBytes;
        return;
      }
      const framed = frame(chunk);
      bytes += framed.length;
      this.takenBytes += framed.length;
      this.storage.push({ type: 'snapshotChunk', index: this.taking, data: framed });
    }
  }

  /** Stops a snapshot being taken (the state is about to be replaced by a leader's). */
  private abortTaking(): void {
    if (this.cursor === null) return;
    this.cursor.close();
    this.cursor = null;
    this.storage.push({ type: 'snapshotAbort', index: this.taking });
    this.taking = 0;
  }

  // ------------------------------------------------------------------ log writer answers

  onStorage(m: LogWriterSnapshotOut): void {
    switch (m.type) {
      case 'snapshotWritten': {
        if (m.snapshot.index !== this.taking) return;
        this.taking = 0;
        if (this.latest === null || m.snapshot.index > this.latest.index) this.latest = { index: m.snapshot.index, term: m.snapshot.term };
        this.lastBytes = m.snapshot.fileBytes;
        // Entries behind it stay for lagging followers: retainEntries, but no more than hold retainBytes.
        const index = m.snapshot.index;
        const keptFrom = Math.max(index - this.limits.retainEntries + 1, this.core.firstIndexWithinBytes(index, this.limits.retainBytes));
        const through = keptFrom - 1;
        if (through > 0) {
          this.core.compact(through);
          this.storage.push({ type: 'compact', throughIndex: through });
        }
        return;
      }
      case 'compacted':
        return;
      case 'snapshotData':
        this.onData(m);
        return;
      case 'snapshotRecvAck':
        this.onRecvAck(m);
        return;
    }
  }

  // ------------------------------------------------------------------ sending (leader)

  /** The core says `peer` needs entries that are compacted away. */
  send(peer: NodeId): void {
    if (this.outgoing.has(peer)) return;
    const snap = this.latest;
    if (snap === null) {
      this.core.reportSnapshot(peer, false); // cannot happen: the log is compacted only behind a snapshot
      return;
    }
    const o: Outgoing = { index: snap.index, term: snap.term, offset: 0, stage: 'read', reqId: 0, deadlineTick: 0, attempts: 0 };
    this.outgoing.set(peer, o);
    this.readNext(o);
  }

  private readNext(o: Outgoing): void {
    o.stage = 'read';
    o.reqId = ++this.nextReqId;
    this.storage.push({ type: 'snapshotRead', reqId: o.reqId, index: o.index, term: o.term, part: 'file', offset: o.offset, bytesMax: this.limits.chunkBytes });
  }

  private onData(m: Extract<LogWriterSnapshotOut, { type: 'snapshotData' }>): void {
    if (this.incoming?.restore && this.incoming.restore.reqId === m.reqId) {
      this.onRestoreData(m);
      return;
    }
    for (const [peer, o] of this.outgoing) {
      if (o.reqId !== m.reqId || o.stage !== 'read') continue;
      if (!m.found) {
        // Pruned by a newer snapshot: start again with the newest.
        this.outgoing.delete(peer);
        this.send(peer);
        return;
      }
      o.stage = 'ack';
      o.attempts++;
      o.deadlineTick = this.tickNow + this.limits.chunkTimeoutTicks;
      this.messages.push({ type: 'snapChunk', term: this.core.term, from: this.id, to: peer, index: o.index, snapTerm: o.term, offset: m.offset, data: m.data, done: m.done });
      return;
    }
  }

  /** A follower answered a chunk. */
  onAck(m: SnapAck): void {
    const o = this.outgoing.get(m.from);
    if (o === undefined || o.index !== m.index || o.term !== m.snapTerm || o.stage !== 'ack') return;
    switch (m.status) {
      case 'installed':
        this.outgoing.delete(m.from);
        this.core.reportSnapshot(m.from, true, o.index);
        return;
      case 'appended':
      case 'ignored':
      case 'gap':
      case 'invalid':
        o.offset = m.nextOffset;
        o.attempts = 0;
        this.readNext(o);
        return;
      case 'refused':
        this.end(m.from, false);
        return;
    }
  }

  /** The connection to a peer dropped: its transfer starts over when the core asks again. */
  onUnreachable(peer: NodeId): void {
    if (this.outgoing.has(peer)) this.end(peer, false);
  }

  private end(peer: NodeId, ok: boolean): void {
    this.outgoing.delete(peer);
    this.core.reportSnapshot(peer, ok);
  }

  tick(isLeader: boolean): void {
    this.tickNow++;
    if (!isLeader) {
      this.outgoing.clear();
      return;
    }
    for (const [peer, o] of this.outgoing) {
      if (o.stage !== 'ack' || o.deadlineTick > this.tickNow) continue;
      if (o.attempts >= this.limits.attemptsMax) this.end(peer, false);
      else this.readNext(o); // lost chunk or answer: send it again from the same offset
    }
  }

  // ------------------------------------------------------------------ receiving (follower)

  onChunk(m: SnapChunk): void {
    const term = this.core.term;
    if (m.term < term) {
      this.messages.push(ack(this.id, term, m, 'refused', 0));
      return;
    }
    const cur = this.incoming;
    if (cur !== null && cur.restore !== null) return; // loading one already: the leader resends
    if (cur === null || cur.index !== m.index || cur.term !== m.snapTerm) {
      this.incoming = { from: m.from, leaderTerm: m.term, index: m.index, term: m.snapTerm, restore: null };
    } else {
      cur.from = m.from;
      cur.leaderTerm = m.term;
    }
    this.storage.push({ type: 'snapshotRecv', index: m.index, term: m.snapTerm, offset: m.offset, data: m.data, done: m.done });
  }

  private onRecvAck(m: Extract<LogWriterSnapshotOut, { type: 'snapshotRecvAck' }>): void {
    const inc = this.incoming;
    if (inc === null || inc.index !== m.index || inc.term !== m.term) return;
    const status = m.status;
    if (status !== 'installed') {
      this.messages.push({ type: 'snapAck', term: inc.leaderTerm, from: this.id, to: inc.from, index: m.index, snapTerm: m.term, status, nextOffset: m.nextOffset });
      return;
    }
    // Durable now. Load it unless this node's state is already past it.
    if (this.latest === null || m.index > this.latest.index) this.latest = { index: m.index, term: m.term };
    if (m.index <= this.sm.appliedIndex) {
      this.finishIncoming(false);
      return;
    }
    inc.restore = { reqId: ++this.nextReqId, offset: 0, file: new SnapshotFileReader() };
    this.readContent(inc);
  }

  private readContent(inc: Incoming): void {
    const r = inc.restore!;
    this.storage.push({ type: 'snapshotRead', reqId: r.reqId, index: inc.index, term: inc.term, part: 'file', offset: r.offset, bytesMax: this.limits.chunkBytes });
  }

  private onRestoreData(m: Extract<LogWriterSnapshotOut, { type: 'snapshotData' }>): void {
    const inc = this.incoming!;
    const r = inc.restore!;
    assert(m.found, `installed snapshot ${inc.index} not found`);
    r.file.push(m.data);
    r.offset += m.data.length;
    if (!m.done) {
      r.reqId = ++this.nextReqId;
      this.readContent(inc);
      return;
    }
    this.finishIncoming(true);
  }

  /** The snapshot is durable (and loaded, when `load`): tell the core and the leader. */
  private finishIncoming(load: boolean): void {
    const inc = this.incoming!;
    this.incoming = null;
    const meta = { index: inc.index, term: inc.term };
    if (load && inc.index > this.sm.appliedIndex) {
      this.abortTaking();
      const file = inc.restore!.file;
      this.sm.restore(file.finish());
      this.core.installSnapshot(meta, configFromSnapshot(file.config, inc.index));
    }
    this.core.snapshotAck(inc.from, inc.leaderTerm);
    this.messages.push({ type: 'snapAck', term: inc.leaderTerm, from: this.id, to: inc.from, index: inc.index, snapTerm: inc.term, status: 'installed', nextOffset: 0 });
  }

  // ------------------------------------------------------------------ status

  get sending(): number {
    return this.outgoing.size;
  }

  /**
   * A snapshot is being serialized and another round now would move it on (false while
   * every chunk slot waits for the log writer: a tick or a message brings the next round).
   */
  get serializing(): boolean {
    return this.cursor !== null && (this.slots === null || this.slots.hasFree());
  }

}

function ack(from: NodeId, term: number, m: SnapChunk, status: SnapAck['status'], nextOffset: number): SnapAck {
  return { type: 'snapAck', term, from, to: m.from, index: m.index, snapTerm: m.snapTerm, status, nextOffset };
}

/**
 * One state-machine chunk with its length in front, with no copy: a cursor's chunk has
 * room for the length in front of it in its buffer (lib/kv/snapshot.ts). The result is a
 * view into a shared chunk slot (chunk-slots.ts), or an ArrayBuffer of its own that it
 * fills exactly (the node transfers it).
 */
export function frame(chunk: Uint8Array): Uint8Array {
  const buf = chunk.buffer;
  assert(chunk.byteOffset >= FRAME_HEADER_BYTES, 'a snapshot chunk without room for its length');
  const framed = new Uint8Array(buf, chunk.byteOffset - FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + chunk.length);
  assert(buf instanceof SharedArrayBuffer || (framed.byteOffset === 0 && framed.byteLength === buf.byteLength), 'a snapshot chunk sharing its ArrayBuffer');
  new DataView(buf, framed.byteOffset, FRAME_HEADER_BYTES).setUint32(0, chunk.length);
  return framed;
}

/** A snapshot file read back in byte ranges: its header (for the configuration), then its framed content. */
export class SnapshotFileReader {
  private head: Uint8Array[] = [];
  private headBytes = 0;
  private headerBytes = 0;
  private readonly frames = new FrameReader();
  /** The header's configuration, once the header was read. */
  config: unknown = undefined;
  private headerDone = false;

  push(data: Uint8Array): void {
    if (this.headerDone) {
      this.frames.push(data);
      return;
    }
    this.head.push(data);
    this.headBytes += data.length;
    if (this.headerBytes === 0) {
      if (this.headBytes < SNAPSHOT_FIXED_BYTES) return;
      const n = snapshotHeaderBytes(Buffer.from(concat(this.head, this.headBytes)));
      assert(typeof n === 'number', `installed snapshot: ${String(n)}`);
      this.headerBytes = n;
    }
    if (this.headBytes < this.headerBytes) return;
    const all = concat(this.head, this.headBytes);
    const header = decodeSnapshotHeader(Buffer.from(all.buffer, all.byteOffset, this.headerBytes));
    assert(typeof header !== 'string', `installed snapshot: ${String(header)}`);
    this.config = header.config;
    this.headerDone = true;
    this.head = [];
    this.frames.push(all.subarray(this.headerBytes));
  }

  finish(): Uint8Array[] {
    assert(this.headerDone, 'snapshot file ends inside its header');
    return this.frames.finish();
  }
}

/** Splits content read back in arbitrary byte ranges into the framed chunks. */
export class FrameReader {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private readonly chunks: Uint8Array[] = [];

  push(data: Uint8Array): void {
    if (data.length === 0) return;
    this.pending.push(data);
    this.pendingBytes += data.length;
    for (;;) {
      if (this.pendingBytes < FRAME_HEADER_BYTES) return;
      const head = this.peek(FRAME_HEADER_BYTES);
      const len = new DataView(head.buffer, head.byteOffset, FRAME_HEADER_BYTES).getUint32(0);
      if (this.pendingBytes < FRAME_HEADER_BYTES + len) return;
      const all = this.take(FRAME_HEADER_BYTES + len);
      this.chunks.push(all.subarray(FRAME_HEADER_BYTES));
    }
  }

  finish(): Uint8Array[] {
    assert(this.pendingBytes === 0, `snapshot content ends inside a frame (${this.pendingBytes} bytes left)`);
    return this.chunks;
  }

  /** The first n pending bytes, not consumed: a view when the first part holds them, else a copy of just those. */
  private peek(n: number): Uint8Array {
    const first = this.pending[0]!;
    if (first.length >= n) return first.subarray(0, n);
    const out = new Uint8Array(n);
    for (let i = 0, at = 0; at < n; i++) {
      const p = this.pending[i]!;
      const k = Math.min(p.length, n - at);
      out.set(p.subarray(0, k), at);
      at += k;
    }
    return out;
  }

  /** peek(n), consumed. A frame across two reads costs a copy of that frame, not of the whole read. */
  private take(n: number): Uint8Array {
    const out = this.peek(n);
    let whole = 0;
    let left = n;
    while (left > 0 && this.pending[whole]!.length <= left) left -= this.pending[whole++]!.length;
    this.pending.splice(0, whole);
    if (left > 0) this.pending[0] = this.pending[0]!.subarray(left);
    this.pendingBytes -= n;
    return out;
  }
}

/** The parts as one array (the only part itself when there is one). */
export function concat(parts: Uint8Array[], bytes: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(bytes);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
