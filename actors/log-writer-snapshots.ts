// The log writer's snapshot and compaction messages (issue 9). Runs on the log writer's
// thread with the log store, in message order with the writes: a compaction never
// races an append, and a snapshot's chunks land one at a time (memory: one chunk).
import { releaseChunk } from '../lib/replica/chunk-slots.js';
import { RaftdError } from '../lib/util/errors.js';
import type { LogStore, StorageLog } from '../lib/storage/log-store.js';
import type { SnapshotReader } from '../lib/storage/snapshot-file.js';
import { SNAPSHOT_CHUNK_BYTES_MAX } from '../lib/storage/snapshot-format.js';
import type { SnapshotReceiver } from '../lib/storage/snapshot-receiver.js';
import { SNAPSHOTS_KEPT, type SnapshotMeta, type SnapshotStore, type SnapshotWriter } from '../lib/storage/snapshot-store.js';
import { assert, assertNever } from '../lib/util/assert.js';
import type { LogWriterSnapshotIn, LogWriterSnapshotOut, SnapshotInfo } from './protocol.js';

export function snapshotInfo(m: SnapshotMeta): SnapshotInfo {
  return { index: m.index, term: m.term, config: m.config, contentBytes: m.contentBytes, fileBytes: m.fileBytes };
}

export class LogWriterSnapshots {
  private writer: SnapshotWriter | null = null;
  private receiver: SnapshotReceiver | null = null;
  /** One open reader, for the snapshot last read (a follower is usually sent one at a time). */
  private reader: SnapshotReader | null = null;

  constructor(
    private readonly snaps: SnapshotStore,
    private readonly store: LogStore,
    private readonly log: StorageLog,
  ) {}

  handle(msg: LogWriterSnapshotIn): LogWriterSnapshotOut | null {
    switch (msg.type) {
      case 'compact':
        return this.onCompact(msg.throughIndex);
      case 'snapshotBegin':
        assert(this.writer === null, `snapshotBegin ${msg.index} while snapshot ${this.writer?.index} is being written`);
        this.writer = this.snaps.beginWrite(msg.index, msg.term, msg.config);
        return null;
      case 'snapshotChunk':
        this.writing(msg.index).write(msg.data);
        releaseChunk(msg.data); // on disk (page cache): the taker may reuse its slot
        return null;
      case 'snapshotEnd': {
        const meta = this.writing(msg.index).finish();
        this.writer = null;
        return { type: 'snapshotWritten', snapshot: snapshotInfo(meta) };
      }
      case 'snapshotAbort':
        this.writing(msg.index).abort();
        this.writer = null;
        this.log.info('snapshot aborted', { index: msg.index });
        return null;
      case 'snapshotRead':
        return this.onRead(msg);
      case 'snapshotRecv':
        return this.onRecv(msg);
      default:
        return assertNever(msg, 'log writer snapshot message');
    }
  }

  /** The whole content of `meta`'s snapshot, in pieces of at most SNAPSHOT_CHUNK_BYTES_MAX, each in a buffer of its own. */
  *content(meta: SnapshotMeta): Generator<Buffer> {
    const r = this.snaps.openReader(meta);
    try {
      yield* r.chunks();
    } finally {
      r.close();
    }
  }

  /** Closes what is open; an unfinished write or receive leaves a temp file the next open removes. */
  close(): void {
    this.reader?.close();
    this.reader = null;
  }

  private writing(index: number): SnapshotWriter {
    assert(this.writer !== null && this.writer.index === index, `snapshot ${index} is not being written`);
    return this.writer;
  }

  private onCompact(throughIndex: number): LogWriterSnapshotOut {
    // Entries after the snapshot a restart would fall back to must stay (see protocol.ts).
    const kept = this.snaps.list();
    const fallback = kept.length >= SNAPSHOTS_KEPT ? kept.at(-SNAPSHOTS_KEPT)!.index : 0;
    const limit = Math.min(throughIndex, fallback, this.store.lastIndex());
    const r = limit >= this.store.firstIndex() ? this.store.compact(limit) : { segmentsDeleted: 0, firstIndex: this.store.firstIndex() };
    return { type: 'compacted', throughIndex: limit, ...r };
  }

  private onRead(msg: Extract<LogWriterSnapshotIn, { type: 'snapshotRead' }>): LogWriterSnapshotOut {
    const { reqId, index, term, part, offset } = msg;
    const bytesMax = Math.min(msg.bytesMax, SNAPSHOT_CHUNK_BYTES_MAX);
    const m = this.reader?.meta;
    if (!m || m.index !== index || m.term !== term) {
      this.reader?.close();
      this.reader = null;
      const meta = this.snaps.find(index, term);
      if (meta === null) return { type: 'snapshotData', reqId, index, term, part, offset, data: new Uint8Array(0), done: true, found: false };
      this.reader = this.snaps.openReader(meta);
    }
    const r = this.reader!;
    const total = part === 'content' ? r.meta.contentBytes : r.meta.fileBytes;
    const data = offset >= total ? Buffer.alloc(0) : part === 'content' ? r.readContent(offset, bytesMax) : r.readFile(offset, bytesMax);
    return { type: 'snapshotData', reqId, index, term, part, offset, data, done: offset + data.length >= total, found: true };
  }

  private onRecv(msg: Extract<LogWriterSnapshotIn, { type: 'snapshotRecv' }>): LogWriterSnapshotOut {
    const { index, term } = msg;
    const ack = (status: 'appended' | 'ignored' | 'gap' | 'installed' | 'invalid', nextOffset: number): LogWriterSnapshotOut => ({
      type: 'snapshotRecvAck',
      index,
      term,
      status,
      nextOffset,
      firstIndex: this.store.firstIndex(),
      lastIndex: this.store.lastIndex(),
    });
    if (this.receiver !== null && (this.receiver.index !== index || this.receiver.term !== term)) {
      // The leader moved on to another snapshot: the old one will not be finished.
      this.log.info('snapshot receive replaced', { index: this.receiver.index, term: this.receiver.term, by: { index, term } });
      this.receiver.abort();
      this.receiver = null;
    }
    if (this.receiver === null) {
      // A repeat of the last chunk of a snapshot already installed: answered again.
      if (msg.offset !== 0 && msg.done) {
        const have = this.snaps.find(index, term);
        if (have !== null && msg.offset + msg.data.byteLength === have.fileBytes) return ack('installed', have.fileBytes);
      }
      if (msg.offset !== 0) return ack('gap', 0);
      this.receiver = this.snaps.beginReceive(index, term);
    }
    const rx = this.receiver;
    const outcome = rx.accept(msg.offset, msg.data);
    if (!msg.done || outcome.status === 'gap') return ack(outcome.status, outcome.nextOffset);
    this.receiver = null;
    try {
      rx.finish();
    } catch (err) {
      if (err instanceof RaftdError && err.code === 'RAFTD_SNAPSHOT_INVALID') {
        this.log.warn('received snapshot invalid', { error: err.message });
        return ack('invalid', 0);
      }
      throw err;
    }
    this.store.adoptSnapshot({ index, term });
    return ack('installed', rx.nextOffset);
  }
}
