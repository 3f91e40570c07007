// The contract between the pure Raft core and whatever drives it (the node's
// actors in production, the seeded simulator in tests). Nothing here does I/O.
import type { Member } from '../replica/membership-types.js';
import type { CoreEventName } from './events.js';

export type NodeId = string;

/**
 * noop: the entry a new leader appends so it can commit entries of earlier terms.
 * config: a cluster membership (lib/raft/config-entry.ts encodes it); it takes effect
 * on every node as soon as it is appended, not when it commits.
 */
export type EntryKind = 'normal' | 'noop' | 'config';

export interface Entry {
  index: number;
  term: number;
  kind: EntryKind;
  /** Client request id ('' when the client gave none); the original system's `tid`. */
  tid: string;
  data: Uint8Array;
}

/** What must be durable before any message that depends on it leaves the node. */
export interface HardState {
  term: number;
  vote: NodeId | null;
}

export type Role = 'follower' | 'precandidate' | 'candidate' | 'leader';

/**
 * Peer messages. `pre` marks PreVote traffic (term is the term the sender would
 * campaign in; receivers never adopt it). Heartbeats are `append` with no entries.
 * `ctx` on append/appendResp carries a ReadIndex round id (0 = none).
 */
export type Message =
  | {
      type: 'vote';
      term: number;
      from: NodeId;
      to: NodeId;
      pre: boolean;
      /** A campaign the old leader asked for (TimeoutNow): voters set their lease aside. */
      transfer: boolean;
      lastLogIndex: number;
      lastLogTerm: number;
    }
  | {
      type: 'voteResp';
      term: number;
      from: NodeId;
      to: NodeId;
      pre: boolean;
      granted: boolean;
      /** A leader's answer to a node its committed configuration does not hold: stop campaigning (absent: false). */
      removed?: boolean;
    }
  | {
      type: 'append';
      term: number;
      from: NodeId;
      to: NodeId;
      prevLogIndex: number;
      prevLogTerm: number;
      entries: Entry[];
      leaderCommit: number;
      ctx: number;
    }
  | {
      type: 'appendResp';
      term: number;
      from: NodeId;
      to: NodeId;
      success: boolean;
      /** On success: prevLogIndex + entries.length of the request answered. */
      matchIndex: number;
      /** On failure: the prevLogIndex that was rejected (lets the leader drop stale rejections). */
      rejectIndex: number;
      /** On failure: the follower's term at rejectIndex (0 if its log is shorter) ... */
      conflictTerm: number;
      /** ... and the first index the follower holds of conflictTerm (or its lastIndex+1). */
      conflictIndex: number;
      ctx: number;
    }
  | { type: 'readIndex'; term: number; from: NodeId; to: NodeId; ctx: number }
  /** Leadership transfer (dissertation 3.10): the leader tells an up-to-date follower to campaign now. */
  | { type: 'timeoutNow'; term: number; from: NodeId; to: NodeId }
  | { type: 'readIndexResp'; term: number; from: NodeId; to: NodeId; ctx: number; index: number; ok: boolean };

export type MessageType = Message['type'];

export interface CoreConfig {
  id: NodeId;
  /**
   * The bootstrap voters (hosts.txt), including `id`: used only when neither the snapshot
   * nor the log holds a configuration. Empty for a node that joins an existing cluster.
   */
  peers: NodeId[];
  /** The bootstrap members with their addresses (overrides `peers` when given). */
  members?: Member[];
  /** A node joining an existing cluster: no configuration until a leader's log or snapshot brings one. */
  join?: boolean;
  /** Base election timeout in ticks; the randomized timeout is in [electionTicks, 2*electionTicks). */
  electionTicks: number;
  heartbeatTicks: number;
  preVote: boolean;
  checkQuorum: boolean;
  /** Bound on append messages in flight to one peer in the replicate state. */
  inflightMax: number;
  /**
   * Bound on the bytes of entries in flight to one peer in the replicate state (0 or
   * absent: none); one append may go past it.
   */
  inflightBytesMax?: number;
  /** Bound on the encoded size of entries in one append message (at least one entry is always sent). */
  appendBytesMax: number;
  /** Bound on entries accepted by one propose call and on the uncommitted tail. */
  uncommittedEntriesMax: number;
}

/** Something for the driver's log (per-actor logs); the core never writes anywhere itself. */
export interface RaftEvent {
  level: 'debug' | 'info' | 'warn' | 'error';
  event: CoreEventName;
  term: number;
  [field: string]: unknown;
}

/**
 * Output of the core since the last ready() call. The driver must:
 * 1. persist hardState (if not null) and entries (entries[0].index may be at or below
 *    the last index already stored: storage drops its suffix from there first);
 * 2. send `messagesNow` at once (they never depend on step 1);
 * 3. send `messages` only after step 1 is durable;
 * 4. apply `committed` in order (these are committed, so safe before local persistence);
 * 5. after the write is durable, call persisted(lastIndex, lastTerm) of the entries written.
 */
export interface Ready {
  hardState: HardState | null;
  entries: Entry[];
  messagesNow: Message[];
  messages: Message[];
  committed: Entry[];
  /** ReadIndex rounds that completed: a read with that ctx may be served once applied >= index. */
  reads: { ctx: number; index: number }[];
  /** ReadIndex rounds that failed (leadership lost, not leader, or a newer term). */
  readsFailed: number[];
  /** Leader: peers whose next entries are compacted away; send each the newest snapshot, then report it (reportSnapshot). */
  sendSnapshot: NodeId[];
  events: RaftEvent[];
}

export interface PeerProgress {
  match: number;
  next: number;
  state: 'probe' | 'replicate' | 'snapshot';
  inflight: number;
  recentActive: boolean;
}

export interface CoreStatus {
  id: NodeId;
  role: Role;
  term: number;
  vote: NodeId | null;
  leader: NodeId | null;
  commitIndex: number;
  /** Highest index handed out in Ready.committed. */
  appliedIndex: number;
  lastIndex: number;
  lastTerm: number;
  /** Highest index known durable on this node. */
  stableIndex: number;
  /** The log holds entries from firstIndex on; what lies below is in a snapshot. */
  firstIndex: number;
  /** Only on the leader; keyed by peer id (not including self). */
  progress: Record<NodeId, PeerProgress>;
}

export type ProposeResult =
  | { ok: true; firstIndex: number; term: number }
  | { ok: false; code: 'NOT_LEADER'; leader: NodeId | null }
  | { ok: false; code: 'BUSY' }
  /** A leadership transfer is under way: writes wait for its outcome (at most an election timeout). */
  | { ok: false; code: 'TRANSFERRING' };

export type ProposeConfigResult =
  | { ok: true; index: number; term: number }
  | { ok: false; code: 'NOT_LEADER'; leader: NodeId | null }
  /** The leader has not committed an entry of its term yet (dissertation 4.1's fix), or a transfer is under way. */
  | { ok: false; code: 'TRYAGAIN'; message: string }
  /** A configuration change is still uncommitted: one at a time. */
  | { ok: false; code: 'PENDING'; message: string };

export type TransferResult = { ok: true; target: NodeId } | { ok: false; code: 'NOT_LEADER' | 'UNKNOWN_PEER' | 'SELF' | 'IN_PROGRESS'; message: string };

/** The last entry a snapshot covers: the log continues after it. */
export interface SnapshotMeta {
  index: number;
  term: number;
}

export interface Restored {
  hardState: HardState;
  /** The newest snapshot the state machine was restored from, if any; `entries` continue after it. */
  snapshot?: SnapshotMeta | null;
  /** The configuration stored in that snapshot's header (a Membership; null/absent: none, e.g. an older snapshot). */
  snapshotConfig?: unknown;
  entries: Entry[];
}
