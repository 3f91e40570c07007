// Small tools for the MIT 6.824-style scenarios on real processes: a cluster whose
// processes die with the test however it ends, leader waits restricted to a group of
// nodes (the others may be partitioned away), pipelined writes that are never waited
// for, and logs read with `raftd --dump-log`.
import { RespClient, RespError, type RespValue } from '../../lib/client/resp-client.js';
import { TestCluster, type ClusterOptions } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';
import { RETRY_CODES } from './client.js';
import { Nodes } from './nodes.js';
import { commandWithin, infoWithin, replyText, type Info } from './probe.js';
import { dumpLog, type LogEntry } from './verify.js';

export interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A started cluster; stopped on teardown, and killed on exit if the test dies first. */
export async function startCluster(t: Teardown, opts: ClusterOptions): Promise<Nodes> {
  const cluster = await TestCluster.create(opts);
  const nodes = new Nodes(cluster, !!process.env.RAFTD_KEEP_TEST_DIRS);
  t.teardown(() => nodes.stop());
  cluster.startAll();
  return nodes;
}

/**
 * Waits until exactly one node of `group` leads and every node of `group` follows it in
 * its term; returns it.
 */
export async function leaderAmong(nodes: Nodes, group: readonly string[], timeoutMs = 60_000): Promise<{ id: string; term: number }> {
  let seen = 'nothing yet';
  return waitFor(
    `one leader among ${group.join(',')}`,
    async () => {
      const infos = await Promise.all(group.map((id) => infoWithin(nodes.endpoint(id), 1000).catch(() => null)));
      seen = group.map((id, i) => (infos[i] ? `${id}:${infos[i]!.role}/t${infos[i]!.term}/leader=${infos[i]!.leader_id}` : `${id}:no answer`)).join(' ');
      if (infos.some((i) => i === null)) return undefined;
      const leaders = infos.filter((i) => i!.role === 'leader');
      if (leaders.length !== 1) return undefined;
      const id = leaders[0]!.node_id!;
      const term = Number(leaders[0]!.term);
      return infos.every((i) => i!.leader_id === id && Number(i!.term) === term) ? { id, term } : undefined;
    },
    timeoutMs,
    50,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last seen: ${seen}`);
  });
}

export async function infoOf(nodes: Nodes, id: string): Promise<Info> {
  return infoWithin(nodes.endpoint(id), 2000);
}

/**
 * One command through node `id`, resent on a retry reply (TRYAGAIN, TIMEOUT, BUSY,
 * NOTLEADER) or a failed connection until timeoutMs; the reply as text (errors as
 * '(error) ...'). Throws when no reply came at all. Resending is safe: reads are
 * idempotent and writes carry a REQ id.
 */
export async function cmd(nodes: Nodes, id: string, args: (string | number)[], timeoutMs = 5000): Promise<string | number | null> {
  const deadline = performance.now() + timeoutMs;
  let last: Error | RespValue = new Error('no attempt');
  for (;;) {
    const left = deadline - performance.now();
    if (left <= 0) break;
    try {
      last = await commandWithin(nodes.endpoint(id), args, left);
      if (!(last instanceof RespError && RETRY_CODES.has(last.code))) break;
    } catch (err) {
      last = err as Error;
    }
    await sleep(Math.min(100, Math.max(0, deadline - performance.now())));
  }
  if (last instanceof Error && !(last instanceof RespError)) throw last;
  return replyText(last);
}

/**
 * Sends every command at once on one connection and does not wait for the replies:
 * returns the connection (destroy it when done) and the replies' promise.
 */
export async function fireAndForget(nodes: Nodes, id: string, commands: (string | number)[][]): Promise<{ conn: RespClient; replies: Promise<RespValue[]> }> {
  const ep = nodes.endpoint(id);
  const conn = await RespClient.connect(ep.host, ep.clientPort, { connectTimeoutMs: 2000, access: ep.access });
  const replies = Promise.all(commands.map((c) => conn.command(...c))).catch(() => [] as RespValue[]);
  return { conn, replies };
}

export async function logOf(nodes: Nodes, id: string): Promise<LogEntry[]> {
  return (await dumpLog(nodes.node(id).dataDir)).entries;
}

export function isError(v: unknown): boolean {
  return v instanceof RespError || (typeof v === 'string' && v.startsWith('(error)'));
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
