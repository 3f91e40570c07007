// ReplicaConfig.releaseWithWrites: the messages held behind a write travel with it
// (LogWrite.release, sent by the log writer after the sync) instead of coming out of a
// later process(); each message is handed out exactly once either way, and messages
// held later behind a write already handed out still come out of process().
import t from 'tap';
import { acks, append, entry, follower as followerOf, FOLLOWER_CONFIG, TERM } from './helpers/follower-replica.js';

const config = { ...FOLLOWER_CONFIG, releaseWithWrites: true };
const follower = () => followerOf(config);

t.test("an append's acknowledgement travels with its write", async (t) => {
  const r = follower();
  r.receive([append(2, [entry(3), entry(4)])]);
  const fx = r.process();
  t.equal(fx.writes.length, 1);
  t.same(acks(fx.writes[0]!.release), [4], 'released by the write');
  t.same(acks(fx.messages), [], 'not handed out now');
  t.notOk(r.written(fx.writes[0]!.seq), 'durable: nothing for process() to hand out');
  t.same(acks(r.process().messages), [], 'nor once it is durable');
});

t.test('an answer held later behind a write already handed out comes out of process()', async (t) => {
  const r = follower();
  r.receive([append(2, [entry(3)])]);
  const fx1 = r.process();
  t.same(acks(fx1.writes[0]!.release), [3]);
  // A heartbeat at 3 vouches for entry 3, still being written: held behind that write.
  r.receive([append(3, [])]);
  const fx2 = r.process();
  t.equal(fx2.writes.length, 0, 'no new write');
  t.same(acks(fx2.messages), [], 'held');
  t.ok(r.written(fx1.writes[0]!.seq), 'durable: the held answer is for process() to hand out');
  t.same(acks(r.process().messages), [3], 'out once durable, once');
});

t.test('a new term travels with its write too, and nothing leaves before it', async (t) => {
  const r = follower();
  r.receive([{ ...append(2, []), term: TERM + 1 }]);
  const fx = r.process();
  const w = fx.writes[fx.writes.length - 1]!;
  t.equal(w.hardState?.term, TERM + 1);
  t.same(acks(fx.messages), [], 'nothing now');
  t.same(acks(w.release), [2], 'the answer goes with the term');
  r.written(w.seq);
  t.same(acks(r.process().messages), []);
});

t.test('without the option nothing travels with a write', async (t) => {
  const r = followerOf({ ...config, releaseWithWrites: false });
  r.receive([append(2, [entry(3)])]);
  const fx = r.process();
  t.equal(fx.writes[0]!.release, undefined);
  t.ok(r.written(fx.writes[0]!.seq));
  t.same(acks(r.process().messages), [3]);
});
