// `node bin/raftd.js`: with --id, run one node; without, launch every local node of
// hosts.txt as its own process; with --dump-log, print a node's log from disk.
// Each path imports what it needs when it runs: a node's log writer starts before the
// node's modules load (runNode), so this module's own imports stay few.
import * as fs from 'node:fs';
import * as path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { readHosts, type HostEntry } from '../config/hosts.js';
import { checkOptions, defaultClusterId, DEFAULTS, type NodeOptions } from '../config/options.js';
import { SECURITY_FLAGS, securityOptions } from '../config/security-options.js';
import type { LogLevel } from '../log/logger.js';
import type { RaftNode } from '../node/raft-node.js';
import { startLogWriter } from '../node/log-writer-start.js';
import { accessFromArgs } from '../client/access.js';
import { readClusterId, settleClusterId, writeClusterId } from '../node/cluster-id.js';
import type { Joiner } from '../node/join.js';
import { hostEntryOf, readJoined, writeJoined, type JoinedState } from '../node/joined-state.js';
import { RaftdError } from '../util/errors.js';
import { launchLocalCluster } from './launcher.js';

/** Exit code of a node that could not join (--join): nobody answered, or the cluster refused it. */
export const JOIN_FAILED_EXIT = 2;

/** Messages a node started by the launcher sends it over the IPC channel. */
export type LaunchReport =
  | { type: 'listening'; id: string; host: string; peerPort: number; clientPort: number }
  | { type: 'role'; id: string; role: string; term: number; leader: string | null };

export async function main(argv: string[]): Promise<void> {
  const args = await yargs(hideBin(argv))
    .scriptName('raftd')
    .usage('$0 [--id ID] [options]\n\nWithout --id, starts every node of the hosts file that lives on this machine, each as its own process.')
    .option('id', { type: 'string', describe: 'run this node of the hosts file' })
    .option('hosts', { type: 'string', default: 'hosts.txt', describe: 'cluster file: `id host peer-port client-port` a line' })
    .option('data', { type: 'string', describe: 'data directory (default data/<id>)' })
    .option('join', { type: 'string', describe: 'join a running cluster through this member\'s client address host:port (an empty data directory only; a restart rejoins from its disk)' })
    .option('host', { type: 'string', describe: 'with --join: this node\'s address, when the hosts file has no line for it' })
    .option('peer-port', { type: 'number', describe: 'with --join: this node\'s peer port' })
    .option('client-port', { type: 'number', describe: 'with --join: this node\'s client port' })
    .option('learner', { type: 'boolean', default: false, describe: 'with --join: stay a non-voting learner (default: promoted to voter once caught up)' })
    .option('join-timeout-ms', { type: 'number', default: 30_000, describe: 'with --join: how long to keep asking the cluster' })
    .option('cluster-id', { type: 'string', describe: 'cluster id checked in the peer handshake (default: derived from the hosts file)' })
    .option('dump-log', { type: 'boolean', default: false, describe: "print the node's log (index, term, kind, tid, data) from its data directory and exit; works while the node is stopped" })
    .option('log-level', { choices: ['debug', 'info', 'warn', 'error'] as const, default: DEFAULTS.logLevel, describe: 'per-actor log level (logs/<actor>.log)' })
    .option('log-file-bytes-max', { type: 'number', default: DEFAULTS.logFileBytesMax, describe: 'rotate an actor log past this size' })
    .option('tick-ms', { type: 'number', default: DEFAULTS.tickMs, describe: 'logical tick of the Raft core: its timeouts count these' })
    .option('election-timeout-ms', { type: 'number', default: DEFAULTS.electionTimeoutMs, describe: 'base election timeout (randomized up to twice this)' })
    .option('heartbeat-ms', { type: 'number', default: DEFAULTS.heartbeatMs, describe: 'leader heartbeat interval' })
    .option('pre-vote', { type: 'boolean', default: DEFAULTS.preVote, describe: 'PreVote: a partitioned node does not inflate terms' })
    .option('check-quorum', { type: 'boolean', default: DEFAULTS.checkQuorum, describe: 'a leader that lost its majority steps down' })
    .option('frame-bytes-max', { type: 'number', default: DEFAULTS.frameBytesMax, describe: 'largest peer frame' })
    .option('append-bytes-max', { type: 'number', default: DEFAULTS.appendBytesMax, describe: 'largest batch of entries in one AppendEntries' })
    .option('inflight-max', { type: 'number', default: DEFAULTS.inflightMax, describe: 'AppendEntries in flight per peer' })
    .option('inflight-bytes-max', { type: 'number', default: DEFAULTS.inflightBytesMax, describe: 'bytes of entries in flight per peer (0: no byte bound)' })
    .option('segment-bytes-max', { type: 'number', default: DEFAULTS.segmentBytesMax, describe: 'log segment file size' })
    .option('metrics-addr', { type: 'string', describe: 'serve GET /metrics, /health, /ready on host:port (default: the node\'s host and the hosts file\'s 5th column, if any; "off" disables)' })
    .option('request-timeout-ms', { type: 'number', default: DEFAULTS.requestTimeoutMs, describe: 'client request deadline' })
    .option('clock-offset-ms', { type: 'number', default: DEFAULTS.clockOffsetMs, describe: "added to this node's clock (for testing expiry under clock skew)" })
    .option('snapshot-entries', { type: 'number', default: DEFAULTS.snapshotEntries, describe: 'take a snapshot once the log holds this many entries past the last one' })
    .option('snapshot-log-bytes', { type: 'number', default: DEFAULTS.snapshotLogBytes, describe: 'or once the entries applied since the last snapshot hold this many bytes' })
    .option('elements-max', { type: 'number', default: DEFAULTS.elementsMax, describe: 'elements one hash, list, set or sorted set may hold (the same on every node)' })
    .option('value-bytes-max', { type: 'number', default: DEFAULTS.valueBytesMax, describe: 'bytes one key may hold (the same on every node)' })
    .option('reply-bytes-max', { type: 'number', default: DEFAULTS.replyBytesMax, describe: 'a larger reply is replaced by an error' })
    .option('snapshot-retain-entries', { type: 'number', default: DEFAULTS.snapshotRetainEntries, describe: 'entries kept behind a snapshot so a briefly lagging follower catches up from the log' })
    .option('snapshot-retain-bytes', { type: 'number', default: DEFAULTS.snapshotRetainBytes, describe: 'but no more of them than hold this many bytes (the log is held in memory)' })
    // Security (lib/config/security-options.ts), and the client request bounds.
    .options(SECURITY_FLAGS)
    .option('request-bytes-max', { type: 'number', default: DEFAULTS.requestBytesMax, describe: "largest client bulk string or inline command (Redis' proto-max-bulk-len)" })
    .option('pending-per-conn-max', { type: 'number', default: DEFAULTS.pendingPerConnMax, describe: 'commands one client connection may have waiting (more get BUSY)' })
    .strict()
    .help()
    .parse();

  if (args['dump-log']) {
    if (!args.id && !args.data) throw new RaftdError('RAFTD_CONFIG', '--dump-log needs --id or --data');
    const dataDir = path.resolve(args.data ?? path.join('data', args.id!));
    const { dumpLog } = await import('./dump-log.js');
    dumpLog(dataDir, (line: string) => process.stdout.write(line + '\n'));
    return;
  }

  const hostsFile = path.resolve(args.hosts);
  // A node that joins needs no hosts file: its own addresses come from flags, the rest from the cluster.
  const hosts = args.id && !fs.existsSync(hostsFile) && (args.join !== undefined || args.host !== undefined) ? [] : readHosts(hostsFile);

  if (!args.id) {
    // One address cannot serve every node: the launcher's nodes take the hosts file's metrics ports.
    if (args['metrics-addr'] !== undefined && args['metrics-addr'] !== 'off') throw new RaftdError('RAFTD_CONFIG', '--metrics-addr needs --id; without it each node serves on the metrics port of its hosts-file line');
    const passthrough = withoutFlags(hideBin(argv), ['--hosts', '--data']);
    const dataRoot = path.resolve(args.data ?? 'data');
    await launchLocalCluster({ hostsFile, hosts, argv: passthrough, script: argv[1]!, dataRoot });
    return;
  }

  const dataDir = path.resolve(args.data ?? path.join('data', args.id));
  const joined = readJoined(dataDir);
  const self = selfEntry(args.id, hosts, joined, { host: args.host, peerPort: args['peer-port'], clientPort: args['client-port'] });
  const opts: NodeOptions = {
    ...DEFAULTS,
    id: args.id,
    hosts,
    dataDir,
    clusterId: args['cluster-id'] ?? defaultClusterId(hosts),
    logLevel: args['log-level'] as LogLevel,
    logFileBytesMax: args['log-file-bytes-max'],
    tickMs: args['tick-ms'],
    electionTimeoutMs: args['election-timeout-ms'],
    heartbeatMs: args['heartbeat-ms'],
    preVote: args['pre-vote'],
    checkQuorum: args['check-quorum'],
    frameBytesMax: args['frame-bytes-max'],
    appendBytesMax: args['append-bytes-max'],
    inflightMax: args['inflight-max'],
    inflightBytesMax: args['inflight-bytes-max'],
    segmentBytesMax: args['segment-bytes-max'],
    requestTimeoutMs: args['request-timeout-ms'],
    metricsAddr: metricsAddrOf(args['metrics-addr'], hosts.find((h) => h.id === args.id)),
    ...(self !== undefined ? { self } : {}),
    ...(joined !== null && joined.caughtUp !== true ? { join: { members: joined.members } } : {}),
    clockOffsetMs: args['clock-offset-ms'],
    snapshotEntries: args['snapshot-entries'],
    snapshotRetainEntries: args['snapshot-retain-entries'],
    snapshotRetainBytes: args['snapshot-retain-bytes'],
    snapshotLogBytes: args['snapshot-log-bytes'],
    elementsMax: args['elements-max'],
    valueBytesMax: args['value-bytes-max'],
    replyBytesMax: args['reply-bytes-max'],
    requestBytesMax: args['request-bytes-max'],
    pendingPerConnMax: args['pending-per-conn-max'],
    ...securityOptions(args),
  };
  checkOptions(opts);
  const initialized = readClusterId(dataDir) !== null;
  if (args.join === undefined && !initialized && joined === null && !hosts.some((h) => h.id === opts.id)) {
    throw new RaftdError('RAFTD_CONFIG', `node ${opts.id} is not in ${hostsFile} and has no data in ${dataDir}: a new node joins a running cluster with --join host:port`);
  }
  if (args.join !== undefined && initialized) {
    process.stderr.write(`raftd ${opts.id}: ${dataDir} already belongs to a cluster; --join ignored, the node rejoins from its disk\n`);
  }
  if (args.join !== undefined && !initialized) {
    // A fresh node joining: the cluster id comes from the cluster, and is kept once the add committed.
    const { alreadyMember, askToJoin, discover, parseSeed } = await import('../node/join.js');
    const seed = parseSeed(args.join);
    // The members share the client port's TLS and password: the joiner talks to the seed with its own.
    const cs = opts.clientSecurity;
    const access = accessFromArgs({
      tls: cs.tls !== null,
      ...(cs.tls !== null ? { cert: cs.tls.certFile, key: cs.tls.keyFile, ...(cs.tls.caFile !== null ? { cacert: cs.tls.caFile } : {}) } : {}),
      ...(cs.requirepassFile !== null ? { 'password-file': cs.requirepassFile } : {}),
    });
    const view = await discover(seed, Date.now() + args['join-timeout-ms'], access);
    const entry = opts.self ?? opts.hosts.find((h) => h.id === opts.id)!;
    const me: Joiner = { id: opts.id, host: entry.host, peerPort: entry.peerPort, clientPort: entry.clientPort, learner: args.learner };
    alreadyMember(view.members, me); // an id the cluster has elsewhere: refused before anything starts
    if (args['cluster-id'] !== undefined && args['cluster-id'] !== view.clusterId) throw new RaftdError('RAFTD_CONFIG', `--cluster-id ${args['cluster-id']} is not the cluster's (${view.clusterId})`);
    opts.clusterId = view.clusterId;
    opts.join = { members: view.members };
    await runNode(opts, async (node) => {
      node.logJoin('joining', { via: args.join, clusterId: view.clusterId, members: view.members.map((m) => m.id), learner: me.learner });
      await askToJoin(seed, me, Date.now() + args['join-timeout-ms'], access);
      writeClusterId(dataDir, view.clusterId);
      writeJoined(dataDir, { self: { id: me.id, host: me.host, peerPort: me.peerPort, clientPort: me.clientPort }, via: args.join!, members: view.members, caughtUp: node.caughtUp });
      node.logJoin('joined', { via: args.join, clusterId: view.clusterId });
    });
    return;
  }
  // Fixed at bootstrap and kept in the data directory: hosts.txt may change later, the cluster's id does not.
  opts.clusterId = settleClusterId(dataDir, opts.clusterId, args['cluster-id'] !== undefined).id;
  await runNode(opts);
}

/** --metrics-addr host:port, else the node's host and its hosts-file metrics port, else off. */
function metricsAddrOf(flag: string | undefined, self: HostEntry | undefined): NodeOptions['metricsAddr'] {
  if (flag === 'off') return null;
  if (flag === undefined) return self?.metricsPort != null ? { host: self.host, port: self.metricsPort } : null;
  const m = /^(.*):(\d{1,5})$/.exec(flag);
  const port = m ? Number(m[2]) : NaN;
  if (!m || m[1] === '' || port > 65535) throw new RaftdError('RAFTD_CONFIG', `--metrics-addr must be host:port or off, got "${flag}"`);
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

/** Drops `--flag value` and `--flag=value` pairs; the launcher sets those per node. */
function withoutFlags(argv: string[], flags: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (flags.includes(a)) {
      i++;
      continue;
    }
    if (flags.some((f) => a.startsWith(f + '='))) continue;
    out.push(a);
  }
  return out;
}

/**
 * This node's addresses: --host/--peer-port/--client-port (all three), else its hosts-file
 * line, else what it kept when it joined. Undefined: its hosts-file line (checkOptions
 * says so when there is none).
 */
function selfEntry(id: string, hosts: HostEntry[], joined: JoinedState | null, flags: { host: string | undefined; peerPort: number | undefined; clientPort: number | undefined }): HostEntry | undefined {
  const given = [flags.host, flags.peerPort, flags.clientPort].filter((x) => x !== undefined).length;
  const line = hosts.find((h) => h.id === id);
  if (given > 0) {
    if (given < 3) throw new RaftdError('RAFTD_CONFIG', '--host, --peer-port and --client-port go together');
    const e: HostEntry = { id, host: flags.host!, peerPort: flags.peerPort!, clientPort: flags.clientPort!, metricsPort: line?.metricsPort ?? null };
    if (!(e.peerPort >= 1 && e.peerPort <= 65535 && e.clientPort >= 1 && e.clientPort <= 65535 && Number.isInteger(e.peerPort) && Number.isInteger(e.clientPort)) || e.peerPort === e.clientPort) {
      throw new RaftdError('RAFTD_CONFIG', '--peer-port and --client-port must be two different ports in 1..65535');
    }
    if (line && (line.host !== e.host || line.peerPort !== e.peerPort || line.clientPort !== e.clientPort)) throw new RaftdError('RAFTD_CONFIG', `--host/--peer-port/--client-port differ from ${id}'s line in the hosts file`);
    return e;
  }
  if (line) return undefined;
  return joined !== null && joined.self.id === id ? hostEntryOf(joined.self) : undefined;
}

async function runNode(opts: NodeOptions, afterStart?: (node: RaftNode) => Promise<void>): Promise<void> {
  // The log writer boots and reads the disk while the node's modules load (a restart
  // serves sooner: lib/node/log-writer-start.ts).
  const logWriter = startLogWriter(opts);
  const { RaftNode } = await import('../node/raft-node.js');
  const node = new RaftNode(opts, logWriter);
  const report = (r: LaunchReport) => process.send?.(r);
  node.events.on('fatal', (err) => {
    process.stderr.write(`raftd ${opts.id}: fatal ${err.code}: ${err.message}\n`);
    process.exit(1);
  });
  node.events.on('role', (s) => {
    report({ type: 'role', id: s.id, role: s.role, term: s.term, leader: s.leader });
    if (!process.send) process.stdout.write(`${new Date().toISOString()} ${s.id} ${s.role} term ${s.term}${s.leader ? ` leader ${s.leader}` : ''}\n`);
  });
  let stopping = false;
  const shutdown = (sig: string) => {
    if (stopping) return;
    stopping = true;
    void node.stop().then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`raftd ${opts.id}: error while stopping on ${sig}: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  // The launcher going away takes its nodes with it.
  process.on('disconnect', () => shutdown('disconnect'));
  await node.start();
  if (afterStart) {
    try {
      await afterStart(node);
    } catch (err) {
      const e = err as RaftdError;
      process.stderr.write(`raftd ${opts.id}: ${e.code ? `${e.code}: ` : ''}${e.message}\n`);
      stopping = true;
      await node.stop().catch(() => undefined);
      process.exit(JOIN_FAILED_EXIT);
    }
  }
  const self = node.self;
  if (opts.peerSecurity.clusterSecretFile === null) {
    process.stderr.write(`raftd ${self.id}: warning: no --cluster-secret-file: anything that reaches ${self.host}:${self.peerPort} can act as a cluster member\n`);
  }
  report({ type: 'listening', id: self.id, host: self.host, peerPort: self.peerPort, clientPort: self.clientPort });
  if (!process.send) process.stdout.write(`raftd ${self.id}: peers on ${self.host}:${self.peerPort}, clients on ${self.host}:${self.clientPort}, data in ${opts.dataDir}\n`);
}
