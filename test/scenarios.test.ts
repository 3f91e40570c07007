// The MIT 6.824 Raft lab tests, by name and intent, on real raftd processes: network
// faults are iptables drops between the nodes' loopback addresses, crashes are kill -9,
// and what a node holds is read back with `raftd --dump-log`. Scenarios that need
// partitions are skipped where iptables does not work (not root).
import t, { type Test } from 'tap';
import { RespClient } from '../lib/client/resp-client.js';
import { Prng } from './sim/prng.js';
import { iptablesUsable, NetFaults, TrafficCounter } from './jepsen/net.js';
import type { Nodes } from './jepsen/nodes.js';
import { cmd, fireAndForget, infoOf, isError, leaderAmong, logOf, sleep, startCluster } from './jepsen/scenario-kit.js';
import { waitConverged, type LogEntry } from './jepsen/verify.js';
import { waitFor } from './helpers/wait.js';

// Nine clusters one after the other: about two minutes on an idle machine, more beside other tests.
t.setTimeout(600_000);

const noNet = iptablesUsable();

// RAFTD_SCENARIO=regex runs only the scenarios whose name matches.
const only = process.env.RAFTD_SCENARIO ? new RegExp(process.env.RAFTD_SCENARIO) : null;
function scenario(name: string, opts: { skip?: string; todo?: string }, body: (t: Test) => Promise<void>): void {
  t.test(name, only !== null && !only.test(name) ? { skip: `RAFTD_SCENARIO=${only.source}` } : opts, body);
}
const netOpt: { skip?: string } = noNet ? { skip: `needs iptables: ${noNet}` } : {};

function blockOf(nodes: Nodes): string {
  return nodes.node(nodes.ids[0]!).host.replace(/\.\d+$/, '.0/24');
}

function netFor(t: Test, nodes: Nodes): { net: NetFaults; split: (...groups: string[][]) => void } {
  const net = new NetFaults(blockOf(nodes));
  t.teardown(() => net.dispose());
  const host = (id: string) => nodes.node(id).host;
  return {
    net,
    split: (...groups: string[][]) => net.repartition(groups.map((g) => g.map(host)), nodes.ids.map(host)),
  };
}

/** A write through `id` that must succeed. */
async function mustWrite(t: Test, nodes: Nodes, id: string, rid: string, key: string, value: string): Promise<void> {
  const r = await cmd(nodes, id, ['REQ', rid, 'SET', key, value], 10_000);
  t.equal(r, 'OK', `${rid}: SET ${key} ${value} via ${id}`);
}

/** Sends `count` writes with request ids `prefix-i` at once to `id`; waits `settleMs`, then drops the connection. */
async function writesNobodyWaitsFor(nodes: Nodes, id: string, prefix: string, key: string, count: number, settleMs: number): Promise<void> {
  const cmds = Array.from({ length: count }, (_, i) => ['REQ', `${prefix}-${i}`, 'SET', key, `${prefix}-${i}`]);
  const { conn } = await fireAndForget(nodes, id, cmds);
  await sleep(settleMs);
  conn.destroy();
}

const tidsOf = (log: readonly LogEntry[]) => new Set(log.map((e) => e.tid));

/** Entries of `log` with the tid prefix that are the very entries (index and term) of `earlier`. */
function sameEntries(log: readonly LogEntry[], earlier: readonly LogEntry[], prefix: string): number {
  const at = new Set(earlier.filter((e) => e.tid.startsWith(prefix + '-')).map((e) => `${e.index}/${e.term}`));
  return log.filter((e) => e.tid.startsWith(prefix + '-') && at.has(`${e.index}/${e.term}`)).length;
}

function hasPrefix(log: readonly LogEntry[], prefix: string): number {
  return log.filter((e) => e.tid.startsWith(prefix + '-')).length;
}

/** After everything healed: every node converged, and their logs are identical. */
async function convergedLogs(t: Test, nodes: Nodes, timeoutMs = 30_000): Promise<LogEntry[]> {
  const c = await waitConverged(nodes, timeoutMs);
  const logs = await Promise.all(nodes.ids.map((id) => logOf(nodes, id)));
  const shown = (l: LogEntry[]) => l.filter((e) => e.index <= c.commitIndex).map((e) => `${e.index}/${e.term}/${e.tid}/${e.data}`);
  for (let i = 1; i < logs.length; i++) t.same(shown(logs[i]!), shown(logs[0]!), `${nodes.ids[i]}'s log equals ${nodes.ids[0]}'s up to ${c.commitIndex}`);
  return logs[0]!;
}

scenario('initial election: one leader, every node agrees, no election while nothing fails', {}, async (t) => {
  const nodes = await startCluster(t, { size: 3, electionTimeoutMs: 300 });
  const first = await leaderAmong(nodes, nodes.ids);
  t.ok(first.term >= 1, `${first.id} leads term ${first.term}`);
  await sleep(2000);
  const later = await leaderAmong(nodes, nodes.ids, 2000);
  t.same(later, first, 'same leader and term after 2 s without failures');
});

scenario('re-election: a new leader when the leader is cut off; none without a majority', netOpt, async (t) => {
  const nodes = await startCluster(t, { size: 3, electionTimeoutMs: 300 });
  const { net, split } = netFor(t, nodes);
  const l1 = await leaderAmong(nodes, nodes.ids);
  const rest = nodes.ids.filter((id) => id !== l1.id);
  split([l1.id], rest);
  const l2 = await leaderAmong(nodes, rest);
  t.not(l2.id, l1.id, `${l2.id} leads term ${l2.term} after ${l1.id} was cut off`);
  t.ok(l2.term > l1.term, 'in a later term');

  net.heal();
  const l3 = await leaderAmong(nodes, nodes.ids);
  t.pass(`after the old leader rejoins: one leader, ${l3.id}, term ${l3.term}`);

  // Every node alone: nobody may lead (CheckQuorum makes the old leader step down).
  split(...nodes.ids.map((id) => [id]));
  await sleep(2500);
  const roles = await Promise.all(nodes.ids.map(async (id) => (await infoOf(nodes, id)).role));
  t.same(roles.filter((r) => r === 'leader'), [], `no leader without a majority: ${roles.join(',')}`);

  // Two of three together again: a leader among them.
  split([rest[0]!, rest[1]!], [l1.id]);
  const l4 = await leaderAmong(nodes, rest);
  t.pass(`${l4.id} leads once a majority can talk`);
  net.heal();
  await leaderAmong(nodes, nodes.ids);
});

scenario('no commit without a quorum: the minority side commits nothing', netOpt, async (t) => {
  const nodes = await startCluster(t, { size: 5, electionTimeoutMs: 300 });
  const { net, split } = netFor(t, nodes);
  const l1 = await leaderAmong(nodes, nodes.ids);
  await mustWrite(t, nodes, l1.id, 'nq-0', 'k', 'before');
  const f1 = nodes.ids.find((id) => id !== l1.id)!;
  const minority = [l1.id, f1];
  const majority = nodes.ids.filter((id) => !minority.includes(id));
  // ADDENTRY answers with its entry's index once committed; the follower learns of the
  // commit with the next heartbeat, and INFO's status follows.
  const mark = await cmd(nodes, l1.id, ['ADDENTRY', 'nq-mark', 'x'], 10_000);
  t.equal(typeof mark, 'number', `a marker entry committed at ${String(mark)}`);
  const before = await waitFor(`${minority.join(' and ')} to report commit index ${String(mark)}`, async () => {
    const idx = await Promise.all(minority.map(async (id) => Number((await infoOf(nodes, id)).commit_index)));
    return idx.every((i) => i >= Number(mark)) ? idx : undefined;
  });
  split(minority, majority);

  const r = await cmd(nodes, l1.id, ['REQ', 'nq-1', 'SET', 'k', 'minority'], 3000).catch((e: Error) => `(no reply) ${e.message}`);
  t.ok(isError(r) || String(r).startsWith('(no reply)'), `a write on the minority side is not acknowledged: ${String(r)}`);
  const after = await Promise.all(minority.map(async (id) => Number((await infoOf(nodes, id)).commit_index)));
  t.same(after, before, `minority commit indexes stay at ${before.join(',')}`);

  const l2 = await leaderAmong(nodes, majority);
  await mustWrite(t, nodes, l2.id, 'nq-2', 'k', 'majority');
  net.heal();
  await leaderAmong(nodes, nodes.ids);
  for (const id of nodes.ids) t.equal(await cmd(nodes, id, ['GET', 'k']), 'majority', `GET k via ${id}`);
  const log = await convergedLogs(t, nodes);
  t.notOk(tidsOf(log).has('nq-1'), 'the minority write is not in the log');
});

scenario('rejoin: a stale leader discards its uncommitted entries', netOpt, async (t) => {
  const nodes = await startCluster(t, { size: 3, electionTimeoutMs: 1000 });
  const { net, split } = netFor(t, nodes);
  const l1 = await leaderAmong(nodes, nodes.ids);
  await mustWrite(t, nodes, l1.id, 'rj-0', 'k', 'a');
  const [f1, f2] = nodes.ids.filter((id) => id !== l1.id) as [string, string];

  split([l1.id], [f1, f2]);
  await writesNobodyWaitsFor(nodes, l1.id, 'rj-stale', 'k', 3, 300);
  t.equal(hasPrefix(await logOf(nodes, l1.id), 'rj-stale'), 3, `${l1.id} appended 3 entries it cannot commit`);

  const l2 = await leaderAmong(nodes, [f1, f2]);
  await mustWrite(t, nodes, l2.id, 'rj-1', 'k', 'b');

  // The new leader cut off; the old one back with the remaining follower, whose log is newer.
  const other = l2.id === f1 ? f2 : f1;
  split([l2.id], [l1.id, other]);
  const l3 = await leaderAmong(nodes, [l1.id, other]);
  t.equal(l3.id, other, `${other} wins: ${l1.id}'s log is stale`);
  await mustWrite(t, nodes, l3.id, 'rj-2', 'k', 'c');

  net.heal();
  await leaderAmong(nodes, nodes.ids);
  for (const id of nodes.ids) t.equal(await cmd(nodes, id, ['GET', 'k']), 'c', `GET k via ${id}`);
  const log = await convergedLogs(t, nodes);
  t.equal(hasPrefix(log, 'rj-stale'), 0, 'the stale leader\'s uncommitted entries are gone everywhere');
  for (const tid of ['rj-0', 'rj-1', 'rj-2']) t.ok(tidsOf(log).has(tid), `${tid} committed`);
});

scenario('backup: a leader brings followers back over 50+ divergent entries quickly', netOpt, async (t) => {
  const nodes = await startCluster(t, { size: 5, electionTimeoutMs: 1000 });
  const { net, split } = netFor(t, nodes);
  const N = 60;
  const l1 = await leaderAmong(nodes, nodes.ids);
  await mustWrite(t, nodes, l1.id, 'bk-0', 'k', 'init');
  const f1 = nodes.ids.find((id) => id !== l1.id)!;
  const three = nodes.ids.filter((id) => id !== l1.id && id !== f1);

  // The old leader and one follower: N entries that never commit.
  split([l1.id, f1], three);
  await writesNobodyWaitsFor(nodes, l1.id, 'bk-a', 'k', N, 500);
  const staleA = await logOf(nodes, l1.id);
  t.equal(hasPrefix(staleA, 'bk-a'), N, `${l1.id} holds ${N} uncommitted entries`);

  // The other three: N committed.
  const l2 = await leaderAmong(nodes, three);
  const b = await Promise.all(Array.from({ length: N }, (_, i) => cmd(nodes, l2.id, ['REQ', `bk-b-${i}`, 'SET', 'k', `bk-b-${i}`], 10_000)));
  t.ok(b.every((r) => r === 'OK'), `${N} writes committed by ${l2.id}`);

  // The new leader with one follower: N more that never commit.
  const other = three.find((id) => id !== l2.id)!;
  const l2mate = three.find((id) => id !== l2.id && id !== other)!;
  split([l1.id, f1], [l2.id, l2mate], [other]);
  await writesNobodyWaitsFor(nodes, l2.id, 'bk-c', 'k', N, 500);
  const staleC = await logOf(nodes, l2.id);

  // The old leader, its follower and `other` (the only one with the committed entries) together.
  split([l1.id, f1, other], [l2.id, l2mate]);
  const l3 = await leaderAmong(nodes, [l1.id, f1, other]);
  t.equal(l3.id, other, `${other} leads: only its log has the committed entries`);
  const d = await Promise.all(Array.from({ length: N }, (_, i) => cmd(nodes, l3.id, ['REQ', `bk-d-${i}`, 'SET', 'k', `bk-d-${i}`], 10_000)));
  t.ok(d.every((r) => r === 'OK'), `${N} writes committed by ${l3.id} over the divergent followers`);

  // Everyone: the cut-off pair backs up over N divergent entries.
  const healedAt = performance.now();
  net.heal();
  await mustWrite(t, nodes, (await leaderAmong(nodes, nodes.ids)).id, 'bk-e', 'k', 'final');
  const log = await convergedLogs(t, nodes);
  const backupMs = performance.now() - healedAt;
  // A bound on convergence, not a measure of the backup: a rejection is answered at once,
  // so even backing up one entry per round trip would take well under a second here. What
  // the time holds is a leader, a write and five logs read back on a machine that may be
  // busy (24 s in a CI run beside the fault suite, all checks passing).
  t.ok(backupMs < 60_000, `every node caught up ${Math.round(backupMs)} ms after the heal`);
  // The entries the cut-off leaders appended never commit. (A write that reached l2 only
  // after it stepped down, which CheckQuorum does within an election timeout on a slow
  // machine, is held by it as a follower and forwarded once it hears of a leader: it may
  // commit later, once, as a new entry. Its client had given up: its outcome is unknown.)
  t.equal(sameEntries(log, staleA, 'bk-a'), 0, 'no bk-a entry survives');
  t.equal(sameEntries(log, staleC, 'bk-c'), 0, 'no bk-c entry l2 appended survives');
  t.equal(hasPrefix(log, 'bk-b'), N, 'every bk-b entry is there');
  t.equal(hasPrefix(log, 'bk-d'), N, 'every bk-d entry is there');
  for (const id of nodes.ids) t.equal(await cmd(nodes, id, ['GET', 'k']), 'final', `GET k via ${id}`);
});

scenario('figure 8 (unreliable): leaders crash and links drop packets, committed writes survive', netOpt, async (t) => {
  const nodes = await startCluster(t, { size: 5, electionTimeoutMs: 300 });
  const { net } = netFor(t, nodes);
  const rng = new Prng(Number(process.env.RAFTD_SCENARIO_SEED ?? 8));
  await leaderAmong(nodes, nodes.ids);
  net.lossy(nodes.ids.map((id) => nodes.node(id).host), 0.1);
  const acked: string[] = [];
  let kills = 0;
  let n = 0;
  const until = performance.now() + 15_000;
  while (performance.now() < until) {
    const up = nodes.ids.filter((id) => nodes.running(id));
    const via = rng.pick(up);
    const rid = `f8-${++n}`;
    const writes = Array.from({ length: 3 }, (_, i) => cmd(nodes, via, ['REQ', `${rid}.${i}`, 'SET', `k${i}`, rid], 1000).then(
      (r) => (r === 'OK' ? `${rid}.${i}` : null),
      () => null,
    ));
    for (const tid of await Promise.all(writes)) if (tid !== null) acked.push(tid);
    await sleep(rng.chance(0.5) ? rng.int(0, 100) : rng.int(0, 600));
    const leader = await nodes.leader();
    if (leader !== null && rng.chance(0.5)) {
      await nodes.kill(leader);
      kills++;
    }
    const down = nodes.ids.filter((id) => !nodes.running(id));
    if (nodes.ids.length - down.length < 3) nodes.start(rng.pick(down));
  }
  t.ok(kills >= 3, `${kills} leaders killed`);
  t.ok(acked.length > 0, `${acked.length} writes acknowledged during the churn`);
  net.heal();
  nodes.reviveAll();
  const l = await leaderAmong(nodes, nodes.ids);
  await mustWrite(t, nodes, l.id, 'f8-final', 'k0', 'final');
  const log = await convergedLogs(t, nodes);
  const tids = tidsOf(log);
  const lost = acked.filter((tid) => !tids.has(tid));
  t.same(lost, [], 'every acknowledged write is in the committed log');
});

scenario('concurrent starts: concurrent writes get distinct, consecutive indexes', {}, async (t) => {
  const nodes = await startCluster(t, { size: 3, electionTimeoutMs: 300 });
  const l = await leaderAmong(nodes, nodes.ids);
  const replies = await Promise.all(Array.from({ length: 5 }, (_, i) => cmd(nodes, l.id, ['ADDENTRY', `cs-${i}`, `data-${i}`])));
  t.ok(replies.every((r) => typeof r === 'number'), `ADDENTRY replies are indexes: ${replies.join(',')}`);
  const idx = (replies as number[]).slice().sort((a, b) => a - b);
  t.equal(new Set(idx).size, 5, 'distinct');
  t.equal(idx[4]! - idx[0]!, 4, 'consecutive');
  const same = await leaderAmong(nodes, nodes.ids);
  t.same(same, l, 'same leader and term throughout');
  const log = await convergedLogs(t, nodes);
  for (let i = 0; i < 5; i++) {
    const e = log.find((x) => x.tid === `cs-${i}`);
    t.equal(e?.index, replies[i], `cs-${i} is at the index its reply named`);
  }
});

scenario('persistence: every node crashes, committed writes and terms survive', {}, async (t) => {
  const nodes = await startCluster(t, { size: 5, electionTimeoutMs: 300 });
  let l = await leaderAmong(nodes, nodes.ids);
  for (let round = 1; round <= 3; round++) {
    await mustWrite(t, nodes, l.id, `ps-${round}`, 'k', `v${round}`);
    const terms = await Promise.all(nodes.ids.map(async (id) => Number((await infoOf(nodes, id)).term)));
    await nodes.killAll();
    nodes.reviveAll();
    l = await leaderAmong(nodes, nodes.ids);
    const after = await Promise.all(nodes.ids.map(async (id) => Number((await infoOf(nodes, id)).term)));
    t.ok(after.every((x, i) => x >= terms[i]!), `round ${round}: no term went back (${terms.join(',')} -> ${after.join(',')})`);
    for (const id of nodes.ids) t.equal(await cmd(nodes, id, ['GET', 'k']), `v${round}`, `round ${round}: GET k via ${id}`);
  }
  // Persist2: crash a minority, write, crash the rest, restart all.
  const [a, b] = nodes.ids.filter((id) => id !== l.id) as [string, string];
  await nodes.kill(a);
  await nodes.kill(b);
  await mustWrite(t, nodes, l.id, 'ps-minority-down', 'k', 'v4');
  await nodes.killAll();
  nodes.start(a);
  nodes.start(b);
  nodes.start(l.id);
  const l2 = await leaderAmong(nodes, [a, b, l.id]);
  t.equal(await cmd(nodes, l2.id, ['GET', 'k']), 'v4', 'the write made while two nodes were down survives');
  nodes.reviveAll();
  await leaderAmong(nodes, nodes.ids);
  const log = await convergedLogs(t, nodes);
  for (const tid of ['ps-1', 'ps-2', 'ps-3', 'ps-minority-down']) t.ok(tidsOf(log).has(tid), `${tid} in every log`);
});

scenario('count: an idle cluster sends few messages', {}, async (t) => {
  const heartbeatMs = 50;
  const nodes = await startCluster(t, { size: 3, electionTimeoutMs: 300, heartbeatMs });
  const l = await leaderAmong(nodes, nodes.ids);
  const counter = noNet ? null : new TrafficCounter(blockOf(nodes));
  t.teardown(() => counter?.dispose());
  // INFO's status is refreshed when the node's Raft state changes, not while it idles,
  // so the message counters are read right after a write has committed everywhere.
  const sent = async () => {
    const infos = await Promise.all(nodes.ids.map((id) => infoOf(nodes, id)));
    return infos.reduce((s, i) => s + Number(i.peer_msgs_sent ?? NaN), 0);
  };
  await mustWrite(t, nodes, l.id, 'count-1', 'k', 'v1');
  await sleep(300);
  const m0 = await sent();
  const b0 = counter?.read();
  const t0 = performance.now();
  await sleep(3000);
  const b1 = counter?.read();
  const idleMs = performance.now() - t0;
  await mustWrite(t, nodes, l.id, 'count-2', 'k', 'v2');
  await sleep(300);
  const m1 = await sent();
  const windowMs = performance.now() - t0;
  const msgs = m1 - m0;
  // One heartbeat to each follower per interval and one reply from each, plus the write's round.
  const expected = (windowMs / heartbeatMs + 2) * (nodes.ids.length - 1) * 2;
  t.ok(Number.isFinite(msgs) && msgs > 0, `INFO reports peer_msgs_sent: ${msgs} in ${Math.round(windowMs)} ms`);
  t.ok(msgs <= expected * 1.5, `${msgs} messages in ${Math.round(windowMs)} ms, at most 1.5x the ~${Math.round(expected)} heartbeats and replies`);
  if (b0 && b1) {
    const packets = b1.packets - b0.packets;
    const bytesPerSec = ((b1.bytes - b0.bytes) / idleMs) * 1000;
    const heartbeats = (idleMs / heartbeatMs) * (nodes.ids.length - 1) * 2;
    t.comment(`idle traffic between the nodes: ${packets} packets (${Math.round(heartbeats)} heartbeats and replies due), ${Math.round(bytesPerSec)} bytes/s`);
    t.ok(packets <= heartbeats * 2.5, `idle: ${packets} packets in ${Math.round(idleMs)} ms (TCP acks included), at most 2.5x the heartbeats and replies`);
    t.ok(bytesPerSec < 50_000, `idle traffic under 50 kB/s: ${Math.round(bytesPerSec)} B/s`);
  }
  const same = await leaderAmong(nodes, nodes.ids);
  t.same(same, l, 'no election while idle');
});

// Regression for a liveness bug the Jepsen harness found (seed 104): after a restart, the
// first commit makes every node apply its whole log in one synchronous loop
// (RaftNode.process drains core.ready() until empty); ticks pile up meanwhile and are
// then stepped in one burst before the peer messages that arrived during the stall, so
// followers time out and the new leader steps down (check-quorum): leadership churns
// for every restart of a node with a long log. Fixed by handing out one Ready per
// event-loop turn; this is its regression test. Once snapshots came the log it wrote was
// compacted, and the test restored a snapshot instead; with snapshots put off it failed
// again, on an idle machine: slices of 8192 entries took 600 ms each with five nodes
// applying at once, and once the apply went quiet every main thread compacted its heap
// (80,000 entries) for 0.5-0.9 s (lib/raft/core.ts COMMITTED_PER_READY_MAX,
// lib/actor/idle-gc.ts). Beside another 5-node test it still churned 1-2 rounds of 3:
// a new leader's first 1024-entry slices took 550, 390 and 260 ms while its apply code
// was cold; slices are now sized by their measured cost (lib/node/apply-pace.ts).
const longLogTodo = {};
/** Past the long log: the restart must replay 80,000 entries, not load a snapshot. */
const LONG_LOG_SNAPSHOT_ENTRIES = 1_000_000;
scenario(
  'restart with a long log: the leader elected after the restart keeps its term',
  longLogTodo,
  async (t) => {
    const nodes = await startCluster(t, { size: 5, electionTimeoutMs: 300, extraArgs: ['--snapshot-entries', String(LONG_LOG_SNAPSHOT_ENTRIES)] });
    let l = await leaderAmong(nodes, nodes.ids);
    const entries = 80_000;
    // Batches of 1,000 SETs to the leader; a batch that met a leader change (an error
    // reply) is sent again to whoever leads then: this is set-up, not the test.
    let acked = 0;
    let conn: RespClient | null = null;
    for (let attempts = 0; acked < entries; attempts++) {
      if (attempts >= 200) throw new Error(`only ${acked} of ${entries} writes acknowledged in 200 batches`);
      if (conn === null) {
        const ep = nodes.endpoint(l.id);
        conn = await RespClient.connect(ep.host, ep.clientPort);
      }
      const replies = await Promise.all(Array.from({ length: 1000 }, (_, i) => conn!.command('SET', `k${(acked + i) % 1000}`, String(acked + i)).catch((e: Error) => e)));
      const ok = replies.filter((r) => r === 'OK').length;
      acked += ok;
      if (ok < replies.length) {
        conn.destroy();
        conn = null;
        l = await leaderAmong(nodes, nodes.ids);
      }
    }
    conn?.destroy();
    await sleep(500);
    l = await leaderAmong(nodes, nodes.ids); // the last batch may have gone to a node that no longer leads
    const commit = Number((await infoOf(nodes, l.id)).commit_index);
    t.ok(commit >= entries, `${commit} entries committed`);
    // Each bug churned 2 or 3 rounds of 3 on an idle machine. Beside another 5-node test
    // (CI's two jobs on two cores) a leader is at times starved of CPU for longer than an
    // election timeout whatever the code does: one round of 3 churned in two such runs.
    // So one churned round is reported and tolerated; two fail.
    const churned: string[] = [];
    for (let round = 1; round <= 3; round++) {
      await nodes.killAll();
      nodes.reviveAll();
      const first = await leaderAmong(nodes, nodes.ids, 60_000);
      const c = await waitConverged(nodes, 20_000, commit);
      await sleep(2000);
      const later = await leaderAmong(nodes, nodes.ids, 5000);
      const what = `round ${round}: ${first.id} elected in term ${first.term}, ${later.id} leads in term ${later.term} (converged at ${c.commitIndex} in term ${c.term})`;
      t.comment(what);
      if (later.id !== first.id || later.term !== first.term) churned.push(what);
    }
    t.ok(churned.length <= 1, `at most one restart of 3 saw another election: ${churned.length === 0 ? 'none' : churned.join('; ')}`);
  },
);
