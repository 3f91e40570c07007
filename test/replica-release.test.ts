// When a follower's acknowledgements may leave (lib/replica/replica.ts release): only
// once what they claim is durable, but not later. A heartbeat's answer must not wait
// behind the fsync of a bulk append that arrived before it (issue 11): the leader's
// CheckQuorum and ReadIndex rounds count those answers.
import t from 'tap';
import type { Replica } from '../lib/replica/replica.js';
import { acks, append, entry, follower as followerOf, TERM } from './helpers/follower-replica.js';

/** A follower of `a` in TERM with entries 1..2 durable. */
function follower(): { r: Replica; seq: number } {
  return { r: followerOf(), seq: 0 };
}

t.test('a heartbeat is answered while a later bulk append is still being written', async (t) => {
  const { r } = follower();
  r.receive([append(2, [entry(3), entry(4)])]);
  const fx1 = r.process();
  t.equal(fx1.writes.length, 1, 'entries 3-4 go to the log');
  t.same(acks(fx1.messages), [], 'their ack waits for the write');
  r.receive([append(2, [])]);
  const fx2 = r.process();
  t.same(acks(fx2.messages), [2], 'the heartbeat at 2 (durable) is answered at once');
  r.written(fx1.writes[0]!.seq);
  t.same(acks(r.process().messages), [4], 'the append is acknowledged once durable');
});

t.test('an answer that vouches for entries still being written waits for them', async (t) => {
  const { r } = follower();
  r.receive([append(2, [entry(3)])]);
  const fx1 = r.process();
  // The leader heartbeats at 3 (it counts on the append): the answer claims entry 3.
  r.receive([append(3, [])]);
  t.same(acks(r.process().messages), [], 'held: entry 3 is not durable yet');
  r.written(fx1.writes[0]!.seq);
  t.same(acks(r.process().messages).sort(), [3, 3], 'both leave once it is');
});

t.test('nothing leaves early while a new term or vote is being written', async (t) => {
  const { r } = follower();
  // A leader of a newer term: this follower adopts the term, which must be durable first.
  r.receive([{ ...append(2, []), term: TERM + 1 }]);
  const fx = r.process();
  t.ok(fx.writes.some((w) => w.hardState?.term === TERM + 1), 'the new term is written');
  t.same(acks(fx.messages), [], 'the heartbeat answer waits for it');
  r.written(fx.writes[fx.writes.length - 1]!.seq);
  t.same(acks(r.process().messages), [2]);
});
