// Membership changes above the core: what CLUSTER ADD/PROMOTE/REMOVE ask for, checked
// against the configuration in effect (each refusal with a message that names the
// problem), how a change travels to the leader inside a forwarded write, and the
// CLUSTER MEMBERS reply. Pure.
import type { NodeId, PeerProgress } from '../raft/types.js';
import * as w from '../util/resp-writer.js';
import type { Member, MemberChange, Membership } from './membership-types.js';

/** A forwarded write whose tid starts with this carries a membership change, not a command. */
export const MEMBER_TID_PREFIX = '\u0000member:';
/** A learner added without LEARNER is promoted once its match is within this many entries of the leader's last index. */
export const PROMOTE_LAG_ENTRIES_MAX = 16;
const HOST_BYTES_MAX = 256;
const ID_BYTES_MAX = 256;

export type ChangeResult = { ok: true; members: Member[] } | { ok: false; message: string };

/** The member list after `change`, or why it is refused. One voter more or less at most: single-server changes. */
export function applyChange(cur: Membership, change: MemberChange): ChangeResult {
  const members = cur.members;
  const find = (id: NodeId): Member | undefined => members.find((m) => m.id === id);
  switch (change.op) {
    case 'add': {
      const n = change.member;
      if (find(n.id) !== undefined) return { ok: false, message: `member ${n.id} already exists` };
      for (const m of members) {
        if (m.host === n.host && (m.peerPort === n.peerPort || m.clientPort === n.clientPort || m.peerPort === n.clientPort || m.clientPort === n.peerPort)) {
          return { ok: false, message: `address ${n.host} port ${m.peerPort === n.peerPort || m.clientPort === n.peerPort ? n.peerPort : n.clientPort} is already used by member ${m.id}` };
        }
      }
      const added: Member = { id: n.id, host: n.host, peerPort: n.peerPort, clientPort: n.clientPort, voter: false };
      if (!change.learner) added.autoPromote = true;
      return { ok: true, members: [...members.map((m) => ({ ...m })), added] };
    }
    case 'promote': {
      const m = find(change.id);
      if (m === undefined) return { ok: false, message: `no member ${change.id}` };
      if (m.voter) return { ok: false, message: `member ${change.id} is a voter already` };
      return { ok: true, members: members.map((x) => (x.id === change.id ? { id: x.id, host: x.host, peerPort: x.peerPort, clientPort: x.clientPort, voter: true } : { ...x })) };
    }
    case 'remove': {
      const m = find(change.id);
      if (m === undefined) return { ok: false, message: `no member ${change.id}` };
      if (m.voter && members.filter((x) => x.voter).length === 1) return { ok: false, message: `cannot remove ${change.id}: it is the last voter` };
      return { ok: true, members: members.filter((x) => x.id !== change.id).map((x) => ({ ...x })) };
    }
  }
}

/**
 * Has a learner caught up with the leader (its progress, on the leader)? Replicating, and
 * within PROMOTE_LAG_ENTRIES_MAX of the leader's last index, past the configuration in effect. Only such a learner is promoted:
 * a voter that cannot vote for an up-to-date candidate (it holds no log, or no configuration
 * yet) could leave the cluster without a majority.
 */
export function caughtUp(pr: PeerProgress | undefined, leaderLast: number, configIndex: number, commitIndex: number): boolean {
  // It must hold the configuration in effect too (a voter that does not know it is one never
  // campaigns), and every committed entry (a node that joined campaigns only once its durable
  // log reached the commit index a leader told it; what it acknowledged is durable).
  return pr !== undefined && pr.state === 'replicate' && pr.match >= configIndex && pr.match >= commitIndex && pr.match + PROMOTE_LAG_ENTRIES_MAX >= leaderLast;
}

export function isMemberTid(tid: string): boolean {
  return tid.startsWith(MEMBER_TID_PREFIX);
}

export function encodeChange(c: MemberChange): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(c));
}

/** A change as a forwarded write carries it; null when it is not one (a damaged or forged message). */
export function decodeChange(data: Uint8Array): MemberChange | null {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch {
    return null;
  }
  const r = v as Record<string, unknown>;
  if (typeof r !== 'object' || r === null) return null;
  const okId = (x: unknown): x is string => typeof x === 'string' && x.length > 0 && x.length <= ID_BYTES_MAX;
  if ((r['op'] === 'promote' || r['op'] === 'remove') && okId(r['id'])) return { op: r['op'], id: r['id'] };
  if (r['op'] !== 'add' || typeof r['learner'] !== 'boolean') return null;
  const m = r['member'] as Record<string, unknown> | null;
  if (typeof m !== 'object' || m === null || !okId(m['id']) || typeof m['host'] !== 'string' || m['host'].length > HOST_BYTES_MAX) return null;
  if (!isPort(m['peerPort']) || !isPort(m['clientPort'])) return null;
  return { op: 'add', learner: r['learner'], member: { id: m['id'], host: m['host'], peerPort: m['peerPort'], clientPort: m['clientPort'] } };
}

export function isPort(p: unknown): p is number {
  return typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= 65535;
}

/** One member as status and CLUSTER MEMBERS show it. */
export interface MemberStatus {
  id: NodeId;
  host: string;
  peerPort: number;
  clientPort: number;
  voter: boolean;
  /** On the leader: the member's match index (its own last index for itself); elsewhere 0 for others. */
  match: number;
  leader: boolean;
}

export function memberStatuses(m: Membership, self: NodeId, selfLast: number, leader: NodeId | null, progress: Record<NodeId, PeerProgress>): MemberStatus[] {
  return m.members.map((x) => ({
    id: x.id,
    host: x.host,
    peerPort: x.peerPort,
    clientPort: x.clientPort,
    voter: x.voter,
    match: x.id === self ? selfLast : (progress[x.id]?.match ?? 0),
    leader: x.id === leader,
  }));
}

/** CLUSTER MEMBERS: one array per member: id, host, peer port, client port, voter|learner, match, leader (1/0). */
export function membersReply(list: readonly MemberStatus[]): Buffer {
  return w.array(list.map((x) => w.array([w.bulk(x.id), w.bulk(x.host), w.integer(x.peerPort), w.integer(x.clientPort), w.bulk(x.voter ? 'voter' : 'learner'), w.integer(x.match), w.integer(x.leader ? 1 : 0)])));
}
