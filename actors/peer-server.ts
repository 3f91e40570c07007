// Peer server: accepts every peer's inbound connection (each peer's replicator for
// this node dials it) and hands the decoded messages to the main thread, one post per
// frame. Bytes from the network are untrusted: a connection must open with a hello
// naming this cluster, a known peer, this node and the wire version, within a few
// seconds; every later frame is validated, and every message must be from that peer
// and to this node. A connection that breaks any of that is closed with a warn line;
// the node keeps serving the others.
import * as net from 'node:net';
import * as path from 'node:path';
import { runActor } from '../lib/actor/host.js';
import { Logger } from '../lib/log/logger.js';
import { ReceiveMetrics } from '../lib/metrics/transport-metrics.js';
import type { NodeId } from '../lib/raft/types.js';
import { assert, assertNever } from '../lib/util/assert.js';
import { RaftdError } from '../lib/util/errors.js';
import { FrameDecoder, transferListOf, WIRE_VERSION } from '../lib/wire/frame-codec.js';
import type { Frame, PeerServerData, PeerServerIn, PeerServerOut } from './protocol.js';

/** A connection must send its hello within this long. */
const HANDSHAKE_TIMEOUT_MS = 3_000;
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
  /** Set once the hello is accepted. */
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

  /** Connections without an accepted hello. */
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

  const refuse = (c: Conn, reason: string) => {
    metrics.onRefused();
    warn('connection-refused', { remote: c.remote, peer: c.peer, reason });
    close(c, `refused: ${reason}`);
  };

  const onHello = (c: Conn, f: Extract<Frame, { t: 'hello' }>) => {
    if (f.cluster !== clusterId) return refuse(c, `wrong cluster id "${f.cluster}" (this node is in "${clusterId}")`);
    if (f.version !== WIRE_VERSION) return refuse(c, `wire version ${f.version} (this node speaks ${WIRE_VERSION})`);
    if (!known.has(f.from)) return refuse(c, `unknown node "${f.from}"`);
    if (f.to !== self.id) return refuse(c, `hello meant for "${f.to}", this is "${self.id}"`);
    clearTimeout(c.handshakeTimer!);
    c.handshakeTimer = null;
    pending.delete(c);
    c.peer = f.from;
    const old = active.get(f.from);
    active.set(f.from, c);
    if (old) {
      // The peer reconnected (its old connection may be half-dead): keep the new one.
      log.info('peer-reconnected', { peer: f.from, remote: c.remote, oldRemote: old.remote });
      close(old, null);
    } else {
      log.info('peer-up', { peer: f.from, remote: c.remote });
      ctx.send({ type: 'peerUp', peer: f.from, remote: c.remote });
    }
  };

  const onMessages = (c: Conn, f: Extract<Frame, { t: 'msgs' }>) => {
    for (const m of f.m) {
      if (m.from !== c.peer || m.to !== self.id) return refuse(c, `message ${m.type} from "${m.from}" to "${m.to}" on ${c.peer}'s connection`);
    }
    // The frame's body memory moves to main with it (entry data are views of it).
    if (f.m.length > 0) ctx.send({ type: 'received', from: c.peer!, messages: f.m }, transferListOf(f));
  };

  const onData = (c: Conn, chunk: Buffer) => {
    try {
      for (const f of c.decoder.push(chunk)) {
        if (c.closed) return;
        if (c.peer !== null) metrics.onFrame(c.peer);
        if (c.peer === null) {
          if (f.t !== 'hello') return refuse(c, `first frame is ${f.t}, not hello`);
          onHello(c, f);
        } else if (f.t === 'hello') {
          return refuse(c, 'second hello');
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
      warn('connection-refused', { remote, reason: `${pending.size} connections await their hello` });
      socket.destroy();
      return;
    }
    const c: Conn = { socket, remote, decoder: new FrameDecoder(limits.frameBytesMax), peer: null, handshakeTimer: null, closed: false };
    pending.add(c);
    c.handshakeTimer = setTimeout(() => refuse(c, `no hello within ${HANDSHAKE_TIMEOUT_MS} ms`), HANDSHAKE_TIMEOUT_MS);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_DELAY_MS);
    log.debug('connection', { remote });
    let lastError: string | null = null;
    socket.on('data', (chunk: Buffer) => onData(c, chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      lastError = err.code ? `${err.code}: ${err.message}` : err.message;
    });
    socket.on('close', () => close(c, lastError ?? 'closed by peer'));
  };

  const server = net.createServer({ noDelay: true }, onConnection);
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
  log.info('listening', { host: self.host, port: self.peerPort, peers: [...known] });
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
