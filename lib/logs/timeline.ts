// What the HTML timeline draws: per node, bands of role and term over time, event
// markers, and the table of events. Built record by record from the merged stream.
import { fieldValue } from './format.js';
import { LEVEL_RANK, type LogRecord } from './record.js';

/** follower | precandidate | candidate | leader, or down (stopped, or gone: silent after its peers lost it). */
export type BandRole = string;

export interface Band {
  node: string;
  from: number;
  to: number;
  role: BandRole;
  term: number;
  leader: string | null;
}

export type MarkerKind = 'election' | 'won' | 'lost' | 'leader' | 'stepdown' | 'drop' | 'reconnect' | 'warn' | 'error' | 'start' | 'stop';

export interface Marker {
  node: string;
  t: number;
  kind: MarkerKind;
  title: string;
  /** Index into rows, when the record is in the table. */
  row: number | null;
}

export interface Row {
  t: number;
  node: string;
  actor: string;
  level: string;
  term: number;
  event: string;
  text: string;
}

export interface Timeline {
  nodes: string[];
  start: number;
  end: number;
  bands: Band[];
  markers: Marker[];
  rows: Row[];
  rowsOmitted: number;
}

export const ROWS_MAX = 5000;

interface NodeState {
  role: BandRole;
  term: number;
  leader: string | null;
  since: number;
  seen: boolean;
  lastSeen: number;
  goneAt: number | null;
  disconnected: Set<string>;
}

export class TimelineBuilder {
  private readonly state = new Map<string, NodeState>();
  private readonly bands: Band[] = [];
  private readonly markers: Marker[] = [];
  private readonly rows: Row[] = [];
  private rowsOmitted = 0;
  private start = Infinity;
  private end = -Infinity;

  /** rowLevel: the least level a record needs to be a table row. */
  constructor(private readonly rowLevel: keyof typeof LEVEL_RANK = 'info') {}

  private node(name: string, t: number): NodeState {
    let s = this.state.get(name);
    if (!s) {
      s = { role: 'follower', term: 0, leader: null, since: t, seen: false, lastSeen: t, goneAt: null, disconnected: new Set() };
      this.state.set(name, s);
    }
    return s;
  }

  /** Ends the node's current band at `t` and starts the next with what `next` changes. */
  private change(node: string, s: NodeState, t: number, next: Partial<Pick<NodeState, 'role' | 'term' | 'leader'>>): void {
    const role = next.role ?? s.role;
    const term = next.term ?? s.term;
    const leader = next.leader !== undefined ? next.leader : s.leader;
    if (role === s.role && term === s.term && leader === s.leader) return;
    if (t > s.since) this.bands.push({ node, from: s.since, to: t, role: s.role, term: s.term, leader: s.leader });
    s.role = role;
    s.term = term;
    s.leader = leader;
    s.since = Math.max(s.since, t);
  }

  private mark(r: LogRecord, node: string, kind: MarkerKind, title: string, row: number | null): void {
    this.markers.push({ node, t: r.timeMs, kind, title: `${new Date(r.timeMs).toISOString().slice(11, 23)} ${title}`, row });
  }

  add(r: LogRecord): void {
    this.start = Math.min(this.start, r.timeMs);
    this.end = Math.max(this.end, r.timeMs);
    const s = this.node(r.node, r.timeMs);
    const f = r.fields;
    let row: number | null = null;
    if (LEVEL_RANK[r.level] >= LEVEL_RANK[this.rowLevel]) {
      if (this.rows.length < ROWS_MAX) {
        row = this.rows.length;
        this.rows.push({ t: r.timeMs, node: r.node, actor: r.actor, level: r.level, term: r.term, event: r.event, text: Object.entries(f).map(([k, v]) => `${k}=${fieldValue(v)}`).join(' ') });
      } else this.rowsOmitted++;
    }

    if (r.actor === 'raft' && r.event === 'starting') {
      if (s.seen) {
        const gone = s.role === 'down' ? s.since : (s.goneAt ?? s.lastSeen);
        this.change(r.node, s, gone, { role: 'down', leader: null });
      }
      this.change(r.node, s, r.timeMs, { role: 'follower', leader: null });
      this.mark(r, r.node, 'start', `${r.node} starting`, row);
    }
    s.seen = true;
    s.lastSeen = r.timeMs;
    s.goneAt = null;
    if (r.actor === 'raft' && r.term !== s.term && s.role !== 'down') this.change(r.node, s, r.timeMs, { term: r.term });

    if (r.level === 'error' || r.level === 'warn') this.mark(r, r.node, r.level, `${r.level} ${r.actor} ${r.event} ${JSON.stringify(f).slice(0, 200)}`, row);
    if (r.actor !== 'raft') return;
    const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
    switch (r.event) {
      case 'roleChanged': {
        const to = str(f.to) ?? '?';
        this.change(r.node, s, r.timeMs, { role: to });
        if (to === 'leader') this.mark(r, r.node, 'leader', `${r.node} leader of term ${r.term}`, row);
        break;
      }
      case 'termChanged':
        if (typeof f.to === 'number') this.change(r.node, s, r.timeMs, { term: f.to });
        break;
      case 'leaderChanged':
        this.change(r.node, s, r.timeMs, { leader: str(f.to) });
        break;
      case 'electionStarted':
        this.mark(r, r.node, 'election', `${r.node} starts ${f.pre === true ? 'a pre-vote' : 'an election'} for term ${String(f.voteTerm)}`, row);
        break;
      case 'electionWon':
      case 'electionLost':
        this.mark(r, r.node, r.event === 'electionWon' ? 'won' : 'lost', `${r.node} ${r.event === 'electionWon' ? 'won' : 'lost'} the ${f.pre === true ? 'pre-vote' : 'vote'}: ${String(f.granted)} granted, ${String(f.rejected)} rejected`, row);
        break;
      case 'steppedDown':
        this.mark(r, r.node, 'stepdown', `${r.node} stepped down: ${str(f.reason) ?? '?'}`, row);
        break;
      case 'peer-disconnected': {
        const peer = str(f.peer);
        if (peer === null) break;
        s.disconnected.add(peer);
        this.mark(r, r.node, 'drop', `${r.node} lost its connection to ${peer} (${str(f.reason) ?? '?'})`, row);
        const p = this.state.get(peer);
        if (p && p.goneAt === null && p.role !== 'down') p.goneAt = r.timeMs;
        break;
      }
      case 'peer-connected': {
        const peer = str(f.peer);
        if (peer !== null && s.disconnected.delete(peer)) this.mark(r, r.node, 'reconnect', `${r.node} reconnected to ${peer}`, row);
        break;
      }
      case 'stopped':
        this.change(r.node, s, r.timeMs, { role: 'down', leader: null });
        this.mark(r, r.node, 'stop', `${r.node} stopped`, row);
        break;
      default:
        break;
    }
  }

  finish(): Timeline {
    const start = Number.isFinite(this.start) ? this.start : 0;
    const end = Number.isFinite(this.end) ? Math.max(this.end, start + 1) : 1;
    for (const [node, s] of this.state) {
      if (s.goneAt !== null && s.role !== 'down') {
        this.change(node, s, s.goneAt, { role: 'gone', leader: null });
      }
      if (end > s.since) this.bands.push({ node, from: s.since, to: end, role: s.role, term: s.term, leader: s.leader });
    }
    return {
      nodes: [...this.state.keys()].sort(),
      start,
      end,
      bands: this.bands,
      markers: this.markers,
      rows: this.rows,
      rowsOmitted: this.rowsOmitted,
    };
  }
}
