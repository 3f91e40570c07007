// One protocol file imported by both ends of every actor channel. Each channel is a
// discriminated union; every handler ends its switch with assertNever.
import type { Entry, HardState, Message, NodeId, Role } from '../lib/raft/types.js';
import type { LogLevel } from '../lib/log/logger.js';

/** What every actor gets in workerData. */
export interface ActorBase {
  nodeId: NodeId;
  /** The node's data directory; the actor logs to <dataDir>/logs/<actor>.log. */
  dataDir: string;
  logLevel: LogLevel;
  logFileBytesMax: number;
}

// ---------------------------------------------------------------- election timer
export interface TimerData extends ActorBase {
  tickMs: number;
}
export type TimerIn = { type: 'stop' } | { type: 'term'; term: number; role: Role } | TimerCadenceIn;
// -- bench (issue 11): added variant, kept in one block.
/**
 * The core's heartbeat interval in ticks, sent once after the timer starts. With it
 * the timer hands a leader its ticks one heartbeat interval at a time (each delivery
 * then carries exactly one heartbeat) instead of one by one; without it, one by one.
 */
export type TimerCadenceIn = { type: 'cadence'; heartbeatTicks: number };
// -- end bench
/** `count`: ticks due since the last message (more than 1 when the thread ran late). */
export type TimerOut = { type: 'tick'; count: number };

// ---------------------------------------------------------------- log writer
export interface LogWriterData extends ActorBase {
  /** A segment file is closed and a new one started past this size. */
  segmentBytesMax: number;
  /** Bound on entries in one loadChunk message during startup. */
  loadChunkEntriesMax: number;
}
export type LogWriterIn =
  | { type: 'load' }
  /**
   * Persist hardState (atomically) and entries. When entries[0].index <= the last
   * stored index, the stored suffix from there is dropped first. Writes are applied
   * in seq order; one fdatasync covers every write received before it started.
   */
  | { type: 'write'; seq: number; hardState: HardState | null; entries: Entry[] }
  | { type: 'stop' };
export type LogWriterOut =
  | { type: 'loadChunk'; entries: Entry[] }
  | { type: 'loaded'; hardState: HardState; firstIndex: number; lastIndex: number; repairedTail: boolean }
  /** Every write with seq <= this is durable. */
  | { type: 'written'; seq: number };

// ---------------------------------------------------------------- peer transport
/**
 * Not Raft: a follower hands client writes to the leader over the same peer
 * connection and gets the state machine's replies back. `fid` is the follower's id for
 * the request; replies carry the RESP bytes the leader's state machine produced.
 */
export type ForwardMessage =
  | { type: 'fwdWrite'; term: number; from: NodeId; to: NodeId; items: { fid: number; tid: string; data: Uint8Array }[] }
  | {
      type: 'fwdReply';
      term: number;
      from: NodeId;
      to: NodeId;
      replies: { fid: number; ok: boolean; reply: Uint8Array; code: string; message: string }[];
    };

/** Everything that crosses a peer connection. */
export type PeerMessage = Message | ForwardMessage;

/** Address of a node as hosts.txt gives it. */
export interface PeerAddr {
  id: NodeId;
  host: string;
  peerPort: number;
}

export interface TransportLimits {
  /** Largest frame accepted or sent, in bytes (length prefix excluded). */
  frameBytesMax: number;
  /** Bound on messages queued for a peer while its connection is down or slow. */
  queueMessagesMax: number;
  /** Reconnect backoff: first delay, cap; each attempt doubles, with full jitter. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  connectTimeoutMs: number;
}

/** Replicator: owns this node's one outbound connection to one peer. */
export interface ReplicatorData extends ActorBase {
  clusterId: string;
  self: PeerAddr;
  peer: PeerAddr;
  limits: TransportLimits;
}
export type ReplicatorIn =
  /** Everything this node sends to the peer in one Ready, sent as one frame. */
  | { type: 'send'; messages: PeerMessage[] }
  | { type: 'term'; term: number }
  | { type: 'stop' };
export type ReplicatorOut =
  | { type: 'connected'; peer: NodeId }
  | { type: 'disconnected'; peer: NodeId; reason: string }
  /** Messages dropped because the queue was full or the connection was down (Raft retries). */
  | { type: 'dropped'; peer: NodeId; count: number };

/** Peer server: accepts the inbound connections of every peer. */
export interface PeerServerData extends ActorBase {
  clusterId: string;
  self: PeerAddr;
  peers: PeerAddr[];
  limits: TransportLimits;
}
export type PeerServerIn = { type: 'term'; term: number } | { type: 'stop' };
export type PeerServerOut =
  /** One decoded frame from a peer. */
  | { type: 'received'; from: NodeId; messages: PeerMessage[] }
  | { type: 'peerUp'; peer: NodeId; remote: string }
  | { type: 'peerDown'; peer: NodeId; reason: string };

/** The wire: length-prefixed msgpack frames. The first frame on a connection is a Hello. */
export type Frame =
  | { t: 'hello'; cluster: string; from: NodeId; to: NodeId; version: number }
  | { t: 'msgs'; m: PeerMessage[] };

// ---------------------------------------------------------------- client gateway
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
  peers: { id: NodeId; match: number; lag: number; connected: boolean }[];
}

export interface GatewayData extends ActorBase {
  host: string;
  clientPort: number;
  /** Bound on commands waiting for a reply, per connection and for the whole node. */
  pendingPerConnMax: number;
  pendingNodeMax: number;
  /** Bound on one client frame (a bulk string or inline line). */
  requestBytesMax: number;
  /** A command waiting for consensus gets an error after this long. */
  requestTimeoutMs: number;
}

/** `reply`: RESP bytes from the state machine (or the read it ran). */
export type ClientReply =
  | { ok: true; reply: Uint8Array }
  | { ok: false; code: 'NOTLEADER' | 'TRYAGAIN' | 'BUSY' | 'TIMEOUT' | 'ERR'; message: string };

export type GatewayIn =
  | { type: 'status'; status: NodeStatus }
  | { type: 'replies'; replies: { reqId: number; reply: ClientReply }[] }
  | { type: 'stop' };
/** A write is one encoded command for the log; a read is run by main after ReadIndex. */
export type GatewayRequest =
  | { reqId: number; kind: 'write'; tid: string; data: Uint8Array }
  | { reqId: number; kind: 'read'; args: Uint8Array[] };

export type GatewayOut =
  /** Every write and read of one event-loop turn, across connections, in one message. */
  | { type: 'requests'; items: GatewayRequest[] };
