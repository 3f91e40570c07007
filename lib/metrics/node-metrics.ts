// Everything the main thread does for metrics, behind a few hook calls in the node:
// its own prom-client registry (Raft counters and gauges, process metrics), a
// request/answer round with every actor thread on each scrape, the merge of all
// threads' families into one exposition, and the health and readiness verdicts.
import { AggregatorRegistry, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { ClientReply, GatewayRequest, NodeStatus } from '../replica/messages.js';
import type { Effects } from '../replica/replica.js';
import { assert } from '../util/assert.js';
import { ActorMetrics, LOOP_DELAY_RESOLUTION_MS } from './actor-metrics.js';
import { CommitHistory, healthOf, HEALTH_SAMPLE_INTERVAL_MS, type HealthVerdict } from './health.js';
import { MetricsServer } from './http-server.js';
import { mergeFamilies } from './merge.js';
import { RaftMetrics } from './raft-metrics.js';
import type { MetricFamily, MetricsReply, MetricsRequest } from './snapshot.js';

/** A scrape waits this long for the actors; a thread that has not answered by then is left out (and counted). */
export const ACTOR_SCRAPE_TIMEOUT_MS = 1000;
/** Bound on scrapes waiting for actor answers at once (more get an error). */
const SCRAPES_PENDING_MAX = 8;

/** An actor thread that answers `metrics` requests. */
export interface MetricsSource {
  readonly name: string;
  post(msg: MetricsRequest): void;
}

interface PendingScrape {
  waiting: Set<string>;
  families: MetricFamily[][];
  done: () => void;
}

export class NodeMetrics {
  readonly registry = new Registry();
  private readonly thread = new ActorMetrics('main');
  private readonly raft: RaftMetrics;
  private readonly missing: Gauge<'thread'>;
  private readonly ticks = this.thread.counter('raftd_timer_ticks_total', 'Logical ticks counted for the Raft core')();
  private readonly ticksLate = this.thread.counter('raftd_timer_late_total', 'Times the node woke more than the tick clock counts at once late (ticks were skipped)')();
  private sources: MetricsSource[] = [];
  private status: (() => NodeStatus) | null = null;
  private running = false;
  private readyOnce = false;
  private readonly commits = new CommitHistory();
  private sampler: NodeJS.Timeout | null = null;
  private nextScrape = 0;
  private readonly pending = new Map<number, PendingScrape>();
  private server: MetricsServer | null = null;

  constructor() {
    this.raft = new RaftMetrics(this.registry, this.thread, () => (this.status ? this.status() : null));
    this.missing = new Gauge({ name: 'raftd_metrics_threads_missing', help: 'Threads that did not answer the last scrape in time (their series are absent)', labelNames: ['thread'], registers: [this.registry] });
    const verdict = (what: () => HealthVerdict) =>
      function (this: Gauge) {
        this.set(what().ok ? 1 : 0);
      };
    new Gauge({ name: 'raftd_node_healthy', help: '1 while GET /health answers 200', registers: [this.registry], collect: verdict(() => this.health()) });
    new Gauge({ name: 'raftd_node_ready', help: '1 while GET /ready answers 200', registers: [this.registry], collect: verdict(() => this.ready()) });
  }

  /** The node is up: its actors answer, its status is readable. */
  attach(sources: MetricsSource[], status: () => NodeStatus): void {
    this.sources = sources;
    this.status = status;
    this.running = true;
  }

  /**
   * Serves /metrics, /health and /ready on host:port (0: any free port); resolves with the port.
   * What only they read starts here, not before: the health verdict's commit samples and
   * prom-client's process metrics with its event-loop lag sampler each wake the thread
   * several times a second, for nothing on a node without the endpoint.
   */
  async serve(host: string, port: number): Promise<number> {
    assert(this.status !== null && this.server === null, 'serve() once, after attach()');
    // prom-client's event-loop lag sampler on main: as coarse as the threads' (each sample is a wake-up).
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: LOOP_DELAY_RESOLUTION_MS });
    this.sampler = setInterval(() => this.sample(), HEALTH_SAMPLE_INTERVAL_MS);
    this.sampler.unref();
    this.sample();
    this.server = new MetricsServer({
      scrape: () => this.scrape(),
      health: () => this.health(),
      ready: () => this.ready(),
      facts: () => {
        const st = this.status?.();
        return st ? { node: st.id, role: st.role, term: st.term, leader: st.leader, commitIndex: st.commitIndex, appliedIndex: st.appliedIndex } : {};
      },
    });
    return this.server.listen(host, port);
  }

  /** The node is stopping: health turns false, pending scrapes end now, the endpoint closes. */
  async close(): Promise<void> {
    this.running = false;
    if (this.sampler) clearInterval(this.sampler);
    this.sampler = null;
    for (const p of [...this.pending.values()]) p.done();
    await this.server?.close();
  }

  // ------------------------------------------------------------ hooks from the node

  onReady(fx: Effects): void {
    this.raft.onReady(fx);
  }

  onSnapshotWritten(fileBytes: number, seconds: number): void {
    this.raft.onSnapshotWritten(fileBytes, seconds);
  }

  /** The tick clock counted `ticks` for the core and skipped `skipped` past its bound (a stalled thread). */
  onTicks(ticks: number, skipped: number): void {
    if (ticks > 0) this.ticks.inc(ticks);
    if (skipped > 0) this.ticksLate.inc();
  }

  onApplied(count: number): void {
    if (count > 0) this.raft.onApplied(count);
  }

  onRequests(items: GatewayRequest[]): void {
    this.raft.onRequests(items);
  }

  onReplies(replies: { reqId: number; reply: ClientReply }[]): void {
    this.raft.onReplies(replies);
  }

  /** An actor's answer to a metrics request. */
  onActorMetrics(m: MetricsReply): void {
    const p = this.pending.get(m.id);
    if (!p || !p.waiting.delete(m.snapshot.thread)) return;
    p.families.push(m.snapshot.families);
    if (p.waiting.size === 0) p.done();
  }

  // ------------------------------------------------------------ verdicts and scrape

  health(): HealthVerdict {
    if (!this.status) return { ok: false, reason: 'node is starting' };
    const st = this.status();
    return healthOf(st, this.commits.commitThen(st.commitIndex), this.running);
  }

  ready(): HealthVerdict {
    if (!this.running) return { ok: false, reason: this.status ? 'node is stopping' : 'node is starting' };
    if (!this.readyOnce) {
      const h = this.health();
      if (!h.ok) return { ok: false, reason: `catching up: ${h.reason}` };
      this.readyOnce = true;
    }
    return { ok: true, reason: '' };
  }

  /** The whole node's metrics in the Prometheus text format. */
  async scrape(): Promise<{ contentType: string; text: string }> {
    const actorFamilies = await this.gatherActors();
    const own = await this.registry.getMetricsAsJSON();
    // Merged in order first (one series' samples together), then handed to prom-client to write out.
    const merged = AggregatorRegistry.aggregate([mergeFamilies([own, this.thread.snapshot().families, ...actorFamilies])]);
    return { contentType: this.registry.contentType, text: await merged.metrics() };
  }

  private gatherActors(): Promise<MetricFamily[][]> {
    if (this.pending.size >= SCRAPES_PENDING_MAX) return Promise.reject(new Error(`${SCRAPES_PENDING_MAX} scrapes already in progress`));
    const id = ++this.nextScrape;
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | null = null;
      const p: PendingScrape = {
        waiting: new Set(this.running ? this.sources.map((s) => s.name) : []),
        families: [],
        done: () => {
          if (!this.pending.delete(id)) return;
          if (timer) clearTimeout(timer);
          this.missing.reset();
          for (const name of p.waiting) this.missing.set({ thread: name }, 1);
          resolve(p.families);
        },
      };
      this.pending.set(id, p);
      if (p.waiting.size === 0) return p.done();
      timer = setTimeout(() => p.done(), ACTOR_SCRAPE_TIMEOUT_MS);
      for (const s of this.sources) s.post({ type: 'metrics', id });
    });
  }

  private sample(): void {
    if (!this.status) return;
    this.commits.record(this.status().commitIndex);
    if (!this.readyOnce) this.ready();
  }
}
