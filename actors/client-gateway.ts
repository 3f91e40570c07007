// Client gateway: the node's Redis-protocol port. Parses requests, runs them in order
// per connection, and hands writes and reads to main in one `requests` batch per
// event-loop turn. Replies go out in request order through a per-connection queue of slots, one
// slot per command, written as the head slots fill. Everything waiting is bounded:
// pending commands per connection and per node (BUSY past that), queued reply slots and
// bytes per connection (reading stops past that). Whether a leader is known and when a
// request times out is decided once, by the replica (lib/replica/client-requests.ts),
// which answers every request it is handed.
import * as net from 'node:net';
import * as path from 'node:path';
import { runActor, type ActorContext } from '../lib/actor/host.js';
import { Logger } from '../lib/log/logger.js';
import { GatewayMetrics } from '../lib/metrics/gateway-metrics.js';
import { Transaction } from '../lib/resp/transaction.js';
import { adminRequest, COMMANDS, dispatch, RAFTD_VERSION, type AdminOp, type ClientState, type CommandEnv, type CommandOutcome } from '../lib/resp/commands.js';
import { RespProtocolError } from '../lib/resp/errors.js';
import type { ServerFacts } from '../lib/resp/info.js';
import { RespParser, parserLimits } from '../lib/resp/parser.js';
import { ReplyQueue, type Slot } from '../lib/resp/reply-queue.js';
import { AuthSession } from '../lib/resp/auth.js';
import type { Acl } from '../lib/resp/acl.js';
import { ClientGuard, clientAcl, clientListeners, MAX_CLIENTS_REACHED, type ClientListener } from '../lib/security/client-port.js';
import * as w from '../lib/util/resp-writer.js';
import { assert, assertNever } from '../lib/util/assert.js';
import { RaftdError } from '../lib/util/errors.js';
import type { ClientReply, GatewayData, GatewayIn, GatewayOut, GatewayRequest, NodeStatus } from './protocol.js';

/** Past this many bytes of replies queued or unsent on a connection, stop reading from it. */
const OUTPUT_BYTES_HIGH = 1024 * 1024;
/** Reply slots a connection may queue beyond its pending commands (ready replies behind a pending one). */
const SLOTS_EXTRA = 1024;
/**
 * After the last reply of a closing connection: input is read and dropped (closing with
 * unread input would reset the connection and could lose that reply) for at most this long.
 */
const CLOSE_LINGER_MS = 2000;

const BUSY = w.error('BUSY too many pending requests');


/** A write or read waiting for main's answer. */
interface Proposal {
  conn: Conn;
  slot: Slot;
  kind: 'write' | 'read';
  tid: string;
  /** Write: the encoded command, a private copy (exact size) transferred to main when sent. */
  data: Uint8Array;
  /** Read: the arguments, private copies. */
  args: Uint8Array[];
  /** Metrics: the command's name, when it was parsed and when it went to main. */
  cmd: string;
  queuedAt: number;
  sentAt: number;
  /** Transactions (lib/resp/transaction.ts): builds `data` when dispatched; maps the reply. */
  prepare: (() => Uint8Array) | undefined;
  onReply: ((reply: Buffer) => Buffer) | undefined;
  /** An operation on the cluster (CLUSTER TRANSFER) rather than a write. */
  admin?: AdminOp;
}

class Conn {
  readonly client: ClientState;
  readonly tx = new Transaction();
  readonly parser: RespParser;
  readonly remote: string;
  /** Replies in command order (lib/resp/reply-queue.ts). */
  readonly replies = new ReplyQueue();
  /** Commands waiting for a leader or for consensus. Invariant: <= pendingPerConnMax. */
  pending = 0;
  /** Writes and reads routed (waiting for a leader or sent to main) and not yet answered. */
  writes = 0;
  reads = 0;
  /**
   * Commands held back to keep the connection's order: a read waits for the writes
   * sent before it (so it sees them) and a write for the reads before it (so they do
   * not see it). Writes after writes and reads after reads go together.
   */
  held: Proposal[] = [];
  /** Nothing more is read or run: a closing reply is queued. */
  closing = false;
  /** The client shut down its sending side: answer what it sent, then close. */
  inputEnded = false;
  closed = false;
  inputPaused = false;
  servicing = false;
  /** Security hooks (lib/resp/auth.ts, lib/security/client-port.ts). */
  auth: AuthSession | null = null;
  lastInputMs = Date.now();
  commandsRun = 0;

  constructor(
    id: number,
    readonly socket: net.Socket,
    parser: RespParser,
  ) {
    this.client = { id, name: null };
    this.parser = parser;
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
  }

  get id(): number {
    return this.client.id;
  }

  get queuedSlots(): number {
    return this.replies.length;
  }

  get queuedBytes(): number {
    return this.replies.queuedBytes;
  }
}

type DrainStop = 'needInput' | 'full' | 'closing';

class Gateway {
  private readonly log: Logger;
  private readonly listeners: ClientListener[];
  private readonly acl: Acl;
  private readonly bounds: ClientGuard;
  private sweeper: NodeJS.Timeout | null = null;
  private readonly conns = new Set<Conn>();
  private status: NodeStatus | null = null;
  private nextConnId = 0;
  private nextReqId = 0;
  /** Sent to main, by reqId. */
  private readonly inFlight = new Map<number, Proposal>();
  private batch: GatewayRequest[] = [];
  private batchTransfer: ArrayBuffer[] = [];
  private batchImmediate: NodeJS.Immediate | null = null;
  private readonly dirty = new Set<Conn>();
  private readonly startedAtMs = Date.now();
  private port = 0;
  private stopped = false;
  private readonly slotsMax: number;
  private readonly metrics = new GatewayMetrics(
    (name) => COMMANDS.has(name),
    () => this.conns.size,
    () => this.inFlight.size,
  );

  constructor(private readonly ctx: ActorContext<GatewayOut, GatewayData>) {
    const d = ctx.data;
    assert(d.pendingPerConnMax > 0 && d.pendingNodeMax > 0, 'pending bounds must be positive');
    assert(d.requestBytesMax > 0 && d.requestTimeoutMs > 0, 'request bounds must be positive');
    this.slotsMax = d.pendingPerConnMax + SLOTS_EXTRA;
    this.log = new Logger({
      dir: path.join(d.dataDir, 'logs'),
      node: d.nodeId,
      actor: 'client-gateway',
      level: d.logLevel,
      fileBytesMax: d.logFileBytesMax,
    });
    this.acl = clientAcl(d.security);
    this.bounds = new ClientGuard(d.security);
    this.listeners = clientListeners(d.security, d.clientPort, (socket) => this.accept(socket));
  }

  async listen(): Promise<void> {
    for (const l of this.listeners) await this.listenOne(l);
    this.port = (this.listeners[0]!.server.address() as net.AddressInfo).port;
    if (this.bounds.idleMs > 0) this.sweeper = setInterval(() => this.sweepIdle(), Math.max(10, this.bounds.idleMs / 4)).unref();
  }

  private listenOne({ server, port, tls }: ClientListener): Promise<void> {
    const { host } = this.ctx.data;
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        this.log.error('listen failed', { host, port, err });
        reject(new RaftdError('RAFTD_IO', `client gateway cannot listen on ${host}:${port}: ${err.code ?? ''} ${err.message}`.trim()));
      };
      server.once('error', onError);
      server.listen(port, host, () => {
        server.off('error', onError);
        server.on('error', (err) => this.log.warn('server error', { err }));
        // A TLS client that fails its handshake (bad certificate, plain text) never becomes a connection.
        server.on('tlsClientError', (err: Error, socket: net.Socket) => this.refused(socket, `TLS: ${err.message}`));
        this.log.info('listening', { host, port: (server.address() as net.AddressInfo).port, tls, authRequired: this.acl.authRequired });
        resolve();
      });
    });
  }

  /** One warn line per source and interval; the node keeps serving everyone else. */
  private refused(socket: net.Socket, reason: string): void {
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    const n = this.bounds.noteRefusal('refused', remote, Date.now());
    if (n.log) this.log.warn('connection refused', { remote, reason, ...(n.suppressed > 0 ? { refusedSinceLastLine: n.suppressed } : {}) });
    socket.destroy();
  }

  /** Closes connections stuck in a partial command (or silent since they connected). */
  private sweepIdle(): void {
    const now = Date.now();
    for (const c of this.conns) {
      if (c.closing || !this.bounds.stuck({ lastInputMs: c.lastInputMs, commandsRun: c.commandsRun, bufferedBytes: c.parser.bufferedBytes }, now)) continue;
      c.closing = true;
      this.refused(c.socket, `no complete command within ${this.bounds.idleMs} ms`);
    }
  }

  // ---------------------------------------------------------------- messages from main

  onMessage(msg: GatewayIn): void {
    if (this.stopped) return;
    switch (msg.type) {
      case 'status':
        this.onStatus(msg.status);
        break;
      case 'replies':
        this.onReplies(msg.replies);
        break;
      case 'stop':
        this.stop();
        return;
      case 'metrics':
        this.ctx.send({ type: 'metrics', id: msg.id, snapshot: this.metrics.registry.snapshot() });
        return;
      default:
        assertNever(msg, 'gateway message');
    }
    this.flushDirty();
  }

  private onStatus(st: NodeStatus): void {
    const prev = this.status;
    this.status = st;
    this.log.term = st.term;
    if (!prev || prev.role !== st.role || prev.leader !== st.leader) {
      this.log.info('status', { role: st.role, leader: st.leader, leaderClient: st.leaderClient });
    }
  }

  private onReplies(replies: { reqId: number; reply: ClientReply }[]): void {
    let late = 0;
    for (const { reqId, reply } of replies) {
      const p = this.inFlight.get(reqId);
      if (!p) {
        late++; // its connection is gone
        continue;
      }
      this.inFlight.delete(reqId);
      this.metrics.onStage('node', performance.now() - p.sentAt);
      this.answer(p, reply.ok ? Buffer.from(reply.reply.buffer, reply.reply.byteOffset, reply.reply.byteLength) : w.error(`${reply.code} ${reply.message}`));
    }
    if (late > 0) this.log.debug('late replies dropped', { count: late });
  }

  private stop(): void {
    this.stopped = true;
    this.log.info('stopping', { connections: this.conns.size, inFlight: this.inFlight.size });
    if (this.sweeper) clearInterval(this.sweeper);
    if (this.batchImmediate) clearImmediate(this.batchImmediate);
    for (const l of this.listeners) l.server.close();
    for (const c of this.conns) {
      // Nothing may log once the logger is closed (its fd number could be reused).
      c.socket.removeAllListeners();
      c.socket.on('error', () => undefined);
      c.socket.destroy();
    }
    this.conns.clear();
    this.log.info('stopped');
    this.log.close();
    // Nothing else may keep this thread: the supervisor waits for it to end.
    process.exit(0);
  }

  // ---------------------------------------------------------------- connections

  private accept(socket: net.Socket): void {
    if (this.stopped) {
      socket.destroy();
      return;
    }
    if (this.conns.size >= this.bounds.maxClients) {
      socket.on('error', () => undefined);
      socket.end(MAX_CLIENTS_REACHED);
      setTimeout(() => socket.destroy(), CLOSE_LINGER_MS).unref();
      const remote = `${socket.remoteAddress}:${socket.remotePort}`;
      const n = this.bounds.noteRefusal('refused', remote, Date.now());
      if (n.log) this.log.warn('connection refused', { remote, reason: `max clients (${this.bounds.maxClients}) reached`, ...(n.suppressed > 0 ? { refusedSinceLastLine: n.suppressed } : {}) });
      return;
    }
    const conn = new Conn(++this.nextConnId, socket, new RespParser(parserLimits(this.ctx.data.requestBytesMax)));
    conn.auth = new AuthSession(this.acl);
    this.conns.add(conn);
    this.metrics.onAccept();
    this.log.debug('connection opened', { conn: conn.id, remote: conn.remote });
    socket.on('data', (chunk: Buffer) => {
      if (conn.closing) return; // nothing more is run: the input is dropped
      conn.lastInputMs = Date.now();
      this.guard(conn, () => {
        conn.parser.feed(chunk);
        this.service(conn);
      });
    });
    socket.on('drain', () => this.guard(conn, () => this.service(conn)));
    socket.on('end', () => {
      conn.inputEnded = true;
      this.guard(conn, () => this.service(conn));
    });
    socket.on('error', (err) => this.log.warn('connection error', { conn: conn.id, remote: conn.remote, err }));
    socket.on('close', () => this.onClose(conn));
  }

  /** A failure while serving one connection closes that connection, never the node. */
  private guard(conn: Conn, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.warn('connection failed', {
        conn: conn.id,
        remote: conn.remote,
        err,
        stack: err instanceof Error ? err.stack : undefined,
      });
      conn.closing = true;
      conn.socket.destroy();
    }
  }

  private onClose(conn: Conn): void {
    if (conn.closed) return;
    conn.closed = true;
    conn.closing = true;
    this.conns.delete(conn);
    this.dirty.delete(conn);
    // Sent proposals stay counted until main answers them (it answers every one, by its deadline at the latest).
    this.log.debug('connection closed', { conn: conn.id, remote: conn.remote });
  }

  /**
   * Runs buffered commands as far as the bounds allow, writes the replies that are
   * ready in order, and pauses or resumes reading to match.
   */
  private service(conn: Conn): void {
    if (conn.closed || conn.servicing) return;
    conn.servicing = true;
    let stop: DrainStop;
    try {
      for (;;) {
        stop = this.runCommands(conn);
        const before = conn.queuedSlots;
        this.flush(conn);
        if (stop !== 'full' || conn.queuedSlots === before) break;
      }
    } finally {
      conn.servicing = false;
    }
    // The client sent its last command (a trailing partial frame is dropped) and has all its answers.
    if (conn.inputEnded && stop === 'needInput' && conn.queuedSlots === 0 && !conn.closed) this.finish(conn);
    this.updateInput(conn);
  }

  private runCommands(conn: Conn): DrainStop {
    for (;;) {
      if (conn.closing) return 'closing';
      if (conn.queuedSlots >= this.slotsMax || conn.queuedBytes + conn.socket.writableLength >= OUTPUT_BYTES_HIGH) {
        return 'full';
      }
      let args: Buffer[] | null;
      try {
        args = conn.parser.next();
      } catch (err) {
        if (!(err instanceof RespProtocolError)) throw err;
        // Once per source and interval: a fuzzer or a confused client must not flood the log.
        const n = this.bounds.noteRefusal('protocol', conn.remote, Date.now());
        if (n.log) this.log.warn('protocol error', { conn: conn.id, remote: conn.remote, err: err.message, ...(n.suppressed > 0 ? { errorsSinceLastLine: n.suppressed } : {}) });
        this.enqueue(conn, w.error(`ERR ${err.message}`), true);
        return 'closing';
      }
      if (args === null) return 'needInput';
      this.execute(conn, args);
    }
  }

  private execute(conn: Conn, args: Buffer[]): void {
    conn.commandsRun++;
    const cmd = args[0]!.toString('latin1').toLowerCase();
    const gate = conn.auth!.gate(args, Date.now());
    if (conn.auth!.lastEvent?.type === 'auth-failed') this.log.info('auth failed', { conn: conn.id, remote: conn.remote, ...conn.auth!.lastEvent });
    // Authentication first; then MULTI queues what the user may run (each command checked as it arrives).
    const outcome: CommandOutcome = gate ?? conn.tx.handle(args, (a) => conn.auth!.permit(a, dispatch(COMMANDS, this.env(conn), a)));
    switch (outcome.kind) {
      case 'reply':
        this.metrics.onReply(cmd, outcome.reply);
        this.enqueue(conn, outcome.reply, false);
        break;
      case 'close':
        this.metrics.onReply(cmd, outcome.reply);
        this.enqueue(conn, outcome.reply, true);
        break;
      case 'write':
        this.request(conn, cmd, 'write', outcome.tid, outcome.data, [], outcome.prepare);
        break;
      case 'read':
        this.request(conn, cmd, 'read', '', EMPTY, outcome.args, undefined, outcome.onReply);
        break;
      case 'admin':
        // Ordered like a write: it runs after what the connection sent before it.
        this.request(conn, cmd, 'write', '', EMPTY, [], undefined, undefined, outcome);
        break;
      default:
        assertNever(outcome, 'command outcome');
    }
  }

  private env(conn: Conn): CommandEnv {
    return { status: this.status, client: conn.client, facts: () => this.facts() };
  }

  private facts(): ServerFacts {
    return {
      version: RAFTD_VERSION,
      nodeId: this.ctx.data.nodeId,
      tcpPort: this.port,
      pid: process.pid,
      startedAtMs: this.startedAtMs,
      nowMs: Date.now(),
      connectedClients: this.conns.size,
      pendingRequests: this.inFlight.size,
      clusterId: this.ctx.data.clusterId ?? '',
    };
  }

  // ---------------------------------------------------------------- reply slots

  private enqueue(conn: Conn, reply: Buffer | null, close: boolean): Slot {
    const slot = conn.replies.push(reply, close);
    if (close) conn.closing = true;
    return slot;
  }

  private fill(conn: Conn, slot: Slot, reply: Buffer): void {
    conn.replies.fill(slot, reply, performance.now());
    if (!conn.closed) this.dirty.add(conn);
  }

  /** Writes the filled slots at the head of the queue, in one write. */
  private flush(conn: Conn): void {
    if (conn.closed || conn.socket.destroyed) return;
    const now = performance.now();
    const { chunks, bytes, close } = conn.replies.takeReady((slot) => {
      if (!slot.timing) return;
      this.metrics.onStage('reply_written', now - slot.timing.filledAt);
      this.metrics.onDone(slot.timing.kind, now - slot.timing.startedAt);
    });
    if (chunks.length > 0) conn.socket.write(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bytes));
    if (close) this.finish(conn);
  }

  /** Ends the connection after the replies written so far. */
  private finish(conn: Conn): void {
    conn.closing = true;
    conn.replies.clear();
    conn.socket.end();
    conn.socket.resume();
    conn.inputPaused = false;
    setTimeout(() => conn.socket.destroy(), CLOSE_LINGER_MS).unref();
  }

  private flushDirty(): void {
    for (const conn of this.dirty) this.guard(conn, () => this.service(conn));
    this.dirty.clear();
  }

  private updateInput(conn: Conn): void {
    if (conn.closed || conn.socket.writableEnded) return;
    const pause =
      conn.closing || conn.queuedSlots >= this.slotsMax || conn.queuedBytes + conn.socket.writableLength >= OUTPUT_BYTES_HIGH;
    if (pause && !conn.inputPaused) {
      conn.socket.pause();
      conn.inputPaused = true;
    } else if (!pause && conn.inputPaused) {
      conn.socket.resume();
      conn.inputPaused = false;
    }
  }

  // ---------------------------------------------------------------- proposals

  private request(
    conn: Conn,
    cmd: string,
    kind: 'write' | 'read',
    tid: string,
    data: Uint8Array,
    args: Buffer[],
    prepare?: () => Uint8Array,
    onReply?: (reply: Buffer) => Buffer,
    admin?: AdminOp,
  ): void {
    const d = this.ctx.data;
    if (conn.pending >= d.pendingPerConnMax || this.inFlight.size >= d.pendingNodeMax) {
      this.metrics.onReply(cmd, BUSY);
      this.enqueue(conn, BUSY, false);
      return;
    }
    const slot = this.enqueue(conn, null, false);
    const now = performance.now();
    slot.timing = { kind, startedAt: now, filledAt: now };
    conn.pending++;
    // Copy out of the socket's chunk: keeps no chunk alive and gives main its own buffer.
    // A write goes as its encoded data alone (send()): its arguments are not copied.
    const p: Proposal = { conn, slot, kind, tid, data: new Uint8Array(data), args: kind === 'read' ? args.map((a) => new Uint8Array(a)) : [], cmd, queuedAt: now, sentAt: 0, prepare, onReply, ...(admin ? { admin } : {}) };
    if (conn.held.length > 0 || (kind === 'read' ? conn.writes : conn.reads) > 0) conn.held.push(p);
    else this.dispatchOrdered(p);
  }

  private dispatchOrdered(p: Proposal): void {
    if (p.prepare !== undefined) {
      p.data = new Uint8Array(p.prepare()); // A transaction: its WATCH replies are in by now. A copy: it is transferred.
      p.prepare = undefined;
    }
    if (p.kind === 'write') p.conn.writes++;
    else p.conn.reads++;
    this.send(p);
  }

  /** After an answer: releases held commands that no longer wait on the other kind. */
  private releaseHeld(conn: Conn): void {
    while (conn.held.length > 0 && !conn.closed) {
      const next = conn.held[0]!;
      if ((next.kind === 'read' ? conn.writes : conn.reads) > 0) return;
      conn.held.shift();
      this.dispatchOrdered(next);
    }
  }

  private send(p: Proposal): void {
    const reqId = ++this.nextReqId;
    p.sentAt = performance.now();
    this.metrics.onStage('gateway_queued', p.sentAt - p.queuedAt);
    this.inFlight.set(reqId, p);
    if (p.admin !== undefined) {
      this.batch.push(adminRequest(reqId, p.admin));
    } else if (p.kind === 'write') {
      const data = p.data;
      p.data = EMPTY; // transferred below
      this.batch.push({ reqId, kind: 'write', tid: p.tid, data });
      this.batchTransfer.push(data.buffer as ArrayBuffer);
    } else {
      const args = p.args;
      p.args = [];
      this.batch.push({ reqId, kind: 'read', args });
      for (const a of args) this.batchTransfer.push(a.buffer as ArrayBuffer);
    }
    this.batchImmediate ??= setImmediate(() => this.sendBatch());
  }

  /** One requests message for every write and read of this event-loop turn, across connections. */
  private sendBatch(): void {
    this.batchImmediate = null;
    if (this.stopped || this.batch.length === 0) return;
    const items = this.batch;
    const transfer = this.batchTransfer;
    this.batch = [];
    this.batchTransfer = [];
    this.ctx.send({ type: 'requests', items }, transfer);
  }

  private answer(p: Proposal, reply: Buffer): void {
    p.conn.pending--;
    assert(p.conn.pending >= 0, 'pending count went negative');
    if (p.kind === 'write') p.conn.writes--;
    else p.conn.reads--;
    this.metrics.onReply(p.cmd, reply);
    this.fill(p.conn, p.slot, p.onReply === undefined ? reply : p.onReply(reply));
    this.releaseHeld(p.conn);
  }

}

const EMPTY = new Uint8Array(0);

runActor<GatewayIn, GatewayOut, GatewayData>(async (ctx) => {
  const gw = new Gateway(ctx);
  await gw.listen();
  ctx.ready();
  return (msg) => gw.onMessage(msg);
});
