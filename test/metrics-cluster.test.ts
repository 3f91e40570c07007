// Metrics and health on a real 3-node cluster (issue 14): every node is scraped under
// load and its page parsed with a Prometheus text-format parser; counters only grow;
// every thread of every node shows up; the leader reports lag for every follower; the
// status and metrics tables of raft-cluster read the endpoints; a killed follower
// shows up as growing lag and an unreachable /health; a partitioned leader's /health
// turns 503 once CheckQuorum makes it step down; the Grafana dashboard uses only
// metric names the nodes export.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RespClient, RespError } from '../lib/client/resp-client.js';
import { Exposition } from '../lib/metrics/exposition.js';
import { httpGet } from '../lib/ops/http-get.js';
import { clusterMetrics } from '../lib/ops/metrics-table.js';
import { probeCluster, probeHealth } from '../lib/ops/probe.js';
import { readHosts } from '../lib/config/hosts.js';
import { ROOT, TestCluster, type TestNode } from './helpers/cluster.js';
import { iptablesAvailable, Partitioner } from './helpers/partition.js';
import { freePort } from './helpers/ports.js';
import { waitFor } from './helpers/wait.js';

const ELECTION_TIMEOUT_MS = 300;
/** What a loaded 2-core machine may add to an election timeout before /health reflects a step-down. */
const SCHEDULING_SLACK_MS = 1500;
const WRITERS = 3;
const WRITES_PER_WRITER = 300;

/** Threads every node runs (replicators are added per peer). */
const THREADS = ['main', 'election-timer', 'log-writer', 'peer-server', 'client-gateway'];

async function withMetricsPorts(c: TestCluster): Promise<Map<string, number>> {
  const ports = new Map<string, number>();
  for (const n of c.nodes) {
    let p = await freePort(n.host);
    while (p === n.peerPort || p === n.clientPort) p = await freePort(n.host);
    ports.set(n.id, p);
  }
  fs.writeFileSync(c.hostsFile, c.nodes.map((n) => `${n.id} ${n.host} ${n.peerPort} ${n.clientPort} ${ports.get(n.id)}`).join('\n') + '\n');
  return ports;
}

async function scrape(n: TestNode, port: number): Promise<Exposition> {
  const r = await httpGet(n.host, port, '/metrics', 5000);
  if (r.status !== 200) throw new Error(`/metrics of ${n.id}: HTTP ${r.status}: ${r.body}`);
  return new Exposition(r.body);
}

/** Every counter sample of a page, keyed by name and labels. */
function counters(e: Exposition): Map<string, number> {
  const out = new Map<string, number>();
  for (const name of e.names()) {
    if (e.type(name) !== 'COUNTER') continue;
    for (const s of e.samples(name)) out.set(`${name}${JSON.stringify(s.labels)}`, s.value);
  }
  return out;
}

/** Sequential SETs on one connection; bounded in count. */
async function writeLoad(n: TestNode, prefix: string, count: number): Promise<number> {
  const c = await RespClient.connect(n.host, n.clientPort, { connectTimeoutMs: 2000 });
  let ok = 0;
  try {
    for (let i = 0; i < count; i++) {
      const r = await c.command('SET', `${prefix}-${i}`, `v${i}`);
      if (!(r instanceof RespError)) ok++;
    }
  } finally {
    void c.close().catch(() => undefined);
  }
  return ok;
}

t.test('metrics and health of a 3-node cluster', async (t) => {
  const c = await TestCluster.create({ size: 3, electionTimeoutMs: ELECTION_TIMEOUT_MS, heartbeatMs: 50 });
  const partitions = new Partitioner();
  t.teardown(async () => {
    partitions.heal();
    await c.stop();
  });
  const ports = await withMetricsPorts(c);
  c.startAll();
  let leader = await c.waitForLeader();
  // Re-read before each part: on a loaded machine an election may move the leader.
  const current = async () => {
    leader = await c.waitForLeader();
    const L = c.node(leader.id);
    return { L, followers: c.nodes.filter((n) => n.id !== L.id) };
  };
  const port = (n: TestNode) => ports.get(n.id)!;
  /** SETs that succeeded, by the node they were sent to. */
  const okByNode = new Map<string, number>();

  await t.test('scrapes under load parse, and counters only grow', async (t) => {
    const load = Promise.all(Array.from({ length: WRITERS }, (_, w) => writeLoad(c.nodes[w % c.nodes.length]!, `load${w}`, WRITES_PER_WRITER)));
    let done = false;
    void load.finally(() => (done = true));
    const previous = new Map<string, Map<string, number>>();
    let scrapes = 0;
    let decreases: string[] = [];
    // Scrape every node over and over while the writes run, and once more after.
    for (let round = 0; round < 200 && (!done || round < 2); round++) {
      if (round > 0) await new Promise((r) => setTimeout(r, 50)); // pace: the scrapes share 2 cores with the cluster
      for (const n of c.nodes) {
        const now = counters(await scrape(n, port(n)));
        const before = previous.get(n.id);
        if (before) for (const [k, v] of before) if ((now.get(k) ?? -1) < v) decreases.push(`${n.id} ${k}: ${v} -> ${now.get(k)}`);
        previous.set(n.id, now);
        scrapes++;
      }
    }
    const written = await load;
    written.forEach((ok, w) => okByNode.set(c.nodes[w]!.id, ok));
    // A write may get -TRYAGAIN while an election runs; most must succeed.
    t.ok(written.reduce((a, b) => a + b, 0) >= (WRITERS * WRITES_PER_WRITER) / 2, `writes succeeded: ${written.join(', ')} of ${WRITES_PER_WRITER} each`);
    t.ok(scrapes >= 6, `${scrapes} scrapes during the load`);
    t.same(decreases, [], 'no counter went down between scrapes');
  });

  await t.test('every thread of every node is in its scrape', async (t) => {
    const { L, followers } = await current();
    for (const n of c.nodes) {
      const threads = new Set([...THREADS, ...c.nodes.filter((p) => p.id !== n.id).map((p) => `replicator-${p.id}`)]);
      // A thread reports its event-loop delay once its sampling window has samples: scrape
      // again (bounded) rather than judge one scrape taken right after the last.
      const e = await waitFor(`${n.id}: every thread's event-loop delay`, async () => {
        const x = await scrape(n, port(n));
        return [...threads].every((th) => x.value('raftd_thread_event_loop_delay_seconds', { thread: th, quantile: '0.99' }) !== null) ? x : undefined;
      }, 20_000, 500).catch(() => scrape(n, port(n)));
      for (const th of threads) {
        t.ok(e.value('raftd_thread_heap_used_bytes', { thread: th })! > 0, `${n.id}: heap of ${th}`);
        t.ok(e.value('raftd_thread_event_loop_delay_seconds', { thread: th, quantile: '0.99' }) !== null, `${n.id}: event-loop delay of ${th}`);
      }
      t.equal(e.samples('raftd_metrics_threads_missing').filter((s) => s.value > 0).length, 0, `${n.id}: no thread missed the scrape`);
      t.ok(e.value('process_resident_memory_bytes')! > 0, `${n.id}: RSS`);
      t.ok(e.histogram('raftd_storage_fsync_duration_seconds')!.count > 0, `${n.id}: fsyncs timed`);
      t.ok(e.value('raftd_storage_entries_written_total')! >= [...okByNode.values()].reduce((a, b) => a + b, 0), `${n.id}: entries written`);
      for (const p of c.nodes.filter((p) => p.id !== n.id)) {
        t.ok(e.value('raftd_transport_frames_sent_total', { peer: p.id })! > 0, `${n.id}: frames sent to ${p.id}`);
        t.ok(e.value('raftd_transport_bytes_received_total', { peer: p.id })! > 0, `${n.id}: bytes received from ${p.id}`);
      }
      t.equal(e.value('raftd_client_commands_total', { command: 'set', outcome: 'ok' }), okByNode.get(n.id), `${n.id}: its SETs counted`);
      // A write the gateway gave up on (TIMEOUT) may still commit: main counts it committed.
      t.ok(e.value('raftd_raft_proposals_total', { outcome: 'committed' })! >= okByNode.get(n.id)!, `${n.id}: its proposals committed`);
      t.equal(e.value('raftd_node_healthy'), 1, `${n.id}: healthy`);
      // The parser folds labelled histograms, so the per-stage series are read from the text.
      for (const stage of ['gateway_queued', 'node', 'proposed_committed', 'committed_applied', 'reply_written']) {
        const m = new RegExp(`^raftd_client_request_stage_seconds_count\\{stage="${stage}"\\} (\\d+)`, 'm').exec(e.text);
        t.ok(m && Number(m[1]) > 0, `${n.id}: latency stage ${stage} observed`);
      }
    }
    const le = await scrape(L, port(L));
    t.equal(le.value('raftd_raft_is_leader'), 1, 'the leader says so');
    t.ok(le.value('raftd_raft_elections_won_total', { kind: 'real' })! >= 1, 'the leader won an election');
    for (const f of followers) {
      t.ok(le.value('raftd_raft_peer_lag_entries', { peer: f.id }) !== null, `leader reports lag of ${f.id}`);
      t.ok(le.value('raftd_raft_peer_match_index', { peer: f.id })! > 0, `leader reports match index of ${f.id}`);
    }
  });

  await t.test('INFO stays fresh on an idle node', async (t) => {
    const { L } = await current();
    const sent = async () => Number((await c.info(L.id)).peer_msgs_sent);
    const first = await sent();
    // Heartbeats go out while no index moves; INFO must see them.
    await waitFor('peer_msgs_sent to move on an idle leader', async () => (await sent()) > first, 10_000, 200);
    t.pass('peer_msgs_sent moved with no write');
  });

  await t.test('raft-cluster status and metrics read the endpoints', async (t) => {
    const hosts = readHosts(c.hostsFile);
    const st = await probeCluster(hosts, 2000);
    t.same(st.nodes.map((n) => n.health), ['ok', 'ok', 'ok'], 'status: every node healthy');
    // An election on a loaded machine between reading the leader and scraping is not what
    // this checks: scrape again (bounded) until the table and the cluster agree on one term.
    const { L, table } = await waitFor('the metrics table to agree with the current leader', async () => {
      const { L } = await current();
      const table = await clusterMetrics(hosts, 300, 2000);
      return table.leader === L.id && table.nodes.every((r) => r.term === leader.term) ? { L, table } : undefined;
    }, 20_000, 200);
    t.equal(table.leader, L.id, 'metrics: the leader');
    for (const row of table.nodes) {
      t.equal(row.error, null, `${row.id} scraped`);
      t.equal(row.term, leader.term, `${row.id}: term`);
      t.equal(row.healthy, true, `${row.id}: healthy`);
      t.ok(row.lag !== null, `${row.id}: lag known`);
    }
  });

  await t.test('a killed follower: growing lag on the leader, /health unreachable', async (t) => {
    const { L, followers } = await current();
    const F = followers[0]!;
    await c.kill(F.id);
    t.match(await probeHealth(F.host, port(F), 1000), /^unreachable \(connect refused\)$/, '/health of the killed node');
    const lagOf = async () => (await scrape(L, port(L))).value('raftd_raft_peer_lag_entries', { peer: F.id }) ?? -1;
    const lag0 = await lagOf();
    await writeLoad(L, 'after-kill', 50);
    const lag1 = await lagOf();
    await writeLoad(L, 'after-kill-2', 50);
    const lag2 = await lagOf();
    t.ok(lag1 > lag0 && lag2 > lag1, `lag of ${F.id} grows: ${lag0} -> ${lag1} -> ${lag2}`);
    t.equal((await httpGet(L.host, port(L), '/health', 2000)).status, 200, 'the leader with one follower left is healthy');
    c.start(F.id);
    const ready = await waitFor('the restarted follower to be ready', async () => {
      const r = await httpGet(F.host, port(F), '/ready', 2000);
      return r.status === 200 ? r.body : undefined;
    }, 30_000, 100);
    t.match(JSON.parse(ready), { ready: 'ok', node: F.id, role: 'follower', leader: L.id }, '/ready once caught up');
    const caughtUp = JSON.parse(ready) as { appliedIndex: number };
    t.ok(caughtUp.appliedIndex >= (await scrape(L, port(L))).value('raftd_raft_commit_index')! - 1000, 'ready means applied close to the leader');
  });

  await t.test('a partitioned leader turns /health 503 within an election timeout', async (t) => {
    const { L } = await current();
    if (!iptablesAvailable()) {
      t.fail('iptables is needed (run as root with iptables installed: test/install-deps.sh)');
      return;
    }
    t.equal((await httpGet(L.host, port(L), '/health', 2000)).status, 200, 'healthy before the cut');
    const started = Date.now();
    partitions.isolate([L.host], c.nodes.map((n) => n.host));
    const body = await waitFor(
      'the leader /health to answer 503',
      async () => {
        const r = await httpGet(L.host, port(L), '/health', 2000);
        return r.status === 503 ? r.body : undefined;
      },
      15_000,
      10,
    );
    const elapsedMs = Date.now() - started;
    t.comment(`/health of the partitioned leader turned 503 after ${elapsedMs} ms (election timeout ${ELECTION_TIMEOUT_MS} ms)`);
    t.match(JSON.parse(body), { health: 'fail', node: L.id }, 'one-line JSON with a reason');
    t.ok(elapsedMs <= ELECTION_TIMEOUT_MS + SCHEDULING_SLACK_MS, `within an election timeout (plus scheduling slack): ${elapsedMs} ms`);
    const e = await scrape(L, port(L));
    t.ok(e.value('raftd_raft_leader_stepdowns_total', { reason: 'check_quorum' })! >= 1, 'counted as a CheckQuorum step-down');
    t.equal(e.value('raftd_node_healthy'), 0, 'raftd_node_healthy is 0');
    partitions.heal();
  });

  await t.test('the Grafana dashboard uses only metric names the nodes export', async (t) => {
    const L = c.nodes.find((n) => c.isRunning(n.id))!;
    const dashboard = JSON.parse(fs.readFileSync(path.join(ROOT, 'lib/metrics/grafana-dashboard.json'), 'utf8')) as { panels: { title: string; targets?: { expr: string }[] }[] };
    const live = await httpGet(L.host, port(L), '/metrics', 5000);
    const exported = new Set([...live.body.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap((m) => (m[2] === 'histogram' ? [`${m[1]}_bucket`, `${m[1]}_sum`, `${m[1]}_count`] : [m[1]!])));
    const used = new Set<string>();
    for (const p of dashboard.panels) for (const target of p.targets ?? []) for (const m of target.expr.matchAll(/\b((?:raftd|process|nodejs)_[a-z0-9_]+)\b/g)) used.add(m[1]!);
    t.ok(used.size >= 10, `the dashboard plots ${used.size} series`);
    for (const name of used) t.ok(exported.has(name), `${name} is exported`);
  });
});
