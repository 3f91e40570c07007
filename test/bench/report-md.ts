// The results as markdown tables: raftd and etcd side by side with the ratio.
import type { BenchResults } from './results.js';
import type { ThroughputRow } from './throughput.js';

const n0 = (v: number) => Math.round(v).toLocaleString('en-US');
const ms = (v: number) => (v >= 10 ? v.toFixed(0) : v.toFixed(v >= 1 ? 1 : 2));
const lat = (r: ThroughputRow) => {
  const p = r.workload === 'read' ? r.read : r.write;
  return `${ms(p.p50Ms)} / ${ms(p.p99Ms)} / ${ms(p.p999Ms)}`;
};
const opsPerSec = (r: ThroughputRow) => r.writesPerSec + r.readsPerSec;
const rss = (v: number[]) => (v.length === 0 ? '-' : String(Math.round(Math.max(...v))));

export function renderMarkdown(res: BenchResults): string {
  const out: string[] = [];
  const m = res.machine;
  const etcd = 'version' in res.etcd ? `etcd ${res.etcd.version}` : `etcd not run (${res.etcd.skipped})`;
  out.push(`# raftd benchmark${res.options.smoke ? ' (smoke: too short to measure anything)' : ''}`, '');
  out.push(`${m.cpus} x ${m.cpuModel}, ${m.memGiB} GiB, ${m.kernel}, Node ${m.node}; ${etcd}; ${res.startedAt} to ${res.finishedAt}; load average ${m.loadAvg1m.start.toFixed(1)} at the start, ${m.loadAvg1m.end.toFixed(1)} at the end.`);
  out.push(`Closed-loop clients on the leader of ${res.options.nodes} members, ${res.options.valueBytes} B values, ${res.options.keys} keys, fsync on, ${res.options.durationMs / 1000} s per row after ${res.options.warmupMs / 1000} s of warm-up; each row a fresh cluster, raftd and etcd back to back${res.options.raftdArgs.length > 0 ? `; raftd flags \`${res.options.raftdArgs.join(' ')}\`` : ''}.`, '');

  if (res.throughput.length > 0) {
    out.push('## Throughput and latency', '');
    out.push('Latency is of writes (of reads for the read rows): p50 / p99 / p99.9 ms. CPU: seconds of all members per 1,000 operations. RSS: the largest member\'s peak, MiB.', '');
    out.push('| workload | clients | raftd ops/s | etcd ops/s | ratio | raftd latency | etcd latency | raftd CPU | etcd CPU | raftd RSS | etcd RSS |');
    out.push('|---|---|---|---|---|---|---|---|---|---|---|');
    const keys = [...new Set(res.throughput.map((r) => `${r.workload}|${r.clients}`))];
    for (const k of keys) {
      const [workload, clients] = k.split('|');
      const a = res.throughput.find((r) => r.system === 'raftd' && `${r.workload}|${r.clients}` === k);
      const b = res.throughput.find((r) => r.system === 'etcd' && `${r.workload}|${r.clients}` === k);
      const ratio = a && b && opsPerSec(b) > 0 ? (opsPerSec(a) / opsPerSec(b)).toFixed(2) : '-';
      out.push(
        `| ${workload} | ${clients} | ${a ? n0(opsPerSec(a)) : '-'} | ${b ? n0(opsPerSec(b)) : '-'} | ${ratio} | ${a ? lat(a) : '-'} | ${b ? lat(b) : '-'} | ${a ? a.cpuSecPer1kOps.toFixed(3) : '-'} | ${b ? b.cpuSecPer1kOps.toFixed(3) : '-'} | ${a ? rss(a.rssPeakMiBPerMember) : '-'} | ${b ? rss(b.rssPeakMiBPerMember) : '-'} |`,
      );
    }
    for (const r of res.throughput) {
      const groups = Object.entries(r.cpuUsPerOpByThread ?? {}).sort((a, b) => b[1] - a[1]);
      if (groups.length > 0) out.push('', `${r.system} ${r.workload} ${r.clients} clients, CPU µs per operation by thread: ${groups.map(([g, c]) => `${g} ${c.toFixed(0)}`).join(', ')}.`);
      const runs = Object.entries(r.runsPerOpByThread ?? {}).filter(([, n]) => n >= 0.005).sort((a, b) => b[1] - a[1]);
      if (runs.length > 0) {
        const total = runs.reduce((a, [, n]) => a + n, 0);
        const wait = r.runQueueWaitUsPerOp === undefined ? '' : `; waiting for a CPU ${r.runQueueWaitUsPerOp.toFixed(0)} µs per operation, all threads`;
        out.push('', `${r.system} ${r.workload} ${r.clients} clients, thread runs per operation (wake-ups and resumptions), ${total.toFixed(1)} in all: ${runs.map(([g, n]) => `${g} ${n.toFixed(2)}`).join(', ')}${wait}.`);
      }
    }
    const errs = res.throughput.filter((r) => r.errors > 0 || r.failedClients > 0);
    for (const r of errs) out.push('', `${r.system} ${r.workload} ${r.clients} clients: ${r.errors} error replies, ${r.failedClients} failed connections.`);
    out.push('');
  }

  if (res.large.length > 0) {
    out.push('## Large values', '');
    out.push('| system | members | clients | value | writes/s | MB/s | longest gap ms | seconds without an ack | elections | p50 / p99 / p99.9 ms |');
    out.push('|---|---|---|---|---|---|---|---|---|---|');
    for (const r of res.large) {
      out.push(
        `| ${r.system} | ${r.nodes} | ${r.clients} | ${n0(r.valueBytes)} B | ${n0(r.writesPerSec)} | ${r.mbPerSec.toFixed(1)} | ${n0(r.longestGapMs)} | ${r.secondsWithoutAck} | ${r.elections} | ${ms(r.write.p50Ms)} / ${ms(r.write.p99Ms)} / ${ms(r.write.p999Ms)} |`,
      );
    }
    for (const r of res.large) {
      const groups = Object.entries(r.cpuUsPerOpByThread ?? {}).sort((a, b) => b[1] - a[1]);
      if (groups.length > 0) out.push('', `${r.system} large values, CPU µs per write by thread: ${groups.map(([g, c]) => `${g} ${c.toFixed(0)}`).join(', ')}.`);
    }
    out.push('');
  }

  if (res.failover.length > 0) {
    out.push('## Failover under load', '');
    out.push('Time from the fault to the first write acknowledged by a surviving member (probes every 10 ms on each).', '');
    out.push('| system | fault | rounds | median ms | p99 ms | max ms | not recovered in 15 s |');
    out.push('|---|---|---|---|---|---|---|');
    for (const f of res.failover) {
      const r = f.result;
      out.push(`| ${f.system} | ${r.kind === 'kill' ? 'kill -9 of the leader' : 'leader partitioned (DROP)'} | ${r.rounds} | ${n0(r.medianMs)} | ${n0(r.p99Ms)} | ${n0(r.maxMs)} | ${r.unrecovered} |`);
    }
    out.push('');
  }

  if (res.idle.length > 0) {
    out.push('## Idle cost', '');
    out.push('| system | members | CPU s per 10 s (all members) | per member | RSS MiB per member |');
    out.push('|---|---|---|---|---|');
    for (const r of res.idle) {
      out.push(`| ${r.system} | ${r.nodes} | ${r.cpuSecPer10s.toFixed(2)} | ${r.cpuSecPer10sPerMember.map((c) => c.toFixed(2)).join(', ')} | ${r.rssMiBPerMember.map((x) => Math.round(x)).join(', ')} |`);
    }
    out.push('');
    for (const r of res.idle) {
      const groups = Object.entries(r.cpuSecPer10sByThread ?? {}).sort((a, b) => b[1] - a[1]);
      if (groups.length > 0) out.push(`${r.system} by thread (CPU s per 10 s, all members): ${groups.map(([g, c]) => `${g} ${c.toFixed(2)}`).join(', ')}.`, '');
      const runs = Object.entries(r.runsPerSecByThread ?? {}).sort((a, b) => b[1] - a[1]);
      if (runs.length > 0) out.push(`${r.system} thread runs per second (wake-ups), all members: ${runs.map(([g, n]) => `${g} ${n.toFixed(0)}`).join(', ')}; ${runs.reduce((a, [, n]) => a + n, 0).toFixed(0)} in all.`, '');
    }
  }
  if (res.skipped.length > 0) out.push('Skipped: ' + res.skipped.join('; ') + '.', '');
  return out.join('\n');
}
