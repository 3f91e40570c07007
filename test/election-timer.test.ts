// The election timer on a real worker thread, as the node's clock uses it: an alarm
// rings once, for the tick it was set for, not before its time; a new alarm replaces
// the one set; a repeating alarm rings on for tick + k * period until replaced or
// cancelled; and the clock on this thread (lib/actor/tick-clock.ts) wakes the node
// through it only when the tick it asked for is due. No speed is asserted: a late
// thread only rings later.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnActor } from '../lib/actor/spawn.js';
import { TickClock } from '../lib/actor/tick-clock.js';
import type { TimerData, TimerIn, TimerOut } from '../actors/protocol.js';
import { waitFor } from './helpers/wait.js';

const ACTOR = new URL('../actors/election-timer.js', import.meta.url);
const TICK_MS = 10;

t.test('the timer thread rings each alarm once, after its time, and a new alarm replaces the old', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftd-timer-'));
  t.teardown(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const rang: { tick: number; at: number }[] = [];
  let onRang = (_tick: number) => {};
  const data: TimerData = { nodeId: 'n1', dataDir, logLevel: 'debug', logFileBytesMax: 1 << 20 };
  const timer = spawnActor<TimerIn, TimerOut>({
    name: 'election-timer',
    file: ACTOR,
    workerData: data,
    onMessage: (m) => {
      if (m.type === 'rang') {
        rang.push({ tick: m.tick, at: performance.now() });
        onRang(m.tick);
      }
    },
    onFatal: (err) => t.fail(`timer died: ${err.message}`),
  });
  t.teardown(() => timer.stop({ type: 'stop' }, 2000));
  await timer.ready;

  const set = performance.now();
  timer.post({ type: 'alarm', tick: 7, inMs: 30 });
  await waitFor('the alarm', () => rang.length === 1, 10_000, 2);
  t.equal(rang[0]!.tick, 7, 'it names the tick it was set for');
  t.ok(rang[0]!.at - set >= 29, `not before its time (${(rang[0]!.at - set).toFixed(1)} ms)`);

  timer.post({ type: 'alarm', tick: 8, inMs: 5_000 });
  timer.post({ type: 'alarm', tick: 9, inMs: 20 });
  await waitFor('the replacing alarm', () => rang.length === 2, 10_000, 2);
  t.equal(rang[1]!.tick, 9, 'the later request replaced the first');

  // A repeating alarm: rings for 20, 23, 26, ... each no earlier than its time, until cancelled.
  const setR = performance.now();
  timer.post({ type: 'alarm', tick: 20, inMs: 10, every: { ticks: 3, ms: 15 } });
  await waitFor('three rings of the repeating alarm', () => rang.length >= 5, 10_000, 2);
  timer.post({ type: 'cancel' });
  t.same(rang.slice(2, 5).map((r) => r.tick), [20, 23, 26], 'each ring names its own tick');
  rang.slice(2, 5).forEach((r, i) => t.ok(r.at - setR >= 10 + 15 * i - 1, `ring ${i} not before its time (${(r.at - setR).toFixed(1)} ms)`));
  // After the cancel (one ring may have left before it arrived), it rings no more.
  await new Promise((r) => setTimeout(r, 60)); // waiting for nothing to happen is the test
  const afterCancel = rang.length;
  await new Promise((r) => setTimeout(r, 60));
  t.equal(rang.length, afterCancel, 'silent once cancelled');
  rang.splice(2);

  // The clock on this thread, with the actor as its alarm: a wake-up per due tick, none early.
  let wakes = 0;
  const now = () => performance.timeOrigin + performance.now();
  const clock = new TickClock({ tickMs: TICK_MS, ticksMax: 100, now, wake: () => wakes++, setAlarm: (tick, inMs, every) => timer.post({ type: 'alarm', tick, inMs, every }), cancelAlarm: () => timer.post({ type: 'cancel' }) });
  onRang = (tick) => clock.rang(tick);
  t.teardown(() => clock.stop());
  clock.take();
  clock.wakeIn(3);
  await waitFor('the clock woken through the timer thread', () => wakes === 1, 10_000, 2);
  t.ok(clock.take().ticks >= 3, 'the ticks asked for had fallen due');
  clock.wakeIn(2);
  clock.wakeIn(6); // a later deadline: the alarm rings at 2, finds nothing due, is set again
  await waitFor('the re-aimed wake-up', () => wakes === 2, 10_000, 2);
  t.ok(clock.take().ticks >= 6, 'woken only once the later deadline was due');
  t.ok(rang.length - 2 >= 3, `rings for the clock: ${rang.length - 2} (its first wake-up, then the old deadline and the new one)`);
  clock.stop();
});
