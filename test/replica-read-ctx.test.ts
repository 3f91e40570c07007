// A node that restarts must not take the leader's answer to a ReadIndex round of its
// previous incarnation for one of its own: that answer's read index may be older than a
// write acknowledged since (found by the membership simulator, seed 4104).

import t from 'tap';
import type { PeerMessage } from '../lib/replica/messages.js';
import { Replica, type ReplicaConfig } from '../lib/replica/replica.js';

const config: ReplicaConfig = {
  core: { id: 'b', peers: ['a', 'b', 'c'], electionTicks: 10, heartbeatTicks: 2, preVote: true, checkQuorum: true, inflightMax: 4, appendBytesMax: 4096, uncommittedEntriesMax: 100 },
  requestTicks: 50,
  inFlightMax: 10,
  dedupWindowEntries: 100,
  dedupEntriesMax: 100,
  readyPerProcessMax: 4,
  snapshots: { snapshotEntries: 1000, snapshotLogBytes: 1e9, retainEntries: 0, retainBytes: 1e12, chunkBytes: 1024, takeBytesPerRound: 1024, chunkTimeoutTicks: 10, attemptsMax: 3 },
};

/** A follower of `a` in term 1 (heard a heartbeat), that sends one GET: returns the ReadIndex request it sent. */
function follower(seed: number): { r: Replica; ctx: number } {
  let x = seed;
  const r = new Replica(config, { hardState: { term: 1, vote: null }, entries: [] }, () => (x = (x * 9301 + 49297) % 233280) / 233280);
  r.receive([{ type: 'append', term: 1, from: 'a', to: 'b', prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0, ctx: 0 }]);
  r.process();
  r.request([{ reqId: 1, kind: 'read', args: [Buffer.from('get'), Buffer.from('k')] }]);
  const sent = r.process().messages.filter((m): m is Extract<PeerMessage, { type: 'readIndex' }> => m.type === 'readIndex');
  if (sent.length !== 1) throw new Error(`expected one readIndex, got ${sent.length}`);
  return { r, ctx: sent[0]!.ctx };
}

t.test('ReadIndex round ids differ from one incarnation to the next', async (t) => {
  const before = follower(11);
  const after = follower(12345); // the same node, restarted: another epoch
  t.not(after.ctx, before.ctx, 'the rounds are numbered apart');
  // The leader's answer to the earlier incarnation's round reaches the new one: ignored.
  after.r.receive([{ type: 'readIndexResp', term: 1, from: 'a', to: 'b', ctx: before.ctx, index: 0, ok: true }]);
  t.same(after.r.process().replies, [], 'no read served on another incarnation\'s round');
  after.r.receive([{ type: 'readIndexResp', term: 1, from: 'a', to: 'b', ctx: after.ctx, index: 0, ok: true }]);
  t.equal(after.r.process().replies.length, 1, 'its own round serves it');
});
