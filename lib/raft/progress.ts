// The leader's view of one follower (etcd's tracker/progress.go).
//
// Invariants:
//   0 <= match < next <= leader's lastIndex + 1;
//   probe state: inflight is empty; at most one append is outstanding (probeSent)
//     until a response arrives or the next heartbeat resends;
//   replicate state: next is advanced optimistically as appends are sent; the
//     inflight window holds the last index (and bytes) of each unacknowledged
//     append; it takes another only while it holds fewer than inflightMax and
//     fewer than inflightBytesMax bytes; every entry of it is >= next's old value
//     and < next;
//   snapshot state: the entries the follower needs are compacted away; the driver is
//     sending it a snapshot and nothing else goes until it reports the outcome or the
//     follower acknowledges an index the log still holds.

import { assert } from './assert.js';
import type { PeerProgress } from './types.js';

/**
 * Bounded FIFO of the appends in flight: the last index each carried and its bytes. Full
 * at `max` appends, or once their bytes reach `bytesMax` (0: no byte bound), as etcd's
 * MaxInflightBytes: one append may go past the bound, so an empty window always takes
 * one and at most bytesMax + appendBytesMax are in flight.
 */
export class Inflights {
  private readonly buf: number[] = [];
  private readonly sizes: number[] = [];
  private bytesInFlight = 0;
  constructor(
    readonly max: number,
    readonly bytesMax = 0,
  ) {
    assert(Number.isInteger(max) && max >= 1, `inflightMax must be >= 1, got ${max}`);
    assert(Number.isInteger(bytesMax) && bytesMax >= 0, `inflightBytesMax must be >= 0, got ${bytesMax}`);
  }
  get count(): number {
    return this.buf.length;
  }
  get bytes(): number {
    return this.bytesInFlight;
  }
  full(): boolean {
    return this.buf.length >= this.max || (this.bytesMax > 0 && this.bytesInFlight >= this.bytesMax);
  }
  add(lastIndex: number, bytes = 0): void {
    assert(!this.full(), 'inflights full');
    assert(Number.isInteger(bytes) && bytes >= 0, `inflight bytes ${bytes}`);
    const tail = this.buf[this.buf.length - 1];
    assert(tail === undefined || lastIndex > tail, `inflight ${lastIndex} not after ${tail}`);
    this.buf.push(lastIndex);
    this.sizes.push(bytes);
    this.bytesInFlight += bytes;
  }
  /** Acknowledge every append whose last index is <= index. */
  freeLE(index: number): void {
    let n = 0;
    while (n < this.buf.length && this.buf[n]! <= index) this.bytesInFlight -= this.sizes[n++]!;
    if (n > 0) {
      this.buf.splice(0, n);
      this.sizes.splice(0, n);
    }
    assert(this.bytesInFlight >= 0 && (this.buf.length > 0 || this.bytesInFlight === 0), `inflight bytes ${this.bytesInFlight} with ${this.buf.length} appends`);
  }
  reset(): void {
    this.buf.length = 0;
    this.sizes.length = 0;
    this.bytesInFlight = 0;
  }
}

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** Probe state only: an append was sent and no answer or heartbeat came since. */
  probeSent = false;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** Replicate state: match at the previous heartbeat, to notice a stalled pipeline. */
  matchAtHeartbeat = 0;
  /** Highest ReadIndex round this peer acknowledged in the current term. */
  ackedRound = 0;
  readonly inflights: Inflights;

  constructor(next: number, inflightMax: number, inflightBytesMax = 0) {
    assert(next >= 1, `next ${next} < 1`);
    this.next = next;
    this.inflights = new Inflights(inflightMax, inflightBytesMax);
  }

  becomeProbe(): void {
    this.state = 'probe';
    this.next = this.match + 1;
    this.probeSent = false;
    this.inflights.reset();
  }

  becomeSnapshot(): void {
    this.state = 'snapshot';
    this.probeSent = false;
    this.inflights.reset();
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.next = this.match + 1;
    this.probeSent = false;
    this.inflights.reset();
  }

  /** A success for entries up to index; false if it tells us nothing new. */
  maybeUpdate(index: number): boolean {
    if (index <= this.match) return false;
    this.match = index;
    if (this.next < index + 1) this.next = index + 1;
    this.probeSent = false;
    this.checkInvariants();
    return true;
  }

  /**
   * A rejection of the append with prevLogIndex = rejected; hintNext is where the
   * leader would like to retry from the conflict hint. False if the rejection is stale.
   */
  maybeDecrTo(rejected: number, hintNext: number): boolean {
    if (this.state === 'snapshot') return false; // only the snapshot's outcome moves it on
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.becomeProbe();
    } else if (rejected !== this.next - 1) {
      return false;
    }
    this.next = Math.max(this.match + 1, Math.min(rejected, hintNext));
    this.probeSent = false;
    this.checkInvariants();
    return true;
  }

  /** Record an append of entries (lastIndex = last entry sent; 0 entries = heartbeat) of `bytes` bytes. */
  sentEntries(count: number, lastIndex: number, bytes = 0): void {
    if (this.state === 'replicate') {
      if (count > 0) {
        assert(lastIndex >= this.next, `sent entries up to ${lastIndex} behind next ${this.next}`);
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex, bytes);
      }
    } else {
      this.probeSent = true;
    }
  }

  /** May another append with entries be sent now? */
  paused(): boolean {
    if (this.state === 'snapshot') return true;
    return this.state === 'probe' ? this.probeSent : this.inflights.full();
  }

  checkInvariants(): void {
    assert(this.match >= 0 && this.match < this.next, () => `progress match ${this.match} next ${this.next}`);
    assert(this.state === 'replicate' || this.inflights.count === 0, 'probe with inflights');
  }

  snapshot(): PeerProgress {
    return {
      match: this.match,
      next: this.next,
      state: this.state,
      inflight: this.inflights.count,
      recentActive: this.recentActive,
    };
  }
}
