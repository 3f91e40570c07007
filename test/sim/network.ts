// In-memory network for the simulator. Messages may be dropped, duplicated,
// delayed (which reorders them) and cut by partitions; delivery order is
// deterministic given the seed. Correctness must never lean on the transport.

import { MinHeap } from '../../lib/util/min-heap.js';
import type { Message, NodeId } from '../../lib/raft/types.js';
import type { Prng } from './prng.js';

export interface NetworkOptions {
  dropP: number;
  dupP: number;
  /** Delay in simulator steps, uniform in [delayMin, delayMax]. */
  delayMin: number;
  delayMax: number;
}

/** Anything with a sender and a receiver: Raft messages, or the replica's peer messages. */
export interface Addressed {
  readonly from: NodeId;
  readonly to: NodeId;
}

interface InFlight<M> {
  at: number;
  seq: number;
  msg: M;
}

function less<M>(x: InFlight<M>, y: InFlight<M>): boolean {
  return x.at < y.at || (x.at === y.at && x.seq < y.seq);
}

export class Network<M extends Addressed = Message> {
  /** In-flight messages, earliest delivery first. */
  private readonly q = new MinHeap<InFlight<M>>(less);
  private seq = 0;
  /** Partition group per node; nodes talk only within their group. */
  private group = new Map<NodeId, number>();
  sent = 0;
  dropped = 0;
  delivered = 0;

  constructor(
    private readonly rng: Prng,
    public opts: NetworkOptions,
  ) {}

  linkUp(a: NodeId, b: NodeId): boolean {
    return (this.group.get(a) ?? 0) === (this.group.get(b) ?? 0);
  }

  /** groups: each inner list is one side; unlisted nodes join group 0 with the first list. */
  partition(groups: NodeId[][]): void {
    this.group = new Map();
    groups.forEach((g, i) => {
      for (const id of g) this.group.set(id, i);
    });
  }

  heal(): void {
    this.group = new Map();
  }

  send(msg: M, now: number): void {
    this.sent++;
    if (!this.linkUp(msg.from, msg.to) || this.rng.chance(this.opts.dropP)) {
      this.dropped++;
      return;
    }
    this.enqueue(msg, now);
    if (this.rng.chance(this.opts.dupP)) this.enqueue(msg, now);
  }

  private enqueue(msg: M, now: number): void {
    const at = now + this.rng.int(this.opts.delayMin, this.opts.delayMax);
    this.q.push({ at, seq: this.seq++, msg });
  }

  /** Next message due at or before `now`, or undefined. Partitions also cut messages in flight. */
  pop(now: number): M | undefined {
    for (;;) {
      const top = this.q.peek();
      if (top === undefined || top.at > now) return undefined;
      this.q.pop();
      if (!this.linkUp(top.msg.from, top.msg.to)) {
        this.dropped++;
        continue;
      }
      this.delivered++;
      return top.msg;
    }
  }

  /** A crashed node loses everything it had in flight. */
  dropFrom(node: NodeId): void {
    this.q.filter((x) => x.msg.from !== node);
  }

  get inFlight(): number {
    return this.q.size;
  }
}
