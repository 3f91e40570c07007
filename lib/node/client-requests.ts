// Client requests inside the supervisor: writes proposed on the leader or forwarded
// to it, exactly-once through the state machine's dedup table, and linearizable reads
// through ReadIndex. Owns every map of requests in flight; each is bounded in size and
// in time, so a lost leader or a lost message never leaves a request hanging.
import type { ClientReply, ForwardMessage, GatewayRequest } from '../../actors/protocol.js';
import type { KvStateMachine } from '../kv/state-machine.js';
import type { RaftCore } from '../raft/core.js';
import type { Entry, NodeId } from '../raft/types.js';
import { assert } from '../util/assert.js';

/** Who waits for the entry proposed at an index: a local gateway request, or a follower's. */
interface Proposal {
  term: number;
  origin: NodeId | null;
  /** reqId (local) or fid (forwarded). */
  id: number;
}

interface Forwarded {
  reqId: number;
  deadlineTick: number;
}

interface ReadBatch {
  items: { reqId: number; args: Buffer[] }[];
}

export interface ClientRequestsLimits {
  /** Forwarded writes and reads in flight are given up (and answered) after this many ticks. */
  requestTicks: number;
  /** Bound on requests of each kind in flight on this node. */
  inFlightMax: number;
}

type FwdReplyItem = Extract<ForwardMessage, { type: 'fwdReply' }>['replies'][number];

const EMPTY = new Uint8Array(0);

export class ClientRequests {
  private readonly proposals = new Map<number, Proposal>();
  private readonly forwarded = new Map<number, Forwarded>();
  private nextFid = 0;
  private readonly reads = new Map<number, ReadBatch>();
  private nextReadCtx = 0;
  /** Read batches whose read index is known, waiting for the state machine to catch up (ascending index). */
  private readyReads: { index: number; batch: ReadBatch }[] = [];
  private tickNow = 0;
  /** Outputs, collected until the supervisor flushes them. */
  replies: { reqId: number; reply: ClientReply }[] = [];
  outbox: ForwardMessage[] = [];
  private fwdWrites = new Map<NodeId, { fid: number; tid: string; data: Uint8Array }[]>();
  private fwdReplies = new Map<NodeId, FwdReplyItem[]>();

  constructor(
    private readonly id: NodeId,
    private readonly core: RaftCore,
    private readonly sm: KvStateMachine,
    private readonly limits: ClientRequestsLimits,
  ) {}

  /** Requests from this node's gateway. */
  onRequests(items: GatewayRequest[]): void {
    const writes: { reqId: number; tid: string; data: Uint8Array }[] = [];
    const reads: { reqId: number; args: Buffer[] }[] = [];
    for (const it of items) {
      if (it.kind === 'write') writes.push(it);
      else reads.push({ reqId: it.reqId, args: it.args.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)) });
    }
    if (writes.length > 0) this.write(writes);
    if (reads.length > 0) this.read(reads);
  }

  private write(items: { reqId: number; tid: string; data: Uint8Array }[]): void {
    const st = this.core.status();
    if (st.role === 'leader') {
      this.propose(items.map((i) => ({ id: i.reqId, tid: i.tid, data: i.data })), null);
      return;
    }
    if (st.leader === null || st.leader === this.id) {
      for (const i of items) this.fail(null, i.reqId, 'TRYAGAIN', 'no leader elected yet');
      return;
    }
    let list = this.fwdWrites.get(st.leader);
    if (!list) this.fwdWrites.set(st.leader, (list = []));
    for (const i of items) {
      if (this.forwarded.size >= this.limits.inFlightMax) {
        this.fail(null, i.reqId, 'BUSY', 'too many forwarded requests');
        continue;
      }
      const fid = ++this.nextFid;
      this.forwarded.set(fid, { reqId: i.reqId, deadlineTick: this.tickNow + this.limits.requestTicks });
      list.push({ fid, tid: i.tid, data: i.data });
    }
  }

  /** Proposes on the leader; `origin` null for local requests, else the follower that forwarded them. */
  private propose(items: { id: number; tid: string; data: Uint8Array }[], origin: NodeId | null): void {
    if (this.proposals.size + items.length > this.limits.inFlightMax) {
      for (const i of items) this.fail(origin, i.id, 'BUSY', 'too many writes in flight');
      return;
    }
    const res = this.core.propose(items.map((i) => ({ tid: i.tid, data: i.data })));
    if (res.ok) {
      items.forEach((it, k) => {
        const index = res.firstIndex + k;
        assert(!this.proposals.has(index), `two proposals at index ${index}`);
        this.proposals.set(index, { term: res.term, origin, id: it.id });
      });
      return;
    }
    for (const i of items) {
      if (res.code === 'BUSY') this.fail(origin, i.id, 'BUSY', 'too many uncommitted entries');
      else this.fail(origin, i.id, 'TRYAGAIN', `leader changed${res.leader ? ` to ${res.leader}` : ''}; retry`);
    }
  }

  private read(items: { reqId: number; args: Buffer[] }[]): void {
    if (this.reads.size >= this.limits.inFlightMax) {
      for (const i of items) this.fail(null, i.reqId, 'BUSY', 'too many reads in flight');
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
        if (this.core.status().role !== 'leader') {
          for (const it of m.items) this.fail(m.from, it.fid, 'TRYAGAIN', 'leader changed; retry');
          return;
        }
        this.propose(m.items.map((i) => ({ id: i.fid, tid: i.tid, data: i.data })), m.from);
        return;
      case 'fwdReply':
        for (const r of m.replies) {
          const f = this.forwarded.get(r.fid);
          if (!f) continue; // given up already
          this.forwarded.delete(r.fid);
          this.replies.push({ reqId: f.reqId, reply: r.ok ? { ok: true, reply: r.reply } : { ok: false, code: asCode(r.code), message: r.message } });
        }
        return;
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
      for (const i of batch.items) this.fail(null, i.reqId, 'TRYAGAIN', 'leadership could not be confirmed; retry');
    }
  }

  /** Applies committed entries in order and answers whoever waits for them. */
  apply(e: Entry): void {
    const reply = this.sm.apply(e);
    const p = this.proposals.get(e.index);
    if (!p) return;
    this.proposals.delete(e.index);
    if (e.term === p.term) this.ok(p.origin, p.id, reply);
    else this.fail(p.origin, p.id, 'TRYAGAIN', 'entry lost to a leader change; retry');
  }

  /** Serves the reads whose index the state machine has reached. */
  serveReads(appliedIndex: number): void {
    let k = 0;
    while (k < this.readyReads.length && this.readyReads[k]!.index <= appliedIndex) {
      for (const i of this.readyReads[k]!.batch.items) this.ok(null, i.reqId, this.sm.read(i.args));
      k++;
    }
    if (k > 0) this.readyReads = this.readyReads.slice(k);
  }

  /** Once per tick: forwarded requests past their deadline are answered and forgotten. */
  tick(): void {
    this.tickNow++;
    for (const [fid, f] of this.forwarded) {
      if (f.deadlineTick > this.tickNow) break;
      this.forwarded.delete(fid);
      this.replies.push({ reqId: f.reqId, reply: { ok: false, code: 'TIMEOUT', message: 'the leader did not answer in time' } });
    }
  }

  /** Moves per-peer forwards into the outbox as one message per peer. */
  drain(term: number): void {
    for (const [to, items] of this.fwdWrites) if (items.length > 0) this.outbox.push({ type: 'fwdWrite', term, from: this.id, to, items });
    for (const [to, replies] of this.fwdReplies) if (replies.length > 0) this.outbox.push({ type: 'fwdReply', term, from: this.id, to, replies });
    this.fwdWrites.clear();
    this.fwdReplies.clear();
  }

  get inFlight(): number {
    return this.proposals.size + this.forwarded.size + this.reads.size + this.readyReads.length;
  }

  private ok(origin: NodeId | null, id: number, reply: Uint8Array): void {
    if (origin === null) this.replies.push({ reqId: id, reply: { ok: true, reply } });
    else this.peerReply(origin, { fid: id, ok: true, reply, code: '', message: '' });
  }

  private fail(origin: NodeId | null, id: number, code: 'TRYAGAIN' | 'BUSY' | 'TIMEOUT' | 'ERR', message: string): void {
    if (origin === null) this.replies.push({ reqId: id, reply: { ok: false, code, message } });
    else this.peerReply(origin, { fid: id, ok: false, reply: EMPTY, code, message });
  }

  private peerReply(to: NodeId, item: FwdReplyItem): void {
    let list = this.fwdReplies.get(to);
    if (!list) this.fwdReplies.set(to, (list = []));
    list.push(item);
  }
}

function asCode(code: string): 'NOTLEADER' | 'TRYAGAIN' | 'BUSY' | 'TIMEOUT' | 'ERR' {
  return code === 'NOTLEADER' || code === 'TRYAGAIN' || code === 'BUSY' || code === 'TIMEOUT' ? code : 'ERR';
}
