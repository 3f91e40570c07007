// The election timer's arithmetic, kept pure so it can be tested without a clock.
//
// Tick k falls due at wall-clock time k * tickMs: every node of a cluster counts ticks
// on the same grid, and a batch of `batch` ticks is delivered when the grid crosses a
// multiple of batch * tickMs. So followers that deliver their ticks in batches all
// learn of them at the same moments: a follower's view of "time since the leader was
// last heard" never lags another's by a batch, and a PreVote from a follower whose
// election timeout expired is not refused by one that merely has not been told yet.
// (Clocks of separate machines agree to a few ms under NTP; if they do not, batches
// are just unaligned, which is still correct.)
import { assert } from '../util/assert.js';

export class TickGrid {
  /** Index of the next tick to fall due. */
  private next: number;
  /** Index of the last tick counted. */
  private last: number;
  /** Ticks counted and not yet delivered. */
  private owedTicks = 0;

  constructor(
    readonly tickMs: number,
    nowMs: number,
    /** Bound on the ticks one delivery carries: a longer pause is delivered as this many. */
    readonly ticksMax: number,
  ) {
    assert(tickMs > 0 && Number.isFinite(nowMs) && ticksMax >= 1, 'tick grid parameters');
    this.last = Math.floor(nowMs / tickMs);
    this.next = this.last + 1;
  }

  get owed(): number {
    return this.owedTicks;
  }

  /**
   * Counts the ticks due by nowMs. Returns how many to deliver now (0: wait): all owed
   * ticks once a batch boundary has been crossed, or once a bound was reached; and how
   * many ticks a pause longer than the bound skipped (never delivered).
   */
  advance(nowMs: number, batch: number): { deliver: number; skipped: number } {
    assert(Number.isInteger(batch) && batch >= 1, `batch ${batch}`);
    const before = this.last;
    let skipped = 0;
    const due = Math.floor(nowMs / this.tickMs);
    if (due >= this.next) {
      const n = due - this.next + 1;
      const counted = Math.min(n, this.ticksMax - this.owedTicks);
      skipped = n - counted;
      this.owedTicks += counted;
      this.last = due;
      this.next = due + 1;
    }
    const crossed = Math.floor(this.last / batch) > Math.floor(before / batch);
    if (this.owedTicks > 0 && (crossed || this.owedTicks >= this.ticksMax || skipped > 0)) return { deliver: this.take(), skipped };
    return { deliver: 0, skipped };
  }

  /** Everything owed, now (the batch shrank: a campaign started, or this node leads). */
  take(): number {
    const n = this.owedTicks;
    this.owedTicks = 0;
    return n;
  }

  /** When the next delivery for `batch` falls due: the next multiple of batch ticks on the grid. */
  wakeAtMs(batch: number): number {
    const boundary = Math.ceil(this.next / batch) * batch;
    return boundary * this.tickMs;
  }
}
