// ReadIndex bookkeeping (Raft dissertation §6.4).
//
// Leader side: a read is registered with the commit index at that moment and the
// next heartbeat round number; it completes once a quorum (counting the leader)
// has acknowledged that round or a later one. Reads that arrive before the
// leader committed an entry of its own term wait in `awaitingCommit`.
//
// Follower side: reads forwarded to the leader, keyed by the caller's ctx, until
// the readIndexResp arrives, the node changes term or role, or they expire.
//
// Both sides are bounded by readsMax and expire after a number of ticks, so a
// lost message can never pin an entry forever.

import { assert } from './assert.js';
import type { NodeId } from './types.js';

export type ReadRequester = { kind: 'local'; ctx: number } | { kind: 'remote'; from: NodeId; ctx: number };

export interface PendingRead {
  /** Heartbeat round that must be acknowledged by a quorum (0 while awaiting commit). */
  round: number;
  /** Commit index at registration: the read is served once applied >= index. */
  index: number;
  req: ReadRequester;
  expireTick: number;
}

export class LeaderReads {
  /** Waiting for the leader's first commit in its term. */
  awaitingCommit: PendingRead[] = [];
  /** Ordered by round (non-decreasing). */
  pending: PendingRead[] = [];

  constructor(readonly readsMax: number) {
    assert(readsMax >= 1, 'readsMax must be >= 1');
  }

  get size(): number {
    return this.awaitingCommit.length + this.pending.length;
  }

  full(): boolean {
    return this.size >= this.readsMax;
  }

  addPending(r: PendingRead): void {
    assert(!this.full(), 'leader reads full');
    const tail = this.pending[this.pending.length - 1];
    assert(tail === undefined || tail.round <= r.round, 'read rounds out of order');
    assert(r.round > 0, 'pending read without round');
    this.pending.push(r);
  }

  /** Remove and return every read that expired at `tick`. */
  takeExpired(tick: number): PendingRead[] {
    if (this.size === 0) return [];
    const out: PendingRead[] = [];
    const keep = (r: PendingRead): boolean => {
      if (r.expireTick <= tick) {
        out.push(r);
        return false;
      }
      return true;
    };
    this.awaitingCommit = this.awaitingCommit.filter(keep);
    this.pending = this.pending.filter(keep);
    return out;
  }

  takeAll(): PendingRead[] {
    const out = this.awaitingCommit.concat(this.pending);
    this.awaitingCommit = [];
    this.pending = [];
    return out;
  }
}

export class ForwardedReads {
  /** ctx -> expiry tick; insertion order is expiry order. */
  private readonly byCtx = new Map<number, number>();

  constructor(readonly readsMax: number) {}

  get size(): number {
    return this.byCtx.size;
  }

  full(): boolean {
    return this.byCtx.size >= this.readsMax;
  }

  add(ctx: number, expireTick: number): void {
    assert(!this.full(), 'forwarded reads full');
    assert(!this.byCtx.has(ctx), `read ctx ${ctx} already pending`);
    this.byCtx.set(ctx, expireTick);
  }

  /** True if ctx was pending (and is now removed). */
  take(ctx: number): boolean {
    return this.byCtx.delete(ctx);
  }

  has(ctx: number): boolean {
    return this.byCtx.has(ctx);
  }

  takeExpired(tick: number): number[] {
    const out: number[] = [];
    for (const [ctx, exp] of this.byCtx) {
      if (exp > tick) break;
      out.push(ctx);
    }
    for (const ctx of out) this.byCtx.delete(ctx);
    return out;
  }

  takeAll(): number[] {
    const out = [...this.byCtx.keys()];
    this.byCtx.clear();
    return out;
  }
}
