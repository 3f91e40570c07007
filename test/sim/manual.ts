// A hand-driven cluster for unit tests: nothing happens unless the test says so.
// Persistence is immediate when a node's Ready is processed; messages wait in a
// queue until delivered (or dropped) by the test.

import { RaftCore } from '../../lib/raft/core.js';
import type { CoreConfig, Entry, HardState, Message, NodeId, RaftEvent, Ready } from '../../lib/raft/types.js';

export interface ManualNode {
  id: NodeId;
  core: RaftCore;
  hardState: HardState;
  log: Entry[];
  applied: Entry[];
  reads: { ctx: number; index: number }[];
  readsFailed: number[];
  events: RaftEvent[];
  /** When false, Ready is handed out but persisted() is not called (a slow disk). */
  autoPersist: boolean;
}

export function cfg(id: NodeId, peers: NodeId[], over: Partial<CoreConfig> = {}): CoreConfig {
  return {
    id,
    peers,
    electionTicks: 10,
    heartbeatTicks: 1,
    preVote: true,
    checkQuorum: true,
    inflightMax: 4,
    appendBytesMax: 1 << 20,
    uncommittedEntriesMax: 1000,
    ...over,
  };
}

export function ents(from: number, terms: number[], tag = 'x'): Entry[] {
  return terms.map((term, i) => ({
    index: from + i,
    term,
    kind: 'normal' as const,
    tid: `${tag}${from + i}`,
    data: new TextEncoder().encode(`${tag}-${from + i}-${term}`),
  }));
}

export interface ManualOptions {
  config?: Partial<CoreConfig>;
  /** Per-node random() value: 0 gives the shortest election timeout. Default 0.99. */
  random?: Record<NodeId, number>;
  restored?: Record<NodeId, { hardState: HardState; entries: Entry[] }>;
  /** Per-node config over the shared one (e.g. a node that joins: { join: true, peers: [] }). */
  perNode?: Record<NodeId, Partial<CoreConfig>>;
  /** The bootstrap voters, when not every id (the others are spares that join). */
  voters?: NodeId[];
}

export class Manual {
  readonly nodes = new Map<NodeId, ManualNode>();
  queue: Message[] = [];
  /** Messages matching this are dropped when delivered. */
  drop: (m: Message) => boolean = () => false;
  delivered: Message[] = [];

  constructor(
    readonly ids: NodeId[],
    readonly opts: ManualOptions = {},
  ) {
    for (const id of ids) this.start(id);
  }

  start(id: NodeId): ManualNode {
    const r = this.opts.restored?.[id] ?? { hardState: { term: 0, vote: null }, entries: [] };
    const rnd = this.opts.random?.[id] ?? 0.99;
    const core = new RaftCore(cfg(id, this.opts.voters ?? this.ids, { ...this.opts.config, ...this.opts.perNode?.[id] }), { hardState: r.hardState, entries: r.entries.slice() }, () => rnd);
    const n: ManualNode = {
      id,
      core,
      hardState: { ...r.hardState },
      log: r.entries.slice(),
      applied: [],
      reads: [],
      readsFailed: [],
      events: [],
      autoPersist: true,
    };
    this.nodes.set(id, n);
    this.flush(id);
    return n;
  }

  node(id: NodeId): ManualNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  core(id: NodeId): RaftCore {
    return this.node(id).core;
  }

  /** Process every Ready of a node: persist, queue messages, apply. Returns the Readies. */
  flush(id: NodeId): Ready[] {
    const n = this.node(id);
    const out: Ready[] = [];
    while (n.core.hasReady()) {
      const rd = n.core.ready();
      out.push(rd);
      if (rd.hardState !== null) n.hardState = { ...rd.hardState };
      if (rd.entries.length > 0) {
        n.log.length = rd.entries[0]!.index - 1;
        n.log.push(...rd.entries);
      }
      this.queue.push(...rd.messagesNow, ...rd.messages);
      n.applied.push(...rd.committed);
      n.reads.push(...rd.reads);
      n.readsFailed.push(...rd.readsFailed);
      n.events.push(...rd.events);
      if (n.autoPersist && rd.entries.length > 0) {
        const last = rd.entries[rd.entries.length - 1]!;
        n.core.persisted(last.index, last.term);
      }
    }
    return out;
  }

  flushAll(): void {
    for (const id of this.ids) this.flush(id);
  }

  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i++) {
      this.core(id).tick();
      this.flush(id);
    }
  }

  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) for (const id of this.ids) this.tick(id);
  }

  /** Deliver queued messages (and those they cause) until the queue is empty. */
  deliverAll(maxRounds = 10000): number {
    let count = 0;
    for (let i = 0; this.queue.length > 0; i++) {
      if (i >= maxRounds) throw new Error('deliverAll: no quiescence');
      const m = this.queue.shift()!;
      count++;
      this.deliver(m);
    }
    return count;
  }

  deliver(m: Message): void {
    if (this.drop(m)) return;
    this.delivered.push(m);
    this.core(m.to).step(m);
    this.flush(m.to);
  }

  /** Take queued messages matching pred out of the queue. */
  take(pred: (m: Message) => boolean): Message[] {
    const taken = this.queue.filter(pred);
    this.queue = this.queue.filter((m) => !pred(m));
    return taken;
  }

  /** Elect `id`: tick it to its election timeout and deliver everything. */
  elect(id: NodeId): void {
    const core = this.core(id);
    for (let i = 0; i < 1000 && core.status().role !== 'leader'; i++) {
      this.tick(id);
      this.deliverAll();
    }
    if (core.status().role !== 'leader') throw new Error(`${id} did not become leader`);
    this.deliverAll();
  }

  events(id: NodeId, name: string): RaftEvent[] {
    return this.node(id).events.filter((e) => e.event === name);
  }
}
