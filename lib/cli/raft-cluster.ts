// `node bin/raft-cluster.js <command>`: run a whole cluster of hosts.txt from one
// place: start and stop it, signal single nodes, show who leads, collect the logs.
// Nodes on this machine run directly; others through an exec template (ssh by
// default, `ip netns exec {ns}` for namespaces).
import * as path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { readHosts } from '../config/hosts.js';
import { OpsError } from '../ops/errors.js';
import { signalNode, stopAll } from '../ops/lifecycle.js';
import { fetchLogs } from '../ops/logs.js';
import { clusterMetrics, renderMetrics } from '../ops/metrics-table.js';
import { probeCluster, PROBE_TIMEOUT_MS, setProbeAccess, type ClusterStatus } from '../ops/probe.js';
import { ACCESS_FLAGS, accessFromArgs } from '../client/access.js';
import type { Signal } from '../ops/scripts.js';
import { report, type Io } from '../ops/report.js';
import { renderStatus, statusJson } from '../ops/status-table.js';
import { DEFAULT_EXEC, parseNsMap, targetsFor, type ClusterConfig } from '../ops/target.js';
import { up } from '../ops/up.js';
import { adminCommand, renderReply } from '../ops/admin.js';
import { rollingRestart } from '../ops/rolling-restart.js';
import { addMember, clusterMembers, hostsWithMembers, removeMember } from '../ops/membership.js';
import { hasStableLeader } from '../ops/probe.js';
import { waitForStatus } from '../ops/wait.js';
import { RespError } from '../client/resp-client.js';
import { fileFlagArgs, fileFlagValue } from '../ops/secrets.js';

const COMMANDS = ['up', 'down', 'restart', 'kill', 'pause', 'resume', 'status', 'metrics', 'logs', 'members', 'transfer', 'rolling-restart', 'add', 'remove'] as const;
type Command = (typeof COMMANDS)[number];

const WATCH_DEFAULT_MS = 1000;
const WATCH_MIN_MS = 100;

export async function main(argv: string[]): Promise<void> {
  const args = await yargs(hideBin(argv))
    .scriptName('raft-cluster')
    .parserConfiguration({ 'populate--': true })
    .usage('$0 <command> [options] [-- raftd flags]')
    .epilogue(
      'Runs the cluster of a hosts file from one place. Nodes on this machine start directly, others through --exec ' +
        `(default "${DEFAULT_EXEC}"); each keeps raftd.pid, raftd.out and raftd.args in <data-root>/<id>. ` +
        'Flags after -- go to every raftd, e.g. `raft-cluster up -- --election-timeout-ms 150`.',
    )
    .command('up [ids..]', 'start every node (or the given ones), wait for a leader, print the status table')
    .command('down [ids..]', 'stop every node (or the given ones): SIGTERM, SIGKILL after --grace ms')
    .command('restart [ids..]', 'down then up for the given nodes (default: all), with the raftd flags of their last start unless new ones are given')
    .command('kill <id>', 'SIGKILL one node')
    .command('pause <id>', 'SIGSTOP one node')
    .command('resume <id>', 'SIGCONT one node')
    .command('status', 'one row per node (hosts.txt and members added since): address, up/down, role, term, leader, commit, applied, lag, health (GET /health)')
    .command('metrics', 'from two scrapes of every /metrics --interval ms apart: role, term, commit, lag, fsync p99, proposals/s, commits/s, healthy')
    .command('logs', "fetch every node's per-actor logs into --out DIR/<id>/")
    .command('members', 'CLUSTER MEMBERS of the leader: id, addresses, voter or learner, match index, leader')
    .command('add <id> <host> <peer-port> <client-port>', 'start a new node (here, or through --exec) that joins the cluster through the leader; a voter once caught up, or --learner')
    .command('remove <id>', 'CLUSTER REMOVE the node, then stop it')
    .option('learner', { type: 'boolean', default: false, describe: 'add: the new node stays a non-voting learner' })
    .command('transfer [id]', 'CLUSTER TRANSFER: hand leadership to the node given (default: the most up-to-date voter)')
    .command('rolling-restart [ids..]', 'restart every node (or the given ones) one at a time: followers first, the leader last after a transfer, each back and caught up before the next')
    .option('catch-up-entries', { type: 'number', coerce: lastNumber, default: 100, describe: 'rolling-restart: a node counts as caught up within this many entries of the leader\'s commit index' })
    .option('hosts', { type: 'string', coerce: lastString, default: 'hosts.txt', describe: 'cluster file: `id host peer-port client-port [metrics-port]` a line' })
    .option('exec', { type: 'string', coerce: lastString, describe: `reach every node through this command template: {host} {id} {ns} (default for remote hosts: "${DEFAULT_EXEC}"; e.g. "ip netns exec raftd-{id}")` })
    .option('ns-map', { type: 'string', coerce: lastString, describe: 'the {ns} of each node: id=namespace,id=namespace...' })
    // TLS and AUTH for probing client ports (lib/client/access.ts).
    .options(ACCESS_FLAGS)
    .option('remote-dir', { type: 'string', coerce: lastString, describe: 'the project directory on the nodes (default: the same path as here)' })
    .option('data-root', { type: 'string', coerce: lastString, default: 'data', describe: 'node X keeps its data, pid file and raftd.out in <data-root>/X' })
    .option('upload', { type: 'boolean', default: true, describe: 'copy the build to remote machines on up (--no-upload: it is there already)' })
    .option('raftd-args', { type: 'string', coerce: lastString, describe: 'flags for every raftd: --raftd-args="--election-timeout-ms 150" (or put them after --)' })
    .option('node', { type: 'string', coerce: lastString, describe: 'node binary on remote machines (default: node)' })
    .option('timeout', { type: 'number', coerce: lastNumber, default: 20_000, describe: 'up/restart: ms to wait for a leader' })
    .option('grace', { type: 'number', coerce: lastNumber, default: 5000, describe: 'down/restart: ms between SIGTERM and SIGKILL' })
    .option('probe-timeout', { type: 'number', coerce: lastNumber, default: PROBE_TIMEOUT_MS, describe: 'ms a node has to answer INFO' })
    .option('json', { type: 'boolean', default: false, describe: 'status: JSON for scripts' })
    .option('watch', { type: 'string', coerce: lastString, describe: 'status: refresh every [ms] (default 1000) until Ctrl-C; with --json, one object a line' })
    .option('color', { type: 'boolean', describe: 'colours in the status table (default: when stdout is a terminal)' })
    .option('interval', { type: 'number', coerce: lastNumber, default: 1000, describe: 'metrics: ms between the two scrapes' })
    .option('out', { type: 'string', coerce: lastString, describe: 'logs: directory to fetch into' })
    .wrap(null)
    .demandCommand(1, 'name a command')
    .strict()
    .help()
    .parse();

  const command = String(args._[0]) as Command;
  if (!COMMANDS.includes(command)) throw new OpsError('OPS_CONFIG', `unknown command "${command}" (known: ${COMMANDS.join(', ')})`);
  const passthrough = ((args['--'] as (string | number)[] | undefined) ?? []).map(String);
  const hostsFile = path.resolve(args.hosts);
  // Security files (secret, passwords, certificates) by absolute path: `up` ships them to remote machines there.
  const fileFlags = fileFlagArgs([...splitWords(args['raftd-args'] ?? ''), ...passthrough], process.cwd());
  // Probes AUTH with --password-file, or else with the password the nodes are started with.
  setProbeAccess(accessFromArgs({ ...args, 'password-file': args['password-file'] ?? fileFlagValue(fileFlags.args, '--requirepass-file') }));
  const cluster: ClusterConfig = {
    hostsFile,
    hosts: readHosts(hostsFile),
    exec: args.exec ?? null,
    nsMap: parseNsMap(args['ns-map']),
    remoteDir: args['remote-dir'] ?? null,
    dataRoot: args['data-root'],
    upload: args.upload,
    raftdArgs: fileFlags.args,
    secretFiles: fileFlags.files,
    nodeBin: args.node ?? null,
  };
  // `status --watch | head` closing the pipe is the reader's choice, not a failure.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  const io: Io = {
    out: (l) => process.stdout.write(l + '\n'),
    err: (l) => process.stderr.write(l + '\n'),
    color: args.color ?? (!!process.stdout.isTTY && !process.env.NO_COLOR),
  };
  const ids = ((args.ids as (string | number)[] | undefined) ?? []).map(String);
  const probeMs = positive(args['probe-timeout'], '--probe-timeout');
  const ok = await run(command, cluster, io, {
    ids,
    id: args.id === undefined ? null : String(args.id),
    timeoutMs: positive(args.timeout, '--timeout'),
    graceMs: positive(args.grace, '--grace'),
    probeMs,
    json: args.json,
    watchMs: args.watch === undefined ? null : watchMs(args.watch),
    out: args.out ?? null,
    intervalMs: positive(args.interval, '--interval'),
    catchUpEntries: nonNegative(args['catch-up-entries'], '--catch-up-entries'),
    add: command === 'add' ? { host: String(args.host), peerPort: port(args['peer-port'], 'peer-port'), clientPort: port(args['client-port'], 'client-port'), learner: args.learner } : null,
  });
  if (!ok) process.exitCode = 1;
}

interface RunOptions {
  ids: string[];
  id: string | null;
  timeoutMs: number;
  graceMs: number;
  probeMs: number;
  json: boolean;
  watchMs: number | null;
  out: string | null;
  intervalMs: number;
  catchUpEntries: number;
  add: { host: string; peerPort: number; clientPort: number; learner: boolean } | null;
}

async function run(command: Command, c: ClusterConfig, io: Io, o: RunOptions): Promise<boolean> {
  switch (command) {
    case 'up':
      return up(c, io, o, targetsFor(c, o.ids), false);
    // Members added since hosts.txt was written (raft-cluster add) are stopped, restarted and signalled like the others.
    case 'down': {
      const all = await withMembers(c, o);
      return report(io, await stopAll(targetsFor(all, o.ids), o.graceMs, o.probeMs));
    }
    case 'restart': {
      const all = await withMembers(c, o);
      const targets = targetsFor(all, o.ids);
      if (!report(io, await stopAll(targets, o.graceMs, o.probeMs))) return false;
      return up(all, io, o, targets, true);
    }
    case 'kill':
      return signal(await withMembers(c, o), io, o.id!, 'KILL');
    case 'pause':
      return signal(await withMembers(c, o), io, o.id!, 'STOP');
    case 'resume':
      return signal(await withMembers(c, o), io, o.id!, 'CONT');
    case 'status':
      // Members added since hosts.txt was written get rows too.
      return status({ ...c, hosts: await hostsWithMembers(c, o.probeMs) }, io, o);
    case 'metrics': {
      const table = await clusterMetrics(c.hosts, o.intervalMs, o.probeMs);
      io.out(o.json ? JSON.stringify(table, null, 2) : renderMetrics(table));
      return table.nodes.some((n) => n.error === null);
    }
    case 'logs': {
      if (!o.out) throw new OpsError('OPS_CONFIG', 'logs needs --out DIR');
      const outDir = path.resolve(o.out);
      const results = await Promise.all(targetsFor(await withMembers(c, o)).map((t) => fetchLogs(t, outDir)));
      for (const r of results) (r.ok ? io.out : io.err)(`${r.id}: ${r.message}`);
      return results.every((r) => r.ok);
    }
    case 'members':
      return members(c, io, o);
    case 'add': {
      const a = o.add!;
      const entry = { id: o.id!, host: a.host, peerPort: a.peerPort, clientPort: a.clientPort, metricsPort: null };
      return addMember(c, io, { timeoutMs: o.timeoutMs, graceMs: o.graceMs, probeMs: o.probeMs }, entry, a.learner);
    }
    case 'remove':
      return removeMember(c, io, { timeoutMs: o.timeoutMs, graceMs: o.graceMs, probeMs: o.probeMs }, o.id!);
    case 'transfer':
      return transfer(c, io, o);
    case 'rolling-restart': {
      // Nodes added since hosts.txt was written are restarted too.
      // Nodes added since hosts.txt was written are restarted too; lines of removed nodes are not.
      const all = { ...c, hosts: await hostsWithMembers(c, o.probeMs) };
      const memberIds = (await clusterMembers(all.hosts, o.probeMs).catch(() => [])).map((m) => m.id);
      const ids = o.ids.length > 0 ? o.ids : memberIds;
      return rollingRestart(all, io, { timeoutMs: o.timeoutMs, graceMs: o.graceMs, probeMs: o.probeMs, catchUpEntries: o.catchUpEntries }, targetsFor(all, ids));
    }
    default: {
      const never: never = command;
      throw new OpsError('OPS_CONFIG', `unknown command ${String(never)}`);
    }
  }
}

/** hosts.txt and the members it does not list, when the cluster answers (else hosts.txt alone). */
async function withMembers(c: ClusterConfig, o: RunOptions): Promise<ClusterConfig> {
  return { ...c, hosts: await hostsWithMembers(c, o.probeMs) };
}

async function signal(c: ClusterConfig, io: Io, id: string, sig: Signal): Promise<boolean> {
  const [t] = targetsFor(c, [id]);
  return report(io, [await signalNode(t!, sig)]);
}

async function status(c: ClusterConfig, io: Io, o: RunOptions): Promise<boolean> {
  const show = (s: ClusterStatus) => (o.json ? statusJson(s) : renderStatus(s, { color: io.color }));
  const everyMs = o.watchMs;
  if (everyMs === null) {
    io.out(show(await probeCluster(c.hosts, o.probeMs)));
    return true;
  }
  let stop = false;
  const onInt = () => {
    stop = true;
  };
  process.once('SIGINT', onInt);
  try {
    while (!stop) {
      const s = await probeCluster(c.hosts, o.probeMs);
      if (stop) break;
      const time = new Date().toISOString();
      // JSON: one object a line, for `| jq` or a log; text: the table redrawn in place on a terminal.
      if (o.json) io.out(JSON.stringify({ time, ...s }));
      else io.out(`${process.stdout.isTTY ? '\x1b[H\x1b[2J' : ''}${time}\n${show(s)}`);
      const deadline = Date.now() + everyMs;
      while (!stop && Date.now() < deadline) await new Promise((r) => setTimeout(r, Math.min(50, everyMs)));
    }
  } finally {
    process.removeListener('SIGINT', onInt);
  }
  return true;
}

async function members(c: ClusterConfig, io: Io, o: RunOptions): Promise<boolean> {
  const r = await adminCommand(c.hosts, ['CLUSTER', 'MEMBERS'], o.probeMs);
  if (!Array.isArray(r.reply)) {
    for (const l of renderReply(r.reply)) io.err(`${r.via}: ${l}`);
    return false;
  }
  const s = (v: unknown) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v));
  const rows = r.reply.map((row) => (row as unknown[]).map(s));
  if (o.json) {
    io.out(JSON.stringify({ via: r.via, members: rows.map((x) => ({ id: x[0], host: x[1], peerPort: Number(x[2]), clientPort: Number(x[3]), voter: x[4] === 'voter', match: Number(x[5]), leader: x[6] === '1' })) }, null, 2));
    return true;
  }
  const table = [['ID', 'HOST', 'PEER', 'CLIENT', 'ROLE', 'MATCH', 'LEADER'], ...rows.map((x) => [x[0]!, x[1]!, x[2]!, x[3]!, x[4]!, x[5]!, x[6] === '1' ? 'yes' : ''])];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  for (const row of table) io.out(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd());
  io.out(`(as ${r.via} sees it; match indexes are known on the leader)`);
  return true;
}

async function transfer(c: ClusterConfig, io: Io, o: RunOptions): Promise<boolean> {
  const target = o.id;
  const before = await probeCluster(c.hosts, o.probeMs);
  if (before.leader === null) {
    io.err('no leader to transfer from');
    return false;
  }
  const r = await adminCommand(c.hosts, ['CLUSTER', 'TRANSFER', ...(target ? [target] : [])], o.probeMs, before);
  if (r.reply instanceof RespError) {
    io.err(`${r.via}: ${r.reply.reply}`);
    return false;
  }
  const w = await waitForStatus(c.hosts, (s) => hasStableLeader(s) && s.leader !== before.leader && (target === null || s.leader === target), o.timeoutMs, o.probeMs);
  if (!w.ok) {
    io.err(`leadership did not move from ${before.leader} within ${o.timeoutMs} ms`);
    return false;
  }
  io.out(`leadership moved from ${before.leader} to ${w.status.leader} (term ${w.status.term})`);
  return true;
}

function positive(v: number, flag: string): number {
  if (!Number.isFinite(v) || v <= 0) throw new OpsError('OPS_CONFIG', `${flag} must be a positive number of ms`);
  return v;
}

function port(v: unknown, what: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new OpsError('OPS_CONFIG', `${what} must be a port in 1..65535, got "${String(v)}"`);
  return n;
}

function nonNegative(v: number, flag: string): number {
  if (!Number.isInteger(v) || v < 0) throw new OpsError('OPS_CONFIG', `${flag} must be an integer >= 0`);
  return v;
}

function watchMs(v: string): number {
  if (v === '') return WATCH_DEFAULT_MS;
  const n = Number(v);
  if (!Number.isFinite(n) || n < WATCH_MIN_MS) throw new OpsError('OPS_CONFIG', `--watch takes a refresh interval of at least ${WATCH_MIN_MS} ms`);
  return n;
}

/** A flag given twice (a script's default, then the caller's) means the last one. */
function lastString(v: string | string[]): string {
  return Array.isArray(v) ? v[v.length - 1]! : v;
}

function lastNumber(v: number | number[]): number {
  return Array.isArray(v) ? v[v.length - 1]! : v;
}

/** Splits --raftd-args on whitespace (flags and their values never contain spaces). */
function splitWords(s: string): string[] {
  return s.split(/\s+/).filter((w) => w !== '');
}
