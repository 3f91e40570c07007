// Election timer: the node's clock. The Raft core counts logical ticks (its randomized
// election timeout and the leader's heartbeat interval are both in ticks), so this
// actor is the only place that reads real time. It runs on its own thread so that a
// busy supervisor does not skew when ticks are due: a late delivery carries the
// number of ticks that fell due, bounded so a long pause cannot fire a burst.
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { runActor } from '../lib/actor/host.js';
import { Logger } from '../lib/log/logger.js';
import { ActorMetrics } from '../lib/metrics/actor-metrics.js';
import { assertNever } from '../lib/util/assert.js';
import type { TimerData, TimerIn, TimerOut } from './protocol.js';

/** A pause longer than this many ticks is delivered as this many (the core just times out once). */
const TICKS_PER_MESSAGE_MAX = 100;

runActor<TimerIn, TimerOut, TimerData>((ctx) => {
  const { tickMs, nodeId, dataDir, logLevel, logFileBytesMax } = ctx.data;
  const log = new Logger({ dir: path.join(dataDir, 'logs'), node: nodeId, actor: 'election-timer', level: logLevel, fileBytesMax: logFileBytesMax });
  let next = performance.now() + tickMs;
  let timer: NodeJS.Timeout | null = null;
  const metrics = new ActorMetrics('election-timer');
  const ticksSent = metrics.counter('raftd_timer_ticks_total', 'Logical ticks delivered to the Raft core')();
  const late = metrics.counter('raftd_timer_late_total', 'Times the timer thread woke more than 100 ticks late (ticks were skipped)')();

  const fire = () => {
    const now = performance.now();
    let due = 0;
    while (next <= now && due < TICKS_PER_MESSAGE_MAX) {
      next += tickMs;
      due++;
    }
    if (next <= now) {
      log.warn('timer-late', { lateMs: Math.round(now - next), ticksSkipped: Math.floor((now - next) / tickMs) });
      next = now + tickMs;
      late.inc();
    }
    if (due > 0) ctx.send({ type: 'tick', count: due });
    ticksSent.inc(due);
    timer = setTimeout(fire, Math.max(0, next - performance.now()));
  };
  timer = setTimeout(fire, tickMs);
  log.info('started', { tickMs });
  ctx.ready();

  return (msg) => {
    switch (msg.type) {
      case 'term':
        if (msg.term !== log.term) log.term = msg.term;
        log.debug('role', { role: msg.role });
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
