// Log replication: the follower's side (accepting or rejecting appends, with a
// conflict hint) and the leader's (flow-controlled appends per peer, commitment by
// counting replicas of entries of its own term, heartbeats).
import { assert } from './assert.js';
import { appendAccepted, appendMsg, appendRejected, timeoutNowMsg, type AppendMsg, type AppendRespMsg } from './message-builders.js';
import { entrySizeBytes } from './log.js';
import { committedIndex } from './quorum.js';
import { checkReads, startReads } from './read-index.js';
import { becomeFollower } from './roles.js';
import type { CoreState } from './state.js';
import type { NodeId } from './types.js';

// ---------------------------------------------------------------- follower

export function onAppend(s: CoreState, m: AppendMsg): void {
  assert(m.term === s.term && s.role === 'follower', 'append outside follower');
  s.maybeEndJoin(m.leaderCommit);
  for (let i = 0; i < m.entries.length; i++) {
    const e = m.entries[i]!;
    assert(e.index === m.prevLogIndex + 1 + i, `append entries not contiguous at ${e.index}`);
    assert(e.term <= m.term, `append entry term ${e.term} above leader term ${m.term}`);
  }
  if (m.prevLogIndex < s.log.snapshotIndex) {
    // It starts inside our snapshot: everything there is committed and matches. Tell the
    // leader how far we are (etcd answers the same way).
    s.msgs.push(appendAccepted(s, m.from, s.commitIndex, m.ctx));
    return;
  }
  if (!s.log.matchTerm(m.prevLogIndex, m.prevLogTerm)) {
    // Entries at or below the commit index match every later leader (leader completeness).
    assert(m.prevLogIndex > s.commitIndex, `mismatch at committed index ${m.prevLogIndex}`);
    const t = s.log.term(m.prevLogIndex);
    const conflictTerm = t ?? 0;
    const conflictIndex = t === undefined ? s.log.lastIndex + 1 : s.log.firstIndexOfTermRun(m.prevLogIndex, s.commitIndex + 1);
    s.msgs.push(appendRejected(s, m.from, m.prevLogIndex, conflictTerm, conflictIndex, m.ctx));
    return;
  }
  const lastNew = m.prevLogIndex + m.entries.length;
  const conflict = s.log.findConflict(m.entries);
  if (conflict !== 0) {
    if (conflict <= s.log.lastIndex) {
      assert(conflict > s.commitIndex, `truncating committed entry ${conflict} (commit ${s.commitIndex})`);
      s.emit('warn', 'logTruncated', { index: conflict, lastIndex: s.log.lastIndex, leader: m.from });
      s.log.truncateFrom(conflict);
      s.configs.truncatedFrom(conflict); // a configuration cut from the log is undone with it
    }
    const added = m.entries.slice(conflict - (m.prevLogIndex + 1));
    s.log.append(added);
    s.configs.appended(added); // and one appended takes effect now, not when it commits
    s.adoptConfig(`append from ${m.from}`);
  }
  commitTo(s, Math.min(m.leaderCommit, lastNew));
  s.msgs.push(appendAccepted(s, m.from, lastNew, m.ctx));
}

function commitTo(s: CoreState, index: number): void {
  if (index <= s.commitIndex) return;
  assert(index <= s.log.lastIndex, `commit ${index} past last index ${s.log.lastIndex}`);
  s.commitIndex = index;
}

// ---------------------------------------------------------------- leader

export function onAppendResp(s: CoreState, m: AppendRespMsg): void {
  const pr = s.progress.get(m.from);
  if (pr === undefined) return; // no longer a member
  pr.recentActive = true;
  if (m.ctx > pr.ackedRound) {
    assert(m.ctx <= s.readRound, `ack for read round ${m.ctx} never started (at ${s.readRound})`);
    pr.ackedRound = m.ctx;
  }
  if (!m.success) {
    if (pr.maybeDecrTo(m.rejectIndex, nextFromHint(s, m))) {
      s.emit('debug', 'appendRejected', { peer: m.from, rejectIndex: m.rejectIndex, next: pr.next });
      sendAppend(s, m.from, true);
    }
  } else {
    assert(m.matchIndex <= s.log.lastIndex, `peer ${m.from} acked ${m.matchIndex} past our last index`);
    if (pr.state === 'snapshot' && m.matchIndex >= s.log.snapshotIndex) {
      // The follower caught up far enough (by the snapshot, or on its own): back to appends.
      pr.maybeUpdate(m.matchIndex);
      pr.becomeProbe();
    }
    if (pr.maybeUpdate(m.matchIndex) || (pr.match === m.matchIndex && pr.state === 'probe')) {
      if (pr.state === 'probe') pr.becomeReplicate();
      else pr.inflights.freeLE(m.matchIndex);
      if (maybeCommit(s)) bcastCommit(s);
      else sendAllowed(s, m.from);
      // The transfer target now holds the whole log: it may take over.
      if (s.leadTransferee === m.from && pr.match === s.log.lastIndex) sendTimeoutNow(s, m.from);
    }
  }
  pr.checkInvariants();
  checkReads(s);
  if (maybeStepDownRemoved(s)) becomeFollower(s, s.term, null, 'removed from the configuration');
}

/** Where to retry after a rejection, from the follower's conflict hint (6.824 fast backup). */
function nextFromHint(s: CoreState, m: AppendRespMsg): number {
  if (m.conflictTerm > 0) {
    const last = s.log.lastIndexOfTerm(m.conflictTerm);
    if (last > 0) return last + 1;
  }
  return Math.max(1, m.conflictIndex);
}

/** Advance the commit index by counting replicas; only entries of our term are counted. */
export function maybeCommit(s: CoreState): boolean {
  // Voters of the configuration in effect only; a leader the configuration removed does not count itself.
  const matches: number[] = [];
  if (s.isVoter) matches.push(s.log.stableIndex);
  for (const p of s.otherVoters) matches.push(s.progressOf(p).match);
  if (matches.length === 0) return false;
  const idx = committedIndex(matches);
  if (idx <= s.commitIndex || s.log.term(idx) !== s.term) return false;
  const firstInTerm = !committedInTerm(s);
  commitTo(s, idx);
  if (firstInTerm) startReads(s, s.leaderReads.awaitingCommit.splice(0));
  return true;
}

/**
 * Leader: the configuration that removed this node committed. It led until then without
 * counting itself; now it hands over (dissertation 3.10) to the most up-to-date voter of
 * the new configuration, as CLUSTER TRANSFER does: writes pause, the target is brought to
 * the end of the log and told to campaign at once (TimeoutNow). True once it may step
 * down: the target holds the whole log and every entry is committed, so no request
 * proposed here is left with an unknown outcome. If the target does not take over within
 * an election timeout, tickHeartbeat gives up and steps down (the others elect).
 */
export function maybeStepDownRemoved(s: CoreState): boolean {
  if (s.role !== 'leader' || s.isVoter || s.commitIndex < s.members.index) return false;
  if (s.leadTransferee === null) {
    let best: NodeId | null = null;
    let bestMatch = -1;
    for (const p of s.otherVoters) {
      const m = s.progressOf(p).match;
      if (m > bestMatch) [best, bestMatch] = [p, m];
    }
    assert(best !== null, 'a committed configuration without voters');
    s.leadTransferee = best;
    s.transferElapsed = 0;
    s.emit('info', 'transferStarted', { target: best, match: bestMatch, lastIndex: s.log.lastIndex, reason: 'removed' });
    if (bestMatch === s.log.lastIndex) sendTimeoutNow(s, best);
    else sendAllowed(s, best);
  }
  const to = s.leadTransferee;
  if (s.progressOf(to).match < s.log.lastIndex || s.commitIndex < s.log.lastIndex) return false;
  s.emit('warn', 'removedSteppingDown', { config: s.members.index, handTo: to });
  return true;
}

export function committedInTerm(s: CoreState): boolean {
  return s.log.term(s.commitIndex) === s.term;
}

/** Send one append to `to` if flow control allows; true if something was sent. */
function sendAppend(s: CoreState, to: NodeId, sendIfEmpty: boolean): boolean {
  const pr = s.progressOf(to);
  if (pr.paused()) return false;
  const prev = pr.next - 1;
  const prevTerm = s.log.term(prev);
  if (prevTerm === undefined && prev < s.log.snapshotIndex) {
    // What the follower needs next is compacted away: only a snapshot can bring it on.
    pr.becomeSnapshot();
    s.sendSnapshot.push(to);
    s.emit('info', 'snapshotNeeded', { peer: to, next: pr.next, firstIndex: s.log.firstIndex });
    return false;
  }
  assert(prevTerm !== undefined, `next ${pr.next} past last index ${s.log.lastIndex}`);
  const ents = pr.next <= s.log.lastIndex ? s.log.sliceBytes(pr.next, s.cfg.appendBytesMax) : [];
  if (ents.length === 0 && !sendIfEmpty) return false;
  s.msgsNow.push(appendMsg(s, to, prev, prevTerm, ents));
  let bytes = 0;
  for (const e of ents) bytes += entrySizeBytes(e);
  pr.sentEntries(ents.length, prev + ents.length, bytes);
  return true;
}

/** Tells an up-to-date follower to campaign now (leadership transfer). */
export function sendTimeoutNow(s: CoreState, to: NodeId): void {
  s.msgsNow.push(timeoutNowMsg(s, to));
  s.emit('info', 'timeoutNowSent', { to });
}

/** An empty append at the peer's match: always accepted, carries commit and the read round. */
export function sendEmptyAtMatch(s: CoreState, to: NodeId): void {
  sendEmptyAt(s, to, s.progressOf(to).match);
}

function sendEmptyAt(s: CoreState, to: NodeId, prevWanted: number): void {
  // Below the log's start, the snapshot's last entry is the earliest one still known by term.
  const prev = Math.max(prevWanted, s.log.snapshotIndex);
  const prevTerm = s.log.term(prev);
  assert(prevTerm !== undefined, `heartbeat at ${prev} past last index ${s.log.lastIndex}`);
  s.msgsNow.push(appendMsg(s, to, prev, prevTerm, []));
}

/** Send whatever flow control allows (one message in probe, up to the window in replicate). */
function sendAllowed(s: CoreState, to: NodeId): void {
  // Bounded: each iteration fills an inflight slot (or sets probeSent) or sends nothing.
  while (sendAppend(s, to, false)) {
    /* keep sending */
  }
}

export function bcastAppend(s: CoreState): void {
  for (const to of s.others) sendAllowed(s, to);
}

/**
 * The commit index moved: send what flow control now allows. Followers learn the new
 * commit index with the next append or heartbeat, not with a message of its own: that
 * was a second round of messages for every write (each a crossing of four threads on
 * each side), and only the followers' state machines wait for it, by a heartbeat
 * interval at most. Clients hear from the leader; a read on a follower gets the commit
 * index with its own ReadIndex round.
 */
export function bcastCommit(s: CoreState): void {
  for (const to of s.others) sendAllowed(s, to);
}

export function bcastHeartbeat(s: CoreState): void {
  for (const to of s.others) heartbeatTo(s, to);
}

/** One peer's share of a heartbeat round (also sent alone when its connection comes up). */
export function heartbeatTo(s: CoreState, to: NodeId): void {
  const pr = s.progressOf(to);
  if (pr.state === 'probe') {
    // Resend the probe: the last one (or its answer) may have been lost. Without entries
    // when one went out already: an empty append at next-1 finds out as well whether the
    // follower matches there, and a follower slow to answer (a slow disk) is not sent up
    // to appendBytesMax again every heartbeat.
    // (Not below the log's start: that rejection would not match next-1 and the peer
    // would never move on to a snapshot.)
    if (pr.probeSent && s.log.term(pr.next - 1) !== undefined) {
      sendEmptyAt(s, to, pr.next - 1);
    } else {
      pr.probeSent = false;
      sendAppend(s, to, true);
    }
  } else if (!sendAppend(s, to, false)) {
    // Nothing new can go out. If the peer acknowledged nothing since the last
    // heartbeat while appends are outstanding, some were probably lost: a heartbeat
    // at next-1 either acknowledges them all or is rejected, sending the peer to probe.
    const stalled = pr.match === pr.matchAtHeartbeat && pr.match < pr.next - 1;
    sendEmptyAt(s, to, stalled ? pr.next - 1 : pr.match);
  }
  pr.matchAtHeartbeat = pr.match;
}
