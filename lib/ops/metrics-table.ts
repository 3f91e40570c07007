// `raft-cluster metrics`: the figures operators look at first, across the cluster,
// from two scrapes of every node's /metrics a short interval apart (rates and the
// fsync p99 are over that interval).
import type { HostEntry } from '../config/hosts.js';
import { Exposition, quantileBetween } from '../metrics/exposition.js';
import { httpGet } from './http-get.js';
import { reasonOf } from './probe.js';

export interface MetricsRow {
  id: string;
  /** host:port of the metrics endpoint, null when the hosts file gives none. */
  address: string | null;
  /** Why there are no figures: `no metrics port`, `connect refused`, `HTTP 500`, ... */
  error: string | null;
  role: string | null;
  term: number | null;
  commitIndex: number | null;
  appliedIndex: number | null;
  /** Entries the leader holds that this node does not (from the leader's per-peer lag). */
  lag: number | null;
  fsyncP99Ms: number | null;
  proposalsPerS: number | null;
  commitsPerS: number | null;
  healthy: boolean | null;
}

export interface MetricsTable {
  leader: string | null;
  term: number | null;
  intervalMs: number;
  nodes: MetricsRow[];
}

const COLUMNS = ['ID', 'METRICS', 'ROLE', 'TERM', 'COMMIT', 'LAG', 'FSYNC_P99_MS', 'PROPOSALS/S', 'COMMITS/S', 'HEALTHY'] as const;

async function scrape(h: HostEntry, timeoutMs: number): Promise<Exposition | string> {
  if (h.metricsPort === null) return 'no metrics port';
  try {
    const r = await httpGet(h.host, h.metricsPort, '/metrics', timeoutMs);
    if (r.status !== 200) return `HTTP ${r.status}`;
    return new Exposition(r.body);
  } catch (err) {
    return reasonOf(err).reason;
  }
}

function roleOf(e: Exposition): string | null {
  const s = e.samples('raftd_raft_role').find((x) => x.value === 1);
  return s?.labels.role ?? null;
}

export async function clusterMetrics(hosts: HostEntry[], intervalMs: number, timeoutMs: number): Promise<MetricsTable> {
  const first = await Promise.all(hosts.map((h) => scrape(h, timeoutMs)));
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, intervalMs));
  const second = await Promise.all(hosts.map((h) => scrape(h, timeoutMs)));
  const dtS = Math.max(1, Date.now() - t0) / 1000;
  return tableOf(hosts, first, second, dtS);
}

/** Pure: the table from two scrapes (an Exposition, or why there is none) per host, dtS seconds apart. */
export function tableOf(hosts: HostEntry[], first: (Exposition | string)[], second: (Exposition | string)[], dtS: number): MetricsTable {
  let leader: { id: string; term: number; e: Exposition } | null = null;
  hosts.forEach((h, i) => {
    const e = second[i];
    if (!(e instanceof Exposition) || roleOf(e) !== 'leader') return;
    const term = e.value('raftd_raft_term') ?? -1;
    if (!leader || term > leader.term) leader = { id: h.id, term, e };
  });
  const lead = leader as { id: string; term: number; e: Exposition } | null;
  const rate = (a: Exposition | string | undefined, b: Exposition, name: string) => (a instanceof Exposition ? Math.max(0, b.sum(name) - a.sum(name)) / dtS : null);
  const nodes = hosts.map((h, i): MetricsRow => {
    const b = second[i]!;
    const a = first[i];
    const address = h.metricsPort === null ? null : `${h.host}:${h.metricsPort}`;
    if (!(b instanceof Exposition)) {
      return { id: h.id, address, error: b, role: null, term: null, commitIndex: null, appliedIndex: null, lag: null, fsyncP99Ms: null, proposalsPerS: null, commitsPerS: null, healthy: null };
    }
    const fsync = b.histogram('raftd_storage_fsync_duration_seconds');
    const p99 = fsync ? quantileBetween(a instanceof Exposition ? a.histogram('raftd_storage_fsync_duration_seconds') : null, fsync, 0.99) : null;
    return {
      id: h.id,
      address,
      error: null,
      role: roleOf(b),
      term: b.value('raftd_raft_term'),
      commitIndex: b.value('raftd_raft_commit_index'),
      appliedIndex: b.value('raftd_raft_applied_index'),
      lag: lead === null ? null : h.id === lead.id ? 0 : lead.e.value('raftd_raft_peer_lag_entries', { peer: h.id }),
      fsyncP99Ms: p99 === null ? null : p99 * 1000,
      proposalsPerS: rate(a, b, 'raftd_raft_proposals_total'),
      commitsPerS: rate(a, b, 'raftd_raft_entries_committed_total'),
      healthy: b.value('raftd_node_healthy') === null ? null : b.value('raftd_node_healthy') === 1,
    };
  });
  return { leader: lead?.id ?? null, term: lead?.term ?? null, intervalMs: Math.round(dtS * 1000), nodes };
}

function fmt(v: number | null, digits = 0): string {
  if (v === null) return '-';
  if (v === Infinity) return '>max';
  return digits === 0 ? String(Math.round(v)) : v.toFixed(digits);
}

export function renderMetrics(t: MetricsTable): string {
  const rows = t.nodes.map((n) =>
    n.error !== null
      ? [n.id, n.address ?? '-', `(${n.error})`, '-', '-', '-', '-', '-', '-', '-']
      : [n.id, n.address ?? '-', n.role ?? '-', fmt(n.term), fmt(n.commitIndex), fmt(n.lag), fmt(n.fsyncP99Ms, 2), fmt(n.proposalsPerS, 1), fmt(n.commitsPerS, 1), n.healthy === null ? '-' : n.healthy ? 'yes' : 'NO'],
  );
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: readonly string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  const head = t.leader ? `leader ${t.leader} (term ${t.term}); rates and fsync p99 over ${t.intervalMs} ms` : `no leader; rates and fsync p99 over ${t.intervalMs} ms`;
  return [head, line(COLUMNS), ...rows.map(line)].join('\n');
}
