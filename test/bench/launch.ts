// Starting systems for a section, and stopping whatever is still running when the
// run ends, fails or is interrupted: no member may outlive the benchmark.
import * as path from 'node:path';
import { startEtcd } from './etcd-system.js';
import { startRaftd } from './raftd-system.js';
import type { BenchSystem, SystemName } from './system.js';

const live = new Set<BenchSystem>();
let raftdArgs: string[] = [];
let cpuProfDir: string | null = null;
let launched = 0;

/** Extra flags for every raftd member started from now on, and where their CPU profiles go (null: none). */
export function setRaftdOptions(args: string[], profDir: string | null): void {
  raftdArgs = args;
  cpuProfDir = profDir;
}

/** `label` names the cluster's profile directory (<nn>-<label>) when profiling. */
export async function launch(name: SystemName, size: number, label = 'cluster'): Promise<BenchSystem> {
  const n = ++launched;
  const profDir = cpuProfDir === null ? null : path.join(cpuProfDir, `${String(n).padStart(2, '0')}-${label}`.replace(/[^\w.-]+/g, '-'));
  const sys = name === 'raftd' ? await startRaftd(size, raftdArgs, profDir) : await startEtcd(size);
  live.add(sys);
  return sys;
}

export async function shutdown(sys: BenchSystem): Promise<void> {
  live.delete(sys);
  await sys.stop();
}

/** Runs `body` on a fresh cluster and always stops it. */
export async function withSystem<T>(name: SystemName, size: number, label: string, body: (sys: BenchSystem) => Promise<T>): Promise<T> {
  const sys = await launch(name, size, label);
  try {
    return await body(sys);
  } finally {
    await shutdown(sys);
  }
}

export async function shutdownAll(): Promise<void> {
  await Promise.all([...live].map((s) => shutdown(s).catch(() => undefined)));
}
