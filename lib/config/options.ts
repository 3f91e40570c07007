import { createHash } from 'node:crypto';
import type { ClientSecurity, PeerSecurity } from '../actor/protocol.js';
import type { LogLevel } from '../log/logger.js';
import { RaftdError } from '../util/errors.js';
import type { HostEntry } from './hosts.js';
import type { Member } from '../replica/membership-types.js';
import { CLIENT_SECURITY_DEFAULTS, PEER_SECURITY_DEFAULTS } from './security-options.js';

/** Everything one node needs to run; the CLI fills it from flags and hosts.txt. */
export interface NodeOptions {
  id: string;
  /** hosts.txt: the bootstrap members of a new cluster (a node whose data directory holds a configuration follows that). */
  hosts: HostEntry[];
  /** This node's addresses when hosts.txt has no line for it (a node that joins with --host/--peer-port/--client-port). */
  self?: HostEntry;
  /**
   * Set for a node that joined an existing cluster (now or before): it never bootstraps
   * from hosts.txt; until the leader's log or snapshot brings the configuration, it
   * accepts and answers the members it was told about when it asked to join.
   */
  join?: { members: Member[] } | null;
  dataDir: string;
  clusterId: string;
  logLevel: LogLevel;
  logFileBytesMax: number;
  tickMs: number;
  electionTimeoutMs: number;
  heartbeatMs: number;
  preVote: boolean;
  checkQuorum: boolean;
  /** Peer transport bounds. */
  frameBytesMax: number;
  peerQueueMessagesMax: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  connectTimeoutMs: number;
  /** Raft flow control bounds. */
  inflightMax: number;
  /** Bytes of entries in flight to one peer (0: no byte bound). */
  inflightBytesMax: number;
  appendBytesMax: number;
  uncommittedEntriesMax: number;
  /** Storage. */
  segmentBytesMax: number;
  /** Client gateway bounds. */
  pendingPerConnMax: number;
  pendingNodeMax: number;
  requestBytesMax: number;
  requestTimeoutMs: number;
  /** GET /metrics, /health, /ready: off when null. */
  metricsAddr: { host: string; port: number } | null;
  /** Added to this node's wall clock (tests of expiry under clock skew). */
  clockOffsetMs: number;
  /** Snapshots: take one once the log holds this many entries past the last, keep this many behind it for lagging followers. */
  snapshotEntries: number;
  snapshotRetainEntries: number;
  /** ... and no more of them than hold this many bytes. */
  snapshotRetainBytes: number;
  /** ... or once the entries since the last carry this many bytes. */
  snapshotLogBytes: number;
  /** Per-key bounds of the state machine (the same on every node) and the reply bound. */
  elementsMax: number;
  valueBytesMax: number;
  replyBytesMax: number;
  /** Security (lib/config/security-options.ts): peer secret and TLS; client passwords, users, TLS, bounds. */
  peerSecurity: PeerSecurity;
  clientSecurity: ClientSecurity;
}

export const DEFAULTS = {
  logLevel: 'info' as LogLevel,
  logFileBytesMax: 16 * 1024 * 1024,
  tickMs: 10,
  electionTimeoutMs: 300,
  heartbeatMs: 50,
  preVote: true,
  checkQuorum: true,
  frameBytesMax: 16 * 1024 * 1024,
  peerQueueMessagesMax: 4096,
  backoffBaseMs: 20,
  backoffMaxMs: 1000,
  connectTimeoutMs: 1000,
  inflightMax: 64,
  // 8 appends of 1 MiB: a follower's backlog (and the heartbeats queued behind it in its
  // main thread) stays small, and at 100 ms round trips a peer still gets 80 MB/s.
  inflightBytesMax: 8 * 1024 * 1024,
  appendBytesMax: 1024 * 1024,
  uncommittedEntriesMax: 100_000,
  segmentBytesMax: 8 * 1024 * 1024,
  pendingPerConnMax: 1024,
  pendingNodeMax: 65536,
  requestBytesMax: 8 * 1024 * 1024,
  requestTimeoutMs: 5000,
  metricsAddr: null,
  clockOffsetMs: 0,
  snapshotEntries: 10_000,
  snapshotRetainEntries: 5_000,
  snapshotRetainBytes: 32 * 1024 * 1024,
  snapshotLogBytes: 64 * 1024 * 1024,
  elementsMax: 1_000_000,
  valueBytesMax: 512 * 1024 * 1024,
  replyBytesMax: 64 * 1024 * 1024,
  peerSecurity: PEER_SECURITY_DEFAULTS,
  clientSecurity: CLIENT_SECURITY_DEFAULTS,
};

/** Two hosts files that list different nodes make different clusters, so their nodes refuse each other. */
export function defaultClusterId(hosts: HostEntry[]): string {
  const h = createHash('sha256');
  for (const e of hosts) h.update(`${e.id} ${e.host} ${e.peerPort}\n`);
  return 'raftd-' + h.digest('hex').slice(0, 12);
}

export function checkOptions(o: NodeOptions): void {
  const bad = (m: string) => {
    throw new RaftdError('RAFTD_CONFIG', m);
  };
  if (o.self !== undefined && o.self.id !== o.id) bad(`self entry ${o.self.id} is not node ${o.id}`);
  if (o.self === undefined && !o.hosts.some((h) => h.id === o.id)) bad(`node id "${o.id}" is not in the hosts file (known: ${o.hosts.map((h) => h.id).join(', ')})`);
  if (!(o.tickMs >= 1)) bad('--tick-ms must be at least 1');
  if (o.heartbeatMs < o.tickMs) bad('--heartbeat-ms must be at least --tick-ms');
  if (o.electionTimeoutMs < 2 * o.heartbeatMs) bad('--election-timeout-ms must be at least twice --heartbeat-ms');
  if (o.frameBytesMax < o.appendBytesMax + 64 * 1024) bad('--frame-bytes-max must exceed the append batch bound by 64 KiB');
  if (!Number.isFinite(o.clockOffsetMs)) bad('--clock-offset-ms must be a number');
  if (!(Number.isInteger(o.inflightBytesMax) && o.inflightBytesMax >= 0)) bad('--inflight-bytes-max must be an integer >= 0');
  if (!(Number.isInteger(o.snapshotEntries) && o.snapshotEntries >= 1)) bad('--snapshot-entries must be an integer >= 1');
  if (!(Number.isInteger(o.snapshotLogBytes) && o.snapshotLogBytes >= 1024)) bad('--snapshot-log-bytes must be an integer >= 1024');
  if (!(Number.isInteger(o.elementsMax) && o.elementsMax >= 1)) bad('--elements-max must be an integer >= 1');
  if (!(Number.isInteger(o.valueBytesMax) && o.valueBytesMax >= 1)) bad('--value-bytes-max must be an integer >= 1');
  if (!(Number.isInteger(o.replyBytesMax) && o.replyBytesMax >= 1024)) bad('--reply-bytes-max must be an integer >= 1024');
  if (!(Number.isInteger(o.snapshotRetainEntries) && o.snapshotRetainEntries >= 0)) bad('--snapshot-retain-entries must be an integer >= 0');
  if (!(Number.isInteger(o.snapshotRetainBytes) && o.snapshotRetainBytes >= 0)) bad('--snapshot-retain-bytes must be an integer >= 0');
}
