// Which peers a node keeps a replicator for, and accepts connections from, as the
// membership changes: every member of the configuration in effect but itself. A node
// that joins has no configuration until the leader's log or snapshot brings one, so
// until then it talks to the cluster it was told about when it asked to join. Pure:
// the node shell (raft-node.ts) spawns and stops the actors the plan names.
import type { PeerAddr } from '../actor/protocol.js';
import type { HostEntry } from '../config/hosts.js';
import type { NodeId } from '../raft/types.js';
import type { Member, Membership } from '../replica/membership-types.js';

export interface PeerPlan {
  /** New peers, and peers whose address changed (stopped first, see `remove`). */
  add: PeerAddr[];
  /** Peers that left, and peers whose address changed. */
  remove: NodeId[];
}

export interface PeerView {
  /** The configuration in effect. */
  current: Membership;
  /** The one before it (empty at bootstrap). */
  previous: readonly Member[];
  /** Is `current` known committed? Until then the members it dropped still hear from the leader (they learn they were removed). */
  committed: boolean;
  /** The leader this node follows (or is), if known. */
  leader: NodeId | null;
}

/** Where a peer is dialled, cut from a host entry or a member (which carry more). */
export function peerAddrOf(x: PeerAddr): PeerAddr {
  return { id: x.id, host: x.host, peerPort: x.peerPort };
}

/**
 * The peers a node keeps a replicator for and accepts: the members but itself; while
 * the configuration is uncommitted, the members of the one before too; and always the
 * leader it follows, member or not (a leader that appended its own removal leads until
 * that commits, and needs its followers' answers for it). Before a node has any
 * configuration (it is joining), `fallback`: the cluster it asked to join.
 */
export function wantedPeers(v: PeerView, self: NodeId, fallback: readonly PeerAddr[]): PeerAddr[] {
  const out = new Map<NodeId, PeerAddr>();
  const add = (x: PeerAddr) => {
    if (x.id !== self && !out.has(x.id)) out.set(x.id, peerAddrOf(x));
  };
  if (v.current.members.length === 0) fallback.forEach(add);
  v.current.members.forEach(add);
  if (!v.committed) v.previous.forEach(add);
  if (v.leader !== null && !out.has(v.leader)) {
    const known = v.current.members.find((x) => x.id === v.leader) ?? v.previous.find((x) => x.id === v.leader) ?? fallback.find((x) => x.id === v.leader);
    if (known !== undefined) add(known);
  }
  return [...out.values()];
}

export function planPeers(current: ReadonlyMap<NodeId, PeerAddr>, wanted: readonly PeerAddr[]): PeerPlan {
  const want = new Map(wanted.map((p) => [p.id, p]));
  const add: PeerAddr[] = [];
  const remove: NodeId[] = [];
  for (const [id, p] of current) {
    const w = want.get(id);
    if (w === undefined) remove.push(id);
    else if (w.host !== p.host || w.peerPort !== p.peerPort) {
      remove.push(id);
      add.push(w);
    }
  }
  for (const w of wanted) if (!current.has(w.id)) add.push(w);
  return { add, remove };
}

/** hosts.txt's lines as bootstrap members: every one a voter. */
export function membersOfHosts(hosts: readonly HostEntry[]): Member[] {
  return hosts.map((h) => ({ id: h.id, host: h.host, peerPort: h.peerPort, clientPort: h.clientPort, voter: true }));
}

/**
 * How the configuration on disk differs from hosts.txt, one phrase per difference
 * (empty: none). The disk wins; this is for the warning that says so.
 */
export function differencesFromHosts(m: Membership, hosts: readonly HostEntry[]): string[] {
  const out: string[] = [];
  const byId = new Map(hosts.map((h) => [h.id, h]));
  for (const x of m.members) {
    const h = byId.get(x.id);
    if (h === undefined) out.push(`${x.id} (${x.host}:${x.peerPort}) is a ${x.voter ? 'voter' : 'learner'} but not in hosts.txt`);
    else if (h.host !== x.host || h.peerPort !== x.peerPort || h.clientPort !== x.clientPort) {
      out.push(`${x.id} is at ${x.host} peer ${x.peerPort} client ${x.clientPort}, hosts.txt says ${h.host} peer ${h.peerPort} client ${h.clientPort}`);
    } else if (!x.voter) out.push(`${x.id} is a learner`);
  }
  const ids = new Set(m.members.map((x) => x.id));
  for (const h of hosts) if (!ids.has(h.id)) out.push(`${h.id} is in hosts.txt but not a member`);
  return out;
}
