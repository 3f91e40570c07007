// Client requests enter the replica in batches, a bounded number of batches in flight.
//
// Every round costs about the same whatever it carries. A write round: a log write and
// its fdatasync (50-100 µs of CPU each here), a post to every replicator, and on each
// follower a round of its own (a write, a sync, an acknowledgement), each crossing a
// thread. A read batch: one ReadIndex heartbeat round through every follower. Fed
// eagerly, a leader under 16 clients ran a write round for every 1.3 writes, so on 2
// cores the rounds' fixed cost, not the requests, set the throughput. The pacer holds
// requests that arrive while `depth` batches of their kind are still unanswered and
// hands them in together when one is answered: a lone client never waits (nothing is
// in flight when its request comes), many clients share rounds. A request is held at
// most `holdMsMax` (a slow disk, no quorum): holding only batches work, it never waits
// on a stall.
//
// Writes and reads are paced apart (a read never waits for a write round, nor the
// reverse); admin requests go straight in. Within a connection the gateway never has a
// read and a write in flight together, so batching changes no order a client can see.
import type { GatewayRequest } from '../replica/messages.js';
import { assert } from '../util/assert.js';

export interface PacerLimits {
  /** Batches of one kind handed in and not yet all answered before new ones are held. */
  depth: number;
  /** A request is held at most this long. */
  holdMsMax: number;
  /** Bound on requests of one kind held: this many go in at once whatever is in flight. */
  heldMax: number;
}

interface Batch {
  lane: Lane;
  unanswered: number;
}

/** One kind's held requests and its batches in flight. */
class Lane {
  held: GatewayRequest[] = [];
  /** performance.now() when the oldest held request arrived. */
  heldSince = 0;
  inFlight = 0;

  constructor(private readonly limits: PacerLimits) {}

  mayRelease(nowMs: number): boolean {
    const n = this.held.length;
    return n > 0 && (this.inFlight < this.limits.depth || nowMs - this.heldSince >= this.limits.holdMsMax || n >= this.limits.heldMax);
  }

  dueInMs(nowMs: number): number | null {
    if (this.held.length === 0) return null;
    return this.mayRelease(nowMs) ? 0 : this.heldSince + this.limits.holdMsMax - nowMs;
  }
}

export class RequestPacer {
  private readonly writes: Lane;
  private readonly reads: Lane;
  /** Batch of each request handed in and not answered yet. */
  private readonly batchOf = new Map<number, Batch>();

  constructor(limits: PacerLimits) {
    assert(limits.depth >= 1 && limits.holdMsMax > 0 && limits.heldMax >= 1, 'pacer limits');
    this.writes = new Lane(limits);
    this.reads = new Lane(limits);
  }

  /** Requests waiting for a batch. */
  get heldCount(): number {
    return this.writes.held.length + this.reads.held.length;
  }

  /** Takes the gateway's items; returns those to hand to the replica now (admin requests). */
  add(items: readonly GatewayRequest[], nowMs: number): GatewayRequest[] {
    const now: GatewayRequest[] = [];
    for (const it of items) {
      const lane = it.kind === 'write' ? this.writes : it.kind === 'read' ? this.reads : null;
      if (lane === null) {
        now.push(it);
        continue;
      }
      if (lane.held.length === 0) lane.heldSince = nowMs;
      lane.held.push(it);
    }
    return now;
  }

  /** Held requests may go in now (for some kind: fewer than `depth` batches in flight, or waited `holdMsMax`, or heldMax held). */
  mayRelease(nowMs: number): boolean {
    return this.writes.mayRelease(nowMs) || this.reads.mayRelease(nowMs);
  }

  /** The held requests to hand in now, a batch per kind that may go; [] if none. */
  release(nowMs: number): GatewayRequest[] {
    const out: GatewayRequest[] = [];
    for (const lane of [this.writes, this.reads]) {
      if (!lane.mayRelease(nowMs)) continue;
      const b: Batch = { lane, unanswered: lane.held.length };
      for (const it of lane.held) {
        this.batchOf.set(it.reqId, b);
        out.push(it);
      }
      lane.held = [];
      lane.inFlight++;
    }
    return out;
  }

  /** When release() would hand in something held (ms from now); null: nothing held. */
  dueInMs(nowMs: number): number | null {
    const w = this.writes.dueInMs(nowMs);
    const r = this.reads.dueInMs(nowMs);
    return w === null ? r : r === null ? w : Math.min(w, r);
  }

  /** The replica answered these requests (only those handed in from a lane count). */
  answered(reqIds: Iterable<number>): void {
    for (const id of reqIds) {
      const b = this.batchOf.get(id);
      if (b === undefined) continue;
      this.batchOf.delete(id);
      if (--b.unanswered === 0) b.lane.inFlight--;
      assert(b.lane.inFlight >= 0, 'pacer batches in flight went negative');
    }
  }
}
