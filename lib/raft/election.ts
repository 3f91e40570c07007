// Elections: campaigning (PreVote, then the real vote), counting votes, answering
// vote requests, and telling nodes of older terms that they are behind.
import { assert, assertNever } from './assert.js';
import { appendRejected, voteMsg, voteResp, type VoteMsg, type VoteRespMsg } from './message-builders.js';
import { voteResult } from './quorum.js';
import { becomeCandidate, becomeFollower, becomeLeader, becomePreCandidate } from './roles.js';
import type { CoreState } from './state.js';
import type { Message } from './types.js';

/** kind 'transfer': the leader asked for it (TimeoutNow): no PreVote, and voters set their lease aside. */
export function campaign(s: CoreState, kind: 'pre' | 'real' | 'transfer'): void {
  // A learner, a removed node or one that joins and knows no configuration yet never campaigns.
  if (!s.canCampaign) return;
  const pre = kind === 'pre';
  if (pre) becomePreCandidate(s);
  else becomeCandidate(s);
  const voteTerm = pre ? s.term + 1 : s.term;
  s.emit('info', 'electionStarted', { pre, voteTerm, ...(kind === 'transfer' ? { transfer: true } : {}) });
  s.votes.set(s.id, true);
  if (tallyVotes(s)) return;
  for (const to of s.otherVoters) {
    const m = voteMsg(s, to, voteTerm, pre, kind === 'transfer');
    // A real vote request depends on our durable term and self-vote.
    if (pre) s.msgsNow.push(m);
    else s.msgs.push(m);
  }
}

/**
 * Pre-candidate, every tick: ask again the voters that have not answered. A follower that
 * still trusts the leader's lease ignores a pre-vote without answering, and after a
 * leader's crash each follower learns of it a little apart (its connection closes): one
 * asked a moment too early would otherwise wait a whole randomized timeout to ask again.
 * Pre-votes change nothing, so asking twice is harmless; answers are counted once.
 */
export function resendPreVotes(s: CoreState): void {
  assert(s.role === 'precandidate', 'pre-votes resent outside a pre-election');
  for (const to of s.others) if (!s.votes.has(to)) s.msgsNow.push(voteMsg(s, to, s.term + 1, true, false));
}

/** Act on the votes so far; true if the election was decided. */
function tallyVotes(s: CoreState): boolean {
  let granted = 0;
  let rejected = 0;
  for (const [from, g] of s.votes) {
    if (!s.voterSet.has(from)) continue; // the configuration changed under the election
    if (g) granted++;
    else rejected++;
  }
  const res = voteResult(granted, rejected, s.voterSet.size);
  const pre = s.role === 'precandidate';
  switch (res) {
    case 'pending':
      return false;
    case 'won':
      s.emit('info', 'electionWon', { pre, granted, rejected });
      if (pre) campaign(s, 'real');
      else becomeLeader(s);
      return true;
    case 'lost':
      s.emit('info', 'electionLost', { pre, granted, rejected });
      becomeFollower(s, s.term, null, pre ? 'pre-vote lost' : 'vote lost');
      return true;
    default:
      return assertNever(res, 'vote result');
  }
}

export function onVote(s: CoreState, m: VoteMsg): void {
  // Lower terms were answered in onStaleTerm; a higher real vote made us follower of it.
  assert(m.pre ? m.term >= s.term : m.term === s.term, 'vote term not reconciled');
  const canVote = s.vote === m.from || (s.vote === null && s.leader === null) || (m.pre && m.term > s.term);
  const upToDate = s.log.isUpToDate(m.lastLogIndex, m.lastLogTerm);
  if (canVote && upToDate && defersToSelf(s, m)) {
    // Not answered, as a follower in its lease does not: the other asks again every tick
    // (resendPreVotes) and is granted once this pre-election is past its first ticks. A
    // rejection would end its asking until its whole pre-election timed out.
    s.emit('info', 'voteIgnored', { candidate: m.from, pre: true, reason: 'pre-candidate too', msgTerm: m.term });
    return;
  }
  if (canVote && upToDate) {
    s.emit('info', 'voteGranted', { candidate: m.from, pre: m.pre, voteTerm: m.term });
    if (m.pre) {
      s.msgsNow.push(voteResp(s, m.from, m.term, true, true));
      yieldTo(s, m);
    } else {
      s.vote = m.from;
      s.electionElapsed = 0;
      s.msgs.push(voteResp(s, m.from, s.term, false, true));
    }
    return;
  }
  const reason = !canVote ? (s.vote !== null ? `voted for ${s.vote}` : `have leader ${s.leader}`) : 'log behind';
  s.emit('info', 'voteRejected', { candidate: m.from, pre: m.pre, voteTerm: m.term, reason });
  const resp: VoteRespMsg = voteResp(s, m.from, s.term, m.pre, false);
  if (m.pre) s.msgsNow.push(resp);
  else s.msgs.push(resp);
}

/**
 * Ticks from the start of a pre-election during which a pre-candidate grants another's
 * pre-vote for the same term only if that one comes first: about the base election timeout.
 * Not shorter: the other's request has to arrive within it, and on a loaded machine (load
 * average 20-30 on 2 cores) a pre-vote took over 100 ms to cross (the failover bench's
 * 870 ms split with a third of the timeout: pre-candidates 2 ms apart that each granted
 * the other once a third had passed). Ticks come in bursts (several per delivery), so a
 * window of a few ticks is a few deliveries.
 */
function preVoteDeferTicks(s: CoreState): number {
  // One tick short of the shortest randomized timeout: every pre-election (they restart
  // each randomized timeout) has a tick in which a pre-candidate that cannot win grants.
  return Math.max(1, s.cfg.electionTicks - 1);
}

/**
 * Two followers that lost their leader at the same moment (its process died) become
 * pre-candidates a few ticks apart; granting each other, both would go on to a real vote,
 * split it, and wait a whole randomized timeout (the failover bench's 450-670 ms rounds:
 * pre-candidates 2 and 30 ms apart). Instead a pre-candidate early in its pre-election
 * (preVoteDeferTicks) grants another's pre-vote for the same term only if that one comes
 * first: a longer log, or as long and a lower id. Pre-votes change no state, so this costs
 * no safety; the one that comes first still gets this node's real vote when it asks. Only
 * early in each pre-election: a pre-candidate that cannot win (its own requests are lost)
 * must not keep refusing one that could, which asks again every tick (resendPreVotes).
 */
function defersToSelf(s: CoreState, m: VoteMsg): boolean {
  if (!m.pre || s.role !== 'precandidate' || m.term !== s.term + 1 || s.electionElapsed >= preVoteDeferTicks(s)) return false;
  const longer = m.lastLogTerm > s.log.lastTerm || (m.lastLogTerm === s.log.lastTerm && m.lastLogIndex > s.log.lastIndex);
  const same = m.lastLogTerm === s.log.lastTerm && m.lastLogIndex === s.log.lastIndex;
  return !(longer || (same && m.from < s.id));
}

/**
 * A pre-candidate early in its pre-election has just granted the pre-vote of one that comes
 * first (defersToSelf): it steps back and lets that one run, campaigning again after
 * preVoteDeferTicks if nothing comes of it. With five members the other followers grant
 * both pre-candidates, so both would win their pre-votes and split the real one. Once per
 * pre-vote term, so a pre-candidate that cannot win cannot hold this one back for ever.
 */
function yieldTo(s: CoreState, m: VoteMsg): void {
  if (s.role !== 'precandidate' || m.term !== s.term + 1 || s.electionElapsed >= preVoteDeferTicks(s) || s.preVoteYieldTerm === m.term) return;
  s.preVoteYieldTerm = m.term;
  becomeFollower(s, s.term, null, `pre-candidate ${m.from} comes first`);
  s.electionElapsed = Math.max(0, s.randomizedElectionTicks - preVoteDeferTicks(s));
}

export function onVoteResp(s: CoreState, m: VoteRespMsg): void {
  const pre = s.role === 'precandidate';
  if (m.pre !== pre) return; // a response to another kind of election
  if (pre && m.granted && m.term !== s.term + 1) return; // stale grant from an older pre-election
  if (!pre) assert(m.term === s.term, 'vote response term not reconciled');
  if (s.votes.has(m.from) || !s.voterSet.has(m.from)) return;
  s.votes.set(m.from, m.granted);
  tallyVotes(s);
}

/** A message from an older term: tell stale leaders and pre-candidates about our term. */
export function onStaleTerm(s: CoreState, m: Message): void {
  switch (m.type) {
    case 'append':
      s.msgs.push(appendRejected(s, m.from, m.prevLogIndex, 0, 0, 0));
      return;
    case 'vote':
      if (m.pre) {
        // Without this a pre-candidate stuck in a lower term could never learn it is
        // behind (etcd: avoid deadlock with check-quorum).
        s.msgsNow.push(voteResp(s, m.from, s.term, true, false));
      }
      return;
    case 'voteResp':
    case 'appendResp':
    case 'readIndex':
    case 'readIndexResp':
    case 'timeoutNow':
      return;
    default:
      assertNever(m, 'message');
  }
}

/**
 * A vote request from a node this one does not count as a voter. Ignored (its term never
 * adopted), and logged once per candidate and term, not for every resend. A leader whose
 * committed configuration does not hold the candidate at all (a removed node restarted from
 * a disk that predates its removal) tells it so, and it stops campaigning (onRemovedNotice).
 * Only a leader, and only of a committed configuration: a node that is a member of any
 * configuration that may still commit must not be silenced.
 */
export function onNonVoterVote(s: CoreState, m: VoteMsg): void {
  const key = `${m.from}/${m.term}`;
  if (key !== s.ignoredVoteKey) {
    s.ignoredVoteKey = key;
    s.emit('info', 'voteIgnored', { candidate: m.from, pre: m.pre, reason: 'not a voter', msgTerm: m.term });
  }
  if (s.role !== 'leader' || s.memberSet.has(m.from) || s.members.index > s.commitIndex) return;
  s.msgsNow.push({ ...voteResp(s, m.from, s.term, m.pre, false), removed: true });
}

/**
 * A leader (of our term or a later one: stale ones were dropped in step) says its
 * committed configuration does not hold this node. Leader completeness makes that final:
 * no configuration of ours that holds us can commit any more. Stop campaigning until a
 * leader replicates to us again (we were added back).
 */
export function onRemovedNotice(s: CoreState, m: VoteRespMsg): void {
  assert(m.removed === true && m.term >= s.term, 'removed notice not reconciled');
  if (s.role === 'leader') return; // a leader of our own term cannot exist: ignore a forged notice
  if (s.removedNotice === null) s.emit('warn', 'removedNoticed', { leader: m.from, config: s.members.index });
  s.removedNotice = m.from;
  if (s.role !== 'follower') becomeFollower(s, s.term, null, `not a member of ${m.from}'s configuration`);
}
