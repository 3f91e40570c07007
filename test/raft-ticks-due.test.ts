// RaftCore.ticksUntilDue(): the ticks before it change nothing, so a driver may hold
// them back and deliver them together when the due one falls due (lib/actor/tick-clock.ts).

import t from 'tap';
import { Manual } from './sim/manual.js';
import { seededRandom } from '../lib/node/random.js';

const three = ['n1', 'n2', 'n3'];

/** What a tick could change, as seen from outside the core (pending reads may expire late: not compared). */
function observable(c: Manual, id: string): string {
  const n = c.node(id);
  return JSON.stringify({ status: n.core.status(), queued: c.queue.length, events: n.events.length });
}

t.test('follower: the due tick campaigns, the ones before it change nothing', async (t) => {
  const c = new Manual(three, { random: { n1: 0, n2: 0.5, n3: 0.99 } });
  c.elect('n1');
  const d = c.core('n2').ticksUntilDue();
  t.equal(d, 15, 'the randomized timeout after the last append');
  const before = observable(c, 'n2');
  c.tick('n2', d - 1);
  t.equal(observable(c, 'n2'), before);
  t.equal(c.core('n2').ticksUntilDue(), 1);
  c.tick('n2');
  t.equal(c.core('n2').status().role, 'precandidate');
  t.equal(c.core('n2').ticksUntilDue(), 1, 'a pre-candidate asks again every tick');
});

t.test('leader: due at the next heartbeat', async (t) => {
  const c = new Manual(three, { random: { n1: 0 }, config: { heartbeatTicks: 3 } });
  c.elect('n1');
  const d = c.core('n1').ticksUntilDue();
  t.ok(d >= 1 && d <= 3, `due in ${d}`);
  const before = observable(c, 'n1');
  c.tick('n1', d - 1);
  t.equal(observable(c, 'n1'), before, 'no message before the heartbeat');
  c.tick('n1');
  t.ok(c.queue.length >= 2, 'heartbeats to both followers');
  t.equal(c.core('n1').ticksUntilDue(), 3, 'the next one a whole interval later');
});

t.test('a follower that may never campaign (not a voter) is due for nothing', async (t) => {
  const c = new Manual(['n1', 'n2', 'n3', 'n4'], { voters: three, perNode: { n4: { join: true, peers: [] } } });
  t.equal(c.core('n4').ticksUntilDue(), Infinity);
});

t.test('random schedules: ticks before the due one never change anything observable', async (t) => {
  let checked = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const r = seededRandom(seed);
    const c = new Manual(three, { config: { heartbeatTicks: 3 }, random: { n1: r() * 0.99, n2: r() * 0.99, n3: r() * 0.99 } });
    for (let step = 0; step < 400; step++) {
      const id = three[Math.floor(r() * 3)]!;
      const d = c.core(id).ticksUntilDue();
      if (!(d >= 1)) t.fail(`seed ${seed} step ${step}: ${id} due in ${d}`);
      if (Number.isFinite(d) && d > 1) {
        const before = observable(c, id);
        c.tick(id, d - 1);
        if (observable(c, id) !== before) t.fail(`seed ${seed} step ${step}: ${id} changed before its due tick (${d}): ${before} -> ${observable(c, id)}`);
        checked++;
      }
      c.tick(id);
      const x = r();
      if (x < 0.5) c.deliverAll();
      else if (x < 0.7) c.take(() => r() < 0.5);
      if (r() < 0.05) {
        c.core(id).readIndex(step + 1);
        c.flush(id);
      }
    }
  }
  t.ok(checked > 1000, `${checked} due ticks checked`);
});

t.test('idle heartbeat: a quiet round doubles the next interval (within a third of the election timeout); a write brings it back', async (t) => {
  // A long election timeout keeps its CheckQuorum (which brings the next round forward, below) out of the way.
  const c = new Manual(three, { random: { n1: 0 }, config: { heartbeatTicks: 5, electionTicks: 60 } });
  c.elect('n1');
  const leader = c.core('n1');
  /** Ticks until the leader's next heartbeat round, delivering everything after it. */
  const nextRound = (): number => {
    for (let n = 1; n <= 100; n++) {
      c.tick('n1');
      if (c.queue.some((m) => m.type === 'append')) {
        c.deliverAll();
        return n;
      }
    }
    return -1;
  };
  nextRound(); // the round that carries the noop's commit index
  t.equal(nextRound(), 10, 'after a quiet round: twice the interval');
  t.equal(nextRound(), 10, 'and so on while quiet');
  c.tick('n1', 5);
  const res = leader.propose([{ tid: 'w', data: new Uint8Array([1]) }]);
  t.ok(res.ok);
  c.flush('n1');
  c.deliverAll();
  t.equal(leader.ticksUntilDue(), 1, 'a write: the normal interval has passed, the next tick sends');
  t.equal(nextRound(), 1, 'at once: it carries the new commit index');
  t.equal(nextRound(), 10, 'then quiet again');
  // A follower that stops answering is behind after the next write: normal heartbeats for it.
  c.drop = (m) => m.to === 'n3';
  leader.propose([{ tid: 'w2', data: new Uint8Array([2]) }]);
  c.flush('n1');
  c.deliverAll();
  t.equal(nextRound(), 5, 'a follower behind: the normal interval');
  t.equal(nextRound(), 5);
});

t.test('CheckQuorum takes the round due next with it: an idle leader is due once per heartbeat, never for the check alone', async (t) => {
  const c = new Manual(three, { random: { n1: 0 }, config: { heartbeatTicks: 5, electionTicks: 30 } });
  c.elect('n1');
  const leader = c.core('n1');
  let tick = 0;
  const rounds: number[] = [];
  /** Ticks the leader as a driver would (to its due tick each time), delivering everything; the ticks its rounds went out at. */
  const run = (until: number) => {
    while (tick < until) {
      const d = leader.ticksUntilDue();
      c.tick('n1', d);
      tick += d;
      if (c.queue.some((m) => m.type === 'append' && m.from === 'n1')) rounds.push(tick);
      c.deliverAll();
    }
  };
  // The noop's round goes out at the normal interval and the quiet ones at twice it (5, 15,
  // 25, ...): off the check's ticks (30, 60, ...) until the first check brings one forward.
  let dueTicks = 0;
  while (tick < 150) {
    dueTicks++;
    run(tick + 1);
  }
  t.equal(leader.status().role, 'leader', 'it leads on: the followers answer every round');
  t.ok(rounds.includes(30), `a round goes out with the first check (rounds at ${rounds.join(', ')})`);
  const late = rounds.filter((r) => r >= 60);
  t.ok(late.length >= 6 && late.every((r) => r % 10 === 0), `after the first check, every round falls on the check's grid (${late.join(', ')})`);
  t.equal(dueTicks, rounds.length, `the leader was due only for its rounds (${dueTicks} due ticks, ${rounds.length} rounds)`);
});

t.test('idle heartbeat never stretches past a third of the election timeout', async (t) => {
  const { idleHeartbeatTicks } = await import('../lib/raft/roles.js');
  const cfgOf = (heartbeatTicks: number, electionTicks: number) => ({ id: 'n1', peers: three, heartbeatTicks, electionTicks, preVote: true, checkQuorum: true, inflightMax: 4, appendBytesMax: 1 << 20, uncommittedEntriesMax: 100 });
  t.equal(idleHeartbeatTicks(cfgOf(5, 30)), 10);
  t.equal(idleHeartbeatTicks(cfgOf(5, 21)), 7);
  t.equal(idleHeartbeatTicks(cfgOf(5, 12)), 5, 'never shorter than the interval itself');
  t.equal(idleHeartbeatTicks(cfgOf(10, 100)), 20);
});
