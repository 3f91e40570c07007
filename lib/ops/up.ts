// `up` and the second half of `restart`: start nodes, then wait (bounded) for a leader
// a majority follows, failing early when a node died while starting, and print the table.
import { diagnoseNode, startAll } from './lifecycle.js';
import { probeCluster } from './probe.js';
import { report, type Io } from './report.js';
import { renderStatus } from './status-table.js';
import { targetsFor, type ClusterConfig, type NodeTarget } from './target.js';
import { shipHostsFile, uploadBuild } from './upload.js';
import { shipSecretFiles } from './secrets.js';
import { leaderWith, waitForStatus } from './wait.js';

/** When `up` first looks for nodes that died while starting. */
const EARLY_CHECK_MS = 2000;
/** How long `up` waits after a leader is elected for every started node to follow it. */
const SETTLE_MS = 1500;

export interface UpOptions {
  timeoutMs: number;
  probeMs: number;
}

/** Starts `targets`, then waits for a leader; `restart` reuses each node's saved raftd flags unless given new ones. */
export async function up(c: ClusterConfig, io: Io, o: UpOptions, targets: NodeTarget[], reuseSavedArgs: boolean): Promise<boolean> {
  const remote = targets.filter((t) => t.placement === 'remote');
  if (remote.length > 0) {
    if (c.upload) await uploadBuild(remote);
    await shipHostsFile(remote, c.hostsFile);
    await shipSecretFiles(remote, c.secretFiles ?? []);
  }
  const results = await startAll(c, targets, reuseSavedArgs, o.probeMs);
  const started = report(io, results);
  const running = results.filter((r) => r.running).map((r) => r.id);
  if (running.length === 0) return false;
  if (!results.some((r) => r.ok)) {
    // Nothing new started: show where the cluster stands, nothing to wait for.
    io.out(renderStatus(await probeCluster(c.hosts, o.probeMs), { color: io.color }));
    return false;
  }
  const deadline = Date.now() + o.timeoutMs;
  const done = leaderWith(running);
  let w = await waitForStatus(c.hosts, done, Math.min(o.timeoutMs, EARLY_CHECK_MS), o.probeMs);
  if (!w.ok) {
    // A node that died while starting (a bad flag, a port in use) fails now, not at the deadline.
    const justStarted = new Set(results.filter((r) => r.ok).map((r) => r.id));
    const silent = targets.filter((t) => justStarted.has(t.entry.id) && w.status.nodes.find((n) => n.id === t.entry.id)?.state !== 'up');
    const dead = (await Promise.all(silent.map(diagnoseNode))).filter((d) => d.running === false);
    if (dead.length > 0) {
      io.out(renderStatus(w.status, { color: io.color }));
      for (const d of dead) io.err(d.line);
      return false;
    }
    w = await waitForStatus(c.hosts, done, Math.max(0, deadline - Date.now()), o.probeMs);
  }
  if (w.ok) {
    // Give the rest a moment to hear from the leader, so the table shows them following.
    const settled = await waitForStatus(c.hosts, (s) => done(s) && running.every((id) => s.nodes.find((n) => n.id === id)?.leaderId === s.leader), Math.min(SETTLE_MS, Math.max(0, deadline - Date.now())), o.probeMs);
    if (settled.ok || done(settled.status)) w = settled;
  }
  io.out(renderStatus(w.status, { color: io.color }));
  if (!w.ok) {
    io.err(`no leader that a majority follows within ${o.timeoutMs} ms`);
    const silent = new Set(w.status.nodes.filter((n) => n.state !== 'up').map((n) => n.id));
    for (const d of await Promise.all(targetsFor(c).filter((t) => silent.has(t.entry.id)).map(diagnoseNode))) io.err(d.line);
  }
  return started && w.ok;
}
