// `node build/test/jepsen/run.js --time 300 --seed S --nemesis all --out DIR`: one
// Jepsen run of any length; the same seed replays the same nemesis schedule and client
// choices. `--workload register|list|cas|mixed` picks what the clients do,
// `--clock-offsets-ms 0,3000,-3000` skews the nodes' clocks. Prints a summary and writes DIR/report.html; exits 1 on any violation.
import * as path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { runJepsen, RUN_DEFAULTS } from './harness.js';
import { parseNemesis } from './nemesis.js';
import { parseWorkload, WORKLOAD_DEFAULTS, WORKLOAD_NAMES } from './workload.js';

const argv = yargs(hideBin(process.argv))
  .scriptName('jepsen')
  .usage('$0 [options]: a Jepsen-style test of raftd on a real 5-node cluster')
  .option('time', { type: 'number', default: 60, describe: 'seconds of client load and faults' })
  .option('seed', { type: 'number', describe: 'PRNG seed (default: random, printed)' })
  .option('nemesis', { type: 'string', default: 'all', describe: 'all, none, kill, pause, partition, netem, membership (not in all), or fault kinds, comma-separated' })
  .option('overlap', { type: 'boolean', default: false, describe: 'process and network faults on schedules of their own, overlapping' })
  .option('out', { type: 'string', describe: 'report folder (default jepsen-out/<seed>)' })
  .option('clients', { type: 'number', default: RUN_DEFAULTS.clients })
  .option('nodes', { type: 'number', default: RUN_DEFAULTS.nodes })
  .option('election-timeout-ms', { type: 'number', default: RUN_DEFAULTS.electionTimeoutMs })
  .option('heartbeat-ms', { type: 'number', default: RUN_DEFAULTS.heartbeatMs })
  .option('op-timeout-ms', { type: 'number', default: RUN_DEFAULTS.client.opTimeoutMs })
  .option('workload', { type: 'string', default: WORKLOAD_DEFAULTS.name, describe: `what the clients do: ${WORKLOAD_NAMES.join(', ')}` })
  .option('clock-offsets-ms', { type: 'string', default: '', describe: "each node's --clock-offset-ms, comma-separated, cycled over the nodes (e.g. 0,3000,-3000)" })
  .option('key-epoch-ms', { type: 'number', default: WORKLOAD_DEFAULTS.keyEpochMs, describe: 'a fresh set of keys this often (0: never)' })
  .option('fault-ms', { type: 'string', default: RUN_DEFAULTS.faultMs.join('-'), describe: 'fault duration range, min-max ms' })
  .option('quiet-ms', { type: 'string', default: RUN_DEFAULTS.quietMs.join('-'), describe: 'quiet time between faults, min-max ms' })
  .option('check-budget-ms', { type: 'number', default: RUN_DEFAULTS.checkBudgetMs })
  .option('snapshot-entries', { type: 'number', describe: "every node's --snapshot-entries (small: snapshots and InstallSnapshot all the time)" })
  .option('snapshot-retain-entries', { type: 'number', default: RUN_DEFAULTS.snapshotRetainEntries })
  .option('log-sample-ms', { type: 'number', default: RUN_DEFAULTS.logSampleEveryMs, describe: 'how often every node\'s committed log is sampled' })
  .option('keep', { type: 'boolean', default: false, describe: 'keep the cluster folder (data and node logs)' })
  .option('auth', { type: 'boolean', default: RUN_DEFAULTS.auth, describe: 'cluster secret and client password on (--no-auth: off)' })
  .strict()
  .help()
  .parseSync();

function range(s: string, what: string): [number, number] {
  const m = /^(\d+)-(\d+)$/.exec(s);
  if (!m || Number(m[1]) > Number(m[2])) throw new Error(`--${what} wants min-max in ms, got ${s}`);
  return [Number(m[1]), Number(m[2])];
}

function offsets(s: string): number[] {
  if (s.trim() === '') return [];
  const ms = s.split(',').map((x) => Number(x.trim()));
  if (ms.some((x) => !Number.isInteger(x))) throw new Error(`--clock-offsets-ms wants integers, comma-separated, got ${s}`);
  return ms;
}

const seed = argv.seed ?? Math.floor(Math.random() * 2 ** 31);
const outDir = path.resolve(argv.out ?? path.join('jepsen-out', String(seed)));
const result = await runJepsen({
  timeMs: argv.time * 1000,
  seed,
  kinds: parseNemesis(argv.nemesis),
  nemesisSpec: argv.nemesis,
  overlap: argv.overlap,
  clients: argv.clients,
  nodes: argv.nodes,
  electionTimeoutMs: argv['election-timeout-ms'],
  heartbeatMs: argv['heartbeat-ms'],
  client: { ...RUN_DEFAULTS.client, opTimeoutMs: argv['op-timeout-ms'] },
  workload: { ...WORKLOAD_DEFAULTS, name: parseWorkload(argv.workload), keyEpochMs: argv['key-epoch-ms'] },
  clockOffsetsMs: offsets(argv['clock-offsets-ms']),
  faultMs: range(argv['fault-ms'], 'fault-ms'),
  quietMs: range(argv['quiet-ms'], 'quiet-ms'),
  checkBudgetMs: argv['check-budget-ms'],
  snapshotEntries: argv['snapshot-entries'] ?? null,
  snapshotRetainEntries: argv['snapshot-retain-entries'],
  logSampleEveryMs: argv['log-sample-ms'],
  outDir,
  keepCluster: argv.keep,
  auth: argv.auth,
});
process.stdout.write('\n' + result.summary + '\n');
process.stdout.write(`report: ${result.reportPath}\n`);
process.exit(result.ok ? 0 : 1);
