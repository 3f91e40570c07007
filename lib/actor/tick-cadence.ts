// How many logical ticks the election timer hands the main thread at once, by role.
//
// Each delivery is a postMessage: a wake-up of the main thread, a Raft step and a
// Ready round, about 0.3 ms of CPU on this machine. At one delivery per 10 ms tick
// that was half of an idle node's CPU. The core still counts every tick (a delivery
// carries its count), so only *when* it learns of them changes:
// - leader: one heartbeat interval at a time when main said how long that is (a
//   'cadence' message): each delivery then carries exactly one heartbeat, on time.
//   Otherwise every tick: a batch that is not the heartbeat interval would stretch
//   it to the next multiple of the batch.
// - candidate / precandidate: every tick, so election rounds keep their resolution.
// - follower: in batches. Its only timed duty is the election timeout, tens of ticks
//   long and randomized over as many again. It now runs out on a batch boundary, up
//   to one batch before or after it would have with single ticks (a batch arrives
//   after the messages that came during it, so ticks due before the leader's last
//   heartbeat can be counted after it): at the defaults, at 250-650 ms instead of
//   300-600 ms after the last heartbeat. Batches are aligned across nodes
//   (tick-grid.ts), so followers agree on when a timeout has passed and PreVote works
//   as with single ticks.
// - follower that knows no leader (its leader's connection closed, or it just started
//   or lost an election): every tick. It campaigns within a few ticks of that, at a
//   random one; batches aligned across nodes would make followers that lost the same
//   leader campaign at the same instant and split the vote.
import type { Role } from '../raft/types.js';
import { assertNever } from '../util/assert.js';

/** A follower's batch: 5 ticks (50 ms at the default 10 ms tick, a heartbeat interval). */
export const FOLLOWER_TICKS_PER_DELIVERY = 5;

/**
 * `heartbeatTicks`: the core's heartbeat interval, when main has said it (null: not known).
 * `leaderKnown`: a follower knows its leader (main says so with each change; true until then).
 */
export function ticksPerDelivery(role: Role, heartbeatTicks: number | null = null, leaderKnown = true): number {
  switch (role) {
    case 'follower':
      return leaderKnown ? FOLLOWER_TICKS_PER_DELIVERY : 1;
    case 'leader':
      return heartbeatTicks ?? 1;
    case 'precandidate':
    case 'candidate':
      return 1;
    default:
      return assertNever(role, 'role');
  }
}
