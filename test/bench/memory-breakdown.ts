// node build/test/bench/memory-breakdown.js: what a loaded node's resident memory is made
// of. A 3-node cluster takes --writes SETs of 100 B over --live-keys keys (redis-benchmark,
// through the leader), waits --settle-ms, then prints per node its RSS split by mapping
// (smaps.ts), per thread what V8 reports (heap in use, heap resident, memory held outside
// the heap) from the node's /metrics, and the CPU the writes cost. Not a pass/fail bench:
// the tool for issue 9's memory account (README, "Memory: what a node is made of").
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { TestCluster } from '../helpers/cluster.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';
import { cpuSeconds } from './proc-stats.js';
import { smapsSummary } from './smaps.js';

const argv = yargs(hideBin(process.argv))
  .option('writes', { type: 'number', default: 300_000, describe: 'SETs of 100 B' })
  .option('live-keys', { type: 'number', default: 100_000, describe: 'keys they go over' })
  .option('settle-ms', { type: 'number', default: 5_000, describe: 'idle time before the reading' })
  .option('node-flag', { type: 'string', array: true, default: [] as string[], describe: 'a Node.js flag for every node (repeat)' })
  .option('heap-snapshot', { type: 'string', describe: 'after the reading, write the leader main thread\'s heap snapshot into this folder' })
  .option('arg', { type: 'string', array: true, default: [] as string[], describe: 'a raftd flag for every node (repeat; --arg=--x --arg=1)' })
  .strict()
  .parseSync();

function log(line: string): void {
  process.stderr.write(`[memory-breakdown] ${line}\n`);
}

const mb = (b: number): number => Math.round((b / 1e6) * 10) / 10;

const nodeFlags = [...argv['node-flag'], ...(argv['heap-snapshot'] !== undefined ? ['--heapsnapshot-signal=SIGUSR2'] : [])];
const c = await TestCluster.create({ size: 3, extraArgs: argv.arg, nodeFlags: () => nodeFlags });
const metricsPorts = new Map<string, number>();
for (const n of c.nodes) metricsPorts.set(n.id, await freePort(n.host));
fs.writeFileSync(c.hostsFile, c.nodes.map((n) => `${n.id} ${n.host} ${n.peerPort} ${n.clientPort} ${metricsPorts.get(n.id)}`).join('\n') + '\n');
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void c.stop().finally(() => process.exit(130)));

/** Per thread, the raftd_thread_* gauges of one node's /metrics page. */
async function threadGauges(id: string): Promise<Record<string, Record<string, number>>> {
  const n = c.node(id);
  // A busy node may drop the connection: asked again a few times.
  const text = await waitFor(`${id}'s metrics`, async () => (await fetch(`http://${n.host}:${metricsPorts.get(id)}/metrics`)).text(), 30_000, 500);
  const out: Record<string, Record<string, number>> = {};
  for (const line of text.split('\n')) {
    const m = /^raftd_thread_(heap_used|heap_resident|external)_bytes\{[^}]*thread="([^"]+)"[^}]*\} (\S+)/.exec(line);
    if (m) (out[m[2]!] ??= {})[m[1]!] = mb(Number(m[3]));
  }
  return out;
}

async function report(label: string): Promise<void> {
  for (const n of c.nodes) {
    const s = smapsSummary(n.proc!.pid!);
    if (s === null) continue;
    const anon = Object.entries(s.anonBySize).map(([k, v]) => `${k}: ${v.mappings} maps ${mb(v.rssBytes)}`).join(', ');
    log(`${label} ${n.id}: rss ${mb(s.rssBytes)} MB = file ${mb(s.fileBytes)} + [heap] ${mb(s.brkHeapBytes)} + anon ${mb(s.anonBytes)} (${anon})`);
    const g = await threadGauges(n.id);
    let phys = 0;
    for (const [th, v] of Object.entries(g)) {
      phys += v['heap_resident'] ?? 0;
      log(`  ${th}: ${JSON.stringify(v)}`);
    }
    log(`  V8 heaps resident, all threads: ${Math.round(phys * 10) / 10} MB`);
  }
}

try {
  c.startAll();
  let leader = (await c.waitForLeader(60_000)).id;
  await report('idle');
  let done = 0;
  const t0 = performance.now();
  const cpu0 = c.nodes.map((n) => cpuSeconds(n.proc!.pid!) ?? 0);
  while (done < argv.writes) {
    const run = Math.min(20_000, argv.writes - done);
    const n = c.node(leader);
    const r = spawnSync('redis-benchmark', ['-h', n.host, '-p', String(n.clientPort), '-t', 'set', '-n', String(run), '-r', String(argv['live-keys']), '-d', '100', '-c', '32', '-P', '16', '-q'], { encoding: 'utf8', timeout: 600_000 });
    if (r.status !== 0) {
      log(`a load run stopped: ${(r.stderr || r.stdout).trim().split('\n').pop()}`);
      leader = (await c.waitForLeader(60_000)).id;
    }
    done += run;
  }
  log(`${done} writes in ${Math.round((performance.now() - t0) / 1000)} s; leader ${leader}`);
  const cpu = c.nodes.map((n, i) => (cpuSeconds(n.proc!.pid!) ?? 0) - cpu0[i]!);
  log(`CPU s per 1,000 writes: ${c.nodes.map((n, i) => `${n.id} ${((cpu[i]! / done) * 1000).toFixed(3)}`).join(', ')}; all ${((cpu.reduce((a, b) => a + b, 0) / done) * 1000).toFixed(3)}`);
  await report('loaded');
  await new Promise((r) => setTimeout(r, argv['settle-ms']));
  await report('settled');
  if (argv['heap-snapshot'] !== undefined) {
    const before = new Set(fs.readdirSync(c.dir));
    process.kill(c.node(leader).proc!.pid!, 'SIGUSR2');
    const file = await waitFor('the heap snapshot', () => {
      const f = fs.readdirSync(c.dir).find((x) => !before.has(x) && x.endsWith('.heapsnapshot'));
      // Written when the node's size stops changing for a moment.
      return f !== undefined ? { f } : undefined;
    }, 120_000, 200);
    let size = -1;
    await waitFor('the heap snapshot to be whole', () => {
      const s = fs.statSync(path.join(c.dir, file.f)).size;
      const whole = s === size && s > 0;
      size = s;
      return whole ? true : undefined;
    }, 300_000, 2_000);
    fs.mkdirSync(argv['heap-snapshot'], { recursive: true });
    fs.copyFileSync(path.join(c.dir, file.f), path.join(argv['heap-snapshot'], `${leader}-main.heapsnapshot`));
    log(`heap snapshot: ${path.join(argv['heap-snapshot'], `${leader}-main.heapsnapshot`)}`);
    // Writing it ran full collections on the leader's main thread: what they gave back.
    await report('after the heap snapshot');
  }
} finally {
  await c.stop();
}
