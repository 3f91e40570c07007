// `npm run bench`: raftd beside etcd on this machine. Every cluster is started here
// and stopped here (also on failure and on Ctrl-C, iptables rules included); the
// results go to <out>/<name>.json, .md and .svg.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { etcdVersion } from './etcd-system.js';
import { activePartitioner, runFailover } from './failover.js';
import { runIdle } from './idle.js';
import { runLargeValues } from './large-values.js';
import { launch, setRaftdOptions, shutdown, shutdownAll } from './launch.js';
import { parseOptions, type BenchOptions } from './options.js';
import { Progress } from './progress.js';
import { renderMarkdown } from './report-md.js';
import { renderSvg } from './report-svg.js';
import { machine, type BenchResults } from './results.js';
import { runThroughput } from './throughput.js';
import type { SystemName } from './system.js';
import { iptablesAvailable } from '../helpers/partition.js';

async function main(): Promise<void> {
  const opts = parseOptions(process.argv);
  setRaftdOptions(opts.raftdArgs, opts.cpuProf === null ? null : path.resolve(opts.cpuProf));
  if (opts.cpuProf !== null) process.stderr.write(`bench: raftd members run under --cpu-prof; profiles in ${opts.cpuProf} (node build/test/bench/profile-summary.js ${opts.cpuProf})\n`);
  const skipped: string[] = [];
  const version = opts.etcd ? etcdVersion() : null;
  if (!opts.etcd) skipped.push('etcd (--no-etcd)');
  else if (version === null) skipped.push('etcd: no `etcd` on the PATH (apt-get install etcd-server etcd-client)');
  const systems: SystemName[] = version === null ? ['raftd'] : ['raftd', 'etcd'];
  const canPartition = iptablesAvailable();
  const partitioning = opts.sections.includes('failover') && opts.partitionRounds > 0;
  if (!canPartition && partitioning) skipped.push('partition rounds: iptables needs root and the iptables package');
  // etcd dials its peers from 127.0.0.1 (it cannot bind a source address), so a rule on
  // one member's address cannot cut it off: the partition rounds are raftd's alone.
  if (canPartition && partitioning && systems.includes('etcd')) skipped.push('etcd partition rounds: etcd dials peers from 127.0.0.1, so an address rule cannot isolate a member');
  const partitions = (name: SystemName) => (canPartition && name === 'raftd' ? opts.partitionRounds : 0);

  const has = (s: BenchOptions['sections'][number]) => opts.sections.includes(s);
  const steps =
    (has('throughput') ? opts.clients.length * opts.workloads.length * systems.length : 0) +
    (has('large') ? systems.length : 0) +
    (has('failover') ? systems.reduce((n, s) => n + opts.failoverRounds + partitions(s), 0) : 0) +
    (has('idle') ? systems.length : 0);
  const progress = new Progress(steps);
  if (skipped.length > 0) progress.note(`bench: skipping ${skipped.join('; ')}`);

  const results: BenchResults = {
    startedAt: new Date().toISOString(),
    finishedAt: '',
    machine: machine(),
    etcd: version === null ? { skipped: skipped[0] ?? 'not run' } : { version },
    options: opts,
    throughput: [],
    large: [],
    failover: [],
    skipped,
    idle: [],
  };
  // Idle first: nothing else has warmed the machine up or left files to flush.
  if (has('idle')) results.idle = await runIdle(opts, systems, progress);
  if (has('throughput')) results.throughput = await runThroughput(opts, systems, progress);
  if (has('large')) results.large = await runLargeValues(opts, systems, progress);
  if (has('failover')) {
    for (const name of systems) {
      const sys = await launch(name, opts.nodes, 'failover');
      try {
        results.failover.push({ system: name, result: await runFailover(sys, 'kill', opts.failoverRounds, opts, progress) });
        if (partitions(name) > 0) results.failover.push({ system: name, result: await runFailover(sys, 'partition', opts.partitionRounds, opts, progress) });
      } finally {
        await shutdown(sys);
      }
    }
  }
  progress.end();
  results.finishedAt = new Date().toISOString();
  results.machine.loadAvg1m.end = os.loadavg()[0]!;

  fs.mkdirSync(opts.out, { recursive: true });
  const stem = path.join(opts.out, opts.name);
  const md = renderMarkdown(results);
  fs.writeFileSync(`${stem}.json`, JSON.stringify(results, null, 2) + '\n');
  fs.writeFileSync(`${stem}.md`, md);
  fs.writeFileSync(`${stem}.svg`, renderSvg(results));
  process.stdout.write(md + `\nwrote ${stem}.json, ${stem}.md, ${stem}.svg\n`);
}

let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) return;
  interrupted = true;
  process.stderr.write('\nbench: interrupted; removing firewall rules and stopping clusters\n');
  activePartitioner?.heal();
  shutdownAll().finally(() => process.exit(130));
});

main()
  .catch(async (err) => {
    process.stderr.write(`\nbench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(async () => {
    activePartitioner?.heal();
    await shutdownAll();
    // gRPC channels and timers of the etcd client may linger: the run is over.
    process.exit(process.exitCode ?? 0);
  });
