// Replicator: this node's one outbound connection to one peer. Everything this node
// sends to that peer (requests and responses alike) goes over it as length-prefixed
// msgpack frames; the peer's peer server hands them to its main thread. The
// connection is dialed from this node's own address, so a firewall rule between two
// loopback addresses partitions two nodes on one machine.
//
// The contract is weak on purpose: while the connection is down or congested,
// messages wait in a bounded queue that drops its oldest; Raft retries.
//
// A connection carries messages only after the handshake (lib/wire/handshake.ts): the
// peer must prove it knows the cluster secret before this node sends it anything. With
// --peer-tls-* it runs over mutual TLS.
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import * as tls from 'node:tls';
import * as path from 'node:path';
import { runActor } from '../lib/actor/host.js';
import { Logger } from '../lib/log/logger.js';
import { SendMetrics } from '../lib/metrics/transport-metrics.js';
import { assert, assertNever } from '../lib/util/assert.js';
import { encodeBatch, messageBytesEst, partsBytes } from '../lib/wire/batch.js';
import { BoundedQueue } from '../lib/wire/bounded-queue.js';
import { BulkFloor, isUrgent } from '../lib/wire/lane.js';
import { readClusterSecret } from '../lib/security/secret-file.js';
import { peerClientTlsOptions, readTlsFiles } from '../lib/security/tls-files.js';
import { RaftdError } from '../lib/util/errors.js';
import { encodeFrame, FrameDecoder, WIRE_VERSION } from '../lib/wire/frame-codec.js';
import { DialerHandshake, NONCE_BYTES } from '../lib/wire/handshake.js';
import type { PeerMessage, ReplicatorData, ReplicatorIn, ReplicatorOut } from './protocol.js';

/**
 * Above this many bytes waiting in the socket, bulk messages wait in the queue instead.
 * Small: whatever sits here is ahead of the next heartbeat, and it only has to keep the
 * connection busy until 'drain'.
 */
const SOCKET_BUFFER_BYTES_MAX = 1024 * 1024;
/** Bound on the bytes (estimated) held in the queue, on top of its message bound. */
const QUEUE_BYTES_MAX = 64 * 1024 * 1024;
/** Bounds of the lane for control messages (lane.ts), which skip queued bulk. */
const URGENT_MESSAGES_MAX = 1024;
const URGENT_BYTES_MAX = 1024 * 1024;
/** Queued messages are encoded this many at a time when flushed. */
const FLUSH_MESSAGES_MAX = 1024;
/** Data waiting in the socket with no progress for this long means the peer is gone. */
const WRITE_STALL_MS = 5_000;
const WATCHDOG_INTERVAL_MS = 1_000;
const KEEPALIVE_DELAY_MS = 5_000;
/** A connection that lasted this long resets the backoff (in addition to backoffMaxMs). */
const STABLE_CONNECTION_MS = 1_000;
/** Drops are reported to main at most this often (summed). */
const DROP_REPORT_INTERVAL_MS = 1_000;
const BACKOFF_EXPONENT_MAX = 30;
/** The handshake must be done this long after the TCP connect (unless the node says otherwise). */
const HANDSHAKE_TIMEOUT_MS = 3_000;
/** The listener sends only its challenge: a small bound on what is read. */
const HANDSHAKE_FRAME_BYTES_MAX = 1024;
/** A failing handshake is logged at warn at most once per this interval (the rest at debug). */
const HANDSHAKE_WARN_INTERVAL_MS = 60_000;

type State = 'backoff' | 'connecting' | 'handshaking' | 'connected' | 'stopped';

runActor<ReplicatorIn, ReplicatorOut, ReplicatorData>((ctx) => {
  const { nodeId, dataDir, logLevel, logFileBytesMax, clusterId, self, peer, limits } = ctx.data;
  assert(limits.frameBytesMax > 0 && limits.queueMessagesMax > 0, 'transport limits must be positive');
  assert(limits.backoffBaseMs > 0 && limits.backoffMaxMs >= limits.backoffBaseMs, 'backoff bounds');
  assert(limits.connectTimeoutMs > 0, 'connect timeout must be positive');
  const log = new Logger({ dir: path.join(dataDir, 'logs'), node: nodeId, actor: `replicator-${peer.id}`, level: logLevel, fileBytesMax: logFileBytesMax });

  const queue = new BoundedQueue<PeerMessage>(limits.queueMessagesMax, QUEUE_BYTES_MAX, messageBytesEst);
  // Votes, heartbeats, acknowledgements and reads: sent ahead of queued bulk (lane.ts).
  const urgent = new BoundedQueue<PeerMessage>(Math.min(URGENT_MESSAGES_MAX, limits.queueMessagesMax), URGENT_BYTES_MAX, messageBytesEst);
  const floor = new BulkFloor();
  const security = ctx.data.security;
  const secret = security?.clusterSecretFile ? readClusterSecret(security.clusterSecretFile) : null;
  const hsConfig = { cluster: clusterId, version: WIRE_VERSION, secret };
  const handshakeTimeoutMs = security?.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS;
  const tlsOptions = security?.tls ? peerClientTlsOptions(readTlsFiles(security.tls)) : null;
  let handshake: DialerHandshake | null = null;
  let decoder: FrameDecoder | null = null;
  let handshakeWarnedAt = -Infinity;
  // Dial from our own address when it is one (a hostname is left to the OS).
  const localAddress = net.isIP(self.host) !== 0 && net.isIP(self.host) === net.isIP(peer.host) ? self.host : undefined;
  const target = `${peer.host}:${peer.peerPort}`;

  let state: State = 'backoff';
  let socket: net.Socket | null = null;
  /** Whether main was last told 'connected' (reports go out on transitions only). */
  let reportedUp = false;
  let attempt = 0;
  let connectedAt = 0;
  let lastError: string | null = null;
  let reconnectTimer: NodeJS.Timeout | null = null;
  let connectTimer: NodeJS.Timeout | null = null;
  let watchdog: NodeJS.Timeout | null = null;
  // Write progress, for the stall watchdog: bytes handed to the socket, and completed.
  let bytesQueued = 0;
  let bytesDoneSeen = 0;
  let progressAt = 0;
  let droppedPending = 0;
  let dropTimer: NodeJS.Timeout | null = null;
  const metrics = new SendMetrics(peer.id, () => queue.length + urgent.length, () => state === 'connected');

  const drop = (count: number, why: string) => {
    if (count === 0) return;
    log.debug('dropped', { count, why });
    metrics.dropped.inc(count);
    droppedPending += count;
    if (dropTimer) return;
    dropTimer = setTimeout(() => {
      dropTimer = null;
      ctx.send({ type: 'dropped', peer: peer.id, count: droppedPending });
      droppedPending = 0;
    }, DROP_REPORT_INTERVAL_MS);
  };

  const connect = () => {
    assert(state === 'backoff' && socket === null, `connect in state ${state}`);
    reconnectTimer = null;
    state = 'connecting';
    lastError = null;
    const tcp = net.connect({ host: peer.host, port: peer.peerPort, localAddress, noDelay: true });
    // TLS over our own TCP socket: tls.connect has no localAddress of its own.
    const sock = tlsOptions ? tls.connect({ ...tlsOptions, socket: tcp }) : tcp;
    socket = sock;
    connectTimer = setTimeout(() => sock.destroy(new Error(`connect timeout after ${limits.connectTimeoutMs} ms`)), limits.connectTimeoutMs);
    sock.once(tlsOptions ? 'secureConnect' : 'connect', () => onConnect(sock));
    sock.on('error', (err: NodeJS.ErrnoException) => {
      lastError = err.code ? `${err.code}: ${err.message}` : err.message;
      if (state === 'connecting' && tlsOptions && /CERT|SSL|TLS/.test(lastError)) handshakeFailed(`TLS: ${lastError}`);
    });
    sock.on('close', () => onClose(sock));
    sock.on('drain', () => flush());
    // After the handshake the peer never writes on this connection; read (and discard) so 'end' is seen.
    sock.on('data', (chunk: Buffer) => onData(sock, chunk));
  };

  /** Logged at warn once per interval: a peer with a wrong secret is retried every backoff. */
  const handshakeFailed = (reason: string) => {
    const now = Date.now();
    const fields = { peer: peer.id, target, reason };
    if (now - handshakeWarnedAt >= HANDSHAKE_WARN_INTERVAL_MS) {
      handshakeWarnedAt = now;
      log.warn('handshake-failed', fields);
    } else {
      log.debug('handshake-failed', fields);
    }
  };

  const onConnect = (sock: net.Socket) => {
    if (sock !== socket) return;
    clearTimeout(connectTimer!);
    state = 'handshaking';
    connectTimer = setTimeout(() => {
      lastError = `handshake not done within ${handshakeTimeoutMs} ms`;
      handshakeFailed(lastError);
      sock.destroy();
    }, handshakeTimeoutMs);
    sock.setNoDelay(true);
    sock.setKeepAlive(true, KEEPALIVE_DELAY_MS);
    bytesQueued = 0;
    bytesDoneSeen = 0;
    handshake = new DialerHandshake(hsConfig, self.id, peer.id, randomBytes(NONCE_BYTES));
    decoder = new FrameDecoder(HANDSHAKE_FRAME_BYTES_MAX);
    write([encodeFrame(handshake.hello())]);
  };

  const onData = (sock: net.Socket, chunk: Buffer) => {
    if (sock !== socket || state !== 'handshaking') return;
    try {
      for (const f of decoder!.push(chunk)) {
        if (state !== 'handshaking') return;
        if (f.t !== 'challenge') throw new RaftdError('RAFTD_HANDSHAKE_REFUSED', `peer sent ${f.t} instead of its challenge`);
        const v = handshake!.onChallenge(f);
        if (!v.ok) throw new RaftdError('RAFTD_HANDSHAKE_REFUSED', v.reason);
        write([encodeFrame(v.value)]);
        onAuthenticated(sock);
      }
    } catch (err) {
      if (!(err instanceof RaftdError)) throw err;
      lastError = `${err.code}: ${err.message}`;
      handshakeFailed(lastError);
      sock.destroy();
    }
  };

  const onAuthenticated = (sock: net.Socket) => {
    clearTimeout(connectTimer!);
    connectTimer = null;
    handshake = null;
    decoder = null;
    state = 'connected';
    connectedAt = Date.now();
    progressAt = connectedAt;
    metrics.connects.inc();
    if (!reportedUp) {
      reportedUp = true;
      log.info('connected', { peer: peer.id, target, local: `${sock.localAddress}:${sock.localPort}`, queued: queue.length + urgent.length });
      ctx.send({ type: 'connected', peer: peer.id });
    }
    flush();
  };

  const onClose = (sock: net.Socket) => {
    if (sock !== socket) return;
    socket = null;
    if (connectTimer) clearTimeout(connectTimer);
    if (watchdog) clearInterval(watchdog);
    connectTimer = watchdog = null;
    if (state === 'stopped') return;
    const wasConnected = state === 'connected';
    const reason = lastError ?? (wasConnected ? 'closed by peer' : state === 'handshaking' ? 'closed by peer during the handshake' : 'closed before connecting');
    if (state === 'handshaking' && lastError === null) handshakeFailed(reason);
    handshake = null;
    decoder = null;
    if (wasConnected && Date.now() - connectedAt >= Math.max(STABLE_CONNECTION_MS, limits.backoffMaxMs)) attempt = 0;
    if (reportedUp) {
      reportedUp = false;
      metrics.disconnects.inc();
      log.info('disconnected', { peer: peer.id, target, reason, lastedMs: wasConnected ? Date.now() - connectedAt : 0 });
      ctx.send({ type: 'disconnected', peer: peer.id, reason });
    } else {
      log.debug('connect-failed', { peer: peer.id, target, reason, attempt });
    }
    state = 'backoff';
    // Full jitter: anywhere in [0, min(cap, base * 2^attempt)).
    const ceilingMs = Math.min(limits.backoffMaxMs, limits.backoffBaseMs * 2 ** attempt);
    attempt = Math.min(attempt + 1, BACKOFF_EXPONENT_MAX);
    reconnectTimer = setTimeout(connect, Math.floor(Math.random() * ceilingMs));
  };

  // The stall watchdog runs only while the socket holds unsent bytes: an idle
  // connection's heartbeats leave at once, and a timer ticking every second on every
  // replicator for nothing was a wake-up of its own.
  const watchUnsent = (sock: net.Socket) => {
    if (watchdog !== null || sock !== socket || state !== 'connected' || sock.writableLength === 0) return;
    bytesDoneSeen = bytesQueued - sock.writableLength;
    progressAt = Date.now();
    watchdog = setInterval(checkStall, WATCHDOG_INTERVAL_MS);
  };

  const checkStall = () => {
    const sock = socket;
    if (!sock || state !== 'connected') return;
    if (sock.writableLength === 0) {
      clearInterval(watchdog!);
      watchdog = null;
      return;
    }
    const now = Date.now();
    const bytesDone = bytesQueued - sock.writableLength;
    if (bytesDone > bytesDoneSeen) {
      bytesDoneSeen = bytesDone;
      progressAt = now;
    } else if (now - progressAt > WRITE_STALL_MS) {
      lastError = `write stalled: ${sock.writableLength} bytes unsent for ${now - progressAt} ms`;
      log.warn('write-stalled', { peer: peer.id, target, unsentBytes: sock.writableLength });
      sock.destroy();
    }
  };

  // Frames written in one event-loop turn (several 'send's drained from the port at
  // once) leave in one syscall: the socket is corked until the turn's check phase.
  let corked: net.Socket | null = null;
  const uncork = () => {
    const sock = corked;
    corked = null;
    if (sock === null) return;
    sock.uncork();
    watchUnsent(sock);
  };
  /** One frame, as its parts (lib/wire/frame-parts.ts): they leave together with the turn's other frames. */
  const write = (parts: readonly Buffer[]) => {
    const sock = socket!;
    if (corked !== sock) {
      uncork();
      sock.cork();
      corked = sock;
      setImmediate(uncork);
    }
    const bytes = partsBytes(parts);
    bytesQueued += bytes;
    metrics.frames.inc();
    metrics.bytes.inc(bytes);
    for (const p of parts) sock.write(p);
  };

  const writable = () => state === 'connected' && socket !== null && socket.writableLength < SOCKET_BUFFER_BYTES_MAX;

  /** Encodes messages into frames (one unless over frameBytesMax) and writes them. */
  const sendNow = (messages: PeerMessage[]) => {
    const { frames, dropped } = encodeBatch(messages, limits.frameBytesMax);
    for (const f of frames) write(f);
    if (dropped.length > 0) {
      log.error('message-too-large', { peer: peer.id, type: dropped[0]!.type, frameBytesMax: limits.frameBytesMax });
      drop(dropped.length, 'too large');
    }
  };

  const connected = () => state === 'connected' && socket !== null;

  /** Sends queued messages while the socket takes them: the urgent lane first, whatever the socket holds. */
  const flush = () => {
    if (urgent.length > 0 && connected()) sendNow(urgent.shift(urgent.length));
    while (queue.length > 0 && writable()) sendNow(queue.shift(FLUSH_MESSAGES_MAX));
    if (queue.length === 0) floor.emptied();
  };

  const onSend = (messages: PeerMessage[]) => {
    if (messages.length === 0) return;
    if (queue.length === 0 && urgent.length === 0 && writable()) return sendNow(messages);
    if (state !== 'connected') {
      // Votes are only good for the election they belong to: one delivered after a
      // reconnect would be cast in a long-finished election, so they are not kept.
      const keep = messages.filter((m) => m.type !== 'vote' && m.type !== 'voteResp');
      if (keep.length < messages.length) drop(messages.length - keep.length, 'not connected');
      messages = keep;
    }
    const why = state === 'connected' ? 'socket congested' : 'not connected';
    const bulk: PeerMessage[] = [];
    const fast: PeerMessage[] = [];
    for (const m of messages) {
      if (isUrgent(m, floor.value)) {
        fast.push(m);
      } else {
        bulk.push(m);
        floor.queued(m);
      }
    }
    drop(urgent.pushAll(fast), why);
    drop(queue.pushAll(bulk), why);
    flush();
  };

  const stop = () => {
    state = 'stopped';
    for (const t of [reconnectTimer, connectTimer, dropTimer]) if (t) clearTimeout(t);
    if (watchdog) clearInterval(watchdog);
    socket?.destroy();
    socket = null;
    log.info('stopped', { peer: peer.id, queued: queue.length + urgent.length });
    log.close();
    process.exit(0);
  };

  log.info('started', { peer: peer.id, target, localAddress: localAddress ?? null });
  connect();
  ctx.ready();

  return (msg) => {
    switch (msg.type) {
      case 'send':
        onSend(msg.messages);
        return;
      case 'term':
        log.term = msg.term;
        return;
      case 'logWriterPort':
        // Only 'send's come this way; they are handled exactly like main's.
        msg.port.on('message', (m: Extract<ReplicatorIn, { type: 'send' }>) => {
          assert(m.type === 'send', `log writer port sent ${m.type}`);
          if (state !== 'stopped') onSend(m.messages);
        });
        return;
      case 'stop':
        stop();
        return;
      case 'redial':
        // The peer just dialled us, so it is back: waiting out the rest of a backoff of up
        // to backoffMaxMs would only delay what this node has to tell it (a restarted
        // follower's first ReadIndex answer, say).
        if (state === 'backoff' && reconnectTimer !== null) {
          clearTimeout(reconnectTimer);
          attempt = 0;
          connect();
        }
        return;
      case 'metrics':
        ctx.send({ type: 'metrics', id: msg.id, snapshot: metrics.registry.snapshot() });
        return;
      default:
        assertNever(msg, 'replicator message');
    }
  };
});
