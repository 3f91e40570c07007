// Election timer: the node's alarm clock, on its own thread. The Raft core counts logical
// ticks (its randomized election timeout and the leader's heartbeat interval are both in
// ticks), and main counts the ticks that fell due from the wall clock whenever it wakes
// (lib/actor/tick-clock.ts). This actor wakes main when the next tick that can matter is
// due: main sets the alarm only when it wants an earlier one than is set, so an idle
// follower's timer rings about once per election timeout and a leader's once per
// heartbeat, instead of a stream of ticks every few milliseconds. An alarm may repeat
// (`every`): an idle leader wants the next heartbeat exactly one interval after this
// one, so the alarm sets itself again instead of main crossing here to set it each time.
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { runActor } from '../lib/actor/host.js';
import { Logger } from '../lib/log/logger.js';
import { ActorMetrics } from '../lib/metrics/actor-metrics.js';
import { assert, assertNever } from '../lib/util/assert.js';
import type { TimerData, TimerIn, TimerOut } from './protocol.js';

runActor<TimerIn, TimerOut, TimerData>((ctx) => {
  const { nodeId, dataDir, logLevel, logFileBytesMax } = ctx.data;
  const log = new Logger({ dir: path.join(dataDir, 'logs'), node: nodeId, actor: 'election-timer', level: logLevel, fileBytesMax: logFileBytesMax });
  const metrics = new ActorMetrics('election-timer');
  const rings = metrics.counter('raftd_timer_alarms_total', 'Times the election timer woke the node for a tick that can matter')();
  let alarm: NodeJS.Timeout | null = null;

  log.info('started');
  ctx.ready();

  return (msg) => {
    switch (msg.type) {
      case 'alarm': {
        assert(Number.isInteger(msg.tick) && Number.isFinite(msg.inMs) && msg.inMs >= 0, `alarm ${msg.tick} in ${msg.inMs} ms`);
        const every = msg.every;
        assert(every === undefined || (Number.isInteger(every.ticks) && every.ticks >= 1 && every.ms > 0), `alarm repeat ${JSON.stringify(every)}`);
        if (alarm) clearTimeout(alarm);
        // Repeats keep to the first alarm's time plus whole periods (the monotonic clock), so they do not drift later.
        let tick = msg.tick;
        let at = performance.now() + msg.inMs;
        const ring = () => {
          alarm = null;
          rings.inc();
          ctx.send({ type: 'rang', tick });
          if (every === undefined) return;
          tick += every.ticks;
          at += every.ms;
          alarm = setTimeout(ring, Math.max(0, Math.ceil(at - performance.now())));
        };
        alarm = setTimeout(ring, msg.inMs);
        return;
      }
      case 'cancel':
        if (alarm) clearTimeout(alarm);
        alarm = null;
        return;
      case 'metrics':
        ctx.send({ type: 'metrics', id: msg.id, snapshot: metrics.snapshot() });
        return;
      case 'stop':
        if (alarm) clearTimeout(alarm);
        log.info('stopped');
        log.close();
        process.exit(0);
      default:
        assertNever(msg, 'timer message');
    }
  };
});
