// The supervisor: one per process. It holds the pure Raft core and drives it with
// what the actors report (ticks, peer messages, durable writes, client proposals),
// then hands the core's Ready back out to them. Everything crosses threads in
// batches: one write per Ready to the log writer, one message per peer per Ready.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createNanoEvents, type Emitter } from 'nanoevents';
import { spawnActor, type ActorHandle } from '../actor/spawn.js';
import { Logger } from '../log/logger.js';
import { RaftCore } from '../raft/core.js';
import type { CoreConfig, Entry, HardState, Message, NodeId, Ready, Role } from '../raft/types.js';
import type { NodeOptions } from '../config/options.js';
import type { HostEntry } from '../config/hosts.js';
import { assert, assertNever } from '../util/assert.js';
import type { RaftdError } from '../util/errors.js';
import type {
  ActorBase,
  GatewayData,
  GatewayIn,
  GatewayOut,
  LogWriterData,
  LogWriterIn,
  LogWriterOut,
  NodeStatus,
  PeerAddr,
  PeerMessage,
  PeerServerData,
  PeerServerIn,
  PeerServerOut,
  ReplicatorData,
  ReplicatorIn,
  ReplicatorOut,
  TimerData,
  TimerIn,
  TimerOut,
  TransportLimits,
} from '../../actors/protocol.js';
import { seededRandom } from './random.js';
import { ClientRequests } from './client-requests.js';
import { KvStateMachine } from '../kv/state-machine.js';

/** Exactly-once: a request id is remembered for this many later log entries, and at most this many ids. */
const DEDUP_WINDOW_ENTRIES = 1_000_000;
const DEDUP_ENTRIES_MAX = 100_000;

export interface NodeEvents {
  /** Role, term or leader changed. */
  role(status: NodeStatus): void;
  /** Entries were applied to the state machine, in order. */
  applied(entries: Entry[]): void;
  /** The node is stopping because something failed; it exits non-zero. */
  fatal(err: RaftdError): void;
}

/** Writes handed to the log writer and not yet durable, in seq order. */
interface PendingWrite {
  seq: number;
  lastIndex: number;
  lastTerm: number;
  /** Messages that may leave only once this write is durable. */
  held: Message[];
}


/** Status pushes for commit/applied progress alone are coalesced to at most one per this interval. */
const STATUS_PROGRESS_INTERVAL_MS = 50;
const STOP_ACTOR_TIMEOUT_MS = 2000;
const STATUS_LOG_INTERVAL_MS = 10_000;
const READY_PER_TURN_MAX = 1;

export class RaftNode {
  readonly events: Emitter<NodeEvents> = createNanoEvents<NodeEvents>();
  readonly self: HostEntry;
  private readonly log: Logger;
  private core!: RaftCore;
  private logWriter!: ActorHandle<LogWriterIn>;
  private timer!: ActorHandle<TimerIn>;
  private peerServer!: ActorHandle<PeerServerIn>;
  private gateway!: ActorHandle<GatewayIn>;
  private readonly replicators = new Map<NodeId, ActorHandle<ReplicatorIn>>();
  private readonly connected = new Map<NodeId, boolean>();
  private writeSeq = 0;
  private readonly pendingWrites: PendingWrite[] = [];
  private requests!: ClientRequests;
  private readonly sm = new KvStateMachine({ dedupEntriesMax: DEDUP_ENTRIES_MAX, dedupWindowEntries: DEDUP_WINDOW_ENTRIES });
  private processScheduled = false;
  private lastStatus: NodeStatus | null = null;
  private lastProgressPush = 0;
  private progressTimer: NodeJS.Timeout | null = null;
  private heartbeatLog: NodeJS.Timeout | null = null;
  private appliedIndex = 0;
  private msgsSent = 0;
  private stopping = false;
  private started = false;
  /** Every actor is up: Ready may be handed out. */
  private running = false;

  constructor(readonly opts: NodeOptions) {
    const self = opts.hosts.find((h) => h.id === opts.id);
    assert(self, `node ${opts.id} not in hosts`);
    this.self = self;
    fs.mkdirSync(path.join(opts.dataDir, 'logs'), { recursive: true });
    this.log = new Logger({ dir: path.join(opts.dataDir, 'logs'), node: opts.id, actor: 'raft', level: opts.logLevel, fileBytesMax: opts.logFileBytesMax, echo: true });
  }

  private base(): ActorBase {
    return { nodeId: this.opts.id, dataDir: this.opts.dataDir, logLevel: this.opts.logLevel, logFileBytesMax: this.opts.logFileBytesMax };
  }

  private actorFile(name: string): URL {
    return new URL(`../../actors/${name}.js`, import.meta.url);
  }

  private onFatal = (err: RaftdError): void => {
    if (this.stopping) return;
    this.log.error('fatal', { code: err.code, message: err.message });
    this.events.emit('fatal', err);
  };

  /** Loads the durable state, starts every actor and waits until all are ready. */
  async start(): Promise<void> {
    assert(!this.started, 'start twice');
    this.started = true;
    const o = this.opts;
    this.log.info('starting', { host: this.self.host, peerPort: this.self.peerPort, clientPort: this.self.clientPort, dataDir: o.dataDir, cluster: o.clusterId });

    this.logWriter = spawnActor<LogWriterIn, LogWriterOut>({
      name: 'log-writer',
      file: this.actorFile('log-writer'),
      workerData: { ...this.base(), segmentBytesMax: o.segmentBytesMax, loadChunkEntriesMax: 8192 } satisfies LogWriterData,
      onMessage: (m) => this.onLogWriter(m),
      onFatal: this.onFatal,
    });
    const restored = await this.load();
    await this.logWriter.ready;

    const coreConfig: CoreConfig = {
      id: o.id,
      peers: o.hosts.map((h) => h.id),
      electionTicks: Math.max(2, Math.round(o.electionTimeoutMs / o.tickMs)),
      heartbeatTicks: Math.max(1, Math.round(o.heartbeatMs / o.tickMs)),
      preVote: o.preVote,
      checkQuorum: o.checkQuorum,
      inflightMax: o.inflightMax,
      appendBytesMax: o.appendBytesMax,
      uncommittedEntriesMax: o.uncommittedEntriesMax,
    };
    this.core = new RaftCore(coreConfig, restored, seededRandom(randomBytes(4).readUInt32LE(0)));
    this.requests = new ClientRequests(o.id, this.core, this.sm, {
      requestTicks: Math.ceil(o.requestTimeoutMs / o.tickMs),
      inFlightMax: o.pendingNodeMax,
    });
    this.log.term = restored.hardState.term;
    this.log.info('restored', { vote: restored.hardState.vote, entries: restored.entries.length });

    const limits: TransportLimits = {
      frameBytesMax: o.frameBytesMax,
      queueMessagesMax: o.peerQueueMessagesMax,
      backoffBaseMs: o.backoffBaseMs,
      backoffMaxMs: o.backoffMaxMs,
      connectTimeoutMs: o.connectTimeoutMs,
    };
    const addr = (h: HostEntry): PeerAddr => ({ id: h.id, host: h.host, peerPort: h.peerPort });
    const peers = o.hosts.filter((h) => h.id !== o.id);

    this.peerServer = spawnActor<PeerServerIn, PeerServerOut>({
      name: 'peer-server',
      file: this.actorFile('peer-server'),
      workerData: { ...this.base(), clusterId: o.clusterId, self: addr(this.self), peers: peers.map(addr), limits, security: o.peerSecurity } satisfies PeerServerData,
      onMessage: (m) => this.onPeerServer(m),
      onFatal: this.onFatal,
    });
    for (const p of peers) {
      this.connected.set(p.id, false);
      this.replicators.set(
        p.id,
        spawnActor<ReplicatorIn, ReplicatorOut>({
          name: `replicator-${p.id}`,
          file: this.actorFile('replicator'),
          workerData: { ...this.base(), clusterId: o.clusterId, self: addr(this.self), peer: addr(p), limits, security: o.peerSecurity } satisfies ReplicatorData,
          onMessage: (m) => this.onReplicator(m),
          onFatal: this.onFatal,
        }),
      );
    }
    this.gateway = spawnActor<GatewayIn, GatewayOut>({
      name: 'client-gateway',
      file: this.actorFile('client-gateway'),
      workerData: {
        ...this.base(),
        host: this.self.host,
        clientPort: this.self.clientPort,
        pendingPerConnMax: o.pendingPerConnMax,
        pendingNodeMax: o.pendingNodeMax,
        requestBytesMax: o.requestBytesMax,
        requestTimeoutMs: o.requestTimeoutMs,
        security: o.clientSecurity,
      } satisfies GatewayData,
      onMessage: (m) => this.onGateway(m),
      onFatal: this.onFatal,
    });
    await Promise.all([this.peerServer.ready, this.gateway.ready, ...[...this.replicators.values()].map((r) => r.ready)]);

    // Committed entries found on disk are applied again from the start: the state
    // machine is rebuilt from the log (snapshots come later).
    this.timer = spawnActor<TimerIn, TimerOut>({
      name: 'election-timer',
      file: this.actorFile('election-timer'),
      workerData: { ...this.base(), tickMs: o.tickMs } satisfies TimerData,
      onMessage: (m) => this.onTimer(m),
      onFatal: this.onFatal,
    });
    await this.timer.ready;
    this.running = true;
    this.pushStatus(true);
    this.schedule();
    this.log.info('started', { peers: peers.map((p) => p.id), pid: process.pid });
    // A healthy node otherwise logs nothing: this line tells a reader it was alive and where it stood.
    this.heartbeatLog = setInterval(() => {
      const st = this.status();
      this.log.info('status', { role: st.role, leader: st.leader, commitIndex: st.commitIndex, appliedIndex: st.appliedIndex, lastIndex: st.lastIndex, inFlight: this.requests.inFlight });
    }, STATUS_LOG_INTERVAL_MS);
    this.heartbeatLog.unref();
  }

  private loadChunks: Entry[][] = [];
  private loadDone: ((v: { hardState: HardState; firstIndex: number; lastIndex: number }) => void) | null = null;

  private async load(): Promise<{ hardState: HardState; entries: Entry[] }> {
    const done = new Promise<{ hardState: HardState; firstIndex: number; lastIndex: number }>((res) => (this.loadDone = res));
    this.logWriter.post({ type: 'load' });
    const loaded = await done;
    const entries = this.loadChunks.flat();
    this.loadChunks = [];
    assert(entries.length === (loaded.lastIndex === 0 ? 0 : loaded.lastIndex - loaded.firstIndex + 1), 'loaded entry count matches the stored range');
    return { hardState: loaded.hardState, entries };
  }

  // ------------------------------------------------------------------ inputs

  private onLogWriter(m: LogWriterOut): void {
    switch (m.type) {
      case 'loadChunk':
        this.loadChunks.push(m.entries);
        return;
      case 'loaded':
        if (m.repairedTail) this.log.warn('log-tail-repaired', { lastIndex: m.lastIndex });
        this.loadDone?.(m);
        this.loadDone = null;
        return;
      case 'written':
        this.onWritten(m.seq);
        return;
      default:
        assertNever(m, 'log writer message');
    }
  }

  private onWritten(seq: number): void {
    while (this.pendingWrites.length > 0 && this.pendingWrites[0]!.seq <= seq) {
      const w = this.pendingWrites.shift()!;
      if (w.lastIndex > 0) this.core.persisted(w.lastIndex, w.lastTerm);
      this.send(w.held);
    }
    this.schedule();
  }

  private onTimer(m: TimerOut): void {
    switch (m.type) {
      case 'tick':
        for (let i = 0; i < m.count; i++) {
          this.core.tick();
          this.requests.tick();
        }
        this.schedule();
        return;
      default:
        assertNever(m.type, 'timer message');
    }
  }

  private onPeerServer(m: PeerServerOut): void {
    switch (m.type) {
      case 'received':
        for (const msg of m.messages) {
          if (msg.type === 'fwdWrite' || msg.type === 'fwdReply') this.requests.onForward(msg);
          else this.core.step(msg);
        }
        this.schedule();
        return;
      case 'peerUp':
        this.log.info('peer-inbound-up', { peer: m.peer, remote: m.remote });
        return;
      case 'peerDown':
        this.log.info('peer-inbound-down', { peer: m.peer, reason: m.reason });
        return;
      default:
        assertNever(m, 'peer server message');
    }
  }

  private onReplicator(m: ReplicatorOut): void {
    switch (m.type) {
      case 'connected':
        this.connected.set(m.peer, true);
        this.log.info('peer-connected', { peer: m.peer });
        return;
      case 'disconnected':
        this.connected.set(m.peer, false);
        this.log.info('peer-disconnected', { peer: m.peer, reason: m.reason });
        this.core.reportUnreachable(m.peer);
        this.schedule();
        return;
      case 'dropped':
        this.log.debug('peer-dropped', { peer: m.peer, count: m.count });
        return;
      default:
        assertNever(m, 'replicator message');
    }
  }

  private onGateway(m: GatewayOut): void {
    switch (m.type) {
      case 'requests':
        this.requests.onRequests(m.items);
        this.schedule();
        return;
      default:
        assertNever(m.type, 'gateway message');
    }
  }

  // ------------------------------------------------------------------ outputs

  /** Drains the core after a burst of inputs: many inputs, one Ready. */
  private schedule(): void {
    // Until every actor is up, inputs only step the core; start() drains it at the end.
    if (this.processScheduled || this.stopping || !this.running) return;
    this.processScheduled = true;
    setImmediate(() => {
      this.processScheduled = false;
      if (!this.stopping) this.process();
    });
  }

  private process(): void {
    // A bounded number of Ready per turn: applying a long log after a restart must not
    // hold the thread past an election timeout while peer replies wait in its queue.
    let rounds = 0;
    while (this.core.hasReady() && rounds++ < READY_PER_TURN_MAX) this.handleReady(this.core.ready());
    if (this.core.hasReady()) this.schedule();
    this.requests.serveReads(this.appliedIndex);
    this.requests.drain(this.core.status().term);
    if (this.requests.outbox.length > 0) {
      this.send(this.requests.outbox);
      this.requests.outbox = [];
    }
    this.flushReplies();
    this.pushStatus(false);
  }

  private handleReady(rd: Ready): void {
    for (const ev of rd.events) {
      const { level, event, term, ...fields } = ev;
      this.log.term = term;
      this.log.log(level, event, fields);
    }
    this.send(rd.messagesNow);
    if (rd.hardState !== null || rd.entries.length > 0) {
      const seq = ++this.writeSeq;
      const last = rd.entries[rd.entries.length - 1];
      this.logWriter.post({ type: 'write', seq, hardState: rd.hardState, entries: rd.entries });
      this.pendingWrites.push({ seq, lastIndex: last?.index ?? 0, lastTerm: last?.term ?? 0, held: rd.messages });
    } else if (this.pendingWrites.length > 0) {
      // Keep order with messages still waiting on an earlier write (an ack must not overtake it).
      this.pendingWrites[this.pendingWrites.length - 1]!.held.push(...rd.messages);
    } else {
      this.send(rd.messages);
    }
    if (rd.committed.length > 0) this.apply(rd.committed);
    if (rd.reads.length > 0 || rd.readsFailed.length > 0) this.requests.onReads(rd.reads, rd.readsFailed);
  }

  private apply(entries: Entry[]): void {
    for (const e of entries) {
      assert(e.index === this.appliedIndex + 1, `apply in order: got ${e.index} after ${this.appliedIndex}`);
      this.appliedIndex = e.index;
      this.requests.apply(e);
    }
    this.events.emit('applied', entries);
  }

  private flushReplies(): void {
    if (this.requests.replies.length === 0) return;
    this.gateway.post({ type: 'replies', replies: this.requests.replies });
    this.requests.replies = [];
  }

  /** One 'send' per peer for all its messages of this round. */
  private send(msgs: PeerMessage[]): void {
    if (msgs.length === 0) return;
    const byPeer = new Map<NodeId, PeerMessage[]>();
    for (const m of msgs) {
      let list = byPeer.get(m.to);
      if (!list) byPeer.set(m.to, (list = []));
      list.push(m);
    }
    for (const [peer, list] of byPeer) {
      const r = this.replicators.get(peer);
      assert(r, `message for unknown peer ${peer}`);
      r.post({ type: 'send', messages: list });
      this.msgsSent += list.length;
    }
  }

  status(): NodeStatus {
    const s = this.core.status();
    const leader = s.leader ? this.opts.hosts.find((h) => h.id === s.leader) : undefined;
    return {
      id: s.id,
      role: s.role,
      term: s.term,
      leader: s.leader,
      leaderClient: leader ? `${leader.host}:${leader.clientPort}` : null,
      commitIndex: s.commitIndex,
      appliedIndex: this.appliedIndex,
      lastIndex: s.lastIndex,
      msgsSent: this.msgsSent,
      keys: this.sm.keyCount,
      peers: Object.entries(s.progress).map(([id, p]) => ({ id, match: p.match, lag: s.lastIndex - p.match, connected: this.connected.get(id) ?? false })),
    };
  }

  private pushStatus(force: boolean): void {
    const st = this.status();
    const prev = this.lastStatus;
    const roleChanged = !prev || prev.role !== st.role || prev.term !== st.term || prev.leader !== st.leader;
    const progressed = !prev || prev.commitIndex !== st.commitIndex || prev.appliedIndex !== st.appliedIndex || prev.lastIndex !== st.lastIndex;
    if (roleChanged) {
      for (const r of this.replicators.values()) r.post({ type: 'term', term: st.term });
      this.peerServer.post({ type: 'term', term: st.term });
      this.timer.post({ type: 'term', term: st.term, role: st.role as Role });
    }
    const now = Date.now();
    if (force || roleChanged || (progressed && now - this.lastProgressPush >= STATUS_PROGRESS_INTERVAL_MS)) {
      this.lastStatus = st;
      this.lastProgressPush = now;
      this.gateway.post({ type: 'status', status: st });
      if (roleChanged) this.events.emit('role', st);
    } else if (progressed && !this.progressTimer) {
      this.progressTimer = setTimeout(() => {
        this.progressTimer = null;
        if (!this.stopping) this.pushStatus(true);
      }, STATUS_PROGRESS_INTERVAL_MS);
    }
  }

  /** Graceful stop: every actor flushes and ends; the log writer last, so its final sync covers all. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.progressTimer) clearTimeout(this.progressTimer);
    if (this.heartbeatLog) clearInterval(this.heartbeatLog);
    this.log.info('stopping');
    const t = STOP_ACTOR_TIMEOUT_MS;
    await Promise.all([
      this.timer?.stop({ type: 'stop' }, t),
      this.gateway?.stop({ type: 'stop' }, t),
      this.peerServer?.stop({ type: 'stop' }, t),
      ...[...this.replicators.values()].map((r) => r.stop({ type: 'stop' }, t)),
    ]);
    await this.logWriter?.stop({ type: 'stop' }, t);
    this.log.info('stopped');
    this.log.close();
  }
}
