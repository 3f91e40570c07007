// The pure Raft state machine: no I/O, no clock, no randomness of its own.
// Inputs: tick(), step(msg), propose(), readIndex(), persisted(), reportUnreachable(),
// reportReachable().
// Output: ready(), a batch of things to persist, send and apply (see types.ts).
//
// Modelled on etcd-io/raft, and split the way it is: this file is the public face;
// roles.ts swaps role behaviour in (becomeFollower sets the follower's step and tick),
// election.ts campaigns and votes, replication.ts moves the log, read-index.ts serves
// ReadIndex, message-builders.ts builds every message; state.ts is the state they
// share, progress.ts the per-peer replication state, log.ts the log, quorum.ts the
// majority arithmetic.
import { assert, assertNever } from './assert.js';
import { onNonVoterVote, onRemovedNotice, onStaleTerm, onVote } from './election.js';
import { appendAccepted, readIndexMsg } from './message-builders.js';
import { expireReads, leaderRead } from './read-index.js';
import { becomeFollower, inLease, setLeader, stepFollower, tickElection, ticksUntilDue } from './roles.js';
import type { Member, Membership } from '../replica/membership-types.js';
import { encodeConfig } from './config-entry.js';
import { bcastAppend, bcastCommit, committedInTerm, heartbeatTo, maybeCommit, maybeStepDownRemoved, sendTimeoutNow } from './replication.js';
import { CoreState } from './state.js';
import type { CoreConfig, CoreStatus, Entry, HardState, Message, NodeId, ProposeConfigResult, ProposeResult, Ready, Restored, Role, SnapshotMeta, TransferResult } from './types.js';

export { EVENTS_MAX, READS_MAX } from './state.js';
/**
 * Bound on committed entries handed out by one ready() (hasReady() stays true for the
 * rest). The driver handles one Ready per event-loop turn, so this bounds how long a
 * long log's apply keeps heartbeats and ticks waiting: applying a SET costs 20-75 µs on
 * this 2-core machine (the high end with five nodes applying at once), and 8192 a slice
 * stalled each node 600 ms, twice the election timeout, at a restart with 80,000 entries.
 * Even 1024 took a new leader 550 ms while its apply code was still cold, so the driver
 * asks for fewer (ready(committedMax)), sized by the cost it measures (lib/node/apply-pace.ts).
 */
export const COMMITTED_PER_READY_MAX = 1024;
/**
 * A follower whose leader's connection closed campaigns within electionTicks / this (3
 * ticks of the default 30). It was a third, to keep followers that saw the close apart;
 * pre-candidates close together now resolve without a split (election.ts defersToSelf,
 * yieldTo), so the spread only costs time: the failover bench's median was mostly it.
 */
const UNREACHABLE_CAMPAIGN_FRACTION = 10;

export class RaftCore {
  private readonly s: CoreState;

  constructor(config: CoreConfig, restored: Restored, random: () => number) {
    this.s = new CoreState(config, restored, random, stepFollower, tickElection);
    becomeFollower(this.s, this.s.term, null, 'start');
  }

  // ---------------------------------------------------------------- inputs

  tick(): void {
    const s = this.s;
    s.ticks++;
    expireReads(s);
    s.tickRole(s);
  }

  /** Ticks that may pass before the next one can change anything (roles.ts: ticksUntilDue). */
  ticksUntilDue(): number {
    return ticksUntilDue(this.s);
  }

  step(m: Message): void {
    const s = this.s;
    if (m.to !== s.id) return;
    if (m.from === s.id) {
      s.emit('warn', 'messageFromUnknownPeer', { from: m.from, type: m.type });
      return;
    }
    if (m.type === 'vote' && !s.isKnownVoter(m.from)) {
      // A removed node (or one this node does not know as a voter yet) must not disrupt: its
      // votes are ignored, its higher term never adopted. Anything else is taken from anyone,
      // so a node that joins hears its leader before it knows the configuration.
      onNonVoterVote(s, m);
      return;
    }
    assert(Number.isInteger(m.term) && m.term >= 0, `bad message term ${m.term}`);

    if (m.term > s.term) {
      if (m.type === 'vote' && !m.transfer && inLease(s)) {
        // etcd's lease rule: we heard from a live leader within the election timeout,
        // so a (pre-)candidate with a higher term is most likely a returning partitioned
        // node. Ignore it rather than let it disrupt the cluster.
        s.emit('info', 'voteIgnored', { candidate: m.from, pre: m.pre, reason: 'in-lease', msgTerm: m.term });
        return;
      }
      if (m.type === 'vote' && m.pre) {
        // Never adopt the term a pre-candidate would campaign in.
      } else if (m.type === 'voteResp' && m.pre && m.granted) {
        // A granted pre-vote carries the proposed term, not the voter's.
      } else {
        becomeFollower(s, m.term, m.type === 'append' ? m.from : null, `higher term from ${m.from} (${m.type})`);
      }
    } else if (m.term < s.term) {
      onStaleTerm(s, m);
      return;
    }

    if (m.type === 'append') s.removedNotice = null; // a leader replicates to its members only
    if (m.type === 'voteResp' && m.removed === true) onRemovedNotice(s, m);
    else if (m.type === 'vote') onVote(s, m);
    else s.stepRole(s, m);
  }

  propose(items: { tid: string; data: Uint8Array }[]): ProposeResult {
    const s = this.s;
    if (s.role !== 'leader') return { ok: false, code: 'NOT_LEADER', leader: s.leader };
    assert(items.length > 0, 'propose with no items');
    // While leadership is handed over, nothing new enters the log: the target must catch up to a fixed end.
    if (s.leadTransferee !== null) return { ok: false, code: 'TRANSFERRING' };
    const max = s.cfg.uncommittedEntriesMax;
    const uncommitted = s.log.lastIndex - s.commitIndex;
    if (items.length > max || uncommitted + items.length > max) return { ok: false, code: 'BUSY' };
    const firstIndex = s.log.lastIndex + 1;
    const ents: Entry[] = items.map((it, i) => ({ index: firstIndex + i, term: s.term, kind: 'normal', tid: it.tid, data: it.data }));
    s.log.append(ents);
    bcastAppend(s);
    return { ok: true, firstIndex, term: s.term };
  }

  readIndex(ctx: number): void {
    const s = this.s;
    assert(Number.isInteger(ctx) && ctx > 0, `read ctx must be a positive integer, got ${ctx}`);
    switch (s.role) {
      case 'leader':
        leaderRead(s, { kind: 'local', ctx });
        return;
      case 'follower':
        if (s.leader === null || s.forwardedReads.full()) {
          s.readsFailed.push(ctx);
          return;
        }
        s.forwardedReads.add(ctx, s.ticks + s.readTimeoutTicks);
        s.msgsNow.push(readIndexMsg(s, s.leader, ctx));
        return;
      case 'precandidate':
      case 'candidate':
        s.readsFailed.push(ctx);
        return;
      default:
        assertNever(s.role, 'role');
    }
  }

  reportUnreachable(peer: NodeId): void {
    const s = this.s;
    if (s.role === 'follower' && peer === s.leader && s.cfg.preVote) {
      // The connection to our leader closed: a leader that died closes it at once, so this
      // follower stops trusting its lease and campaigns within a tenth of the base election
      // timeout, at a random tick of it (pre-candidates that start together defer to the
      // one that comes first: election.ts), instead of after a whole randomized one. PreVote keeps this harmless when the leader is alive:
      // followers that still hear from it refuse, being in its lease.
      const window = Math.max(1, Math.ceil(s.cfg.electionTicks / UNREACHABLE_CAMPAIGN_FRACTION));
      const soon = s.randomizedElectionTicks - 1 - Math.floor(s.random() * window);
      s.emit('info', 'leaderUnreachable', { leader: peer, campaignInTicks: s.randomizedElectionTicks - Math.max(s.electionElapsed, soon) });
      setLeader(s, null);
      s.electionElapsed = Math.max(s.electionElapsed, soon);
      return;
    }
    if (s.role !== 'leader') return;
    const pr = s.progress.get(peer);
    if (pr === undefined) return;
    if (pr.state === 'replicate') {
      pr.becomeProbe();
      s.emit('debug', 'peerUnreachable', { peer });
    }
  }

  /**
   * The connection to a peer came up. A leader heartbeats it now instead of at the next
   * round (up to two heartbeat intervals away when idle): a restarted follower learns its
   * leader and the commit index, and a peer put in probe by the drop is probed again, as
   * soon as the link allows. An extra heartbeat is always safe.
   */
  reportReachable(peer: NodeId): void {
    const s = this.s;
    if (s.role !== 'leader' || peer === s.id || !s.progress.has(peer)) return;
    s.emit('debug', 'peerReachable', { peer });
    heartbeatTo(s, peer);
  }

  persisted(index: number, term: number): void {
    const s = this.s;
    assert(Number.isInteger(index) && index >= 0, `persisted index ${index}`);
    if (!s.log.stableTo(index, term)) return;
    s.maybeEndJoin(0);
    if (s.role === 'leader' && maybeCommit(s)) {
      bcastCommit(s);
      if (maybeStepDownRemoved(s)) becomeFollower(s, s.term, null, 'removed from the configuration');
    }
  }

  /**
   * Leader: append a configuration (the whole member list; single-server changes: the
   * caller changes at most one voter). It takes effect at once, here and on each
   * follower as it appends it. Refused while another change is uncommitted, and until
   * this leader has committed an entry of its own term (dissertation 4.1's fix: otherwise
   * a change of an earlier term's leader may still be in flight).
   */
  proposeConfig(members: Member[]): ProposeConfigResult {
    const s = this.s;
    if (s.role !== 'leader') return { ok: false, code: 'NOT_LEADER', leader: s.leader };
    if (!committedInTerm(s)) return { ok: false, code: 'TRYAGAIN', message: 'the leader has not committed an entry of its term yet' };
    if (s.leadTransferee !== null) return { ok: false, code: 'TRYAGAIN', message: 'a leadership transfer is under way' };
    if (s.members.index > s.commitIndex) return { ok: false, code: 'PENDING', message: `the configuration change at index ${s.members.index} is not committed yet` };
    assert(members.some((m) => m.voter), 'a configuration without voters');
    const index = s.log.lastIndex + 1;
    const e: Entry = { index, term: s.term, kind: 'config', tid: '', data: encodeConfig(members) };
    s.log.append([e]);
    s.configs.appended([e]);
    s.adoptConfig('proposed');
    s.emit('info', 'configProposed', { index });
    bcastAppend(s);
    // A leader alone (one voter) commits on its own write; persisted() does that.
    return { ok: true, index, term: s.term };
  }

  /** The configuration in effect (set by the last config entry appended). */
  get membership(): Membership {
    return this.s.members;
  }

  /** The configuration in effect at `index` (at or after the log's start): what a snapshot through it stores. */
  configAt(index: number): Membership {
    return this.s.configs.at(index);
  }

  /** Joined with an empty disk and not yet past the configurations of the past (see CoreState.joining). */
  get joining(): boolean {
    return this.s.joining;
  }

  /**
   * Is this node out of the cluster as far as it knows: a configuration without it is in
   * effect and committed (or it could not campaign in the one before), and it does not lead
   * (a removed leader leads until it handed over), or a leader told it so (a removed node
   * restarted from a disk that predates its removal). It takes no part until added again.
   */
  get removed(): boolean {
    const s = this.s;
    if (s.joining || s.role === 'leader') return false;
    return s.removedNotice !== null || (s.members.index > 0 && !s.memberSet.has(s.id) && !s.canCampaign);
  }

  /** Is this node a voter in the configuration in effect? */
  get isVoter(): boolean {
    return this.s.isVoter;
  }

  /**
   * Leader: hand leadership to `target` (dissertation 3.10): stop taking writes, bring it up
   * to date, then tell it to campaign (TimeoutNow). Given up after an election timeout.
   * Null picks the most up-to-date follower.
   */
  transferLeadership(target: NodeId | null): TransferResult {
    const s = this.s;
    if (s.role !== 'leader') return { ok: false, code: 'NOT_LEADER', message: `not the leader${s.leader ? `; ${s.leader} is` : ''}` };
    if (s.leadTransferee !== null) return { ok: false, code: 'IN_PROGRESS', message: `a transfer to ${s.leadTransferee} is under way` };
    let to = target;
    if (to === null) {
      let best = -1;
      for (const peer of s.otherVoters) {
        const m = s.progressOf(peer).match;
        if (m > best) [best, to] = [m, peer];
      }
    }
    if (to === null) return { ok: false, code: 'UNKNOWN_PEER', message: 'no other voter to hand leadership to' };
    if (to === s.id) return { ok: false, code: 'SELF', message: `${to} leads already` };
    const pr = s.progress.get(to);
    if (pr === undefined || !s.voterSet.has(to)) return { ok: false, code: 'UNKNOWN_PEER', message: `${to} is not a voter` };
    s.leadTransferee = to;
    s.transferElapsed = 0;
    s.emit('info', 'transferStarted', { target: to, match: pr.match, lastIndex: s.log.lastIndex });
    if (pr.match === s.log.lastIndex) sendTimeoutNow(s, to);
    else bcastAppend(s);
    return { ok: true, target: to };
  }

  /** The follower leadership is being handed to, if a transfer is under way. */
  get transferTarget(): NodeId | null {
    return this.s.leadTransferee;
  }

  // ---------------------------------------------------------------- snapshots

  /**
   * The driver has a durable snapshot through `index` (its own, or one a leader sent):
   * entries through `throughIndex` (at most what is applied and durable) may be forgotten.
   */
  compact(throughIndex: number): void {
    const s = this.s;
    const to = Math.min(throughIndex, s.appliedIndex, s.log.stableIndex);
    if (to <= s.log.snapshotIndex) return;
    s.log.compactTo(to);
    s.configs.compactedTo(to);
    s.emit('info', 'logCompacted', { throughIndex: to, firstIndex: s.log.firstIndex });
  }

  /**
   * The driver loaded a snapshot into the state machine (one a leader sent): its state is
   * now that through `snap`, which is committed by definition. The log keeps what follows
   * it when it holds the snapshot's last entry (a follower must not drop entries it may
   * have acknowledged), and is replaced by it otherwise.
   */
  installSnapshot(snap: SnapshotMeta, config: Membership | null = null): void {
    const s = this.s;
    assert(Number.isInteger(snap.index) && snap.index > s.appliedIndex && snap.term > 0, `install ${snap.index}/${snap.term} at applied ${s.appliedIndex}`);
    const kept = s.log.matchTerm(snap.index, snap.term);
    if (kept) s.log.compactAround(snap.index);
    else s.log.restore(snap);
    s.configs.installed(snap.index, config, kept);
    s.adoptConfig(`snapshot ${snap.index}`);
    s.maybeEndJoin(snap.index); // committed by definition, and durable
    s.appliedIndex = snap.index;
    if (s.commitIndex < snap.index) s.commitIndex = snap.index;
    s.emit('info', 'snapshotRestored', { index: snap.index, snapTerm: snap.term });
  }

  /**
   * A snapshot sent by the leader of `leaderTerm` is durable here (installed, or already
   * covered by this node's state): tell it how far this node is, so appends resume.
   */
  snapshotAck(from: NodeId, leaderTerm: number): void {
    const s = this.s;
    if (leaderTerm < s.term || from === s.id) return; // a stale leader's: it learns our term from appends
    if (leaderTerm > s.term || s.role !== 'follower') becomeFollower(s, leaderTerm, from, `snapshot from ${from}`);
    s.removedNotice = null;
    s.electionElapsed = 0;
    // Held until durable: the term this node just adopted may not be on disk yet.
    s.msgs.push(appendAccepted(s, from, s.commitIndex, 0));
  }

  /**
   * Leader: sending a snapshot through `index` to `peer` ended; ok: the follower installed
   * it, so appends resume right after it (etcd does the same). If the log was compacted past
   * it meanwhile, the next append finds that out and asks for a newer snapshot.
   */
  reportSnapshot(peer: NodeId, ok: boolean, index = 0): void {
    const s = this.s;
    if (s.role !== 'leader') return;
    const pr = s.progress.get(peer);
    if (pr === undefined || pr.state !== 'snapshot') return;
    pr.becomeProbe();
    if (ok && index + 1 > pr.next && index <= s.log.lastIndex) pr.next = index + 1;
    if (!ok) s.emit('info', 'snapshotNeeded', { peer, next: pr.next, firstIndex: s.log.firstIndex, retry: true });
  }

  /** The first index of the entries ending at `upTo` that together hold at most `bytesMax` (upTo + 1: none). */
  firstIndexWithinBytes(upTo: number, bytesMax: number): number {
    return this.s.log.firstIndexWithinBytes(upTo, bytesMax);
  }

  /** The term of the entry at index, if the log still knows it (the snapshot's own index included). */
  termAt(index: number): number | undefined {
    return this.s.log.term(index);
  }

  // ---------------------------------------------------------------- outputs

  hasReady(): boolean {
    const s = this.s;
    return (
      s.hardStateChanged() ||
      s.log.hasUnstable() ||
      s.msgsNow.length > 0 ||
      s.msgs.length > 0 ||
      s.commitIndex > s.appliedIndex ||
      s.reads.length > 0 ||
      s.readsFailed.length > 0 ||
      s.sendSnapshot.length > 0 ||
      s.events.length > 0 ||
      s.eventsDropped > 0
    );
  }

  /** `committedMax`: fewer committed entries than the bound this time (the driver paces a long apply by its cost, lib/node/apply-pace.ts). */
  ready(committedMax = COMMITTED_PER_READY_MAX): Ready {
    assert(Number.isInteger(committedMax) && committedMax >= 1 && committedMax <= COMMITTED_PER_READY_MAX, () => `ready(${committedMax})`);
    const s = this.s;
    let hardState: HardState | null = null;
    if (s.hardStateChanged()) {
      hardState = { term: s.term, vote: s.vote };
      s.prevHard = hardState;
    }
    const entries = s.log.takeUnstable();
    let committed: Entry[] = [];
    if (s.commitIndex > s.appliedIndex) {
      const hi = Math.min(s.commitIndex, s.appliedIndex + committedMax);
      committed = s.log.slice(s.appliedIndex + 1, hi + 1);
      s.appliedIndex = hi;
    }
    if (s.eventsDropped > 0) {
      s.events.push({ level: 'warn', event: 'eventsDropped', term: s.term, count: s.eventsDropped });
      s.eventsDropped = 0;
    }
    const rd: Ready = {
      hardState,
      entries,
      messagesNow: s.msgsNow,
      messages: s.msgs,
      committed,
      reads: s.reads,
      readsFailed: s.readsFailed,
      sendSnapshot: s.sendSnapshot,
      events: s.events,
    };
    s.msgsNow = [];
    s.msgs = [];
    s.reads = [];
    s.readsFailed = [];
    s.sendSnapshot = [];
    s.events = [];
    return rd;
  }

  /** Cheap views for the driver's paths that run every round (status() builds the whole picture, progress included). */
  get role(): Role {
    return this.s.role;
  }

  get leader(): NodeId | null {
    return this.s.leader;
  }

  get term(): number {
    return this.s.term;
  }

  get commitIndex(): number {
    return this.s.commitIndex;
  }

  get lastIndex(): number {
    return this.s.log.lastIndex;
  }

  status(): CoreStatus {
    const s = this.s;
    const progress: CoreStatus['progress'] = {};
    if (s.role === 'leader') {
      for (const [peer, pr] of s.progress) progress[peer] = pr.snapshot();
    }
    return {
      id: s.id,
      role: s.role,
      term: s.term,
      vote: s.vote,
      leader: s.leader,
      commitIndex: s.commitIndex,
      appliedIndex: s.appliedIndex,
      lastIndex: s.log.lastIndex,
      lastTerm: s.log.lastTerm,
      stableIndex: s.log.stableIndex,
      firstIndex: s.log.firstIndex,
      progress,
    };
  }
}
