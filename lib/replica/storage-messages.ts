// What the replica asks of the log writer beyond appends, and its answers: snapshots
// and log compaction (issue 9). The replica's effects carry these; the daemon posts them
// to the log-writer actor (actors/log-writer-snapshots.ts), the simulator to its disk.
// The log writer handles them in message order with the writes. Chunks are bounded by SNAPSHOT_CHUNK_BYTES_MAX (lib/storage/snapshot-format.ts).
/** A snapshot on disk, as the log writer reports it. `config`: the opaque value given at snapshotBegin. */
export interface SnapshotInfo {
  index: number;
  term: number;
  config: unknown;
  /** The state machine's bytes. */
  contentBytes: number;
  /** The whole file, header included: what InstallSnapshot sends. */
  fileBytes: number;
}
export type LogWriterSnapshotIn =
  /**
   * Delete log segments wholly at or below throughIndex (snapshot index minus the tail kept
   * for lagging followers). Clipped to the older kept snapshot, so the log still follows the
   * snapshot a restart falls back to when the newest is damaged. Answered by `compacted`.
   */
  | { type: 'compact'; throughIndex: number }
  /** Stream the state through `index` to a new snapshot; chunks follow, then end (or abort). One at a time. */
  | { type: 'snapshotBegin'; index: number; term: number; config: unknown }
  /** `data` has an ArrayBuffer of its own, nothing else refers to: the node transfers it to the log writer. */
  | { type: 'snapshotChunk'; index: number; data: Uint8Array }
  /** Publish durably; answered by `snapshotWritten`. */
  | { type: 'snapshotEnd'; index: number }
  | { type: 'snapshotAbort'; index: number }
  /**
   * Read up to bytesMax bytes at `offset` of a stored snapshot: of its content (to restore
   * the state machine) or of its whole file (to send it to a follower). Answered by snapshotData.
   */
  | { type: 'snapshotRead'; reqId: number; index: number; term: number; part: 'content' | 'file'; offset: number; bytesMax: number }
  /**
   * A chunk of a leader's snapshot file (InstallSnapshot). `done` on the last chunk: verify,
   * publish, and fit the log to it (kept if it holds the snapshot's last entry, else dropped).
   */
  | { type: 'snapshotRecv'; index: number; term: number; offset: number; data: Uint8Array; done: boolean };
export type LogWriterSnapshotOut =
  | { type: 'compacted'; throughIndex: number; firstIndex: number; segmentsDeleted: number }
  | { type: 'snapshotWritten'; snapshot: SnapshotInfo }
  /** `data` is empty past the end; `done` when offset + data.length reaches the end. */
  | { type: 'snapshotData'; reqId: number; index: number; term: number; part: 'content' | 'file'; offset: number; data: Uint8Array; done: boolean; found: boolean }
  /**
   * appended/ignored/gap: nextOffset is where the next chunk must start. installed: the
   * snapshot is durable and the log now spans [firstIndex, lastIndex]. invalid: the file
   * did not verify and was deleted; the next chunk must start at 0.
   */
  | {
      type: 'snapshotRecvAck';
      index: number;
      term: number;
      status: 'appended' | 'ignored' | 'gap' | 'installed' | 'invalid';
      nextOffset: number;
      firstIndex: number;
      lastIndex: number;
    };

