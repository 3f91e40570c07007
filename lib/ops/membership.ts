// `raft-cluster add` and `remove`: membership changes from the operator's machine. add
// starts the new node the way `up` starts nodes (here, or through --exec), with --join
// pointing at the leader's client port, so the node asks to be added itself; remove
// sends CLUSTER REMOVE and then stops the node. Nodes added this way are not in
// hosts.txt: the cluster's CLUSTER MEMBERS is where the other commands find them.
import { RespError } from '../client/resp-client.js';
import type { HostEntry } from '../config/hosts.js';
import { adminCommand } from './admin.js';
import { OpsError } from './errors.js';
import { startNode, stopNode } from './lifecycle.js';
import { probeCluster } from './probe.js';
import type { Io } from './report.js';
import { targetFor, type ClusterConfig } from './target.js';

const POLL_MS = 200;

export interface MemberOptions {
  timeoutMs: number;
  graceMs: number;
  probeMs: number;
}

export interface MemberLine {
  id: string;
  host: string;
  peerPort: number;
  clientPort: number;
  voter: boolean;
}

/** CLUSTER MEMBERS through the leader (or any node that answers). */
export async function clusterMembers(hosts: HostEntry[], probeMs: number): Promise<MemberLine[]> {
  const r = await adminCommand(hosts, ['CLUSTER', 'MEMBERS'], probeMs);
  if (!Array.isArray(r.reply)) throw new OpsError('OPS_CONFIG', `CLUSTER MEMBERS at ${r.via}: ${r.reply instanceof RespError ? r.reply.reply : String(r.reply)}`);
  return r.reply.map((row) => {
    const x = row as unknown[];
    const s = (v: unknown) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v));
    return { id: s(x[0]), host: s(x[1]), peerPort: Number(x[2]), clientPort: Number(x[3]), voter: s(x[4]) === 'voter' };
  });
}

/** hosts.txt plus the members it does not list (nodes added since): what status and restarts act on. */
export async function hostsWithMembers(c: ClusterConfig, probeMs: number): Promise<HostEntry[]> {
  const out = [...c.hosts];
  try {
    for (const m of await clusterMembers(c.hosts, probeMs)) {
      if (!out.some((h) => h.id === m.id)) out.push({ id: m.id, host: m.host, peerPort: m.peerPort, clientPort: m.clientPort, metricsPort: null });
    }
  } catch {
    // No node answers: hosts.txt is all there is.
  }
  return out;
}

async function waitMembers(hosts: HostEntry[], done: (ms: MemberLine[]) => boolean, o: MemberOptions): Promise<MemberLine[] | null> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    const ms = await clusterMembers(hosts, o.probeMs).catch(() => null);
    if (ms !== null && done(ms)) return ms;
    if (Date.now() >= deadline) return null;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

export async function addMember(c: ClusterConfig, io: Io, o: MemberOptions, entry: HostEntry, learner: boolean): Promise<boolean> {
  const hosts = await hostsWithMembers(c, o.probeMs);
  const now = await clusterMembers(hosts, o.probeMs).catch(() => []);
  if (now.some((m) => m.id === entry.id)) {
    io.err(`${entry.id}: already a member`);
    return false;
  }
  const s = await probeCluster(hosts, o.probeMs);
  const seed = hosts.find((h) => h.id === s.leader) ?? hosts.find((h) => s.nodes.some((n) => n.id === h.id && n.state === 'up'));
  if (seed === undefined) {
    io.err('no node answers: nothing to join');
    return false;
  }
  const flags = ['--host', entry.host, '--peer-port', String(entry.peerPort), '--client-port', String(entry.clientPort), '--join', `${seed.host}:${seed.clientPort}`, ...(learner ? ['--learner'] : [])];
  const t = targetFor({ ...c, raftdArgs: [...c.raftdArgs, ...flags] }, entry);
  const started = await startNode({ ...c, raftdArgs: [...c.raftdArgs, ...flags] }, t);
  (started.ok ? io.out : io.err)(`${entry.id}: ${started.message}`);
  if (!started.ok) return false;
  const ms = await waitMembers(hosts, (ms) => ms.some((m) => m.id === entry.id && m.voter === !learner), o);
  if (ms === null) {
    io.err(`${entry.id}: not a ${learner ? 'learner' : 'voter'} within ${o.timeoutMs} ms (see ${t.outFile})`);
    return false;
  }
  io.out(`${entry.id}: joined through ${seed.id} as a ${learner ? 'learner' : 'voter'}; members now ${ms.map((m) => `${m.id}${m.voter ? '' : ' (learner)'}`).join(', ')}`);
  return true;
}

export async function removeMember(c: ClusterConfig, io: Io, o: MemberOptions, id: string): Promise<boolean> {
  const hosts = await hostsWithMembers(c, o.probeMs);
  const entry = hosts.find((h) => h.id === id);
  const r = await adminCommand(hosts.filter((h) => h.id !== id), ['CLUSTER', 'REMOVE', id], o.probeMs).catch((e: Error) => ({ via: '?', reply: new RespError(`ERR ${e.message}`) }));
  if (r.reply instanceof RespError && !/outcome unknown/.test(r.reply.reply)) {
    io.err(`${id}: ${r.reply.reply}`);
    return false;
  }
  // A removed leader steps down before it answers: the outcome is then looked up.
  const ms = await waitMembers(hosts.filter((h) => h.id !== id), (ms) => !ms.some((m) => m.id === id), o);
  if (ms === null) {
    io.err(`${id}: still a member after ${o.timeoutMs} ms`);
    return false;
  }
  io.out(`${id}: removed; members now ${ms.map((m) => `${m.id}${m.voter ? '' : ' (learner)'}`).join(', ')}`);
  if (entry === undefined) return true;
  const stopped = await stopNode(targetFor(c, entry), o.graceMs);
  (stopped.ok ? io.out : io.err)(`${id}: ${stopped.message}`);
  return stopped.ok;
}
