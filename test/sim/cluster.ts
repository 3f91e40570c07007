// A deterministic in-process cluster of RaftCore instances with simulated disks
// and network. Time is a step counter; each node ticks every `stepsPerTick` steps
// (with jitter). The cluster is a faithful driver of the Ready protocol:
//   - hard state and entries are written to the node's "disk" after a random
//     delay, in order; Ready.messages leave only after that write;
//   - Ready.messagesNow leave at once; Ready.committed is applied at once;
//   - persisted(lastIndex, lastTerm) is reported when a write completes;
//   - a crash loses the unwritten writes and every message the node has in flight;
//     a restart builds a new RaftCore from what is on disk.
// Safety properties are checked as the run goes (see checks.ts).

import { RaftCore } from '../../lib/raft/core.js';
import type { CoreConfig, CoreStatus, Entry, HardState, Message, NodeId, Ready } from '../../lib/raft/types.js';
import {
  AppliedHistory,
  check,
  checkLeaderCompleteness,
  checkLogMatching,
  entryKey,
  LeaderHistory,
} from './checks.js';
import { Network, type NetworkOptions } from './network.js';
import { Prng } from './prng.js';

export interface ClusterOptions {
  seed: number;
  nodes: number;
  preVote: boolean;
  checkQuorum: boolean;
  electionTicks: number;
  heartbeatTicks: number;
  inflightMax: number;
  appendBytesMax: number;
  uncommittedEntriesMax: number;
  stepsPerTick: number;
  /** Each tick interval is stepsPerTick +- tickJitter steps. */
  tickJitter: number;
  diskDelayMin: number;
  diskDelayMax: number;
  net: NetworkOptions;
  /** Trace lines kept for failure reports. */
  traceMax: number;
  /** Fault injection at the worst moment: crash a node right after it granted a vote. */
  crashAfterVoteP: number;
}

export function defaultClusterOptions(seed: number, over: Partial<ClusterOptions> = {}): ClusterOptions {
  return {
    seed,
    nodes: 3,
    preVote: true,
    checkQuorum: true,
    electionTicks: 10,
    heartbeatTicks: 2,
    inflightMax: 8,
    appendBytesMax: 4096,
    uncommittedEntriesMax: 1000,
    stepsPerTick: 10,
    tickJitter: 0,
    diskDelayMin: 1,
    diskDelayMax: 3,
    net: { dropP: 0, dupP: 0, delayMin: 1, delayMax: 3 },
    traceMax: 300,
    crashAfterVoteP: 0,
    ...over,
  };
}

interface Write {
  at: number;
  hardState: HardState | null;
  entries: Entry[];
  messages: Message[];
}

interface Disk {
  hardState: HardState;
  entries: Entry[];
}

export interface SimNode {
  id: NodeId;
  core: RaftCore | null;
  disk: Disk;
  writes: Write[];
  /** Shadow of the core's log, rebuilt from Ready.entries (checks the protocol). */
  memLog: Entry[];
  applied: number;
  commitSeen: number;
  nextTickAt: number;
  rng: Prng;
  incarnation: number;
}

type TraceItem = [number, string, string, unknown];

export class Cluster {
  readonly opts: ClusterOptions;
  readonly rng: Prng;
  readonly net: Network;
  readonly nodes: SimNode[];
  readonly byId = new Map<NodeId, SimNode>();
  readonly leaders = new LeaderHistory();
  readonly applied = new AppliedHistory();
  now = 0;
  private trace: TraceItem[] = [];
  private traceHead = 0;
  private readCtx = 0;
  /** ctx -> (node, max committed index known when the read was issued). */
  private readonly pendingReads = new Map<number, { node: NodeId; floor: number }>();
  private proposals = 0;
  private readonly crashSoon = new Set<NodeId>();
  private readonly restartAt = new Map<NodeId, number>();
  stats = { appendRejects: 0, proposed: 0, busy: 0, notLeader: 0, reads: 0, readsOk: 0, readsFailed: 0, crashes: 0, elections: 0 };

  constructor(opts: ClusterOptions) {
    this.opts = opts;
    this.rng = new Prng(opts.seed);
    this.net = new Network(this.rng.fork(), opts.net);
    const ids = Array.from({ length: opts.nodes }, (_, i) => `n${i + 1}`);
    this.nodes = ids.map((id) => ({
      id,
      core: null,
      disk: { hardState: { term: 0, vote: null }, entries: [] },
      writes: [],
      memLog: [],
      applied: 0,
      commitSeen: 0,
      nextTickAt: 0,
      rng: this.rng.fork(),
      incarnation: 0,
    }));
    for (const n of this.nodes) this.byId.set(n.id, n);
    for (const n of this.nodes) this.start(n);
  }

  config(id: NodeId): CoreConfig {
    const o = this.opts;
    return {
      id,
      peers: this.nodes.map((n) => n.id),
      electionTicks: o.electionTicks,
      heartbeatTicks: o.heartbeatTicks,
      preVote: o.preVote,
      checkQuorum: o.checkQuorum,
      inflightMax: o.inflightMax,
      // Two appends' worth: the byte bound binds often (derived, so each seed's schedule is unchanged).
      inflightBytesMax: 2 * o.appendBytesMax,
      appendBytesMax: o.appendBytesMax,
      uncommittedEntriesMax: o.uncommittedEntriesMax,
    };
  }

  private start(n: SimNode): void {
    const rng = n.rng;
    n.core = new RaftCore(
      this.config(n.id),
      { hardState: { ...n.disk.hardState }, entries: n.disk.entries.slice() },
      () => rng.next(),
    );
    n.memLog = n.disk.entries.slice();
    n.applied = 0;
    n.commitSeen = 0;
    n.writes = [];
    n.incarnation++;
    n.nextTickAt = this.now + 1 + this.rng.int(0, this.opts.stepsPerTick - 1);
    this.drain(n);
  }

  // ------------------------------------------------------------ control

  crash(id: NodeId): void {
    const n = this.node(id);
    if (n.core === null) return;
    n.core = null;
    n.writes = [];
    n.memLog = [];
    this.net.dropFrom(id);
    for (const [ctx, r] of this.pendingReads) if (r.node === id) this.pendingReads.delete(ctx);
    this.stats.crashes++;
    this.log(id, 'crash', null);
  }

  restart(id: NodeId): void {
    const n = this.node(id);
    if (n.core !== null) return;
    this.log(id, 'restart', { term: n.disk.hardState.term, entries: n.disk.entries.length });
    this.start(n);
    // The others' transports connect to it again.
    for (const m of this.nodes) if (m.id !== id) this.reportReachable(m.id, id);
  }

  partition(groups: NodeId[][]): void {
    this.net.partition(groups);
    this.log('-', 'partition', groups.map((g) => g.join(',')).join(' | '));
  }

  heal(): void {
    this.net.heal();
    this.log('-', 'heal', null);
    for (const a of this.nodes) for (const b of this.nodes) if (a.id !== b.id) this.reportReachable(a.id, b.id);
  }

  node(id: NodeId): SimNode {
    const n = this.byId.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  live(): SimNode[] {
    return this.nodes.filter((n) => n.core !== null);
  }

  status(id: NodeId): CoreStatus | null {
    const c = this.node(id).core;
    return c === null ? null : c.status();
  }

  /** The live leader with the highest term, if any. */
  leader(): NodeId | null {
    let best: CoreStatus | null = null;
    for (const n of this.nodes) {
      if (n.core === null) continue;
      const s = n.core.status();
      if (s.role === 'leader' && (best === null || s.term > best.term)) best = s;
    }
    return best === null ? null : best.id;
  }

  propose(id: NodeId, count = 1): boolean {
    const n = this.node(id);
    if (n.core === null) return false;
    const items = [];
    for (let i = 0; i < count; i++) {
      const k = ++this.proposals;
      items.push({ tid: `t${k}`, data: new TextEncoder().encode(`s${this.opts.seed}-p${k}`) });
    }
    const res = n.core.propose(items);
    if (res.ok) this.stats.proposed += count;
    else if (res.code === 'BUSY') this.stats.busy++;
    else this.stats.notLeader++;
    this.log(id, 'propose', res);
    this.drain(n);
    return res.ok;
  }

  read(id: NodeId): number {
    const n = this.node(id);
    if (n.core === null) return 0;
    const ctx = ++this.readCtx;
    this.pendingReads.set(ctx, { node: id, floor: this.applied.maxIndex });
    this.stats.reads++;
    n.core.readIndex(ctx);
    this.drain(n);
    return ctx;
  }

  reportReachable(id: NodeId, peer: NodeId): void {
    const n = this.node(id);
    if (n.core === null) return;
    n.core.reportReachable(peer);
    this.drain(n);
  }

  reportUnreachable(id: NodeId, peer: NodeId): void {
    const n = this.node(id);
    if (n.core === null) return;
    n.core.reportUnreachable(peer);
    this.drain(n);
  }

  // ------------------------------------------------------------ time

  /** Advance one step: deliver due messages, complete due writes, tick due nodes. */
  step(): void {
    this.now++;
    for (;;) {
      const m = this.net.pop(this.now);
      if (m === undefined) break;
      const n = this.node(m.to);
      if (n.core === null) continue;
      this.log(m.to, 'recv', m);
      if (m.type === 'appendResp' && !m.success) this.stats.appendRejects++;
      n.core.step(m);
      this.drain(n);
    }
    for (const n of this.nodes) {
      while (n.core !== null && n.writes.length > 0 && n.writes[0]!.at <= this.now) {
        this.completeWrite(n, n.writes.shift()!);
      }
    }
    for (const n of this.nodes) {
      if (n.core === null || n.nextTickAt > this.now) continue;
      const j = this.opts.tickJitter;
      n.nextTickAt = this.now + this.opts.stepsPerTick + (j > 0 ? this.rng.int(-j, j) : 0);
      n.core.tick();
      this.drain(n);
    }
    if (this.crashSoon.size > 0) {
      // ... and bring it back quickly, while the election it voted in is still running.
      for (const id of this.crashSoon) {
        this.crash(id);
        this.restartAt.set(id, this.now + this.rng.int(1, 2 * this.opts.stepsPerTick));
      }
      this.crashSoon.clear();
    }
    for (const [id, at] of this.restartAt) {
      if (at > this.now) continue;
      this.restartAt.delete(id);
      this.restart(id);
    }
  }

  runSteps(steps: number): void {
    for (let i = 0; i < steps; i++) this.step();
  }

  runTicks(ticks: number): void {
    this.runSteps(ticks * this.opts.stepsPerTick);
  }

  /** Run until pred() holds (checked every step); false if it did not within maxTicks. */
  runUntil(pred: () => boolean, maxTicks: number): boolean {
    const steps = maxTicks * this.opts.stepsPerTick;
    for (let i = 0; i < steps; i++) {
      if (pred()) return true;
      this.step();
    }
    return pred();
  }

  /**
   * Liveness: run until converged(). Fails (returns a reason) if the lowest applied
   * index stops rising for stallTicks, or after capTicks in all. Progress-based so a
   * slow but healthy schedule (one entry per message, window of one) is not a failure.
   */
  runUntilConverged(stallTicks: number, capTicks: number): string | null {
    let best = -1;
    let lastProgress = this.now;
    const capAt = this.now + capTicks * this.opts.stepsPerTick;
    const stableMax = new Map<NodeId, number>();
    for (;;) {
      // converged() reads every node's status: check it once per tick, not per step.
      if (this.now % this.opts.stepsPerTick !== 0) {
        this.step();
        continue;
      }
      if (this.converged()) return null;
      // Progress: the lowest applied index rises, or some node makes new entries durable.
      let minApplied = Infinity;
      let stable = 0;
      for (const n of this.nodes) {
        minApplied = Math.min(minApplied, n.core === null ? 0 : n.applied);
        const s = n.core === null ? 0 : n.core.status().stableIndex;
        const m = Math.max(stableMax.get(n.id) ?? 0, s);
        stableMax.set(n.id, m);
        stable += m;
      }
      const metric = minApplied * 1e6 + stable;
      if (metric > best) {
        best = metric;
        lastProgress = this.now;
      }
      if (this.now - lastProgress > stallTicks * this.opts.stepsPerTick) {
        return `no progress for ${stallTicks} ticks (lowest applied index ${minApplied}, leader ${this.leader()})`;
      }
      if (this.now >= capAt) return `not converged within ${capTicks} ticks`;
      this.step();
    }
  }

  // ------------------------------------------------------------ the driver

  private drain(n: SimNode): void {
    for (let guard = 0; n.core !== null && n.core.hasReady(); guard++) {
      check(guard < 1000, 'ready loop', () => `${n.id} keeps having ready`);
      this.handleReady(n, n.core.ready());
    }
    if (n.core !== null) this.observe(n);
  }

  private handleReady(n: SimNode, rd: Ready): void {
    for (const ev of rd.events) {
      if (ev.level !== 'debug') this.log(n.id, 'event', ev);
      if (ev.event === 'voteGranted' && ev['pre'] === false && this.rng.chance(this.opts.crashAfterVoteP)) {
        this.crashSoon.add(n.id);
      }
    }
    if (rd.entries.length > 0) {
      const first = rd.entries[0]!.index;
      check(first >= 1 && first <= n.memLog.length + 1, 'ready entries', () =>
        `${n.id} entries start at ${first}, log has ${n.memLog.length}`,
      );
      n.memLog.length = first - 1;
      for (const e of rd.entries) {
        check(e.index === n.memLog.length + 1, 'ready entries', () => `${n.id} entries not contiguous at ${e.index}`);
        n.memLog.push(e);
      }
    }
    for (const m of rd.messagesNow) this.send(m);
    const hasWrite = rd.hardState !== null || rd.entries.length > 0;
    if (hasWrite || n.writes.length > 0) {
      const lastAt = n.writes.length > 0 ? n.writes[n.writes.length - 1]!.at : 0;
      const at = Math.max(lastAt, this.now + this.rng.int(this.opts.diskDelayMin, this.opts.diskDelayMax));
      n.writes.push({ at, hardState: rd.hardState, entries: rd.entries, messages: rd.messages });
    } else {
      for (const m of rd.messages) this.send(m);
    }
    for (const e of rd.committed) {
      check(e.index === n.applied + 1, 'apply order', () => `${n.id} applied ${e.index} after ${n.applied}`);
      const mine = n.memLog[e.index - 1];
      check(mine !== undefined && entryKey(mine) === entryKey(e), 'apply', () =>
        `${n.id} applied ${e.index} which is not in its log`,
      );
      this.applied.apply(n.id, e);
      n.applied = e.index;
    }
    for (const r of rd.reads) {
      const p = this.pendingReads.get(r.ctx);
      check(p !== undefined && p.node === n.id, 'read', () => `${n.id} completed unknown read ${r.ctx}`);
      check(r.index >= p.floor, 'linearizable read', () =>
        `${n.id} read ${r.ctx} at index ${r.index}, but ${p.floor} was committed when it was issued`,
      );
      this.pendingReads.delete(r.ctx);
      this.stats.readsOk++;
    }
    for (const ctx of rd.readsFailed) {
      const p = this.pendingReads.get(ctx);
      check(p !== undefined && p.node === n.id, 'read', () => `${n.id} failed unknown read ${ctx}`);
      this.pendingReads.delete(ctx);
      this.stats.readsFailed++;
    }
  }

  private send(m: Message): void {
    check(m.from !== m.to, 'message', () => `${m.from} sends to itself`);
    if (m.type === 'append') for (const e of m.entries) Object.freeze(e);
    this.net.send(Object.freeze(m), this.now);
  }

  private completeWrite(n: SimNode, w: Write): void {
    const d = n.disk;
    if (w.hardState !== null) {
      const hs = w.hardState;
      check(hs.term >= d.hardState.term, 'durable term', () => `${n.id} term ${d.hardState.term} -> ${hs.term}`);
      check(
        hs.term > d.hardState.term || d.hardState.vote === null || hs.vote === d.hardState.vote,
        'durable vote',
        () => `${n.id} changed its vote in term ${hs.term} from ${d.hardState.vote} to ${hs.vote}`,
      );
      d.hardState = { ...hs };
    }
    if (w.entries.length > 0) {
      const first = w.entries[0]!.index;
      check(first <= d.entries.length + 1, 'durable log', () => `${n.id} write at ${first} leaves a gap`);
      d.entries.length = first - 1;
      for (const e of w.entries) d.entries.push(e);
    }
    for (const m of w.messages) this.send(m);
    if (w.entries.length > 0) {
      const last = w.entries[w.entries.length - 1]!;
      n.core!.persisted(last.index, last.term);
    }
    this.drain(n);
  }

  private observe(n: SimNode): void {
    const s = n.core!.status();
    check(s.commitIndex >= n.commitSeen, 'commit monotonic', () => `${n.id} commit ${n.commitSeen} -> ${s.commitIndex}`);
    n.commitSeen = s.commitIndex;
    check(s.lastIndex === n.memLog.length, 'ready entries', () =>
      `${n.id} core last index ${s.lastIndex}, Ready stream gave ${n.memLog.length}`,
    );
    if (s.role === 'leader' && this.leaders.observe(s.term, n.id)) {
      this.stats.elections++;
      this.log(n.id, 'leader', s.term);
      checkLeaderCompleteness(n.id, s.term, n.memLog, this.applied);
    }
  }

  // ------------------------------------------------------------ checks

  checkLogs(): void {
    const logs = this.nodes.map((n) => ({ id: n.id, log: n.core !== null ? n.memLog : n.disk.entries }));
    checkLogMatching(logs);
    for (const n of this.nodes) checkLogMatching([{ id: `${n.id}/disk`, log: n.disk.entries }, { id: n.id, log: n.memLog }]);
  }

  /** All nodes up, one leader, everything committed and applied everywhere. */
  converged(): boolean {
    const id = this.leader();
    if (id === null) return false;
    const ls = this.status(id)!;
    if (ls.commitIndex !== ls.lastIndex) return false;
    for (const n of this.nodes) {
      if (n.core === null) return false;
      const s = n.core.status();
      if (s.appliedIndex !== ls.commitIndex || s.lastIndex !== ls.lastIndex) return false;
    }
    return true;
  }

  // ------------------------------------------------------------ trace

  log(node: string, kind: string, payload: unknown): void {
    const item: TraceItem = [this.now, node, kind, payload];
    if (this.trace.length < this.opts.traceMax) this.trace.push(item);
    else {
      this.trace[this.traceHead] = item;
      this.traceHead = (this.traceHead + 1) % this.opts.traceMax;
    }
  }

  traceTail(lines = 80): string[] {
    const ordered = this.trace.slice(this.traceHead).concat(this.trace.slice(0, this.traceHead));
    return ordered.slice(-lines).map(([t, node, kind, p]) => `${String(t).padStart(6)} ${node.padEnd(3)} ${kind} ${fmt(p)}`);
  }
}

export function fmtMessage(m: Message): string {
  const h = `${m.type} t${m.term} ${m.from}->${m.to}`;
  switch (m.type) {
    case 'vote':
      return `${h}${m.pre ? ' pre' : ''} last=${m.lastLogIndex}/${m.lastLogTerm}`;
    case 'voteResp':
      return `${h}${m.pre ? ' pre' : ''} ${m.granted ? 'granted' : 'rejected'}`;
    case 'append':
      return `${h} prev=${m.prevLogIndex}/${m.prevLogTerm} n=${m.entries.length} commit=${m.leaderCommit} ctx=${m.ctx}`;
    case 'appendResp':
      return m.success
        ? `${h} ok match=${m.matchIndex} ctx=${m.ctx}`
        : `${h} reject ${m.rejectIndex} hint=${m.conflictTerm}@${m.conflictIndex} ctx=${m.ctx}`;
    case 'readIndex':
      return `${h} ctx=${m.ctx}`;
    case 'readIndexResp':
      return `${h} ctx=${m.ctx} index=${m.index} ${m.ok ? 'ok' : 'failed'}`;
    case 'timeoutNow':
      return h;
  }
}

function fmt(p: unknown): string {
  if (p === null || p === undefined) return '';
  if (typeof p === 'object' && 'type' in p && 'from' in p && 'to' in p) return fmtMessage(p as Message);
  if (typeof p === 'object') {
    const o = p as Record<string, unknown>;
    if (typeof o['event'] === 'string') {
      const { event, level, term, node: _n, ...rest } = o;
      return `${String(level)} ${String(event)} t${String(term)} ${JSON.stringify(rest)}`;
    }
    return JSON.stringify(p);
  }
  return String(p);
}
