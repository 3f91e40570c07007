// The replicator's urgent lane (lib/wire/lane.ts): what may skip queued bulk.
import t from 'tap';
import type { Entry } from '../lib/raft/types.js';
import type { PeerMessage } from '../lib/replica/messages.js';
import { BulkFloor, isUrgent } from '../lib/wire/lane.js';

const e = (index: number): Entry => ({ index, term: 1, kind: 'normal', tid: '', data: new Uint8Array(100_000) });
const append = (prevLogIndex: number, entries: Entry[]): PeerMessage => ({ type: 'append', term: 1, from: 'a', to: 'b', prevLogIndex, prevLogTerm: 1, entries, leaderCommit: 0, ctx: 0 });

t.test('control messages skip bulk; payloads never do', async (t) => {
  t.ok(isUrgent({ type: 'vote', term: 2, from: 'a', to: 'b', pre: true, transfer: false, lastLogIndex: 1, lastLogTerm: 1 }, 5));
  t.ok(isUrgent({ type: 'appendResp', term: 1, from: 'b', to: 'a', success: true, matchIndex: 9, rejectIndex: 0, conflictTerm: 0, conflictIndex: 0, ctx: 0 }, 5));
  t.ok(isUrgent({ type: 'readIndex', term: 1, from: 'b', to: 'a', ctx: 3 }, 5));
  t.notOk(isUrgent(append(4, [e(5)]), Infinity), 'an append with entries is bulk');
  t.notOk(isUrgent({ type: 'fwdWrite', term: 1, from: 'b', to: 'a', epoch: 1, items: [] }, Infinity), 'forwarded writes keep their order');
});

t.test('a heartbeat skips ahead only if it refers to no queued entry', async (t) => {
  const floor = new BulkFloor();
  t.equal(floor.value, Infinity);
  floor.queued(append(10, [e(11), e(12)]));
  floor.queued(append(12, [e(13)]));
  t.equal(floor.value, 11);
  t.ok(isUrgent(append(10, []), floor.value), 'a heartbeat at the acknowledged match (10) goes first');
  t.notOk(isUrgent(append(12, []), floor.value), 'one at 12 would be rejected before 11-12 arrive: it waits behind them');
  floor.emptied();
  t.ok(isUrgent(append(12, []), floor.value), 'once the queue is empty it goes at once');
});
