// CLUSTER commands from the operator's machine: sent over a node's client port like any
// client's, to the leader when one is known (followers forward them too, but the
// leader answers without a hop). A node that does not answer is skipped, never fatal.
import type { HostEntry } from '../config/hosts.js';
import { RespClient, RespError, type Arg, type RespValue } from '../client/resp-client.js';
import { getProbeAccess, probeCluster, type ClusterStatus } from './probe.js';

/** A CLUSTER TRANSFER answers once the target leads: allow it more than a probe. */
export const ADMIN_TIMEOUT_MS = 10_000;

export interface AdminReply {
  /** The node that answered. */
  via: string;
  reply: RespValue;
}

/** One command to one node; rejects when the node cannot be reached or takes too long. */
export async function commandAt(h: Pick<HostEntry, 'host' | 'clientPort'>, args: Arg[], timeoutMs = ADMIN_TIMEOUT_MS): Promise<RespValue> {
  const client = await RespClient.connect(h.host, h.clientPort, { connectTimeoutMs: Math.min(timeoutMs, 2000), access: getProbeAccess() });
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      client.command(...args),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${String(args[0])} ${String(args[1] ?? '')} at ${h.host}:${h.clientPort} timed out after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    client.destroy();
  }
}

/** The leader first, then every other node that answered INFO: the first that replies wins. */
export async function adminCommand(hosts: HostEntry[], args: Arg[], probeMs: number, status?: ClusterStatus): Promise<AdminReply> {
  const s = status ?? (await probeCluster(hosts, probeMs));
  const up = s.nodes.filter((n) => n.state === 'up').map((n) => n.id);
  const order = [...(s.leader ? [s.leader] : []), ...up.filter((id) => id !== s.leader)];
  let lastErr: Error = new Error(`no node answers (tried ${hosts.map((h) => `${h.host}:${h.clientPort}`).join(', ')})`);
  for (const id of order) {
    const h = hosts.find((x) => x.id === id)!;
    try {
      return { via: id, reply: await commandAt(h, args) };
    } catch (err) {
      lastErr = err as Error;
    }
  }
  throw lastErr;
}

/** A reply as redis-cli would print it, one line per element. */
export function renderReply(v: RespValue, indent = ''): string[] {
  if (v instanceof RespError) return [`${indent}(error) ${v.reply}`];
  if (v === null) return [`${indent}(nil)`];
  if (Buffer.isBuffer(v)) return v.toString('utf8').split(/\r?\n/).filter((l) => l !== '').map((l) => indent + l);
  if (typeof v === 'string') return [indent + v];
  if (typeof v === 'number') return [`${indent}${String(v)}`];
  if (Array.isArray(v)) {
    const out: string[] = [];
    for (const e of v) out.push(...renderReply(e as RespValue, Array.isArray(e) ? indent + '  ' : indent));
    return out;
  }
  return [indent + String(v)];
}
