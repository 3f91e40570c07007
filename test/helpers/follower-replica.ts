// A follower replica ('b' of a, b, c, led by 'a' in term 2) and the messages its leader
// sends it: shared by the tests of when a follower's acknowledgements leave
// (replica-release*.test.ts).
import type { Entry, Message } from '../../lib/raft/types.js';
import type { PeerMessage } from '../../lib/replica/messages.js';
import { Replica, type ReplicaConfig } from '../../lib/replica/replica.js';

export const FOLLOWER_CONFIG: ReplicaConfig = {
  core: { id: 'b', peers: ['a', 'b', 'c'], electionTicks: 10, heartbeatTicks: 1, preVote: true, checkQuorum: true, inflightMax: 8, appendBytesMax: 1 << 20, uncommittedEntriesMax: 1000 },
  requestTicks: 60,
  inFlightMax: 64,
  dedupWindowEntries: 1000,
  dedupEntriesMax: 1000,
  readyPerProcessMax: 4,
  snapshots: { snapshotEntries: 1_000_000, snapshotLogBytes: 1e12, retainEntries: 100, retainBytes: 1e12, chunkBytes: 1024, takeBytesPerRound: 300, chunkTimeoutTicks: 20, attemptsMax: 5 },
};

export const TERM = 2;

export function entry(index: number): Entry {
  return { index, term: TERM, kind: 'noop', tid: '', data: new Uint8Array(0) };
}

export function append(prevLogIndex: number, entries: Entry[], leaderCommit = 0): Message {
  return { type: 'append', term: TERM, from: 'a', to: 'b', prevLogIndex, prevLogTerm: prevLogIndex === 0 ? 0 : TERM, entries, leaderCommit, ctx: 0 };
}

/** The match indexes of the successful append acknowledgements among `msgs`. */
export function acks(msgs: readonly PeerMessage[] | undefined): number[] {
  return (msgs ?? []).flatMap((m) => (m.type === 'appendResp' && m.success ? [m.matchIndex] : []));
}

/** A follower that holds entries 1 and 2 of term 2 and voted for 'a'. */
export function follower(config: ReplicaConfig = FOLLOWER_CONFIG): Replica {
  return new Replica(config, { hardState: { term: TERM, vote: 'a' }, entries: [entry(1), entry(2)] }, () => 0.5);
}
