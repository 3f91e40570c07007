// The benchmark's command line (yargs): what to run, how long, and where results go.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import type { Workload } from './closed-loop.js';

export type Section = 'throughput' | 'large' | 'failover' | 'idle';

export interface BenchOptions {
  nodes: number;
  clients: number[];
  workloads: Workload[];
  valueBytes: number;
  keys: number;
  warmupMs: number;
  durationMs: number;
  etcd: boolean;
  sections: Section[];
  largeNodes: number;
  largeClients: number;
  largeValueBytes: number;
  largeDurationMs: number;
  failoverRounds: number;
  partitionRounds: number;
  failoverLoadClients: number;
  idleMs: number;
  /** How long a started cluster settles before the idle window opens. */
  idleSettleMs: number;
  out: string;
  name: string;
  smoke: boolean;
  /** Extra raftd flags for every raftd member (e.g. "--tick-ms 20"), to compare settings. */
  raftdArgs: string[];
  /** Run raftd members under node --cpu-prof, profiles under this directory (null: no profiling). */
  cpuProf: string | null;
}

const list = (v: unknown): string[] => (Array.isArray(v) ? v : [v]).flatMap((x) => String(x).split(',')).filter((x) => x !== '');

/**
 * `--raftd-args "--tick-ms 20"` as two words: yargs would read the value as a flag of its
 * own (an unknown one), so the value is glued to its option first.
 */
function gluePassThrough(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--raftd-args' && i + 1 < args.length) out.push(`--raftd-args=${args[++i]}`);
    else out.push(args[i]!);
  }
  return out;
}

export function parseOptions(argv: string[]): BenchOptions {
  const a = yargs(gluePassThrough(hideBin(argv)))
    .scriptName('npm run bench --')
    .usage('$0 [options]: raftd beside etcd (when `etcd` is on the PATH): throughput, large values, failover, idle cost')
    .option('nodes', { type: 'number', default: 3, describe: 'cluster size for the throughput rows and failover' })
    .option('clients', { type: 'string', default: '1,16,64,256', describe: 'closed-loop client counts' })
    .option('workloads', { type: 'string', default: 'write,read,mix', describe: 'write, read (linearizable), mix (half each)' })
    .option('value-bytes', { type: 'number', default: 100 })
    .option('keys', { type: 'number', default: 1000, describe: 'key space' })
    .option('warmup-ms', { type: 'number', default: 3000, describe: 'load before each row is measured, on its fresh cluster (V8 optimizes raftd\'s hot paths in the first ~3 s)' })
    .option('duration-ms', { type: 'number', default: 5000, describe: 'measured window of each throughput row' })
    .option('etcd', { type: 'boolean', default: true, describe: 'run etcd beside raftd when it is on the PATH (--no-etcd to skip)' })
    .option('sections', { type: 'string', default: 'throughput,large,failover,idle' })
    .option('large-nodes', { type: 'number', default: 5 })
    .option('large-clients', { type: 'number', default: 50 })
    .option('large-value-bytes', { type: 'number', default: 100_000 })
    .option('large-duration-ms', { type: 'number', default: 15_000 })
    .option('failover-rounds', { type: 'number', default: 20, describe: 'kill -9 of the leader under load' })
    .option('partition-rounds', { type: 'number', default: 20, describe: 'iptables DROP around the leader under load (root only)' })
    .option('failover-load-clients', { type: 'number', default: 12, describe: 'background writers during failover rounds' })
    .option('idle-ms', { type: 'number', default: 10_000, describe: 'how long the idle cost is measured' })
    .option('idle-settle-ms', { type: 'number', default: 30_000, describe: 'how long after the election the idle window opens (V8 warms up for ~30 s)' })
    .option('out', { type: 'string', default: 'bench/results', describe: 'results directory' })
    .option('name', { type: 'string', describe: 'results file stem (default: latest, or smoke with --smoke)' })
    .option('raftd-args', { type: 'string', default: '', describe: 'extra flags for every raftd member, e.g. "--tick-ms 20"' })
    .option('cpu-prof', { type: 'string', describe: 'run raftd members under node --cpu-prof; one folder of profiles per cluster here' })
    .option('smoke', { type: 'boolean', default: false, describe: 'every section for ~1-2 s at one client count (CI)' })
    .strict()
    .help()
    .parseSync();
  const o: BenchOptions = {
    nodes: a.nodes,
    clients: list(a.clients).map(Number),
    workloads: list(a.workloads) as Workload[],
    valueBytes: a['value-bytes'],
    keys: a.keys,
    warmupMs: a['warmup-ms'],
    durationMs: a['duration-ms'],
    etcd: a.etcd,
    sections: list(a.sections) as Section[],
    largeNodes: a['large-nodes'],
    largeClients: a['large-clients'],
    largeValueBytes: a['large-value-bytes'],
    largeDurationMs: a['large-duration-ms'],
    failoverRounds: a['failover-rounds'],
    partitionRounds: a['partition-rounds'],
    failoverLoadClients: a['failover-load-clients'],
    idleMs: a['idle-ms'],
    idleSettleMs: a['idle-settle-ms'],
    out: a.out,
    name: a.name ?? (a.smoke ? 'smoke' : 'latest'),
    smoke: a.smoke,
    cpuProf: a['cpu-prof'] ?? null,
    raftdArgs: a['raftd-args'].split(/\s+/).filter((x) => x !== ''),
  };
  if (o.smoke) {
    // Every section, briefly: enough to prove the instrument works, not to measure.
    Object.assign(o, {
      clients: [8],
      warmupMs: 300,
      durationMs: 1000,
      largeClients: 8,
      largeDurationMs: 1500,
      failoverRounds: 1,
      partitionRounds: 1,
      failoverLoadClients: 4,
      idleMs: 2000,
      idleSettleMs: 500,
    });
  }
  for (const w of o.workloads) if (!['write', 'read', 'mix'].includes(w)) throw new Error(`unknown workload ${w}`);
  for (const s of o.sections) if (!['throughput', 'large', 'failover', 'idle'].includes(s)) throw new Error(`unknown section ${s}`);
  for (const c of o.clients) if (!Number.isInteger(c) || c < 1) throw new Error(`bad client count ${c}`);
  return o;
}
