// Closed-loop clients: each has one request outstanding and sends the next as soon
// as the previous one is answered, so the offered load follows the system's speed.
// Latencies count only requests started inside the measured window.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { LatencyRecorder, type Percentiles } from './latency.js';
import type { KvClient } from './system.js';

export type Workload = 'write' | 'read' | 'mix';

export interface LoadSpec {
  clients: number;
  workload: Workload;
  valueBytes: number;
  keys: number;
  /** Requests before the window are not counted (connections warm, the leader settled). */
  warmupMs: number;
  durationMs: number;
  /**
   * The window goes on past durationMs until this many requests started in it were
   * answered OK, for at most OVERTIME_MS more (0 or absent: it ends at durationMs). The
   * smoke run asks for one: its 1 s window on a busy CI machine once closed on a
   * leader change with no read answered, which proves nothing about the instrument.
   */
  minOk?: number;
}

export interface LoadResult {
  seconds: number;
  writes: number;
  reads: number;
  /** Requests the system answered with an error (-TRYAGAIN, -TIMEOUT, a gRPC error). */
  errors: number;
  /** Clients whose connection failed (they stop). */
  failedClients: number;
  write: Percentiles;
  read: Percentiles;
  /** performance.now() of every acknowledged write in the window, in order, when asked for. */
  writeAcks: number[];
}

export interface LoadHooks {
  /** Called when the measured window opens (start CPU/RSS accounting here). */
  onWindowStart?(): void;
  /** Keep every write acknowledgement's time (for gaps between acknowledged writes). */
  keepWriteAcks?: boolean;
  /** Ends the run early (failover rounds stop their background load this way). */
  stopped?(): boolean;
}

/** How long past the window a request may still be outstanding before its client is given up. */
const STRAGGLER_WAIT_MS = 10_000;
/** Bound on how long a window waits past durationMs for LoadSpec.minOk. */
export const OVERTIME_MS = 20_000;

/** Runs `spec.clients` closed-loop clients over `conns` (client i uses conns[i % conns.length]). */
export async function runClosedLoop(conns: KvClient[], spec: LoadSpec, hooks: LoadHooks = {}): Promise<LoadResult> {
  if (conns.length === 0) throw new Error('closed loop needs at least one connection');
  const value = randomBytes(spec.valueBytes);
  const writeLat = new LatencyRecorder();
  const readLat = new LatencyRecorder();
  const writeAcks: number[] = [];
  const t0 = performance.now();
  const windowStart = t0 + spec.warmupMs;
  const minOk = spec.minOk ?? 0;
  let windowEnd = windowStart + spec.durationMs;
  const windowEndMax = windowEnd + (minOk > 0 ? OVERTIME_MS : 0);
  let writes = 0;
  let reads = 0;
  let errors = 0;
  let failedClients = 0;
  /** Whether a request may start at `now`; the window moves out to it (at most OVERTIME_MS) while fewer than minOk were answered OK. */
  const open = (now: number): boolean => {
    if (now < windowEnd) return true;
    if (writes + reads >= minOk || now >= windowEndMax) return false;
    windowEnd = now;
    return true;
  };
  const windowTimer = setTimeout(() => hooks.onWindowStart?.(), spec.warmupMs);

  const client = async (i: number) => {
    const c = conns[i % conns.length]!;
    let n = i;
    for (;;) {
      const start = performance.now();
      if (!open(start) || hooks.stopped?.()) break;
      n++;
      const key = `key:${(n * 7919 + i) % spec.keys}`;
      const isWrite = spec.workload === 'write' || (spec.workload === 'mix' && n % 2 === 0);
      let ok: boolean;
      try {
        ok = await (isWrite ? c.write(key, value) : c.read(key));
      } catch {
        failedClients++;
        return;
      }
      const end = performance.now();
      // Every request starts inside the window or before it (open() saw to it): count those after its start.
      if (start < windowStart) continue;
      if (!ok) {
        errors++;
        continue;
      }
      if (isWrite) {
        writes++;
        writeLat.record(end - start);
        if (hooks.keepWriteAcks) writeAcks.push(end);
      } else {
        reads++;
        readLat.record(end - start);
      }
    }
  };
  const all = Promise.all(Array.from({ length: spec.clients }, (_, i) => client(i)));
  let straggler: NodeJS.Timeout | undefined;
  const late = new Promise<void>((r) => {
    straggler = setTimeout(r, windowEndMax - t0 + STRAGGLER_WAIT_MS);
  });
  await Promise.race([all, late]);
  clearTimeout(straggler);
  clearTimeout(windowTimer);
  const seconds = (Math.min(performance.now(), windowEnd) - windowStart) / 1000;
  writeAcks.sort((a, b) => a - b);
  return { seconds, writes, reads, errors, failedClients, write: writeLat.percentiles(), read: readLat.percentiles(), writeAcks };
}
