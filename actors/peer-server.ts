// Peer server: accepts every peer's inbound connection (each peer's replicator for
// this node dials it) and hands the decoded messages to the main thread, one post per
// frame. Bytes from the network are untrusted: a connection must open with a hello
// naming this cluster, a known peer, this node and the wire version, and the peer must
// prove it holds the cluster secret (lib/wire/handshake.ts), all within the handshake
// timeout, before any Raft message is read; every later frame is validated, and every
// message must be from that peer and to this node. A connection that breaks any of that
// is closed, with a warn line once per source and interval; the node keeps serving the
// others. With --peer-tls-* the port speaks mutual TLS underneath.
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import * as tls from 'node:tls';
import * as path from 'node:path';
import { runActor } from '../lib/actor/host.js';
import { Logger } from '../lib/log/logger.js';
import { ReceiveMetrics } from '../lib/metrics/transport-metrics.js';
import type { NodeId } from '../lib/raft/types.js';
import { assert, assertNever } from '../lib/util/assert.js';
import { RaftdError } from '../lib/util/errors.js';
import { readClusterSecret } from '../lib/security/secret-file.js';
import { RefusalLog, sourceOf } from '../lib/security/refusal-log.js';
import { readTlsFiles, serverTlsOptions } from '../lib/security/tls-files.js';
import { encodeFrame, FrameDecoder, transferListOf, WIRE_VERSION } from '../lib/wire/frame-codec.js';
import { ListenerHandshake, NONCE_BYTES } from '../lib/wire/handshake.js';
import type { Frame, PeerMessage, PeerServerData, PeerServerIn, PeerServerOut } from './protocol.js';

/** A connection must finish its handshake within this long (unless the node says otherwise). */
const HANDSHAKE_TIMEOUT_MS = 3_000;
/** Refusals from one source address are logged at most once per this interval. */
const REFUSAL_LOG_INTERVAL_MS = 60_000;
const REFUSAL_SOURCES_MAX = 4096;
/** Bound on connections that have not yet sent a hello: this many per known peer (and at least the floor). */
const PENDING_PER_PEER_MAX = 4;
const PENDING_FLOOR = 8;
/** Bound on refusal lines logged per second; the rest are counted in the next line. */
const WARNS_PER_SECOND_MAX = 20;
const KEEPALIVE_DELAY_MS = 5_000;

interface Conn {
  socket: net.Socket;
  remote: string;
  decoder: FrameDecoder;
  hs: ListenerHandshake;
  /** Set once the handshake is complete (the peer proved the secret). */
  peer: NodeId | null;
  handshakeTimer: NodeJS.Timeout | null;
  closed: boolean;
}

runActor<PeerServerIn, PeerServerOut, PeerServerData>(async (ctx) => {
  const { nodeId, dataDir, logLevel, logFileBytesMax, clusterId, self, peers, limits } = ctx.data;
  assert(limits.frameBytesMax > 0, 'frameBytesMax must be positive');
  const log = new Logger({ dir: path.join(dataDir, 'logs'), node: nodeId, actor: 'peer-server', level: logLevel, fileBytesMax: logFileBytesMax });
  const known = new Set(peers.map((p) => p.id).filter((id) => id !== self.id));
  const pendingMax = Math.max(PENDING_FLOOR, PENDING_PER_PEER_MAX * known.size);
  const security = ctx.data.security;
  const secret = security?.clusterSecretFile ? readClusterSecret(security.clusterSecretFile) : null;
  const handshakeTimeoutMs = security?.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS;
  const hsConfig = { cluster: clusterId, version: WIRE_VERSION, secret };
  const tlsMaterial = security?.tls ? readTlsFiles(security.tls) : null;
  const refusals = new RefusalLog({ intervalMs: REFUSAL_LOG_INTERVAL_MS, sourcesMax: REFUSAL_SOURCES_MAX });

  /** Connections without a finished handshake. */
  const pending = new Set<Conn>();
  /** The one live connection of each peer (a newer one replaces it). */
  const active = new Map<NodeId, Conn>();
  const metrics = new ReceiveMetrics();

  let warnWindowAt = 0;
  let warnsInWindow = 0;
  let warnsSuppressed = 0;
  const warn = (event: string, fields: Record<string, unknown>) => {
    const now = Date.now();
    if (now - warnWindowAt >= 1000) {
      warnWindowAt = now;
      warnsInWindow = 0;
    }
    if (warnsInWindow++ >= WARNS_PER_SECOND_MAX) {
      warnsSuppressed++;
      return;
    }
    log.warn(event, warnsSuppressed > 0 ? { ...fields, suppressedBefore: warnsSuppressed } : fields);
    warnsSuppressed = 0;
  };

  /** Closes a connection; `reason` null means quietly (replaced, or stopping). */
  const close = (c: Conn, reason: string | null) => {
    if (c.closed) return;
    c.closed = true;
    if (c.handshakeTimer) clearTimeout(c.handshakeTimer);
    c.socket.destroy();
    pending.delete(c);
    if (c.peer !== null && active.get(c.peer) === c) {
      active.delete(c.peer);
      const why = reason ?? 'closed';
      log.info('peer-down', { peer: c.peer, remote: c.remote, reason: why });
      ctx.send({ type: 'peerDown', peer: c.peer, reason: why });
    }
  };

  /** A refusal is logged once per source address and interval (a retrying peer or a scanner would flood the log). */
  const refuseQuietly = (remote: string, fields: Record<string, unknown>) => {
    const n = refusals.note(sourceOf(remote), Date.now());
    if (n.log) warn('connection-refused', n.suppressed > 0 ? { remote, ...fields, refusedSinceLastLine: n.suppressed } : { remote, ...fields });
  };

  const refuse = (c: Conn, reason: string) => {
    metrics.onRefused();
    refuseQuietly(c.remote, { peer: c.peer, claimed: c.hs.claimed, reason });
    close(c, `refused: ${reason}`);
  };

  const onHello = (c: Conn, f: Extract<Frame, { t: 'hello' }>) => {
    const v = c.hs.onHello(f);
    if (!v.ok) return refuse(c, v.reason);
    c.socket.write(encodeFrame(v.value));
  };

  const onProof = (c: Conn, f: Extract<Frame, { t: 'proof' }>) => {
    const v = c.hs.onProof(f);
    if (!v.ok) return refuse(c, v.reason);
    const from = v.value;
    clearTimeout(c.handshakeTimer!);
    c.handshakeTimer = null;
    pending.delete(c);
    c.peer = from;
    const old = active.get(from);
    active.set(from, c);
    if (old) {
      // The peer reconnected (its old connection may be half-dead): keep the new one.
      log.info('peer-reconnected', { peer: from, remote: c.remote, oldRemote: old.remote, authenticated: secret !== null });
      close(old, null);
    } else {
      log.info('peer-up', { peer: from, remote: c.remote, authenticated: secret !== null });
      ctx.send({ type: 'peerUp', peer: from, remote: c.remote });
    }
  };

  const onMessages = (c: Conn, f: Extract<Frame, { t: 'msgs' }>) => {
    for (const m of f.m) {
      if (m.from !== c.peer || m.to !== self.id) return refuse(c, `message ${m.type} from "${m.from}" to "${m.to}" on ${c.peer}'s connection`);
    }
    if (f.m.length === 0) return;
    // Every frame of this event-loop turn, from every peer, goes to main in one message:
    // each crossing wakes main, and under load a turn reads many frames. The frame's
    // body memory moves to main with it (entry data are views of it).
    if (inbox.length === 0) inboxAt = origin + performance.now();
    inbox.push(...f.m);
    inboxTransfer.push(...transferListOf(f));
    inboxFlush ??= setImmediate(flushInbox);
  };

  // Main steps the ticks due before a message arrived ahead of it, and those due while it
  // waited behind main's other work after it (tick-clock.ts take()). The origin is read
  // once: its getter is not free, and it does not change.
  const origin = performance.timeOrigin;
  let inbox: PeerMessage[] = [];
  let inboxAt = 0;
  let inboxTransfer: ArrayBuffer[] = [];
  let inboxFlush: NodeJS.Immediate | null = null;
  const flushInbox = () => {
    inboxFlush = null;
    if (inbox.length === 0) return;
    const messages = inbox;
    const transfer = inboxTransfer;
    inbox = [];
    inboxTransfer = [];
    ctx.send({ type: 'received', messages, at: inboxAt }, transfer);
  };

  const onData = (c: Conn, chunk: Buffer) => {
    try {
      for (const f of c.decoder.push(chunk)) {
        if (c.closed) return;
        if (c.peer !== null) metrics.onFrame(c.peer);
        if (c.peer === null) {
          // Nothing but the handshake is read from a connection that has not finished it.
          if (c.hs.claimed === null) {
            if (f.t !== 'hello') return refuse(c, `first frame is ${f.t}, not hello`);
            onHello(c, f);
          } else {
            if (f.t !== 'proof') return refuse(c, `frame ${f.t} before the handshake proof`);
            onProof(c, f);
          }
        } else if (f.t !== 'msgs') {
          return refuse(c, `${f.t} frame after the handshake`);
        } else {
          onMessages(c, f);
        }
      }
    } catch (err) {
      if (!(err instanceof RaftdError)) throw err;
      refuse(c, `${err.code}: ${err.message}`);
    } finally {
      // After the hello in this chunk (if any) named the peer.
      metrics.onBytes(c.peer, chunk.length);
    }
  };

  const onConnection = (socket: net.Socket) => {
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    if (pending.size >= pendingMax) {
      refuseQuietly(remote, { reason: `${pending.size} connections are in their handshake` });
      socket.destroy();
      return;
    }
    const hs = new ListenerHandshake(hsConfig, self.id, known, randomBytes(NONCE_BYTES));
    const c: Conn = { socket, remote, decoder: new FrameDecoder(limits.frameBytesMax), hs, peer: null, handshakeTimer: null, closed: false };
    pending.add(c);
    c.handshakeTimer = setTimeout(() => refuse(c, `handshake not done within ${handshakeTimeoutMs} ms`), handshakeTimeoutMs);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_DELAY_MS);
    log.debug('connection', { remote });
    let lastError: string | null = null;
    socket.on('data', (chunk: Buffer) => onData(c, chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      lastError = err.code ? `${err.code}: ${err.message}` : err.message;
    });
    socket.on('close', () => {
      // A dialer that got our challenge and hung up found that we do not share its secret.
      if (!c.closed && c.peer === null && c.hs.claimed !== null) {
        refuseQuietly(c.remote, { claimed: c.hs.claimed, reason: 'closed by the dialer after our challenge (it does not share our cluster secret)' });
      }
      close(c, lastError ?? 'closed by peer');
    });
  };

  let server: net.Server;
  if (tlsMaterial) {
    const tlsServer = tls.createServer({ ...serverTlsOptions(tlsMaterial), noDelay: true, handshakeTimeout: handshakeTimeoutMs }, onConnection);
    // A bad or missing certificate never reaches onConnection: log it like any refusal.
    tlsServer.on('tlsClientError', (err: NodeJS.ErrnoException, socket: tls.TLSSocket) => {
      refuseQuietly(`${socket.remoteAddress}:${socket.remotePort}`, { reason: `TLS: ${err.code ?? ''} ${err.message}`.trim() });
      socket.destroy();
    });
    // Connections still in their TLS handshake are not counted in `pending` yet: bound them too.
    tlsServer.maxConnections = 4 * pendingMax + known.size;
    server = tlsServer;
  } else {
    server = net.createServer({ noDelay: true }, onConnection);
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: self.host, port: self.peerPort }, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((err: NodeJS.ErrnoException) => {
    const message = `peer server cannot listen on ${self.host}:${self.peerPort}: ${err.code ?? ''} ${err.message}`;
    log.error('listen-failed', { message });
    throw new RaftdError('RAFTD_CONFIG', message);
  });
  server.on('error', (err) => log.error('server-error', { err }));
  log.info('listening', { host: self.host, port: self.peerPort, peers: [...known], tls: tlsMaterial !== null, authenticated: secret !== null });
  if (secret === null) {
    log.warn('peer-port-open', { message: `no --cluster-secret-file: anything that reaches ${self.host}:${self.peerPort} can act as a cluster member` });
  }
  ctx.ready();

  const stop = () => {
    server.close();
    for (const c of [...pending, ...active.values()]) close(c, 'stopping');
    log.info('stopped');
    log.close();
    process.exit(0);
  };

  return (msg) => {
    switch (msg.type) {
      case 'term':
        log.term = msg.term;
        return;
      case 'peers':
        // Membership changed (lib/node/peer-set.ts): the handshake checks this set, connections open stay.
        known.clear();
        for (const id of msg.peers) if (id !== self.id) known.add(id);
        log.info('peers', { peers: [...known] });
        return;
      case 'stop':
        stop();
        return;
      case 'metrics':
        ctx.send({ type: 'metrics', id: msg.id, snapshot: metrics.registry.snapshot() });
        return;
      default:
        assertNever(msg, 'peer server message');
    }
  };
});
