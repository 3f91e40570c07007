// Expiry on a real 3-node cluster whose clocks disagree (--clock-offset-ms 0, +3000,
// -15000), checked against the README's guarantee:
// - a key set with PX on the leader is readable before its deadline by the leader's
//   clock on the leader and on every node whose clock is not ahead of it;
// - once that deadline has passed, a read on the leader or a node whose clock is ahead
//   finds nothing at once, and every other node finds nothing within its lag behind the
//   stamping leader (plus a replication margin);
// - once gone it stays gone: after the leader is killed and the lagging node elected
//   while its clock is still before the deadline, no node returns the key;
// - PEXPIRETIME is the same on every node, and PTTL/TTL count down to it.
// The same lifecycle is then checked for a key the lagging leader sets. Deadlines are
// read back with PEXPIRETIME and waited for with timers; conditions with bounds.
import t, { type Test } from 'tap';
import { RespError } from '../lib/client/resp-client.js';
import { TestCluster } from './helpers/cluster.js';
import type { Reply } from './helpers/resp.js';
import { waitFor } from './helpers/wait.js';

t.setTimeout(180_000);

const OFFSETS_MS: Record<string, number> = { n1: 0, n2: 3000, n3: -15000 };
const LAGGING = 'n3';
const TTL_MS = 4000;
/** Replication and scheduling slack on a loaded 2-core machine (a bound, not a speed goal). */
const MARGIN_MS = 2500;
/**
 * A node reads its clock once a tick (10 ms; later on a loaded machine) and serves
 * reads and stamps writes at that reading, so it may lag Date.now() by this much.
 */
const CLOCK_SLACK_MS = 100;
const RETRY = new Set(['TRYAGAIN', 'NOTLEADER', 'TIMEOUT', 'BUSY']);

const sleepUntil = (realMs: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, realMs - Date.now())));

t.test('expiry under per-node clock skew', async (t) => {
  const c = await TestCluster.create({ size: 3, electionTimeoutMs: 300, heartbeatMs: 50 });
  c.opts.nodeArgs = Object.fromEntries(c.nodes.map((n) => [n.id, ['--clock-offset-ms', String(OFFSETS_MS[n.id])]]));
  t.teardown(async () => {
    // The nodes' own account of a failure, before their folder goes.
    if (!t.passing()) for (const n of c.nodes) t.comment(`${n.id} output (last lines):\n${c.output(n.id).split('\n').slice(-25).join('\n')}`);
    await c.stop();
  });
  c.startAll();

  /** A command, resent while the node answers a retry code (no leader yet, say), for up to 10 s. */
  const cmd = async (id: string, ...args: (string | number)[]): Promise<Reply> => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      let r: Reply;
      try {
        r = await c.command(id, ...args);
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((res) => setTimeout(res, 50));
        continue;
      }
      if (!(r instanceof RespError && RETRY.has(r.code)) || Date.now() > deadline) return r;
      await new Promise((res) => setTimeout(res, 50));
    }
  };
  const running = () => c.nodes.filter((n) => c.isRunning(n.id)).map((n) => n.id);

  const down = () => c.nodes.map((n) => n.id).filter((x) => !c.isRunning(x));
  /** The leader every running node follows, and its term. */
  const leaderNow = () => c.waitForLeader(20_000, down());

  /**
   * Makes one of `wanted` the leader of all running nodes: while another node leads, ask
   * it to hand leadership over; failing that, start every stopped node (so that a
   * majority remains), kill the leader, wait for a
   * new one, and start it again (it rejoins, or disrupts and the loop goes on).
   * Bounded tries; the log stays whole throughout.
   */
  const elect = async (wanted: readonly string[]): Promise<{ id: string; term: number }> => {
    for (let i = 0; i < 12; i++) {
      let l = await leaderNow();
      if (wanted.includes(l.id)) return l;
      // A transfer first: elections favour the lower id when logs are equal (pre-vote
      // deferral, lib/raft/election.ts), so killing leaders until n3 wins took so many
      // rounds that its clock passed the deadline under test.
      const target = wanted.find((id) => c.isRunning(id));
      if (target !== undefined && (await cmd(l.id, 'CLUSTER', 'TRANSFER', target)) === 'OK') {
        l = await leaderNow();
        if (wanted.includes(l.id)) return l;
      }
      if (down().length > 0) {
        for (const id of down()) c.start(id);
        await waitFor('every node running', () => down().length === 0, 5000);
        l = await leaderNow();
        if (wanted.includes(l.id)) return l;
      }
      await c.kill(l.id);
      await c.waitForLeader(20_000, down());
      c.start(l.id);
      await waitFor(`${l.id} running`, () => c.isRunning(l.id), 5000);
    }
    throw new Error(`none of ${wanted.join(',')} became leader in 12 elections`);
  };

  /** The key's whole life, set on `leader`: returns its deadline in real time. */
  const lifecycle = async (t: Test, leader: string, key: string, value: string): Promise<number> => {
    const off = OFFSETS_MS[leader]!;
    const setAt = Date.now();
    const termAtSet = (await leaderNow()).term;
    t.equal(await cmd(leader, 'SET', key, value, 'PX', TTL_MS), 'OK', `SET ${key} PX ${TTL_MS} on the leader ${leader}`);
    const deadline = await cmd(leader, 'PEXPIRETIME', key);
    const info = await c.info(leader);
    if (typeof deadline !== 'number' || deadline < setAt + off) {
      const infos = await Promise.all(running().map(async (id) => `${id}: ${JSON.stringify(await c.info(id).catch((e: Error) => e.message))}`));
      throw new Error(`PEXPIRETIME ${key} on ${leader} (${info.role}, term ${info.term}) gave ${String(deadline)} right after the SET at ${setAt + off} by its clock\n${infos.join('\n')}`);
    }
    const realDeadline = deadline - off;
    const before = Date.now();
    const pttl = await cmd(leader, 'PTTL', key);
    t.ok(typeof pttl === 'number' && pttl > 0 && pttl <= TTL_MS, `PTTL on the leader counts down from ${TTL_MS}: ${String(pttl)}`);
    // Counted from max(the leader's clock, the state machine's time): never more than the leader's clock leaves.
    t.ok(typeof pttl === 'number' && pttl <= deadline - (before + off) + CLOCK_SLACK_MS, `PTTL ${String(pttl)} <= PEXPIRETIME minus the leader clock (${deadline - (before + off)})`);
    const ttl = await cmd(leader, 'TTL', key);
    if (Date.now() < realDeadline - 600) t.ok(typeof ttl === 'number' && ttl >= 1 && ttl <= TTL_MS / 1000, `TTL in seconds: ${String(ttl)}`);
    for (const id of running()) {
      // A node whose clock is past the deadline already treats the key as gone (-2).
      const got = await waitFor(`${key}'s deadline replicated to ${id}`, async () => {
        const asked = Date.now();
        const r = await cmd(id, 'PEXPIRETIME', key);
        return r === deadline || (r === -2 && asked + OFFSETS_MS[id]! >= deadline - MARGIN_MS) ? r : undefined;
      }, MARGIN_MS * 2);
      t.ok(got === deadline || got === -2, `${id} has the same deadline, or is past it by its clock (PEXPIRETIME ${String(got)})`);
    }

    // Before the deadline: readable on the leader and on every node not ahead of it,
    // unless another leader (with a faster clock) took over meanwhile and expired it.
    await sleepUntil(realDeadline - 1000);
    for (const id of running().filter((x) => OFFSETS_MS[x]! <= off)) {
      const r = await cmd(id, 'GET', key);
      const done = Date.now();
      const l = await leaderNow();
      const sameLeader = l.id === leader && l.term === termAtSet;
      t.ok(
        r === value || (r === null && (done >= realDeadline - CLOCK_SLACK_MS || !sameLeader)),
        `${id} (offset ${OFFSETS_MS[id]} ms) reads ${key} before its deadline: ${JSON.stringify(r)}${sameLeader ? '' : ` (leader now ${l.id}, term ${l.term})`}`,
      );
    }

    // After it: gone at once where the clock is not behind the leader's, within the lag elsewhere.
    await sleepUntil(realDeadline + CLOCK_SLACK_MS);
    for (const id of running().filter((x) => OFFSETS_MS[x]! >= off)) {
      t.equal(await cmd(id, 'GET', key), null, `${id} (offset ${OFFSETS_MS[id]} ms): gone at the deadline`);
      t.equal(await cmd(id, 'PTTL', key), -2, `${id}: PTTL -2`);
    }
    await Promise.all(
      running()
        .filter((x) => OFFSETS_MS[x]! < off)
        .map(async (id) => {
          const boundMs = off - OFFSETS_MS[id]! + MARGIN_MS;
          await waitFor(`${key} gone on ${id} within ${boundMs} ms of its deadline`, async () => (await cmd(id, 'GET', key)) === null, boundMs);
          t.pass(`${id} (${off - OFFSETS_MS[id]!} ms behind): gone ${Date.now() - realDeadline} ms after the deadline (bound ${boundMs} ms)`);
        }),
    );
    // Gone everywhere now, and it stays gone.
    for (const id of running()) {
      t.equal(await cmd(id, 'GET', key), null, `${id}: still gone`);
      t.equal(await cmd(id, 'TTL', key), -2, `${id}: TTL -2`);
      t.equal(await cmd(id, 'EXISTS', key), 0, `${id}: EXISTS 0`);
    }
    return realDeadline;
  };

  const first = (await elect(c.nodes.map((n) => n.id).filter((id) => id !== LAGGING))).id;
  t.comment(`leader ${first} (offset ${OFFSETS_MS[first]} ms)`);
  let deadlineA = 0;
  await t.test(`a key set on the leader ${first}`, async (t) => {
    deadlineA = await lifecycle(t, first, 'a', 'va');
  });

  await t.test(`no resurrection when the lagging node ${LAGGING} takes over`, async (t) => {
    await c.kill(first);
    const now = await elect([LAGGING]);
    t.equal(now.id, LAGGING, `${LAGGING} leads term ${now.term}`);
    const laggingClock = Date.now() + OFFSETS_MS[LAGGING]!;
    const inWindow = laggingClock < deadlineA + OFFSETS_MS[first]!;
    t.ok(inWindow, `${LAGGING}'s clock (${laggingClock}) is still before the key's deadline (${deadlineA + OFFSETS_MS[first]!}): the case under test`);
    for (const id of running()) {
      t.equal(await cmd(id, 'GET', 'a'), null, `${id}: 'a' stays gone`);
      t.equal(await cmd(id, 'PTTL', 'a'), -2, `${id}: PTTL -2`);
    }
    // A write through the lagging leader does not move the state machine's time back.
    t.equal(await cmd(LAGGING, 'SET', 'b', 'vb'), 'OK');
    for (const id of running()) t.equal(await cmd(id, 'GET', 'a'), null, `${id}: 'a' still gone after a lagging stamp`);
    // And the old leader, back as a follower, does not bring it back either.
    if (!c.isRunning(first)) c.start(first);
    await waitFor(`${first} follows again`, async () => (await c.info(first).catch(() => null))?.role === 'follower', 30_000);
    t.equal(await cmd(first, 'GET', 'a'), null, `${first}, restarted: 'a' still gone`);
  });

  await t.test(`a key set on the lagging leader ${LAGGING}`, async (t) => {
    for (const id of down()) c.start(id);
    const { id } = await elect([LAGGING]);
    await lifecycle(t, id, 'c', 'vc');
  });
});
