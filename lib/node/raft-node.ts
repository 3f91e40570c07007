// The supervisor: one per process, a thin I/O shell around the replica
// (lib/replica/replica.ts), which makes every decision. It feeds the replica what the
// actors report (peer messages, durable writes, lost connections, client requests) and
// the ticks of its clock (lib/actor/tick-clock.ts), and hands its effects back out. Everything crosses threads in batches:
// one message per write to the log writer, one per peer per round.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { MessageChannel } from 'node:worker_threads';
import { createNanoEvents, type Emitter } from 'nanoevents';
import { actorFile, spawnActor, type ActorHandle, type ActorName } from '../actor/spawn.js';
import { loosenHeapWhileLoading, tuneProcessHeap } from '../actor/heap-tuning.js';
import { tuneJitTierUp } from '../actor/jit-tuning.js';
import { FOLLOWER_COMPACT_HEAP_BYTES_MAX, LEADER_COMPACT_HEAP_BYTES_MAX, MAIN_IDLE_GC, setCompactHeapBytesMax, startIdleCollector } from '../actor/idle-gc.js';
import { TickClock } from '../actor/tick-clock.js';
import { ticksUntilWake, TICKS_PER_TAKE_MAX } from '../actor/tick-cadence.js';
import { Logger } from '../log/logger.js';
import { COMMITTED_PER_READY_MAX } from '../raft/core.js';
import type { RaftActorEvent } from '../raft/events.js';
import type { CoreConfig, Entry, NodeId, Restored } from '../raft/types.js';
import type { NodeOptions } from '../config/options.js';
import type { HostEntry } from '../config/hosts.js';
import { assert, assertNever } from '../util/assert.js';
import type { RaftdError } from '../util/errors.js';
import type {
  ActorBase,
  GatewayData,
  GatewayIn,
  GatewayOut,
  GatewayRequest,
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
} from '../actor/protocol.js';
import { seededRandom } from './random.js';
import { compactEffects } from './compact-effects.js';
import { RequestPacer } from './request-pacer.js';
import { ApplyPace } from './apply-pace.js';
import { Replica, type Effects } from '../replica/replica.js';
import { NodeMetrics } from '../metrics/node-metrics.js';
import type { MetricsSource } from '../metrics/node-metrics.js';
import type { Member, Membership } from '../replica/membership-types.js';
import { memberStatuses } from '../replica/membership.js';
import { readJoined, writeJoined } from './joined-state.js';
import { startLogWriter, type StartedLogWriter } from './log-writer-start.js';
import type { DurableSeq } from './durable-seq.js';
import { differencesFromHosts, membersOfHosts, peerAddrOf, planPeers, wantedPeers } from './peer-set.js';

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


/** Status pushes for commit/applied progress alone are coalesced to at most one per this interval. */
const STATUS_PROGRESS_INTERVAL_MS = 50;
/**
 * An actor gets this long to end after its stop message before it is terminated. Under
 * --cpu-prof a thread writes its profile as it ends, which a terminated one never does: on
 * CI's busy 2-core machine one member's gateway profile kept going missing, most likely
 * cut off at 2 s (the `actor-terminated` warning now says so when it happens).
 */
const STOP_ACTOR_TIMEOUT_MS = process.execArgv.some((a) => a.startsWith('--cpu-prof')) ? 30_000 : 2000;
const STATUS_LOG_INTERVAL_MS = 10_000;
const READY_PER_TURN_MAX = 1;
/** InstallSnapshot: one chunk in flight per follower, resent after this long, given up after that many tries. */
const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;
/** A snapshot is serialized this much per round, between applies: a few ms of the main thread at a time. */
const SNAPSHOT_TAKE_BYTES_PER_ROUND = 256 * 1024;
/** Reused buffers for the chunks of a snapshot being taken (lib/replica/chunk-slots.ts): about 3 MiB. */
const SNAPSHOT_CHUNK_SLOTS = 8;
const SNAPSHOT_CHUNK_TIMEOUT_MS = 5000;
const SNAPSHOT_CHUNK_ATTEMPTS_MAX = 5;
/** The status the gateway holds (INFO) is refreshed this often even when nothing moves. */
const STATUS_REFRESH_INTERVAL_MS = 1000;
/** Client writes and reads: batches of a kind in flight before new ones are held, and how long one is held at most (lib/node/request-pacer.ts). */
const PACER_DEPTH = 2;
const PACER_HOLD_MS_MAX = 2;
/** Actor reports held while the state loads (peer messages, client requests); beyond it they are dropped. */
const EARLY_MESSAGES_MAX = 10_000;

export class RaftNode {
  readonly events: Emitter<NodeEvents> = createNanoEvents<NodeEvents>();
  readonly self: HostEntry;
  private readonly log: Logger<RaftActorEvent>;
  private replica!: Replica;
  /** When the last snapshot began (performance.now()), for its duration metric. */
  private snapshotStartedAt = 0;
  /** A graceful stop is handing leadership over first. */
  private handingOver = false;
  /** Until the replica exists, snapshot reads answer load(). */
  private loading = true;
  private logWriter!: ActorHandle<LogWriterIn>;
  private peerServer!: ActorHandle<PeerServerIn>;
  private gateway!: ActorHandle<GatewayIn>;
  /** The clock's alarm (actors/election-timer.ts). */
  private timer!: ActorHandle<TimerIn>;
  private readonly replicators = new Map<NodeId, ActorHandle<ReplicatorIn>>();
  /** Where each replicator dials: it follows the membership (lib/node/peer-set.ts). */
  private readonly peerAddrs = new Map<NodeId, PeerAddr>();
  /** Every actor, for metrics; replicators come and go with the membership (the array is shared with NodeMetrics). */
  private readonly metricSources: MetricsSource[] = [];
  /** Transport settings every replicator starts with. */
  private limits!: TransportLimits;
  /** Was this node a member of the last configuration it saw (to log its removal once)? */
  private wasMember = false;
  /** Messages to a peer without a replicator (not a member any more): dropped, counted. */
  private msgsToStrangers = 0;
  private readonly connected = new Map<NodeId, boolean>();
  private processScheduled = false;
  /** The log writer's durable seq (lib/node/durable-seq.ts), and the highest of it handed to the replica. */
  private durable: DurableSeq | null = null;
  private durableSeen = 0;
  /** The core's logical ticks, counted from the wall clock; wakes the node when the next one matters. */
  private clock: TickClock | null = null;
  private pacer!: RequestPacer;
  private pacerTimer: NodeJS.Timeout | null = null;
  /** Sizes each turn's apply by its cost, so a long apply leaves room for heartbeats (apply-pace.ts). */
  private readonly applyPace = new ApplyPace(COMMITTED_PER_READY_MAX);
  private lastStatus: NodeStatus | null = null;
  private lastProgressPush = 0;
  private progressTimer: NodeJS.Timeout | null = null;
  private heartbeatLog: NodeJS.Timeout | null = null;
  private statusRefresh: NodeJS.Timeout | null = null;
  /** Metrics, /health, /ready: hooks below, logic in lib/metrics/. */
  readonly metrics = new NodeMetrics();
  private msgsSent = 0;
  private membershipSeen = false;
  private membershipSignature = '';
  /** Replica.joining turned false and joined.json says so. */
  private caughtUpNoted = false;
  /** The configuration in effect and the one before it (wantedPeers() keeps the latter's members while the former is uncommitted). */
  private membership: Membership | null = null;
  private previousMembers: Member[] = [];
  /** The peer ids last given to the peer server. */
  private allowed = '';
  /** The newest configuration index seen committed (for the reconcile on commit). */
  private committedConfig = 0;
  private stopping = false;
  private started = false;
  /** Every actor is up: Ready may be handed out. */
  private running = false;

  /** `startedLogWriter`: the log writer the CLI started before loading this module (else start() spawns it). */
  constructor(
    readonly opts: NodeOptions,
    private readonly startedLogWriter: StartedLogWriter | null = null,
  ) {
    const self = opts.self ?? opts.hosts.find((h) => h.id === opts.id);
    assert(self, `node ${opts.id} not in hosts`);
    this.self = self;
    fs.mkdirSync(path.join(opts.dataDir, 'logs'), { recursive: true });
    this.log = new Logger<RaftActorEvent>({ dir: path.join(opts.dataDir, 'logs'), node: opts.id, actor: 'raft', level: opts.logLevel, fileBytesMax: opts.logFileBytesMax, echo: true });
  }

  private base(): ActorBase {
    return { nodeId: this.opts.id, dataDir: this.opts.dataDir, logLevel: this.opts.logLevel, logFileBytesMax: this.opts.logFileBytesMax };
  }

  private actorFile(name: ActorName): URL {
    return actorFile(name, import.meta.url);
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
    tuneProcessHeap(); // memory that follows the live state, not the load (lib/actor/heap-tuning.ts)
    tuneJitTierUp(); // hot paths optimized seconds after a start, not tens of seconds (lib/actor/jit-tuning.ts)
    const tightenHeap = loosenHeapWhileLoading(); // but a restore is one burst of survivors
    startIdleCollector(MAIN_IDLE_GC); // and goes back to it once a burst of load is over (lib/actor/idle-gc.ts)
    const o = this.opts;
    this.log.info('starting', { host: this.self.host, peerPort: this.self.peerPort, clientPort: this.self.clientPort, dataDir: o.dataDir, cluster: o.clusterId });

    // Started by the CLI before this module loaded, or here (lib/node/log-writer-start.ts).
    // It was asked to load when it started: its answers may come as soon as it is attached.
    const loaded = new Promise<Extract<LogWriterOut, { type: 'loaded' }>>((res) => (this.loadDone = res));
    const logWriter = this.startedLogWriter ?? startLogWriter(o);
    this.logWriter = logWriter.handle;
    this.durable = logWriter.durable;
    logWriter.attach((m) => this.onLogWriter(m), this.onFatal);
    // The timer thread starts while the state loads (a restart serves sooner); the clock
    // sets its alarm only once the node runs.
    this.timer = spawnActor<TimerIn, TimerOut>({
      name: 'election-timer',
      file: this.actorFile('election-timer'),
      workerData: this.base() satisfies TimerData,
      onMessage: (m) => this.onTimer(m),
      onFatal: this.onFatal,
    });
    // The other actors start while the state loads too: a restart serves ~0.2 s sooner
    // (their threads' start-up, ~70 ms of CPU each, used a core that sat idle). They dial
    // the peers of hosts.txt (or of the cluster being joined) until the configuration on
    // disk is known; what they report meanwhile waits in `early` for the replica.
    this.limits = {
      frameBytesMax: o.frameBytesMax,
      queueMessagesMax: o.peerQueueMessagesMax,
      backoffBaseMs: o.backoffBaseMs,
      backoffMaxMs: o.backoffMaxMs,
      connectTimeoutMs: o.connectTimeoutMs,
    };
    const provisional = this.provisionalPeers();
    this.allowed = provisional.map((p) => p.id).sort().join(',');
    this.peerServer = spawnActor<PeerServerIn, PeerServerOut>({
      name: 'peer-server',
      file: this.actorFile('peer-server'),
      workerData: { ...this.base(), clusterId: o.clusterId, self: this.selfAddr(), peers: provisional, limits: this.limits, security: o.peerSecurity } satisfies PeerServerData,
      onMessage: (m) => this.whenLoaded(() => this.onPeerServer(m)),
      onFatal: this.onFatal,
    });
    for (const p of provisional) this.addPeer(p);
    this.gateway = spawnActor<GatewayIn, GatewayOut>({
      name: 'client-gateway',
      file: this.actorFile('client-gateway'),
      workerData: {
        ...this.base(),
        host: this.self.host,
        clientPort: this.self.clientPort,
        clusterId: o.clusterId,
        pendingPerConnMax: o.pendingPerConnMax,
        pendingNodeMax: o.pendingNodeMax,
        requestBytesMax: o.requestBytesMax,
        requestTimeoutMs: o.requestTimeoutMs,
        security: o.clientSecurity,
      } satisfies GatewayData,
      onMessage: (m) => this.whenLoaded(() => this.onGateway(m)),
      onFatal: this.onFatal,
    });
    this.pacer = new RequestPacer({ depth: PACER_DEPTH, holdMsMax: PACER_HOLD_MS_MAX, heldMax: o.pendingNodeMax });

    const { restored, content } = this.load(await loaded);
    await this.logWriter.ready;

    const coreConfig: CoreConfig = {
      id: o.id,
      peers: o.join != null ? [] : o.hosts.map((h) => h.id),
      electionTicks: Math.max(2, Math.round(o.electionTimeoutMs / o.tickMs)),
      heartbeatTicks: Math.max(1, Math.round(o.heartbeatMs / o.tickMs)),
      preVote: o.preVote,
      checkQuorum: o.checkQuorum,
      inflightMax: o.inflightMax,
      inflightBytesMax: o.inflightBytesMax,
      appendBytesMax: o.appendBytesMax,
      uncommittedEntriesMax: o.uncommittedEntriesMax,
    };
    // hosts.txt bootstraps a new cluster only: a configuration on disk wins, and a node that joined never bootstraps.
    const join = o.join != null;
    this.replica = new Replica(
      {
        core: coreConfig,
        ...(join ? { join: true } : { members: membersOfHosts(o.hosts) }),
        requestTicks: Math.ceil(o.requestTimeoutMs / o.tickMs),
        inFlightMax: o.pendingNodeMax,
        dedupWindowEntries: DEDUP_WINDOW_ENTRIES,
        dedupEntriesMax: DEDUP_ENTRIES_MAX,
        readyPerProcessMax: READY_PER_TURN_MAX,
        // A follower's acknowledgement leaves from the log writer right after its sync.
        releaseWithWrites: true,
        elementsMax: o.elementsMax,
        valueBytesMax: o.valueBytesMax,
        replyBytesMax: o.replyBytesMax,
        snapshots: {
          snapshotEntries: o.snapshotEntries,
          snapshotLogBytes: o.snapshotLogBytes,
          retainEntries: o.snapshotRetainEntries,
          retainBytes: o.snapshotRetainBytes,
          chunkBytes: SNAPSHOT_CHUNK_BYTES,
          takeBytesPerRound: SNAPSHOT_TAKE_BYTES_PER_ROUND,
          chunkSlots: SNAPSHOT_CHUNK_SLOTS,
          chunkTimeoutTicks: Math.max(1, Math.ceil(SNAPSHOT_CHUNK_TIMEOUT_MS / o.tickMs)),
          attemptsMax: SNAPSHOT_CHUNK_ATTEMPTS_MAX,
        },
      },
      restored,
      seededRandom(randomBytes(4).readUInt32LE(0)),
      content,
    );
    this.loading = false;
    tightenHeap();
    this.log.term = restored.hardState.term;
    this.log.info('restored', { vote: restored.hardState.vote, snapshotIndex: restored.snapshot?.index ?? 0, entries: restored.entries.length, heldWhileLoading: this.early.length, droppedWhileLoading: this.earlyDropped });
    for (const f of this.early.splice(0)) f();

    // The peers the configuration on disk wants: replicators and the allowlist follow it.
    this.membership = this.replica.membership();
    this.reconcilePeers();
    const peers = [...this.peerAddrs.values()];
    await Promise.all([this.peerServer.ready, this.gateway.ready, this.timer.ready, ...[...this.replicators.values()].map((r) => r.ready)]);
    // Ticks count from now: those that fell due while the state loaded would fire an election timeout at once.
    const origin = performance.timeOrigin; // read once: its getter is not free, and it does not change
    this.clock = new TickClock({ tickMs: o.tickMs, ticksMax: TICKS_PER_TAKE_MAX, now: () => origin + performance.now(), wake: () => this.schedule(), setAlarm: (tick, inMs, every) => this.timer.post({ type: 'alarm', tick, inMs, every }), cancelAlarm: () => this.timer.post({ type: 'cancel' }) });
    this.running = true;
    this.pushStatus(true);
    this.schedule();
    this.log.info('started', { peers: peers.map((p) => p.id), pid: process.pid });
    // A healthy node otherwise logs nothing: this line tells a reader it was alive and where it stood.
    this.heartbeatLog = setInterval(() => {
      const st = this.status();
      this.log.info('status', { role: st.role, leader: st.leader, commitIndex: st.commitIndex, appliedIndex: st.appliedIndex, lastIndex: st.lastIndex, inFlight: this.replica.inFlight, ...(this.msgsToStrangers > 0 ? { msgsToNonMembers: this.msgsToStrangers } : {}) });
    }, STATUS_LOG_INTERVAL_MS);
    this.heartbeatLog.unref();
    // INFO on an idle node: peer counters and connections change without any index moving.
    this.statusRefresh = setInterval(() => this.pushStatus(true), STATUS_REFRESH_INTERVAL_MS);
    this.statusRefresh.unref();
    this.metricSources.push(this.logWriter, this.timer, this.peerServer, this.gateway, ...this.replicators.values());
    this.metrics.attach(this.metricSources, () => this.status());
    if (o.metricsAddr) {
      const port = await this.metrics.serve(o.metricsAddr.host, o.metricsAddr.port);
      this.log.info('metrics-listening', { host: o.metricsAddr.host, port });
    }
  }

  private loadChunks: Entry[][] = [];
  private loadDone: ((v: Extract<LogWriterOut, { type: 'loaded' }>) => void) | null = null;
  /** The snapshot's content as the log writer sends it before `loaded` (loadSnapshot). */
  private loadContent: Uint8Array[] = [];

  /** The durable state: hard state, the newest valid snapshot's content, and the log after it (`loaded` ends the chunks and content already held). */
  private load(loaded: Extract<LogWriterOut, { type: 'loaded' }>): { restored: Restored; content: Uint8Array[] } {
    let entries = this.loadChunks.flat();
    this.loadChunks = [];
    assert(entries.length === (loaded.lastIndex === 0 ? 0 : loaded.lastIndex - loaded.firstIndex + 1), 'loaded entry count matches the stored range');
    const snap = loaded.snapshot;
    const content = this.loadContent;
    this.loadContent = [];
    if (snap !== null) {
      // The log keeps a tail behind the snapshot for lagging followers; the state starts after it.
      entries = entries.filter((e) => e.index > snap.index);
      const bytes = content.reduce((n, c) => n + c.length, 0);
      assert(bytes === snap.contentBytes, `snapshot ${snap.index}: ${bytes} content bytes loaded of ${snap.contentBytes}`);
      this.log.info('snapshot-loaded', { index: snap.index, snapTerm: snap.term, bytes, logEntriesAfter: entries.length });
    }
    return { restored: { hardState: loaded.hardState, snapshot: snap === null ? null : { index: snap.index, term: snap.term }, snapshotConfig: snap?.config ?? null, entries }, content };
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
        // A follower's acknowledgement left with the write (releaseWithWrites): unless this
        // released or committed something, no round of its own (one per follower per write round).
        if (this.replica.written(m.seq)) this.schedule();
        return;
      case 'loadSnapshot':
        assert(this.loading, 'snapshot content after the load');
        this.loadContent.push(m.data);
        return;
      case 'snapshotData': {
        this.replica.storage(m);
        this.schedule();
        return;
      }
      case 'compacted':
      case 'snapshotWritten':
      case 'snapshotRecvAck':
        if (m.type === 'snapshotWritten') this.metrics.onSnapshotWritten(m.snapshot.fileBytes, (performance.now() - this.snapshotStartedAt) / 1000);
        this.log.info('log-writer-snapshot', { ...m, ...('snapshot' in m ? { snapshot: { index: m.snapshot.index, term: m.snapshot.term, fileBytes: m.snapshot.fileBytes } } : {}) });
        this.replica.storage(m);
        this.schedule();
        return;
      case 'metrics':
        this.metrics.onActorMetrics(m);
        return;
      default:
        assertNever(m, 'log writer message');
    }
  }

  /**
   * The ticks that fell due since the last count go to the replica. A leader counts them in
   * process(), after every peer message that reached this thread by then: one whose thread
   * stalled must count the acks that came meanwhile before the ticks that would depose it
   * by CheckQuorum. Any other role counts them also before stepping peer messages: they
   * fell due before those arrived, and a heartbeat must restart the election timeout after
   * them, not before.
   */
  /** Steps the ticks due by now, or only those due by `until` (when a message being stepped arrived). */
  private countTicks(until?: number): void {
    if (this.clock === null) return; // still starting: the core only steps messages
    const { ticks, skipped } = this.clock.take(until);
    if (skipped > 0) this.log.warn('timer-late', { lateMs: skipped * this.opts.tickMs, ticksSkipped: skipped });
    this.metrics.onTicks(ticks, skipped);
    if (ticks === 0) return;
    const now = Date.now() + this.opts.clockOffsetMs;
    for (let i = 0; i < ticks; i++) this.replica.tick(now);
  }

  private onTimer(m: TimerOut): void {
    switch (m.type) {
      case 'rang':
        this.clock?.rang(m.tick);
        return;
      case 'metrics':
        this.metrics.onActorMetrics(m);
        return;
      default:
        assertNever(m, 'timer message');
    }
  }

  private onPeerServer(m: PeerServerOut): void {
    switch (m.type) {
      case 'received':
        // A follower steps the ticks due before these arrived, then them: after a stall
        // (a long apply, a busy machine) the heartbeats that came meanwhile reset its
        // election timer before the stall's ticks can time it out.
        if (this.replica.role !== 'leader') this.countTicks(m.at);
        this.replica.receive(m.messages);
        this.schedule();
        return;
      case 'peerUp':
        this.log.info('peer-inbound-up', { peer: m.peer, remote: m.remote });
        this.replicators.get(m.peer)?.post({ type: 'redial' });
        return;
      case 'peerDown':
        this.log.info('peer-inbound-down', { peer: m.peer, reason: m.reason });
        return;
      case 'metrics':
        this.metrics.onActorMetrics(m);
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
        this.replica.reachable(m.peer);
        this.schedule();
        return;
      case 'disconnected':
        this.connected.set(m.peer, false);
        this.log.info('peer-disconnected', { peer: m.peer, reason: m.reason });
        this.replica.unreachable(m.peer);
        this.schedule();
        return;
      case 'dropped':
        this.log.debug('peer-dropped', { peer: m.peer, count: m.count });
        return;
      case 'metrics':
        this.metrics.onActorMetrics(m);
        return;
      default:
        assertNever(m, 'replicator message');
    }
  }

  private onGateway(m: GatewayOut): void {
    switch (m.type) {
      case 'requests':
        this.metrics.onRequests(m.items);
        this.request(this.pacer.add(m.items, performance.now()));
        this.schedule();
        return;
      case 'metrics':
        this.metrics.onActorMetrics(m);
        return;
      default:
        assertNever(m, 'gateway message');
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

  private request(items: GatewayRequest[]): void {
    if (items.length > 0) this.replica.request(items);
  }

  private process(): void {
    this.countTicks();
    // Writes the log writer made durable and has not reported yet (lib/node/durable-seq.ts).
    const durable = this.durable!.load();
    if (durable > this.durableSeen) {
      this.durableSeen = durable;
      this.replica.written(durable);
    }
    this.request(this.pacer.release(performance.now()));
    const t0 = performance.now();
    const fx = this.replica.process(this.applyPace.budget());
    this.applyPace.observe(fx.applied.length, performance.now() - t0);
    this.pace(fx);
    if (fx.more || fx.snapshotting) this.schedule();
    if (this.opts.join != null && !this.caughtUpNoted && !this.replica.joining) this.noteCaughtUp();
    // Replicators first: this round's messages may be for a member that just appeared.
    if (fx.membership !== null) this.onMembership(fx.membership);
    else if (this.membership !== null && this.previousMembers.length > 0 && this.membership.index > this.committedConfig && this.replica.coreStatus().commitIndex >= this.membership.index) {
      // The configuration committed: members it dropped are let go now.
      this.committedConfig = this.membership.index;
      this.reconcilePeers();
    }
    this.perform(fx);
    this.pushStatus(false);
    // Sleep until the next tick that matters (lib/actor/tick-cadence.ts).
    this.clock!.wakeIn(ticksUntilWake(this.replica.role, this.replica.ticksUntilDue(), this.replica.inFlight > 0));
  }

  /** Held requests go in once a batch of their kind is answered (next turn: what arrives meanwhile joins them), or at their deadline. */
  private pace(fx: Effects): void {
    if (fx.replies.length > 0) this.pacer.answered(fx.replies.map((r) => r.reqId));
    const now = performance.now();
    const due = this.pacer.dueInMs(now);
    if (due === null) return;
    if (this.pacer.mayRelease(now)) this.schedule();
    else if (this.pacerTimer === null) {
      this.pacerTimer = setTimeout(() => {
        this.pacerTimer = null;
        this.schedule();
      }, Math.max(1, Math.ceil(due)));
    }
  }

  /** Carries out the replica's effects: the log first, then peers, then clients. */
  private perform(fx: Effects): void {
    this.metrics.onReady(fx);
    // Each crossing below clones what its bytes view: only the bytes, not the buffers around them.
    compactEffects(fx);
    for (const ev of fx.events) {
      const { level, event, term, ...fields } = ev;
      this.log.term = term;
      this.log.log(level, event, fields);
    }
    for (const w of fx.writes) {
      const { seq, hardState, entries, release, quiet } = w;
      this.logWriter.post(release === undefined ? { type: 'write', seq, hardState, entries, quiet } : { type: 'write', seq, hardState, entries, release, quiet });
      if (release !== undefined) this.msgsSent += release.length;
    }
    for (const c of fx.storage) {
      if (c.type === 'snapshotBegin') this.snapshotStartedAt = performance.now();
      // A snapshot chunk is moved, not copied: a snapshot is the whole state, tens of MB.
      // (Or shared: a reused chunk slot the log writer frees, lib/replica/chunk-slots.ts.)
      this.logWriter.post(c, c.type === 'snapshotChunk' && c.data.buffer instanceof ArrayBuffer ? [c.data.buffer] : undefined);
    }
    this.send(fx.messages);
    if (fx.applied.length > 0) this.events.emit('applied', fx.applied);
    this.metrics.onApplied(fx.applied.length);
    if (fx.replies.length > 0) {
      this.metrics.onReplies(fx.replies);
      this.gateway.post({ type: 'replies', replies: fx.replies });
    }
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
      if (r === undefined) {
        // Not a member (any more): a removed follower's last replies, say. Raft retries what matters.
        this.msgsToStrangers += list.length;
        this.log.debug('peer-dropped', { peer, count: list.length, reason: 'not a member' });
        continue;
      }
      r.post({ type: 'send', messages: list });
      this.msgsSent += list.length;
    }
  }

  status(): NodeStatus {
    const s = this.replica.coreStatus();
    const snap = this.replica.snapshotStatus();
    // From the core status already built (not membersStatus(), which builds it again): this runs every round.
    const members = memberStatuses(this.replica.membership(), s.id, s.lastIndex, s.role === 'leader' ? s.id : s.leader, s.progress);
    const leader = s.leader ? (members.find((m) => m.id === s.leader) ?? this.opts.hosts.find((h) => h.id === s.leader)) : undefined;
    return {
      id: s.id,
      role: s.role,
      term: s.term,
      leader: s.leader,
      leaderClient: leader ? `${leader.host}:${leader.clientPort}` : null,
      commitIndex: s.commitIndex,
      appliedIndex: this.replica.applied,
      lastIndex: s.lastIndex,
      msgsSent: this.msgsSent,
      keys: this.replica.sm.keyCount,
      peers: Object.entries(s.progress).map(([id, p]) => ({ id, match: p.match, lag: s.lastIndex - p.match, connected: this.connected.get(id) ?? false, state: p.state })),
      snapshot: { ...snap, firstLogIndex: s.firstIndex },
      members,
    };
  }

  // ------------------------------------------------------------------ membership

  /**
   * A node that joined caught up with what the leader had committed (Replica.joining
   * false): its next start may drop `join` (joined.json says so). Before the add
   * committed there is no joined.json yet: the CLI writes it with caughtUp then.
   */
  private noteCaughtUp(): void {
    this.caughtUpNoted = true;
    const j = readJoined(this.opts.dataDir);
    if (j !== null && j.caughtUp !== true) writeJoined(this.opts.dataDir, { ...j, caughtUp: true });
    this.log.info('joined', { caughtUp: true, appliedIndex: this.replica.applied });
  }

  /** Did this node (started with join) catch up, so that it need not start with join again? */
  get caughtUp(): boolean {
    return this.caughtUpNoted;
  }

  /** Joining (lib/node/join.ts, driven by the CLI): its steps go to this node's raft log. */
  logJoin(event: 'joining' | 'joined', fields: Record<string, unknown>): void {
    this.log.info(event, fields);
  }

  /** What an actor reports while the state loads, run in order once the replica exists (bounded: a peer resends, a client asks again). */
  private readonly early: (() => void)[] = [];
  private earlyDropped = 0;

  private whenLoaded(f: () => void): void {
    if (!this.loading) return f();
    if (this.early.length < EARLY_MESSAGES_MAX) this.early.push(f);
    else this.earlyDropped++;
  }

  /** The peers to dial before the configuration on disk is known: those of hosts.txt, or of the cluster being joined. */
  private provisionalPeers(): PeerAddr[] {
    const o = this.opts;
    const hosts = o.join != null ? o.join.members : o.hosts;
    return hosts.filter((h) => h.id !== o.id).map(peerAddrOf);
  }

  private selfAddr(): PeerAddr {
    return peerAddrOf(this.self);
  }

  /** The members but this node, or while it joins and has no configuration yet, the cluster it asked to join. */
  private wantedPeers() {
    const fallback = (this.opts.join?.members ?? []).map(peerAddrOf);
    const st = this.replica.coreStatus();
    const m = this.membership!;
    return wantedPeers({ current: m, previous: this.previousMembers, committed: st.commitIndex >= m.index, leader: st.role === 'leader' ? st.id : st.leader }, this.opts.id, fallback);
  }

  /** Replicators and the peer server's allowlist follow wantedPeers(): on a new configuration, its commit, and a new leader. */
  private reconcilePeers(): void {
    const wanted = this.wantedPeers();
    const plan = planPeers(this.peerAddrs, wanted);
    for (const id of plan.remove) {
      this.removePeer(id);
      this.log.info('peer-removed', { peer: id });
    }
    for (const p of plan.add) {
      this.addPeer(p);
      this.log.info('peer-added', { peer: p.id, host: p.host, peerPort: p.peerPort });
    }
    const ids = wanted.map((p) => p.id).sort().join(',');
    if (ids !== this.allowed) {
      this.allowed = ids;
      this.peerServer.post({ type: 'peers', peers: wanted.map((p) => p.id) });
    }
  }

  private addPeer(p: PeerAddr): void {
    const o = this.opts;
    const r = spawnActor<ReplicatorIn, ReplicatorOut>({
      name: `replicator-${p.id}`,
      file: this.actorFile('replicator'),
      workerData: { ...this.base(), clusterId: o.clusterId, self: this.selfAddr(), peer: p, limits: this.limits, security: o.peerSecurity } satisfies ReplicatorData,
      onMessage: (m) => this.whenLoaded(() => this.onReplicator(m)),
      onFatal: this.onFatal,
    });
    // The log writer sends what a durable write releases straight to the replicator.
    const ch = new MessageChannel();
    this.logWriter.post({ type: 'peerPort', peer: p.id, port: ch.port1 }, [ch.port1]);
    r.post({ type: 'logWriterPort', port: ch.port2 }, [ch.port2]);
    this.replicators.set(p.id, r);
    this.peerAddrs.set(p.id, p);
    this.connected.set(p.id, false);
    if (this.running) {
      this.metricSources.push(r);
      r.post({ type: 'term', term: this.replica.coreStatus().term });
    }
  }

  private removePeer(id: NodeId): void {
    const r = this.replicators.get(id);
    assert(r, `no replicator for ${id}`);
    this.replicators.delete(id);
    this.logWriter.post({ type: 'peerPort', peer: id, port: null });
    this.peerAddrs.delete(id);
    this.connected.delete(id);
    const i = this.metricSources.indexOf(r);
    if (i >= 0) this.metricSources.splice(i, 1);
    void r.stop({ type: 'stop' }, STOP_ACTOR_TIMEOUT_MS);
  }

  /**
   * The configuration in effect changed (appended, truncated away, restored from a
   * snapshot; the first round reports the one the node starts with): replicators and the
   * peer server's allowlist follow it. A node removed from it keeps running and says so.
   */
  private onMembership(m: Membership): void {
    const members = m.members.map((x) => ({ id: x.id, host: x.host, peerPort: x.peerPort, clientPort: x.clientPort, voter: x.voter }));
    // The replica reports a configuration again when it re-adopts the same one (a new term, a snapshot): once is enough.
    const signature = `${m.index} ${JSON.stringify(members)}`;
    if (signature === this.membershipSignature) return;
    this.membershipSignature = signature;
    this.log.info('membership', { index: m.index, members });
    const first = !this.membershipSeen;
    this.membershipSeen = true;
    if (first && m.index > 0 && this.opts.join == null) {
      const diff = differencesFromHosts(m, this.opts.hosts);
      if (diff.length > 0) this.log.warn('membership-differs-from-hosts', { index: m.index, differences: diff, message: 'the configuration in the data directory wins over hosts.txt' });
    }
    const member = m.members.some((x) => x.id === this.opts.id);
    if (this.wasMember && !member) this.log.warn('removed-from-config', { index: m.index, message: 'this node is no longer a member: it keeps running but takes no part until added again' });
    this.wasMember = member;
    if (this.membership !== null && this.membership.index !== m.index) this.previousMembers = this.membership.members;
    this.membership = m;
    this.reconcilePeers();
  }

  private pushStatus(force: boolean): void {
    // Every round asks; a round that moved nothing the gateway was told (an idle heartbeat)
    // need not build the whole status to find that out.
    if (!force && this.lastStatus !== null && this.replica.statusIs(this.lastStatus)) return;
    const st = this.status();
    const prev = this.lastStatus;
    const roleChanged = !prev || prev.role !== st.role || prev.term !== st.term || prev.leader !== st.leader;
    const progressed = !prev || prev.commitIndex !== st.commitIndex || prev.appliedIndex !== st.appliedIndex || prev.lastIndex !== st.lastIndex;
    if (roleChanged) {
      // A new leader (a removed one may have led until now): the peers follow.
      if (this.running && prev !== null && prev.leader !== st.leader) this.reconcilePeers();
      for (const r of this.replicators.values()) r.post({ type: 'term', term: st.term });
      this.peerServer.post({ type: 'term', term: st.term });
      // A leader's collection pause stops its heartbeats; a follower's only delays its acks (idle-gc.ts).
      setCompactHeapBytesMax(st.role === 'leader' ? LEADER_COMPACT_HEAP_BYTES_MAX : FOLLOWER_COMPACT_HEAP_BYTES_MAX);
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

  /**
   * A leader that is asked to stop hands leadership to its most up-to-date follower first
   * (dissertation 3.10), so clients see one short pause instead of an election. Bounded by
   * two election timeouts; on failure it stops anyway and the others elect as usual.
   */
  private async handOver(): Promise<void> {
    if (!this.running || this.replica.coreStatus().role !== 'leader') return;
    this.handingOver = true;
    try {
      const r = this.replica.transfer(null);
      if (!r.ok) return;
      this.log.info('handing-over', { to: r.target });
      this.schedule();
      const deadline = Date.now() + 2 * this.opts.electionTimeoutMs;
      while (Date.now() < deadline && this.replica.coreStatus().role === 'leader') await new Promise((res) => setTimeout(res, 5));
      const st = this.replica.coreStatus();
      this.log.info('handed-over', { leader: st.leader, role: st.role });
    } finally {
      this.handingOver = false;
    }
  }

  /** Graceful stop: every actor flushes and ends; the log writer last, so its final sync covers all. */
  async stop(): Promise<void> {
    if (this.stopping || this.handingOver) return;
    await this.handOver();
    this.stopping = true;
    if (this.progressTimer) clearTimeout(this.progressTimer);
    this.clock?.stop();
    if (this.pacerTimer) clearTimeout(this.pacerTimer);
    if (this.heartbeatLog) clearInterval(this.heartbeatLog);
    if (this.statusRefresh) clearInterval(this.statusRefresh);
    await this.metrics.close();
    this.log.info('stopping');
    const stopOne = async (a: ActorHandle<{ type: 'stop' }> | null | undefined): Promise<void> => {
      if (!a) return;
      const startedAt = performance.now();
      if ((await a.stop({ type: 'stop' }, STOP_ACTOR_TIMEOUT_MS)) === 'terminated') this.log.warn('actor-terminated', { actor: a.name, afterMs: Math.round(performance.now() - startedAt) });
    };
    await Promise.all([this.timer, this.gateway, this.peerServer, ...this.replicators.values()].map(stopOne));
    await stopOne(this.logWriter);
    this.log.info('stopped');
    this.log.close();
  }
}
