// How many committed entries one event-loop turn may apply, from what applying has cost.
//
// The core hands out committed entries a bounded slice per Ready (COMMITTED_PER_READY_MAX,
// 1024) and the node handles one Ready per turn, so heartbeats and peer messages wait at
// most one slice. But a slice's cost is not fixed. Right after a restart with a long log
// the apply code is cold (not yet compiled) and five members load and apply on two cores
// at once: a new leader's first 1024-entry turns took 548, 389 and 260 ms of wall time
// (later ones 60-120 ms), its heartbeats stopped for longer than the 300 ms election
// timeout, and leadership churned (test/scenarios.test.ts, "restart with a long log").
//
// So the node measures each turn that applied entries and sizes the next slice to take
// about TURN_TARGET_MS at the cost seen so far: a cold or starved thread applies a few
// dozen entries a turn, a warm one the full slice. Wall time, not CPU time, is what
// counts: a thread that waits for a CPU delays its heartbeats just the same. Under load
// a round commits far fewer entries than a slice costs in time, so this changes nothing
// there; it only splits long applies.
import { assert } from '../util/assert.js';

/** Wall time one turn's apply aims at: a fraction of the heartbeat interval (50-100 ms). */
export const TURN_TARGET_MS = 15;
/** Fewest entries a turn may apply, so a slow machine still makes progress. */
export const APPLY_MIN = 16;
/** The first slice's size, before any cost was seen (the code is cold then). */
export const APPLY_FIRST = 64;
/** Turns that applied fewer entries than this say little about the cost per entry (a turn's fixed cost dominates). */
const SAMPLE_ENTRIES_MIN = 8;

export class ApplyPace {
  /** Estimated wall time per applied entry, ms (null: nothing measured yet). */
  private perEntryMs: number | null = null;

  constructor(private readonly max: number) {
    assert(Number.isInteger(max) && max >= APPLY_MIN, `apply pace max ${max}`);
  }

  /** Entries the next turn may apply. */
  budget(): number {
    if (this.perEntryMs === null) return Math.min(APPLY_FIRST, this.max);
    const n = Math.floor(TURN_TARGET_MS / Math.max(this.perEntryMs, 1e-6));
    return Math.max(APPLY_MIN, Math.min(this.max, n));
  }

  /** A turn applied `entries` in `ms` of wall time (the whole turn's processing). */
  observe(entries: number, ms: number): void {
    if (entries < SAMPLE_ENTRIES_MIN || !(ms >= 0)) return;
    const sample = ms / entries;
    // Half old, half new: one stalled turn (a collection) halves the slice, not more, and
    // a thread that warmed up is back at full slices within a few turns.
    this.perEntryMs = this.perEntryMs === null ? sample : (this.perEntryMs + sample) / 2;
  }
}
