// The cluster's membership as the replica and the node shell share it. The
// configuration lives in the log (config entries) and in snapshots; hosts.txt only
// bootstraps a new cluster. The core sees ids and voter/learner; the addresses ride
// along so every node learns how to reach a member it has never been told about.
import type { NodeId } from '../raft/types.js';

export interface Member {
  id: NodeId;
  host: string;
  peerPort: number;
  clientPort: number;
  /** false: a learner, which receives the log but never votes nor counts toward a quorum. */
  voter: boolean;
  /** A learner the leader promotes to voter by itself once it has caught up (CLUSTER ADD without LEARNER). */
  autoPromote?: boolean;
}

export interface Membership {
  /** Log index of the config entry that set it (0: the bootstrap list from hosts.txt). */
  index: number;
  members: Member[];
}

/** A membership change asked for through the client port (CLUSTER ADD/PROMOTE/REMOVE). */
export type MemberChange =
  | { op: 'add'; member: Omit<Member, 'voter'>; learner: boolean }
  | { op: 'promote'; id: NodeId }
  | { op: 'remove'; id: NodeId };
