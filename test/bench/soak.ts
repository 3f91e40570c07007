// `npm run bench:soak`: one raftd cluster left running for an hour (--minutes), idle and
// loaded phases in turn, counting every election. Issue 11 asks for no spurious election
// in an hour of idle or loaded running; a short bench row cannot see a once-an-hour
// stall. Each phase reports the elections it saw (who campaigned and which leader
// stepped down, and why, from the members' own raft.log), the longest gap between
// acknowledged writes when loaded, CPU and every member's RSS at its end, so a slow
// leak shows as a drift across phases.
//
//   npm run bench:soak                                   # 60 min, 10 min phases, 16 clients
//   npm run bench:soak -- --minutes 2 --phase-minutes 0.5 --out /tmp/soak
//   npm run bench:soak -- --smoke --out /tmp/soak        # a few seconds (CI)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { RespClient } from '../../lib/client/resp-client.js';
import { TestCluster } from '../helpers/cluster.js';
import { describeElections, electionsSince, markRaftLogs, type ElectionEvent } from '../helpers/election-log.js';
import { runClosedLoop, type Workload } from './closed-loop.js';
import { gaps } from './large-values.js';
import type { Percentiles } from './latency.js';
import { ProcWatch, statusBytes } from './proc-stats.js';
import { raftdClient } from './raftd-system.js';
import { machine, type Machine } from './results.js';
import type { KvClient } from './system.js';

export type PhaseKind = 'idle' | 'loaded';

export interface SoakPhase {
  kind: PhaseKind;
  /** Seconds from the first leader to the phase's start. */
  startSec: number;
  seconds: number;
  /** The term's rise over the phase: every real election raises it (PreVote's do not). */
  elections: number;
  /** Real campaigns and leaders stepping down, from the members' raft.log. */
  events: ElectionEvent[];
  /** Loaded phases: acknowledged operations, errors, write latency, the longest gap between acknowledged writes. */
  writes?: number;
  reads?: number;
  errors?: number;
  write?: Percentiles;
  longestGapMs?: number;
  secondsWithoutAck?: number;
  cpuSecPer10s: number;
  /** Each member's RSS (MiB) when the phase ended. */
  rssMiBEnd: number[];
}

export interface SoakResults {
  startedAt: string;
  finishedAt: string;
  machine: Machine;
  options: { nodes: number; minutes: number; phaseMinutes: number; clients: number; workload: Workload; valueBytes: number; raftdArgs: string[] };
  phases: SoakPhase[];
  elections: { idle: number; loaded: number };
}

const argv = yargs(hideBin(process.argv))
  .option('minutes', { type: 'number', default: 60, describe: 'how long the cluster runs, phases included' })
  .option('phase-minutes', { type: 'number', default: 10, describe: 'length of each idle or loaded phase' })
  .option('first', { choices: ['idle', 'loaded'] as const, default: 'idle' as const, describe: 'the first phase' })
  .option('clients', { type: 'number', default: 16, describe: 'closed-loop clients on the leader in a loaded phase' })
  .option('workload', { choices: ['write', 'read', 'mix'] as const, default: 'mix' as const })
  .option('value-bytes', { type: 'number', default: 100 })
  .option('keys', { type: 'number', default: 1000 })
  .option('nodes', { type: 'number', default: 3 })
  .option('raftd-args', { type: 'string', default: '', describe: 'extra flags for every member, e.g. "--tick-ms 20"' })
  .option('smoke', { type: 'boolean', default: false, describe: 'two phases of a few seconds (CI: the instrument cannot rot)' })
  .option('out', { type: 'string', default: 'bench/results' })
  .option('name', { type: 'string', default: 'soak' })
  .strict()
  .parseSync();

const minutes = argv.smoke ? 0.2 : argv.minutes;
const phaseMinutes = argv.smoke ? 0.1 : argv['phase-minutes'];
if (!(minutes > 0) || !(phaseMinutes > 0)) throw new Error('--minutes and --phase-minutes must be positive');
const raftdArgs = argv['raftd-args'].split(/\s+/).filter((s) => s.length > 0);

let cluster: TestCluster | null = null;

function rssMiB(c: TestCluster): number[] {
  return c.nodes.map((n) => (c.isRunning(n.id) ? (statusBytes(n.proc!.pid!, 'VmRSS') ?? 0) / (1024 * 1024) : 0));
}

async function term(c: TestCluster): Promise<number> {
  const infos = await Promise.all(c.nodes.map((n) => c.info(n.id).catch(() => null)));
  return Math.max(0, ...infos.map((i) => Number(i?.term ?? 0)));
}

async function phase(c: TestCluster, kind: PhaseKind, startSec: number, ms: number): Promise<SoakPhase> {
  const mark = markRaftLogs(c);
  const termBefore = await term(c);
  const watch = new ProcWatch(c.nodes.map((n) => n.proc!.pid!), 1000);
  const t0 = performance.now();
  let load: Partial<SoakPhase> = {};
  if (kind === 'idle') {
    await new Promise((r) => setTimeout(r, ms));
  } else {
    const { id } = await c.waitForLeader(30_000);
    const leader = c.node(id);
    const conns: KvClient[] = [];
    try {
      for (let i = 0; i < argv.clients; i++) conns.push(raftdClient(await RespClient.connect(leader.host, leader.clientPort, { connectTimeoutMs: 5000 })));
      const windowStart = performance.now();
      const res = await runClosedLoop(conns, { clients: argv.clients, workload: argv.workload, valueBytes: argv['value-bytes'], keys: argv.keys, warmupMs: 0, durationMs: Math.max(0, ms - (windowStart - t0)) }, { keepWriteAcks: true });
      const g = gaps(res.writeAcks, windowStart, windowStart + res.seconds * 1000);
      load = { writes: res.writes, reads: res.reads, errors: res.errors, write: res.write, longestGapMs: g.longestGapMs, secondsWithoutAck: g.secondsWithoutAck };
    } finally {
      for (const k of conns) k.close();
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const cost = watch.stop();
  const elections = Math.max(0, (await term(c)) - termBefore);
  return {
    kind,
    startSec,
    seconds,
    elections,
    events: electionsSince(c, mark),
    ...load,
    cpuSecPer10s: (cost.cpuSec.reduce((a, b) => a + b, 0) * 10) / seconds,
    rssMiBEnd: rssMiB(c),
  };
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function renderSoak(r: SoakResults): string {
  const m = r.machine;
  const o = r.options;
  const lines = [
    '# raftd soak',
    '',
    `${m.cpus} x ${m.cpuModel}, ${m.memGiB} GiB, ${m.kernel}, Node ${m.node}; ${r.startedAt} to ${r.finishedAt}; load average ${m.loadAvg1m.start.toFixed(1)} at the start, ${m.loadAvg1m.end.toFixed(1)} at the end.`,
    `One cluster of ${o.nodes} members for ${o.minutes} min, phases of ${o.phaseMinutes} min in turn; loaded: ${o.clients} closed-loop clients on the leader, ${o.workload}, ${o.valueBytes} B values${o.raftdArgs.length > 0 ? `; members run with ${o.raftdArgs.join(' ')}` : ''}.`,
    '',
    `**Elections: ${r.elections.idle} while idle, ${r.elections.loaded} while loaded.**`,
    '',
    '| phase | from s | s | elections | writes/s | reads/s | errors | write p50 / p99 / max ms | longest gap ms | s without an ack | CPU s per 10 s | RSS MiB at the end |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const p of r.phases) {
    const loaded = p.kind === 'loaded';
    lines.push(
      `| ${p.kind} | ${fmt(p.startSec)} | ${fmt(p.seconds)} | ${p.elections} | ${loaded ? fmt((p.writes ?? 0) / p.seconds) : '-'} | ${loaded ? fmt((p.reads ?? 0) / p.seconds) : '-'} | ${loaded ? fmt(p.errors ?? 0) : '-'} | ${loaded && p.write ? `${fmt(p.write.p50Ms, 1)} / ${fmt(p.write.p99Ms, 1)} / ${fmt(p.write.maxMs, 1)}` : '-'} | ${loaded ? fmt(p.longestGapMs ?? 0) : '-'} | ${loaded ? String(p.secondsWithoutAck ?? 0) : '-'} | ${fmt(p.cpuSecPer10s, 2)} | ${p.rssMiBEnd.map((x) => fmt(x)).join(', ')} |`,
    );
  }
  const withEvents = r.phases.filter((p) => p.events.length > 0);
  if (withEvents.length > 0) {
    lines.push('', '## What the members logged');
    for (const p of withEvents) lines.push('', `- ${p.kind} phase from ${fmt(p.startSec)} s: ${describeElections(p.events)}`);
  }
  return lines.join('\n') + '\n';
}

async function main(): Promise<void> {
  const startedAt = new Date().toISOString();
  const mach = machine();
  cluster = await TestCluster.create({ size: argv.nodes, extraArgs: raftdArgs });
  cluster.startAll();
  await cluster.waitForLeader(60_000);
  const t0 = performance.now();
  const phaseMs = phaseMinutes * 60_000;
  const endAt = t0 + minutes * 60_000;
  const phases: SoakPhase[] = [];
  let kind: PhaseKind = argv.first;
  while (performance.now() < endAt - 1000) {
    const startSec = (performance.now() - t0) / 1000;
    const ms = Math.min(phaseMs, endAt - performance.now());
    process.stderr.write(`soak: ${kind} phase from ${fmt(startSec)} s for ${fmt(ms / 1000)} s\n`);
    const p = await phase(cluster, kind, startSec, ms);
    phases.push(p);
    process.stderr.write(`soak: ${kind} phase: ${p.elections} elections${p.events.length > 0 ? ` (${describeElections(p.events)})` : ''}, RSS ${p.rssMiBEnd.map((x) => fmt(x)).join('/')} MiB\n`);
    kind = kind === 'idle' ? 'loaded' : 'idle';
  }
  mach.loadAvg1m.end = os.loadavg()[0]!;
  const sum = (k: PhaseKind) => phases.filter((p) => p.kind === k).reduce((a, p) => a + p.elections, 0);
  const results: SoakResults = {
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: mach,
    options: { nodes: argv.nodes, minutes, phaseMinutes, clients: argv.clients, workload: argv.workload, valueBytes: argv['value-bytes'], raftdArgs },
    phases,
    elections: { idle: sum('idle'), loaded: sum('loaded') },
  };
  fs.mkdirSync(argv.out, { recursive: true });
  const stem = path.join(argv.out, argv.name);
  const md = renderSoak(results);
  fs.writeFileSync(`${stem}.json`, JSON.stringify(results, null, 2) + '\n');
  fs.writeFileSync(`${stem}.md`, md);
  process.stdout.write(md + `\nwrote ${stem}.json, ${stem}.md\n`);
}

process.on('SIGINT', () => {
  process.stderr.write('\nsoak: interrupted; stopping the cluster\n');
  void (cluster?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
});

main()
  .catch((err) => {
    process.stderr.write(`\nsoak: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await cluster?.stop();
    process.exit(process.exitCode ?? 0);
  });
