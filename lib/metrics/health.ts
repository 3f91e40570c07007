// When a node is healthy (GET /health) and ready (GET /ready), decided from its status
// alone so the rule is easy to test and to state in the README:
// - healthy: it is the leader, or a follower that knows its leader, and it has applied
//   everything that was committed a little while ago (HEALTH_APPLY_WINDOW_MS), so a
//   node replaying or stuck applying is not;
// - ready: it has started, is not stopping, and has been healthy once since it started
//   (a restarted node finished catching up).
// A partitioned leader turns unhealthy when CheckQuorum makes it step down (within an
// election timeout of losing its majority); a partitioned follower when its election
// timer fires and it starts a (pre-)election.
import type { NodeStatus } from '../replica/messages.js';

export const HEALTH_APPLY_WINDOW_MS = 2000;
export const HEALTH_SAMPLE_INTERVAL_MS = 250;

export interface HealthVerdict {
  ok: boolean;
  /** One short sentence; empty when ok. */
  reason: string;
}

/** `commitThen`: the commit index as it was about HEALTH_APPLY_WINDOW_MS ago (or the oldest known). */
export function healthOf(st: NodeStatus, commitThen: number, running: boolean): HealthVerdict {
  if (!running) return { ok: false, reason: 'node is starting or stopping' };
  if (st.role === 'precandidate' || st.role === 'candidate') return { ok: false, reason: `no leader: ${st.role} in term ${st.term}` };
  if (st.role !== 'leader' && st.leader === null) return { ok: false, reason: `no leader known in term ${st.term}` };
  if (st.appliedIndex < commitThen) {
    return { ok: false, reason: `applied index ${st.appliedIndex} is behind the commit index ${commitThen} of ${HEALTH_APPLY_WINDOW_MS / 1000} s ago` };
  }
  return { ok: true, reason: '' };
}

/** The commit index over the last window, sampled at a fixed interval (a bounded ring). */
export class CommitHistory {
  private readonly samples: number[] = [];
  private readonly size = Math.ceil(HEALTH_APPLY_WINDOW_MS / HEALTH_SAMPLE_INTERVAL_MS) + 1;

  record(commitIndex: number): void {
    this.samples.push(commitIndex);
    if (this.samples.length > this.size) this.samples.shift();
  }

  /** The oldest sample in the window, or `now` when there is none yet. */
  commitThen(now: number): number {
    return this.samples.length > 0 ? Math.min(this.samples[0]!, now) : now;
  }
}
