// The follower's side of InstallSnapshot: the leader's snapshot file arrives in chunks
// at byte offsets and is streamed to <name>.recv. A chunk at the expected offset is
// appended; one wholly before it (a repeat after a lost answer) is ignored; one after it
// is refused with the offset expected, so the leader resends from there. finish()
// verifies the file (header names the expected index and term, length, sha256), then
// publishes it durably. Memory: one chunk at a time.
import * as fs from 'node:fs';
import { assert } from '../util/assert.js';
import { RaftdError } from '../util/errors.js';
import { SnapshotTemp, verifySnapshotFile, type SnapshotMeta } from './snapshot-file.js';
import { SNAPSHOT_CHUNK_BYTES_MAX } from './snapshot-format.js';
import type { SnapshotStore } from './snapshot-store.js';

export type ChunkOutcome =
  | { status: 'appended'; nextOffset: number }
  | { status: 'ignored'; nextOffset: number }
  | { status: 'gap'; nextOffset: number };

export class SnapshotReceiver {
  private readonly temp: SnapshotTemp;
  private received = 0;
  private done = false;

  constructor(
    private readonly store: SnapshotStore,
    finalPath: string,
    readonly index: number,
    readonly term: number,
  ) {
    this.temp = new SnapshotTemp(finalPath + '.recv', finalPath);
  }

  /** The offset of the next byte expected. */
  get nextOffset(): number {
    return this.received;
  }

  accept(offset: number, data: Uint8Array): ChunkOutcome {
    assert(!this.done, 'snapshot chunk after finish or abort');
    assert(Number.isSafeInteger(offset) && offset >= 0, `snapshot chunk offset ${offset}`);
    assert(data.byteLength <= SNAPSHOT_CHUNK_BYTES_MAX, `snapshot chunk of ${data.byteLength} B > ${SNAPSHOT_CHUNK_BYTES_MAX} B`);
    if (offset > this.received) return { status: 'gap', nextOffset: this.received };
    const end = offset + data.byteLength;
    if (end <= this.received) return { status: 'ignored', nextOffset: this.received };
    // Overlaps what we have: only the new tail is written (same bytes from the same file).
    const fresh = Buffer.from(data.buffer, data.byteOffset + (this.received - offset), end - this.received);
    this.temp.writeAt(fresh, this.received);
    this.received = end;
    return { status: 'appended', nextOffset: this.received };
  }

  /**
   * Verifies and publishes the received file. A file that does not verify is deleted and
   * RAFTD_SNAPSHOT_INVALID thrown: the leader's bytes were bad, not our disk; the caller
   * starts over.
   */
  finish(): SnapshotMeta {
    assert(!this.done, 'snapshot finish after finish or abort');
    this.done = true;
    this.temp.seal();
    const v = verifySnapshotFile(this.temp.path);
    let problem: string | null = null;
    if (typeof v === 'string') problem = v;
    else if (v.index !== this.index || v.term !== this.term) problem = `header says index ${v.index} term ${v.term}, expected ${this.index} ${this.term}`;
    if (problem !== null || typeof v === 'string') {
      this.temp.discard();
      throw new RaftdError('RAFTD_SNAPSHOT_INVALID', `received snapshot ${this.index}/${this.term} (${this.received} B): ${problem}`);
    }
    this.temp.publish();
    const meta: SnapshotMeta = { ...v, path: this.temp.finalPath };
    this.store.published(meta, 'received');
    return meta;
  }

  abort(): void {
    this.done = true;
    this.temp.discard();
  }

  /** Whether a temporary file of this receive is on disk (for tests and tools). */
  hasTemp(): boolean {
    return fs.existsSync(this.temp.path);
  }
}
