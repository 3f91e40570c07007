// Roles: becoming follower, pre-candidate, candidate or leader swaps in that role's
// step and tick functions (etcd's becomeFollower sets r.step = stepFollower); the
// per-role step functions dispatch each message kind exhaustively.
import { assert, assertNever } from './assert.js';
import { campaign, onVoteResp, resendPreVotes } from './election.js';
import { Progress } from './progress.js';
import { failAllReads, leaderRead, onReadIndexResp, rejectRemoteRead } from './read-index.js';
import { bcastAppend, bcastHeartbeat, onAppend, onAppendResp } from './replication.js';
import type { CoreState } from './state.js';
import type { Message, NodeId, Role } from './types.js';

const EMPTY = new Uint8Array(0);

export function becomeFollower(s: CoreState, term: number, leader: NodeId | null, reason: string): void {
  if (s.role === 'leader') s.emit('warn', 'steppedDown', { reason, newTerm: term });
  reset(s, term);
  s.stepRole = stepFollower;
  s.tickRole = tickElection;
  setRole(s, 'follower', reason);
  setLeader(s, leader);
}

export function becomePreCandidate(s: CoreState): void {
  assert(s.role !== 'leader', 'leader cannot become pre-candidate');
  assert(s.cfg.preVote, 'pre-candidate without preVote');
  // Term and vote stay as they are: a pre-election changes nothing durable.
  reset(s, s.term);
  s.stepRole = stepCandidate;
  s.tickRole = tickElection;
  setLeader(s, null);
  setRole(s, 'precandidate', 'election timeout');
}

export function becomeCandidate(s: CoreState): void {
  assert(s.role !== 'leader', 'leader cannot become candidate');
  reset(s, s.term + 1);
  s.vote = s.id;
  s.stepRole = stepCandidate;
  s.tickRole = tickElection;
  setLeader(s, null);
  setRole(s, 'candidate', 'election');
}

export function becomeLeader(s: CoreState): void {
  assert(s.role === 'candidate', `only a candidate can become leader (was ${s.role})`);
  assert(s.vote === s.id, 'leader did not vote for itself');
  reset(s, s.term);
  s.stepRole = stepLeader;
  s.tickRole = tickHeartbeat;
  const next = s.log.lastIndex + 1;
  for (const p of s.others) s.progress.set(p, new Progress(next, s.cfg.inflightMax, s.cfg.inflightBytesMax ?? 0));
  setRole(s, 'leader', 'won election');
  setLeader(s, s.id);
  // The noop lets the leader commit (and so learn the commit index of) earlier terms.
  s.log.append([{ index: next, term: s.term, kind: 'noop', tid: '', data: EMPTY }]);
  bcastAppend(s);
}

/** Common to every role change: new term (if any), fresh timers, no votes, no reads. */
function reset(s: CoreState, term: number): void {
  assert(term >= s.term, `term going back from ${s.term} to ${term}`);
  if (term !== s.term) {
    s.emit('info', 'termChanged', { from: s.term, to: term });
    s.term = term;
    s.vote = null;
  }
  s.electionElapsed = 0;
  s.heartbeatElapsed = 0;
  s.quietCommitAtHeartbeat = -1;
  resetRandomizedElectionTicks(s);
  s.votes.clear();
  s.progress.clear();
  s.leadTransferee = null;
  s.transferElapsed = 0;
  failAllReads(s);
}

function setRole(s: CoreState, role: Role, reason: string): void {
  if (role === s.role) return;
  s.emit('info', 'roleChanged', { from: s.role, to: role, reason });
  s.role = role;
}

export function setLeader(s: CoreState, leader: NodeId | null): void {
  if (leader === s.leader) return;
  s.emit('info', 'leaderChanged', { from: s.leader, to: leader });
  s.leader = leader;
}

function resetRandomizedElectionTicks(s: CoreState): void {
  const r = s.random();
  assert(r >= 0 && r < 1, `random() returned ${r}, want [0,1)`);
  s.randomizedElectionTicks = s.cfg.electionTicks + Math.floor(r * s.cfg.electionTicks);
}

/** etcd's lease: we heard from a live leader within the election timeout. */
export function inLease(s: CoreState): boolean {
  return s.cfg.checkQuorum && s.leader !== null && s.electionElapsed < s.cfg.electionTicks;
}

// ---------------------------------------------------------------- ticks

export function tickElection(s: CoreState): void {
  s.electionElapsed++;
  if (!s.canCampaign) {
    // Not a voter here (a learner, removed, or joining): it never campaigns, so it never
    // disrupts. The clock keeps running (capped), so its lease on a silent leader ends and
    // it votes for whoever campaigns once its configuration makes it a voter.
    if (s.electionElapsed > s.randomizedElectionTicks) s.electionElapsed = s.randomizedElectionTicks;
    return;
  }
  if (s.electionElapsed >= s.randomizedElectionTicks) {
    s.electionElapsed = 0;
    campaign(s, s.cfg.preVote ? 'pre' : 'real');
  } else if (s.role === 'precandidate') {
    resendPreVotes(s);
  }
}

function tickHeartbeat(s: CoreState): void {
  s.heartbeatElapsed++;
  s.electionElapsed++;
  if (s.leadTransferee !== null && ++s.transferElapsed >= s.cfg.electionTicks) {
    // The target did not take over within an election timeout: lead on, and take writes again.
    s.emit('warn', 'transferAborted', { target: s.leadTransferee, reason: 'timeout' });
    s.leadTransferee = null;
    s.transferElapsed = 0;
    if (!s.isVoter && s.commitIndex >= s.members.index) {
      // A removed leader whose handover failed: it steps down and the others elect.
      s.emit('warn', 'removedSteppingDown', { config: s.members.index, handTo: null });
      becomeFollower(s, s.term, null, 'removed from the configuration');
      return;
    }
  }
  if (s.electionElapsed >= s.cfg.electionTicks) {
    s.electionElapsed = 0;
    if (s.cfg.checkQuorum) {
      // Only voters count: learners are replicated to, but never make a quorum.
      let active = s.isVoter ? 1 : 0;
      for (const [peer, pr] of s.progress) {
        if (pr.recentActive && s.voterSet.has(peer)) active++;
        pr.recentActive = false;
      }
      if (active < s.quorum) {
        becomeFollower(s, s.term, null, 'check-quorum');
        return;
      }
    }
    // The round due next goes out now, with the check: from here on both fall due on the
    // same ticks (the heartbeat intervals divide the election timeout at the defaults), so
    // an idle leader wakes once per heartbeat, not once more per election timeout for the
    // check alone. Earlier is always safe; it costs at most one round per election timeout.
    if (s.heartbeatElapsed > 0) s.heartbeatElapsed = Math.max(s.heartbeatElapsed, heartbeatInterval(s));
  }
  if (s.heartbeatElapsed >= heartbeatInterval(s)) {
    s.heartbeatElapsed = 0;
    s.quietCommitAtHeartbeat = leaderQuiet(s) ? s.commitIndex : -1;
    bcastHeartbeat(s);
  }
}

/**
 * An idle cluster's heartbeats are most of its work: every one crosses several threads
 * on each side. So once a heartbeat round went out quiet, the next waits up to twice the
 * interval, never past a third of the election timeout (followers still hear the leader
 * at least three times before their shortest one runs out, and CheckQuorum sees as many
 * rounds). Anything that is not quiet (a write, a read, a follower behind) brings the
 * interval back at once: the next tick past it sends.
 */
const IDLE_HEARTBEAT_FACTOR = 2;

export function idleHeartbeatTicks(cfg: CoreState['cfg']): number {
  return Math.max(cfg.heartbeatTicks, Math.min(IDLE_HEARTBEAT_FACTOR * cfg.heartbeatTicks, Math.floor(cfg.electionTicks / 3)));
}

/**
 * Leader: nothing in flight. Every entry is committed, every follower has all of them in
 * replicate state, no read or handover waits. A heartbeat sent now carries the whole
 * commit index to every follower (commit = min(match, commitIndex)), so until something
 * changes there is nothing for the next one to tell but "still here".
 */
function leaderQuiet(s: CoreState): boolean {
  if (s.commitIndex !== s.log.lastIndex || s.leadTransferee !== null || s.leaderReads.size > 0) return false;
  for (const pr of s.progress.values()) if (pr.state !== 'replicate' || pr.match !== s.log.lastIndex) return false;
  return true;
}

/**
 * Ticks between the leader's heartbeat rounds: longer while the cluster stays quiet, and
 * only while the followers know the commit index (a write that committed since the last
 * round, every follower acknowledging it, is quiet again but not known yet).
 */
function heartbeatInterval(s: CoreState): number {
  return s.quietCommitAtHeartbeat === s.commitIndex && leaderQuiet(s) ? idleHeartbeatTicks(s.cfg) : s.cfg.heartbeatTicks;
}

/**
 * How many more ticks may pass before the next one can change anything: send a
 * heartbeat, check the quorum, end a handover, campaign, resend pre-votes. A driver that
 * delivers ticks only when asked (and counts every tick that passed meanwhile) behaves as
 * one that delivers each at once. Pending reads only expire: they are checked at least
 * every heartbeat interval, as late as that past their deadline. Always >= 1; Infinity
 * when nothing is timed (a follower that may never campaign).
 */
export function ticksUntilDue(s: CoreState): number {
  const reads = s.leaderReads.size + s.forwardedReads.size > 0 ? s.cfg.heartbeatTicks : Infinity;
  switch (s.role) {
    case 'leader': {
      let due = Math.min(heartbeatInterval(s) - s.heartbeatElapsed, s.cfg.electionTicks - s.electionElapsed);
      if (s.leadTransferee !== null) due = Math.min(due, s.cfg.electionTicks - s.transferElapsed);
      return Math.max(1, Math.min(due, reads));
    }
    case 'precandidate':
      return 1;
    case 'candidate':
    case 'follower':
      if (!s.canCampaign) return reads;
      return Math.max(1, Math.min(s.randomizedElectionTicks - s.electionElapsed, reads));
    default:
      return assertNever(s.role, 'role');
  }
}

// ---------------------------------------------------------------- per-role step

export function stepFollower(s: CoreState, m: Message): void {
  switch (m.type) {
    case 'append':
      s.electionElapsed = 0;
      setLeader(s, m.from);
      onAppend(s, m);
      return;
    case 'readIndex':
      rejectRemoteRead(s, m);
      return;
    case 'readIndexResp':
      onReadIndexResp(s, m);
      return;
    case 'timeoutNow':
      // Our leader hands over: campaign at once, without PreVote (it would only delay).
      if (m.from !== s.leader || !s.canCampaign) return;
      s.emit('info', 'timeoutNowReceived', { from: m.from });
      campaign(s, 'transfer');
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

function stepCandidate(s: CoreState, m: Message): void {
  switch (m.type) {
    case 'append':
      // Someone won this term (a pre-candidate is still in the leader's term).
      becomeFollower(s, m.term, m.from, `append from leader ${m.from}`);
      onAppend(s, m);
      return;
    case 'voteResp':
      onVoteResp(s, m);
      return;
    case 'readIndex':
      rejectRemoteRead(s, m);
      return;
    case 'readIndexResp':
      onReadIndexResp(s, m);
      return;
    case 'appendResp':
    case 'timeoutNow':
      return;
    case 'vote':
      assert(false, 'vote reached stepCandidate');
      return;
    default:
      assertNever(m, 'message');
  }
}

function stepLeader(s: CoreState, m: Message): void {
  switch (m.type) {
    case 'append':
      // Election safety makes this impossible among correct nodes: only a faulty or forged
      // peer (one that holds the cluster secret) can send it. Refuse it loudly rather than
      // let one bad peer stop this node; the simulator checks election safety on its own.
      s.emit('error', 'conflictingLeader', { from: m.from, msgTerm: m.term });
      return;
    case 'appendResp':
      onAppendResp(s, m);
      return;
    case 'readIndex':
      leaderRead(s, { kind: 'remote', from: m.from, ctx: m.ctx });
      return;
    case 'voteResp':
    case 'readIndexResp':
    case 'timeoutNow':
      return;
    case 'vote':
      assert(false, 'vote reached stepLeader');
      return;
    default:
      assertNever(m, 'message');
  }
}
