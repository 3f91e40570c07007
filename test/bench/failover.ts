// Failover under load: the leader is killed (kill -9) or cut off (iptables DROP on its
// loopback address towards every other member: no reset, its packets just vanish),
// and we time the first write acknowledged after that by a surviving member. Probes
// send a write to every other member every 10 ms; background writers keep the
// cluster busy on every member. After each round the member is restarted or the
// rules removed, and the next round waits for one agreed leader.
import { performance } from 'node:perf_hooks';
import { Partitioner } from '../helpers/partition.js';
import { runClosedLoop } from './closed-loop.js';
import { percentilesOf } from './latency.js';
import type { BenchOptions } from './options.js';
import type { Progress } from './progress.js';
import type { BenchSystem, KvClient } from './system.js';

export type FaultKind = 'kill' | 'partition';

export interface FailoverResult {
  kind: FaultKind;
  rounds: number;
  /** Time to the first acknowledged write of each round, ms (null: none within the bound). */
  timesMs: (number | null)[];
  medianMs: number;
  p99Ms: number;
  maxMs: number;
  unrecovered: number;
}

const PROBE_EVERY_MS = 10;
/** A member that refuses connections at the start of a round is retried this long, this often. */
const CONNECT_RETRY_MS = 15_000;
const CONNECT_RETRY_PAUSE_MS = 50;
/** Probe connections per member opened before the fault; more are opened while all are busy. */
const PROBE_CONNS_WARM = 4;
/** A request may hang until its deadline, and replies come in pipeline order: a probe never queues behind one. */
const PROBE_CONNS_MAX = 64;
const RECOVERY_BOUND_MS = 15_000;

/** One partitioner for the run (it removes its rules at exit), so an interrupted run can heal too. */
export let activePartitioner: Partitioner | null = null;

export async function runFailover(sys: BenchSystem, kind: FaultKind, rounds: number, opts: BenchOptions, progress: Progress): Promise<FailoverResult> {
  const timesMs: (number | null)[] = [];
  for (let r = 0; r < rounds; r++) {
    progress.show(`${sys.name} ${kind} ${r + 1}/${rounds}`);
    const ms = await oneRound(sys, kind, r, opts);
    timesMs.push(ms);
    progress.step(`${sys.name} ${kind} ${r + 1}/${rounds}: ${ms === null ? 'no write acknowledged' : `${Math.round(ms)} ms`}`);
  }
  const ok = timesMs.filter((t): t is number => t !== null);
  const p = percentilesOf(ok);
  return { kind, rounds, timesMs, medianMs: p.p50Ms, p99Ms: p.p99Ms, maxMs: p.maxMs, unrecovered: timesMs.length - ok.length };
}

async function oneRound(sys: BenchSystem, kind: FaultKind, round: number, opts: BenchOptions): Promise<number | null> {
  const leader = await sys.waitForLeader(60_000);
  const others = sys.hosts.map((_, i) => i).filter((i) => i !== leader);
  const loadConns: KvClient[] = [];
  const probes: KvClient[] = [];
  let stop = false;
  try {
    // The member restarted after the last round may still be starting: its port opens late.
    for (let i = 0; i < opts.failoverLoadClients; i++) loadConns.push(await connectSoon(sys, i % sys.size));
    for (const i of others) for (let k = 0; k < PROBE_CONNS_WARM; k++) probes.push(await connectSoon(sys, i));
    const load = runClosedLoop(
      loadConns,
      { clients: loadConns.length, workload: 'write', valueBytes: opts.valueBytes, keys: opts.keys, warmupMs: 0, durationMs: 3_600_000 },
      { stopped: () => stop },
    );
    await new Promise((r) => setTimeout(r, 300));

    const t0 = performance.now();
    if (kind === 'kill') {
      await sys.kill(leader);
    } else {
      activePartitioner ??= new Partitioner();
      activePartitioner.isolate([sys.hosts[leader]!], sys.hosts);
    }
    const ackedAt = await firstAck(sys, others, probes, round);
    stop = true;
    for (const c of [...loadConns, ...probes]) c.close();
    await load.catch(() => undefined);
    return ackedAt === null ? null : ackedAt - t0;
  } finally {
    stop = true;
    for (const c of [...loadConns, ...probes]) c.close();
    activePartitioner?.heal();
    if (!sys.isRunning(leader)) await sys.restart(leader);
  }
}

/** Connects to a member, retrying (bounded) while it refuses: a restarted member opens its port after a moment. */
async function connectSoon(sys: BenchSystem, member: number): Promise<KvClient> {
  const deadline = performance.now() + CONNECT_RETRY_MS;
  for (;;) {
    try {
      return await sys.connect(member);
    } catch (err) {
      if (performance.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, CONNECT_RETRY_PAUSE_MS));
    }
  }
}

/**
 * Every 10 ms, one write to each member in `members` on a connection of that member
 * with nothing outstanding (a new one when all are busy, up to a bound); resolves with
 * the time of the first acknowledgement, or null past the bound.
 */
function firstAck(sys: BenchSystem, members: number[], warm: KvClient[], round: number): Promise<number | null> {
  const idle = new Map<number, KvClient[]>(members.map((m, j) => [m, warm.slice(j * PROBE_CONNS_WARM, (j + 1) * PROBE_CONNS_WARM)]));
  const opened = new Map<number, number>(members.map((m) => [m, PROBE_CONNS_WARM]));
  const extra: KvClient[] = [];
  return new Promise<number | null>((resolve) => {
    let done = false;
    let n = 0;
    const finish = (v: number | null) => {
      if (done) return;
      done = true;
      clearInterval(tick);
      clearTimeout(bound);
      for (const c of extra) c.close();
      resolve(v);
    };
    const send = (m: number, c: KvClient) => {
      c.write(`probe:${round}:${n}`, Buffer.from('x')).then(
        (ok) => {
          if (ok) finish(performance.now());
          else if (!c.concurrent) idle.get(m)!.push(c);
        },
        () => undefined,
      );
    };
    const tick = setInterval(() => {
      n++;
      for (const m of members) {
        const pool = idle.get(m)!;
        // A multiplexed connection is never busy: it stays in the pool.
        const c = pool[0]?.concurrent ? pool[n % pool.length] : pool.pop();
        if (c) send(m, c);
        else if (opened.get(m)! < PROBE_CONNS_MAX) {
          opened.set(m, opened.get(m)! + 1);
          sys.connect(m).then(
            (nc) => {
              if (done) return nc.close();
              extra.push(nc);
              send(m, nc);
            },
            () => undefined,
          );
        }
      }
    }, PROBE_EVERY_MS);
    const bound = setTimeout(() => finish(null), RECOVERY_BOUND_MS);
  });
}
