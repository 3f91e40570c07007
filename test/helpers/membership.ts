// Membership on real processes: a TestCluster whose hosts file lists only the first
// `members` nodes (the bootstrap configuration); the others have addresses and ports
// but join with --join, as an operator would start them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TestCluster, type ClusterOptions } from './cluster.js';
import { waitFor } from './wait.js';
import type { MemberStatus } from '../../lib/replica/membership.js';
import type { Reply } from './resp.js';

export interface MembershipCluster {
  c: TestCluster;
  /** Flags every node gets (timeouts come from the cluster options). */
  flags: string[];
  /** Starts a node that is not in the hosts file, joining through `via`'s client port. */
  join(id: string, via: string, extra?: string[]): void;
}

export async function membershipCluster(opts: Omit<ClusterOptions, 'nodeArgs'> & { members: number }, flags: string[]): Promise<MembershipCluster> {
  const nodeArgs: Record<string, string[]> = {};
  const c = await TestCluster.create({ ...opts, extraArgs: flags, nodeArgs });
  const lines = c.nodes.slice(0, opts.members).map((n) => `${n.id} ${n.host} ${n.peerPort} ${n.clientPort}`);
  fs.writeFileSync(c.hostsFile, lines.join('\n') + '\n');
  const join = (id: string, via: string, extra: string[] = []) => {
    const n = c.node(id);
    const v = c.node(via);
    nodeArgs[id] = [...flags, '--host', n.host, '--peer-port', String(n.peerPort), '--client-port', String(n.clientPort), '--join', `${v.host}:${v.clientPort}`, ...extra];
    c.start(id);
  };
  return { c, flags, join };
}

/** CLUSTER MEMBERS as objects: the replica's own shape of a member's status. */
export type MemberRow = MemberStatus;

export function memberRows(r: Reply): MemberRow[] {
  if (!Array.isArray(r)) throw new Error(`CLUSTER MEMBERS: ${String(r)}`);
  return r.map((row) => {
    const x = row as Reply[];
    return { id: String(x[0]), host: String(x[1]), peerPort: Number(x[2]), clientPort: Number(x[3]), voter: x[4] === 'voter', match: Number(x[5]), leader: Number(x[6]) === 1 };
  });
}

export async function members(c: TestCluster, via: string): Promise<MemberRow[]> {
  return memberRows(await c.command(via, 'CLUSTER', 'MEMBERS'));
}

/** Waits until `via` (the leader, so match indexes are known) shows exactly `voters` as voters and `learners` as learners. */
export async function waitForMembers(c: TestCluster, via: () => Promise<string>, voters: string[], learners: string[] = [], timeoutMs = 60_000): Promise<MemberRow[]> {
  const want = (xs: string[]) => [...xs].sort().join(',');
  return waitFor(
    `voters ${voters.join(',')} and learners ${learners.join(',') || 'none'}`,
    async () => {
      const rows = await members(c, await via());
      const v = rows.filter((r) => r.voter).map((r) => r.id);
      const l = rows.filter((r) => !r.voter).map((r) => r.id);
      return want(v) === want(voters) && want(l) === want(learners) ? rows : undefined;
    },
    timeoutMs,
    100,
  );
}

/** A node's raft.log (for the events it logged). */
export function raftLog(c: TestCluster, id: string): string {
  try {
    return fs.readFileSync(path.join(c.node(id).dataDir, 'logs', 'raft.log'), 'utf8');
  } catch {
    return '';
  }
}
