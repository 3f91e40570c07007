// Bounded waits on what the cluster reports.
import type { HostEntry } from '../config/hosts.js';
import { hasStableLeader, probeCluster, type ClusterStatus } from './probe.js';

const POLL_MS = 200;

/**
 * Polls until `done` holds for the cluster's status or timeoutMs passes; resolves with
 * the last status either way (`ok` says which).
 */
export async function waitForStatus(
  hosts: HostEntry[],
  done: (s: ClusterStatus) => boolean,
  timeoutMs: number,
  probeTimeoutMs: number,
): Promise<{ ok: boolean; status: ClusterStatus }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await probeCluster(hosts, probeTimeoutMs);
    if (done(status)) return { ok: true, status };
    if (Date.now() >= deadline) return { ok: false, status };
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** A leader a majority follows, and every one of `ids` up. */
export function leaderWith(ids: readonly string[]): (s: ClusterStatus) => boolean {
  return (s) => hasStableLeader(s) && ids.every((id) => s.nodes.find((n) => n.id === id)?.state === 'up');
}
