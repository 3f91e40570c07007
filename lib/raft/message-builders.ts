// Every message the core sends, built in one place so each kind has one shape.
import type { Entry, Message, NodeId } from './types.js';
import type { CoreState } from './state.js';

export type AppendMsg = Extract<Message, { type: 'append' }>;
export type AppendRespMsg = Extract<Message, { type: 'appendResp' }>;
export type VoteMsg = Extract<Message, { type: 'vote' }>;
export type VoteRespMsg = Extract<Message, { type: 'voteResp' }>;
export type ReadIndexMsg = Extract<Message, { type: 'readIndex' }>;
export type ReadIndexRespMsg = Extract<Message, { type: 'readIndexResp' }>;

export function appendMsg(s: CoreState, to: NodeId, prevLogIndex: number, prevLogTerm: number, entries: Entry[]): AppendMsg {
  return { type: 'append', term: s.term, from: s.id, to, prevLogIndex, prevLogTerm, entries, leaderCommit: s.commitIndex, ctx: s.readRound };
}

export function appendAccepted(s: CoreState, to: NodeId, matchIndex: number, ctx: number): AppendRespMsg {
  return { type: 'appendResp', term: s.term, from: s.id, to, success: true, matchIndex, rejectIndex: 0, conflictTerm: 0, conflictIndex: 0, ctx };
}

/** conflictTerm/conflictIndex: the follower's hint (0/0 from a node in a newer term). */
export function appendRejected(s: CoreState, to: NodeId, rejectIndex: number, conflictTerm: number, conflictIndex: number, ctx: number): AppendRespMsg {
  return { type: 'appendResp', term: s.term, from: s.id, to, success: false, matchIndex: 0, rejectIndex, conflictTerm, conflictIndex, ctx };
}

export function voteMsg(s: CoreState, to: NodeId, term: number, pre: boolean, transfer: boolean): VoteMsg {
  return { type: 'vote', term, from: s.id, to, pre, transfer, lastLogIndex: s.log.lastIndex, lastLogTerm: s.log.lastTerm };
}

export function timeoutNowMsg(s: CoreState, to: NodeId): Extract<Message, { type: 'timeoutNow' }> {
  return { type: 'timeoutNow', term: s.term, from: s.id, to };
}

export function voteResp(s: CoreState, to: NodeId, term: number, pre: boolean, granted: boolean): VoteRespMsg {
  return { type: 'voteResp', term, from: s.id, to, pre, granted };
}

export function readIndexMsg(s: CoreState, to: NodeId, ctx: number): ReadIndexMsg {
  return { type: 'readIndex', term: s.term, from: s.id, to, ctx };
}

export function readIndexResp(s: CoreState, to: NodeId, ctx: number, index: number, ok: boolean): ReadIndexRespMsg {
  return { type: 'readIndexResp', term: s.term, from: s.id, to, ctx, index, ok };
}
