// The part of the story about the cluster changing shape: leadership transfers (asked
// for by CLUSTER TRANSFER or by a leader's graceful stop, from the core's transfer
// events) and configuration changes (from the node shell's `membership` line, logged
// each time a node's effective configuration changes: bootstrap, restore, a change
// appended or truncated away).
import type { LogRecord } from './record.js';
import type { RaftActorEvent } from '../raft/events.js';

export interface Transfer {
  from: string;
  /** The target the leader chose or was given. */
  to: string | null;
  term: number;
  startedAt: string;
  /** Why: `stop` when a node handing over on SIGTERM started it, `removed` when a leader whose removal committed did, else `request`. */
  cause: 'stop' | 'request' | 'removed';
  outcome: 'done' | 'aborted' | 'unfinished';
  /** When the target logged TimeoutNow (it then campaigns at once). */
  timeoutNowAt?: string;
  endedAt?: string;
  tookMs?: number;
  reason?: string;
}

export interface ConfigChange {
  /** The config's log index (0: bootstrap list). */
  index: number;
  at: string;
  /** Nodes that logged this configuration, in the order seen. */
  nodes: string[];
  voters: string[];
  learners: string[];
  /** Relative to the configuration before it (by index): who came, went, or changed role. */
  added: string[];
  removed: string[];
  promoted: string[];
}

export interface MembershipStory {
  transfers: Transfer[];
  configs: ConfigChange[];
}

interface MemberLine {
  id: string;
  voter: boolean;
}

function members(v: unknown): MemberLine[] | null {
  if (!Array.isArray(v)) return null;
  const out: MemberLine[] = [];
  for (const m of v) {
    if (typeof m !== 'object' || m === null) return null;
    const { id, voter } = m as { id?: unknown; voter?: unknown };
    if (typeof id !== 'string') return null;
    out.push({ id, voter: voter !== false });
  }
  return out;
}

/** Feed the `raft` actor's records in time order; finish() gives the transfers and configurations. */
export class MembershipStoryBuilder {
  private readonly transfers: (Transfer & { startedMs: number })[] = [];
  private readonly open = new Map<string, Transfer & { startedMs: number }>();
  /** Nodes that logged handing-over and have not yet started the transfer it asks for. */
  private readonly handingOver = new Set<string>();
  private readonly configs = new Map<number, ConfigChange & { members: MemberLine[] }>();

  add(r: LogRecord): void {
    if (r.actor !== 'raft') return;
    const f = r.fields;
    switch (r.event as RaftActorEvent) {
      case 'handing-over':
        this.handingOver.add(r.node);
        break;
      case 'transferStarted': {
        const t = { from: r.node, to: typeof f.target === 'string' ? f.target : null, term: r.term, startedAt: r.time, startedMs: r.timeMs, cause: this.handingOver.delete(r.node) ? ('stop' as const) : f.reason === 'removed' ? ('removed' as const) : ('request' as const), outcome: 'unfinished' as const };
        const prev = this.open.get(r.node);
        if (prev) this.end(prev, 'aborted', r, 'superseded by another transfer');
        this.transfers.push(t);
        this.open.set(r.node, t);
        break;
      }
      case 'transferAborted': {
        const t = this.open.get(r.node);
        if (t) this.end(t, 'aborted', r, typeof f.reason === 'string' ? f.reason : 'aborted');
        break;
      }
      case 'timeoutNowReceived': {
        const from = typeof f.from === 'string' ? f.from : null;
        const t = from === null ? undefined : this.open.get(from);
        if (t && (t.to === null || t.to === r.node)) {
          t.timeoutNowAt = r.time;
          t.to = r.node;
        }
        break;
      }
      case 'roleChanged':
      case 'leaderChanged': {
        // The target leading ends the transfer it was named in.
        const leader = r.event === 'roleChanged' ? (f.to === 'leader' ? r.node : null) : typeof f.to === 'string' ? f.to : null;
        if (leader === null) break;
        for (const t of this.open.values()) if (t.to === leader && r.term > t.term) this.end(t, 'done', r);
        break;
      }
      case 'membership': {
        const ms = members(f.members);
        const index = typeof f.index === 'number' ? f.index : null;
        if (ms === null || index === null) break;
        let c = this.configs.get(index);
        if (!c) {
          c = { index, at: r.time, nodes: [], voters: ms.filter((m) => m.voter).map((m) => m.id), learners: ms.filter((m) => !m.voter).map((m) => m.id), added: [], removed: [], promoted: [], members: ms };
          this.configs.set(index, c);
        }
        if (!c.nodes.includes(r.node)) c.nodes.push(r.node);
        break;
      }
      default:
        break;
    }
  }

  private end(t: Transfer & { startedMs: number }, outcome: 'done' | 'aborted', r: LogRecord, reason?: string): void {
    t.outcome = outcome;
    t.endedAt = r.time;
    t.tookMs = r.timeMs - t.startedMs;
    if (reason !== undefined) t.reason = reason;
    this.open.delete(t.from);
  }

  finish(): MembershipStory {
    const configs = [...this.configs.values()].sort((a, b) => a.index - b.index);
    let prev: MemberLine[] | null = null;
    for (const c of configs) {
      if (prev !== null) {
        const before = new Map(prev.map((m) => [m.id, m.voter]));
        const now = new Map(c.members.map((m) => [m.id, m.voter]));
        c.added = c.members.filter((m) => !before.has(m.id)).map((m) => m.id);
        c.removed = prev.filter((m) => !now.has(m.id)).map((m) => m.id);
        c.promoted = c.members.filter((m) => m.voter && before.get(m.id) === false).map((m) => m.id);
      }
      prev = c.members;
    }
    return {
      transfers: this.transfers.map(({ startedMs: _, ...t }) => t),
      configs: configs.map(({ members: _, ...c }) => c),
    };
  }
}

/** The story's text section; empty when nothing changed shape. */
export function membershipText(s: MembershipStory, clock: (iso: string) => string): string[] {
  const out: string[] = [];
  if (s.configs.length > 0) {
    out.push('', `Configurations (${s.configs.length})`);
    for (const c of s.configs) {
      const what = [c.added.length > 0 ? `added ${c.added.join(', ')}` : '', c.removed.length > 0 ? `removed ${c.removed.join(', ')}` : '', c.promoted.length > 0 ? `promoted ${c.promoted.join(', ')}` : ''].filter((x) => x !== '').join('; ');
      out.push(`  index ${c.index} from ${clock(c.at)}: voters ${c.voters.join(', ') || 'none'}${c.learners.length > 0 ? `, learners ${c.learners.join(', ')}` : ''}${what ? ` (${what})` : ''}; seen by ${c.nodes.join(', ')}`);
    }
  }
  if (s.transfers.length > 0) {
    out.push('', `Leadership transfers (${s.transfers.length})`);
    for (const t of s.transfers) {
      const why = t.cause === 'stop' ? 'on a graceful stop' : t.cause === 'removed' ? 'on its removal' : 'on request';
      const end = t.outcome === 'done' ? `done in ${t.tookMs} ms` : t.outcome === 'aborted' ? `aborted after ${t.tookMs} ms (${t.reason ?? '?'})` : 'unfinished in these logs';
      out.push(`  ${clock(t.startedAt)} term ${t.term}: ${t.from} → ${t.to ?? '?'} ${why}, ${end}`);
    }
  }
  return out;
}
