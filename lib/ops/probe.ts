// What the cluster looks like from here: INFO of every node over its client port,
// and which node leads. A node that does not answer is a row saying why, never an
// exception.
import type { ClientAccess } from '../client/access.js';
import { RespClient, RespError } from '../client/resp-client.js';
import type { HostEntry } from '../config/hosts.js';
import { httpGet } from './http-get.js';

export type NodeState = 'up' | 'down' | 'timeout';

export interface NodeRow {
  id: string;
  address: string;
  state: NodeState;
  /** Why a node is not up: `connect refused`, `timeout`, `host unreachable`, ... */
  reason: string | null;
  role: string | null;
  term: number | null;
  leaderId: string | null;
  commitIndex: number | null;
  appliedIndex: number | null;
  lastLogIndex: number | null;
  /** The leader's commit index minus this node's. */
  lag: number | null;
  pid: number | null;
  /** GET /health: `ok`, `fail: <reason>`, `unreachable (<why>)`; null when the node has no metrics port. */
  health: string | null;
}

export interface ClusterStatus {
  /** The leader with the highest term among the nodes that answered. */
  leader: string | null;
  term: number | null;
  leaderCommit: number | null;
  up: number;
  total: number;
  /** Nodes that answered and follow `leader` in its term (the leader included). */
  agreeing: number;
  nodes: NodeRow[];
}

export const PROBE_TIMEOUT_MS = 1000;

/** `key:value` lines of an INFO reply. */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^([^#:][^:]*):(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/** A one-line reason for a failed probe. */
export function reasonOf(err: unknown): { state: NodeState; reason: string } {
  const msg = err instanceof Error ? err.message : String(err);
  if (/timed out/i.test(msg)) return { state: 'timeout', reason: 'timeout' };
  if (/ECONNREFUSED/.test(msg)) return { state: 'down', reason: 'connect refused' };
  if (/EHOSTUNREACH|ENETUNREACH/.test(msg)) return { state: 'down', reason: 'host unreachable' };
  if (/ENOTFOUND|EAI_AGAIN/.test(msg)) return { state: 'down', reason: 'unknown host' };
  if (/ECONNRESET|connection closed/.test(msg)) return { state: 'down', reason: 'connection reset' };
  if (/NOAUTH|WRONGPASS|AUTH at/.test(msg)) return { state: 'down', reason: `auth: ${msg.replace(/^.*?(NOAUTH|WRONGPASS)/, '$1').slice(0, 60)}` };
  return { state: 'down', reason: msg.replace(/\s+/g, ' ').slice(0, 80) };
}

function num(s: string | undefined): number | null {
  if (s === undefined || s === '') return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** How probes reach client ports (TLS, AUTH); `raft-cluster` sets it from its flags. */
let probeAccess: ClientAccess | undefined;
export function setProbeAccess(a: ClientAccess): void {
  probeAccess = a;
}
export function getProbeAccess(): ClientAccess | undefined {
  return probeAccess;
}

export async function probeNode(h: HostEntry, timeoutMs = PROBE_TIMEOUT_MS): Promise<NodeRow> {
  const row: NodeRow = {
    id: h.id,
    address: `${h.host}:${h.clientPort}`,
    state: 'down',
    reason: null,
    role: null,
    term: null,
    leaderId: null,
    commitIndex: null,
    appliedIndex: null,
    lastLogIndex: null,
    lag: null,
    pid: null,
    health: null,
  };
  const health = h.metricsPort === null ? Promise.resolve(null) : probeHealth(h.host, h.metricsPort, timeoutMs);
  let client: RespClient | null = null;
  try {
    const connecting = RespClient.connect(h.host, h.clientPort, { connectTimeoutMs: timeoutMs, access: probeAccess });
    client = await withTimeout(connecting, timeoutMs, 'connect').catch((err: unknown) => {
      void connecting.then((c) => c.destroy(), () => undefined);
      throw err;
    });
    const reply = await withTimeout(client.command('INFO'), timeoutMs, 'INFO');
    if (reply instanceof RespError) throw new Error(`INFO: ${reply.reply}`);
    if (!Buffer.isBuffer(reply)) throw new Error('INFO: not a bulk string');
    const info = parseInfo(reply.toString('utf8'));
    row.state = 'up';
    row.role = info.role ?? null;
    row.term = num(info.term);
    row.leaderId = info.leader_id || null;
    row.commitIndex = num(info.commit_index);
    row.appliedIndex = num(info.last_applied);
    row.lastLogIndex = num(info.last_log_index);
    row.pid = num(info.process_id);
  } catch (err) {
    const r = reasonOf(err);
    row.state = r.state;
    row.reason = r.reason;
  } finally {
    // A paused node never answers the close either: do not wait for it.
    if (client) void client.close().catch(() => undefined);
  }
  row.health = await health;
  return row;
}

/** One word and a reason from GET /health; never throws. */
export async function probeHealth(host: string, port: number, timeoutMs: number): Promise<string> {
  try {
    const r = await httpGet(host, port, '/health', timeoutMs);
    if (r.status === 200) return 'ok';
    let reason = `HTTP ${r.status}`;
    try {
      const body = JSON.parse(r.body) as { reason?: unknown };
      if (typeof body.reason === 'string' && body.reason !== '') reason = body.reason;
    } catch {
      // not JSON: the status says enough
    }
    return `fail: ${reason}`;
  } catch (err) {
    return `unreachable (${reasonOf(err).reason})`;
  }
}

export function summarize(nodes: NodeRow[]): ClusterStatus {
  const up = nodes.filter((n) => n.state === 'up');
  let leader: NodeRow | null = null;
  for (const n of up) if (n.role === 'leader' && (leader === null || (n.term ?? -1) > (leader.term ?? -1))) leader = n;
  const leaderCommit = leader?.commitIndex ?? null;
  for (const n of up) if (leaderCommit !== null && n.commitIndex !== null) n.lag = Math.max(0, leaderCommit - n.commitIndex);
  const agreeing = leader ? up.filter((n) => n.term === leader!.term && (n.id === leader!.id || n.leaderId === leader!.id)).length : 0;
  return { leader: leader?.id ?? null, term: leader?.term ?? null, leaderCommit, up: up.length, total: nodes.length, agreeing, nodes };
}

export async function probeCluster(hosts: HostEntry[], timeoutMs = PROBE_TIMEOUT_MS): Promise<ClusterStatus> {
  return summarize(await Promise.all(hosts.map((h) => probeNode(h, timeoutMs))));
}

/** A leader that a majority of the cluster follows in its term. */
export function hasStableLeader(s: ClusterStatus): boolean {
  return s.leader !== null && s.agreeing > Math.floor(s.total / 2);
}
