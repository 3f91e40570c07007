// The in-memory log, progress and quorum helpers.

import t from 'tap';
import { RaftLog } from '../lib/raft/log.js';
import { Inflights, Progress } from '../lib/raft/progress.js';
import { committedIndex, voteResult } from '../lib/raft/quorum.js';
import { ents } from './sim/manual.js';

t.test('term lookups by binary search', async (t) => {
  const log = new RaftLog(ents(1, [1, 1, 2, 2, 2, 5, 7, 7]));
  t.equal(log.lastIndexOfTerm(1), 2);
  t.equal(log.lastIndexOfTerm(2), 5);
  t.equal(log.lastIndexOfTerm(3), 0);
  t.equal(log.lastIndexOfTerm(7), 8);
  t.equal(log.lastIndexOfTerm(9), 0);
  t.equal(log.firstIndexOfTermRun(5, 1), 3);
  t.equal(log.firstIndexOfTermRun(4, 4), 4, 'not below the floor');
  t.equal(log.firstIndexOfTermRun(8, 1), 7);
  t.equal(log.firstIndexOfTermRun(1, 1), 1);
});

t.test('unstable entries, truncation and stable index', async (t) => {
  const log = new RaftLog(ents(1, [1, 1]));
  t.equal(log.stableIndex, 2);
  log.append(ents(3, [2, 2]));
  t.same(log.takeUnstable().map((e) => e.index), [3, 4]);
  t.notOk(log.stableTo(4, 1), 'wrong term');
  t.ok(log.stableTo(4, 2));
  log.truncateFrom(3);
  t.equal(log.stableIndex, 2, 'stable index follows a truncation');
  log.append(ents(3, [3]));
  t.same(log.takeUnstable().map((e) => e.index), [3]);
  t.notOk(log.stableTo(4, 2), 'index 4 is gone');
  t.throws(() => log.append(ents(5, [3])), { code: 'RAFT_ASSERT' });
});

t.test('progress: stale rejections are dropped; hints move next back', async (t) => {
  const pr = new Progress(11, 4);
  t.notOk(pr.maybeDecrTo(7, 3), 'probe: only a rejection of next-1 counts');
  t.ok(pr.maybeDecrTo(10, 4));
  t.equal(pr.next, 4);
  t.ok(pr.maybeUpdate(5));
  pr.becomeReplicate();
  pr.sentEntries(3, 8);
  t.equal(pr.next, 9);
  t.notOk(pr.maybeDecrTo(5, 1), 'replicate: a rejection at or below match is stale');
  t.ok(pr.maybeDecrTo(8, 1));
  t.equal(pr.state, 'probe');
  t.equal(pr.next, 6, 'never below match+1');
  const inf = new Inflights(2);
  inf.add(3);
  inf.add(5);
  t.ok(inf.full());
  inf.freeLE(4);
  t.equal(inf.count, 1);
});

t.test('quorum arithmetic', async (t) => {
  t.equal(committedIndex([5, 3, 9]), 5);
  t.equal(committedIndex([5, 3, 9, 1, 2]), 3);
  t.equal(committedIndex([4]), 4);
  t.equal(voteResult(2, 0, 3), 'won');
  t.equal(voteResult(1, 2, 3), 'lost');
  t.equal(voteResult(2, 2, 5), 'pending');
});
