// Which messages for a peer may skip the bulk queued ahead of them (the replicator's
// urgent lane). Heartbeats, votes, acknowledgements and ReadIndex traffic are small and
// time-bound: a follower that hears no heartbeat for an election timeout campaigns, and
// a leader that hears no acknowledgements steps down. Behind megabytes of appends on a
// slow link they would arrive too late; etcd gives them a stream of their own.
//
// Order does not matter for safety (Raft takes any order), only for efficiency, with one
// exception worth keeping: a heartbeat whose prevLogIndex lies in entries still queued
// would reach the follower before them and be rejected, sending the peer back to probe.
// Such a heartbeat stays in the bulk queue behind them.
import type { PeerMessage } from '../replica/messages.js';

/** `floor`: the lowest entry index of any append waiting in the bulk queue (Infinity: none). */
export function isUrgent(m: PeerMessage, floor: number): boolean {
  switch (m.type) {
    case 'append':
      return m.entries.length === 0 && m.prevLogIndex < floor;
    case 'appendResp':
    case 'vote':
    case 'voteResp':
    case 'readIndex':
    case 'readIndexResp':
    case 'timeoutNow':
    case 'snapAck':
      return true;
    // Payload-carrying: client traffic forwarded between nodes and snapshot chunks.
    case 'fwdWrite':
    case 'fwdReply':
    case 'snapChunk':
      return false;
  }
}

/**
 * The lowest entry index queued in bulk, kept as messages are queued; it only goes back
 * to Infinity once the queue is empty (a lower bound is the safe side: fewer heartbeats
 * skip ahead).
 */
export class BulkFloor {
  private floor = Infinity;

  get value(): number {
    return this.floor;
  }

  /** A message went into the bulk queue. */
  queued(m: PeerMessage): void {
    if (m.type === 'append' && m.entries.length > 0) this.floor = Math.min(this.floor, m.entries[0]!.index);
  }

  /** The bulk queue is empty. */
  emptied(): void {
    this.floor = Infinity;
  }
}
