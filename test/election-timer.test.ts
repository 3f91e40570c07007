// The election timer on a real worker thread: a follower is told of its ticks in
// batches, a leader or candidate tick by tick, and no tick is ever invented (the
// counts add up to at most the time that passed). No speed is asserted: a late
// thread only makes batches bigger.
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { spawnActor } from '../lib/actor/spawn.js';
import { FOLLOWER_TICKS_PER_DELIVERY, ticksPerDelivery } from '../lib/actor/tick-cadence.js';
import { TickGrid } from '../lib/actor/tick-grid.js';
import type { TimerData, TimerIn, TimerOut } from '../actors/protocol.js';
import { waitFor } from './helpers/wait.js';

const ACTOR = new URL('../actors/election-timer.js', import.meta.url);
const TICK_MS = 20;

t.test('cadence by role: followers batch, leaders and candidates tick one by one', async (t) => {
  t.equal(ticksPerDelivery('follower'), FOLLOWER_TICKS_PER_DELIVERY);
  t.ok(FOLLOWER_TICKS_PER_DELIVERY > 1);
  for (const role of ['leader', 'candidate', 'precandidate'] as const) t.equal(ticksPerDelivery(role), 1, role);
  t.equal(ticksPerDelivery('leader', 5), 5, 'a leader that knows its heartbeat interval gets one a delivery');
  t.equal(ticksPerDelivery('candidate', 5), 1, 'a candidate ticks finely whatever the heartbeat');
  t.equal(ticksPerDelivery('follower', 2), FOLLOWER_TICKS_PER_DELIVERY, "a follower's batch is its own");
  t.equal(ticksPerDelivery('follower', 5, false), 1, 'a follower that knows no leader ticks finely: it is about to campaign');
  t.equal(ticksPerDelivery('follower', 5, true), FOLLOWER_TICKS_PER_DELIVERY);
});

t.test('tick grid: nodes started at different moments deliver batches at the same moments', async (t) => {
  const tickMs = 10;
  const a = new TickGrid(tickMs, 1_000_003, 100);
  const b = new TickGrid(tickMs, 1_000_037, 100);
  const deliveries = (g: TickGrid, from: number, to: number) => {
    const out: [number, number][] = [];
    for (let now = from; now <= to; now++) {
      const { deliver } = g.advance(now, 5);
      if (deliver > 0) out.push([now, deliver]);
    }
    return out;
  };
  const da = deliveries(a, 1_000_003, 1_000_300);
  const db = deliveries(b, 1_000_037, 1_000_300);
  t.same(
    da.map(([at]) => at).filter((at) => at >= 1_000_050),
    db.map(([at]) => at),
    'same delivery moments',
  );
  t.ok(da.every(([at]) => at % 50 === 0), 'on multiples of the batch');
  t.equal(da.reduce((n, [, c]) => n + c, 0), 30, 'every tick of the grid up to then, once');
  t.equal(a.wakeAtMs(5), 1_000_350, 'the next boundary');
  t.equal(a.wakeAtMs(1), 1_000_310, 'the next tick');
});

t.test('tick grid: a long pause is delivered as the bound, the rest skipped; a shrinking batch takes what is owed', async (t) => {
  const g = new TickGrid(10, 0, 100);
  t.same(g.advance(5_000, 5), { deliver: 100, skipped: 400 });
  t.same(g.advance(5_020, 5), { deliver: 0, skipped: 0 }, 'two ticks owed, no boundary yet');
  t.equal(g.owed, 2);
  t.equal(g.take(), 2);
  t.same(g.advance(5_030, 1), { deliver: 1, skipped: 0 }, 'batch 1: every tick');
});

t.test('the timer batches a follower and ticks a leader finely, inventing no ticks', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftd-timer-'));
  t.teardown(() => fs.rmSync(dataDir, { recursive: true, force: true }));
  const got: { at: number; count: number }[] = [];
  // Before the thread starts: it counts ticks on the grid from its own start on.
  const t0 = performance.now();
  const data: TimerData = { nodeId: 'n1', dataDir, logLevel: 'debug', logFileBytesMax: 1 << 20, tickMs: TICK_MS };
  const timer = spawnActor<TimerIn, TimerOut>({
    name: 'election-timer',
    file: ACTOR,
    workerData: data,
    onMessage: (m) => {
      if (m.type === 'tick') got.push({ at: performance.now(), count: m.count });
    },
    onFatal: (err) => t.fail(`timer died: ${err.message}`),
  });
  t.teardown(() => timer.stop({ type: 'stop' }, 2000));
  await timer.ready;

  // A new node is a follower: whole batches only.
  await waitFor('three follower deliveries', () => got.length >= 3, 10_000, 5);
  const follower = got.splice(0);
  const ticksSoFar = follower.reduce((n, d) => n + d.count, 0);
  // Batches end on the shared grid's boundaries, so the first (and one after a late
  // wake-up) may be short; but there is about one delivery per batch of ticks.
  t.ok(follower.length <= Math.ceil(ticksSoFar / FOLLOWER_TICKS_PER_DELIVERY) + 1, `follower batches: ${follower.map((d) => d.count)}`);
  t.ok(ticksSoFar <= (performance.now() - t0) / TICK_MS + 2, 'no more ticks than time passed');

  timer.post({ type: 'term', term: 2, role: 'leader' });
  await waitFor('leader deliveries', () => got.length >= 12, 10_000, 5);
  const leader = got.splice(0);
  // The first delivery flushes what the follower batch owed; after that, single
  // ticks, except where the thread woke late.
  t.ok(leader.slice(1).some((d) => d.count === 1), `leader ticks one by one: ${leader.map((d) => d.count)}`);
  t.ok(leader.length > 12 - 1, 'a delivery per tick');
  const total = ticksSoFar + leader.reduce((n, d) => n + d.count, 0);
  t.ok(total <= (performance.now() - t0) / TICK_MS + 2, 'still no more ticks than time passed');

  timer.post({ type: 'term', term: 2, role: 'follower' });
  await waitFor('follower again', () => got.reduce((n, d) => n + d.count, 0) >= 4 * FOLLOWER_TICKS_PER_DELIVERY, 10_000, 5);
  const again = got.splice(0);
  const againTicks = again.reduce((n, d) => n + d.count, 0);
  t.ok(again.length <= Math.ceil(againTicks / FOLLOWER_TICKS_PER_DELIVERY) + 2, `follower batches again: ${again.map((d) => d.count)}`);

  // Told the heartbeat interval, a leader gets its ticks one interval at a time.
  timer.post({ type: 'cadence', heartbeatTicks: 3 });
  timer.post({ type: 'term', term: 3, role: 'leader' });
  await waitFor('leader deliveries with a known heartbeat', () => got.length >= 5, 10_000, 5);
  const paced = got.splice(0);
  const pacedTicks = paced.reduce((n, d) => n + d.count, 0);
  t.ok(paced.length <= Math.ceil(pacedTicks / 3) + 1, `a heartbeat interval per delivery: ${paced.map((d) => d.count)}`);

  timer.post({ type: 'term', term: 4, role: 'candidate' });
  await waitFor('candidate deliveries', () => got.length >= 8, 10_000, 5);
  const candidate = got.splice(0);
  t.ok(candidate.slice(1).some((d) => d.count === 1), `a candidate ticks one by one: ${candidate.map((d) => d.count)}`);
});
