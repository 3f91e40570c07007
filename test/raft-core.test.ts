// Focused unit tests of the pure Raft core, driven by hand (test/sim/manual.ts).

import t from 'tap';
import { COMMITTED_PER_READY_MAX, RaftCore } from '../lib/raft/core.js';
import type { Message } from '../lib/raft/types.js';
import { cfg, ents, Manual } from './sim/manual.js';

const three = ['n1', 'n2', 'n3'];
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

t.test('election in 3 nodes: the first to time out wins, everyone agrees, the noop commits', async (t) => {
  const c = new Manual(three, { random: { n1: 0 } });
  c.tickAll(9);
  t.equal(c.core('n1').status().role, 'follower', 'not before electionTicks');
  c.tickAll(1);
  t.equal(c.core('n1').status().role, 'precandidate', 'pre-vote first');
  t.equal(c.core('n1').status().term, 0, 'a pre-candidate keeps its term');
  c.deliverAll();
  const s1 = c.core('n1').status();
  t.equal(s1.role, 'leader');
  t.equal(s1.term, 1);
  for (const id of ['n2', 'n3']) {
    const s = c.core(id).status();
    t.equal(s.role, 'follower', `${id} follows`);
    t.equal(s.leader, 'n1', `${id} knows the leader`);
    t.equal(s.term, 1);
    t.equal(s.vote, 'n1', `${id} voted n1`);
    t.equal(c.node(id).hardState.vote, 'n1', `${id} vote persisted`);
  }
  // The commit index travels with the next append or heartbeat, not in a message of its own.
  t.same(c.node('n1').applied.map((e) => e.kind), ['noop'], 'the leader applied the noop');
  for (const id of ['n2', 'n3']) t.same(c.node(id).applied, [], `${id} does not know the noop committed yet`);
  c.tickAll(1);
  c.deliverAll();
  for (const id of three) t.same(c.node(id).applied.map((e) => e.kind), ['noop'], `${id} applied the noop after a heartbeat`);
  t.ok(c.events('n1', 'electionStarted').length >= 2, 'events for pre-vote and vote');
  t.ok(c.events('n1', 'roleChanged').some((e) => e['to'] === 'leader'));
});

t.test('a candidate votes requests go out only after persistence (Ready.messages)', async (t) => {
  const core = new RaftCore(cfg('n1', three, { preVote: false }), { hardState: { term: 0, vote: null }, entries: [] }, () => 0);
  for (let i = 0; i < 10; i++) core.tick();
  const rd = core.ready();
  t.same(rd.hardState, { term: 1, vote: 'n1' });
  t.equal(rd.messagesNow.length, 0);
  t.same(
    rd.messages.map((m) => m.type),
    ['vote', 'vote'],
  );
});

t.test('pre-vote: a partitioned node does not disrupt the cluster when it returns', async (t) => {
  const c = new Manual(three, { random: { n1: 0 } });
  c.elect('n1');
  const term = c.core('n1').status().term;
  // n3 is cut off and keeps timing out.
  c.drop = (m) => m.from === 'n3' || m.to === 'n3';
  for (let i = 0; i < 100; i++) {
    c.tickAll(1);
    c.deliverAll();
  }
  t.equal(c.core('n3').status().term, term, 'isolated pre-candidate never raised its term');
  t.not(c.core('n3').status().role, 'leader');
  c.drop = () => false;
  for (let i = 0; i < 30; i++) {
    c.tickAll(1);
    c.deliverAll();
  }
  t.equal(c.core('n1').status().role, 'leader', 'leader kept its role');
  t.equal(c.core('n1').status().term, term, 'term unchanged');
  t.equal(c.core('n3').status().leader, 'n1', 'n3 rejoined as follower');
});

t.test('without pre-vote the returning node does force a new term', async (t) => {
  const c = new Manual(three, { random: { n1: 0 }, config: { preVote: false, checkQuorum: false } });
  c.elect('n1');
  const term = c.core('n1').status().term;
  c.drop = (m) => m.from === 'n3' || m.to === 'n3';
  for (let i = 0; i < 40; i++) {
    c.tickAll(1);
    c.deliverAll();
  }
  t.ok(c.core('n3').status().term > term + 1, 'isolated candidate kept raising its term');
  c.drop = () => false;
  for (let i = 0; i < 60; i++) {
    c.tickAll(1);
    c.deliverAll();
  }
  t.ok(c.core('n1').status().term > term, 'cluster moved to a new term');
});

t.test('check-quorum: a leader cut off from the majority steps down', async (t) => {
  const c = new Manual(three, { random: { n1: 0 } });
  c.elect('n1');
  c.drop = (m) => m.from === 'n1' || m.to === 'n1';
  for (let i = 0; i < 20; i++) {
    c.tick('n1');
    c.deliverAll();
  }
  const s = c.core('n1').status();
  t.equal(s.role, 'follower');
  t.equal(s.leader, null);
  t.ok(c.events('n1', 'steppedDown').some((e) => e['reason'] === 'check-quorum'));
});

t.test('check-quorum lease: a follower that hears from its leader ignores a higher-term vote', async (t) => {
  const c = new Manual(three, { random: { n1: 0 } });
  c.elect('n1');
  const term = c.core('n2').status().term;
  c.core('n2').step({ type: 'vote', term: term + 5, from: 'n3', to: 'n2', pre: false, transfer: false, lastLogIndex: 99, lastLogTerm: 99 });
  c.flush('n2');
  t.equal(c.core('n2').status().term, term, 'term unchanged');
  t.equal(c.take((m) => m.from === 'n2').length, 0, 'no answer');
  t.ok(c.events('n2', 'voteIgnored').length === 1);
});

t.test('stale leader learns the new term from an appendResp and steps down', async (t) => {
  const c = new Manual(three, { random: { n1: 0 } });
  c.elect('n1');
  // n2 moves on to a later term (as if it saw a newer election).
  const term = c.core('n1').status().term;
  c.core('n2').step({ type: 'append', term: term + 1, from: 'n3', to: 'n2', prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0, ctx: 0 });
  c.flush('n2');
  c.queue = [];
  c.core('n1').propose([{ tid: 'a', data: enc('a') }]);
  c.flush('n1');
  c.drop = (m) => m.to === 'n3';
  c.deliverAll();
  const s = c.core('n1').status();
  t.equal(s.role, 'follower');
  t.equal(s.term, term + 1);
});

t.test('a stale pre-vote gets a rejection carrying our term', async (t) => {
  const c = new Manual(three, { random: { n1: 0 } });
  c.elect('n1');
  const term = c.core('n2').status().term;
  c.core('n2').step({ type: 'vote', term: term - 1, from: 'n3', to: 'n2', pre: true, transfer: false, lastLogIndex: 0, lastLogTerm: 0 });
  const rd = c.core('n2').ready();
  t.same(rd.messagesNow, [{ type: 'voteResp', term, from: 'n2', to: 'n3', pre: true, granted: false }]);
});

t.test('propose on a follower returns NOT_LEADER with the leader hint; BUSY past the uncommitted bound', async (t) => {
  const c = new Manual(three, { random: { n1: 0 }, config: { uncommittedEntriesMax: 4 } });
  c.elect('n1');
  c.tickAll(1);
  c.deliverAll();
  t.same(c.core('n2').propose([{ tid: '', data: enc('x') }]), { ok: false, code: 'NOT_LEADER', leader: 'n1' });
  c.drop = () => true; // nothing commits
  const r = c.core('n1').propose([{ tid: 'a', data: enc('a') }, { tid: 'b', data: enc('b') }]);
  t.match(r, { ok: true, firstIndex: 2 });
  t.same(c.core('n1').propose([{ tid: 'c', data: enc('c') }, { tid: 'd', data: enc('d') }, { tid: 'e', data: enc('e') }]), {
    ok: false,
    code: 'BUSY',
  });
});

t.test('conflict hints: a follower with 60 divergent entries catches up in a couple of round trips', async (t) => {
  const prefix = ents(1, Array(10).fill(1), 'p');
  const shared = ents(11, [2, 2], 's');
  const divergent = ents(13, Array(58).fill(2), 'old'); // the follower's 13..70 from a dead leader of term 2
  const leaderTail = ents(13, Array(8).fill(3), 'new'); // the leader's 13..20 of term 3
  const c = new Manual(three, {
    random: { n1: 0 },
    restored: {
      n1: { hardState: { term: 3, vote: null }, entries: [...prefix, ...shared, ...leaderTail] },
      n2: { hardState: { term: 2, vote: null }, entries: [...prefix, ...shared, ...divergent] },
      n3: { hardState: { term: 3, vote: null }, entries: [...prefix] },
    },
  });
  c.elect('n1');
  c.tickAll(1);
  c.deliverAll();
  const rejects = c.delivered.filter((m) => m.type === 'appendResp' && m.from === 'n2' && !m.success);
  t.ok(rejects.length >= 1 && rejects.length <= 2, `few rejections (${rejects.length})`);
  const first = rejects[0] as Extract<Message, { type: 'appendResp' }>;
  t.match(first, { rejectIndex: 20, conflictTerm: 2, conflictIndex: 11 });
  const l1 = c.node('n1').log;
  const l2 = c.node('n2').log;
  t.equal(l2.length, l1.length, 'same length');
  t.same(
    l2.map((e) => `${e.index}/${e.term}/${e.tid}`),
    l1.map((e) => `${e.index}/${e.term}/${e.tid}`),
    'identical logs',
  );
  const trunc = c.events('n2', 'logTruncated');
  t.equal(trunc.length, 1);
  t.equal(trunc[0]!['index'], 13, 'truncated exactly at the first conflict');
  t.equal(c.core('n2').status().commitIndex, l1.length, 'follower committed everything');
});

t.test('conflict hints: a follower with a short log jumps straight to its end', async (t) => {
  const long = ents(1, [...Array(30).fill(1), ...Array(30).fill(2)]);
  const c = new Manual(three, {
    random: { n1: 0 },
    restored: {
      n1: { hardState: { term: 2, vote: null }, entries: long },
      n2: { hardState: { term: 2, vote: null }, entries: long.slice(0, 5) },
      n3: { hardState: { term: 2, vote: null }, entries: long },
    },
  });
  c.elect('n1');
  const rejects = c.delivered.filter((m) => m.type === 'appendResp' && m.from === 'n2' && !m.success);
  t.equal(rejects.length, 1);
  t.match(rejects[0], { rejectIndex: 60, conflictTerm: 0, conflictIndex: 6 });
  c.tickAll(1);
  c.deliverAll();
  t.equal(c.node('n2').log.length, 61);
});

t.test('an old, reordered append never truncates newer matching entries', async (t) => {
  const c = new Manual(three, { random: { n1: 0 } });
  c.elect('n1');
  c.core('n1').propose([{ tid: 'a', data: enc('a') }]);
  c.flush('n1');
  const first = c.take((m) => m.type === 'append' && m.to === 'n2');
  c.core('n1').propose([{ tid: 'b', data: enc('b') }]);
  c.flush('n1');
  c.deliverAll();
  const before = c.node('n2').log.length;
  t.equal(before, 3);
  for (const m of first) c.deliver(m); // the stale append arrives late
  t.equal(c.node('n2').log.length, before, 'no truncation');
  t.equal(c.events('n2', 'logTruncated').length, 0);
});

t.test('Figure 8: a leader does not commit an old-term entry by counting replicas', async (t) => {
  // n1 holds an entry of term 2 that only it has; it wins term 4.
  const base = ents(1, [1]);
  const c = new Manual(three, {
    random: { n1: 0 },
    restored: {
      n1: { hardState: { term: 3, vote: null }, entries: [...base, ...ents(2, [2], 'old')] },
      n2: { hardState: { term: 3, vote: null }, entries: base },
      n3: { hardState: { term: 3, vote: null }, entries: base },
    },
  });
  // Elect n1 but hold back its appends.
  c.tick('n1', 10);
  while (c.core('n1').status().role !== 'leader') c.deliver(c.queue.shift()!);
  t.equal(c.core('n1').status().role, 'leader');
  t.equal(c.core('n1').status().term, 4);
  c.take(() => true); // the probes (which would carry the noop) are lost
  // n2 gets an append with only index 2 (term 2), so a majority holds it.
  const old = c.node('n1').log[1]!;
  c.deliver({ type: 'append', term: 4, from: 'n1', to: 'n2', prevLogIndex: 1, prevLogTerm: 1, entries: [old], leaderCommit: 0, ctx: 0 });
  const resp = c.take(() => true);
  t.match(resp, [{ type: 'appendResp', from: 'n2', success: true, matchIndex: 2 }]);
  for (const m of resp) c.deliver(m);
  c.take(() => true);
  t.equal(c.core('n1').status().progress['n2']!.match, 2, 'n2 holds index 2');
  t.equal(c.core('n1').status().commitIndex, 0, 'index 2 (term 2) is not committed by counting');
  // Once the noop of term 4 reaches a majority, both commit.
  c.queue = [];
  c.tickAll(1);
  c.deliverAll();
  t.equal(c.core('n1').status().commitIndex, 3);
});

t.test('followers take commit = min(leaderCommit, last new entry)', async (t) => {
  const c = new Manual(three, { random: { n1: 0 } });
  c.elect('n1');
  c.tickAll(1);
  c.deliverAll();
  const term = c.core('n1').status().term;
  // A heartbeat that claims commit 99 but only vouches for index 1.
  c.core('n2').step({ type: 'append', term, from: 'n1', to: 'n2', prevLogIndex: 1, prevLogTerm: term, entries: [], leaderCommit: 99, ctx: 0 });
  t.equal(c.core('n2').status().commitIndex, 1);
});

t.test('readIndex on the leader: waits for a commit in its term, then a quorum round', async (t) => {
  const c = new Manual(three, { random: { n1: 0 } });
  // Win the election but hold back the noop replication.
  c.tick('n1', 10);
  c.deliverAll();
  const n1 = c.core('n1');
  t.equal(n1.status().role, 'leader');
  // deliverAll above replicated the noop; start from a fresh leader to test the wait.
  const d = new Manual(three, { random: { n1: 0 } });
  d.tick('n1', 10);
  while (d.core('n1').status().role !== 'leader') {
    const m = d.queue.shift();
    if (m === undefined) break;
    d.deliver(m);
  }
  d.take((m) => m.type === 'append'); // noop appends lost
  d.core('n1').readIndex(7);
  d.flush('n1');
  t.same(d.node('n1').reads, [], 'read waits for the noop to commit');
  d.tickAll(1); // heartbeat resends the noop
  d.deliverAll();
  t.same(d.node('n1').reads, [{ ctx: 7, index: 1 }]);
  // A later read completes after a quorum echoes its round.
  d.core('n1').readIndex(8);
  d.flush('n1');
  t.same(d.node('n1').reads.length, 1, 'not before the round is acknowledged');
  d.drop = (m) => m.to === 'n3' || m.from === 'n3';
  d.deliverAll();
  t.same(d.node('n1').reads[1], { ctx: 8, index: 1 }, 'one follower + leader is a quorum');
});

t.test('readIndex does not complete without a quorum and fails on step-down', async (t) => {
  const c = new Manual(three, { random: { n1: 0 } });
  c.elect('n1');
  c.tickAll(1);
  c.deliverAll();
  c.drop = (m) => m.from === 'n1' || m.to === 'n1';
  c.core('n1').readIndex(5);
  c.flush('n1');
  c.deliverAll();
  t.same(c.node('n1').reads, []);
  c.tick('n1', 20); // check-quorum step-down
  t.same(c.node('n1').readsFailed, [5]);
});

t.test('readIndex via a follower is forwarded and answered; without a leader it fails at once', async (t) => {
  const c = new Manual(three, { random: { n1: 0 } });
  c.elect('n1');
  c.tickAll(1);
  c.deliverAll();
  c.core('n2').readIndex(42);
  const fwd = c.flush('n2').flatMap((r) => r.messagesNow);
  t.match(fwd, [{ type: 'readIndex', to: 'n1', ctx: 42 }]);
  c.deliverAll();
  t.same(c.node('n2').reads, [{ ctx: 42, index: 1 }]);
  const lone = new RaftCore(cfg('x', ['x', 'y', 'z']), { hardState: { term: 0, vote: null }, entries: [] }, () => 0.5);
  lone.readIndex(3);
  t.same(lone.ready().readsFailed, [3]);
});

t.test('single-node cluster: elects itself, commits on persistence, reads at once', async (t) => {
  const core = new RaftCore(cfg('solo', ['solo']), { hardState: { term: 0, vote: null }, entries: [] }, () => 0);
  for (let i = 0; i < 10; i++) core.tick();
  t.equal(core.status().role, 'leader');
  let rd = core.ready();
  t.equal(rd.entries.length, 1);
  t.equal(rd.committed.length, 0, 'nothing commits before persistence');
  core.persisted(1, rd.entries[0]!.term);
  rd = core.ready();
  t.equal(rd.committed.length, 1);
  core.readIndex(1);
  t.same(core.ready().reads, [{ ctx: 1, index: 1 }]);
  const p = core.propose([{ tid: 't', data: enc('v') }]);
  t.match(p, { ok: true, firstIndex: 2 });
  rd = core.ready();
  core.persisted(2, rd.entries[0]!.term);
  t.equal(core.ready().committed[0]!.tid, 't');
});

t.test('ready(committedMax): committed entries come in slices of at most that many, in order, the rest on later calls', async (t) => {
  const core = new RaftCore(cfg('solo', ['solo']), { hardState: { term: 0, vote: null }, entries: [] }, () => 0);
  for (let i = 0; i < 10; i++) core.tick();
  core.persisted(1, core.ready().entries[0]!.term);
  core.ready();
  core.propose(Array.from({ length: 20 }, (_, i) => ({ tid: `t${i}`, data: enc(String(i)) })));
  const rd = core.ready();
  core.persisted(21, rd.entries[rd.entries.length - 1]!.term);
  const slices: number[][] = [];
  for (const max of [3, 1, 7, 100]) slices.push(core.ready(max).committed.map((e) => e.index));
  t.same(slices, [[2, 3, 4], [5], [6, 7, 8, 9, 10, 11, 12], [13, 14, 15, 16, 17, 18, 19, 20, 21]], 'each call at most its bound, none skipped or repeated');
  t.notOk(core.hasReady(), 'all applied');
  t.throws(() => core.ready(0), { code: 'RAFT_ASSERT' }, 'a bound of 0 would never apply');
  t.throws(() => core.ready(COMMITTED_PER_READY_MAX + 1), { code: 'RAFT_ASSERT' }, 'nor past the core\'s own bound');
});

t.test('persisted(): a stale ack for a truncated entry is ignored', async (t) => {
  // n2 has entries 1..3 of term 1 handed out but not yet durable; a new leader truncates 2..3.
  const core = new RaftCore(cfg('n2', three), { hardState: { term: 1, vote: null }, entries: [] }, () => 0.9);
  core.step({ type: 'append', term: 1, from: 'n1', to: 'n2', prevLogIndex: 0, prevLogTerm: 0, entries: ents(1, [1, 1, 1]), leaderCommit: 1, ctx: 0 });
  const rd1 = core.ready();
  t.equal(rd1.entries.length, 3);
  t.equal(rd1.messages.length, 1, 'the ack waits for persistence (Ready.messages)');
  t.equal(rd1.messagesNow.length, 0);
  core.step({ type: 'append', term: 2, from: 'n3', to: 'n2', prevLogIndex: 1, prevLogTerm: 1, entries: ents(2, [2], 'n'), leaderCommit: 1, ctx: 0 });
  const rd2 = core.ready();
  t.equal(rd2.entries[0]!.index, 2, 'storage cuts at 2');
  core.persisted(3, 1); // the first write completes: index 3 no longer exists
  t.equal(core.status().stableIndex, 0);
  core.persisted(2, 1); // index 2 now has term 2
  t.equal(core.status().stableIndex, 0);
  core.persisted(1, 1);
  t.equal(core.status().stableIndex, 1);
  core.persisted(2, 2);
  t.equal(core.status().stableIndex, 2);
});

t.test('the leader counts itself only up to its stable index', async (t) => {
  const c = new Manual(three, { random: { n1: 0 } });
  c.elect('n1');
  c.node('n1').autoPersist = false;
  c.drop = (m) => m.to === 'n3';
  c.core('n1').propose([{ tid: 'a', data: enc('a') }]);
  c.flush('n1');
  c.deliverAll();
  t.equal(c.core('n1').status().progress['n2']!.match, 2, 'n2 holds index 2');
  t.equal(c.core('n1').status().commitIndex, 1, 'the leader has not persisted index 2: no quorum yet');
  c.core('n1').persisted(2, c.core('n1').status().term);
  t.equal(c.core('n1').status().commitIndex, 2, 'leader + n2 once the leader persisted');
});

t.test('reportUnreachable sends a replicating peer back to probe', async (t) => {
  const c = new Manual(three, { random: { n1: 0 } });
  c.elect('n1');
  t.equal(c.core('n1').status().progress['n2']!.state, 'replicate');
  c.core('n1').reportUnreachable('n2');
  t.equal(c.core('n1').status().progress['n2']!.state, 'probe');
});

t.test('reportReachable: a leader heartbeats that peer at once, not at the next round; others do nothing', async (t) => {
  const c = new Manual(three, { random: { n1: 0 } });
  c.elect('n1');
  c.core('n1').reportUnreachable('n2');
  c.flushAll();
  c.queue = [];
  c.core('n1').reportReachable('n2');
  c.flush('n1');
  const sent = c.queue.filter((m) => m.from === 'n1');
  t.same(sent.map((m) => [m.type, m.to]), [['append', 'n2']], 'one append, to n2 only');
  c.deliverAll();
  t.equal(c.core('n1').status().progress['n2']!.state, 'replicate', 'its answer ends the probe');
  c.queue = [];
  c.core('n2').reportReachable('n1');
  c.core('n1').reportReachable('n1');
  c.flushAll();
  t.equal(c.queue.length, 0, 'a follower, and a leader told about itself, send nothing');
});

t.test('flow control: at most inflightMax appends in flight, each within appendBytesMax', async (t) => {
  const c = new Manual(three, { random: { n1: 0 }, config: { inflightMax: 2, appendBytesMax: 100 } });
  c.elect('n1');
  c.core('n1').propose(Array.from({ length: 10 }, (_, i) => ({ tid: `t${i}`, data: new Uint8Array(40) })));
  c.flush('n1');
  const toN2 = c.queue.filter((m) => m.type === 'append' && m.to === 'n2');
  t.equal(toN2.length, 2, 'window of two');
  for (const m of toN2) if (m.type === 'append') t.equal(m.entries.length, 1, '40+2+32 bytes: one entry per message');
  t.equal(c.core('n1').status().progress['n2']!.inflight, 2);
  c.deliverAll();
  t.equal(c.node('n2').log.length, 11, 'pipeline drains as acks return');
});

t.test('assertions have code RAFT_ASSERT', async (t) => {
  t.throws(() => new RaftCore(cfg('a', ['b']), { hardState: { term: 0, vote: null }, entries: [] }, () => 0), {
    code: 'RAFT_ASSERT',
  });
});

t.test('two followers that lose their leader together: the pre-candidate that comes first wins at once, no split vote', async (t) => {
  const c = new Manual(three, { random: { n1: 0, n2: 0.5, n3: 0.5 } });
  c.elect('n1');
  const term = c.core('n1').status().term;
  // n1 dies: both followers see its connection close and, with the same random draw, time out on the same tick.
  c.drop = (m) => m.to === 'n1' || m.from === 'n1';
  c.core('n2').reportUnreachable('n1');
  c.core('n3').reportUnreachable('n1');
  for (let i = 0; i < 30 && c.core('n2').status().role === 'follower'; i++) {
    c.core('n2').tick();
    c.core('n3').tick();
  }
  t.equal(c.core('n2').status().role, 'precandidate');
  t.equal(c.core('n3').status().role, 'precandidate', 'both pre-candidates at once');
  c.flushAll();
  c.deliverAll();
  t.equal(c.core('n2').status().role, 'leader', 'n2 (same log, lower id) won');
  t.equal(c.core('n2').status().term, term + 1, 'in the next term: the vote was not split');
  t.equal(c.core('n3').status().leader, 'n2');
  t.ok(c.events('n2', 'voteIgnored').some((e) => e['reason'] === 'pre-candidate too'), 'n2 did not grant n3 (it comes first itself)');
});

function becomePreCandidate(c: Manual, id: string): void {
  c.core(id).reportUnreachable('n1');
  for (let i = 0; i < 30 && c.core(id).status().role === 'follower'; i++) c.core(id).tick();
}

t.test('two pre-candidates that start a few ticks apart: the one that comes first wins, no split vote', async (t) => {
  const c = new Manual(three, { random: { n1: 0, n2: 0.5, n3: 0.5 } });
  c.elect('n1');
  const term = c.core('n1').status().term;
  c.drop = (m) => m.to === 'n1' || m.from === 'n1';
  becomePreCandidate(c, 'n3');
  becomePreCandidate(c, 'n2');
  // Both a tick or two into their pre-elections when the other's request arrives.
  c.core('n3').tick();
  c.core('n2').tick();
  c.flushAll();
  c.deliverAll();
  t.equal(c.core('n2').status().role, 'leader', 'n2 (same log, lower id) won');
  t.equal(c.core('n2').status().term, term + 1, 'in the next term: the vote was not split');
  t.ok(c.events('n2', 'voteIgnored').some((e) => e['reason'] === 'pre-candidate too'), 'n2 did not grant n3');
  t.ok(c.events('n3', 'roleChanged').some((e) => e['reason'] === 'pre-candidate n2 comes first'), 'n3 stepped back for n2');
});

t.test('five members: a pre-candidate that grants one coming first steps back, though the others grant both', async (t) => {
  const five = ['n1', 'n2', 'n3', 'n4', 'n5'];
  const c = new Manual(five, { random: { n1: 0, n2: 0.5, n3: 0.5, n4: 0.99, n5: 0.99 } });
  c.elect('n1');
  const term = c.core('n1').status().term;
  c.drop = (m) => m.to === 'n1' || m.from === 'n1';
  for (const id of ['n4', 'n5']) c.core(id).reportUnreachable('n1'); // out of the lease, campaigning later
  // n3 then n2 become pre-candidates; their requests cross while both are a tick into their pre-elections.
  becomePreCandidate(c, 'n3');
  c.core('n3').tick();
  becomePreCandidate(c, 'n2');
  c.core('n2').tick();
  c.flushAll();
  c.deliverAll(); // n4 and n5 grant both
  t.equal(c.core('n2').status().term, term + 1, 'one real election');
  t.equal(c.core('n2').status().role, 'leader', 'n2 (same log, lower id) won');
  for (const id of ['n3', 'n4', 'n5']) t.equal(c.core(id).status().leader, 'n2', `${id} follows it`);
  t.ok(c.events('n3', 'roleChanged').some((e) => e['reason'] === 'pre-candidate n2 comes first'), 'n3 stepped back for n2');
});

t.test('a pre-candidate that cannot win holds back one that could only briefly', async (t) => {
  const c = new Manual(three, { random: { n1: 0, n2: 0.5, n3: 0.5 } });
  c.elect('n1');
  const term = c.core('n1').status().term;
  // n2 comes first but its vote requests never arrive (its answers do).
  c.drop = (m) => m.to === 'n1' || m.from === 'n1' || (m.from === 'n2' && m.type === 'vote');
  becomePreCandidate(c, 'n2');
  becomePreCandidate(c, 'n3');
  let ticks = 0;
  for (; ticks < 60 && c.core('n3').status().role !== 'leader'; ticks++) {
    c.core('n2').tick();
    c.core('n3').tick();
    c.flushAll();
    c.deliverAll();
  }
  t.ok(c.core('n3').status().term > term, 'n3 went on to a real vote');
  t.ok(ticks <= 10 + 2, `n2 granted n3 after ${ticks} ticks (base timeout 10)`);
});

t.test('a follower whose leader connection closed campaigns within a tenth of the base election timeout', async (t) => {
  const c = new Manual(three, { random: { n1: 0, n2: 0.99, n3: 0.99 } });
  c.elect('n1');
  c.core('n2').reportUnreachable('n1');
  let ticks = 0;
  while (c.core('n2').status().role === 'follower' && ticks < 100) {
    c.core('n2').tick();
    ticks++;
  }
  t.ok(ticks <= Math.ceil(10 / 10), `campaigned after ${ticks} ticks (base timeout 10)`);
});

t.test('a peer in probe is re-probed with an empty append, not resent its entries every heartbeat', async (t) => {
  const c = new Manual(three, { random: { n1: 0 }, config: { heartbeatTicks: 1 } });
  c.elect('n1');
  c.core('n1').reportUnreachable('n2'); // back to probe
  const toN2: Message[] = [];
  c.drop = (m) => {
    if (m.to === 'n2' && m.type === 'append') toN2.push(m);
    return m.to === 'n2' || m.from === 'n2';
  };
  c.core('n1').propose([{ tid: 'a', data: new Uint8Array(1000) }]);
  c.flush('n1');
  c.deliverAll();
  for (let i = 0; i < 3; i++) {
    c.tick('n1');
    c.deliverAll();
  }
  t.ok(toN2.length >= 3, `probed on each heartbeat (${toN2.length})`);
  t.equal(toN2.filter((m) => m.type === 'append' && m.entries.length > 0).length, 1, 'the entry went once');
  c.drop = () => false;
  c.tick('n1');
  c.deliverAll();
  t.equal(c.node('n2').log.length, 2, 'the next empty probe is accepted and the entry follows');
});

t.test('a pre-candidate asks again each tick: a follower that still trusted the lease grants once it learns the leader died', async (t) => {
  const c = new Manual(three, { random: { n1: 0, n2: 0.5, n3: 0.99 } });
  c.elect('n1');
  const term = c.core('n1').status().term;
  c.drop = (m) => m.to === 'n1' || m.from === 'n1';
  // n2 sees the leader's connection close first and campaigns; n3 still trusts its lease.
  c.core('n2').reportUnreachable('n1');
  for (let i = 0; i < 30 && c.core('n2').status().role === 'follower'; i++) c.tick('n2');
  t.equal(c.core('n2').status().role, 'precandidate');
  c.deliverAll();
  t.equal(c.core('n2').status().role, 'precandidate', 'n3 ignored the pre-vote (in lease)');
  c.core('n3').reportUnreachable('n1');
  c.flush('n3');
  c.tick('n2');
  c.deliverAll();
  t.equal(c.core('n2').status().role, 'leader', 'asked again at the next tick, not after a whole timeout');
  t.equal(c.core('n2').status().term, term + 1);
});

t.test('a follower read learns the commit index from its read round, not from a later heartbeat', async (t) => {
  const c = new Manual(three, { random: { n1: 0 } });
  c.elect('n1');
  c.tick('n1');
  c.deliverAll(); // the noop's commit reaches the followers with a heartbeat
  c.core('n1').propose([{ tid: 'w', data: enc('w') }]);
  c.flush('n1');
  c.deliverAll();
  const leaderCommit = c.core('n1').status().commitIndex;
  t.equal(leaderCommit, 2, 'the write committed on the leader');
  t.equal(c.core('n2').status().commitIndex, 1, 'n2 does not know yet: no message carries only a commit index');
  // No tick from here on: nothing but the read round may tell n2.
  c.core('n2').readIndex(9);
  c.flush('n2');
  c.deliverAll();
  t.same(c.node('n2').reads, [{ ctx: 9, index: 2 }], 'the read is at the leader commit');
  t.equal(c.core('n2').status().commitIndex, 2, 'and n2 knows that commit index already (the round carried it)');
  t.same(c.node('n2').applied.map((e) => e.kind), ['noop', 'normal'], 'so it applied the write: the read needs no heartbeat');
});
