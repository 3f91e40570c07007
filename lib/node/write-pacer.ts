// Client writes enter the replica in batches, a bounded number of batches in flight.
//
// Every Ready round costs about the same whatever it carries: a log write and its
// fdatasync (~50-100 µs of CPU here), a message to each replicator, and on each
// follower a round of its own (a write, a sync, an acknowledgement), each crossing a
// thread. Fed eagerly, a leader under 16 clients ran a round for every 1.3 writes, so
// on 2 cores the rounds' fixed cost, not the writes, set the throughput. The pacer
// holds writes that arrive while `depth` batches are still unanswered and hands them in
// together when one is answered: a lone client never waits (nothing is in flight when
// its write comes), many clients share rounds. A batch that takes longer than
// `holdMsMax` (a slow disk, no quorum) stops holding the ones behind it: holding only
// batches work, it never waits on a stall.
//
// Only writes are held. Reads (ReadIndex) and admin requests go straight in: a read
// never shares a connection's flight with a write (the gateway orders them), so a read
// overtaking a held write of another connection is one more concurrent order.
import type { GatewayRequest } from '../replica/messages.js';
import { assert } from '../util/assert.js';

export interface PacerLimits {
  /** Batches of writes handed in and not yet all answered before new ones are held. */
  depth: number;
  /** A write is held at most this long. */
  holdMsMax: number;
  /** Bound on writes held: this many go in at once whatever is in flight. */
  heldMax: number;
}

interface Batch {
  unanswered: number;
}

export class WritePacer {
  private held: GatewayRequest[] = [];
  /** performance.now() when the oldest held write arrived. */
  private heldSince = 0;
  /** Batch of each write handed in and not answered yet. */
  private readonly batchOf = new Map<number, Batch>();
  private inFlight = 0;

  constructor(private readonly limits: PacerLimits) {
    assert(limits.depth >= 1 && limits.holdMsMax > 0 && limits.heldMax >= 1, 'pacer limits');
  }

  /** Writes waiting for a batch. */
  get heldCount(): number {
    return this.held.length;
  }

  /** Takes the gateway's items; returns those to hand to the replica now (reads, admin). */
  add(items: readonly GatewayRequest[], nowMs: number): GatewayRequest[] {
    const now: GatewayRequest[] = [];
    for (const it of items) {
      if (it.kind !== 'write') {
        now.push(it);
        continue;
      }
      if (this.held.length === 0) this.heldSince = nowMs;
      this.held.push(it);
    }
    return now;
  }

  /** Held writes may go in now: fewer than `depth` batches in flight, the oldest waited `holdMsMax`, or heldMax are held. */
  mayRelease(nowMs: number): boolean {
    const n = this.held.length;
    return n > 0 && (this.inFlight < this.limits.depth || nowMs - this.heldSince >= this.limits.holdMsMax || n >= this.limits.heldMax);
  }

  /** The held writes to hand in now as one batch, if they may go; [] otherwise. */
  release(nowMs: number): GatewayRequest[] {
    if (!this.mayRelease(nowMs)) return [];
    const batch = this.held;
    this.held = [];
    const b: Batch = { unanswered: batch.length };
    for (const it of batch) this.batchOf.set(it.reqId, b);
    this.inFlight++;
    return batch;
  }

  /** When release() would hand in held writes even with batches in flight (ms from now); null: nothing held. */
  dueInMs(nowMs: number): number | null {
    if (this.held.length === 0) return null;
    return this.mayRelease(nowMs) ? 0 : this.heldSince + this.limits.holdMsMax - nowMs;
  }

  /** The replica answered these requests (any kind; only writes handed in count). */
  answered(reqIds: Iterable<number>): void {
    for (const id of reqIds) {
      const b = this.batchOf.get(id);
      if (b === undefined) continue;
      this.batchOf.delete(id);
      if (--b.unanswered === 0) this.inFlight--;
    }
    assert(this.inFlight >= 0, 'pacer batches in flight went negative');
  }
}
