// One protocol file imported by both ends of every actor channel (the supervisor in lib/node
// and the actors in actors/, through actors/protocol.ts). Each channel is a
// discriminated union; every handler ends its switch with assertNever.
import type { MessagePort } from 'node:worker_threads';
import type { Entry, HardState, NodeId } from '../raft/types.js';
import type { ClientReply, GatewayRequest, NodeStatus, PeerMessage } from '../replica/messages.js';
import type { LogWriterSnapshotIn, LogWriterSnapshotOut, SnapshotInfo } from '../replica/storage-messages.js';

export type { LogWriterSnapshotIn, LogWriterSnapshotOut, SnapshotInfo } from '../replica/storage-messages.js';

export type { ClientReply, ForwardMessage, GatewayRequest, NodeStatus, PeerMessage } from '../replica/messages.js';
import type { LogLevel } from '../log/logger.js';
import type { MetricsReply, MetricsRequest } from '../metrics/snapshot.js';

/** What every actor gets in workerData. */
export interface ActorBase {
  nodeId: NodeId;
  /** The node's data directory; the actor logs to <dataDir>/logs/<actor>.log. */
  dataDir: string;
  logLevel: LogLevel;
  logFileBytesMax: number;
}

// ---------------------------------------------------------------- election timer
/** The node's alarm clock (lib/actor/tick-clock.ts counts the ticks; this actor says when one is due). */
export type TimerData = ActorBase;
/**
 * `alarm`: ring in `inMs` for grid tick `tick`, replacing the alarm set before; with
 * `every` it then rings again every `every.ms` for tick + k * `every.ticks` until replaced;
 * `cancel`: no more rings.
 */
export type TimerIn = { type: 'stop' } | { type: 'alarm'; tick: number; inMs: number; every?: AlarmRepeat } | { type: 'cancel' } | MetricsRequest;
export interface AlarmRepeat {
  ticks: number;
  ms: number;
}
export type TimerOut = { type: 'rang'; tick: number } | MetricsReply;

// ---------------------------------------------------------------- log writer
export interface LogWriterData extends ActorBase {
  /** A segment file is closed and a new one started past this size. */
  segmentBytesMax: number;
  /** Bound on entries in one loadChunk message during startup. */
  loadChunkEntriesMax: number;
  /** 8 bytes, a DurableSeq: the log writer stores the highest write seq made durable after each sync. */
  durable: SharedArrayBuffer;
}
export type LogWriterIn =
  | { type: 'load' }
  /**
   * Persist hardState (atomically) and entries. When entries[0].index <= the last
   * stored index, the stored suffix from there is dropped first. Writes are applied
   * in seq order; one fdatasync covers every write received before it started.
   * `quiet`: its `written` may come late, with a later write's (LogWrite.quiet).
   */
  | { type: 'write'; seq: number; hardState: HardState | null; entries: Entry[]; release?: PeerMessage[]; quiet?: boolean }
  /**
   * The port to the replicator of `peer` (null: that replicator is gone). Messages of a
   * write's `release` go out through it, as a 'send', right after the sync that makes
   * the write durable and before its `written` (LogWrite.release in lib/replica/replica.ts).
   */
  | { type: 'peerPort'; peer: NodeId; port: MessagePort | null }
  | { type: 'stop' }
  | LogWriterSnapshotIn
  | MetricsRequest;
export type LogWriterOut =
  | { type: 'loadChunk'; entries: Entry[] }
  /** After the loadChunks, unasked: the content of `loaded`'s snapshot in order, in pieces of at most SNAPSHOT_CHUNK_BYTES_MAX. */
  | { type: 'loadSnapshot'; data: Uint8Array }
  /**
   * The loadChunks held the entries [firstIndex, lastIndex]: those after `snapshot` (the newest
   * valid one, if any); the tail the log keeps below it for lagging followers is not loaded.
   */
  | { type: 'loaded'; hardState: HardState; firstIndex: number; lastIndex: number; repairedTail: boolean; snapshot: SnapshotInfo | null }
  /** Every write with seq <= this is durable. */
  | { type: 'written'; seq: number }
  | LogWriterSnapshotOut
  | MetricsReply;

// ---------------------------------------------------------------- peer transport
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
  /** Absent: no secret, no TLS. */
  security?: PeerSecurity;
}
export type ReplicatorIn =
  /** Everything this node sends to the peer in one Ready, sent as one frame. */
  | { type: 'send'; messages: PeerMessage[] }
  | { type: 'term'; term: number }
  /** The log writer's end sends 'send's of messages released by a durable write (LogWriterIn 'peerPort'). */
  | { type: 'logWriterPort'; port: MessagePort }
  /** The peer connected to us: it is up, so dial it now instead of at the end of the backoff. */
  | { type: 'redial' }
  | { type: 'stop' }
  | MetricsRequest;
export type ReplicatorOut =
  | { type: 'connected'; peer: NodeId }
  | { type: 'disconnected'; peer: NodeId; reason: string }
  /** Messages dropped because the queue was full or the connection was down (Raft retries). */
  | { type: 'dropped'; peer: NodeId; count: number }
  | MetricsReply;

/** Peer server: accepts the inbound connections of every peer. */
export interface PeerServerData extends ActorBase {
  clusterId: string;
  self: PeerAddr;
  peers: PeerAddr[];
  limits: TransportLimits;
  /** Absent: no secret, no TLS. */
  security?: PeerSecurity;
}
export type PeerServerIn =
  | { type: 'term'; term: number }
  /** The nodes whose connections it accepts from now on: the members (and, while joining, the cluster it joins). */
  | { type: 'peers'; peers: NodeId[] }
  | { type: 'stop' }
  | MetricsRequest;
export type PeerServerOut =
  /**
   * The messages of every frame decoded in one event-loop turn, from any peer, in order;
   * `at`: when the first of them was read, as performance.timeOrigin + performance.now()
   * (one clock for every thread).
   */
  | { type: 'received'; messages: PeerMessage[]; at: number }
  | { type: 'peerUp'; peer: NodeId; remote: string }
  | { type: 'peerDown'; peer: NodeId; reason: string }
  | MetricsReply;

/**
 * The wire: length-prefixed msgpack frames. A connection opens with the handshake of
 * lib/wire/handshake.ts: hello (dialer), challenge (listener), proof (dialer); only
 * then msgs. `auth`: the sender has a cluster secret; MACs are empty without one.
 */
export type Frame =
  | { t: 'hello'; cluster: string; from: NodeId; to: NodeId; version: number; auth: boolean; nonce: Uint8Array }
  | { t: 'challenge'; nonce: Uint8Array; mac: Uint8Array }
  | { t: 'proof'; mac: Uint8Array }
  | { t: 'msgs'; m: PeerMessage[] };

// ---------------------------------------------------------------- security (peer auth, TLS, limits)
/** PEM files for a TLS endpoint; `caFile` set: the other end must show a certificate it signed. */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
  caFile: string | null;
}

/** Peer port and outbound peer connections. Secrets travel as file names, read by the actor. */
export interface PeerSecurity {
  /** The cluster secret (see lib/wire/handshake.ts); null: no peer authentication. */
  clusterSecretFile: string | null;
  /** Mutual TLS between peers (caFile required). */
  tls: TlsFiles | null;
  /** A connection that has not finished its handshake within this long is closed. */
  handshakeTimeoutMs: number;
}

/** Client port: passwords, users, TLS, connection bounds. */
export interface ClientSecurity {
  /** `requirepass`: the default user's password; null: no password. */
  requirepassFile: string | null;
  /** ACL users (lib/resp/acl.ts); null: none. */
  aclFile: string | null;
  /** TLS on the client port; null: plain. */
  tls: TlsFiles | null;
  /** With tls: also a plain port (0: none). */
  plainClientPort: number;
  /** Bound on open client connections (Redis' maxclients). */
  maxClients: number;
  /** A connection that holds a partial command this long with nothing new arriving is closed (0: never). */
  idleFrameTimeoutMs: number;
}

// ---------------------------------------------------------------- client gateway
export interface GatewayData extends ActorBase {
  host: string;
  /** Shown by INFO (cluster_id): a node that joins learns it from the member it asks. */
  clusterId?: string;
  clientPort: number;
  /** Bound on commands waiting for a reply, per connection and for the whole node. */
  pendingPerConnMax: number;
  pendingNodeMax: number;
  /** Bound on one client frame (a bulk string or inline line). */
  requestBytesMax: number;
  /** A command waiting for consensus gets an error after this long. */
  requestTimeoutMs: number;
  /** Absent: no passwords, no TLS, default connection bounds. */
  security?: ClientSecurity;
}

export type GatewayIn =
  | { type: 'status'; status: NodeStatus }
  | { type: 'replies'; replies: { reqId: number; reply: ClientReply }[] }
  | { type: 'stop' }
  | MetricsRequest;
export type GatewayOut =
  /** Every write and read of one event-loop turn, across connections, in one message. */
  | { type: 'requests'; items: GatewayRequest[] }
  | MetricsReply;
