// When the node wants its next tick (lib/actor/tick-clock.ts sleeps until then).
//
// - The core's own duties set it: a leader's next heartbeat or CheckQuorum, a
//   follower's election timeout, a pre-candidate's next tick (RaftCore.ticksUntilDue).
//   A follower that hears its leader sleeps from heartbeat to heartbeat.
// - Client requests waiting on a follower (forwarded writes, reads) count ticks for
//   their retries and deadlines: it then wakes at least every FOLLOWER_BUSY_TICKS, as
//   its batches of ticks came before. A leader's heartbeat interval bounds its own.
// - Never later than IDLE_WAKE_TICKS_MAX: a node due for nothing (a learner) still counts
//   its ticks well within the clock's bound on one count (TICKS_PER_TAKE_MAX), so that
//   bound only ever cuts a stall, never an idle stretch.
import type { Role } from '../raft/types.js';
import { assert } from '../util/assert.js';

/** A follower with client requests waiting wakes at least this often (50 ms at the default 10 ms tick). */
export const FOLLOWER_BUSY_TICKS = 5;
/** The longest the node sleeps, in ticks. */
export const IDLE_WAKE_TICKS_MAX = 50;
/** Bound on the ticks counted at one wake-up: a longer stall is counted as this many. */
export const TICKS_PER_TAKE_MAX = 100;

/** `coreDue`: RaftCore.ticksUntilDue(); `requestsWaiting`: client requests of this node not answered yet. */
export function ticksUntilWake(role: Role, coreDue: number, requestsWaiting: boolean): number {
  assert(coreDue >= 1, `core due in ${coreDue} ticks`);
  let due = Math.min(coreDue, IDLE_WAKE_TICKS_MAX);
  if (requestsWaiting && role !== 'leader') due = Math.min(due, FOLLOWER_BUSY_TICKS);
  return due;
}
