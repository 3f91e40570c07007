// The checks besides linearizability: the nodes' logs never disagree on a committed
// index (sampled during the run with `raftd --dump-log`, and at the end), every
// acknowledged write is in the committed log, and after the faults heal and every node
// restarts all nodes converge to the same log and the same state.
import { execFile } from 'node:child_process';
import { RAFTD } from '../helpers/cluster.js';
import type { OpRecord } from './history.js';
import type { Nodes } from './nodes.js';
import { RespError, type Arg } from '../../lib/client/resp-client.js';
import type { Datum } from '../../lib/check/index.js';
import { RETRY_CODES } from './client.js';
import { commandWithin, replyText } from './probe.js';

export interface LogEntry {
  readonly index: number;
  readonly term: number;
  readonly kind: string;
  readonly tid: string;
  readonly data: string;
}

/** `raftd --dump-log --data DIR`, parsed; works on a running node too. */
export function dumpLog(dataDir: string): Promise<{ entries: LogEntry[]; notes: string[]; snapshotIndex: number }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [RAFTD, '--dump-log', '--data', dataDir], { maxBuffer: 512 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`dump-log ${dataDir}: ${err.message} ${stderr}`));
        return;
      }
      const entries: LogEntry[] = [];
      const notes: string[] = [];
      let snapshotIndex = 0;
      for (const line of stdout.split('\n')) {
        if (line === '') continue;
        if (line.startsWith('#')) {
          if (line.startsWith('# note')) notes.push(line);
          const snap = /^# snapshot index (\d+) /.exec(line);
          if (snap) snapshotIndex = Math.max(snapshotIndex, Number(snap[1]));
          continue;
        }
        const [index, term, kind, tid, ...rest] = line.split('\t');
        entries.push({ index: Number(index), term: Number(term), kind: kind ?? '', tid: tid ?? '', data: rest.join('\t') });
      }
      resolve({ entries, notes, snapshotIndex });
    });
  });
}

const same = (a: LogEntry, b: LogEntry) => a.term === b.term && a.kind === b.kind && a.tid === b.tid && a.data === b.data;
const show = (e: LogEntry) => `${e.index} t${e.term} ${e.kind} ${e.tid} ${e.data}`;

/**
 * Every entry any node held at or below its commit index, by index: a committed index
 * must hold the same entry on every node at every moment.
 */
export class CommittedLog {
  readonly byIndex = new Map<number, { entry: LogEntry; node: string; at: number }>();
  readonly conflicts: string[] = [];
  samples = 0;

  add(node: string, commitIndex: number, entries: readonly LogEntry[], at: number): void {
    this.samples++;
    for (const e of entries) {
      if (e.index > commitIndex) break;
      const had = this.byIndex.get(e.index);
      if (had === undefined) this.byIndex.set(e.index, { entry: e, node, at });
      else if (!same(had.entry, e) && this.conflicts.length < 50) {
        this.conflicts.push(
          `index ${e.index} committed as [${show(had.entry)}] on ${had.node} at ${(had.at / 1000).toFixed(1)}s ` +
            `and as [${show(e)}] on ${node} at ${(at / 1000).toFixed(1)}s`,
        );
      }
    }
  }

  /** The highest index known committed. */
  maxIndex(): number {
    let max = 0;
    for (const i of this.byIndex.keys()) max = Math.max(max, i);
    return max;
  }

  /** Request ids present in the committed log. */
  tids(): Set<string> {
    const out = new Set<string>();
    for (const { entry } of this.byIndex.values()) if (entry.tid !== '') out.add(entry.tid);
    return out;
  }
}

/** Samples every live node: its commit index (INFO first), then its log. */
export async function sampleLogs(nodes: Nodes, log: CommittedLog, now: () => number): Promise<void> {
  const infos = await nodes.infos(1000);
  await Promise.all(
    [...infos].map(async ([id, info]) => {
      const commit = Number(info.commit_index);
      if (!Number.isFinite(commit)) return;
      try {
        const { entries } = await dumpLog(nodes.node(id).dataDir);
        log.add(id, commit, entries, now());
      } catch {
        // A log read mid-write; the next sample will do.
      }
    }),
  );
}

export interface Converged {
  readonly commitIndex: number;
  readonly lastLogIndex: number;
  readonly term: number;
  readonly leader: string;
}

/**
 * Waits until every node reports the same term, leader, commit, applied and last index,
 * twice in a row, with a commit index of at least `commitAtLeast` (right after a restart
 * every node says 0 until the new leader commits an entry of its term).
 */
export async function waitConverged(nodes: Nodes, timeoutMs: number, commitAtLeast = 0): Promise<Converged> {
  const deadline = performance.now() + timeoutMs;
  let previous = '';
  let last = 'no answer yet';
  while (performance.now() < deadline) {
    const infos = await nodes.infos(1000);
    if (infos.size === nodes.ids.length) {
      const vals = [...infos.values()].map((i) => [i.term, i.leader_id, i.commit_index, i.last_applied, i.last_log_index].join('/'));
      last = [...infos].map(([id, i]) => `${id}:${i.role}/${vals[nodes.ids.indexOf(id)]}`).join(' ');
      const first = [...infos.values()][0]!;
      const agree =
        vals.every((v) => v === vals[0]) &&
        first.commit_index === first.last_applied &&
        Number(first.commit_index) >= commitAtLeast &&
        first.leader_id !== '' &&
        first.leader_id !== '-';
      if (agree && vals[0] === previous) {
        return { commitIndex: Number(first.commit_index), lastLogIndex: Number(first.last_log_index), term: Number(first.term), leader: first.leader_id! };
      }
      previous = agree ? vals[0]! : '';
    } else {
      last = `${infos.size} of ${nodes.ids.length} nodes answer INFO`;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`nodes did not converge (to a commit index >= ${commitAtLeast}) in ${timeoutMs} ms: ${last}`);
}

/** A read through one node (GET, LRANGE), resent on retry replies (TRYAGAIN, ...) until timeoutMs; throws on an error reply or no answer. */
async function readRetrying(nodes: Nodes, id: string, args: readonly Arg[], timeoutMs: number): Promise<Datum> {
  const deadline = performance.now() + timeoutMs;
  let last = 'no attempt';
  while (performance.now() < deadline) {
    try {
      const r = await commandWithin(nodes.endpoint(id), args, Math.max(1, deadline - performance.now()));
      if (r === null) return null;
      if (Buffer.isBuffer(r)) return r.toString('utf8');
      if (Array.isArray(r) && r.every((x) => Buffer.isBuffer(x))) return r.map((x) => (x as Buffer).toString('utf8'));
      if (!(r instanceof RespError && RETRY_CODES.has(r.code))) throw new Error(`${String(args[0])} answered ${String(replyText(r))}`);
      last = r.reply;
    } catch (err) {
      if ((err as Error).message.startsWith(`${String(args[0])} answered`)) throw err;
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no answer in ${timeoutMs} ms (last: ${last})`);
}

/** Reads every key on every node (with the command `readArgs` gives); returns problems (disagreements, errors) and the values per key. */
export async function readEverywhere(
  nodes: Nodes,
  keys: readonly string[],
  readArgs: (key: string) => readonly Arg[] = (key) => ['GET', key],
): Promise<{ problems: string[]; values: Map<string, Map<string, Datum>> }> {
  const problems: string[] = [];
  const values = new Map<string, Map<string, Datum>>();
  for (const key of keys) {
    const perNode = new Map<string, Datum>();
    for (const id of nodes.ids) {
      try {
        perNode.set(id, await readRetrying(nodes, id, readArgs(key), 10_000));
      } catch (err) {
        problems.push(`${readArgs(key).join(' ')} on ${id} failed: ${(err as Error).message}`);
      }
    }
    const distinct = new Set([...perNode.values()].map((v) => JSON.stringify(v)));
    if (distinct.size > 1) {
      problems.push(`nodes disagree on ${key}: ${[...perNode].map(([id, v]) => `${id}=${JSON.stringify(v)}`).join(' ')}`);
    }
    values.set(key, perNode);
  }
  return { problems, values };
}

/** Compares the nodes' final logs: identical up to the commit index, and every node has all of it. */
export function compareFinalLogs(logs: Map<string, LogEntry[]>, commitIndex: number): string[] {
  const problems: string[] = [];
  const [refId, ref] = [...logs][0]!;
  const refByIndex = new Map(ref.map((e) => [e.index, e]));
  for (const [id, entries] of logs) {
    // A compacted log starts later: what it no longer holds is in its snapshot.
    const start = entries.length > 0 ? entries[0]!.index : commitIndex + 1;
    const upTo = entries.filter((e) => e.index <= commitIndex);
    const want = Math.max(0, commitIndex - start + 1);
    if (upTo.length !== want) problems.push(`${id} holds ${upTo.length} entries from ${start} up to the commit index ${commitIndex}, want ${want}`);
    for (const e of entries) {
      const r = refByIndex.get(e.index);
      if (r !== undefined && !same(r, e)) {
        problems.push(`index ${e.index}: ${refId} has [${show(r)}], ${id} has [${show(e)}]`);
        if (problems.length > 20) return problems;
      }
    }
  }
  return problems;
}

/** Acknowledged writes whose request id is not in the committed log. */
export function lostWrites(ops: readonly OpRecord[], committed: Set<string>): OpRecord[] {
  return ops.filter((o) => o.outcome === 'ok' && o.requestId !== undefined && !committed.has(o.requestId));
}
