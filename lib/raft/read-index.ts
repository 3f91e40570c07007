// ReadIndex (Raft dissertation §6.4): the leader records its commit index, confirms
// it still leads with one heartbeat round, and hands the index out; a follower asks
// the leader for it. The pending-read bookkeeping lives in reads.ts.
import { assertNever, assert } from './assert.js';
import { readIndexResp, type ReadIndexMsg, type ReadIndexRespMsg } from './message-builders.js';
import type { PendingRead, ReadRequester } from './reads.js';
import { committedInTerm, sendEmptyAtMatch } from './replication.js';
import type { CoreState } from './state.js';

export function leaderRead(s: CoreState, req: ReadRequester): void {
  if (s.leaderReads.full()) {
    failRead(s, req);
    return;
  }
  const r: PendingRead = { round: 0, index: 0, req, expireTick: s.ticks + s.readTimeoutTicks };
  if (!committedInTerm(s)) {
    // §6.4: the commit index is only known to be current once an entry of this term commits.
    s.leaderReads.awaitingCommit.push(r);
    return;
  }
  startReads(s, [r]);
}

/** Register reads against the current commit index and start one heartbeat round for them. */
export function startReads(s: CoreState, rs: PendingRead[]): void {
  if (rs.length === 0) return;
  assert(s.role === 'leader' && committedInTerm(s), 'read started before commit in term');
  if (s.otherVoters.length === 0 && s.isVoter) {
    for (const r of rs) completeRead(s, r.req, s.commitIndex);
    return;
  }
  s.readRound++;
  for (const r of rs) {
    r.round = s.readRound;
    r.index = s.commitIndex;
    s.leaderReads.addPending(r);
  }
  for (const to of s.others) sendEmptyAtMatch(s, to);
}

export function checkReads(s: CoreState): void {
  const pending = s.leaderReads.pending;
  let done = 0;
  while (done < pending.length) {
    const r = pending[done]!;
    // Voters only: a learner's ack confirms nothing about leadership.
    let acks = s.isVoter ? 1 : 0;
    for (const p of s.otherVoters) if (s.progressOf(p).ackedRound >= r.round) acks++;
    if (acks < s.quorum) break;
    completeRead(s, r.req, r.index);
    done++;
  }
  if (done > 0) pending.splice(0, done);
}

function completeRead(s: CoreState, req: ReadRequester, index: number): void {
  switch (req.kind) {
    case 'local':
      s.reads.push({ ctx: req.ctx, index });
      return;
    case 'remote':
      s.msgsNow.push(readIndexResp(s, req.from, req.ctx, index, true));
      return;
    default:
      assertNever(req, 'read requester');
  }
}

function failRead(s: CoreState, req: ReadRequester): void {
  switch (req.kind) {
    case 'local':
      s.readsFailed.push(req.ctx);
      return;
    case 'remote':
      s.msgsNow.push(readIndexResp(s, req.from, req.ctx, 0, false));
      return;
    default:
      assertNever(req, 'read requester');
  }
}

export function rejectRemoteRead(s: CoreState, m: ReadIndexMsg): void {
  failRead(s, { kind: 'remote', from: m.from, ctx: m.ctx });
}

export function onReadIndexResp(s: CoreState, m: ReadIndexRespMsg): void {
  if (!s.forwardedReads.take(m.ctx)) return; // expired, failed or duplicated
  if (m.ok) s.reads.push({ ctx: m.ctx, index: m.index });
  else s.readsFailed.push(m.ctx);
}

export function failAllReads(s: CoreState): void {
  for (const r of s.leaderReads.takeAll()) failRead(s, r.req);
  for (const ctx of s.forwardedReads.takeAll()) s.readsFailed.push(ctx);
}

export function expireReads(s: CoreState): void {
  for (const r of s.leaderReads.takeExpired(s.ticks)) failRead(s, r.req);
  for (const ctx of s.forwardedReads.takeExpired(s.ticks)) s.readsFailed.push(ctx);
}
