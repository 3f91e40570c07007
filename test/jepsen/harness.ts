// One Jepsen run on real processes: a 5-node raftd cluster on its own loopback
// addresses, concurrent clients recording a history, a nemesis injecting faults from a
// seeded schedule, then the final phase: heal everything, restart every node, wait for
// convergence, read every key on every node, compare the nodes' logs, look for lost
// acknowledged writes, and check the history for linearizability. Writes a report.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkHistory, type CheckResult } from '../../lib/check/index.js';
import { TestCluster } from '../helpers/cluster.js';
import { Prng } from '../sim/prng.js';
import { JepsenClient, type ClientOptions } from './client.js';
import { Recorder } from './history.js';
import { Nemesis, needsNetwork, type FaultKind } from './nemesis.js';
import { iptablesUsable, NetFaults, netemUsable, removeStaleRules } from './net.js';
import { Nodes } from './nodes.js';
import { renderHtml, textSummary, type RunData } from './report.js';
import { CommittedLog, compareFinalLogs, dumpLog, lostWrites, readEverywhere, sampleLogs, waitConverged, type LogEntry } from './verify.js';
import { checkExpiry } from '../../lib/check/expiry.js';
import { expiryTtlMs, finalReadArgs, modelForKey, outputOf, Workload, WORKLOAD_DEFAULTS, type WorkloadOptions } from './workload.js';

export interface RunOptions {
  readonly timeMs: number;
  readonly seed: number;
  readonly kinds: readonly FaultKind[];
  /** The nemesis as asked for (for the report and replay line). */
  readonly nemesisSpec: string;
  /**
   * Process faults (kill, pause) and network faults (partitions, links) on two
   * schedules of their own, so they overlap (a partition while the leader is paused);
   * otherwise one fault at a time.
   */
  readonly overlap: boolean;
  readonly nodes: number;
  readonly clients: number;
  readonly electionTimeoutMs: number;
  readonly heartbeatMs: number;
  readonly requestTimeoutMs: number;
  readonly client: ClientOptions;
  readonly workload: WorkloadOptions;
  readonly quietMs: readonly [number, number];
  readonly faultMs: readonly [number, number];
  /** How often to sample every node's committed log during the run; 0: only at the end. */
  readonly logSampleEveryMs: number;
  /**
   * --snapshot-entries and --snapshot-retain-entries of every node (null: the node's
   * defaults). Small values make snapshots, compaction and InstallSnapshot happen many
   * times a run; the log samples must then come often enough to see every committed
   * entry before compaction drops it (the lost-write check reads request ids from them).
   */
  readonly snapshotEntries: number | null;
  readonly snapshotRetainEntries: number;
  /** Pause between a client's operations: [min, max] ms. */
  readonly thinkMs: readonly [number, number];
  readonly checkBudgetMs: number;
  /** Where the report (and, on failure, the nodes' logs) go; none when null. */
  readonly outDir: string | null;
  /** Keep the cluster's folder (data, logs) even when the run passes. */
  readonly keepCluster: boolean;
  /** A cluster secret for the peers and a client password, as in production (--no-auth: neither). */
  readonly auth: boolean;
  /**
   * Each node's --clock-offset-ms, node i taking entry i mod length ([] or [0]: true
   * clocks): leaders with skewed clocks stamp the writes, for expiry under skew.
   */
  readonly clockOffsetsMs: readonly number[];
  readonly log: (line: string) => void;
}

export const RUN_DEFAULTS: RunOptions = {
  timeMs: 60_000,
  seed: 1,
  kinds: [],
  nemesisSpec: 'none',
  overlap: false,
  nodes: 5,
  clients: 10,
  electionTimeoutMs: 300,
  heartbeatMs: 50,
  auth: true,
  clockOffsetsMs: [],
  requestTimeoutMs: 1000,
  client: { opTimeoutMs: 5000, attemptTimeoutMs: 1500, connectTimeoutMs: 500 },
  workload: WORKLOAD_DEFAULTS,
  quietMs: [1000, 3000],
  faultMs: [2000, 6000],
  logSampleEveryMs: 5000,
  snapshotEntries: null,
  snapshotRetainEntries: 5000,
  thinkMs: [0, 10],
  checkBudgetMs: 120_000,
  outDir: null,
  keepCluster: false,
  log: (line) => process.stdout.write(line + '\n'),
};

export interface RunResult {
  /** No checker violation, no lost write, no divergence, no final-phase failure. */
  readonly ok: boolean;
  readonly check: CheckResult | null;
  /** Everything wrong besides linearizability. */
  readonly problems: readonly string[];
  readonly summary: string;
  readonly reportPath: string | null;
  readonly data: RunData;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));


/** Turns on the cluster secret and requirepass for a cluster not yet started; its helpers and clients AUTH. */
function authenticate(cluster: TestCluster): void {
  const secret = path.join(cluster.dir, 'cluster.secret');
  const password = path.join(cluster.dir, 'client.password');
  fs.writeFileSync(secret, randomBytes(32).toString('base64'), { mode: 0o600 });
  const pw = randomBytes(16).toString('hex');
  fs.writeFileSync(password, pw, { mode: 0o600 });
  cluster.opts.extraArgs = [...(cluster.opts.extraArgs ?? []), '--cluster-secret-file', secret, '--requirepass-file', password];
  cluster.opts.access = { tls: null, auth: { user: null, password: Buffer.from(pw) } };
}

/**
 * A node serves reads and stamps writes at the clock it read on its last tick (10 ms
 * apart, later when its main thread is busy): the expiry bounds' slack for that.
 */
const EXPIRY_SLACK_MS = 250;

export async function runJepsen(partial: Partial<RunOptions>): Promise<RunResult> {
  const o: RunOptions = { ...RUN_DEFAULTS, ...partial };
  const log = o.log;
  const rec = new Recorder(log);
  const problems: string[] = [];
  const t0 = performance.now();
  const phases: Record<string, number> = {};
  const phase = (name: string, since: number) => (phases[name] = Math.round(performance.now() - since));

  const wantsNet = o.kinds.some(needsNetwork);
  const netWhy = iptablesUsable();
  if (wantsNet && netWhy !== null) throw new Error(`nemesis ${o.nemesisSpec} needs iptables: ${netWhy}`);
  if (netWhy === null) {
    const stale = removeStaleRules();
    if (stale > 0) log(`removed ${stale} iptables rule(s) left by dead jepsen runs`);
  }
  const netem = wantsNet && netemUsable();

  const cluster = await TestCluster.create({
    size: o.nodes,
    electionTimeoutMs: o.electionTimeoutMs,
    heartbeatMs: o.heartbeatMs,
    extraArgs: [
      '--request-timeout-ms',
      String(o.requestTimeoutMs),
      ...(o.snapshotEntries === null ? [] : ['--snapshot-entries', String(o.snapshotEntries), '--snapshot-retain-entries', String(o.snapshotRetainEntries)]),
    ],
  });
  if (o.auth) authenticate(cluster);
  if (o.clockOffsetsMs.some((ms) => ms !== 0)) {
    cluster.opts.nodeArgs = Object.fromEntries(
      cluster.nodes.map((n, i) => [n.id, [...(cluster.opts.extraArgs ?? []), '--clock-offset-ms', String(o.clockOffsetsMs[i % o.clockOffsetsMs.length])]]),
    );
  }
  const nodes = new Nodes(cluster, o.keepCluster || !!process.env.RAFTD_KEEP_TEST_DIRS);
  const block = cluster.nodes[0]!.host.replace(/\.\d+$/, '.0/24');
  const net = netWhy === null ? new NetFaults(block) : null;
  const root = new Prng(o.seed);
  const nemesisRng = root.fork();
  const nemesisRng2 = root.fork();
  // Op choices on streams of their own, so that retries (which draw for node choice
  // and backoff) do not shift what a replayed seed asks for.
  const opRngs = Array.from({ length: o.clients }, () => root.fork());
  const clientRngs = Array.from({ length: o.clients }, () => root.fork());
  const workload = new Workload(o.workload);
  const committed = new CommittedLog();
  let check: CheckResult | null = null;
  const finalLogs = new Map<string, LogEntry[]>();
  let converged: { commitIndex: number; term: number; leader: string } | null = null;
  const schedules = o.overlap ? [o.kinds.filter((k) => !needsNetwork(k)), o.kinds.filter(needsNetwork)].filter((ks) => ks.length > 0) : [o.kinds];
  const nemeses = schedules.map(
    (kinds, i) =>
      new Nemesis(nodes, net, i === 0 ? nemesisRng : nemesisRng2, rec, {
        kinds,
        quietMs: o.quietMs,
        faultMs: o.faultMs,
        electionTimeoutMs: o.electionTimeoutMs,
        netem,
      }),
  );

  log(
    `jepsen: seed ${o.seed}, ${o.timeMs / 1000}s, nemesis ${o.nemesisSpec} (${o.kinds.join(' ') || 'none'})${o.overlap ? ' overlapping' : ''}, ` +
      `${o.nodes} nodes on ${block}, ${o.clients} clients${wantsNet ? (netem ? ', netem available' : ', no netem: lossy links via iptables') : ''}`,
  );
  try {
    // Setup.
    let since = performance.now();
    cluster.startAll();
    const first = await cluster.waitForLeader(60_000); // 5 nodes starting beside another test on a slow 2-core machine took over 20 s
    rec.event(`cluster up: ${first.id} leads term ${first.term}`);
    phase('setup', since);

    // The run: clients, nemesis and log sampler side by side.
    since = performance.now();
    const endAt = rec.now() + o.timeMs;
    const clients = clientRngs.map((rng, w) => new JepsenClient(nodes.endpoints, rng, o.client, w));
    let sampling = true;
    let wakeSampler = () => {};
    const sampler = (async () => {
      while (sampling && o.logSampleEveryMs > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, o.logSampleEveryMs);
          wakeSampler = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        if (sampling) await sampleLogs(nodes, committed, () => rec.now());
      }
    })();
    const nemesisDone = Promise.all(nemeses.map((n) => n.run(endAt)));
    const workers = clients.map(async (client, w) => {
      const rng = opRngs[w]!;
      let proc = w;
      let n = 0;
      while (rec.now() < endAt) {
        const p = workload.next(rng, rec.now());
        if (p.kind === 'cas') {
          const requestId = `j${w}.${++n}`;
          const r = await client.cas(p.key, p.next, requestId, () => rec.now());
          const base = { process: proc, worker: w, key: p.key, attempts: r.attempts, ...(r.node !== undefined ? { node: r.node } : {}) };
          if (r.read !== undefined) {
            const { value, invokeTime, completeTime } = r.read;
            rec.op({ ...base, op: 'read', output: value, invokeTime, completeTime, endTime: completeTime, outcome: 'ok' });
          }
          // Without a GET answered or EXEC sent there is no expected value and no effect: nothing to record.
          if (r.read !== undefined && r.execInvoke !== undefined) {
            const end = r.execComplete ?? rec.now();
            rec.op({
              ...base,
              op: 'cas',
              input: [r.read.value, p.next],
              invokeTime: r.execInvoke,
              ...(r.outcome === 'unknown' ? {} : { completeTime: end }),
              outcome: r.outcome,
              endTime: end,
              requestId,
              ...(r.error !== undefined ? { error: r.error } : {}),
            });
          }
          if (r.outcome === 'unknown') proc += o.clients;
          const think = rng.int(o.thinkMs[0], o.thinkMs[1]);
          if (think > 0) await sleep(think);
          continue;
        }
        const requestId = p.mutates ? `j${w}.${++n}` : undefined;
        const wire = requestId !== undefined ? ['REQ', requestId, ...p.args] : [...p.args];
        const invokeTime = rec.now();
        const r = await client.invoke(wire, p.mutates);
        const completeTime = rec.now();
        rec.op({
          process: proc,
          worker: w,
          key: p.key,
          op: p.op,
          ...(p.input !== undefined ? { input: p.input } : {}),
          ...(r.outcome === 'ok' ? { output: outputOf(p.key, p.op, r.reply!) } : {}),
          invokeTime,
          ...(r.outcome === 'unknown' ? {} : { completeTime }),
          outcome: r.outcome,
          endTime: completeTime,
          attempts: r.attempts,
          ...(r.node !== undefined ? { node: r.node } : {}),
          ...(r.error !== undefined ? { error: r.error } : {}),
          ...(requestId !== undefined ? { requestId } : {}),
        });
        // An op that may still take effect keeps its process busy forever: go on as a new process.
        if (r.outcome === 'unknown') proc += o.clients;
        const think = rng.int(o.thinkMs[0], o.thinkMs[1]);
        if (think > 0) await sleep(think);
      }
      client.close();
    });
    await nemesisDone;
    await Promise.all(workers);
    sampling = false;
    wakeSampler();
    await sampler;
    phase('run', since);
    rec.event(`clients done: ${rec.ops.length} ops`);

    // Final phase: heal, restart every node, converge.
    since = performance.now();
    net?.healAll();
    nodes.reviveAll();
    await sleep(500);
    await sampleLogs(nodes, committed, () => rec.now());
    rec.event('healed; restarting every node');
    await nodes.killAll();
    nodes.reviveAll();
    const c = await waitConverged(nodes, 60_000, committed.maxIndex());
    converged = c;
    rec.event(`converged: ${c.leader} leads term ${c.term}, commit index ${c.commitIndex} on every node`);

    // Every key on every node; the first node's answer goes into the history as a final read.
    const keys = workload.keys;
    const finalStart = rec.now();
    const everywhere = await readEverywhere(nodes, keys, finalReadArgs);
    const finalEnd = rec.now();
    problems.push(...everywhere.problems);
    for (const [key, perNode] of everywhere.values) {
      for (const [id, v] of perNode) {
        rec.op({ process: `final-${id}`, worker: o.clients, key, op: 'read', output: v, invokeTime: finalStart, completeTime: finalEnd, endTime: finalEnd, outcome: 'ok', attempts: 1, node: id });
      }
    }

    // The logs, once every node is stopped.
    await nodes.killAll();
    for (const id of nodes.ids) {
      const { entries, notes } = await dumpLog(nodes.node(id).dataDir);
      finalLogs.set(id, entries);
      committed.add(id, c.commitIndex, entries, rec.now());
      for (const note of notes) problems.push(`${id} log: ${note}`);
    }
    problems.push(...compareFinalLogs(finalLogs, c.commitIndex));
    problems.push(...committed.conflicts.map((x) => `divergence: ${x}`));
    const lost = lostWrites(rec.ops, committed.tids());
    for (const op of lost.slice(0, 20)) {
      problems.push(`lost write: ${op.requestId} ${op.op} ${op.key} ${JSON.stringify(op.input ?? null)} acknowledged at ${(op.completeTime! / 1000).toFixed(3)}s is not in the committed log`);
    }
    if (lost.length > 20) problems.push(`... ${lost.length - 20} more lost writes`);
    phase('final', since);

    // Linearizability.
    since = performance.now();
    // Expiring keys vanish by the clock, not by an op: judged by their own bounds instead.
    check = checkHistory(
      rec.ops.filter((op) => expiryTtlMs(op.key) === undefined),
      { modelFor: modelForKey, timeBudgetMs: o.checkBudgetMs, contextOps: 12 },
    );
    const offsets = o.clockOffsetsMs.length > 0 ? o.clockOffsetsMs.slice(0, o.nodes) : [0];
    const expiry = checkExpiry(rec.ops, { ttlMsOf: expiryTtlMs, skewMs: Math.max(...offsets) - Math.min(...offsets), slackMs: EXPIRY_SLACK_MS });
    if (expiry.keys > 0) rec.event(`expiry: ${expiry.keys} acknowledged SET PX keys, ${expiry.reads} reads, ${expiry.violations.length} violations`);
    for (const v of expiry.violations.slice(0, 20)) problems.push(`expiry ${v.kind}: ${v.key}: ${v.text}`);
    if (expiry.violations.length > 20) problems.push(`... ${expiry.violations.length - 20} more expiry violations`);
    phase('check', since);
  } catch (err) {
    problems.push(`run failed: ${(err as Error).stack ?? String(err)}`);
  } finally {
    for (const n of nemeses) n.stop();
    net?.dispose();
  }

  const data: RunData = {
    options: {
      seed: o.seed,
      timeMs: o.timeMs,
      nemesis: o.nemesisSpec,
      overlap: o.overlap,
      kinds: [...o.kinds],
      nodes: o.nodes,
      clients: o.clients,
      electionTimeoutMs: o.electionTimeoutMs,
      heartbeatMs: o.heartbeatMs,
      netem,
      faultMs: o.faultMs,
      quietMs: o.quietMs,
      workload: o.workload.name,
      clockOffsetsMs: [...o.clockOffsetsMs],
    },
    ops: rec.ops,
    faults: rec.faults,
    events: rec.events,
    check,
    problems,
    faultCounts: Object.fromEntries(nemeses.flatMap((n) => [...n.counts])),
    phasesMs: { ...phases, total: Math.round(performance.now() - t0) },
    logSamples: committed.samples,
    committedIndexes: committed.byIndex.size,
    finalCommitIndex: converged?.commitIndex ?? null,
  };
  const ok = problems.length === 0 && check !== null && check.ok === true;
  const summary = textSummary(data);

  let reportPath: string | null = null;
  if (o.outDir !== null) {
    fs.mkdirSync(o.outDir, { recursive: true });
    reportPath = path.join(o.outDir, 'report.html');
    fs.writeFileSync(reportPath, renderHtml(data));
    fs.writeFileSync(path.join(o.outDir, 'summary.txt'), summary + '\n');
    fs.writeFileSync(path.join(o.outDir, 'history.jsonl'), rec.ops.map((op) => JSON.stringify(op)).join('\n') + '\n');
    fs.writeFileSync(path.join(o.outDir, 'run.json'), JSON.stringify({ ...data, ops: undefined }, null, 1));
    if (!ok) {
      // The nodes' own logs and outputs, for the post-mortem.
      try {
        fs.cpSync(cluster.dir, path.join(o.outDir, 'cluster'), { recursive: true });
      } catch (err) {
        log(`could not copy ${cluster.dir}: ${(err as Error).message}`);
      }
    }
  }
  await nodes.stop();
  return { ok, check, problems, summary, reportPath, data };
}
