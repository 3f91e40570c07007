// Membership in the pure core, driven by hand (test/sim/manual.ts): config entries take
// effect when appended and are undone when truncated, learners never count toward a
// quorum, a removed leader steps down once its removal commits, one change at a time,
// and the configuration comes back from a snapshot.

import t from 'tap';
import { encodeConfig } from '../lib/raft/config-entry.js';
import { RaftCore } from '../lib/raft/core.js';
import type { Member } from '../lib/replica/membership-types.js';
import { cfg, Manual } from './sim/manual.js';

const three = ['n1', 'n2', 'n3'];
const member = (id: string, voter = true): Member => ({ id, host: `10.0.0.${id.slice(1)}`, peerPort: 7100 + Number(id.slice(1)), clientPort: 6100 + Number(id.slice(1)), voter });
const data = (s: string): { tid: string; data: Uint8Array }[] => [{ tid: '', data: new TextEncoder().encode(s) }];
const voters = (c: RaftCore): string[] => c.membership.members.filter((m) => m.voter).map((m) => m.id);

/** n1 leads n1..n3; n4 runs as a node that joins, and is added as a learner. */
function withLearner(): Manual {
  const c = new Manual(['n1', 'n2', 'n3', 'n4'], { voters: three, random: { n1: 0 }, perNode: { n4: { join: true, peers: [] } } });
  c.elect('n1');
  const r = c.core('n1').proposeConfig([...three.map((id) => member(id)), member('n4', false)]);
  if (!r.ok) throw new Error(`proposeConfig: ${r.code}`);
  c.flush('n1');
  c.deliverAll();
  return c;
}

t.test('a node that joins knows no configuration and never campaigns until the leader tells it', async (t) => {
  const c = new Manual(['n1', 'n2', 'n3', 'n4'], { voters: three, random: { n1: 0, n4: 0 }, perNode: { n4: { join: true, peers: [] } } });
  t.same(c.core('n4').membership, { index: 0, members: [] });
  c.tick('n4', 100);
  t.equal(c.core('n4').role, 'follower', 'it never campaigns');
  t.equal(c.events('n4', 'electionStarted').length, 0);
  c.elect('n1');
  c.core('n1').proposeConfig([...three.map((id) => member(id)), member('n4', false)]);
  c.flush('n1');
  c.deliverAll();
  c.tick('n1');
  c.deliverAll();
  t.equal(c.core('n4').membership.members.length, 4, 'it learns the configuration from the log');
  t.equal(c.core('n4').status().lastIndex, c.core('n1').status().lastIndex, 'and receives the whole log');
  t.equal(c.core('n4').isVoter, false, 'as a learner');
});

t.test('learners are replicated to but never count toward commit, ReadIndex or CheckQuorum', async (t) => {
  const c = withLearner();
  const l = c.core('n1');
  c.tick('n1');
  c.deliverAll();
  const commit = l.status().commitIndex;
  t.equal(c.core('n4').status().commitIndex, commit, 'the learner follows the commit index');
  // Only the learner hears the leader: n1 + n4 are two of four members, but one of three voters.
  c.drop = (m) => m.to === 'n2' || m.to === 'n3';
  l.propose(data('x'));
  l.readIndex(7);
  c.flush('n1');
  c.deliverAll();
  t.equal(c.core('n4').status().lastIndex, l.status().lastIndex, 'the learner holds the entry');
  t.equal(l.status().commitIndex, commit, 'not committed by the leader and a learner');
  t.same(c.node('n1').reads, [], 'no read confirmed by a learner');
  for (let i = 0; i < 25; i++) {
    c.tick('n1');
    c.tick('n4');
    c.deliverAll();
  }
  t.equal(l.role, 'follower', 'CheckQuorum: the leader steps down with only a learner answering');
  t.equal(c.core('n4').role, 'follower', 'the learner never campaigns');
});

t.test('a configuration takes effect when appended and is undone when its entry is truncated', async (t) => {
  const c = new Manual(three, { random: { n1: 0, n2: 0.5 } });
  c.elect('n1');
  // n1 appends a change nobody receives.
  c.drop = (m) => m.from === 'n1';
  const r = c.core('n1').proposeConfig([member('n1'), member('n2'), member('n3', false)]);
  t.ok(r.ok);
  c.flush('n1');
  c.deliverAll();
  t.same(voters(c.core('n1')), ['n1', 'n2'], 'in effect on the leader at once, uncommitted');
  t.equal(c.core('n2').membership.index, 0);
  // n2 takes over with n3 and writes at that index.
  c.drop = (m) => m.from === 'n1' || m.to === 'n1';
  for (let i = 0; i < 40 && c.core('n2').role !== 'leader'; i++) {
    c.tick('n2');
    c.tick('n3');
    c.deliverAll();
  }
  t.equal(c.core('n2').role, 'leader', 'n2 leads n2 and n3');
  c.core('n2').propose(data('y'));
  c.flush('n2');
  c.deliverAll();
  c.drop = () => false;
  for (let i = 0; i < 5; i++) {
    c.tickAll(1);
    c.deliverAll();
  }
  t.equal(c.core('n1').role, 'follower');
  t.equal(c.core('n1').membership.index, 0, 'the truncated config entry took its configuration with it');
  t.same(voters(c.core('n1')), three);
  t.ok(c.events('n1', 'configChanged').some((e) => String(e['reason']).startsWith('append from n2')), 'reverted when n2 overwrote it');
});

t.test('one change at a time, and only after the leader committed an entry of its term', async (t) => {
  const c = new Manual(three, { random: { n1: 0 } });
  c.tick('n1', 10);
  c.deliverAll();
  t.equal(c.core('n1').role, 'leader');
  // elect() delivered everything: force the case of a noop not yet committed with a fresh leader.
  const d = new Manual(three, { random: { n1: 0 } });
  d.drop = (m) => m.type === 'appendResp';
  d.tick('n1', 10);
  d.deliverAll();
  const early = d.core('n1').proposeConfig(three.map((id) => member(id)).concat(member('n4', false)));
  t.same(early.ok ? null : early.code, 'TRYAGAIN', 'refused before the noop commits');
  const first = c.core('n1').proposeConfig(three.map((id) => member(id)).concat(member('n4', false)));
  t.ok(first.ok, 'the first change is taken');
  const second = c.core('n1').proposeConfig(three.map((id) => member(id)).concat(member('n5', false)));
  t.same(second.ok ? null : second.code, 'PENDING', 'a second while the first is uncommitted is refused');
  c.flush('n1');
  c.deliverAll();
  t.ok(c.core('n1').proposeConfig(three.map((id) => member(id))).ok, 'taken again once the first committed');
});

t.test('a removed leader leads without counting itself, steps down once its removal commits, and never campaigns again', async (t) => {
  const c = new Manual(three, { random: { n1: 0 } });
  c.elect('n1');
  c.drop = (m) => m.to === 'n3';
  const r = c.core('n1').proposeConfig([member('n2'), member('n3')]);
  t.ok(r.ok);
  c.flush('n1');
  c.deliverAll();
  t.equal(c.core('n1').role, 'leader', 'still leading: n2 alone is not a majority of {n2, n3}');
  t.ok(c.core('n1').status().commitIndex < (r.ok ? r.index : 0), 'its own ack does not count');
  c.drop = () => false;
  for (let i = 0; i < 5 && c.core('n1').role === 'leader'; i++) {
    c.tick('n1');
    c.deliverAll();
  }
  t.equal(c.core('n1').role, 'follower', 'stepped down once committed');
  t.equal(c.events('n1', 'removedSteppingDown').length, 1);
  const leader = ['n2', 'n3'].find((id) => c.core(id).role === 'leader');
  t.ok(leader !== undefined, 'the up-to-date voter it handed over to (TimeoutNow) leads at once');
  const term = c.core('n1').term;
  for (let i = 0; i < 50; i++) {
    c.tick('n1');
    c.deliverAll();
  }
  t.equal(c.core('n1').term, term, 'the removed node never campaigns');
  // Its vote requests (were it to send any) are ignored: no term change at the members.
  const before = c.core(leader!).term;
  c.core(leader!).step({ type: 'vote', term: before + 5, from: 'n1', to: leader!, pre: false, transfer: false, lastLogIndex: 100, lastLogTerm: 100 });
  t.equal(c.core(leader!).term, before, 'a vote from a non-member is ignored');
  t.equal(c.core(leader!).role, 'leader');
});

t.test('on restart the configuration is the log\'s last config entry, else the snapshot\'s, else the bootstrap list', async (t) => {
  const snapCfg = { index: 5, members: [member('n1'), member('n2'), member('n7', false)] };
  const hs = { term: 3, vote: null };
  const fromSnap = new RaftCore(cfg('n1', three), { hardState: hs, snapshot: { index: 9, term: 3 }, snapshotConfig: snapCfg, entries: [] }, () => 0.5);
  t.same(fromSnap.membership, snapCfg, 'the snapshot\'s configuration, not hosts.txt');
  const entry = { index: 10, term: 3, kind: 'config' as const, tid: '', data: encodeConfig([member('n1'), member('n2')]) };
  const fromLog = new RaftCore(cfg('n1', three), { hardState: hs, snapshot: { index: 9, term: 3 }, snapshotConfig: snapCfg, entries: [entry] }, () => 0.5);
  t.same(fromLog.membership, { index: 10, members: [member('n1'), member('n2')] }, 'a config entry after the snapshot wins');
  t.same(fromLog.configAt(9), snapCfg, 'the snapshot\'s holds before it');
  const boot = new RaftCore(cfg('n1', three), { hardState: hs, entries: [] }, () => 0.5);
  t.same(voters(boot), three, 'the bootstrap list when neither holds one');
  // A follower installing a leader's snapshot takes its configuration.
  boot.installSnapshot({ index: 9, term: 3 }, snapCfg);
  t.same(boot.membership, snapCfg);
  t.throws(() => new RaftCore(cfg('n1', three), { hardState: hs, snapshot: { index: 9, term: 3 }, snapshotConfig: { members: 'x' }, entries: [] }, () => 0.5), { code: 'RAFT_ASSERT' }, 'a damaged configuration stops the node');
});

t.test('a leader that appended its own removal and crashed before sending it still lets the cluster on', async (t) => {
  // Two voters: n1 leads and appends "only n2". Nobody receives it, n1 restarts. n2 needs
  // n1's vote, and n1 refuses it (n2's log is behind): n1, whose removal is not committed,
  // campaigns in its latest configuration, wins n2's vote, commits its removal, steps down.
  const two = ['n1', 'n2'];
  const c = new Manual(two, { random: { n1: 0, n2: 0.5 } });
  c.elect('n1');
  c.drop = () => true;
  t.ok(c.core('n1').proposeConfig([member('n2')]).ok);
  c.flush('n1');
  c.deliverAll();
  c.drop = () => false;
  const n1 = c.node('n1');
  const restarted = new Manual(two, { random: { n1: 0, n2: 0.5 }, restored: { n1: { hardState: n1.hardState, entries: n1.log }, n2: { hardState: c.node('n2').hardState, entries: c.node('n2').log } } });
  t.same(voters(restarted.core('n1')), ['n2'], 'n1 restarts with its removal in effect');
  for (let i = 0; i < 200 && !(restarted.core('n2').role === 'leader' && voters(restarted.core('n2')).length === 1); i++) {
    restarted.tickAll(1);
    restarted.deliverAll();
  }
  t.equal(restarted.core('n2').role, 'leader', 'n2 leads');
  t.same(voters(restarted.core('n2')), ['n2'], 'with the removal committed');
  t.ok(restarted.events('n1', 'removedSteppingDown').length === 1, 'n1 led just long enough to commit its removal');
  const term = restarted.core('n1').term;
  restarted.tickAll(50);
  restarted.deliverAll();
  t.equal(restarted.core('n1').term, term, 'then it never campaigns again');
});

t.test('a node that joined empty never campaigns on a configuration of the past it replays', async (t) => {
  // n2 was once the only voter, was removed, wiped, and joins again: the leader's log still
  // holds that configuration. Replaying it, n2 must not elect itself (it would commit on its
  // own a log the cluster moved past); it campaigns only once its durable log reaches the
  // commit index the leader told it.
  const core = new RaftCore(cfg('n2', [], { join: true }), { hardState: { term: 0, vote: null }, entries: [] }, () => 0);
  const old = { index: 1, term: 1, kind: 'config' as const, tid: '', data: encodeConfig([member('n2')]) };
  core.step({ type: 'append', term: 5, from: 'n1', to: 'n2', prevLogIndex: 0, prevLogTerm: 0, entries: [old], leaderCommit: 40, ctx: 0 });
  core.persisted(1, 1);
  t.same(voters(core), ['n2'], 'the configuration of the past names it the only voter');
  t.equal(core.joining, true, 'still joining: its log is behind the leader\'s commit index');
  for (let i = 0; i < 100; i++) core.tick();
  const rd = core.ready();
  t.equal(core.role, 'follower', 'it never campaigned');
  t.notOk(rd.events.some((e) => e.event === 'electionStarted'));
  const rest = Array.from({ length: 39 }, (_, k) => ({ index: k + 2, term: 5, kind: 'noop' as const, tid: '', data: new Uint8Array(0) }));
  core.step({ type: 'append', term: 5, from: 'n1', to: 'n2', prevLogIndex: 1, prevLogTerm: 1, entries: rest, leaderCommit: 40, ctx: 0 });
  t.equal(core.joining, true, 'not before the entries are durable');
  core.ready();
  core.persisted(40, 5);
  t.equal(core.joining, false, 'caught up once its durable log reaches the commit index it was told');
});

/** n1 leads n1..n3 and appends its removal with a write right behind it; the write's appends are lost. */
function removedUnderLoad(): { c: Manual; configIndex: number; writeIndex: number } {
  const c = new Manual(three, { random: { n1: 0 } });
  c.elect('n1');
  const r = c.core('n1').proposeConfig([member('n2'), member('n3')]);
  const w = c.core('n1').propose(data('behind the removal'));
  if (!r.ok || !w.ok) throw new Error('propose');
  c.flush('n1');
  c.take((m) => m.type === 'append' && m.entries.some((e) => e.index === w.firstIndex));
  c.deliverAll();
  return { c, configIndex: r.index, writeIndex: w.firstIndex };
}

t.test('a removed leader hands over to the most up-to-date voter, not to an election, when none holds its whole log', async (t) => {
  const { c, configIndex, writeIndex } = removedUnderLoad();
  const n1 = c.core('n1');
  t.ok(n1.status().commitIndex >= configIndex, 'the removal committed');
  t.equal(n1.role, 'leader', 'it leads on while the target catches up');
  const started = c.events('n1', 'transferStarted');
  t.equal(started.length, 1, 'a transfer started');
  t.equal(started[0]!['reason'], 'removed');
  const target = n1.transferTarget;
  t.ok(target === 'n2' || target === 'n3', `to a voter of the new configuration (${String(target)})`);
  t.same(n1.propose(data('paused')), { ok: false, code: 'TRANSFERRING' }, 'writes pause as for CLUSTER TRANSFER');
  const term = n1.term;
  let ticks = 0;
  for (; ticks < 10 && n1.role === 'leader'; ticks++) {
    c.tick('n1');
    c.deliverAll();
  }
  t.equal(n1.role, 'follower', 'it stepped down');
  t.ok(ticks < 10, `within ${ticks} heartbeats, less than an election timeout`);
  t.equal(c.events('n1', 'removedSteppingDown')[0]!['handTo'], target, 'having handed over');
  t.equal(c.events('n1', 'transferAborted').length, 0);
  t.equal(c.core(target!).role, 'leader', 'the target leads');
  t.equal(c.core(target!).term, term + 1, 'in the next term: no election timeout, no split vote');
  t.ok(n1.status().commitIndex >= writeIndex, 'every entry it proposed committed before it stepped down');
  t.ok(c.core(target!).status().commitIndex >= writeIndex || c.core(target!).status().lastIndex >= writeIndex, 'the new leader holds the write');
});

t.test('a removed leader whose handover target never answers steps down after an election timeout', async (t) => {
  const { c } = removedUnderLoad();
  const n1 = c.core('n1');
  const target = n1.transferTarget!;
  c.drop = (m) => m.to === target || m.from === target;
  let ticks = 0;
  for (; ticks < 30 && n1.role === 'leader'; ticks++) {
    c.tick('n1');
    c.deliverAll();
  }
  t.equal(n1.role, 'follower', 'it stepped down');
  t.equal(c.events('n1', 'transferAborted').length, 1, 'the transfer was given up');
  t.equal(c.events('n1', 'removedSteppingDown')[0]!['handTo'], null, 'to nobody: the others elect');
  const term = n1.term;
  c.tickAll(50);
  c.deliverAll();
  t.equal(n1.term, term, 'and it never campaigns');
});

t.test('a removed node that never saw its removal is told so by the leader and stops campaigning, until it is added back', async (t) => {
  const c = new Manual(three, { random: { n1: 0, n3: 0 } });
  c.elect('n1');
  c.drop = (m) => m.to === 'n3' || m.from === 'n3';
  const r = c.core('n1').proposeConfig([member('n1'), member('n2')]);
  t.ok(r.ok);
  c.flush('n1');
  c.deliverAll();
  c.tick('n1');
  c.deliverAll();
  t.ok(c.core('n1').status().commitIndex >= (r.ok ? r.index : 0), 'n3\'s removal committed without it');
  t.equal(c.core('n3').membership.index, 0, 'n3 never saw it: it thinks it votes (as if restarted from an old disk)');
  c.drop = () => false;
  const terms = [c.core('n1').term, c.core('n2').term];
  for (let i = 0; i < 40; i++) {
    c.tickAll(1);
    c.deliverAll();
  }
  t.equal(c.events('n3', 'removedNoticed').length, 1, 'the leader told it');
  t.equal(c.events('n3', 'removedNoticed')[0]!['leader'], 'n1');
  const started = c.events('n3', 'electionStarted').length;
  t.ok(c.core('n3').removed, 'it knows it is out: clients hear REMOVED');
  for (let i = 0; i < 60; i++) {
    c.tickAll(1);
    c.deliverAll();
  }
  t.equal(c.events('n3', 'electionStarted').length, started, 'and it campaigns no more');
  t.same([c.core('n1').term, c.core('n2').term], terms, 'the members\' terms never moved');
  t.equal(c.core('n1').role, 'leader');
  t.ok(c.events('n2', 'voteIgnored').length <= 2, `a member logs an ignored candidate once per term, not per resend (${c.events('n2', 'voteIgnored').length})`);

  // Added back: the leader replicates to it again, and it may campaign once a voter.
  const back = c.core('n1').proposeConfig([member('n1'), member('n2'), member('n3', false)]);
  t.ok(back.ok);
  c.flush('n1');
  c.deliverAll();
  for (let i = 0; i < 5; i++) {
    c.tick('n1');
    c.deliverAll();
  }
  t.notOk(c.core('n3').removed, 'an append from the leader ends the notice');
  const promote = c.core('n1').proposeConfig(three.map((id) => member(id)));
  t.ok(promote.ok);
  c.flush('n1');
  c.deliverAll();
  t.ok(c.core('n3').isVoter, 'a voter again');
  c.drop = (m) => m.from === 'n1' || m.to === 'n1';
  for (let i = 0; i < 60 && !['n2', 'n3'].some((id) => c.core(id).role === 'leader'); i++) {
    c.tickAll(1);
    c.deliverAll();
  }
  t.ok(['n2', 'n3'].some((id) => c.core(id).role === 'leader'), 'with n1 gone, n2 and n3 elect');
});

t.test('only a leader of a committed configuration tells a node it is removed', async (t) => {
  const c = new Manual(three, { random: { n1: 0 } });
  c.elect('n1');
  c.drop = () => true;
  t.ok(c.core('n1').proposeConfig([member('n1'), member('n2')]).ok, 'n3\'s removal appended, not committed');
  c.flush('n1');
  c.drop = () => false;
  c.queue = [];
  const vote = (to: string) => ({ type: 'vote' as const, term: c.core(to).term + 1, from: 'n3', to, pre: true, transfer: false, lastLogIndex: 1, lastLogTerm: 1 });
  c.core('n1').step(vote('n1'));
  c.flush('n1');
  t.notOk(c.queue.some((m) => m.type === 'voteResp' && m.removed === true), 'the leader waits for the removal to commit');
  c.core('n2').step(vote('n2'));
  c.flush('n2');
  t.notOk(c.queue.some((m) => m.type === 'voteResp' && m.removed === true), 'a follower never says so');
});
