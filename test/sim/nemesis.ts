// The faults both simulators inject each step of their chaos phase, drawn from the
// run's PRNG in one fixed order (so every seed replays): a crash (half the time of a
// node with writes in progress, the interesting moment), restarts of crashed nodes, a
// partition in two, a heal.
import type { NodeId } from '../../lib/raft/types.js';
import type { Prng } from './prng.js';

export interface FaultRates {
  crashP: number;
  restartP: number;
  partitionP: number;
  healP: number;
}

export interface FaultTarget {
  readonly ids: readonly NodeId[];
  /** Live nodes, and which of them have writes not yet durable. */
  live(): { id: NodeId; writing: boolean }[];
  isDown(id: NodeId): boolean;
  crash(id: NodeId): void;
  restart(id: NodeId): void;
  partition(groups: NodeId[][]): void;
  heal(): void;
}

export function injectFaults(c: FaultTarget, r: Prng, rates: FaultRates): void {
  if (r.chance(rates.crashP)) {
    const live = c.live();
    const writing = live.filter((n) => n.writing);
    const pool = writing.length > 0 && r.chance(0.5) ? writing : live;
    if (pool.length > 0) c.crash(r.pick(pool).id);
  }
  for (const id of c.ids) if (c.isDown(id) && r.chance(rates.restartP)) c.restart(id);
  if (r.chance(rates.partitionP)) {
    const shuffled = r.shuffle(c.ids.slice());
    const cut = r.int(1, c.ids.length - 1);
    c.partition([shuffled.slice(0, cut), shuffled.slice(cut)]);
  }
  if (r.chance(rates.healP)) c.heal();
}
