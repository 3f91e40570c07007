// Raft counters and gauges of the main thread, in prom-client. Counters come from the
// core's RaftEvent stream (what it decided: elections, leader changes, step-downs) and
// from each Ready (entries committed, ReadIndex rounds); gauges are read from the node
// status at scrape time. Latency of an entry from the Ready that carried it for
// persistence to the Ready that committed it, and on to applied, feed the stage histogram.
import { performance } from 'node:perf_hooks';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ClientReply, GatewayRequest, NodeStatus } from '../replica/messages.js';
import type { RaftEvent } from '../raft/types.js';
import type { Effects } from '../replica/replica.js';
import type { ActorMetrics, CounterCell, HistogramCell } from './actor-metrics.js';
import { STAGE_HISTOGRAM } from './snapshot.js';

/** Bound on entries whose append time is remembered until they commit. */
const TRACKED_ENTRIES_MAX = 100_000;
/** Bound on client requests whose kind is remembered until main answers them. */
const TRACKED_REQUESTS_MAX = 200_000;

type Outcome = 'committed' | 'dropped' | 'timed_out' | 'failed';

export class RaftMetrics {
  private readonly electionsStarted: Counter<'kind'>;
  private readonly electionsWon: Counter<'kind'>;
  private readonly votesGranted: Counter<'kind'>;
  private readonly leaderChanges: Counter;
  private readonly stepDowns: Counter<'reason'>;
  private readonly truncations: Counter;
  private readonly snapshotsSent: Counter;
  private readonly snapshotsInstalled: Counter;
  private readonly compactions: Counter;
  private readonly snapshotsTaken: Counter;
  private readonly snapshotBytes: Gauge;
  private readonly snapshotSeconds: Gauge;
  private readonly eventsDropped: Counter;
  // Counted per request or per Ready: cells of the main thread's registry (no label hashing per call).
  private readonly entriesCommitted: CounterCell;
  private readonly readIndexOk: CounterCell;
  private readonly readIndexFailed: CounterCell;
  private readonly proposals: Record<Outcome, CounterCell>;
  private readonly reads: Record<Outcome, CounterCell>;
  private readonly proposedCommitted: HistogramCell;
  private readonly committedApplied: HistogramCell;
  /** Entries written and not yet committed: index and performance.now() of their Ready, ascending. */
  private trackedIndex: number[] = [];
  private trackedAt: number[] = [];
  private trackedHead = 0;
  private readyAt = 0;
  /** Client requests main has not answered yet: reqId -> kind. */
  private readonly requestKind = new Map<number, 'write' | 'read'>();

  /** `thread`: the main thread's own registry, for the per-entry histograms (a cell update each, no label hashing). */
  constructor(reg: Registry, thread: ActorMetrics, status: () => NodeStatus | null) {
    const registers = [reg];
    this.electionsStarted = new Counter({ name: 'raftd_raft_elections_started_total', help: 'Elections this node started: kind="pre" (PreVote round) or "real"', labelNames: ['kind'], registers });
    this.electionsWon = new Counter({ name: 'raftd_raft_elections_won_total', help: 'Elections this node won: kind="pre" (may campaign) or "real" (became leader)', labelNames: ['kind'], registers });
    this.votesGranted = new Counter({ name: 'raftd_raft_votes_granted_total', help: 'Votes this node granted to candidates, kind="pre" or "real"', labelNames: ['kind'], registers });
    this.leaderChanges = new Counter({ name: 'raftd_raft_leader_changes_total', help: 'Times this node learned of a new leader (itself included)', registers });
    this.stepDowns = new Counter({ name: 'raftd_raft_leader_stepdowns_total', help: 'Times this node stopped leading: reason="check_quorum" (lost its majority), "higher_term" or "other"', labelNames: ['reason'], registers });
    this.truncations = new Counter({ name: 'raftd_raft_log_truncations_total', help: 'Times a conflicting suffix of this node\'s log was overwritten by the leader', registers });
    this.snapshotsSent = new Counter({ name: 'raftd_snapshots_sent_total', help: 'Times this leader started sending its snapshot to a follower whose entries were compacted away', registers });
    this.snapshotsInstalled = new Counter({ name: 'raftd_snapshots_installed_total', help: "Snapshots from a leader loaded into this node's state machine", registers });
    this.compactions = new Counter({ name: 'raftd_log_compactions_total', help: 'Times the in-memory log dropped entries covered by a snapshot', registers });
    this.snapshotsTaken = new Counter({ name: 'raftd_snapshots_taken_total', help: 'Snapshots this node wrote durably', registers });
    this.snapshotBytes = new Gauge({ name: 'raftd_snapshot_last_bytes', help: 'Size of the last snapshot this node wrote (file bytes)', registers });
    this.snapshotSeconds = new Gauge({ name: 'raftd_snapshot_last_duration_seconds', help: 'From serializing the state to the snapshot being durable, for the last one', registers });
    this.eventsDropped = new Counter({ name: 'raftd_raft_events_dropped_total', help: 'Core events dropped past the per-Ready bound (their counters may be low)', registers });
    this.entriesCommitted = thread.counter('raftd_raft_entries_committed_total', 'Log entries committed and handed to the state machine on this node')();
    const readIndex = thread.counter('raftd_raft_read_index_total', 'ReadIndex rounds completed (outcome="ok") or failed');
    this.readIndexOk = readIndex({ outcome: 'ok' });
    this.readIndexFailed = readIndex({ outcome: 'failed' });
    const byOutcome = (c: (labels: Record<string, string>) => CounterCell): Record<Outcome, CounterCell> => ({
      committed: c({ outcome: 'committed' }),
      dropped: c({ outcome: 'dropped' }),
      timed_out: c({ outcome: 'timed_out' }),
      failed: c({ outcome: 'failed' }),
    });
    this.proposals = byOutcome(thread.counter('raftd_raft_proposals_total', 'Client writes submitted on this node, by outcome: committed (applied and answered), dropped (BUSY or leader change: TRYAGAIN), timed_out, failed'));
    this.reads = byOutcome(thread.counter('raftd_raft_reads_total', 'Client reads submitted on this node, by outcome (as for proposals; committed: answered)'));
    const stage = thread.histogram(STAGE_HISTOGRAM.name, STAGE_HISTOGRAM.help);
    this.proposedCommitted = stage({ stage: 'proposed_committed' });
    this.committedApplied = stage({ stage: 'committed_applied' });

    const gauge = (name: string, help: string, labelNames: string[], read: (st: NodeStatus, set: (v: number, labels?: Record<string, string>) => void) => void) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers,
        collect() {
          this.reset();
          const st = status();
          if (st) read(st, (v, labels) => (labels ? this.set(labels, v) : this.set(v)));
        },
      });
    gauge('raftd_raft_term', 'Current term', [], (st, set) => set(st.term));
    gauge('raftd_raft_role', '1 for the role this node is in', ['role'], (st, set) => {
      for (const r of ['follower', 'precandidate', 'candidate', 'leader']) set(st.role === r ? 1 : 0, { role: r });
    });
    gauge('raftd_raft_is_leader', '1 while this node is the leader', [], (st, set) => set(st.role === 'leader' ? 1 : 0));
    gauge('raftd_raft_has_leader', '1 while this node is the leader or knows one', [], (st, set) => set(st.role === 'leader' || st.leader !== null ? 1 : 0));
    gauge('raftd_raft_commit_index', 'Highest log index known committed', [], (st, set) => set(st.commitIndex));
    gauge('raftd_raft_applied_index', 'Highest log index applied to the state machine', [], (st, set) => set(st.appliedIndex));
    gauge('raftd_raft_last_index', 'Last index in this node\'s log', [], (st, set) => set(st.lastIndex));
    gauge('raftd_raft_peer_match_index', 'Leader only: highest index known replicated on each peer', ['peer'], (st, set) => {
      for (const p of st.peers) set(p.match, { peer: p.id });
    });
    gauge('raftd_raft_peer_lag_entries', 'Leader only: entries in the leader\'s log not yet on each peer (last index - match index)', ['peer'], (st, set) => {
      for (const p of st.peers) set(p.lag, { peer: p.id });
    });
    gauge('raftd_raft_peer_connected', 'Leader only: 1 while the outbound connection to each peer is up', ['peer'], (st, set) => {
      for (const p of st.peers) set(p.connected ? 1 : 0, { peer: p.id });
    });
    gauge('raftd_kv_keys', 'Keys in the state machine', [], (st, set) => set(st.keys));
    new Counter({
      name: 'raftd_raft_messages_sent_total',
      help: 'Peer messages handed to the replicators',
      registers,
      collect() {
        const st = status();
        this.reset();
        if (st) this.inc(st.msgsSent);
      },
    });
  }

  /** One round of the replica's effects (lib/replica/replica.ts). */
  onReady(fx: Effects): void {
    const now = (this.readyAt = performance.now());
    for (const ev of fx.events) this.onEvent(ev);
    for (const w of fx.writes) if (w.entries.length > 0) this.track(w.entries[0]!.index, w.entries.length, now);
    if (fx.applied.length > 0) {
      this.entriesCommitted.inc(fx.applied.length);
      const last = fx.applied[fx.applied.length - 1]!.index;
      while (this.trackedHead < this.trackedIndex.length && this.trackedIndex[this.trackedHead]! <= last) {
        this.proposedCommitted.observe((now - this.trackedAt[this.trackedHead]!) / 1000);
        this.trackedHead++;
      }
      this.compact();
    }
    if (fx.readIndex.ok > 0) this.readIndexOk.inc(fx.readIndex.ok);
    if (fx.readIndex.failed > 0) this.readIndexFailed.inc(fx.readIndex.failed);
  }

  /** A snapshot this node took is durable. */
  onSnapshotWritten(fileBytes: number, seconds: number): void {
    this.snapshotsTaken.inc();
    this.snapshotBytes.set(fileBytes);
    this.snapshotSeconds.set(seconds);
  }

  /** After the Ready's committed entries were applied. */
  onApplied(count: number): void {
    this.committedApplied.observe((performance.now() - this.readyAt) / 1000, count);
  }

  onRequests(items: GatewayRequest[]): void {
    for (const it of items) {
      if (it.kind !== 'write' && it.kind !== 'read') continue; // an operation on the cluster, not a client write or read
      if (this.requestKind.size >= TRACKED_REQUESTS_MAX) this.requestKind.delete(this.requestKind.keys().next().value!);
      this.requestKind.set(it.reqId, it.kind);
    }
  }

  onReplies(replies: { reqId: number; reply: ClientReply }[]): void {
    for (const { reqId, reply } of replies) {
      const kind = this.requestKind.get(reqId);
      if (kind === undefined) continue;
      this.requestKind.delete(reqId);
      (kind === 'write' ? this.proposals : this.reads)[outcomeOf(reply)].inc();
    }
  }

  private onEvent(ev: RaftEvent): void {
    const kind = ev.pre === true ? 'pre' : 'real';
    switch (ev.event) {
      case 'electionStarted':
        this.electionsStarted.inc({ kind });
        return;
      case 'electionWon':
        this.electionsWon.inc({ kind });
        return;
      case 'voteGranted':
        this.votesGranted.inc({ kind });
        return;
      case 'leaderChanged':
        if (ev.to !== null && ev.to !== undefined) this.leaderChanges.inc();
        return;
      case 'steppedDown': {
        const reason = String(ev.reason);
        this.stepDowns.inc({ reason: reason === 'check-quorum' ? 'check_quorum' : reason.startsWith('higher term') ? 'higher_term' : 'other' });
        return;
      }
      case 'logTruncated':
        this.truncations.inc();
        return;
      case 'snapshotNeeded':
        if (ev.retry !== true) this.snapshotsSent.inc();
        return;
      case 'snapshotRestored':
        this.snapshotsInstalled.inc();
        return;
      case 'logCompacted':
        this.compactions.inc();
        return;
      case 'eventsDropped':
        this.eventsDropped.inc(typeof ev.count === 'number' ? ev.count : 1);
        return;
      default:
        return;
    }
  }

  /** Remembers when entries [first, first+count) were handed out for writing (a rewrite drops the old suffix). */
  private track(first: number, count: number, now: number): void {
    let n = this.trackedIndex.length;
    while (n > this.trackedHead && this.trackedIndex[n - 1]! >= first) n--;
    if (n < this.trackedIndex.length) {
      this.trackedIndex.length = n;
      this.trackedAt.length = n;
    }
    for (let i = 0; i < count; i++) {
      this.trackedIndex.push(first + i);
      this.trackedAt.push(now);
    }
    if (this.trackedIndex.length - this.trackedHead > TRACKED_ENTRIES_MAX) this.trackedHead = this.trackedIndex.length - TRACKED_ENTRIES_MAX;
    this.compact();
  }

  private compact(): void {
    if (this.trackedHead < 4096 || this.trackedHead * 2 < this.trackedIndex.length) return;
    this.trackedIndex = this.trackedIndex.slice(this.trackedHead);
    this.trackedAt = this.trackedAt.slice(this.trackedHead);
    this.trackedHead = 0;
  }
}

function outcomeOf(reply: ClientReply): Outcome {
  if (reply.ok) return 'committed';
  switch (reply.code) {
    case 'BUSY':
    case 'TRYAGAIN':
      return 'dropped';
    case 'TIMEOUT':
      return 'timed_out';
    default:
      return 'failed';
  }
}
