// Who started which election, read from the nodes' own raft.log (lib/log/logger.ts):
// what lets a real-cluster test tell "the returning node disrupted the leader" from
// an election a loaded machine caused on its own. A node's term only rises by
// campaigning (electionStarted with pre: false) or by adopting a term another node
// already holds; PreVote requests carry a term nobody adopts. So a node that started
// no real election can not have pushed the cluster into a new term.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TestCluster } from './cluster.js';

export interface ElectionEvent {
  node: string;
  time: string;
  event: 'electionStarted' | 'steppedDown';
  /** electionStarted: the term campaigned in. */
  voteTerm?: number;
  /** steppedDown: why the leader gave up, and for which term. */
  reason?: string;
  newTerm?: number;
}

/** Byte offsets of every node's raft.log now: events after a mark are what happened since. */
export type LogMark = Map<string, number>;

function raftLog(c: TestCluster, id: string): string {
  return path.join(c.node(id).dataDir, 'logs', 'raft.log');
}

export function markRaftLogs(c: TestCluster): LogMark {
  const m: LogMark = new Map();
  for (const n of c.nodes) {
    let size = 0;
    try {
      size = fs.statSync(raftLog(c, n.id)).size;
    } catch {
      // No log yet: everything in it will be new.
    }
    m.set(n.id, size);
  }
  return m;
}

/** Whether `id` logged `event` since `mark`: shows its log is being read at all, so an empty answer means something. */
export function loggedSince(c: TestCluster, mark: LogMark, id: string, event: string): boolean {
  try {
    const buf = fs.readFileSync(raftLog(c, id));
    return buf.subarray(Math.min(mark.get(id) ?? 0, buf.length)).toString('utf8').includes(`"event":"${event}"`);
  } catch {
    return false;
  }
}

/** Real elections started and leaders that stepped down since `mark`, oldest first per node. */
export function electionsSince(c: TestCluster, mark: LogMark): ElectionEvent[] {
  const out: ElectionEvent[] = [];
  for (const n of c.nodes) {
    let text: string;
    try {
      const buf = fs.readFileSync(raftLog(c, n.id));
      text = buf.subarray(Math.min(mark.get(n.id) ?? 0, buf.length)).toString('utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      if (!line.includes('"electionStarted"') && !line.includes('"steppedDown"')) continue;
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue; // a line still being written
      }
      const time = String(rec.time);
      if (rec.event === 'electionStarted' && rec.pre === false) out.push({ node: n.id, time, event: 'electionStarted', voteTerm: Number(rec.voteTerm) });
      else if (rec.event === 'steppedDown') out.push({ node: n.id, time, event: 'steppedDown', reason: String(rec.reason), newTerm: Number(rec.newTerm) });
    }
  }
  return out;
}

export function describeElections(evs: ElectionEvent[]): string {
  return evs
    .slice()
    .sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0))
    .map((e) => (e.event === 'electionStarted' ? `${e.time} ${e.node} campaigned for term ${e.voteTerm}` : `${e.time} ${e.node} stepped down (${e.reason}) for term ${e.newTerm}`))
    .join('; ');
}
