// A deterministic in-process cluster of replicas (lib/replica/replica.ts): the same
// code the daemon runs, with its disk, network and clients simulated.
//   - disk: a write is in the page cache at once and durable at a random later step,
//     when the replica is told `written(seq)`. A crash keeps what was synced; of the
//     writes not yet synced, a prefix may survive whole, the next one torn (a prefix
//     of its entries) and the rest are lost. A hard-state rename is atomic.
//   - network: drops, duplicates, delays (reordering) and partitions; a crash loses
//     every message in flight from the node and every queue it held.
//   - clients (sim-clients.ts) talk to any replica through the gateway's own command
//     table, and their history is checked for linearizability at the end.
// Raft's safety properties are checked as the run goes (checks.ts), and every bound
// of the replica is asserted after each step.
import { createHash } from 'node:crypto';
import type { Entry, HardState, NodeId } from '../../lib/raft/types.js';
import { decodeSnapshotHeader, encodeSnapshotConfig, encodeSnapshotHeader, snapshotHeaderBytes } from '../../lib/storage/snapshot-format.js';
import { decodeConfig } from '../../lib/raft/config-entry.js';
import { COMMITTED_PER_READY_MAX } from '../../lib/raft/core.js';
import type { PeerMessage } from '../../lib/replica/messages.js';
import type { LogWriterSnapshotIn, LogWriterSnapshotOut } from '../../lib/replica/storage-messages.js';
import { Replica, type Effects, type LogWrite, type ReplicaConfig } from '../../lib/replica/replica.js';
import { concat } from '../../lib/replica/snapshots.js';
import { AppliedHistory, check, checkLeaderCompleteness, checkLogMatching, LeaderHistory } from './checks.js';
import { fmtMessage } from './cluster.js';
import { Network, type NetworkOptions } from './network.js';
import { Prng } from './prng.js';

export interface ReplicaSimOptions {
  seed: number;
  nodes: number;
  preVote: boolean;
  checkQuorum: boolean;
  electionTicks: number;
  heartbeatTicks: number;
  inflightMax: number;
  appendBytesMax: number;
  uncommittedEntriesMax: number;
  requestTicks: number;
  inFlightMax: number;
  stepsPerTick: number;
  tickJitter: number;
  diskDelayMin: number;
  diskDelayMax: number;
  /** On a crash, the chance that each unsynced write survives (whole, or torn if it is the last). */
  unsyncedSurviveP: number;
  /** Snapshot every this many applied entries, keeping this many behind it. */
  snapshotEntries: number;
  snapshotRetainEntries: number;
  /** ... and no more of them than hold this many bytes. */
  snapshotRetainBytes: number;
  /** Per-node clock offset in ms (expiry must not depend on it). */
  clockSkewMs: Record<NodeId, number>;
  /**
   * Nodes beyond the bootstrap members, down until joined (joinNode): they start empty and
   * join (ReplicaConfig.join). The last spare, when `ghost`, is never started: an address
   * nobody listens on.
   */
  spares: number;
  ghost: boolean;
  net: NetworkOptions;
  traceMax: number;
}

export function defaultReplicaSimOptions(seed: number, over: Partial<ReplicaSimOptions> = {}): ReplicaSimOptions {
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
    requestTicks: 60,
    inFlightMax: 64,
    stepsPerTick: 10,
    tickJitter: 0,
    diskDelayMin: 1,
    diskDelayMax: 3,
    unsyncedSurviveP: 0.5,
    snapshotEntries: 1_000_000,
    snapshotRetainEntries: 0,
    snapshotRetainBytes: 1e12,
    clockSkewMs: {},
    spares: 0,
    ghost: false,
    net: { dropP: 0, dupP: 0, delayMin: 1, delayMax: 3 },
    traceMax: 400,
    ...over,
  };
}

/** A snapshot file as the log writer keeps it: the real header (config included), then the content. */
interface StoredSnapshot {
  index: number;
  term: number;
  config: unknown;
  file: Uint8Array;
  /** The state machine's bytes: file after its header. */
  content: Uint8Array;
}

interface Disk {
  hardState: HardState;
  /** The newest durable snapshot. */
  snapshot: StoredSnapshot | null;
  /** The log holds entries after `base` (a compaction point at or below the snapshot's index). */
  base: number;
  entries: Entry[];
}

/** A snapshot being written (not durable until its write completes) or received. */
interface SnapshotInProgress {
  index: number;
  term: number;
  config: unknown;
  parts: Uint8Array[];
  bytes: number;
}

interface Unsynced {
  at: number;
  write: LogWrite;
}

export interface SimReplica {
  readonly id: NodeId;
  replica: Replica | null;
  /** What survives a crash. */
  disk: Disk;
  unsynced: Unsynced[];
  /** Quiet writes synced and not reported yet (LogWrite.quiet): reported at `at`, or with a later write's report. */
  lateWritten: { seq: number; at: number } | null;
  /**
   * The highest seq synced by this incarnation, as the log writer stores it in shared
   * memory (lib/node/durable-seq.ts); the driver reads it at the start of a round, so a
   * quiet write may be known durable long before its report.
   */
  durableSeq: number;
  /** The log writer's snapshot work, lost on a crash: one being written, one being received. */
  writing: SnapshotInProgress | null;
  receiving: SnapshotInProgress | null;
  /** Answers of the log writer, delivered at a later step. */
  storageReplies: { at: number; reply: LogWriterSnapshotOut }[];
  /** Highest index applied by this incarnation (checked against the replica's own count). */
  applied: number;
  nextTickAt: number;
  readonly rng: Prng;
  incarnation: number;
  /** A bootstrap member (hosts.txt), or a spare that has been told to join. */
  joined: boolean;
  /** Removed from the cluster and stopped (until an operator adds it back: readd). */
  retired: boolean;
  /**
   * Started empty to join (a spare, or a removed node wiped and added back): it starts with
   * `join` until its replica said once it caught up (as the daemon's joined marker does).
   */
  joinPending: boolean;
}

/** Who hears about replies: the simulated clients. */
export interface ReplyListener {
  onReply(node: NodeId, reqId: number, reply: Effects['replies'][number]['reply']): void;
  onCrash(node: NodeId): void;
}

type TraceItem = [number, string, string, string];

export class ReplicaCluster {
  readonly opts: ReplicaSimOptions;
  readonly rng: Prng;
  readonly net: Network<PeerMessage>;
  readonly nodes: SimReplica[];
  private readonly byId = new Map<NodeId, SimReplica>();
  readonly leaders = new LeaderHistory();
  readonly applied = new AppliedHistory();
  listener: ReplyListener | null = null;
  now = 0;
  private trace: TraceItem[] = [];
  private traceHead = 0;
  stats = { crashes: 0, restarts: 0, elections: 0, tornWrites: 0, lostWrites: 0, writes: 0, snapshots: 0, installs: 0, compactions: 0, transfers: 0, joins: 0, retired: 0, readds: 0, ghostAdded: 0 };
  /** Committed configurations in index order, from the bootstrap one on (membership checks). */
  readonly configs: { index: number; voters: string[]; members: string[] }[] = [];
  private readonly retireDue: NodeId[] = [];

  constructor(opts: ReplicaSimOptions) {
    this.opts = opts;
    this.rng = new Prng(opts.seed);
    this.net = new Network<PeerMessage>(this.rng.fork(), opts.net);
    const ids = Array.from({ length: opts.nodes + opts.spares }, (_, i) => `n${i + 1}`);
    this.nodes = ids.map((id, i) => ({
      id,
      replica: null,
      disk: { hardState: { term: 0, vote: null }, snapshot: null, base: 0, entries: [] },
      unsynced: [],
      lateWritten: null,
      durableSeq: 0,
      writing: null,
      receiving: null,
      storageReplies: [],
      applied: 0,
      nextTickAt: 0,
      rng: this.rng.fork(),
      incarnation: 0,
      joined: i < opts.nodes,
      retired: false,
      joinPending: i >= opts.nodes,
    }));
    for (const n of this.nodes) this.byId.set(n.id, n);
    this.configs.push({ index: 0, voters: ids.slice(0, opts.nodes), members: ids.slice(0, opts.nodes) });
    for (const n of this.nodes) if (n.joined) this.start(n);
  }

  /** The address a node listens on (a spare's too: CLUSTER ADD names it). */
  static address(id: NodeId): { host: string; peerPort: number; clientPort: number } {
    const k = Number(id.slice(1));
    return { host: `10.0.0.${k}`, peerPort: 7100 + k, clientPort: 6100 + k };
  }

  /** The spare nodes that may still be added, the ghost last (null when none is left). */
  spareIds(): NodeId[] {
    return this.nodes.filter((n) => !n.joined && !n.retired).map((n) => n.id);
  }

  /** The ghost: a member an operator may add whose address nobody listens on. */
  get ghostId(): NodeId | null {
    return this.opts.ghost && this.opts.spares > 0 ? this.nodes[this.nodes.length - 1]!.id : null;
  }

  /** Starts spare `id` empty, as a node that joins (it waits for a leader to add it and send it the log). */
  joinNode(id: NodeId): void {
    const n = this.node(id);
    if (n.joined || n.retired || id === this.ghostId) return;
    n.joined = true;
    this.stats.joins++;
    this.log(id, 'join', 'started empty, waiting for the leader');
    this.start(n);
  }

  /** A removed member is stopped for good (its disk is never used again), at the next step (not inside its own effects). */
  retire(id: NodeId): void {
    this.retireDue.push(id);
  }

  private retireNow(id: NodeId): void {
    const n = this.byId.get(id);
    if (n === undefined) return; // a member nobody ever ran (an operator's typo at an unused address)
    if (n.retired) return;
    if (n.replica !== null) this.crash(id);
    n.retired = true;
    this.stats.retired++;
    this.log(id, 'retire', 'removed from the cluster');
  }

  /**
   * An operator brings a removed node back to add it again: restarted from its old disk
   * (a stale log and configuration the leader then overwrites), or wiped and started empty
   * as a node that joins (the way raft-cluster replaces a dead node).
   */
  readd(id: NodeId, wipe: boolean): void {
    const n = this.node(id);
    if (!n.retired || n.replica !== null || id === this.ghostId) return;
    if (wipe) {
      n.disk = { hardState: { term: 0, vote: null }, snapshot: null, base: 0, entries: [] };
      n.joinPending = true;
    }
    n.retired = false;
    this.stats.readds++;
    this.log(id, 'readd', wipe ? 'wiped, started empty to join' : 'restarted from its old disk');
    this.start(n);
  }

  /** Started at least once and not retired: restarts bring it back. */
  startable(id: NodeId): boolean {
    const n = this.node(id);
    return n.joined && !n.retired;
  }

  config(id: NodeId): ReplicaConfig {
    const o = this.opts;
    const boot = this.nodes.slice(0, o.nodes);
    return {
      members: boot.map((n) => ({ id: n.id, ...ReplicaCluster.address(n.id), voter: true })),
      join: this.node(id).joinPending,
      core: {
        id,
        peers: boot.map((n) => n.id),
        electionTicks: o.electionTicks,
        heartbeatTicks: o.heartbeatTicks,
        preVote: o.preVote,
        checkQuorum: o.checkQuorum,
        inflightMax: o.inflightMax,
        // Two appends' worth: the byte bound binds often (derived, so each seed's schedule is unchanged).
        inflightBytesMax: 2 * o.appendBytesMax,
        appendBytesMax: o.appendBytesMax,
        uncommittedEntriesMax: o.uncommittedEntriesMax,
      },
      requestTicks: o.requestTicks,
      inFlightMax: o.inFlightMax,
      dedupWindowEntries: 1_000_000,
      dedupEntriesMax: 100_000,
      readyPerProcessMax: 1,
      // As the daemon runs: messages that wait for a write leave when it is synced (step()).
      releaseWithWrites: true,
      snapshots: { snapshotEntries: o.snapshotEntries, snapshotLogBytes: o.snapshotEntries === 1_000_000 ? 1e12 : 4096, retainEntries: o.snapshotRetainEntries, retainBytes: o.snapshotRetainBytes, chunkBytes: 1024, takeBytesPerRound: 300, chunkTimeoutTicks: 2 * o.electionTicks, attemptsMax: 5 },
    };
  }

  private start(n: SimReplica): void {
    const rng = n.rng;
    const d = n.disk;
    // Like the log writer: the log after the snapshot, the snapshot's content read back in pieces.
    const snap = d.snapshot;
    if (snap !== null && d.base < snap.index) {
      // Like LogStore.open: a log that does not hold the snapshot's last entry (it ends before
      // it: a follower applies committed entries before its own copy is durable, so a crash can
      // keep a snapshot past its log; or it holds another term there) restarts after the snapshot.
      const held = d.entries[snap.index - d.base - 1];
      if (held === undefined || held.term !== snap.term) {
        d.entries = [];
        d.base = snap.index;
      }
    }
    const entries = snap === null ? d.entries.slice() : d.entries.filter((e) => e.index > snap.index);
    const pieces: Uint8Array[] = [];
    if (snap !== null) for (let at = 0; at < snap.content.length; at += 777) pieces.push(snap.content.subarray(at, at + 777));
    n.replica = new Replica(
      this.config(n.id),
      { hardState: { ...d.hardState }, snapshot: snap === null ? null : { index: snap.index, term: snap.term }, snapshotConfig: snap?.config ?? null, entries },
      () => rng.next(),
      pieces,
    );
    n.unsynced = [];
    n.lateWritten = null;
    n.durableSeq = 0;
    n.writing = null;
    n.receiving = null;
    n.storageReplies = [];
    n.applied = snap?.index ?? 0;
    n.incarnation++;
    n.nextTickAt = this.now + 1 + this.rng.int(0, this.opts.stepsPerTick - 1);
    this.pump(n);
  }

  // ------------------------------------------------------------ control

  /** The process dies: unsynced writes may survive in part, everything in memory is gone. */
  crash(id: NodeId): void {
    const n = this.node(id);
    if (n.replica === null) return;
    for (const u of n.unsynced) {
      if (!this.rng.chance(this.opts.unsyncedSurviveP)) {
        this.stats.lostWrites++;
        break;
      }
      const w = u.write;
      if (w.entries.length > 1 && this.rng.chance(0.3)) {
        // Torn: a prefix of the entries reached the platter. The hard state did, whole: the log
        // writer syncs and renames it before it appends the entries (actors/log-writer.ts), so
        // a log never holds a term its hard state has not reached.
        this.persist(n, { seq: w.seq, hardState: w.hardState, entries: w.entries.slice(0, this.rng.int(1, w.entries.length - 1)) });
        this.stats.tornWrites++;
        break;
      }
      this.persist(n, w);
    }
    n.replica = null;
    n.unsynced = [];
    n.lateWritten = null;
    n.durableSeq = 0;
    this.net.dropFrom(id);
    this.stats.crashes++;
    this.log(id, 'crash', `incarnation ${n.incarnation}`);
    this.listener?.onCrash(id);
  }

  restart(id: NodeId): void {
    const n = this.node(id);
    if (n.replica !== null || !this.startable(id)) return;
    this.stats.restarts++;
    this.log(id, 'restart', `term ${n.disk.hardState.term} entries ${n.disk.entries.length}`);
    this.start(n);
    // The others' transports connect to it again (the node reports `connected`).
    for (const m of this.nodes) if (m.id !== id) this.reachable(m.id, id);
  }

  partition(groups: NodeId[][]): void {
    this.net.partition(groups);
    this.log('-', 'partition', groups.map((g) => g.join(',')).join(' | '));
  }

  heal(): void {
    this.net.heal();
    this.log('-', 'heal', '');
    for (const a of this.nodes) for (const b of this.nodes) this.reachable(a.id, b.id);
  }

  /** Asks the leader `id` to hand leadership over. */
  transfer(id: NodeId, target: NodeId | null): void {
    const n = this.node(id);
    if (n.replica === null) return;
    const r = n.replica.transfer(target);
    this.log(id, 'transfer', r.ok ? `to ${r.target}` : `refused: ${r.message}`);
    if (r.ok) this.stats.transfers++;
    this.pump(n);
  }

  /** The transport lost its connection from `id` to `peer`. */
  unreachable(id: NodeId, peer: NodeId): void {
    const n = this.node(id);
    if (n.replica === null || id === peer) return;
    n.replica.unreachable(peer);
    this.pump(n);
  }

  /** The transport's connection from `id` to `peer` came up. */
  reachable(id: NodeId, peer: NodeId): void {
    const n = this.node(id);
    if (n.replica === null || id === peer) return;
    n.replica.reachable(peer);
    this.pump(n);
  }

  node(id: NodeId): SimReplica {
    const n = this.byId.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  live(): SimReplica[] {
    return this.nodes.filter((n) => n.replica !== null);
  }

  /** The live leader with the highest term, if any. */
  leader(): NodeId | null {
    let best: { id: NodeId; term: number } | null = null;
    for (const n of this.nodes) {
      if (n.replica === null) continue;
      const s = n.replica.coreStatus();
      if (s.role === 'leader' && (best === null || s.term > best.term)) best = { id: s.id, term: s.term };
    }
    return best === null ? null : best.id;
  }

  /** Client requests into a replica, as its gateway would hand them over. */
  request(id: NodeId, items: Parameters<Replica['request']>[0]): boolean {
    const n = this.node(id);
    if (n.replica === null) return false;
    this.log(id, 'request', items.map((i) => `req ${i.reqId} ${i.kind}${i.kind === 'write' && i.tid !== '' ? ` tid ${i.tid}` : ''}`).join(', '));
    n.replica.request(items);
    this.pump(n);
    return true;
  }

  // ------------------------------------------------------------ time

  /** A node's wall clock: simulated time (10 ms a tick) plus its own skew. */
  clockOf(n: SimReplica): number {
    return 1_700_000_000_000 + (this.now * 10) / this.opts.stepsPerTick + (this.opts.clockSkewMs[n.id] ?? 0);
  }

  /** One step: deliver due messages, complete due syncs, tick due nodes. */
  step(): void {
    this.now++;
    for (const id of this.retireDue.splice(0)) this.retireNow(id);
    for (;;) {
      const m = this.net.pop(this.now);
      if (m === undefined) break;
      const n = this.byId.get(m.to);
      if (n === undefined || n.replica === null) continue; // down, or an address nobody listens on
      this.log(m.to, 'recv', fmtPeer(m));
      n.replica.receive([m]);
      this.pump(n);
    }
    for (const n of this.nodes) {
      let seq = 0;
      let quiet = true;
      while (n.replica !== null && n.unsynced.length > 0 && n.unsynced[0]!.at <= this.now) {
        const u = n.unsynced.shift()!;
        this.persist(n, u.write);
        // The log writer sends what the write released right after the sync (lost with it on a crash).
        for (const m of u.write.release ?? []) this.sendMsg(n, m);
        seq = u.write.seq;
        n.durableSeq = seq;
        if (u.write.quiet !== true) quiet = false;
      }
      if (seq > 0 && quiet) {
        // Like the log writer: a group of quiet writes is reported late, with a later
        // group's report or after a linger of its own (here a random one, up to 3 ticks).
        n.lateWritten = { seq, at: Math.min(n.lateWritten?.at ?? Infinity, this.now + this.rng.int(1, 3 * this.opts.stepsPerTick)) };
        seq = 0;
      } else if (seq > 0) {
        n.lateWritten = null;
      } else if (n.lateWritten !== null && n.lateWritten.at <= this.now) {
        seq = n.lateWritten.seq;
        n.lateWritten = null;
      }
      if (seq > 0 && n.replica !== null) {
        n.replica.written(seq);
        this.pump(n);
      }
    }
    for (const n of this.nodes) {
      while (n.replica !== null && n.storageReplies.length > 0 && n.storageReplies[0]!.at <= this.now) {
        const { reply } = n.storageReplies.shift()!;
        this.completeStorage(n, reply);
        n.replica?.storage(reply);
        this.pump(n);
      }
    }
    for (const n of this.nodes) {
      if (n.replica === null || n.nextTickAt > this.now) continue;
      const j = this.opts.tickJitter;
      n.nextTickAt = this.now + this.opts.stepsPerTick + (j > 0 ? this.rng.int(-j, j) : 0);
      n.replica.tick(this.clockOf(n));
      this.pump(n);
    }
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

  // ------------------------------------------------------------ the driver

  /** What the daemon's supervisor does: process, then carry out the effects; again while there is more. */
  private pump(n: SimReplica): void {
    for (let guard = 0; n.replica !== null; guard++) {
      check(guard < 10_000, 'ready loop', () => `${n.id} keeps having work`);
      // Like RaftNode.process(): what the log writer made durable, read from shared memory
      // (half the time: a sync may also end just after the read), reports or not.
      if (n.durableSeq > 0 && this.rng.chance(0.5)) n.replica.written(n.durableSeq);
      // The daemon sizes each turn's apply by its cost (lib/node/apply-pace.ts): any slice
      // from one entry up must apply the same log in the same order.
      const fx = n.replica.process(this.rng.chance(0.5) ? COMMITTED_PER_READY_MAX : this.rng.int(1, 16));
      this.perform(n, fx);
      this.observe(n);
      if (!fx.more) break;
    }
  }

  private sendMsg(n: SimReplica, m: PeerMessage): void {
    check(m.from === n.id && m.to !== n.id, 'message', () => `${n.id} sends ${m.from}->${m.to}`);
    if (m.type === 'append') for (const e of m.entries) Object.freeze(e);
    this.net.send(Object.freeze(m), this.now);
  }

  private perform(n: SimReplica, fx: Effects): void {
    // Writes first: the log writer takes them in order with the snapshot commands.
    for (const ev of fx.events) if (ev.level !== 'debug') this.log(n.id, 'event', `${ev.event} t${ev.term}${typeof ev['reason'] === 'string' ? ` (${ev['reason']})` : ''}${ev.event === 'configChanged' ? ` ${String(ev['from'])}->${String(ev['to'])} voters ${String(ev['voters'])}` : ''}`);
    for (const c of fx.storage) this.onStorage(n, c);
    if (fx.restored !== null) {
      check(fx.restored > n.applied, 'snapshot restore', () => `${n.id} restored to ${fx.restored} at applied ${n.applied}`);
      this.log(n.id, 'restored', `snapshot through ${fx.restored}`);
      n.applied = fx.restored;
      this.stats.installs++;
    }
    for (const w of fx.writes) {
      const lastAt = n.unsynced.length > 0 ? n.unsynced[n.unsynced.length - 1]!.at : 0;
      const at = Math.max(lastAt, this.now + this.rng.int(this.opts.diskDelayMin, this.opts.diskDelayMax));
      n.unsynced.push({ at, write: w });
      this.stats.writes++;
    }
    for (const m of fx.messages) this.sendMsg(n, m);
    for (const e of fx.applied) {
      check(e.index === n.applied + 1, 'apply order', () => `${n.id} applied ${e.index} after ${n.applied}`);
      const first = e.index > this.applied.maxIndex;
      this.applied.apply(n.id, e);
      n.applied = e.index;
      if (first && e.kind === 'config') this.onConfigCommitted(e);
    }
    for (const r of fx.replies) {
      this.log(n.id, 'reply', `req ${r.reqId} ${r.reply.ok ? 'ok' : `${r.reply.code} ${r.reply.message}`}`);
      this.listener?.onReply(n.id, r.reqId, r.reply);
    }
  }

  // ------------------------------------------------------------ the log writer's snapshot work

  private reply(n: SimReplica, reply: LogWriterSnapshotOut, delay = this.rng.int(this.opts.diskDelayMin, this.opts.diskDelayMax)): void {
    const last = n.storageReplies.length > 0 ? n.storageReplies[n.storageReplies.length - 1]!.at : 0;
    n.storageReplies.push({ at: Math.max(last, this.now + delay), reply });
  }

  /** A command from the replica, in order with its writes (as the log-writer actor takes them). */
  private onStorage(n: SimReplica, c: LogWriterSnapshotIn): void {
    const d = n.disk;
    switch (c.type) {
      case 'snapshotBegin':
        check(n.writing === null, 'snapshot', () => `${n.id} began snapshot ${c.index} while writing ${n.writing!.index}`);
        n.writing = { index: c.index, term: c.term, config: c.config, parts: [], bytes: 0 };
        return;
      case 'snapshotChunk':
        check(n.writing !== null && n.writing.index === c.index, 'snapshot', () => `${n.id} chunk of ${c.index} outside its snapshot`);
        n.writing.parts.push(c.data);
        n.writing.bytes += c.data.length;
        return;
      case 'snapshotAbort':
        n.writing = null;
        return;
      case 'snapshotEnd': {
        const w = n.writing;
        check(w !== null && w.index === c.index, 'snapshot', () => `${n.id} ended snapshot ${c.index} it did not begin`);
        // Durable when this answer is delivered (a crash before loses it, as fsync would).
        this.reply(n, { type: 'snapshotWritten', snapshot: { index: w.index, term: w.term, config: w.config, contentBytes: w.bytes, fileBytes: w.bytes } });
        return;
      }
      case 'compact': {
        // Never past the newest durable snapshot: a restart must find the log after it.
        const through = Math.min(c.throughIndex, d.snapshot?.index ?? 0);
        if (through > d.base) {
          d.entries = d.entries.filter((e) => e.index > through);
          d.base = through;
          this.stats.compactions++;
        }
        this.reply(n, { type: 'compacted', throughIndex: c.throughIndex, firstIndex: d.base + 1, segmentsDeleted: 0 });
        return;
      }
      case 'snapshotRead': {
        const s = d.snapshot;
        const found = s !== null && s.index === c.index && s.term === c.term;
        const whole = found ? (c.part === 'file' ? s.file : s.content) : new Uint8Array(0);
        const data = whole.subarray(c.offset, c.offset + c.bytesMax);
        const done = found && c.offset + data.length >= whole.length;
        this.reply(n, { type: 'snapshotData', reqId: c.reqId, index: c.index, term: c.term, part: c.part, offset: c.offset, data, done, found }, 1);
        return;
      }
      case 'snapshotRecv': {
        let r = n.receiving;
        if (r === null || r.index !== c.index || r.term !== c.term) r = n.receiving = c.offset === 0 ? { index: c.index, term: c.term, config: null, parts: [], bytes: 0 } : null;
        const ack = (status: 'appended' | 'ignored' | 'gap' | 'installed', nextOffset: number): void =>
          this.reply(n, { type: 'snapshotRecvAck', index: c.index, term: c.term, status, nextOffset, firstIndex: d.base + 1, lastIndex: d.base + d.entries.length });
        if (r === null) return ack('gap', 0);
        if (c.offset < r.bytes) return ack('ignored', r.bytes);
        if (c.offset > r.bytes) return ack('gap', r.bytes);
        r.parts.push(c.data);
        r.bytes += c.data.length;
        if (!c.done) return ack('appended', r.bytes);
        n.receiving = null;
        this.install(n, fromFile(concat(r.parts, r.bytes)));
        return ack('installed', 0);
      }
    }
  }

  /** Installs a received snapshot and fits the log to it, as the log writer does. */
  private install(n: SimReplica, s: StoredSnapshot): void {
    const d = n.disk;
    if (d.snapshot !== null && d.snapshot.index >= s.index) return;
    d.snapshot = s;
    const log = this.logOf(n);
    const held = log[s.index - 1];
    if (held !== undefined && held.term === s.term) {
      d.entries = d.entries.filter((e) => e.index > s.index);
    } else {
      d.entries = [];
    }
    d.base = s.index;
  }

  /** A snapshot write's answer is due: only now is it on disk. */
  private completeStorage(n: SimReplica, reply: LogWriterSnapshotOut): void {
    if (reply.type !== 'snapshotWritten') return;
    const w = n.writing;
    check(w !== null && w.index === reply.snapshot.index, 'snapshot', () => `${n.id} finished a snapshot it was not writing`);
    n.writing = null;
    if (n.disk.snapshot === null || n.disk.snapshot.index < w.index) n.disk.snapshot = toFile(w.index, w.term, w.config, concat(w.parts, w.bytes));
    this.stats.snapshots++;
  }

  private persist(n: SimReplica, w: LogWrite): void {
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
      check(first >= 1 && first <= d.base + d.entries.length + 1, 'durable log', () => `${n.id} write at ${first} leaves a gap after ${d.base + d.entries.length}`);
      // Entries a snapshot installed meanwhile covers are not written again.
      d.entries.length = Math.max(0, first - 1 - d.base);
      for (const e of w.entries) if (e.index > d.base) d.entries.push(e);
    }
  }

  /** A config entry is known committed (first applied anywhere): successive configurations must overlap in a quorum. */
  private onConfigCommitted(e: Entry): void {
    const m = decodeConfig(e.data, e.index);
    const next = { index: e.index, voters: m.members.filter((x) => x.voter).map((x) => x.id).sort(), members: m.members.map((x) => x.id).sort() };
    const prev = this.configs[this.configs.length - 1]!;
    check(next.index > prev.index, 'config order', () => `config ${next.index} committed after ${prev.index}`);
    const added = next.voters.filter((v) => !prev.voters.includes(v));
    const removed = prev.voters.filter((v) => !next.voters.includes(v));
    // Single-server changes: one voter more or less, so any majority of one overlaps any majority of the next.
    check(added.length + removed.length <= 1, 'quorum overlap', () => `config ${prev.index} [${prev.voters}] -> ${next.index} [${next.voters}]`);
    check(next.voters.length >= 1, 'quorum overlap', () => `config ${next.index} has no voter`);
    // A learner nobody can reach never catches up, so it is never promoted.
    const ghost = this.ghostId;
    check(ghost === null || !next.voters.includes(ghost), 'learner never promoted', () => `config ${next.index} makes the unreachable ${ghost} a voter`);
    if (ghost !== null && next.members.includes(ghost) && !prev.members.includes(ghost)) this.stats.ghostAdded++;
    this.configs.push(next);
    this.log('-', 'config', `${next.index} voters ${next.voters.join(',')} members ${next.members.join(',')}`);
  }

  private observe(n: SimReplica): void {
    const r = n.replica!;
    if (n.joinPending && !r.joining) n.joinPending = false;
    const s = r.coreStatus();
    check(r.applied === n.applied, 'applied count', () => `${n.id} says ${r.applied}, effects gave ${n.applied}`);
    const sz = r.requestSizes();
    const max = this.opts.inFlightMax;
    check(sz.pending <= max && sz.proposals <= max && sz.forwarded <= max && sz.reads <= max, 'request bounds', () => `${n.id} ${JSON.stringify(sz)}`);
    if (s.role === 'leader' && this.leaders.observe(s.term, n.id)) {
      // Only a voter is ever elected (learners, removed and joining nodes never campaign): of
      // its latest configuration, or of the (committed) one before while its removal is uncommitted.
      const voterIn = (m: ReturnType<Replica['membership']>): boolean => m.members.some((x) => x.id === n.id && x.voter);
      const latest = r.membership();
      check(voterIn(latest) || (latest.index > s.commitIndex && voterIn(r.configAt(latest.index - 1))), 'leader is a voter', () => `${n.id} leads term ${s.term} outside its configuration's voters`);
      this.stats.elections++;
      this.log(n.id, 'leader', `term ${s.term}`);
      // The new leader's log: durable entries plus whatever it still has to write.
      checkLeaderCompleteness(n.id, s.term, this.logOf(n), this.applied);
    }
  }

  /**
   * The log a node holds: its disk with its unsynced writes on top. What a snapshot or
   * compaction removed was committed, so the checks see the committed entries there.
   */
  diskLog(n: SimReplica): Entry[] {
    const d = n.disk;
    check(d.base <= this.applied.entries.length, 'compaction', () => `${n.id} compacted through ${d.base}, only ${this.applied.entries.length} are known committed`);
    return this.applied.entries.slice(0, d.base).concat(d.entries);
  }

  logOf(n: SimReplica): Entry[] {
    const log = this.diskLog(n);
    for (const u of n.unsynced) {
      if (u.write.entries.length === 0) continue;
      log.length = u.write.entries[0]!.index - 1;
      log.push(...u.write.entries);
    }
    return log;
  }

  // ------------------------------------------------------------ checks

  checkLogs(): void {
    checkLogMatching(this.nodes.map((n) => ({ id: n.id, log: n.replica !== null ? this.logOf(n) : this.diskLog(n) })));
  }

  /**
   * The nodes that must agree at the end: members of the leader's configuration that run
   * (or should: not the ghost, not retired). Removed nodes that still run are left out:
   * nobody replicates to them any more.
   */
  activeMembers(): SimReplica[] {
    const id = this.leader();
    if (id === null) return [];
    const members = new Set(this.node(id).replica!.membership().members.map((m) => m.id));
    return this.nodes.filter((n) => members.has(n.id) && this.startable(n.id));
  }

  /** All members up, one leader, everything committed and applied everywhere, one configuration. */
  converged(): boolean {
    const id = this.leader();
    if (id === null) return false;
    const lr = this.node(id).replica!;
    const ls = lr.coreStatus();
    if (ls.commitIndex !== ls.lastIndex) return false;
    for (const n of this.activeMembers()) {
      if (n.replica === null) return false;
      if (n.replica.membership() !== lr.membership() && n.replica.membership().index !== lr.membership().index) return false;
      const s = n.replica.coreStatus();
      if (s.appliedIndex !== ls.commitIndex || s.lastIndex !== ls.lastIndex || n.replica.applied !== ls.commitIndex) return false;
    }
    return true;
  }

  /** Every replica's state machine holds the same state (after converged()). */
  checkStateMachines(): void {
    const active = this.activeMembers();
    const lm = JSON.stringify(this.node(this.leader()!).replica!.membership());
    for (const n of active) check(JSON.stringify(n.replica!.membership()) === lm, 'configuration', () => `${n.id} holds ${JSON.stringify(n.replica!.membership())}, the leader ${lm}`);
    const digests = active.map((n) => ({ id: n.id, d: n.replica!.sm.digest() }));
    for (const x of digests) check(x.d === digests[0]!.d, 'replica state', () => `${x.id} differs from ${digests[0]!.id}`);
  }

  // ------------------------------------------------------------ trace

  log(node: string, kind: string, text: string): void {
    const item: TraceItem = [this.now, node, kind, text];
    if (this.trace.length < this.opts.traceMax) this.trace.push(item);
    else {
      this.trace[this.traceHead] = item;
      this.traceHead = (this.traceHead + 1) % this.opts.traceMax;
    }
  }

  traceTail(lines = 80): string[] {
    const ordered = this.trace.slice(this.traceHead).concat(this.trace.slice(0, this.traceHead));
    return ordered.slice(-lines).map(([t, node, kind, p]) => `${String(t).padStart(6)} ${node.padEnd(3)} ${kind} ${p}`);
  }
}

/** A snapshot file in the log writer's format (lib/storage/snapshot-format.ts). */
function toFile(index: number, term: number, config: unknown, content: Uint8Array): StoredSnapshot {
  const digest = createHash('sha256').update(content).digest();
  const header = encodeSnapshotHeader(index, term, encodeSnapshotConfig(config), content.length, digest);
  const file = concat([header, content], header.length + content.length);
  return { index, term, config, file, content: file.subarray(header.length) };
}

/** A received snapshot file: checked as the log writer checks it. */
function fromFile(file: Uint8Array): StoredSnapshot {
  const buf = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  const n = snapshotHeaderBytes(buf);
  check(typeof n === 'number', 'snapshot file', () => `received a file without a header: ${String(n)}`);
  const h = decodeSnapshotHeader(buf.subarray(0, n as number));
  check(typeof h !== 'string', 'snapshot file', () => `received a damaged header: ${String(h)}`);
  const head = h as Exclude<typeof h, string>;
  const content = file.subarray(head.headerBytes);
  check(content.length === head.contentBytes && createHash('sha256').update(content).digest().equals(head.digest), 'snapshot file', () => 'content does not match its header');
  return { index: head.index, term: head.term, config: head.config, file, content };
}

function fmtPeer(m: PeerMessage): string {
  if (m.type === 'fwdWrite') return `fwdWrite t${m.term} ${m.from}->${m.to} epoch=${m.epoch} fids=${m.items.map((i) => i.fid).join(',')}`;
  if (m.type === 'snapChunk') return `snapChunk t${m.term} ${m.from}->${m.to} ${m.index}/${m.snapTerm} @${m.offset}+${m.data.length}${m.done ? ' done' : ''}`;
  if (m.type === 'snapAck') return `snapAck t${m.term} ${m.from}->${m.to} ${m.index}/${m.snapTerm} ${m.status} next=${m.nextOffset}`;
  if (m.type === 'fwdReply') return `fwdReply t${m.term} ${m.from}->${m.to} epoch=${m.epoch} fids=${m.replies.map((i) => `${i.fid}${i.ok ? '' : `:${i.code}`}`).join(',')}`;
  return fmtMessage(m);
}
