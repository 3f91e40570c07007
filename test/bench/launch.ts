// Starting systems for a section, and stopping whatever is still running when the
// run ends, fails or is interrupted: no member may outlive the benchmark.
import { startEtcd } from './etcd-system.js';
import { startRaftd } from './raftd-system.js';
import type { BenchSystem, SystemName } from './system.js';

const live = new Set<BenchSystem>();
let raftdArgs: string[] = [];

/** Extra flags for every raftd member started from now on. */
export function setRaftdArgs(args: string[]): void {
  raftdArgs = args;
}

export async function launch(name: SystemName, size: number): Promise<BenchSystem> {
  const sys = name === 'raftd' ? await startRaftd(size, raftdArgs) : await startEtcd(size);
  live.add(sys);
  return sys;
}

export async function shutdown(sys: BenchSystem): Promise<void> {
  live.delete(sys);
  await sys.stop();
}

/** Runs `body` on a fresh cluster and always stops it. */
export async function withSystem<T>(name: SystemName, size: number, body: (sys: BenchSystem) => Promise<T>): Promise<T> {
  const sys = await launch(name, size);
  try {
    return await body(sys);
  } finally {
    await shutdown(sys);
  }
}

export async function shutdownAll(): Promise<void> {
  await Promise.all([...live].map((s) => shutdown(s).catch(() => undefined)));
}
