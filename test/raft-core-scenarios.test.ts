// Scenario tests on the simulated cluster, named after MIT 6.824's Raft tests.

import t from 'tap';
import { Cluster, defaultClusterOptions, type ClusterOptions } from './sim/cluster.js';

function cluster(seed: number, over: Partial<ClusterOptions> = {}): Cluster {
  return new Cluster(defaultClusterOptions(seed, over));
}

function leaderOf(c: Cluster, maxTicks = 200): string {
  if (!c.runUntil(() => c.leader() !== null, maxTicks)) throw new Error('no leader elected');
  return c.leader()!;
}

/** Run until every node applied everything; null when converged, else why not. */
function converge(c: Cluster): string | null {
  const stuck = c.runUntilConverged(300, 5000);
  c.checkLogs();
  return stuck;
}

t.test('InitialElection: one leader, stable term while nothing fails', async (t) => {
  for (const nodes of [3, 5]) {
    const c = cluster(1, { nodes });
    const l = leaderOf(c);
    const term = c.status(l)!.term;
    c.runTicks(200);
    t.equal(c.leader(), l, `${nodes} nodes: same leader`);
    t.equal(c.status(l)!.term, term, `${nodes} nodes: same term`);
    t.equal(c.leaders.terms, 1, 'exactly one election');
  }
});

t.test('ReElection: a new leader after the leader fails; none without a majority', async (t) => {
  const c = cluster(2);
  const l1 = leaderOf(c);
  c.crash(l1);
  const l2 = leaderOf(c);
  t.not(l2, l1, 'new leader');
  c.restart(l1);
  c.runTicks(50);
  t.equal(c.leader(), l2, 'old leader rejoins as follower');
  // Take down a majority: nobody can lead.
  const others = c.nodes.map((n) => n.id).filter((id) => id !== l2);
  c.crash(l2);
  c.crash(others[0]!);
  c.runTicks(100);
  t.equal(c.leader(), null, 'no leader without a majority');
  c.restart(l2);
  c.restart(others[0]!);
  leaderOf(c);
  t.equal(converge(c), null, 'converges after the majority returns');
});

t.test('BasicAgree + FailAgree: entries commit with a follower down and it catches up', async (t) => {
  const c = cluster(3, { nodes: 5 });
  const l = leaderOf(c);
  for (let i = 0; i < 10; i++) c.propose(l);
  t.equal(converge(c), null, 'all five apply');
  const f = c.nodes.find((n) => n.id !== l)!.id;
  c.crash(f);
  for (let i = 0; i < 20; i++) c.propose(l, 3);
  c.runTicks(20);
  t.ok(c.status(l)!.commitIndex >= 71, 'commits without the follower');
  c.restart(f);
  t.equal(converge(c), null, 'the follower catches up');
});

t.test('FailNoAgree: no commit without a majority, and the minority leader recovers', async (t) => {
  const c = cluster(4, { nodes: 5 });
  const l = leaderOf(c);
  c.runTicks(5);
  const before = c.status(l)!.commitIndex;
  const ids = c.nodes.map((n) => n.id);
  const followers = ids.filter((id) => id !== l);
  for (const id of followers.slice(0, 3)) c.crash(id);
  c.propose(l, 5);
  c.runTicks(50);
  t.equal(c.status(l)?.commitIndex ?? before, before, 'nothing commits with 2 of 5');
  for (const id of followers.slice(0, 3)) c.restart(id);
  t.equal(converge(c), null, 'recovers once the majority is back');
});

t.test('Persist: the whole cluster crashes and restarts from disk', async (t) => {
  const c = cluster(5);
  const l = leaderOf(c);
  for (let i = 0; i < 10; i++) c.propose(l, 2);
  t.equal(converge(c), null, 'before the crash');
  const applied = c.applied.maxIndex;
  for (const n of c.nodes) c.crash(n.id);
  for (const n of c.nodes) c.restart(n.id);
  leaderOf(c);
  t.equal(converge(c), null, 'after restart');
  t.ok(c.applied.maxIndex > applied, 'the new leader committed its noop on top of everything');
});

t.test('Figure8Unreliable: leaders crash while the network drops, delays and reorders', async (t) => {
  const c = cluster(6, {
    nodes: 5,
    net: { dropP: 0.1, dupP: 0.05, delayMin: 1, delayMax: 40 },
    diskDelayMax: 15,
  });
  let seedRng = 1;
  const rnd = (): number => {
    seedRng = (seedRng * 48271) % 2147483647;
    return seedRng / 2147483647;
  };
  for (let round = 0; round < 60; round++) {
    const l = c.leader();
    if (l !== null) c.propose(l, 1 + Math.floor(rnd() * 3));
    c.runTicks(1 + Math.floor(rnd() * 15));
    if (l !== null && rnd() < 0.5) c.crash(l);
    if (c.live().length < 3) {
      const down = c.nodes.filter((n) => n.core === null);
      c.restart(down[Math.floor(rnd() * down.length)]!.id);
    }
  }
  c.net.opts = { ...c.net.opts, dropP: 0, dupP: 0 };
  for (const n of c.nodes) c.restart(n.id);
  t.equal(converge(c), null, 'converges after the storm');
  t.ok(c.leaders.terms > 5, `many leaders came and went (${c.leaders.terms})`);
});

t.test('FastBackup (6.824 TestBackup): a deposed leader with 50 uncommitted entries is repaired quickly', async (t) => {
  const c = cluster(7, { nodes: 5, inflightMax: 4, appendBytesMax: 1 << 16, uncommittedEntriesMax: 200 });
  const l1 = leaderOf(c);
  c.propose(l1);
  t.equal(converge(c), null, 'start');
  const ids = c.nodes.map((n) => n.id);
  const others = ids.filter((id) => id !== l1);
  // The leader and one follower are cut off; the leader takes 50 entries it cannot commit.
  c.partition([[l1, others[0]!], others.slice(1)]);
  for (let i = 0; i < 50; i++) c.propose(l1);
  // The majority side elects a leader and commits 50 other entries.
  const majority = others.slice(1);
  t.ok(c.runUntil(() => majority.includes(c.leader() ?? ''), 200), 'majority side elects a leader');
  const l2 = c.leader()!;
  for (let i = 0; i < 50; i++) c.propose(l2);
  c.runTicks(30);
  t.ok(c.status(l2)!.commitIndex >= 52, 'majority committed its entries');
  c.heal();
  const rejectsBefore = c.stats.appendRejects;
  const t0 = c.now;
  t.equal(converge(c), null, 'all nodes converge to the majority log');
  const rejects = c.stats.appendRejects - rejectsBefore;
  t.ok(rejects <= 6, `repair needed ${rejects} rejected appends`);
  t.ok(c.now - t0 < 100 * c.opts.stepsPerTick, `repair took ${(c.now - t0) / c.opts.stepsPerTick} ticks`);
});

t.test('ReadIndex under partitions: reads never return an index below what was committed', async (t) => {
  const c = cluster(8, { nodes: 5, net: { dropP: 0.05, dupP: 0.05, delayMin: 1, delayMax: 20 } });
  const ids = c.nodes.map((n) => n.id);
  for (let round = 0; round < 100; round++) {
    const l = c.leader();
    if (l !== null) c.propose(l, 2);
    for (const id of ids) c.read(id);
    c.runTicks(3);
    if (round % 20 === 10 && l !== null) c.partition([[l], ids.filter((id) => id !== l)]);
    if (round % 20 === 19) c.heal();
  }
  c.heal();
  t.equal(converge(c), null, 'converges');
  t.ok(c.stats.readsOk > 50, `reads completed: ${c.stats.readsOk} of ${c.stats.reads}`);
});

t.test('ReadIndex: a deposed leader cut off in a minority never serves a stale read', async (t) => {
  for (const checkQuorum of [true, false]) {
    const c = cluster(9, { nodes: 5, checkQuorum, preVote: true });
    const l1 = leaderOf(c);
    c.propose(l1);
    t.equal(converge(c), null, 'start');
    const ids = c.nodes.map((n) => n.id);
    const majority = ids.filter((id) => id !== l1);
    c.partition([[l1], majority]);
    t.ok(c.runUntil(() => majority.includes(c.leader() ?? ''), 300), 'majority elects a new leader');
    const l2 = c.leader()!;
    c.propose(l2, 5);
    c.runTicks(10);
    const committed = c.status(l2)!.commitIndex;
    t.ok(committed >= 7, 'the new leader committed more');
    const before = c.stats.readsOk;
    c.read(l1); // the old leader may still think it leads (always, without check-quorum)
    c.runTicks(50);
    t.equal(c.stats.readsOk, before, `checkQuorum=${checkQuorum}: the isolated node completed no read`);
    t.ok(c.stats.readsFailed >= 1, 'the read failed instead');
    c.heal();
    t.equal(converge(c), null, 'converges after healing');
  }
});
