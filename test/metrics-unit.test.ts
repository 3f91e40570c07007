// The metrics pieces without a cluster: an actor's registry and its snapshot, the merge
// of several threads into one page that a text-format parser reads back, the health
// rule, quantiles from histogram buckets, Raft counters from core events, the
// metrics table, and the hosts file's metrics column.
import t from 'tap';
import { AggregatorRegistry, Registry } from 'prom-client';
import type { NodeStatus } from '../actors/protocol.js';
import { parseHosts } from '../lib/config/hosts.js';
import { ActorMetrics } from '../lib/metrics/actor-metrics.js';
import { Exposition, quantileBetween } from '../lib/metrics/exposition.js';
import { GatewayMetrics } from '../lib/metrics/gateway-metrics.js';
import { CommitHistory, healthOf } from '../lib/metrics/health.js';
import { mergeFamilies } from '../lib/metrics/merge.js';
import { RaftMetrics } from '../lib/metrics/raft-metrics.js';
import type { Ready } from '../lib/raft/types.js';
import type { CoreEventName } from '../lib/raft/events.js';
import type { Effects } from '../lib/replica/replica.js';
import { tableOf } from '../lib/ops/metrics-table.js';

async function render(...lists: Parameters<typeof mergeFamilies>[0]): Promise<Exposition> {
  return new Exposition(await AggregatorRegistry.aggregate([mergeFamilies(lists)]).metrics());
}

function status(over: Partial<NodeStatus> = {}): NodeStatus {
  return { id: 'n1', role: 'follower', term: 3, leader: 'n2', leaderClient: null, commitIndex: 10, appliedIndex: 10, lastIndex: 10, msgsSent: 0, keys: 0, peers: [], ...over };
}

/** The replica's effects for one round, built from the parts of a core Ready the metrics read. */
function ready(over: Partial<Ready> = {}): Effects {
  return {
    writes: over.entries && over.entries.length > 0 ? [{ seq: 1, hardState: null, entries: over.entries }] : [],
    storage: [],
    restored: null,
    snapshotting: false,
    membership: null,
    messages: [],
    replies: [],
    applied: over.committed ?? [],
    events: over.events ?? [],
    readIndex: { ok: over.reads?.length ?? 0, failed: over.readsFailed?.length ?? 0 },
    more: false,
  };
}

t.test('an actor registry: counters, histograms, gauges, thread stats', async (t) => {
  const m = new ActorMetrics('test-thread');
  const sent = m.counter('raftd_test_sent_total', 'sent')({ peer: 'n2' });
  sent.inc();
  sent.inc(4);
  const h = m.histogram('raftd_test_seconds', 'latency', [0.01, 0.1])({ stage: 'a' });
  for (const v of [0.005, 0.05, 0.05, 5]) h.observe(v);
  m.gauge('raftd_test_depth', 'depth', () => [{ labels: { peer: 'n2' }, value: 7 }]);
  const snap = m.snapshot();
  t.equal(snap.thread, 'test-thread');
  // A snapshot crosses a worker port by structured clone.
  t.same(structuredClone(snap), snap, 'plain data');
  const e = await render(snap.families);
  t.equal(e.value('raftd_test_sent_total', { peer: 'n2' }), 5, 'counter');
  t.equal(e.type('raftd_test_sent_total'), 'COUNTER');
  t.equal(e.value('raftd_test_depth', { peer: 'n2' }), 7, 'gauge read at snapshot time');
  t.match(e.text, /raftd_test_seconds_bucket\{stage="a",le="0.01"\} 1\n/, 'cumulative bucket 0.01');
  t.match(e.text, /raftd_test_seconds_bucket\{stage="a",le="0.1"\} 3\n/, 'cumulative bucket 0.1');
  t.match(e.text, /raftd_test_seconds_bucket\{stage="a",le="\+Inf"\} 4\n/, '+Inf bucket');
  t.match(e.text, /raftd_test_seconds_count\{stage="a"\} 4\n/, 'count');
  t.ok(e.value('raftd_thread_heap_used_bytes', { thread: 'test-thread' })! > 0, 'heap of the thread');
  t.throws(() => m.counter('raftd_test_sent_total', 'again'), /registered twice/);
});

t.test('a label fed from input cannot grow a family without bound', async (t) => {
  const m = new ActorMetrics('bounded');
  const c = m.counter('raftd_test_bounded_total', 'bounded');
  for (let i = 0; i < 1000; i++) c({ command: `cmd${i}` }).inc();
  const f = m.snapshot().families.find((x) => x.name === 'raftd_test_bounded_total')!;
  t.ok(f.values.length <= 257, `${f.values.length} series`);
  t.equal(f.values.reduce((a, v) => a + v.value, 0), 1000, 'nothing lost: the rest count as "other"');
});

t.test('threads merge into one page: sums by labels, each series kept together', async (t) => {
  const a = new ActorMetrics('a');
  const b = new ActorMetrics('b');
  a.counter('raftd_test_total', 'x')({ peer: 'n2' }).inc(2);
  const bc = b.counter('raftd_test_total', 'x');
  bc({ peer: 'n2' }).inc(3);
  bc({ peer: 'n3' }).inc(1);
  a.histogram('raftd_test_stage_seconds', 'y', [0.1, 1])({ stage: 'one' }).observe(0.05);
  b.histogram('raftd_test_stage_seconds', 'y', [0.1, 1])({ stage: 'two' }).observe(0.5);
  const reg = new Registry();
  const e = await render(await reg.getMetricsAsJSON(), a.snapshot().families, b.snapshot().families);
  t.equal(e.value('raftd_test_total', { peer: 'n2' }), 5, 'same labels from two threads are summed');
  t.equal(e.value('raftd_test_total', { peer: 'n3' }), 1);
  const lines = e.text.split('\n').filter((l) => l.startsWith('raftd_test_stage_seconds'));
  const stages = lines.map((l) => /stage="(\w+)"/.exec(l)![1]);
  t.same(stages, [...Array(5).fill('one'), ...Array(5).fill('two')], 'one series, then the next');
  t.equal(e.value('raftd_thread_heap_used_bytes', { thread: 'a' }) !== null && e.value('raftd_thread_heap_used_bytes', { thread: 'b' }) !== null, true, 'each thread its own series');
});

t.test('health: a leader known and applying', async (t) => {
  t.same(healthOf(status(), 10, true), { ok: true, reason: '' });
  t.same(healthOf(status({ role: 'leader', leader: 'n1' }), 10, true), { ok: true, reason: '' });
  t.match(healthOf(status({ leader: null }), 10, true), { ok: false, reason: /no leader known in term 3/ });
  t.match(healthOf(status({ role: 'precandidate', leader: null }), 10, true), { ok: false, reason: /precandidate/ });
  t.match(healthOf(status({ role: 'candidate', leader: null }), 10, true), { ok: false, reason: /candidate/ });
  t.match(healthOf(status({ appliedIndex: 5 }), 8, true), { ok: false, reason: /applied index 5 is behind the commit index 8/ });
  t.same(healthOf(status({ appliedIndex: 8, commitIndex: 12 }), 8, true).ok, true, 'a commit newer than the window may still be applying');
  t.match(healthOf(status(), 10, false), { ok: false, reason: /starting or stopping/ });
  const h = new CommitHistory();
  t.equal(h.commitThen(4), 4, 'no samples: the current commit index');
  for (let i = 1; i <= 20; i++) h.record(i);
  t.equal(h.commitThen(20), 20 - Math.ceil(2000 / 250), 'the oldest sample in the window');
});

t.test('quantiles from histogram buckets, between two readings', async (t) => {
  const at = (counts: number[]) => ({ buckets: [0.001, 0.01, 0.1, Infinity].map((le, i) => ({ le, count: counts[i]! })), count: counts[3]!, sum: 0 });
  t.equal(quantileBetween(null, at([0, 0, 0, 0]), 0.99), null, 'nothing observed');
  t.equal(quantileBetween(null, at([100, 100, 100, 100]), 0.99), 0.00099, 'interpolated in the first bucket');
  t.ok(Math.abs(quantileBetween(at([100, 100, 100, 100]), at([100, 200, 200, 200]), 0.5)! - 0.0055) < 1e-12, 'only the observations in between count');
  t.equal(quantileBetween(null, at([0, 0, 0, 10]), 0.99), Infinity, 'past the last bound');
});

t.test('Raft counters from the core\'s events and Readies', async (t) => {
  const reg = new Registry();
  let st: NodeStatus | null = status({ role: 'leader', leader: 'n1', peers: [{ id: 'n2', match: 7, lag: 3, connected: true }] });
  const th = new ActorMetrics('main');
  const m = new RaftMetrics(reg, th, () => st);
  const ev = (event: CoreEventName, fields: Record<string, unknown> = {}) => ({ level: 'info' as const, event, term: 3, ...fields });
  m.onReady(ready({ events: [ev('electionStarted', { pre: true }), ev('electionWon', { pre: true }), ev('electionStarted', { pre: false }), ev('electionWon', { pre: false }), ev('leaderChanged', { from: null, to: 'n1' })] }));
  m.onReady(ready({ events: [ev('steppedDown', { reason: 'check-quorum' }), ev('leaderChanged', { from: 'n1', to: null }), ev('steppedDown', { reason: 'higher term from n3 (append)' })] }));
  const entry = (index: number) => ({ index, term: 3, kind: 'normal' as const, tid: '', data: new Uint8Array() });
  m.onReady(ready({ entries: [entry(1), entry(2)] }));
  m.onReady(ready({ committed: [entry(1), entry(2)], reads: [{ ctx: 1, index: 2 }], readsFailed: [2, 3] }));
  m.onApplied(2);
  m.onReady(ready({ events: [ev('snapshotNeeded', { peer: 'n2' }), ev('snapshotNeeded', { peer: 'n2', retry: true }), ev('snapshotRestored', { index: 9 }), ev('logCompacted', { throughIndex: 4 })] }));
  m.onSnapshotWritten(4096, 0.25);
  m.onRequests([{ reqId: 1, kind: 'write', tid: '', data: new Uint8Array() }, { reqId: 2, kind: 'write', tid: '', data: new Uint8Array() }, { reqId: 3, kind: 'read', args: [] }]);
  m.onReplies([
    { reqId: 1, reply: { ok: true, reply: new Uint8Array() } },
    { reqId: 2, reply: { ok: false, code: 'TIMEOUT', message: '' } },
    { reqId: 3, reply: { ok: false, code: 'TRYAGAIN', message: '' } },
    { reqId: 99, reply: { ok: true, reply: new Uint8Array() } },
  ]);
  const e = await render(await reg.getMetricsAsJSON(), th.snapshot().families);
  t.equal(e.value('raftd_raft_elections_started_total', { kind: 'pre' }), 1);
  t.equal(e.value('raftd_raft_elections_started_total', { kind: 'real' }), 1);
  t.equal(e.value('raftd_raft_elections_won_total', { kind: 'real' }), 1);
  t.equal(e.value('raftd_raft_leader_changes_total'), 1, 'a change to "no leader" is not a leader change');
  t.equal(e.value('raftd_raft_leader_stepdowns_total', { reason: 'check_quorum' }), 1);
  t.equal(e.value('raftd_snapshots_sent_total', {}), 1, 'a retried transfer counts once');
  t.equal(e.value('raftd_snapshots_installed_total', {}), 1);
  t.equal(e.value('raftd_log_compactions_total', {}), 1);
  t.equal(e.value('raftd_snapshots_taken_total', {}), 1);
  t.equal(e.value('raftd_snapshot_last_bytes', {}), 4096);
  t.equal(e.value('raftd_snapshot_last_duration_seconds', {}), 0.25);
  t.equal(e.value('raftd_raft_leader_stepdowns_total', { reason: 'higher_term' }), 1);
  t.equal(e.value('raftd_raft_entries_committed_total'), 2);
  t.equal(e.value('raftd_raft_read_index_total', { outcome: 'ok' }), 1);
  t.equal(e.value('raftd_raft_read_index_total', { outcome: 'failed' }), 2);
  t.equal(e.value('raftd_raft_proposals_total', { outcome: 'committed' }), 1);
  t.equal(e.value('raftd_raft_proposals_total', { outcome: 'timed_out' }), 1);
  t.equal(e.value('raftd_raft_reads_total', { outcome: 'dropped' }), 1);
  t.match(e.text, /raftd_client_request_stage_seconds_count\{stage="proposed_committed"\} 2\n/, 'two entries timed from written to committed');
  t.match(e.text, /raftd_client_request_stage_seconds_count\{stage="committed_applied"\} 2\n/);
  t.equal(e.value('raftd_raft_role', { role: 'leader' }), 1);
  t.equal(e.value('raftd_raft_role', { role: 'follower' }), 0);
  t.equal(e.value('raftd_raft_peer_lag_entries', { peer: 'n2' }), 3);
  t.equal(e.value('raftd_raft_peer_match_index', { peer: 'n2' }), 7);
  st = status();
  const f = await render(await reg.getMetricsAsJSON(), th.snapshot().families);
  t.equal(f.samples('raftd_raft_peer_lag_entries').length, 0, 'per-peer series go when the node stops leading');
});

t.test('a rewritten log suffix is timed from its new write', async (t) => {
  const reg = new Registry();
  const th = new ActorMetrics('main');
  const m = new RaftMetrics(reg, th, () => null);
  const entry = (index: number, term: number) => ({ index, term, kind: 'normal' as const, tid: '', data: new Uint8Array() });
  m.onReady(ready({ entries: [entry(1, 1), entry(2, 1), entry(3, 1)] }));
  m.onReady(ready({ entries: [entry(2, 2)] }));
  m.onReady(ready({ committed: [entry(1, 1), entry(2, 2)] }));
  const e = await render(await reg.getMetricsAsJSON(), th.snapshot().families);
  t.match(e.text, /raftd_client_request_stage_seconds_count\{stage="proposed_committed"\} 2\n/, 'index 3 of the old term is never counted');
});

t.test('gateway: commands by name and outcome, errors by code', async (t) => {
  const g = new GatewayMetrics((n) => n === 'set' || n === 'get', () => 2, () => 1);
  g.onReply('set', Buffer.from('+OK\r\n'));
  g.onReply('set', Buffer.from('-BUSY too many pending requests\r\n'));
  g.onReply('get', Buffer.from('-TRYAGAIN no leader elected yet\r\n'));
  g.onReply('get', Buffer.from('-WEIRD\r\n'));
  g.onReply('flurb', Buffer.from("-ERR unknown command 'flurb'\r\n"));
  g.onStage('node', 3);
  const e = await render(g.registry.snapshot().families);
  t.equal(e.value('raftd_client_commands_total', { command: 'set', outcome: 'ok' }), 1);
  t.equal(e.value('raftd_client_commands_total', { command: 'set', outcome: 'error' }), 1);
  t.equal(e.value('raftd_client_commands_total', { command: 'unknown', outcome: 'error' }), 1, 'names outside the table are "unknown"');
  t.equal(e.value('raftd_client_errors_total', { code: 'BUSY' }), 1);
  t.equal(e.value('raftd_client_errors_total', { code: 'TRYAGAIN' }), 1);
  t.equal(e.value('raftd_client_errors_total', { code: 'ERR' }), 1);
  t.equal(e.value('raftd_client_errors_total', { code: 'other' }), 1);
  t.equal(e.value('raftd_client_connections'), 2);
  t.equal(e.value('raftd_client_pending_requests'), 1);
});

t.test('the metrics table from two scrapes', async (t) => {
  const hosts = parseHosts('n1 127.0.0.1 7101 6101 9101\nn2 127.0.0.2 7102 6102 9102\nn3 127.0.0.3 7103 6103\n');
  const page = (role: string, proposals: number, fsyncCounts: number[], extra = '') =>
    new Exposition(
      [
        `raftd_raft_role{role="${role}"} 1`,
        'raftd_raft_term 4',
        'raftd_raft_commit_index 50',
        '# TYPE raftd_raft_proposals_total counter',
        `raftd_raft_proposals_total{outcome="committed"} ${proposals}`,
        '# TYPE raftd_storage_fsync_duration_seconds histogram',
        `raftd_storage_fsync_duration_seconds_bucket{le="0.001"} ${fsyncCounts[0]}`,
        `raftd_storage_fsync_duration_seconds_bucket{le="0.01"} ${fsyncCounts[1]}`,
        `raftd_storage_fsync_duration_seconds_bucket{le="+Inf"} ${fsyncCounts[1]}`,
        `raftd_storage_fsync_duration_seconds_sum 0`,
        `raftd_storage_fsync_duration_seconds_count ${fsyncCounts[1]}`,
        'raftd_node_healthy 1',
        extra,
      ].join('\n') + '\n',
    );
  const first = [page('leader', 100, [10, 10]), page('follower', 0, [5, 5]), 'no metrics port'];
  const second = [page('leader', 300, [10, 110], 'raftd_raft_peer_lag_entries{peer="n2"} 12'), page('follower', 0, [5, 5]), 'no metrics port'];
  const tb = tableOf(hosts, first, second, 2);
  t.equal(tb.leader, 'n1');
  t.equal(tb.term, 4);
  t.match(tb.nodes[0], { role: 'leader', lag: 0, proposalsPerS: 100, healthy: true });
  t.ok(Math.abs(tb.nodes[0]!.fsyncP99Ms! - 9.91) < 1e-9, `fsync p99 from the syncs in between: ${tb.nodes[0]!.fsyncP99Ms}`);
  t.match(tb.nodes[1], { role: 'follower', lag: 12, fsyncP99Ms: null, proposalsPerS: 0 });
  t.match(tb.nodes[2], { error: 'no metrics port', address: null });
});

t.test('hosts file: an optional metrics-port column', async (t) => {
  const h = parseHosts('n1 127.0.0.1 7101 6101 9101\nn2 127.0.0.2 7102 6102\n');
  t.equal(h[0]!.metricsPort, 9101);
  t.equal(h[1]!.metricsPort, null);
  t.throws(() => parseHosts('n1 127.0.0.1 7101 6101 6101\n'), /metrics port 6101 is also/);
  t.throws(() => parseHosts('n1 127.0.0.1 7101 6101 9101\nn2 127.0.0.1 7102 6102 9101\n'), /already used/);
  t.throws(() => parseHosts('n1 127.0.0.1 7101 6101 9101 1\n'), /expected "id host peer-port client-port \[metrics-port\]"/);
});
