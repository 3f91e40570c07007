// <dataDir>/snapshot/: the state machine's snapshots. A snapshot is streamed to a
// temporary file chunk by chunk (never held whole), then published: header with the
// content's length and sha256, fdatasync, rename, directory fsync. The newest valid
// snapshot is what a restart loads; a damaged or half-written one is passed over for
// the one before, with a warning. The newest SNAPSHOTS_KEPT are kept, so there is
// always one to fall back to; older ones are deleted.
import { createHash, type Hash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assert } from '../util/assert.js';
import { diskError, ensureDirDurable, fsyncDir, unlinkOrStop } from './durable-fs.js';
import type { StorageLog } from './log-store.js';
import { SnapshotReader, SnapshotTemp, verifySnapshotFile, type SnapshotMeta } from './snapshot-file.js';
import {
  encodeSnapshotConfig,
  encodeSnapshotHeader,
  isSnapshotTemp,
  parseSnapshotName,
  SNAPSHOT_CHUNK_BYTES_MAX,
  SNAPSHOT_DIGEST_BYTES,
  SNAPSHOT_FIXED_BYTES,
  snapshotDirOf,
  snapshotName,
} from './snapshot-format.js';
import { SnapshotReceiver } from './snapshot-receiver.js';

export type { SnapshotMeta } from './snapshot-file.js';

/** Snapshots kept on disk: the newest and one to fall back to. */
export const SNAPSHOTS_KEPT = 2;

export interface SnapshotFile {
  index: number;
  term: number;
  path: string;
}

export interface LatestSnapshot {
  /** The newest valid snapshot, or null when there is none. */
  snapshot: SnapshotMeta | null;
  /** One line per newer snapshot passed over because it is damaged: the caller logs them. */
  warnings: string[];
}

export class SnapshotStore {
  private writing: SnapshotWriter | null = null;
  /** Snapshots verified or written by this process, by "index/term". */
  private readonly verified = new Map<string, SnapshotMeta>();

  private constructor(
    readonly dir: string,
    private readonly log?: StorageLog,
  ) {}

  /**
   * Opens (and creates, durably) the snapshot directory. Temporary files a crash left
   * behind mid-write or mid-receive are deleted: they were never published.
   */
  static open(dataDir: string, log?: StorageLog): SnapshotStore {
    const dir = snapshotDirOf(dataDir);
    ensureDirDurable(dir);
    const store = new SnapshotStore(dir, log);
    let removed = 0;
    for (const name of readDir(dir)) {
      if (!isSnapshotTemp(name)) continue;
      unlinkOrStop(path.join(dir, name));
      removed++;
      log?.warn('unfinished snapshot removed', { file: path.join(dir, name) });
    }
    if (removed > 0) fsyncDir(dir);
    return store;
  }

  /** Published snapshot files, oldest first (by index, then term); not verified. */
  list(): SnapshotFile[] {
    const out: SnapshotFile[] = [];
    for (const name of readDir(this.dir).sort()) {
      const id = parseSnapshotName(name);
      if (id) out.push({ ...id, path: path.join(this.dir, name) });
    }
    return out;
  }

  /** The newest snapshot that verifies (its whole content is read once, in chunks). */
  latest(): LatestSnapshot {
    const warnings: string[] = [];
    for (const f of this.list().reverse()) {
      const v = verifySnapshotFile(f.path);
      if (typeof v === 'string') {
        warnings.push(`snapshot ${f.path} ignored: ${v}`);
        continue;
      }
      if (v.index !== f.index || v.term !== f.term) {
        warnings.push(`snapshot ${f.path} ignored: its header says index ${v.index} term ${v.term}`);
        continue;
      }
      this.remember(v);
      return { snapshot: v, warnings };
    }
    return { snapshot: null, warnings };
  }

  /**
   * Starts writing the snapshot of the state through `index` (of `term`). One write at
   * a time; the content follows as chunks of at most SNAPSHOT_CHUNK_BYTES_MAX.
   */
  beginWrite(index: number, term: number, config: unknown): SnapshotWriter {
    assert(this.writing === null, 'a snapshot is being written already');
    const w = new SnapshotWriter(this, path.join(this.dir, snapshotName(index, term)), index, term, config, () => (this.writing = null));
    this.writing = w;
    return w;
  }

  /**
   * Starts receiving a leader's snapshot file into a fresh temporary file. The caller
   * keeps the receiver across chunks: resuming after a lost chunk is its offsets' job.
   */
  beginReceive(index: number, term: number): SnapshotReceiver {
    return new SnapshotReceiver(this, path.join(this.dir, snapshotName(index, term)), index, term);
  }

  /** The stored snapshot of index and term, verified (once per store), or null when there is none that verifies. */
  find(index: number, term: number): SnapshotMeta | null {
    const key = `${index}/${term}`;
    const known = this.verified.get(key);
    if (known && fs.existsSync(known.path)) return known;
    const f = this.list().find((x) => x.index === index && x.term === term);
    if (!f) return null;
    const v = verifySnapshotFile(f.path);
    if (typeof v === 'string' || v.index !== index || v.term !== term) return null;
    this.remember(v);
    return v;
  }

  private remember(meta: SnapshotMeta): void {
    this.verified.set(`${meta.index}/${meta.term}`, meta);
    // Bounded: only files on disk matter, and at most SNAPSHOTS_KEPT (+ one being published) are.
    for (const [k, m] of this.verified) if (this.verified.size > SNAPSHOTS_KEPT + 1 && m !== meta) this.verified.delete(k);
  }

  openReader(meta: SnapshotMeta): SnapshotReader {
    return new SnapshotReader(meta);
  }

  /**
   * Deletes all but the newest SNAPSHOTS_KEPT snapshots, oldest first, and never `keep`
   * (one just published is never deleted, even if older). Returns how many went.
   */
  prune(keep: string | null = null): number {
    const files = this.list();
    const gone = files.slice(0, Math.max(0, files.length - SNAPSHOTS_KEPT)).filter((f) => f.path !== keep);
    for (const f of gone) unlinkOrStop(f.path);
    if (gone.length > 0) {
      fsyncDir(this.dir);
      this.log?.info('snapshots deleted', { files: gone.map((f) => path.basename(f.path)) });
    }
    return gone.length;
  }

  /** Told by a writer or receiver that a snapshot was published. */
  published(meta: SnapshotMeta, how: 'written' | 'received'): void {
    this.remember(meta);
    this.log?.info(`snapshot ${how}`, { index: meta.index, term: meta.term, bytes: meta.fileBytes, file: meta.path });
    this.prune(meta.path);
  }
}

/** Streams one snapshot to disk; see SnapshotStore.beginWrite. */
export class SnapshotWriter {
  private readonly temp: SnapshotTemp;
  private readonly config: Buffer;
  private readonly hash: Hash = createHash('sha256');
  private contentBytes = 0;
  private done = false;

  constructor(
    private readonly store: SnapshotStore,
    finalPath: string,
    readonly index: number,
    readonly term: number,
    private readonly configValue: unknown,
    private readonly onDone: () => void,
  ) {
    this.config = encodeSnapshotConfig(configValue);
    this.temp = new SnapshotTemp(finalPath + '.tmp', finalPath);
    try {
      // A placeholder header of the final size; finish() writes the real one over it.
      this.temp.writeAt(this.header(Buffer.alloc(SNAPSHOT_DIGEST_BYTES)), 0);
    } catch (err) {
      this.abort();
      throw err;
    }
  }

  get bytes(): number {
    return this.contentBytes;
  }

  write(chunk: Uint8Array): void {
    assert(!this.done, 'snapshot write after finish or abort');
    assert(chunk.byteLength <= SNAPSHOT_CHUNK_BYTES_MAX, `snapshot chunk of ${chunk.byteLength} B > ${SNAPSHOT_CHUNK_BYTES_MAX} B`);
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.temp.writeAt(buf, SNAPSHOT_FIXED_BYTES + this.config.length + this.contentBytes);
    this.hash.update(buf);
    this.contentBytes += buf.length;
  }

  /** Publishes the snapshot durably and prunes old ones; returns what was written. */
  finish(): SnapshotMeta {
    assert(!this.done, 'snapshot finish after finish or abort');
    this.done = true;
    this.onDone();
    const digest = this.hash.digest();
    const header = this.header(digest);
    this.temp.writeAt(header, 0);
    this.temp.seal();
    this.temp.publish();
    const meta: SnapshotMeta = {
      index: this.index,
      term: this.term,
      config: this.configValue,
      contentBytes: this.contentBytes,
      digest,
      headerBytes: header.length,
      path: this.temp.finalPath,
      fileBytes: header.length + this.contentBytes,
    };
    this.store.published(meta, 'written');
    return meta;
  }

  /** Gives up: the temporary file is deleted, nothing is published. */
  abort(): void {
    if (!this.done) this.onDone();
    this.done = true;
    this.temp.discard();
  }

  private header(digest: Buffer): Buffer {
    return encodeSnapshotHeader(this.index, this.term, this.config, this.contentBytes, digest);
  }
}

function readDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch (err) {
    throw diskError(err, 'RAFTD_IO', `list ${dir}`);
  }
}
