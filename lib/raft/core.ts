// The pure Raft state machine: no I/O, no clock, no randomness of its own.
// Inputs: tick(), step(msg), propose(), readIndex(), persisted(), reportUnreachable().
// Output: ready(), a batch of things to persist, send and apply (see types.ts).
//
// Modelled on etcd-io/raft: role behaviour is swapped in by the become* methods
// (stepRole/tickRole), per-peer replication state lives in progress.ts, the log
// in log.ts, majority arithmetic in quorum.ts and ReadIndex in reads.ts.

import { assert, assertNever } from './assert.js';
import { RaftLog } from './log.js';
import { Progress } from './progress.js';
import { committedIndex, quorumSize, voteResult } from './quorum.js';
import { ForwardedReads, LeaderReads, type PendingRead, type ReadRequester } from './reads.js';
import type {
  CoreConfig,
  CoreStatus,
  Entry,
  HardState,
  Message,
  NodeId,
  ProposeResult,
  RaftEvent,
  Ready,
  Restored,
  Role,
} from './types.js';

/** Bound on pending ReadIndex requests (leader) and forwarded reads (follower). */
export const READS_MAX = 4096;
/** Bound on events buffered between two ready() calls; the excess is counted, not kept. */
export const EVENTS_MAX = 4096;
/** Bound on committed entries handed out by one ready() (hasReady() stays true for the rest). */
export const COMMITTED_PER_READY_MAX = 8192;

type AppendMsg = Extract<Message, { type: 'append' }>;
type AppendRespMsg = Extract<Message, { type: 'appendResp' }>;
type VoteMsg = Extract<Message, { type: 'vote' }>;
type VoteRespMsg = Extract<Message, { type: 'voteResp' }>;
type ReadIndexMsg = Extract<Message, { type: 'readIndex' }>;
type ReadIndexRespMsg = Extract<Message, { type: 'readIndexResp' }>;

const EMPTY = new Uint8Array(0);

export class RaftCore {
  private readonly cfg: CoreConfig;
  private readonly id: NodeId;
  /** Every voter except this node. */
  private readonly others: NodeId[];
  private readonly voterSet: Set<NodeId>;
  private readonly quorum: number;
  private readonly random: () => number;
  private readonly readTimeoutTicks: number;

  // Persistent state (mirrored by storage through Ready.hardState / Ready.entries).
  private term: number;
  private vote: NodeId | null;
  private readonly log: RaftLog;

  // Volatile state.
  private role: Role = 'follower';
  private leader: NodeId | null = null;
  /** Invariant: appliedIndex <= commitIndex <= log.lastIndex; commitIndex never decreases. */
  private commitIndex = 0;
  private appliedIndex = 0;
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTicks = 0;
  private ticks = 0;
  private votes = new Map<NodeId, boolean>();
  /** Leader only: one entry per other voter. */
  private progress = new Map<NodeId, Progress>();
  /** Leader's ReadIndex round counter; monotonic for the life of this core. */
  private readRound = 0;
  private readonly leaderReads = new LeaderReads(READS_MAX);
  private readonly forwardedReads = new ForwardedReads(READS_MAX);

  private stepRole: (m: Message) => void;
  private tickRole: () => void;

  // Output accumulated until the next ready().
  private prevHard: HardState;
  private msgsNow: Message[] = [];
  private msgs: Message[] = [];
  private reads: { ctx: number; index: number }[] = [];
  private readsFailed: number[] = [];
  private events: RaftEvent[] = [];
  private eventsDropped = 0;

  constructor(config: CoreConfig, restored: Restored, random: () => number) {
    validateConfig(config);
    this.cfg = { ...config, peers: [...config.peers] };
    this.id = config.id;
    this.voterSet = new Set(config.peers);
    this.others = config.peers.filter((p) => p !== config.id);
    this.quorum = quorumSize(config.peers.length);
    this.random = random;
    this.readTimeoutTicks = 2 * config.electionTicks;

    const hs = restored.hardState;
    assert(Number.isInteger(hs.term) && hs.term >= 0, `restored term ${hs.term}`);
    assert(hs.vote === null || this.voterSet.has(hs.vote), `restored vote for unknown node ${hs.vote}`);
    this.log = new RaftLog(restored.entries);
    assert(this.log.lastTerm <= hs.term, `restored log term ${this.log.lastTerm} > hard state term ${hs.term}`);
    this.term = hs.term;
    this.vote = hs.vote;
    this.prevHard = { term: hs.term, vote: hs.vote };

    this.stepRole = this.stepFollower;
    this.tickRole = this.tickElection;
    this.becomeFollower(this.term, null, 'start');
  }

  // ---------------------------------------------------------------- inputs

  tick(): void {
    this.ticks++;
    this.expireReads();
    this.tickRole();
  }

  step(m: Message): void {
    if (m.to !== this.id) return;
    if (m.from === this.id || !this.voterSet.has(m.from)) {
      this.emit('warn', 'messageFromUnknownPeer', { from: m.from, type: m.type });
      return;
    }
    assert(Number.isInteger(m.term) && m.term >= 0, `bad message term ${m.term}`);

    if (m.term > this.term) {
      if (m.type === 'vote' && this.inLease()) {
        // etcd's lease rule: we heard from a live leader within the election timeout,
        // so a (pre-)candidate with a higher term is most likely a returning partitioned
        // node. Ignore it rather than let it disrupt the cluster.
        this.emit('info', 'voteIgnored', { candidate: m.from, pre: m.pre, reason: 'in-lease', msgTerm: m.term });
        return;
      }
      if (m.type === 'vote' && m.pre) {
        // Never adopt the term a pre-candidate would campaign in.
      } else if (m.type === 'voteResp' && m.pre && m.granted) {
        // A granted pre-vote carries the proposed term, not the voter's.
      } else {
        this.becomeFollower(m.term, m.type === 'append' ? m.from : null, `higher term from ${m.from} (${m.type})`);
      }
    } else if (m.term < this.term) {
      this.onStaleTerm(m);
      return;
    }

    if (m.type === 'vote') this.onVote(m);
    else this.stepRole(m);
  }

  propose(items: { tid: string; data: Uint8Array }[]): ProposeResult {
    if (this.role !== 'leader') return { ok: false, code: 'NOT_LEADER', leader: this.leader };
    assert(items.length > 0, 'propose with no items');
    const max = this.cfg.uncommittedEntriesMax;
    const uncommitted = this.log.lastIndex - this.commitIndex;
    if (items.length > max || uncommitted + items.length > max) return { ok: false, code: 'BUSY' };
    const firstIndex = this.log.lastIndex + 1;
    const ents: Entry[] = items.map((it, i) => ({
      index: firstIndex + i,
      term: this.term,
      kind: 'normal',
      tid: it.tid,
      data: it.data,
    }));
    this.log.append(ents);
    this.bcastAppend();
    return { ok: true, firstIndex, term: this.term };
  }

  readIndex(ctx: number): void {
    assert(Number.isInteger(ctx) && ctx > 0, `read ctx must be a positive integer, got ${ctx}`);
    switch (this.role) {
      case 'leader':
        this.leaderRead({ kind: 'local', ctx });
        return;
      case 'follower':
        if (this.leader === null || this.forwardedReads.full()) {
          this.readsFailed.push(ctx);
          return;
        }
        this.forwardedReads.add(ctx, this.ticks + this.readTimeoutTicks);
        this.msgsNow.push({ type: 'readIndex', term: this.term, from: this.id, to: this.leader, ctx });
        return;
      case 'precandidate':
      case 'candidate':
        this.readsFailed.push(ctx);
        return;
      default:
        assertNever(this.role, 'role');
    }
  }

  reportUnreachable(peer: NodeId): void {
    if (this.role !== 'leader') return;
    const pr = this.progress.get(peer);
    if (pr === undefined) return;
    if (pr.state === 'replicate') {
      pr.becomeProbe();
      this.emit('debug', 'peerUnreachable', { peer });
    }
  }

  persisted(index: number, term: number): void {
    assert(Number.isInteger(index) && index >= 0, `persisted index ${index}`);
    if (!this.log.stableTo(index, term)) return;
    if (this.role === 'leader' && this.maybeCommit()) this.bcastCommit();
  }

  // ---------------------------------------------------------------- outputs

  hasReady(): boolean {
    return (
      this.hardStateChanged() ||
      this.log.hasUnstable() ||
      this.msgsNow.length > 0 ||
      this.msgs.length > 0 ||
      this.commitIndex > this.appliedIndex ||
      this.reads.length > 0 ||
      this.readsFailed.length > 0 ||
      this.events.length > 0 ||
      this.eventsDropped > 0
    );
  }

  ready(): Ready {
    let hardState: HardState | null = null;
    if (this.hardStateChanged()) {
      hardState = { term: this.term, vote: this.vote };
      this.prevHard = hardState;
    }
    const entries = this.log.takeUnstable();
    let committed: Entry[] = [];
    if (this.commitIndex > this.appliedIndex) {
      const hi = Math.min(this.commitIndex, this.appliedIndex + COMMITTED_PER_READY_MAX);
      committed = this.log.slice(this.appliedIndex + 1, hi + 1);
      this.appliedIndex = hi;
    }
    if (this.eventsDropped > 0) {
      this.events.push({ level: 'warn', event: 'eventsDropped', term: this.term, count: this.eventsDropped });
      this.eventsDropped = 0;
    }
    const rd: Ready = {
      hardState,
      entries,
      messagesNow: this.msgsNow,
      messages: this.msgs,
      committed,
      reads: this.reads,
      readsFailed: this.readsFailed,
      events: this.events,
    };
    this.msgsNow = [];
    this.msgs = [];
    this.reads = [];
    this.readsFailed = [];
    this.events = [];
    return rd;
  }

  status(): CoreStatus {
    const progress: CoreStatus['progress'] = {};
    if (this.role === 'leader') {
      for (const [peer, pr] of this.progress) progress[peer] = pr.snapshot();
    }
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      vote: this.vote,
      leader: this.leader,
      commitIndex: this.commitIndex,
      appliedIndex: this.appliedIndex,
      lastIndex: this.log.lastIndex,
      lastTerm: this.log.lastTerm,
      stableIndex: this.log.stableIndex,
      progress,
    };
  }

  // ---------------------------------------------------------------- roles

  private becomeFollower(term: number, leader: NodeId | null, reason: string): void {
    const from = this.role;
    if (from === 'leader') this.emit('warn', 'steppedDown', { reason, newTerm: term });
    this.reset(term);
    this.stepRole = this.stepFollower;
    this.tickRole = this.tickElection;
    this.setRole('follower', reason);
    this.setLeader(leader);
  }

  private becomePreCandidate(): void {
    assert(this.role !== 'leader', 'leader cannot become pre-candidate');
    assert(this.cfg.preVote, 'pre-candidate without preVote');
    // Term and vote stay as they are: a pre-election changes nothing durable.
    this.reset(this.term);
    this.stepRole = this.stepCandidate;
    this.tickRole = this.tickElection;
    this.setLeader(null);
    this.setRole('precandidate', 'election timeout');
  }

  private becomeCandidate(): void {
    assert(this.role !== 'leader', 'leader cannot become candidate');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.stepRole = this.stepCandidate;
    this.tickRole = this.tickElection;
    this.setLeader(null);
    this.setRole('candidate', 'election');
  }

  private becomeLeader(): void {
    assert(this.role === 'candidate', `only a candidate can become leader (was ${this.role})`);
    assert(this.vote === this.id, 'leader did not vote for itself');
    this.reset(this.term);
    this.stepRole = this.stepLeader;
    this.tickRole = this.tickHeartbeat;
    const next = this.log.lastIndex + 1;
    for (const p of this.others) this.progress.set(p, new Progress(next, this.cfg.inflightMax));
    this.setRole('leader', 'won election');
    this.setLeader(this.id);
    // The noop lets the leader commit (and so learn the commit index of) earlier terms.
    this.log.append([{ index: next, term: this.term, kind: 'noop', tid: '', data: EMPTY }]);
    this.bcastAppend();
  }

  /** Common to every role change: new term (if any), fresh timers, no votes, no reads. */
  private reset(term: number): void {
    assert(term >= this.term, `term going back from ${this.term} to ${term}`);
    if (term !== this.term) {
      this.emit('info', 'termChanged', { from: this.term, to: term });
      this.term = term;
      this.vote = null;
    }
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTicks();
    this.votes.clear();
    this.progress.clear();
    this.failAllReads();
  }

  private setRole(role: Role, reason: string): void {
    if (role === this.role) return;
    this.emit('info', 'roleChanged', { from: this.role, to: role, reason });
    this.role = role;
  }

  private setLeader(leader: NodeId | null): void {
    if (leader === this.leader) return;
    this.emit('info', 'leaderChanged', { from: this.leader, to: leader });
    this.leader = leader;
  }

  private resetRandomizedElectionTicks(): void {
    const r = this.random();
    assert(r >= 0 && r < 1, `random() returned ${r}, want [0,1)`);
    this.randomizedElectionTicks = this.cfg.electionTicks + Math.floor(r * this.cfg.electionTicks);
  }

  private inLease(): boolean {
    return this.cfg.checkQuorum && this.leader !== null && this.electionElapsed < this.cfg.electionTicks;
  }

  // ---------------------------------------------------------------- ticks

  private tickElection(): void {
    this.electionElapsed++;
    if (this.electionElapsed >= this.randomizedElectionTicks) {
      this.electionElapsed = 0;
      this.campaign(this.cfg.preVote ? 'pre' : 'real');
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.cfg.electionTicks) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum) {
        let active = 1;
        for (const pr of this.progress.values()) {
          if (pr.recentActive) active++;
          pr.recentActive = false;
        }
        if (active < this.quorum) {
          this.becomeFollower(this.term, null, 'check-quorum');
          return;
        }
      }
    }
    if (this.heartbeatElapsed >= this.cfg.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat();
    }
  }

  // ---------------------------------------------------------------- elections

  private campaign(kind: 'pre' | 'real'): void {
    const pre = kind === 'pre';
    if (pre) this.becomePreCandidate();
    else this.becomeCandidate();
    const voteTerm = pre ? this.term + 1 : this.term;
    this.emit('info', 'electionStarted', { pre, voteTerm });
    this.votes.set(this.id, true);
    if (this.tallyVotes()) return;
    for (const to of this.others) {
      const m: VoteMsg = {
        type: 'vote',
        term: voteTerm,
        from: this.id,
        to,
        pre,
        lastLogIndex: this.log.lastIndex,
        lastLogTerm: this.log.lastTerm,
      };
      // A real vote request depends on our durable term and self-vote.
      if (pre) this.msgsNow.push(m);
      else this.msgs.push(m);
    }
  }

  /** Act on the votes so far; true if the election was decided. */
  private tallyVotes(): boolean {
    let granted = 0;
    let rejected = 0;
    for (const g of this.votes.values()) {
      if (g) granted++;
      else rejected++;
    }
    const res = voteResult(granted, rejected, this.cfg.peers.length);
    const pre = this.role === 'precandidate';
    switch (res) {
      case 'pending':
        return false;
      case 'won':
        this.emit('info', 'electionWon', { pre, granted, rejected });
        if (pre) this.campaign('real');
        else this.becomeLeader();
        return true;
      case 'lost':
        this.emit('info', 'electionLost', { pre, granted, rejected });
        this.becomeFollower(this.term, null, pre ? 'pre-vote lost' : 'vote lost');
        return true;
      default:
        return assertNever(res, 'vote result');
    }
  }

  private onVote(m: VoteMsg): void {
    // Lower terms were answered in onStaleTerm; a higher real vote made us follower of it.
    assert(m.pre ? m.term >= this.term : m.term === this.term, 'vote term not reconciled');
    const canVote =
      this.vote === m.from || (this.vote === null && this.leader === null) || (m.pre && m.term > this.term);
    const upToDate = this.log.isUpToDate(m.lastLogIndex, m.lastLogTerm);
    if (canVote && upToDate) {
      this.emit('info', 'voteGranted', { candidate: m.from, pre: m.pre, voteTerm: m.term });
      if (m.pre) {
        this.msgsNow.push({ type: 'voteResp', term: m.term, from: this.id, to: m.from, pre: true, granted: true });
      } else {
        this.vote = m.from;
        this.electionElapsed = 0;
        this.msgs.push({ type: 'voteResp', term: this.term, from: this.id, to: m.from, pre: false, granted: true });
      }
      return;
    }
    const reason = !canVote ? (this.vote !== null ? `voted for ${this.vote}` : `have leader ${this.leader}`) : 'log behind';
    this.emit('info', 'voteRejected', { candidate: m.from, pre: m.pre, voteTerm: m.term, reason });
    const resp: VoteRespMsg = { type: 'voteResp', term: this.term, from: this.id, to: m.from, pre: m.pre, granted: false };
    if (m.pre) this.msgsNow.push(resp);
    else this.msgs.push(resp);
  }

  private onVoteResp(m: VoteRespMsg): void {
    const pre = this.role === 'precandidate';
    if (m.pre !== pre) return; // a response to another kind of election
    if (pre && m.granted && m.term !== this.term + 1) return; // stale grant from an older pre-election
    if (!pre) assert(m.term === this.term, 'vote response term not reconciled');
    if (this.votes.has(m.from)) return;
    this.votes.set(m.from, m.granted);
    this.tallyVotes();
  }

  /** A message from an older term: tell stale leaders and pre-candidates about our term. */
  private onStaleTerm(m: Message): void {
    switch (m.type) {
      case 'append':
        this.msgs.push({
          type: 'appendResp',
          term: this.term,
          from: this.id,
          to: m.from,
          success: false,
          matchIndex: 0,
          rejectIndex: m.prevLogIndex,
          conflictTerm: 0,
          conflictIndex: 0,
          ctx: 0,
        });
        return;
      case 'vote':
        if (m.pre) {
          // Without this a pre-candidate stuck in a lower term could never learn it is
          // behind (etcd: avoid deadlock with check-quorum).
          this.msgsNow.push({ type: 'voteResp', term: this.term, from: this.id, to: m.from, pre: true, granted: false });
        }
        return;
      case 'voteResp':
      case 'appendResp':
      case 'readIndex':
      case 'readIndexResp':
        return;
      default:
        assertNever(m, 'message');
    }
  }

  // ---------------------------------------------------------------- per-role step

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'append':
        this.electionElapsed = 0;
        this.setLeader(m.from);
        this.onAppend(m);
        return;
      case 'readIndex':
        this.rejectRemoteRead(m);
        return;
      case 'readIndexResp':
        this.onReadIndexResp(m);
        return;
      case 'appendResp':
      case 'voteResp':
        return;
      case 'vote':
        assert(false, 'vote reached stepFollower');
        return;
      default:
        assertNever(m, 'message');
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case 'append':
        // Someone won this term (a pre-candidate is still in the leader's term).
        this.becomeFollower(m.term, m.from, `append from leader ${m.from}`);
        this.onAppend(m);
        return;
      case 'voteResp':
        this.onVoteResp(m);
        return;
      case 'readIndex':
        this.rejectRemoteRead(m);
        return;
      case 'readIndexResp':
        this.onReadIndexResp(m);
        return;
      case 'appendResp':
        return;
      case 'vote':
        assert(false, 'vote reached stepCandidate');
        return;
      default:
        assertNever(m, 'message');
    }
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case 'append':
        assert(false, `two leaders in term ${this.term}: ${this.id} and ${m.from}`);
        return;
      case 'appendResp':
        this.onAppendResp(m);
        return;
      case 'readIndex':
        this.leaderRead({ kind: 'remote', from: m.from, ctx: m.ctx });
        return;
      case 'voteResp':
      case 'readIndexResp':
        return;
      case 'vote':
        assert(false, 'vote reached stepLeader');
        return;
      default:
        assertNever(m, 'message');
    }
  }

  // ---------------------------------------------------------------- replication (follower)

  private onAppend(m: AppendMsg): void {
    assert(m.term === this.term && this.role === 'follower', 'append outside follower');
    for (let i = 0; i < m.entries.length; i++) {
      const e = m.entries[i]!;
      assert(e.index === m.prevLogIndex + 1 + i, `append entries not contiguous at ${e.index}`);
      assert(e.term <= m.term, `append entry term ${e.term} above leader term ${m.term}`);
    }
    if (!this.log.matchTerm(m.prevLogIndex, m.prevLogTerm)) {
      // Entries at or below the commit index match every later leader (leader completeness).
      assert(m.prevLogIndex > this.commitIndex, `mismatch at committed index ${m.prevLogIndex}`);
      const t = this.log.term(m.prevLogIndex);
      const conflictTerm = t ?? 0;
      const conflictIndex =
        t === undefined ? this.log.lastIndex + 1 : this.log.firstIndexOfTermRun(m.prevLogIndex, this.commitIndex + 1);
      this.msgs.push({
        type: 'appendResp',
        term: this.term,
        from: this.id,
        to: m.from,
        success: false,
        matchIndex: 0,
        rejectIndex: m.prevLogIndex,
        conflictTerm,
        conflictIndex,
        ctx: m.ctx,
      });
      return;
    }
    const lastNew = m.prevLogIndex + m.entries.length;
    const conflict = this.log.findConflict(m.entries);
    if (conflict !== 0) {
      if (conflict <= this.log.lastIndex) {
        assert(conflict > this.commitIndex, `truncating committed entry ${conflict} (commit ${this.commitIndex})`);
        this.emit('warn', 'logTruncated', {
          index: conflict,
          lastIndex: this.log.lastIndex,
          leader: m.from,
        });
        this.log.truncateFrom(conflict);
      }
      this.log.append(m.entries.slice(conflict - (m.prevLogIndex + 1)));
    }
    this.commitTo(Math.min(m.leaderCommit, lastNew));
    this.msgs.push({
      type: 'appendResp',
      term: this.term,
      from: this.id,
      to: m.from,
      success: true,
      matchIndex: lastNew,
      rejectIndex: 0,
      conflictTerm: 0,
      conflictIndex: 0,
      ctx: m.ctx,
    });
  }

  private commitTo(index: number): void {
    if (index <= this.commitIndex) return;
    assert(index <= this.log.lastIndex, `commit ${index} past last index ${this.log.lastIndex}`);
    this.commitIndex = index;
  }

  // ---------------------------------------------------------------- replication (leader)

  private onAppendResp(m: AppendRespMsg): void {
    const pr = this.progress.get(m.from);
    assert(pr !== undefined, `no progress for ${m.from}`);
    pr.recentActive = true;
    if (m.ctx > pr.ackedRound) {
      assert(m.ctx <= this.readRound, `ack for read round ${m.ctx} never started (at ${this.readRound})`);
      pr.ackedRound = m.ctx;
    }
    if (!m.success) {
      if (pr.maybeDecrTo(m.rejectIndex, this.nextFromHint(m))) {
        this.emit('debug', 'appendRejected', { peer: m.from, rejectIndex: m.rejectIndex, next: pr.next });
        this.sendAppend(m.from, true);
      }
    } else {
      assert(m.matchIndex <= this.log.lastIndex, `peer ${m.from} acked ${m.matchIndex} past our last index`);
      if (pr.maybeUpdate(m.matchIndex) || (pr.match === m.matchIndex && pr.state === 'probe')) {
        if (pr.state === 'probe') pr.becomeReplicate();
        else pr.inflights.freeLE(m.matchIndex);
        if (this.maybeCommit()) this.bcastCommit();
        else this.sendAllowed(m.from);
        // A peer that just caught up may not know the commit index yet.
        if (pr.sentCommit < Math.min(this.commitIndex, pr.match)) this.sendEmptyAtMatch(m.from);
      }
    }
    pr.checkInvariants();
    this.checkReads();
  }

  /** Where to retry after a rejection, from the follower's conflict hint (6.824 fast backup). */
  private nextFromHint(m: AppendRespMsg): number {
    if (m.conflictTerm > 0) {
      const last = this.log.lastIndexOfTerm(m.conflictTerm);
      if (last > 0) return last + 1;
    }
    return Math.max(1, m.conflictIndex);
  }

  /** Advance the commit index by counting replicas; only entries of our term are counted. */
  private maybeCommit(): boolean {
    const matches = [this.log.stableIndex];
    for (const pr of this.progress.values()) matches.push(pr.match);
    const idx = committedIndex(matches);
    if (idx <= this.commitIndex || this.log.term(idx) !== this.term) return false;
    const firstInTerm = !this.committedInTerm();
    this.commitTo(idx);
    if (firstInTerm) this.startReads(this.leaderReads.awaitingCommit.splice(0));
    return true;
  }

  private committedInTerm(): boolean {
    return this.log.term(this.commitIndex) === this.term;
  }

  /** Send one append to `to` if flow control allows; true if something was sent. */
  private sendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.progress.get(to);
    assert(pr !== undefined, `no progress for ${to}`);
    if (pr.paused()) return false;
    const prev = pr.next - 1;
    const prevTerm = this.log.term(prev);
    assert(prevTerm !== undefined, `next ${pr.next} past last index ${this.log.lastIndex}`);
    const ents = pr.next <= this.log.lastIndex ? this.log.sliceBytes(pr.next, this.cfg.appendBytesMax) : [];
    if (ents.length === 0 && !sendIfEmpty) return false;
    this.msgsNow.push({
      type: 'append',
      term: this.term,
      from: this.id,
      to,
      prevLogIndex: prev,
      prevLogTerm: prevTerm,
      entries: ents,
      leaderCommit: this.commitIndex,
      ctx: this.readRound,
    });
    pr.sentEntries(ents.length, prev + ents.length);
    pr.sentCommit = Math.max(pr.sentCommit, Math.min(this.commitIndex, prev + ents.length));
    return true;
  }

  /** An empty append at the peer's match: always accepted, carries commit and the read round. */
  private sendEmptyAtMatch(to: NodeId): void {
    const pr = this.progress.get(to);
    assert(pr !== undefined, `no progress for ${to}`);
    this.sendEmptyAt(to, pr.match);
  }

  private sendEmptyAt(to: NodeId, prev: number): void {
    const pr = this.progress.get(to)!;
    pr.sentCommit = Math.max(pr.sentCommit, Math.min(this.commitIndex, prev));
    const prevTerm = this.log.term(prev);
    assert(prevTerm !== undefined, `heartbeat at ${prev} past last index ${this.log.lastIndex}`);
    this.msgsNow.push({
      type: 'append',
      term: this.term,
      from: this.id,
      to,
      prevLogIndex: prev,
      prevLogTerm: prevTerm,
      entries: [],
      leaderCommit: this.commitIndex,
      ctx: this.readRound,
    });
  }

  /** Send whatever flow control allows (one message in probe, up to the window in replicate). */
  private sendAllowed(to: NodeId): void {
    // Bounded: each iteration fills an inflight slot (or sets probeSent) or sends nothing.
    while (this.sendAppend(to, false)) {
      /* keep sending */
    }
  }

  private bcastAppend(): void {
    for (const to of this.others) this.sendAllowed(to);
  }

  /** The commit index moved: let followers know now rather than at the next heartbeat. */
  private bcastCommit(): void {
    for (const to of this.others) {
      const pr = this.progress.get(to)!;
      const before = this.msgsNow.length;
      this.sendAllowed(to);
      const lagging = pr.sentCommit < Math.min(this.commitIndex, pr.match);
      if (this.msgsNow.length === before && pr.state === 'replicate' && lagging) this.sendEmptyAtMatch(to);
    }
  }

  private bcastHeartbeat(): void {
    for (const to of this.others) {
      const pr = this.progress.get(to)!;
      if (pr.state === 'probe') {
        // Resend the probe: the last one (or its answer) may have been lost.
        pr.probeSent = false;
        this.sendAppend(to, true);
      } else if (!this.sendAppend(to, false)) {
        // Nothing new can go out. If the peer acknowledged nothing since the last
        // heartbeat while appends are outstanding, some were probably lost: a heartbeat
        // at next-1 either acknowledges them all or is rejected, sending the peer to probe.
        const stalled = pr.match === pr.matchAtHeartbeat && pr.match < pr.next - 1;
        this.sendEmptyAt(to, stalled ? pr.next - 1 : pr.match);
      }
      pr.matchAtHeartbeat = pr.match;
    }
  }

  // ---------------------------------------------------------------- ReadIndex

  private leaderRead(req: ReadRequester): void {
    if (this.leaderReads.full()) {
      this.failRead(req);
      return;
    }
    const r: PendingRead = { round: 0, index: 0, req, expireTick: this.ticks + this.readTimeoutTicks };
    if (!this.committedInTerm()) {
      // §6.4: the commit index is only known to be current once an entry of this term commits.
      this.leaderReads.awaitingCommit.push(r);
      return;
    }
    this.startReads([r]);
  }

  /** Register reads against the current commit index and start one heartbeat round for them. */
  private startReads(rs: PendingRead[]): void {
    if (rs.length === 0) return;
    assert(this.role === 'leader' && this.committedInTerm(), 'read started before commit in term');
    if (this.others.length === 0) {
      for (const r of rs) this.completeRead(r.req, this.commitIndex);
      return;
    }
    this.readRound++;
    for (const r of rs) {
      r.round = this.readRound;
      r.index = this.commitIndex;
      this.leaderReads.addPending(r);
    }
    for (const to of this.others) this.sendEmptyAtMatch(to);
  }

  private checkReads(): void {
    const pending = this.leaderReads.pending;
    let done = 0;
    while (done < pending.length) {
      const r = pending[done]!;
      let acks = 1;
      for (const pr of this.progress.values()) if (pr.ackedRound >= r.round) acks++;
      if (acks < this.quorum) break;
      this.completeRead(r.req, r.index);
      done++;
    }
    if (done > 0) pending.splice(0, done);
  }

  private completeRead(req: ReadRequester, index: number): void {
    switch (req.kind) {
      case 'local':
        this.reads.push({ ctx: req.ctx, index });
        return;
      case 'remote':
        this.msgsNow.push({
          type: 'readIndexResp',
          term: this.term,
          from: this.id,
          to: req.from,
          ctx: req.ctx,
          index,
          ok: true,
        });
        return;
      default:
        assertNever(req, 'read requester');
    }
  }

  private failRead(req: ReadRequester): void {
    switch (req.kind) {
      case 'local':
        this.readsFailed.push(req.ctx);
        return;
      case 'remote':
        this.msgsNow.push({
          type: 'readIndexResp',
          term: this.term,
          from: this.id,
          to: req.from,
          ctx: req.ctx,
          index: 0,
          ok: false,
        });
        return;
      default:
        assertNever(req, 'read requester');
    }
  }

  private rejectRemoteRead(m: ReadIndexMsg): void {
    this.failRead({ kind: 'remote', from: m.from, ctx: m.ctx });
  }

  private onReadIndexResp(m: ReadIndexRespMsg): void {
    if (!this.forwardedReads.take(m.ctx)) return; // expired, failed or duplicated
    if (m.ok) this.reads.push({ ctx: m.ctx, index: m.index });
    else this.readsFailed.push(m.ctx);
  }

  private failAllReads(): void {
    for (const r of this.leaderReads.takeAll()) this.failRead(r.req);
    for (const ctx of this.forwardedReads.takeAll()) this.readsFailed.push(ctx);
  }

  private expireReads(): void {
    for (const r of this.leaderReads.takeExpired(this.ticks)) this.failRead(r.req);
    for (const ctx of this.forwardedReads.takeExpired(this.ticks)) this.readsFailed.push(ctx);
  }

  // ---------------------------------------------------------------- misc

  private hardStateChanged(): boolean {
    return this.term !== this.prevHard.term || this.vote !== this.prevHard.vote;
  }

  private emit(level: RaftEvent['level'], event: string, fields: Record<string, unknown>): void {
    if (level === 'debug') return; // per-message detail: kept cheap by not building it at all
    if (this.events.length >= EVENTS_MAX) {
      this.eventsDropped++;
      return;
    }
    this.events.push({ ...fields, level, event, term: this.term, node: this.id });
  }
}

function validateConfig(c: CoreConfig): void {
  assert(typeof c.id === 'string' && c.id.length > 0, 'config.id must be a non-empty string');
  assert(c.peers.includes(c.id), `config.peers must include ${c.id}`);
  assert(new Set(c.peers).size === c.peers.length, 'config.peers has duplicates');
  const posInt = (n: number): boolean => Number.isInteger(n) && n >= 1;
  assert(posInt(c.heartbeatTicks), `heartbeatTicks ${c.heartbeatTicks}`);
  assert(posInt(c.electionTicks) && c.electionTicks > c.heartbeatTicks, 'electionTicks must exceed heartbeatTicks');
  assert(posInt(c.inflightMax), `inflightMax ${c.inflightMax}`);
  assert(posInt(c.appendBytesMax), `appendBytesMax ${c.appendBytesMax}`);
  assert(posInt(c.uncommittedEntriesMax), `uncommittedEntriesMax ${c.uncommittedEntriesMax}`);
}
