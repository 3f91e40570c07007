// How much work a request costs the write path, counted rather than timed: peer
// messages (INFO peer_msgs_sent, all members) and log fdatasyncs (the log writers'
// debug 'batch' lines) per acknowledged request. On a shared 2-core machine ops/s and
// CPU per op move with everyone else's load; these counts barely do, so they compare
// builds (run each build's copy alternately). Members run at --log-level debug for the
// sync count, which slows them: read ops/s here as a sanity check only.
//
//   npm run bench:rounds -- --clients 16 --requests 3000 --workload write
import * as fs from 'node:fs';
import * as path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { RespClient } from '../../lib/client/resp-client.js';
import { TestCluster } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';
import { ProcWatch } from './proc-stats.js';

const VALUE_BYTES = 100;

const argv = yargs(hideBin(process.argv))
  .option('clients', { type: 'number', default: 16 })
  .option('requests', { type: 'number', default: 3000 })
  .option('workload', { choices: ['write', 'read'] as const, default: 'write' as const })
  .option('nodes', { type: 'number', default: 3 })
  .option('keys', { type: 'number', default: 1000, describe: 'keys written (and first preloaded for reads)' })
  .strict()
  .parseSync();

function syncsOf(c: TestCluster): number {
  let n = 0;
  for (const node of c.nodes) {
    const text = fs.readFileSync(path.join(node.dataDir, 'logs', 'log-writer.log'), 'utf8');
    // A group of empty writes (messages held behind a write already synced) calls no fsync.
    for (const line of text.split('\n')) if (line.includes('"event":"batch"') && !line.includes('"fsyncCalls":0')) n++;
  }
  return n;
}

async function sentOf(c: TestCluster): Promise<number> {
  const infos = await Promise.all(c.nodes.map((n) => c.info(n.id)));
  return infos.reduce((a, i) => a + Number(i.peer_msgs_sent ?? 0), 0);
}

/**
 * Waits until every member holds and has committed the same log and the fsyncs logged
 * stop changing: a follower still syncing the preload's tail when the count starts would
 * put a write's sync on the reads (CI: 1 in 200 reads).
 */
async function settle(c: TestCluster): Promise<void> {
  let last = -1;
  await waitFor(
    'every member to hold, commit and sync the same log',
    async () => {
      const infos = await Promise.all(c.nodes.map((n) => c.info(n.id)));
      const same = infos.every((i) => i.last_log_index === infos[0]!.last_log_index && i.commit_index === infos[0]!.last_log_index);
      const syncs = syncsOf(c);
      const stable = syncs === last;
      last = syncs;
      return same && stable;
    },
    30_000,
    250,
  );
}

async function main(): Promise<void> {
  const cluster = await TestCluster.create({ size: argv.nodes, extraArgs: ['--log-level', 'debug'] });
  // Ctrl-C (or a smoke test's bound) takes the members down too.
  process.once('SIGINT', () => void cluster.stop().finally(() => process.exit(130)));
  const conns: RespClient[] = [];
  try {
    cluster.startAll();
    const { id } = await cluster.waitForLeader(60_000);
    const leader = cluster.nodes.find((n) => n.id === id)!;
    for (let i = 0; i < argv.clients; i++) conns.push(await RespClient.connect(leader.host, leader.clientPort, { connectTimeoutMs: 5000 }));
    const value = Buffer.alloc(VALUE_BYTES, 0x61);
    if (argv.workload === 'read') {
      // Every connection preloads (one left idle for long is closed by the gateway's idle bound).
      let k = 0;
      await Promise.all(
        conns.map(async (c) => {
          while (k < argv.keys) await c.command('SET', `key:${k++}`, value);
        }),
      );
    }
    await settle(cluster);
    const sent0 = await sentOf(cluster);
    const syncs0 = syncsOf(cluster);
    const watch = new ProcWatch(cluster.nodes.map((n) => n.proc!.pid!));
    const started = performance.now();
    let next = 0;
    let errors = 0;
    await Promise.all(
      conns.map(async (c) => {
        while (next < argv.requests) {
          const k = next++ % argv.keys;
          const r = argv.workload === 'read' ? await c.command('GET', `key:${k}`) : await c.command('SET', `key:${k}`, value);
          if (r instanceof Error) errors++;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const cpuSec = watch.stop().cpuSec.reduce((a, b) => a + b, 0);
    // Let the last round's acknowledgements and syncs land in the counters.
    await new Promise((res) => setTimeout(res, 300));
    const n = argv.requests;
    const row = {
      workload: argv.workload,
      clients: argv.clients,
      requests: n,
      errors,
      opsPerSec: Math.round(n / seconds),
      peerMsgsPerOp: ((await sentOf(cluster)) - sent0) / n,
      fsyncsPerOp: (syncsOf(cluster) - syncs0) / n,
      cpuMsPerOp: (cpuSec * 1000) / n,
    };
    process.stdout.write(`${JSON.stringify(row)}\n`);
  } finally {
    for (const c of conns) await c.close().catch(() => undefined);
    await cluster.stop();
  }
}

await main();
