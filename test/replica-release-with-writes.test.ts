// ReplicaConfig.releaseWithWrites: the messages held behind a write travel with it
// (LogWrite.release, sent by the log writer after the sync) instead of coming out of a
// later process(); each message is handed out exactly once either way, and messages
// held later behind a write already handed out still come out of process().
import t from 'tap';
import { Replica } from '../lib/replica/replica.js';
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

t.test('an answer held later behind a write already handed out travels with an empty write', async (t) => {
  const r = follower();
  r.receive([append(2, [entry(3)])]);
  const fx1 = r.process();
  t.same(acks(fx1.writes[0]!.release), [3]);
  // A heartbeat at 3 vouches for entry 3, still being written (or written and not yet
  // reported: a follower's writes are quiet): held behind that write, it goes with an
  // empty write after it, so it leaves once entry 3 is durable, without waiting for the report.
  r.receive([append(3, [])]);
  const fx2 = r.process();
  t.same(acks(fx2.messages), [], 'not handed out now');
  t.equal(fx2.writes.length, 1, 'an empty write');
  const w = fx2.writes[0]!;
  t.same(w.entries, []);
  t.equal(w.hardState, null);
  t.ok(w.seq > fx1.writes[0]!.seq, 'after the write it waits for');
  t.same(acks(w.release), [3], 'carries the answer');
  t.notOk(r.written(fx1.writes[0]!.seq), 'the first write reported: nothing left to hand out');
  t.notOk(r.written(w.seq));
  t.same(acks(r.process().messages), [], 'handed out once');
});

t.test("a follower's writes are quiet, a leader's are not", async (t) => {
  const r = follower();
  r.receive([append(2, [entry(3)])]);
  t.equal(r.process().writes[0]!.quiet, true, 'follower');
  const plain = followerOf({ ...config, releaseWithWrites: false });
  plain.receive([append(2, [entry(3)])]);
  t.equal(plain.process().writes[0]!.quiet, false, 'never without releaseWithWrites');
  // A cluster of one elects itself; from then on its writes wait for prompt reports.
  const solo = new Replica({ ...config, core: { ...config.core, peers: ['b'] } }, { hardState: { term: TERM, vote: 'b' }, entries: [entry(1), entry(2)] }, () => 0.5);
  let leaderWrites = 0;
  for (let i = 0; i < 100 && leaderWrites === 0; i++) {
    solo.tick(1_700_000_000_000 + i * 10);
    const wasLeader = solo.role === 'leader';
    const fx = solo.process();
    for (const w of fx.writes) {
      if (wasLeader || (solo.role as string) === 'leader') {
        t.notOk(w.quiet, `leader write ${w.seq} is not quiet`);
        leaderWrites++;
      }
      solo.written(w.seq);
    }
  }
  t.ok(leaderWrites > 0, 'the leader wrote');
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
