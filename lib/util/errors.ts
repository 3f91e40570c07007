/**
 * Errors with stable codes. An error crossing a worker port or the network loses
 * its class, so the far side narrows on `code`; the wire carries { code, message }.
 */
export type ErrorCode =
  | 'RAFTD_FSYNC_FAILED'
  /** ENOSPC or EDQUOT from a write, a file creation or an fsync: free space, then restart. */
  | 'RAFTD_DISK_FULL'
  | 'RAFTD_LOG_CORRUPT'
  | 'RAFTD_HARDSTATE_CORRUPT'
  /** A snapshot received from the leader did not verify (checksum, length, index or term). */
  | 'RAFTD_SNAPSHOT_INVALID'
  | 'RAFTD_IO'
  | 'RAFTD_CONFIG'
  | 'RAFTD_FRAME_TOO_LARGE'
  | 'RAFTD_FRAME_MALFORMED'
  | 'RAFTD_HANDSHAKE_REFUSED'
  | 'RAFTD_AUTH_FAILED'
  | 'RAFTD_ACTOR_DIED'
  /** A node could not join a cluster (--join): nobody answers at the seed, or the cluster refused the add. */
  | 'RAFTD_JOIN_FAILED';

export class RaftdError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RaftdError';
  }
}

export interface WireError {
  code: ErrorCode;
  message: string;
}

export function toWire(err: unknown): WireError {
  if (err instanceof RaftdError) return { code: err.code, message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'RAFTD_IO', message };
}
