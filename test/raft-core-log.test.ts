// The in-memory log, progress and quorum helpers.

import t from 'tap';
import { entrySizeBytes, RaftLog } from '../lib/raft/log.js';
import { Inflights, Progress } from '../lib/raft/progress.js';
import { committedIndex, voteResult } from '../lib/raft/quorum.js';
import { ents, Manual } from './sim/manual.js';

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

t.test('the entries kept behind a snapshot: the longest run ending at an index within a byte bound', async (t) => {
  const log = new RaftLog([], { index: 2, term: 1 });
  log.append([3, 4, 5, 6].map((index) => ({ index, term: 1, kind: 'normal' as const, tid: '', data: new Uint8Array(index * 10) })));
  const size = (i: number): number => entrySizeBytes(log.entry(i));
  t.equal(log.firstIndexWithinBytes(6, size(6) + size(5)), 5, 'two fit exactly');
  t.equal(log.firstIndexWithinBytes(6, size(6) + size(5) - 1), 6, 'one byte short of two');
  t.equal(log.firstIndexWithinBytes(6, size(6) - 1), 7, 'not even the last: none');
  t.equal(log.firstIndexWithinBytes(5, 1e9), 3, 'no further back than the log holds');
  t.equal(log.firstIndexWithinBytes(2, 1e9), 3, 'at the snapshot index: none');
  t.throws(() => log.firstIndexWithinBytes(7, 1e9), { code: 'RAFT_ASSERT' }, 'past the end is a bug');
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

t.test('inflights: a byte bound as well as a count; one append may go past it; acknowledgements and resets free the bytes', async (t) => {
  const inf = new Inflights(10, 1000);
  t.notOk(inf.full(), 'empty: always takes one');
  inf.add(3, 1500);
  t.ok(inf.full(), 'one append past the byte bound fills it');
  inf.freeLE(3);
  t.equal(inf.bytes, 0);
  inf.add(5, 400);
  inf.add(6, 400);
  t.notOk(inf.full(), '800 of 1000 bytes');
  inf.add(9, 400);
  t.ok(inf.full(), '1200 bytes');
  inf.freeLE(6);
  t.equal(inf.bytes, 400, 'the acknowledged appends freed their bytes');
  t.notOk(inf.full());
  inf.reset();
  t.equal(inf.bytes, 0);
  t.equal(new Inflights(2).full(), false, 'no byte bound by default');
  const pr = new Progress(1, 64, 1000);
  pr.becomeReplicate();
  pr.sentEntries(2, 2, 600);
  pr.sentEntries(2, 4, 600);
  t.ok(pr.paused(), 'replicate: paused by bytes with 2 of 64 appends out');
  t.ok(pr.maybeUpdate(2));
  pr.inflights.freeLE(2);
  t.notOk(pr.paused(), 'an acknowledgement unpauses it');
});

t.test('leader: appends to a follower stop at the byte bound and resume as it acknowledges', async (t) => {
  const c = new Manual(['n1', 'n2', 'n3'], { random: { n1: 0 }, config: { inflightMax: 64, inflightBytesMax: 3000, appendBytesMax: 1100 } });
  c.elect('n1');
  c.core('n1').propose(Array.from({ length: 20 }, (_, i) => ({ tid: `t${i}`, data: new Uint8Array(1000) })));
  c.flush('n1');
  const toN2 = c.queue.filter((m) => m.type === 'append' && m.to === 'n2' && m.entries.length > 0);
  t.equal(toN2.length, 3, 'three appends of ~1 KB fill 3000 bytes');
  t.equal(c.core('n1').status().progress['n2']!.inflight, 3);
  c.deliverAll();
  t.equal(c.node('n2').log.length, 21, 'every entry arrives as acknowledgements free the window');
});

t.test('quorum arithmetic', async (t) => {
  t.equal(committedIndex([5, 3, 9]), 5);
  t.equal(committedIndex([5, 3, 9, 1, 2]), 3);
  t.equal(committedIndex([4]), 4);
  t.equal(voteResult(2, 0, 3), 'won');
  t.equal(voteResult(1, 2, 3), 'lost');
  t.equal(voteResult(2, 2, 5), 'pending');
});
