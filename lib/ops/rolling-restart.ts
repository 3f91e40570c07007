// `raft-cluster rolling-restart`: every node restarted one at a time while the cluster
// serves. Followers go first; the leader goes last, after a CLUSTER TRANSFER, so clients
// see one short pause instead of an election. The next node waits until the previous is
// back, follows the leader, and its commit index is within `catchUpEntries` of the
// leader's: a majority never goes missing, and no node restarts while another catches up.
import { RespError } from '../client/resp-client.js';
import { commandAt } from './admin.js';
import { startNode, stopNode } from './lifecycle.js';
import type { ClusterStatus } from './probe.js';
import { hasStableLeader } from './probe.js';
import type { Io } from './report.js';
import type { ClusterConfig, NodeTarget } from './target.js';
import { waitForStatus } from './wait.js';

export interface RollingOptions {
  /** Per node: ms to be back, following and caught up. */
  timeoutMs: number;
  graceMs: number;
  probeMs: number;
  /** A restarted node counts as caught up once its commit index is this close to the leader's. */
  catchUpEntries: number;
}

/** The restarted node is up, follows the cluster's leader in its term, and is close to its commit index. */
export function caughtUp(id: string, catchUpEntries: number): (s: ClusterStatus) => boolean {
  return (s) => {
    if (!hasStableLeader(s)) return false;
    const n = s.nodes.find((x) => x.id === id);
    if (!n || n.state !== 'up' || n.term !== s.term) return false;
    if (n.id !== s.leader && n.leaderId !== s.leader) return false;
    return s.leaderCommit !== null && n.commitIndex !== null && s.leaderCommit - n.commitIndex <= catchUpEntries;
  };
}

/** Hands leadership away from `leader` (to whichever voter the leader finds most up to date). */
async function transferAway(c: ClusterConfig, io: Io, leader: string, o: RollingOptions): Promise<boolean> {
  const h = c.hosts.find((x) => x.id === leader)!;
  const r = await commandAt(h, ['CLUSTER', 'TRANSFER'], o.timeoutMs).catch((e: Error) => e);
  if (r === 'OK') {
    const w = await waitForStatus(c.hosts, (s) => hasStableLeader(s) && s.leader !== leader, o.timeoutMs, o.probeMs);
    if (w.ok) {
      io.out(`${leader}: handed leadership to ${w.status.leader}`);
      return true;
    }
  }
  io.err(`${leader}: CLUSTER TRANSFER did not move leadership (${r instanceof RespError ? r.reply : r instanceof Error ? r.message : String(r)}); its SIGTERM hands over instead`);
  return false;
}

export async function rollingRestart(c: ClusterConfig, io: Io, o: RollingOptions, targets: NodeTarget[]): Promise<boolean> {
  const first = await waitForStatus(c.hosts, hasStableLeader, o.timeoutMs, o.probeMs);
  if (!first.ok) {
    io.err('no leader that a majority follows: not restarting anything');
    return false;
  }
  const down = first.status.nodes.filter((n) => n.state !== 'up' && targets.some((t) => t.entry.id === n.id)).map((n) => n.id);
  if (down.length > 0) {
    io.err(`${down.join(', ')} not up: a rolling restart needs every node serving first (start them, or name the others)`);
    return false;
  }
  const remaining = new Map(targets.map((t) => [t.entry.id, t]));
  let status = first.status;
  while (remaining.size > 0) {
    // Followers first; the leader (wherever it moved meanwhile) only when nothing else is left.
    const next = [...remaining.keys()].find((id) => id !== status.leader) ?? status.leader!;
    const t = remaining.get(next)!;
    remaining.delete(next);
    const startedAt = Date.now();
    if (next === status.leader) await transferAway(c, io, next, o);
    const stopped = await stopNode(t, o.graceMs);
    if (!stopped.ok) {
      io.err(`${next}: ${stopped.message}; stopping the rolling restart`);
      return false;
    }
    const started = await startNode(c, t, true);
    if (!started.ok) {
      io.err(`${next}: ${started.message}; stopping the rolling restart`);
      return false;
    }
    const w = await waitForStatus(c.hosts, caughtUp(next, o.catchUpEntries), o.timeoutMs, o.probeMs);
    const row = w.status.nodes.find((n) => n.id === next);
    if (!w.ok) {
      // Role, term and leader say which condition failed: still starting (no term yet),
      // not hearing the leader, or behind on the log.
      const seen = row ? `state ${row.state}, ${row.role ?? '?'} in term ${row.term ?? '?'} following ${row.leaderId ?? 'nobody'}, commit ${row.commitIndex ?? '?'}` : 'no row';
      io.err(`${next}: not back and caught up within ${o.timeoutMs} ms (${seen}; leader ${w.status.leader ?? 'none'} in term ${w.status.term ?? '?'} at commit ${w.status.leaderCommit ?? '?'}); stopping the rolling restart`);
      return false;
    }
    io.out(`${next}: restarted (pid ${started.pid ?? '?'}), caught up in ${Date.now() - startedAt} ms (commit ${row!.commitIndex} of the leader's ${w.status.leaderCommit}, leader ${w.status.leader})`);
    status = w.status;
  }
  return true;
}
