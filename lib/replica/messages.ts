// The replica's inputs and outputs that cross a thread or a socket: forwarded client
// requests, what the gateway hands in, what it gets back, and the status it shows.
// The actors' channel unions (actors/protocol.ts) are built from these; lib never
// imports actors.
import type { Message, NodeId, Role } from '../raft/types.js';
import type { MemberChange } from './membership-types.js';

/**
 * Not Raft: a follower hands client writes to the leader over the same peer
 * connection and gets the state machine's replies back. `fid` is the follower's id for
 * the request, unique within one `epoch` (a random number the follower draws at every
 * start), so a reply queued for an earlier incarnation of the follower never matches
 * a request of this one. Replies carry the RESP bytes the leader's state machine produced.
 */
export type ForwardMessage =
  | { type: 'fwdWrite'; term: number; from: NodeId; to: NodeId; epoch: number; items: ForwardWriteItem[] }
  | { type: 'fwdReply'; term: number; from: NodeId; to: NodeId; epoch: number; replies: ForwardReplyItem[] };

export interface ForwardWriteItem {
  fid: number;
  tid: string;
  data: Uint8Array;
}

export interface ForwardReplyItem {
  fid: number;
  ok: boolean;
  reply: Uint8Array;
  code: string;
  message: string;
}

/**
 * InstallSnapshot, outside the core so a snapshot never sits in memory whole: the
 * leader's replica streams the snapshot file one chunk at a time (`offset` into it) and
 * the follower's answers each, saying where the next chunk must start.
 */
export interface SnapChunk {
  type: 'snapChunk';
  term: number;
  from: NodeId;
  to: NodeId;
  index: number;
  snapTerm: number;
  offset: number;
  data: Uint8Array;
  done: boolean;
}

export interface SnapAck {
  type: 'snapAck';
  term: number;
  from: NodeId;
  to: NodeId;
  index: number;
  snapTerm: number;
  /** The log writer's verdict on the chunk; 'refused': the sender's term is stale. */
  status: 'appended' | 'ignored' | 'gap' | 'installed' | 'invalid' | 'refused';
  nextOffset: number;
}

export type SnapshotMessage = SnapChunk | SnapAck;

/** Everything that crosses a peer connection. */
export type PeerMessage = Message | ForwardMessage | SnapshotMessage;

export type ReplyCode = 'TRYAGAIN' | 'BUSY' | 'TIMEOUT' | 'ERR';

/** `reply`: RESP bytes from the state machine (or the read it ran). */
export type ClientReply = { ok: true; reply: Uint8Array } | { ok: false; code: ReplyCode; message: string };

/** A write is one encoded command for the log; a read is run after ReadIndex. */
export type GatewayRequest =
  | { reqId: number; kind: 'write'; tid: string; data: Uint8Array }
  | { reqId: number; kind: 'read'; args: Uint8Array[] }
  /** CLUSTER TRANSFER: hand leadership to `target` (null: the most up-to-date follower); answered once it leads. */
  | { reqId: number; kind: 'transfer'; target: string | null }
  /** CLUSTER MEMBERS: this node's view of the configuration, answered at once on any node (a RESP array). */
  | { reqId: number; kind: 'members' }
  /** CLUSTER ADD/PROMOTE/REMOVE, on any node: forwarded to the leader; answered once the config entry commits. */
  | { reqId: number; kind: 'member'; change: MemberChange };

export interface NodeStatus {
  id: NodeId;
  role: Role;
  term: number;
  leader: NodeId | null;
  /** host:port of the leader's client port, when a leader is known. */
  leaderClient: string | null;
  commitIndex: number;
  appliedIndex: number;
  lastIndex: number;
  /** Peer messages this node handed to its replicators since it started (idle clusters should send few). */
  msgsSent: number;
  keys: number;
  peers: { id: NodeId; match: number; lag: number; connected: boolean; state?: 'probe' | 'replicate' | 'snapshot' }[];
  /** The configuration in effect as this node sees it (match: known on the leader only). */
  members?: { id: NodeId; host: string; peerPort: number; clientPort: number; voter: boolean; match: number; leader: boolean }[];
  /** The newest durable snapshot, the size of the last one taken or received, transfers under way, and where the log starts. */
  snapshot?: { index: number; term: number; bytes: number; sending: number; firstLogIndex: number };
}
