// The story of a cluster's logs: elections, leaders per term, step-downs, connection
// drops, restarts, warnings and errors. Built record by record from the merged stream;
// it keeps only the story, never the records.
import type { Level, LogRecord } from './record.js';
import type { RaftActorEvent } from '../raft/events.js';
import { MembershipStoryBuilder, type MembershipStory } from './membership-story.js';

export interface VoteTally {
  /** Nodes whose logs show they granted (voteGranted), in the order seen. */
  granted: string[];
  rejected: { node: string; reason: string }[];
  result?: 'won' | 'lost';
  /** From the candidate's electionWon/electionLost, itself included. */
  grantedCount?: number;
  rejectedCount?: number;
  at?: string;
}

export type ElectionOutcome = 'won' | 'lost' | 'pre-vote lost' | 'superseded' | 'timed out' | 'interrupted' | 'unfinished';

export interface Election {
  id: number;
  candidate: string;
  /** The term the candidate asked votes for. */
  term: number;
  startedAt: string;
  preVote?: VoteTally;
  vote?: VoteTally;
  outcome: ElectionOutcome;
  /** Why it ended when not by the tally (a higher term, a leader's append, a restart). */
  reason?: string;
  endedAt?: string;
  /** The first leader anyone became after this election started, and how long that took. */
  leader?: string;
  leaderTerm?: number;
  leaderAt?: string;
  tookMs?: number;
  /** Votes for this election that were logged after it had ended (stale requests delivered late). */
  lateVotes: number;
}

export interface TermLeader {
  term: number;
  leader: string;
  electedAt: string;
  /** False when only followers' leaderChanged names it (the leader's logs are missing). */
  fromLeaderLog: boolean;
  election?: number;
  /** Nodes that logged leaderChanged to this leader in this term. */
  followers: string[];
  /** The first sign that this leader was gone, and what it was. */
  lostAt?: string;
  lostHow?: string;
  /** From the previous leader's first sign of loss to this leader. */
  leaderlessMs?: number;
}

export interface SnapshotCounts {
  node: string;
  taken: number;
  sent: number;
  installed: number;
  /** The newest snapshot index seen for the node. */
  lastIndex: number;
}

export interface StepDown {
  node: string;
  term: number;
  at: string;
  reason: string;
  newTerm?: number;
}

export interface LinkDrop {
  at: string;
  reason: string;
  backAt?: string;
  downMs?: number;
}

/** One direction of a peer connection: `from` dials `to` (its replicator-<to>). */
export interface PeerLink {
  from: string;
  to: string;
  connects: number;
  drops: number;
  reconnects: number;
  longestDownMs: number;
  reasons: Record<string, number>;
  /** The first DROPS_KEPT drops. */
  dropList: LinkDrop[];
  /** Connects after `from` restarted (its old connection died with it, unlogged). */
  afterRestart: number;
  /** Down at the end of the logs. */
  downAtEnd: boolean;
}

export interface Restart {
  node: string;
  at: string;
  /** The node's last record before it. */
  lastSeen: string;
  /** The node logged `stopped` first: a clean restart, else a crash or kill. */
  clean: boolean;
  /** When the node was first seen gone (its peers' disconnects), else lastSeen. */
  goneAt: string;
  downMs: number;
}

export interface Problem {
  level: Level;
  node: string;
  actor: string;
  event: string;
  count: number;
  first: string;
  last: string;
  sample: string;
}

export interface NodeSummary {
  node: string;
  firstSeen: string;
  lastSeen: string;
  starts: number;
  role: string;
  term: number;
  records: number;
}

export interface Story {
  records: number;
  firstTime: string | null;
  lastTime: string | null;
  nodes: NodeSummary[];
  elections: Election[];
  leaders: TermLeader[];
  /** Terms someone campaigned for that never had a leader in these logs. */
  leaderlessTerms: number[];
  stepDowns: StepDown[];
  /** Snapshots: taken (durable), sent (a follower needed compacted entries), installed from a leader; per node. */
  snapshots: SnapshotCounts[];
  links: PeerLink[];
  restarts: Restart[];
  /** Configuration changes and leadership transfers (lib/logs/membership-story.ts). */
  membership: MembershipStory;
  problems: Problem[];
  malformed: number;
}

const DROPS_KEPT = 50;

interface LinkState extends PeerLink {
  up: boolean;
  downSinceMs: number | null;
  restarted: boolean;
}

function newLink(from: string, to: string): LinkState {
  return { from, to, connects: 0, drops: 0, reconnects: 0, longestDownMs: 0, reasons: {}, dropList: [], afterRestart: 0, downAtEnd: false, up: false, downSinceMs: null, restarted: false };
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

/** Feed records in time order with add(); finish() gives the story. */
export class StoryBuilder {
  private records = 0;
  private firstTime: string | null = null;
  private lastTime: string | null = null;
  private readonly nodes = new Map<string, NodeSummary & { stoppedClean: boolean; lastSeenMs: number; goneAtMs: number | null; goneAt: string | null }>();
  private readonly elections: Election[] = [];
  private readonly openElection = new Map<string, Election>();
  private readonly pendingVotes: { voter: string; candidate: string; term: number; pre: boolean; granted: boolean; reason: string }[] = [];
  private readonly leaders = new Map<number, TermLeader & { electedAtMs: number }>();
  private currentLeader: (TermLeader & { electedAtMs: number }) | null = null;
  private lastLostMs: number | null = null;
  private readonly stepDowns: StepDown[] = [];
  private readonly snapshots = new Map<string, SnapshotCounts>();
  /** Per source kind, so raft's peer-connected is used only for nodes without replicator logs. */
  private readonly links = { replicator: new Map<string, LinkState>(), raft: new Map<string, LinkState>() };
  private readonly restarts: Restart[] = [];
  private readonly problems = new Map<string, Problem>();
  private readonly membership = new MembershipStoryBuilder();

  add(r: LogRecord): void {
    this.records++;
    this.firstTime ??= r.time;
    this.lastTime = r.time;
    this.noteNode(r);
    if (r.level === 'warn' || r.level === 'error') this.noteProblem(r);
    if (r.actor === 'raft') {
      this.onRaft(r);
      this.membership.add(r);
    } else if (r.actor.startsWith('replicator-')) this.onReplicator(r);
  }

  private noteNode(r: LogRecord): void {
    let n = this.nodes.get(r.node);
    if (!n) {
      n = { node: r.node, firstSeen: r.time, lastSeen: r.time, starts: 0, role: 'follower', term: r.term, records: 0, stoppedClean: false, lastSeenMs: r.timeMs, goneAtMs: null, goneAt: null };
      this.nodes.set(r.node, n);
    }
    n.records++;
    if (r.actor === 'raft' && r.event === 'starting') {
      n.starts++;
      if (n.starts > 1) {
        const goneAtMs = n.goneAtMs ?? n.lastSeenMs;
        this.restarts.push({ node: r.node, at: r.time, lastSeen: n.lastSeen, clean: n.stoppedClean, goneAt: n.goneAt ?? n.lastSeen, downMs: r.timeMs - goneAtMs });
        this.nodeGone(r.node, r.timeMs, n.goneAt ?? n.lastSeen, n.stoppedClean ? 'stopped' : 'restarted');
        this.leaderTrouble(r.node, r, `${r.node} restarted`);
        for (const m of [this.links.replicator, this.links.raft]) {
          for (const l of m.values()) {
            if (l.from !== r.node) continue;
            l.restarted = true;
            l.up = false;
            l.downSinceMs = null;
          }
        }
      }
      n.role = 'follower';
      n.stoppedClean = false;
    }
    if (r.actor === 'raft' && r.event === 'stopped') n.stoppedClean = true;
    n.lastSeen = r.time;
    n.lastSeenMs = r.timeMs;
    n.goneAtMs = null;
    n.goneAt = null;
    if (r.actor === 'raft') n.term = r.term;
  }

  /** Another node saw `node` go away: the first such sign since node's own last record. */
  private suspectGone(node: string, r: LogRecord, how: string): void {
    const n = this.nodes.get(node);
    if (n && n.goneAtMs === null) {
      n.goneAtMs = r.timeMs;
      n.goneAt = r.time;
    }
    this.leaderTrouble(node, r, how);
  }

  /** The first sign that the current leader `node` is gone. */
  private leaderTrouble(node: string, r: LogRecord, how: string): void {
    const L = this.currentLeader;
    if (L && L.leader === node && L.lostAt === undefined && r.timeMs >= L.electedAtMs) {
      L.lostAt = r.time;
      L.lostHow = how;
      this.lastLostMs = r.timeMs;
    }
  }

  private nodeGone(node: string, _atMs: number, goneAt: string, why: string): void {
    const e = this.openElection.get(node);
    if (e) this.closeElection(e, 'interrupted', goneAt, `node ${why}`);
  }

  private noteProblem(r: LogRecord): void {
    const key = `${r.level}\u0000${r.node}\u0000${r.actor}\u0000${r.event}`;
    const p = this.problems.get(key);
    if (p) {
      p.count++;
      p.last = r.time;
      return;
    }
    let sample = JSON.stringify(r.fields);
    if (sample.length > 160) sample = sample.slice(0, 157) + '...';
    this.problems.set(key, { level: r.level, node: r.node, actor: r.actor, event: r.event, count: 1, first: r.time, last: r.time, sample });
  }

  private closeElection(e: Election, outcome: ElectionOutcome, at: string, reason?: string): void {
    e.outcome = outcome;
    e.endedAt = at;
    if (reason !== undefined) e.reason = reason;
    this.openElection.delete(e.candidate);
  }

  private onRaft(r: LogRecord): void {
    const f = r.fields;
    const n = this.nodes.get(r.node)!;
    // Typed: a case that names no event the raft actor logs does not compile.
    switch (r.event as RaftActorEvent) {
      case 'electionStarted': {
        const pre = f.pre === true;
        const term = typeof f.voteTerm === 'number' ? f.voteTerm : r.term + (pre ? 1 : 0);
        const open = this.openElection.get(r.node);
        if (!pre && open && open.term === term && open.preVote?.result === 'won' && !open.vote) {
          open.vote = { granted: [], rejected: [] };
        } else {
          if (open) this.closeElection(open, 'timed out', r.time, 'started again');
          const e: Election = { id: this.elections.length + 1, candidate: r.node, term, startedAt: r.time, outcome: 'unfinished', lateVotes: 0 };
          if (pre) e.preVote = { granted: [], rejected: [] };
          else e.vote = { granted: [], rejected: [] };
          this.elections.push(e);
          this.openElection.set(r.node, e);
        }
        this.attachPendingVotes();
        break;
      }
      case 'electionWon':
      case 'electionLost': {
        const e = this.openElection.get(r.node);
        if (!e) break;
        const pre = f.pre === true;
        const tally = pre ? e.preVote : e.vote;
        if (!tally) break;
        const won = r.event === 'electionWon';
        tally.result = won ? 'won' : 'lost';
        tally.at = r.time;
        if (typeof f.granted === 'number') tally.grantedCount = f.granted;
        if (typeof f.rejected === 'number') tally.rejectedCount = f.rejected;
        if (!won) this.closeElection(e, pre ? 'pre-vote lost' : 'lost', r.time);
        // A won real vote closes at roleChanged → leader.
        break;
      }
      case 'voteGranted':
      case 'voteRejected': {
        const candidate = str(f.candidate);
        if (candidate === null || typeof f.voteTerm !== 'number') break;
        this.pendingVotes.push({ voter: r.node, candidate, term: f.voteTerm, pre: f.pre === true, granted: r.event === 'voteGranted', reason: str(f.reason) ?? '' });
        this.attachPendingVotes();
        break;
      }
      case 'roleChanged': {
        const to = str(f.to) ?? '?';
        const from = str(f.from);
        n.role = to;
        const e = this.openElection.get(r.node);
        if (to === 'leader') {
          if (e) {
            this.closeElection(e, 'won', r.time);
            e.leader = r.node;
            e.leaderTerm = r.term;
            e.leaderAt = r.time;
            e.tookMs = r.timeMs - Date.parse(e.startedAt);
          }
          this.newLeader(r.term, r.node, r, true, e?.id);
        } else if (to === 'follower' && e && (from === 'candidate' || from === 'precandidate')) {
          this.closeElection(e, 'superseded', r.time, str(f.reason) ?? undefined);
        }
        if (from === 'leader') this.leaderTrouble(r.node, r, `${r.node} became ${to} (${str(f.reason) ?? '?'})`);
        break;
      }
      case 'leaderChanged': {
        const to = str(f.to);
        const from = str(f.from);
        if (from !== null && from !== r.node) this.leaderTrouble(from, r, `${r.node} ${to === null ? 'lost leader' : 'switched from'} ${from}${to === null ? '' : ` to ${to}`}`);
        if (to !== null) {
          const L = this.leaders.get(r.term);
          if (L && L.leader === to) {
            if (!L.followers.includes(r.node) && r.node !== to) L.followers.push(r.node);
          } else if (!L && r.node !== to) {
            this.newLeader(r.term, to, r, false, undefined);
            this.leaders.get(r.term)!.followers.push(r.node);
          }
        }
        break;
      }
      case 'steppedDown': {
        const s: StepDown = { node: r.node, term: r.term, at: r.time, reason: str(f.reason) ?? '?' };
        if (typeof f.newTerm === 'number') s.newTerm = f.newTerm;
        this.stepDowns.push(s);
        this.leaderTrouble(r.node, r, `${r.node} stepped down (${s.reason})`);
        break;
      }
      case 'peer-disconnected':
      case 'peer-inbound-down': {
        const peer = str(f.peer);
        if (peer === null) break;
        this.suspectGone(peer, r, `${r.node} lost its connection ${r.event === 'peer-inbound-down' ? 'from' : 'to'} ${peer} (${str(f.reason) ?? '?'})`);
        if (r.event === 'peer-disconnected') this.linkDown('raft', r.node, peer, r, str(f.reason) ?? '?');
        break;
      }
      case 'peer-connected': {
        const peer = str(f.peer);
        if (peer !== null) this.linkUp('raft', r.node, peer, r);
        break;
      }
      case 'log-writer-snapshot':
      case 'snapshotNeeded':
      case 'snapshotRestored': {
        let c = this.snapshots.get(r.node);
        if (!c) this.snapshots.set(r.node, (c = { node: r.node, taken: 0, sent: 0, installed: 0, lastIndex: 0 }));
        const snap = f.snapshot as { index?: unknown } | undefined;
        if (r.event === 'log-writer-snapshot' && f.type === 'snapshotWritten') {
          c.taken++;
          if (typeof snap?.index === 'number') c.lastIndex = Math.max(c.lastIndex, snap.index);
        } else if (r.event === 'snapshotNeeded' && f.retry !== true) c.sent++;
        else if (r.event === 'snapshotRestored') {
          c.installed++;
          if (typeof f.index === 'number') c.lastIndex = Math.max(c.lastIndex, f.index);
        }
        break;
      }
      case 'stopping':
      case 'stopped':
        if (r.event === 'stopped') this.nodeGone(r.node, r.timeMs, r.time, 'stopped');
        this.leaderTrouble(r.node, r, `${r.node} ${r.event}`);
        break;
      default:
        break;
    }
  }

  private newLeader(term: number, leader: string, r: LogRecord, fromLeaderLog: boolean, election: number | undefined): void {
    const existing = this.leaders.get(term);
    if (existing) {
      if (fromLeaderLog && !existing.fromLeaderLog && existing.leader === leader) {
        existing.fromLeaderLog = true;
        if (election !== undefined) existing.election = election;
      }
      return;
    }
    const L: TermLeader & { electedAtMs: number } = { term, leader, electedAt: r.time, electedAtMs: r.timeMs, fromLeaderLog, followers: [] };
    if (election !== undefined) L.election = election;
    if (this.currentLeader && this.lastLostMs !== null && this.currentLeader.lostAt !== undefined) {
      L.leaderlessMs = r.timeMs - this.lastLostMs;
    } else if (this.currentLeader && this.currentLeader.lostAt === undefined) {
      this.currentLeader.lostAt = r.time;
      this.currentLeader.lostHow = `${leader} became leader of term ${term}`;
      L.leaderlessMs = 0;
    }
    this.leaders.set(term, L);
    if (!this.currentLeader || term > this.currentLeader.term) {
      this.currentLeader = L;
      this.lastLostMs = null;
    }
  }

  private attachPendingVotes(): void {
    for (let i = 0; i < this.pendingVotes.length; ) {
      const v = this.pendingVotes[i]!;
      let e: Election | undefined;
      for (let j = this.elections.length - 1; j >= 0; j--) {
        const c = this.elections[j]!;
        if (c.candidate === v.candidate && c.term === v.term && (v.pre ? c.preVote : c.vote)) {
          e = c;
          break;
        }
      }
      if (!e) {
        i++;
        continue;
      }
      this.pendingVotes.splice(i, 1);
      const tally = v.pre ? e.preVote! : e.vote!;
      if (tally.result !== undefined || e.endedAt !== undefined) e.lateVotes++;
      else if (v.granted) tally.granted.push(v.voter);
      else tally.rejected.push({ node: v.voter, reason: v.reason });
    }
    // Votes for elections whose candidate's logs are absent stay pending; bound them.
    if (this.pendingVotes.length > 1000) this.pendingVotes.splice(0, this.pendingVotes.length - 1000);
  }

  private onReplicator(r: LogRecord): void {
    const peer = str(r.fields.peer) ?? r.actor.slice('replicator-'.length);
    if (r.event === 'connected') this.linkUp('replicator', r.node, peer, r);
    else if (r.event === 'disconnected') {
      this.linkDown('replicator', r.node, peer, r, str(r.fields.reason) ?? '?');
      this.suspectGone(peer, r, `${r.node} lost its connection to ${peer} (${str(r.fields.reason) ?? '?'})`);
    }
  }

  private link(kind: 'replicator' | 'raft', from: string, to: string): LinkState {
    const m = this.links[kind];
    const key = `${from}\u0000${to}`;
    let l = m.get(key);
    if (!l) m.set(key, (l = newLink(from, to)));
    return l;
  }

  private linkUp(kind: 'replicator' | 'raft', from: string, to: string, r: LogRecord): void {
    const l = this.link(kind, from, to);
    l.connects++;
    if (l.restarted) {
      l.afterRestart++;
      l.restarted = false;
    }
    if (l.downSinceMs !== null) {
      l.reconnects++;
      const downMs = r.timeMs - l.downSinceMs;
      l.longestDownMs = Math.max(l.longestDownMs, downMs);
      const d = l.dropList[l.dropList.length - 1];
      if (d && d.backAt === undefined && l.drops <= DROPS_KEPT) {
        d.backAt = r.time;
        d.downMs = downMs;
      }
    }
    l.up = true;
    l.downSinceMs = null;
  }

  private linkDown(kind: 'replicator' | 'raft', from: string, to: string, r: LogRecord, reason: string): void {
    const l = this.link(kind, from, to);
    l.drops++;
    l.reasons[reason] = (l.reasons[reason] ?? 0) + 1;
    if (l.dropList.length < DROPS_KEPT) l.dropList.push({ at: r.time, reason });
    l.up = false;
    l.downSinceMs = r.timeMs;
  }

  finish(malformed = 0): Story {
    for (const e of this.elections) {
      if (e.leader !== undefined) continue;
      const start = Date.parse(e.startedAt);
      let best: (TermLeader & { electedAtMs: number }) | null = null;
      for (const L of this.leaders.values()) if (L.electedAtMs >= start && (!best || L.electedAtMs < best.electedAtMs)) best = L;
      if (best) {
        e.leader = best.leader;
        e.leaderTerm = best.term;
        e.leaderAt = best.electedAt;
        e.tookMs = best.electedAtMs - start;
      }
    }
    const replicatorNodes = new Set([...this.links.replicator.values()].map((l) => l.from));
    const links = [...this.links.replicator.values(), ...[...this.links.raft.values()].filter((l) => !replicatorNodes.has(l.from))]
      .map(({ up, downSinceMs, restarted: _, ...l }) => ({ ...l, downAtEnd: !up && downSinceMs !== null }))
      .sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
    const leaders = [...this.leaders.values()].sort((a, b) => a.term - b.term).map(({ electedAtMs: _, ...L }) => L);
    const led = new Set(leaders.map((L) => L.term));
    const leaderlessTerms = [...new Set(this.elections.map((e) => e.term))].filter((t) => !led.has(t)).sort((a, b) => a - b);
    const rank: Record<Level, number> = { error: 0, warn: 1, info: 2, debug: 3 };
    return {
      records: this.records,
      firstTime: this.firstTime,
      lastTime: this.lastTime,
      nodes: [...this.nodes.values()]
        .map(({ stoppedClean: _s, lastSeenMs: _l, goneAtMs: _g, goneAt: _ga, ...n }) => n)
        .sort((a, b) => a.node.localeCompare(b.node)),
      elections: this.elections,
      leaders,
      leaderlessTerms,
      stepDowns: this.stepDowns,
      snapshots: [...this.snapshots.values()].sort((a, b) => a.node.localeCompare(b.node)),
      links,
      restarts: this.restarts,
      membership: this.membership.finish(),
      problems: [...this.problems.values()].sort((a, b) => rank[a.level] - rank[b.level] || b.count - a.count || a.first.localeCompare(b.first)),
      malformed,
    };
  }
}

/** Builds the story of a record stream. */
export async function buildStory(records: AsyncIterable<LogRecord>, malformed: () => number): Promise<Story> {
  const b = new StoryBuilder();
  for await (const r of records) b.add(r);
  return b.finish(malformed());
}
