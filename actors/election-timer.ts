// Election timer: the node's clock. The Raft core counts logical ticks (its randomized
// election timeout and the leader's heartbeat interval are both in ticks), so this
// actor is the only place that reads real time. It runs on its own thread so that a
// busy supervisor does not skew when ticks are due: a late delivery carries the
// number of ticks that fell due, bounded so a long pause cannot fire a burst.
//
// Ticks are counted at tickMs but delivered in batches whose size depends on the
// role (tick-cadence.ts): every crossing to the main thread costs both threads a
// wake-up, and a follower only needs its election timeout, which is many ticks long.
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { runActor } from '../lib/actor/host.js';
import { Logger } from '../lib/log/logger.js';
import { ActorMetrics } from '../lib/metrics/actor-metrics.js';
import { ticksPerDelivery } from '../lib/actor/tick-cadence.js';
import { TickGrid } from '../lib/actor/tick-grid.js';
import type { Role } from '../lib/raft/types.js';
import { assert, assertNever } from '../lib/util/assert.js';
import type { TimerData, TimerIn, TimerOut } from './protocol.js';

/** A pause longer than this many ticks is delivered as this many (the core just times out once). */
const TICKS_PER_MESSAGE_MAX = 100;

runActor<TimerIn, TimerOut, TimerData>((ctx) => {
  const { tickMs, nodeId, dataDir, logLevel, logFileBytesMax } = ctx.data;
  const log = new Logger({ dir: path.join(dataDir, 'logs'), node: nodeId, actor: 'election-timer', level: logLevel, fileBytesMax: logFileBytesMax });
  // Wall-clock time (as ms since the epoch) from the monotonic clock, so every node's
  // grid lines up (tick-grid.ts) without following clock steps.
  // (timeOrigin is read once: its getter is not free, and it does not change.)
  const origin = performance.timeOrigin;
  const wallNow = () => origin + performance.now();
  const grid = new TickGrid(tickMs, wallNow(), TICKS_PER_MESSAGE_MAX);
  // A node starts as a follower (main reports its role only when it changes).
  let role: Role = 'follower';
  let heartbeatTicks: number | null = null;
  let leaderKnown = true;
  let batch = ticksPerDelivery(role);
  let timer: NodeJS.Timeout | null = null;
  const metrics = new ActorMetrics('election-timer');
  const ticksSent = metrics.counter('raftd_timer_ticks_total', 'Logical ticks delivered to the Raft core')();
  const late = metrics.counter('raftd_timer_late_total', 'Times the timer thread woke more than 100 ticks late (ticks were skipped)')();

  const arm = () => {
    // Rounded up: a timer that fired a fraction early would find nothing due and spin.
    timer = setTimeout(fire, Math.max(0, Math.ceil(grid.wakeAtMs(batch) - wallNow())));
  };

  const deliver = (count: number) => {
    if (count > 0) ctx.send({ type: 'tick', count });
    ticksSent.inc(count);
  };

  const fire = () => {
    const { deliver: count, skipped } = grid.advance(wallNow(), batch);
    if (skipped > 0) {
      log.warn('timer-late', { lateMs: skipped * tickMs, ticksSkipped: skipped });
      late.inc();
    }
    deliver(count);
    arm();
  };

  arm();
  log.info('started', { tickMs, ticksPerDelivery: batch });
  ctx.ready();

  /** A new batch size: when it shrinks, what is owed goes out at once and the wake-up is re-aimed. */
  const rebatch = () => {
    const was = batch;
    batch = ticksPerDelivery(role, heartbeatTicks, leaderKnown);
    log.debug('cadence', { role, heartbeatTicks, leaderKnown, ticksPerDelivery: batch });
    if (batch < was) {
      if (timer) clearTimeout(timer);
      grid.advance(wallNow(), batch);
      deliver(grid.take());
      arm();
    }
  };

  return (msg) => {
    switch (msg.type) {
      case 'term':
        if (msg.term !== log.term) log.term = msg.term;
        role = msg.role;
        leaderKnown = msg.leaderKnown ?? true;
        rebatch();
        return;
      case 'cadence':
        assert(Number.isInteger(msg.heartbeatTicks) && msg.heartbeatTicks >= 1 && msg.heartbeatTicks <= TICKS_PER_MESSAGE_MAX, `heartbeatTicks ${msg.heartbeatTicks}`);
        heartbeatTicks = msg.heartbeatTicks;
        rebatch();
        return;
      case 'metrics':
        ctx.send({ type: 'metrics', id: msg.id, snapshot: metrics.snapshot() });
        return;
      case 'stop':
        if (timer) clearTimeout(timer);
        log.info('stopped');
        log.close();
        process.exit(0);
      default:
        assertNever(msg, 'timer message');
    }
  };
});
