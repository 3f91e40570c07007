// Client requests inside the replica: writes proposed on the leader or forwarded to
// it, exactly-once through the state machine's dedup table, and linearizable reads
// through ReadIndex. This is the one place that decides whether a leader is known and
// when a request times out: every request gets a deadline in logical ticks when it
// arrives, and every map of requests in flight is bounded in size and in time.
import type { KvStateMachine } from '../kv/state-machine.js';
import type { RaftCore } from '../raft/core.js';
import type { Entry, NodeId } from '../raft/types.js';
import { assert } from '../util/assert.js';
import { applyChange, caughtUp, decodeChange, encodeChange, isMemberTid, MEMBER_TID_PREFIX, memberStatuses, membersReply } from './membership.js';
import type { ClientReply, ForwardMessage, ForwardReplyItem, ForwardWriteItem, GatewayRequest, ReplyCode } from './messages.js';

export interface ClientRequestsLimits {
  /** A request not answered within this many ticks of its arrival gets TIMEOUT (or TRYAGAIN while no leader is known). */
  requestTicks: number;
  /** Bound on this node's own requests in flight, and on proposals it holds for followers. */
  inFlightMax: number;
}

/** A request of this node's gateway that has not been answered yet. */
interface Pending {
  req: GatewayRequest;
  deadlineTick: number;
  /** Set while it is forwarded to the leader. */
  fid: number;
  /** In `waiting`: no leader is known, or it is to be sent again. */
  waiting: boolean;
  /** Times it was handed to a leader (proposed here or forwarded). After the first, an earlier copy may be in some log. */
  attempts: number;
  /** While waiting to be sent again: not before this tick (a busy leader is not asked again at once). */
  retryTick: number;
}

/** Who waits for the entry proposed at an index: a local request, or a follower's. */
interface Proposal {
  term: number;
  /** null: local (id is a reqId); else the follower that forwarded it (id is its fid, in its epoch). */
  origin: NodeId | null;
  epoch: number;
  id: number;
}

/** A write this follower forwarded to the leader, kept until answered so it can be re-routed. */
interface Forwarded {
  reqId: number;
  tid: string;
  data: Uint8Array;
  /** The leader it was last sent to; null while it waits to be (re)sent. */
  target: NodeId | null;
  /** A node that refused it as not the leader: it is not resent there until the leader changes. */
  refusedBy: NodeId | null;
  /** Times it was sent; after the first, an earlier copy may be in some log. */
  attempts: number;
  /** Not resent before this tick (after a busy leader refused it). */
  retryTick: number;
}

interface ReadBatch {
  items: { reqId: number; args: Buffer[] }[];
}

const EMPTY = new Uint8Array(0);
/** Read rounds one incarnation numbers before it could reach another epoch's range (2^32 epochs x 2^20 < 2^53). */
const READ_CTX_PER_EPOCH = 2 ** 20;
/** Request ids the replica makes up start with this; a client's may not. */
const RESERVED_TID_PREFIX = '\u0000';
/** Forwarded writes without a client request id get one, so a re-route after a leader change applies them once. */
const AUTO_TID_PREFIX = '\u0000fwd:';
/** A forwarded reply code between replicas only: the leader lost the entry; send it again (to whoever leads). */
const LOST = 'LOST';

export class ClientRequests {
  private readonly pending = new Map<number, Pending>();
  /** Requests that arrived while no leader was known, oldest first. */
  private waiting: GatewayRequest[] = [];
  private readonly proposals = new Map<number, Proposal>();
  private readonly forwarded = new Map<number, Forwarded>();
  private nextFid = 0;
  /** A CLUSTER TRANSFER waiting for its outcome. */
  private transfer: { reqId: number; target: NodeId } | null = null;
  /** Forwarded writes may need (re)sending: set by a new forward, a refusal, a lost connection, a leader change. */
  private rerouteDue = false;
  private routedLeader: NodeId | null = null;
  private readonly reads = new Map<number, ReadBatch>();
  /**
   * ReadIndex round ids, from a base drawn from the epoch: a leader's answer to a round of an
   * earlier incarnation of this node (it restarted while the answer was on its way) must not
   * match a round of this one, whose read index may be later.
   */
  private nextReadCtx: number;
  /** Read batches whose read index is known, waiting for the state machine to catch up (ascending index). */
  private readyReads: { index: number; batch: ReadBatch }[] = [];
  private tickNow = 0;
  /** Outputs, collected until the replica hands them out. */
  replies: { reqId: number; reply: ClientReply }[] = [];
  private fwdWrites = new Map<NodeId, ForwardWriteItem[]>();
  /** Replies for followers, by follower and then by the follower's epoch. */
  private fwdReplies = new Map<NodeId, Map<number, ForwardReplyItem[]>>();

  constructor(
    private readonly id: NodeId,
    /** Drawn at every start: a forwarded reply from another incarnation never matches. */
    readonly epoch: number,
    private readonly core: RaftCore,
    private readonly sm: KvStateMachine,
    private readonly limits: ClientRequestsLimits,
    /** This node's clock (ms): stamped into the writes it proposes as leader, and the time reads are served at. */
    private readonly clock: () => number,
    /** The replica's seeded randomness: the seeds a leader stamps into writes (SPOP) come from it. */
    private readonly random: () => number,
  ) {
    assert(limits.requestTicks > 0 && limits.inFlightMax > 0, 'request limits must be positive');
    this.nextReadCtx = (epoch >>> 0) * READ_CTX_PER_EPOCH;
  }

  /** Requests from this node's gateway. */
  onRequests(given: GatewayRequest[]): void {
    const items: GatewayRequest[] = [];
    for (const g of given) {
      assert(!this.pending.has(g.reqId), `request ${g.reqId} arrived twice`);
      if (g.kind === 'members') {
        // This node's view, at once: nothing to agree on.
        const st = this.core.status();
        const leader = st.role === 'leader' ? this.id : st.leader;
        this.replies.push({ reqId: g.reqId, reply: { ok: true, reply: membersReply(memberStatuses(this.core.membership, this.id, st.lastIndex, leader, st.progress)) } });
        continue;
      }
      if (this.core.removed) {
        // Nothing here can reach a leader any more (the members refuse this node): say so now, not at the deadline.
        this.replies.push({ reqId: g.reqId, reply: this.removedReply() });
        continue;
      }
      if (this.pending.size >= this.limits.inFlightMax) {
        this.replies.push({ reqId: g.reqId, reply: { ok: false, code: 'BUSY', message: 'too many requests in flight' } });
        continue;
      }
      if (g.kind === 'write' && g.tid.startsWith(RESERVED_TID_PREFIX)) {
        // Request ids starting with NUL are the replica's own (a membership change, a forwarded write's).
        this.replies.push({ reqId: g.reqId, reply: { ok: false, code: 'ERR', message: 'request id must not start with a NUL byte' } });
        continue;
      }
      // A membership change travels like a write (to the leader, forwarded if need be) whose
      // tid marks it; the leader turns it into a config entry instead of proposing it.
      const it: GatewayRequest = g.kind === 'member' ? { reqId: g.reqId, kind: 'write', tid: `${MEMBER_TID_PREFIX}${this.id}:${this.epoch}:${g.reqId}`, data: encodeChange(g.change) } : g;
      items.push(it);
      this.pending.set(it.reqId, { req: it, deadlineTick: this.tickNow + this.limits.requestTicks, fid: 0, waiting: false, attempts: 0, retryTick: 0 });
    }
    for (const it of items) if (it.kind === 'transfer' && this.pending.has(it.reqId)) this.startTransfer(it.reqId, it.target);
    this.dispatch(items.filter((it) => it.kind !== 'transfer' && this.pending.has(it.reqId)));
  }

  /** CLUSTER TRANSFER on this node: it must lead; answered once the target leads (or the transfer is given up). */
  private startTransfer(reqId: number, target: string | null): void {
    if (this.transfer !== null) {
      this.reply(reqId, { ok: false, code: 'ERR', message: 'a transfer is under way' });
      return;
    }
    const r = this.core.transferLeadership(target);
    if (!r.ok) {
      this.reply(reqId, { ok: false, code: 'ERR', message: r.message });
      return;
    }
    this.transfer = { reqId, target: r.target };
  }

  /** Answers CLUSTER TRANSFER once it has an outcome. */
  private checkTransfer(): void {
    const t = this.transfer;
    if (t === null) return;
    if (!this.pending.has(t.reqId)) {
      this.transfer = null; // timed out
      return;
    }
    const st = this.core;
    if (st.role === 'leader' && this.core.transferTarget === null) {
      this.transfer = null;
      this.reply(t.reqId, { ok: false, code: 'ERR', message: `transfer to ${t.target} given up: it did not take over within an election timeout` });
    } else if (st.role !== 'leader' && st.leader !== null) {
      this.transfer = null;
      if (st.leader === t.target) this.reply(t.reqId, { ok: true, reply: Buffer.from('+OK\r\n') });
      else this.reply(t.reqId, { ok: false, code: 'ERR', message: `leadership went to ${st.leader}, not ${t.target}` });
    }
  }

  /** Hands requests to the leader (this node or another), or keeps them until one is known. */
  private dispatch(items: GatewayRequest[]): void {
    const st = this.core;
    const leaderKnown = st.role === 'leader' || (st.leader !== null && st.leader !== this.id);
    if (!leaderKnown) {
      for (const it of items) {
        this.pending.get(it.reqId)!.waiting = true;
        this.waiting.push(it);
      }
      return;
    }
    for (const it of items) {
      const p = this.pending.get(it.reqId)!;
      p.waiting = false;
      if (it.kind === 'write') p.attempts++;
    }
    const writes: { id: number; tid: string; data: Uint8Array }[] = [];
    const reads: { reqId: number; args: Buffer[] }[] = [];
    for (const it of items) {
      if (it.kind === 'write') writes.push({ id: it.reqId, tid: it.tid, data: it.data });
      else if (it.kind === 'read') reads.push({ reqId: it.reqId, args: it.args.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)) });
      else assert(false, `a ${it.kind} request is never dispatched`);
    }
    if (writes.length > 0) {
      if (st.role === 'leader') this.propose(writes, null, 0);
      else for (const w of writes) this.forward(w.id, w.tid, w.data);
    }
    if (reads.length > 0) this.read(reads);
  }

  private forward(reqId: number, tid: string, data: Uint8Array): void {
    const p = this.pending.get(reqId);
    assert(p !== undefined && p.fid === 0, `forward of request ${reqId}`);
    const fid = ++this.nextFid;
    p.fid = fid;
    this.forwarded.set(fid, { reqId, tid: tid !== '' ? tid : `${AUTO_TID_PREFIX}${this.id}:${this.epoch}:${fid}`, data, target: null, refusedBy: null, attempts: 0, retryTick: 0 });
    this.rerouteDue = true;
  }

  /** Proposes on the leader; `origin` null for local requests, else the follower that forwarded them. */
  private propose(all: { id: number; tid: string; data: Uint8Array }[], origin: NodeId | null, epoch: number): void {
    let items = all;
    if (all.some((i) => isMemberTid(i.tid))) {
      for (const i of all) if (isMemberTid(i.tid)) this.proposeMember(i, origin, epoch);
      items = all.filter((i) => !isMemberTid(i.tid));
      if (items.length === 0) return;
    }
    if (this.proposals.size + items.length > this.limits.inFlightMax) {
      for (const i of items) this.fail(origin, epoch, i.id, 'BUSY', 'too many writes in flight');
      return;
    }
    // The leader stamps its clock and a random seed into each write: every replica then
    // applies it at the same time with the same randomness (lib/kv/state-machine.ts).
    const ctx = { nowMs: this.clock(), random: this.random };
    const res = this.core.propose(items.map((i) => ({ tid: i.tid, data: this.sm.stampWrite(i.data, ctx) })));
    if (!res.ok) {
      for (const i of items) {
        if (res.code === 'TRANSFERRING') {
          // Leadership is being handed over: writes wait (a tick at a time) for its outcome.
          const p = origin === null ? this.pending.get(i.id) : undefined;
          if (p !== undefined) this.retry(p, this.tickNow + 1);
          else if (origin !== null) this.fail(origin, epoch, i.id, 'BUSY', 'leadership is being transferred'); // the follower asks again
        } else if (res.code === 'BUSY') this.fail(origin, epoch, i.id, 'BUSY', 'too many uncommitted entries');
        else this.fail(origin, epoch, i.id, 'TRYAGAIN', `leader changed${res.leader ? ` to ${res.leader}` : ''}; retry`);
      }
      return;
    }
    items.forEach((it, k) => {
      const index = res.firstIndex + k;
      // Whoever waited at this index waited for an entry of an older term that was cut
      // from this log. Another node may still hold it and commit it later: its outcome is unknown.
      const stale = this.proposals.get(index);
      if (stale !== undefined) {
        assert(stale.term < res.term, `two proposals at index ${index} in term ${res.term}`);
        this.lost(stale, false);
      }
      this.proposals.set(index, { term: res.term, origin, epoch, id: it.id });
    });
  }

  /** Leader: a membership change, checked against the configuration in effect, becomes a config entry. */
  private proposeMember(item: { id: number; tid: string; data: Uint8Array }, origin: NodeId | null, epoch: number): void {
    const change = decodeChange(item.data);
    if (change === null) {
      this.fail(origin, epoch, item.id, 'ERR', 'malformed membership change');
      return;
    }
    if (this.proposals.size >= this.limits.inFlightMax) {
      this.fail(origin, epoch, item.id, 'BUSY', 'too many writes in flight');
      return;
    }
    const next = applyChange(this.core.membership, change);
    if (!next.ok) {
      this.fail(origin, epoch, item.id, 'ERR', next.message);
      return;
    }
    if (change.op === 'promote' && this.core.role === 'leader') {
      const st = this.core.status();
      const pr = st.progress[change.id];
      if (!caughtUp(pr, st.lastIndex, this.core.membership.index, st.commitIndex)) {
        this.fail(origin, epoch, item.id, 'ERR', `learner ${change.id} has not caught up (match ${pr?.match ?? 0} of ${st.lastIndex}); promote it once it has`);
        return;
      }
    }
    const res = this.core.proposeConfig(next.members);
    if (!res.ok) {
      if (res.code === 'NOT_LEADER') this.fail(origin, epoch, item.id, 'TRYAGAIN', `leader changed${res.leader ? ` to ${res.leader}` : ''}; retry`);
      else if (res.code === 'TRYAGAIN') this.fail(origin, epoch, item.id, 'TRYAGAIN', `${res.message}; retry`);
      else this.fail(origin, epoch, item.id, 'ERR', `one membership change at a time: ${res.message}`);
      return;
    }
    const stale = this.proposals.get(res.index);
    if (stale !== undefined) {
      assert(stale.term < res.term, `two proposals at index ${res.index} in term ${res.term}`);
      this.lost(stale, false);
    }
    this.proposals.set(res.index, { term: res.term, origin, epoch, id: item.id });
  }

  private read(items: { reqId: number; args: Buffer[] }[]): void {
    // Rounds whose requests timed out stay until the core ends them: bound them too.
    if (this.reads.size >= this.limits.inFlightMax) {
      for (const i of items) this.reply(i.reqId, { ok: false, code: 'BUSY', message: 'too many reads in flight' });
      return;
    }
    // One ReadIndex round serves every read of this batch.
    const ctx = ++this.nextReadCtx;
    this.reads.set(ctx, { items });
    this.core.readIndex(ctx);
  }

  /** A forwarded message from a peer. */
  onForward(m: ForwardMessage): void {
    switch (m.type) {
      case 'fwdWrite':
        if (this.core.role !== 'leader') {
          for (const it of m.items) this.fail(m.from, m.epoch, it.fid, 'TRYAGAIN', 'not the leader; retry');
          return;
        }
        this.propose(m.items.map((i) => ({ id: i.fid, tid: i.tid, data: i.data })), m.from, m.epoch);
        return;
      case 'fwdReply':
        if (m.epoch !== this.epoch) return; // meant for an earlier incarnation of this node
        for (const r of m.replies) {
          const f = this.forwarded.get(r.fid);
          if (f === undefined || f.target !== m.from) continue; // answered, given up, or re-routed since
          if (!r.ok && isMemberTid(f.tid)) {
            // A membership change is never sent twice: a lost entry may still commit elsewhere
            // (outcome unknown), and a refusal (TRYAGAIN before the leader's noop commits, BUSY,
            // a bad change) is the client's to act on.
            this.forwarded.delete(r.fid);
            if (r.code === LOST) this.reply(f.reqId, { ok: false, code: 'TIMEOUT', message: 'membership change cut from the log by a leader change; outcome unknown, see CLUSTER MEMBERS' });
            else this.reply(f.reqId, { ok: false, code: asCode(r.code), message: r.message });
            continue;
          }
          if (!r.ok && r.code === LOST) {
            f.target = null;
            this.rerouteDue = true;
            continue;
          }
          if (!r.ok && r.code === 'TRYAGAIN') {
            // Not (or no longer) the leader: send it again once a leader other than that node is known.
            f.target = null;
            f.refusedBy = m.from;
            this.rerouteDue = true;
            continue;
          }
          if (!r.ok && r.code === 'BUSY') {
            // Another copy (an earlier attempt, or one the network duplicated) may be in some
            // log: BUSY would claim it never happened. Ask again a tick later, up to the deadline.
            f.target = null;
            f.retryTick = this.tickNow + 1;
            continue;
          }
          this.forwarded.delete(r.fid);
          this.reply(f.reqId, r.ok ? { ok: true, reply: r.reply } : { ok: false, code: asCode(r.code), message: r.message });
        }
        return;
    }
  }

  /** The connection to a peer dropped: what was forwarded to it may be lost, so it is sent again. */
  onUnreachable(peer: NodeId): void {
    for (const f of this.forwarded.values()) {
      if (f.target !== peer) continue;
      f.target = null;
      this.rerouteDue = true;
    }
  }

  /** ReadIndex results from the core's Ready. */
  onReads(done: { ctx: number; index: number }[], failed: number[]): void {
    for (const { ctx, index } of done) {
      const batch = this.reads.get(ctx);
      if (!batch) continue;
      this.reads.delete(ctx);
      this.readyReads.push({ index, batch });
    }
    if (done.length > 1) this.readyReads.sort((a, b) => a.index - b.index);
    for (const ctx of failed) {
      const batch = this.reads.get(ctx);
      if (!batch) continue;
      this.reads.delete(ctx);
      // A read changes nothing, so it is simply asked again (a tick later) until its
      // deadline, rather than handing the client a leader change it cannot act on.
      for (const i of batch.items) {
        const p = this.pending.get(i.reqId);
        if (p !== undefined) this.retry(p, this.tickNow + 1);
      }
    }
  }

  /** Applies a committed entry and answers whoever waits for it. */
  apply(e: Entry): void {
    const reply = this.sm.apply(e);
    const p = this.proposals.get(e.index);
    if (!p) return;
    this.proposals.delete(e.index);
    if (e.term === p.term) this.ok(p.origin, p.epoch, p.id, reply);
    else this.lost(p, true); // another entry committed at its index: this one never can
  }

  /** Serves the reads whose index the state machine has reached. */
  serveReads(appliedIndex: number): void {
    let k = 0;
    while (k < this.readyReads.length && this.readyReads[k]!.index <= appliedIndex) {
      for (const i of this.readyReads[k]!.batch.items) {
        if (this.pending.has(i.reqId)) this.reply(i.reqId, { ok: true, reply: this.sm.read(i.args, this.clock()) });
      }
      k++;
    }
    if (k > 0) this.readyReads = this.readyReads.slice(k);
  }

  /** Once per tick: requests past their deadline are answered and forgotten. */
  tick(): void {
    this.tickNow++;
    if (this.forwarded.size > 0) this.rerouteDue = true; // retries held back a tick
    let expired = false;
    for (const [reqId, p] of this.pending) {
      // Every request gets the same number of ticks, so insertion order is deadline order.
      if (p.deadlineTick > this.tickNow) break;
      expired = true;
      if (p.fid !== 0) this.forwarded.delete(p.fid);
      this.reply(
        reqId,
        p.waiting && p.attempts === 0 ? { ok: false, code: 'TRYAGAIN', message: 'no leader elected yet' } : { ok: false, code: 'TIMEOUT', message: 'request timed out' },
      );
    }
    if (expired) this.waiting = this.waiting.filter((w) => this.pending.has(w.reqId));
  }

  /**
   * After each round of input: requests that waited for a leader go to it, forwarded
   * writes follow a leader change, and forwards and replies become one message per peer.
   */
  flush(term: number): ForwardMessage[] {
    this.checkTransfer();
    if (this.pending.size > 0 && this.core.removed) this.failRemoved();
    const st = this.core;
    const leader = st.role === 'leader' ? this.id : st.leader;
    if (leader !== null && this.waiting.length > 0) {
      const due: GatewayRequest[] = [];
      const later: GatewayRequest[] = [];
      for (const it of this.waiting) (this.pending.get(it.reqId)!.retryTick <= this.tickNow ? due : later).push(it);
      this.waiting = later;
      if (due.length > 0) this.dispatch(due);
    }
    if (leader !== this.routedLeader) {
      this.routedLeader = leader;
      this.rerouteDue = true;
    }
    if (leader !== null && this.rerouteDue) {
      this.rerouteDue = false;
      this.reroute(leader);
    }
    const out: ForwardMessage[] = [];
    for (const [to, items] of this.fwdWrites) if (items.length > 0) out.push({ type: 'fwdWrite', term, from: this.id, to, epoch: this.epoch, items });
    for (const [to, byEpoch] of this.fwdReplies) {
      for (const [epoch, replies] of byEpoch) out.push({ type: 'fwdReply', term, from: this.id, to, epoch, replies });
    }
    this.fwdWrites.clear();
    this.fwdReplies.clear();
    return out;
  }

  /**
   * This node was removed (a removed leader that handed over, say): what waits here would
   * only time out. A write that went to a leader may be in some log (outcome unknown:
   * TIMEOUT, which clients retry elsewhere with the same request id); the rest never left.
   */
  private failRemoved(): void {
    for (const [reqId, p] of this.pending) {
      if (p.fid !== 0) this.forwarded.delete(p.fid);
      const sent = p.req.kind === 'write' && p.attempts > 0;
      this.reply(reqId, sent ? { ok: false, code: 'TIMEOUT', message: 'this node was removed from the cluster; outcome unknown, retry on a member' } : this.removedReply());
    }
    this.waiting = [];
    this.transfer = null;
  }

  /** The answer of a node that is no longer a member: which members to ask instead. */
  private removedReply(): ClientReply {
    const m = this.core.membership;
    const others = m.members.filter((x) => x.id !== this.id).map((x) => `${x.id} ${x.host}:${x.clientPort}`).join(', ');
    return { ok: false, code: 'ERR', message: `REMOVED this node is not a member of the cluster (configuration ${m.index}); ask a member: ${others}` };
  }

  /** Sends every forwarded write that is not with the current leader to it (safe: each has a request id). */
  private reroute(leader: NodeId): void {
    const local: { id: number; tid: string; data: Uint8Array }[] = [];
    for (const [fid, f] of this.forwarded) {
      if (f.target === leader) continue;
      if (f.target === null && (f.refusedBy === leader || f.retryTick > this.tickNow)) continue;
      if (isMemberTid(f.tid) && f.target !== null) {
        // Sent to a leader that is gone: it may be in some log. Never sent twice (see above).
        this.forwarded.delete(fid);
        this.reply(f.reqId, { ok: false, code: 'TIMEOUT', message: 'leader changed while a membership change was under way; outcome unknown, see CLUSTER MEMBERS' });
        continue;
      }
      if (leader === this.id) {
        // This node leads now: propose it here, as a request of its own.
        this.forwarded.delete(fid);
        const p = this.pending.get(f.reqId)!;
        p.fid = 0;
        p.attempts = Math.max(p.attempts, f.attempts) + 1;
        if (p.req.kind === 'write') p.req = { ...p.req, tid: f.tid };
        local.push({ id: f.reqId, tid: f.tid, data: f.data });
        continue;
      }
      f.target = leader;
      f.refusedBy = null;
      f.attempts++;
      let list = this.fwdWrites.get(leader);
      if (!list) this.fwdWrites.set(leader, (list = []));
      list.push({ fid, tid: f.tid, data: f.data });
    }
    if (local.length > 0) this.propose(local, null, 0);
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** Sizes of every map, for assertions and status. */
  sizes(): { pending: number; waiting: number; proposals: number; forwarded: number; reads: number; readyReads: number } {
    return {
      pending: this.pending.size,
      waiting: this.waiting.length,
      proposals: this.proposals.size,
      forwarded: this.forwarded.size,
      reads: this.reads.size,
      readyReads: this.readyReads.length,
    };
  }

  private reply(reqId: number, reply: ClientReply): void {
    if (!this.pending.delete(reqId)) return; // answered already (timed out)
    this.replies.push({ reqId, reply });
  }

  private ok(origin: NodeId | null, epoch: number, id: number, reply: Uint8Array): void {
    if (origin === null) this.reply(id, { ok: true, reply });
    else this.peerReply(origin, epoch, { fid: id, ok: true, reply, code: '', message: '' });
  }

  private fail(origin: NodeId | null, epoch: number, id: number, code: ReplyCode, message: string): void {
    if (origin !== null) {
      this.peerReply(origin, epoch, { fid: id, ok: false, reply: EMPTY, code, message });
      return;
    }
    const p = this.pending.get(id);
    if (p === undefined) return;
    if (this.mayExistElsewhere(p)) {
      this.retry(p, code === 'BUSY' ? this.tickNow + 1 : 0);
      return;
    }
    this.reply(id, { ok: false, code, message });
  }

  /**
   * The entry a proposal waited for is gone from this log. `definite`: another entry
   * committed at its index, so it can never commit; otherwise another node may still
   * hold it and commit it later, and its outcome is unknown (TIMEOUT, never TRYAGAIN).
   */
  private lost(pr: Proposal, definite: boolean): void {
    if (pr.origin !== null) {
      // The follower owns the request: it re-routes it (it always has a request id).
      this.peerReply(pr.origin, pr.epoch, { fid: pr.id, ok: false, reply: EMPTY, code: LOST, message: 'entry lost to a leader change' });
      return;
    }
    const p = this.pending.get(pr.id);
    if (p === undefined) return;
    if (this.mayExistElsewhere(p)) this.retry(p, 0);
    else if (definite) this.reply(pr.id, { ok: false, code: 'TRYAGAIN', message: 'entry lost to a leader change; retry' });
    else this.reply(pr.id, { ok: false, code: 'TIMEOUT', message: 'entry cut from the log by a leader change; outcome unknown' });
  }

  /**
   * A write sent more than once (re-routed, or proposed here after a forward) may have
   * an earlier copy in some log that can still commit: no refusal may answer it. It has a
   * request id, so sending it again is safe: the dedup table applies it once.
   */
  private mayExistElsewhere(p: Pending): boolean {
    return p.req.kind === 'write' && p.req.tid !== '' && !isMemberTid(p.req.tid) && p.attempts > 1;
  }

  private retry(p: Pending, notBeforeTick: number): void {
    p.waiting = true;
    p.retryTick = notBeforeTick;
    this.waiting.push(p.req);
  }

  private peerReply(to: NodeId, epoch: number, item: ForwardReplyItem): void {
    let byEpoch = this.fwdReplies.get(to);
    if (!byEpoch) this.fwdReplies.set(to, (byEpoch = new Map()));
    let list = byEpoch.get(epoch);
    if (!list) byEpoch.set(epoch, (list = []));
    list.push(item);
  }
}

function asCode(code: string): ReplyCode {
  return code === 'TRYAGAIN' || code === 'BUSY' || code === 'TIMEOUT' ? code : 'ERR';
}
