// The replica: everything a node decides, as pure deterministic code above the Raft
// core. It takes events (a tick, peer messages, a durable write, a lost connection,
// client requests) and returns effects (writes for the log, messages for peers,
// replies for clients, log events), the way the core does one level down. The daemon
// (lib/node/raft-node.ts and the actors) and the simulator (test/sim/) drive the same
// code; neither decides anything of its own.
import { KvStateMachine } from '../kv/state-machine.js';
import { RaftCore } from '../raft/core.js';
import type { CoreConfig, CoreStatus, Entry, HardState, NodeId, RaftEvent, Ready, Restored, Role, TransferResult } from '../raft/types.js';
import { assert } from '../util/assert.js';
import { ClientRequests } from './client-requests.js';
import { applyChange, caughtUp, memberStatuses, type MemberStatus } from './membership.js';
import type { Member, Membership } from './membership-types.js';
import type { ClientReply, GatewayRequest, PeerMessage } from './messages.js';
import { shareLargeEntries } from './shared-entries.js';
import { FrameReader, Snapshots, type SnapshotLimits } from './snapshots.js';
import type { LogWriterSnapshotIn, LogWriterSnapshotOut } from './storage-messages.js';

/** Bound on log writes handed out and not yet durable: one per Ready, and a sync covers all of them. */
const PENDING_WRITES_MAX = 100_000;
/** Replies above this are replaced by an error (the gateway queues each reply whole). */
const REPLY_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;

/** Bound on keys one expiry entry deletes. */
const EXPIRE_KEYS_PER_ENTRY_MAX = 256;

export interface ReplicaConfig {
  core: CoreConfig;
  /**
   * The bootstrap members (hosts.txt, with addresses): used only when neither the snapshot
   * nor the log holds a configuration. Absent: core.peers, without addresses.
   */
  members?: Member[];
  /**
   * A node joining an existing cluster: it starts with no configuration, is no voter,
   * never campaigns, and learns the membership from the leader's snapshot or log.
   */
  join?: boolean;
  /** A client request not answered within this many ticks gets TIMEOUT (TRYAGAIN while no leader is known). */
  requestTicks: number;
  /** Bound on client requests in flight on this node. */
  inFlightMax: number;
  /** Exactly-once: a request id is remembered for this many later log entries, and at most this many ids. */
  dedupWindowEntries: number;
  dedupEntriesMax: number;
  /** Per-key bounds of the state machine (every replica must use the same): elements of one collection, bytes of one value. */
  elementsMax?: number;
  valueBytesMax?: number;
  /** A reply larger than this is replaced by an error (KEYS * on a huge store must not take the node down). */
  replyBytesMax?: number;
  /** Bound on Ready rounds handled by one process() call (a long log is applied in slices). */
  readyPerProcessMax: number;
  /**
   * The driver's log writer sends the messages that wait for a write itself, right after
   * the sync that makes it durable (LogWrite.release): a follower's acknowledgement then
   * leaves without a trip back through the thread that decided it. Absent: false, every
   * message comes out of process() (the simulator's way).
   */
  releaseWithWrites?: boolean;
  snapshots: SnapshotLimits;
}

/** One write for the log: persist hardState (if any) and entries, then report `written(seq)`. */
export interface LogWrite {
  seq: number;
  hardState: HardState | null;
  entries: Entry[];
  /**
   * With releaseWithWrites: messages to send once this write is durable (and every write
   * before it: one sync covers all), before written(seq) is reported. They are not
   * handed out again. Messages held later behind this write go with a later write
   * (an empty one if need be: see quiet).
   */
  release?: PeerMessage[];
  /**
   * With releaseWithWrites, on a node that is not the leader: nothing here waits for this
   * write's written(seq) but the messages it releases, which the log writer sends itself,
   * so the log writer may report it late, together with later writes. A follower's log
   * writer then wakes the node's main thread a few times a second instead of once per
   * append. Messages later held behind a write handed out earlier do not wait for its
   * report: they travel with a write of their own (an empty one if need be).
   */
  quiet?: boolean;
}

/** What the driver must do after process(): in this order, writes before the messages. */
export interface Effects {
  writes: LogWrite[];
  /** Snapshot and compaction commands for the log writer, after `writes`, in order. */
  storage: LogWriterSnapshotIn[];
  /** Messages that may leave now (their durability needs are met). */
  messages: PeerMessage[];
  replies: { reqId: number; reply: ClientReply }[];
  /** Entries applied to the state machine in this round, in order. */
  applied: Entry[];
  events: RaftEvent[];
  /** The state machine was replaced by a leader's snapshot through this index (applied jumps to it). */
  restored: number | null;
  /** ReadIndex rounds the core completed or failed in this round (for metrics). */
  readIndex: { ok: number; failed: number };
  /** The core has more to hand out: call process() again soon (after other inputs had a turn). */
  more: boolean;
  /** A snapshot is being serialized a slice per round: call process() again soon (the daemon does; the simulator lets ticks do it). */
  snapshotting: boolean;
  /** The membership in effect, when it changed in this round (the first process() always reports it). */
  membership: Membership | null;
}

/** A write handed out and not yet durable, in seq order. */
interface PendingWrite {
  seq: number;
  lastIndex: number;
  lastTerm: number;
  /** The first index it writes (0: no entries): what lies below is untouched by it. */
  firstIndex: number;
  /** It changes the hard state (term or vote). */
  hardState: boolean;
  /** Messages that may leave only once this write is durable. */
  held: PeerMessage[];
}

export class Replica {
  readonly id: NodeId;
  private readonly core: RaftCore;
  readonly sm: KvStateMachine;
  private readonly requests: ClientRequests;
  private readonly snaps: Snapshots;
  private writeSeq = 0;
  private readonly pendingWrites: PendingWrite[] = [];
  private appliedIndex = 0;
  /** The membership last reported in Effects (null: none yet, so the first process() reports it). */
  private reportedMembership: Membership | null = null;
  /** The driver's clock at the last tick (ms). */
  private nowMs = 0;
  /** Leader: the index of the expiry entry in flight (0: none). */
  private expiryIndex = 0;
  /** Collected between process() calls. */
  private out: Effects = emptyEffects();

  /**
   * `restored.snapshot`, when set, is the snapshot the state was saved in, and
   * `snapshotContent` its content as stored (in byte ranges of any size).
   */
  constructor(
    private readonly cfg: ReplicaConfig,
    restored: Restored,
    random: () => number,
    snapshotContent: Iterable<Uint8Array> = [],
  ) {
    assert(cfg.readyPerProcessMax > 0, 'readyPerProcessMax must be positive');
    this.id = cfg.core.id;
    this.sm = new KvStateMachine({
      dedupEntriesMax: cfg.dedupEntriesMax,
      dedupWindowEntries: cfg.dedupWindowEntries,
      ...(cfg.elementsMax !== undefined ? { elementsMax: cfg.elementsMax } : {}),
      ...(cfg.valueBytesMax !== undefined ? { valueBytesMax: cfg.valueBytesMax } : {}),
    });
    const snap = restored.snapshot ?? null;
    if (snap !== null) {
      const frames = new FrameReader();
      for (const part of snapshotContent) frames.push(part);
      this.sm.restore(frames.finish());
      assert(this.sm.appliedIndex === snap.index, `snapshot ${snap.index} restored a state at ${this.sm.appliedIndex}`);
      this.appliedIndex = snap.index;
    }
    const coreCfg: CoreConfig = { ...cfg.core };
    if (cfg.members !== undefined) coreCfg.members = cfg.members;
    if (cfg.join !== undefined) coreCfg.join = cfg.join;
    this.core = new RaftCore(coreCfg, restored, random);
    this.snaps = new Snapshots(this.id, this.core, this.sm, cfg.snapshots, snap);
    const epoch = Math.floor(random() * 0x1_0000_0000) >>> 0;
    this.requests = new ClientRequests(
      this.id,
      epoch,
      this.core,
      this.sm,
      { requestTicks: cfg.requestTicks, inFlightMax: cfg.inFlightMax },
      () => this.nowMs,
      random,
    );
  }

  // ------------------------------------------------------------------ inputs

  /**
   * One logical tick of the node's clock. `nowMs`: the wall clock (ms) the driver reads
   * with it; only a leader's clock ever reaches the state (stamped into the entries it
   * proposes), and it never goes back there (the state machine keeps the max).
   */
  tick(nowMs: number): void {
    assert(Number.isFinite(nowMs), `tick at ${nowMs}`);
    this.nowMs = nowMs;
    this.core.tick();
    this.requests.tick();
    this.snaps.tick(this.core.role === 'leader');
    this.proposeExpiry();
    this.promoteCaughtUp();
  }

  /**
   * Leader: a learner added to become a voter (CLUSTER ADD without LEARNER) is promoted
   * once it has caught up: replicating, and within a few entries of the leader's log.
   * A learner nobody can reach never gets there and stays a learner.
   */
  private promoteCaughtUp(): void {
    if (this.core.role !== 'leader') return;
    const m = this.core.membership;
    if (!m.members.some((x) => !x.voter && x.autoPromote === true)) return;
    const st = this.core.status();
    if (m.index > st.commitIndex) return; // one change at a time
    for (const x of m.members) {
      if (x.voter || x.autoPromote !== true) continue;
      if (!caughtUp(st.progress[x.id], st.lastIndex, m.index, st.commitIndex)) continue;
      const next = applyChange(m, { op: 'promote', id: x.id });
      if (next.ok) this.core.proposeConfig(next.members); // refused (no entry of this term committed yet): next tick
      return;
    }
  }

  /** Leader: deletes keys whose deadline passed by its clock, a bounded batch per entry, one entry in flight. */
  private proposeExpiry(): void {
    if (this.core.role !== 'leader') {
      this.expiryIndex = 0;
      return;
    }
    if (this.expiryIndex > this.appliedIndex) return;
    const keys = this.sm.expiredKeys(this.nowMs, EXPIRE_KEYS_PER_ENTRY_MAX);
    if (keys.length === 0) return;
    const res = this.core.propose([{ tid: '', data: this.sm.expireCommand(keys, this.nowMs) }]);
    if (res.ok) this.expiryIndex = res.firstIndex;
  }

  /** Messages from peers, Raft's and forwarded client traffic alike. */
  receive(messages: readonly PeerMessage[]): void {
    for (const m of messages) {
      assert(m.to === this.id, `message for ${m.to} delivered to ${this.id}`);
      if (m.type === 'fwdWrite' || m.type === 'fwdReply') this.requests.onForward(m);
      else if (m.type === 'snapChunk') this.snaps.onChunk(m);
      else if (m.type === 'snapAck') this.snaps.onAck(m);
      else this.core.step(m);
    }
  }

  /**
   * Every write with seq <= this is durable. Returns whether that gave process()
   * something to hand out (messages it released, or the core's: a leader's commit).
   * Without it the driver may leave the call to its next round: a follower whose
   * acknowledgements travelled with its writes (releaseWithWrites) usually has nothing.
   */
  written(seq: number): boolean {
    assert(seq <= this.writeSeq, `written ${seq} but only ${this.writeSeq} handed out`);
    let released = 0;
    while (this.pendingWrites.length > 0 && this.pendingWrites[0]!.seq <= seq) {
      const w = this.pendingWrites.shift()!;
      if (w.lastIndex > 0) this.core.persisted(w.lastIndex, w.lastTerm);
      released += w.held.length;
      this.out.messages.push(...w.held);
    }
    return released > 0 || this.core.hasReady();
  }

  /** The connection to a peer dropped. */
  unreachable(peer: NodeId): void {
    this.core.reportUnreachable(peer);
    this.requests.onUnreachable(peer);
    this.snaps.onUnreachable(peer);
  }

  /** The connection to a peer came up (a leader heartbeats it at once). */
  reachable(peer: NodeId): void {
    this.core.reportReachable(peer);
  }

  /** Leader: hand leadership to `target` (null: the most up-to-date follower); writes pause until it ends. */
  transfer(target: NodeId | null): TransferResult {
    return this.core.transferLeadership(target);
  }

  /** The log writer's answer to a snapshot or compaction command. */
  storage(m: LogWriterSnapshotOut): void {
    const before = this.sm.appliedIndex;
    this.snaps.onStorage(m);
    if (this.sm.appliedIndex !== before) {
      // A leader's snapshot replaced the state: applying continues after it.
      assert(this.sm.appliedIndex > this.appliedIndex, 'a snapshot took the state back');
      this.appliedIndex = this.sm.appliedIndex;
      this.out.restored = this.appliedIndex;
    }
  }

  /** Requests from this node's clients. */
  request(items: GatewayRequest[]): void {
    this.requests.onRequests(items);
  }

  // ------------------------------------------------------------------ outputs

  /**
   * Turns the inputs since the last call into effects. `applyMax`: at most this many
   * committed entries per Ready this time (the driver's pace for a long apply; absent:
   * the core's own bound).
   */
  process(applyMax?: number): Effects {
    // A bounded number of Ready per call: applying a long log after a restart must not
    // hold the thread past an election timeout while peer messages wait behind it.
    for (let rounds = 0; this.core.hasReady() && rounds < this.cfg.readyPerProcessMax; rounds++) this.handleReady(this.core.ready(applyMax));
    this.requests.serveReads(this.appliedIndex);
    this.snaps.continue();
    this.snaps.maybeTake(this.appliedIndex);
    // Forwarded requests, snapshot chunks and their answers depend on nothing this node has yet to persist.
    this.out.messages.push(...this.requests.flush(this.core.term));
    if (this.snaps.messages.length > 0) {
      this.out.messages.push(...this.snaps.messages);
      this.snaps.messages = [];
    }
    if (this.snaps.storage.length > 0) {
      this.out.storage.push(...this.snaps.storage);
      this.snaps.storage = [];
    }
    if (this.requests.replies.length > 0) {
      const max = this.cfg.replyBytesMax ?? REPLY_BYTES_MAX_DEFAULT;
      for (const r of this.requests.replies) {
        if (r.reply.ok && r.reply.reply.length > max) {
          r.reply = { ok: false, code: 'ERR', message: `reply of ${r.reply.reply.length} bytes exceeds the ${max}-byte reply bound; ask for less (SCAN instead of KEYS, ranges with limits)` };
        }
        this.out.replies.push(r);
      }
      this.requests.replies = [];
    }
    assert(this.pendingWrites.length <= PENDING_WRITES_MAX, `${this.pendingWrites.length} log writes pending`);
    if (this.cfg.releaseWithWrites === true) this.releaseWithWrites();
    const out = this.out;
    const m = this.core.membership;
    if (m !== this.reportedMembership) {
      this.reportedMembership = m;
      out.membership = m;
    }
    out.more = this.core.hasReady();
    out.snapshotting = this.snaps.serializing;
    this.out = emptyEffects();
    return out;
  }

  private handleReady(rd: Ready): void {
    this.out.events.push(...rd.events);
    this.out.messages.push(...rd.messagesNow);
    if (rd.hardState !== null || rd.entries.length > 0) {
      // A leader's new entries go to the log writer and every follower's replicator: share large ones.
      if (this.core.role === 'leader') shareLargeEntries(rd.entries);
      const seq = ++this.writeSeq;
      const last = rd.entries[rd.entries.length - 1];
      this.out.writes.push({ seq, hardState: rd.hardState, entries: rd.entries, quiet: this.writesQuiet() });
      this.pendingWrites.push({ seq, lastIndex: last?.index ?? 0, lastTerm: last?.term ?? 0, firstIndex: rd.entries[0]?.index ?? 0, hardState: rd.hardState !== null, held: [] });
    }
    this.release(rd.messages);
    for (const e of rd.committed) {
      assert(e.index === this.appliedIndex + 1, `apply in order: got ${e.index} after ${this.appliedIndex}`);
      this.appliedIndex = e.index;
      this.requests.apply(e);
      this.snaps.onApplied(e.data.length + e.tid.length);
      this.out.applied.push(e);
    }
    for (const peer of rd.sendSnapshot) this.snaps.send(peer);
    if (rd.reads.length > 0 || rd.readsFailed.length > 0) {
      this.out.readIndex.ok += rd.reads.length;
      this.out.readIndex.failed += rd.readsFailed.length;
      this.requests.onReads(rd.reads, rd.readsFailed);
    }
  }

  /**
   * Sends now what claims only durable state; holds the rest behind the newest pending
   * write. An acknowledgement may leave before pending writes when none of them changes
   * the hard state and none touches the log at or below the index it claims: then the
   * term it carries and the entries it vouches for are already on disk. So a heartbeat's
   * answer (or an append's whose entries were already here) does not wait behind the
   * fsync of a bulk append that followed. Raft takes acknowledgements in any order.
   */
  private release(msgs: readonly PeerMessage[]): void {
    if (msgs.length === 0) return;
    const last = this.pendingWrites[this.pendingWrites.length - 1];
    if (last === undefined) {
      this.out.messages.push(...msgs);
      return;
    }
    let hardState = false;
    let firstIndex = Infinity;
    for (const w of this.pendingWrites) {
      hardState ||= w.hardState;
      if (w.firstIndex > 0 && w.firstIndex < firstIndex) firstIndex = w.firstIndex;
    }
    for (const m of msgs) {
      const durable = !hardState && m.type === 'appendResp' && (!m.success || m.matchIndex < firstIndex);
      if (durable) this.out.messages.push(m);
      else last.held.push(m);
    }
  }

  /** Whether a write handed out now is quiet (LogWrite.quiet). */
  private writesQuiet(): boolean {
    return this.cfg.releaseWithWrites === true && this.core.role !== 'leader';
  }

  /**
   * The messages held behind this round's writes travel with them; those held behind a
   * write of an earlier round, with an empty write (ReplicaConfig.releaseWithWrites): the
   * log writer may report that write late (LogWrite.quiet), and makes the empty one
   * durable after it, so they leave as soon as they would have on its report.
   */
  private releaseWithWrites(): void {
    const writes = this.out.writes;
    const newest = this.pendingWrites[this.pendingWrites.length - 1];
    if (newest !== undefined && newest.held.length > 0 && newest.seq !== writes[writes.length - 1]?.seq) {
      const seq = ++this.writeSeq;
      writes.push({ seq, hardState: null, entries: [], release: newest.held, quiet: this.writesQuiet() });
      this.pendingWrites.push({ seq, lastIndex: 0, lastTerm: 0, firstIndex: 0, hardState: false, held: [] });
      newest.held = [];
    }
    if (writes.length === 0) return;
    // This round's writes are the newest pending ones, in the same order.
    let k = this.pendingWrites.length - 1;
    for (let i = writes.length - 1; i >= 0; i--, k--) {
      const w = writes[i]!;
      const p = this.pendingWrites[k];
      assert(p !== undefined && p.seq === w.seq, `write ${w.seq} is pending`);
      if (p.held.length === 0) continue;
      w.release = p.held;
      p.held = [];
    }
  }

  // ------------------------------------------------------------------ status

  coreStatus(): CoreStatus {
    return this.core.status();
  }

  /** The core's role, cheaply (coreStatus() builds the whole picture). */
  get role(): Role {
    return this.core.role;
  }

  /** Role, term, leader and indexes are what `prev` says (cheap: the driver asks every round before building a status). */
  statusIs(prev: { role: Role; term: number; leader: NodeId | null; commitIndex: number; appliedIndex: number; lastIndex: number }): boolean {
    const c = this.core;
    return c.role === prev.role && c.term === prev.term && c.leader === prev.leader && c.commitIndex === prev.commitIndex && this.appliedIndex === prev.appliedIndex && c.lastIndex === prev.lastIndex;
  }

  /** Ticks that may pass before one can change the core (RaftCore.ticksUntilDue); the driver sleeps until then. */
  ticksUntilDue(): number {
    return this.core.ticksUntilDue();
  }

  /** The configuration in effect on this node (set by the last config entry it appended). */
  membership(): Membership {
    return this.core.membership;
  }

  /**
   * Started with `join` and not yet caught up with the leader past the configurations of the
   * past (it does not campaign meanwhile). The driver keeps passing `join: true` on every
   * start until it has seen this false once (after a process()), then may drop it.
   */
  get joining(): boolean {
    return this.core.joining;
  }

  /** The configuration in effect at `index` (at or after the log's start). */
  configAt(index: number): Membership {
    return this.core.configAt(index);
  }

  /** Members as status and CLUSTER MEMBERS show them (match indexes are known on the leader only). */
  membersStatus(): MemberStatus[] {
    const st = this.core.status();
    return memberStatuses(this.core.membership, this.id, st.lastIndex, st.role === 'leader' ? this.id : st.leader, st.progress);
  }

  get applied(): number {
    return this.appliedIndex;
  }

  get inFlight(): number {
    return this.requests.inFlight;
  }

  get epoch(): number {
    return this.requests.epoch;
  }

  requestSizes(): ReturnType<ClientRequests['sizes']> {
    return this.requests.sizes();
  }

  /** The newest durable snapshot and the size of the last one taken or sent, for status. */
  snapshotStatus(): { index: number; term: number; bytes: number; sending: number } {
    return { index: this.snaps.latest?.index ?? 0, term: this.snaps.latest?.term ?? 0, bytes: this.snaps.lastBytes, sending: this.snaps.sending };
  }

}

function emptyEffects(): Effects {
  return { writes: [], storage: [], messages: [], replies: [], applied: [], events: [], readIndex: { ok: 0, failed: 0 }, restored: null, more: false, snapshotting: false, membership: null };
}
