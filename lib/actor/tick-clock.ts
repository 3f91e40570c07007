// The node's clock, on the main thread: it counts the core's logical ticks on a
// wall-clock grid and wakes the node only when the next one matters.
//
// It replaces an election-timer thread that posted ticks to main in fixed batches
// (every tick, 5 ticks, or one heartbeat interval by role): each delivery cost both
// threads a wake-up, and a follower that hears its leader every heartbeat was woken
// 20 times a second for nothing. Now the node asks the core how many ticks may pass
// before one can change anything (RaftCore.ticksUntilDue) and sleeps until then; when
// it wakes for any reason (a message, a client) it counts the ticks that fell due
// meanwhile from the clock. So no tick is lost or invented, only delivered later, and
// a follower idles on its leader's heartbeats alone.
//
// Tick k falls due at wall-clock time k * tickMs (the monotonic clock, as ms since the
// epoch), so the nodes of a cluster count on the same grid. A pause longer than ticksMax
// ticks (a stalled thread) is counted as ticksMax: the core just times out once.
import { assert } from '../util/assert.js';

export interface TickClockOptions {
  tickMs: number;
  /** Bound on the ticks one take() counts; the rest of a longer pause is skipped. */
  ticksMax: number;
  /** The wall clock in ms (injectable for tests). */
  now: () => number;
  /** Called when the tick asked for by wakeIn() has fallen due. */
  wake: () => void;
}

export class TickClock {
  /** Grid index of the last tick counted. */
  private last: number;
  /** Grid index of the tick the driver wants to be woken at (Infinity: none). */
  private wantTick = Infinity;
  /** Grid index the armed timer fires at (Infinity: none armed). */
  private armedTick = Infinity;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly o: TickClockOptions) {
    assert(o.tickMs > 0 && Number.isInteger(o.ticksMax) && o.ticksMax >= 1, 'tick clock parameters');
    this.last = this.dueTick();
  }

  private dueTick(): number {
    return Math.floor(this.o.now() / this.o.tickMs);
  }

  /** Forget the ticks that fell due so far (while the state loaded, say): counting starts now. */
  reset(): void {
    this.last = this.dueTick();
  }

  /** The ticks that fell due since the last take() (at most ticksMax), and how many past that bound were skipped. */
  take(): { ticks: number; skipped: number } {
    const due = this.dueTick();
    if (due <= this.last) return { ticks: 0, skipped: 0 };
    const n = due - this.last;
    this.last = due;
    const ticks = Math.min(n, this.o.ticksMax);
    return { ticks, skipped: n - ticks };
  }

  /**
   * Call wake() once `ticks` more ticks than take() counted so far have fallen due.
   * Replaces the previous request. A later one than what is armed leaves the timer as it
   * is: it fires, finds nothing due and re-aims (a follower's deadline moves with every
   * heartbeat; re-arming each time would cost more than the rare early wake-up).
   */
  wakeIn(ticks: number): void {
    assert(ticks >= 1, `wakeIn(${ticks})`);
    if (this.stopped) return;
    const at = Number.isFinite(ticks) ? this.last + Math.ceil(ticks) : Infinity;
    this.wantTick = at;
    if (at < this.armedTick) this.arm(at);
  }

  stop(): void {
    this.stopped = true;
    this.wantTick = Infinity;
    this.disarm();
  }

  private arm(at: number): void {
    this.disarm();
    if (!Number.isFinite(at)) return;
    this.armedTick = at;
    // Rounded up: a timer that fired a fraction early would find nothing due and re-arm for 0 ms.
    this.timer = setTimeout(this.fire, Math.max(0, Math.ceil(at * this.o.tickMs - this.o.now())));
  }

  private disarm(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.armedTick = Infinity;
  }

  private readonly fire = (): void => {
    this.timer = null;
    this.armedTick = Infinity;
    if (this.stopped) return;
    if (this.dueTick() >= this.wantTick) {
      this.wantTick = Infinity;
      this.o.wake();
    } else {
      this.arm(this.wantTick);
    }
  };
}
