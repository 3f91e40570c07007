// The node's clock: the main thread counts the core's logical ticks on a wall-clock grid,
// and the election-timer actor (actors/election-timer.ts) is its alarm, asked to wake
// the node only when the next tick matters.
//
// It replaces a timer thread that posted ticks to main in fixed batches (every tick, 5
// ticks, or one heartbeat interval by role): each delivery cost both threads a wake-up,
// and a follower that hears its leader every heartbeat was woken 20 times a second for
// nothing. Now the node asks the core how many ticks may pass before one can change
// anything (RaftCore.ticksUntilDue) and the alarm rings then; when the node wakes for any
// reason (a message, a client) it counts the ticks that fell due meanwhile from the
// clock. So no tick is lost or invented, only delivered later, and a follower idles on
// its leader's heartbeats alone.
//
// The alarm is set only when a request is earlier than the one it holds: a follower's
// deadline moves later with every heartbeat, and telling the timer thread each time
// would cost a crossing a heartbeat; instead the alarm rings at the old deadline, the node
// finds nothing due and sets it again (two crossings per election timeout).
//
// An alarm repeats at the interval it was set for: a leader's next heartbeat is due one
// interval after this one, so after the first its alarm rings on by itself and main does
// not cross to the timer thread at all while the interval holds (it did once a heartbeat,
// and the timer thread woke for it). Whatever else the node wants replaces it as before.
//
// Tick k falls due at wall-clock time k * tickMs (the monotonic clock, as ms since the
// epoch), so the nodes of a cluster count on the same grid. A pause longer than ticksMax
// ticks (a stalled thread) is counted as ticksMax: the core just times out once.
import { assert } from '../util/assert.js';
import type { AlarmRepeat } from './protocol.js';

export interface TickClockOptions {
  tickMs: number;
  /** Bound on the ticks one take() counts; the rest of a longer pause is skipped. */
  ticksMax: number;
  /** The wall clock in ms (injectable for tests). */
  now: () => number;
  /** Called when the tick asked for by wakeIn() has fallen due. */
  wake: () => void;
  /**
   * Sets the alarm (replacing the one set before) to ring in `inMs`, for grid tick `tick`,
   * then every `every.ms` for tick + k * `every.ticks`: ringing means calling rang(tick).
   * The election-timer actor in production.
   */
  setAlarm: (tick: number, inMs: number, every: AlarmRepeat) => void;
  /** Silences the alarm (a repeating one would ring on). */
  cancelAlarm: () => void;
}

export class TickClock {
  /** Grid index of the last tick counted. */
  private last: number;
  /** Grid index of the tick the driver wants to be woken at (Infinity: none). */
  private wantTick = Infinity;
  /** Grid index the alarm rings for next (Infinity: none set). */
  private armedTick = Infinity;
  /** Ticks between the alarm's rings (it repeats until replaced). */
  private armedEvery = 0;
  private stopped = false;

  constructor(private readonly o: TickClockOptions) {
    assert(o.tickMs > 0 && Number.isInteger(o.ticksMax) && o.ticksMax >= 1, 'tick clock parameters');
    this.last = this.dueTick();
  }

  private dueTick(at = Infinity): number {
    return Math.floor(Math.min(this.o.now(), at) / this.o.tickMs);
  }

  /** Forget the ticks that fell due so far (while the state loaded, say): counting starts now. */
  reset(): void {
    this.last = this.dueTick();
  }

  /**
   * The ticks that fell due since the last take() (at most ticksMax), and how many past
   * that bound were skipped. With `until` (a time on the same clock), only those due by
   * then: a message that arrived at `until` is stepped after the ticks before it and
   * before the ticks that fell due while it waited for a busy thread (the next take()
   * counts those).
   */
  take(until = Infinity): { ticks: number; skipped: number } {
    const due = this.dueTick(until);
    if (due <= this.last) return { ticks: 0, skipped: 0 };
    const n = due - this.last;
    this.last = due;
    const ticks = Math.min(n, this.o.ticksMax);
    return { ticks, skipped: n - ticks };
  }

  /**
   * Call wake() once `ticks` more ticks than take() counted so far have fallen due.
   * Replaces the previous request. A later one than the alarm's leaves the alarm as it is:
   * it rings, finds nothing due and is set again (a follower's deadline moves with every
   * heartbeat; setting the alarm each time would cost a thread crossing each time).
   */
  wakeIn(ticks: number): void {
    assert(ticks >= 1, `wakeIn(${ticks})`);
    if (this.stopped) return;
    const at = Number.isFinite(ticks) ? this.last + Math.ceil(ticks) : Infinity;
    this.wantTick = at;
    if (at < this.armedTick) this.arm(at);
  }

  /** No more wake-ups (the alarm may still ring once: rang() ignores it). */
  stop(): void {
    this.stopped = true;
    this.wantTick = Infinity;
    this.disarm();
  }

  private disarm(): void {
    if (this.armedTick === Infinity) return;
    this.armedTick = Infinity;
    this.o.cancelAlarm();
  }

  private arm(at: number): void {
    // It repeats at the interval asked for now (at least a tick).
    const every = Math.max(1, at - this.last);
    this.armedTick = at;
    this.armedEvery = every;
    // Rounded up: an alarm that rang a fraction early would find nothing due and be set again.
    this.o.setAlarm(at, Math.max(0, Math.ceil(at * this.o.tickMs - this.o.now())), { ticks: every, ms: every * this.o.tickMs });
  }

  /**
   * The alarm set for `tick` rang (and rings on every armedEvery ticks). One since replaced
   * is ignored (the new one rings too).
   */
  rang(tick: number): void {
    if (this.stopped || tick !== this.armedTick) return;
    this.armedTick = tick + this.armedEvery;
    if (this.dueTick() >= this.wantTick) {
      this.wantTick = Infinity;
      this.o.wake();
    } else if (this.wantTick === Infinity) {
      this.disarm();
    } else {
      // Nothing due yet (the deadline moved later): aim at it, at the interval that is wanted
      // now (a leader whose rounds went from the busy to the idle interval would otherwise
      // be rung at both, one ring in two for nothing).
      this.arm(this.wantTick);
    }
  }
}
