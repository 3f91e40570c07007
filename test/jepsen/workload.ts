// What the clients do: reads, writes, appends and deletes on register keys, reads and
// increments on counter keys (an append would make a counter non-numeric), on a small
// set of keys that is replaced every keyEpochMs so each key's history stays small
// enough to check (linearizability is checked per key). Every choice comes from the
// client's seeded PRNG; written and appended values are unique in the run.
import type { Arg } from '../../lib/client/resp-client.js';
import type { Datum, OpKind } from '../../lib/check/index.js';
import type { Prng } from '../sim/prng.js';

export interface WorkloadOptions {
  readonly registerKeys: number;
  readonly counterKeys: number;
  /** A new set of keys every this many ms; 0 keeps one set for the whole run. */
  readonly keyEpochMs: number;
  /** Share of ops on counter keys. */
  readonly counterShare: number;
  /** Register op weights. */
  readonly mix: { readonly read: number; readonly write: number; readonly append: number; readonly delete: number };
}

export const WORKLOAD_DEFAULTS: WorkloadOptions = {
  registerKeys: 4,
  counterKeys: 2,
  keyEpochMs: 10_000,
  counterShare: 0.25,
  mix: { read: 0.45, write: 0.3, append: 0.18, delete: 0.07 },
};

export interface PlannedOp {
  readonly key: string;
  readonly op: OpKind;
  readonly input?: Datum;
  /** The command, without the REQ wrapper. */
  readonly args: readonly Arg[];
  readonly mutates: boolean;
}

export class Workload {
  private seq = 0;
  /** Every key an op was planned on, in first-use order. */
  readonly keys: string[] = [];
  private readonly seen = new Set<string>();

  constructor(private readonly opts: WorkloadOptions = WORKLOAD_DEFAULTS) {}

  private use(key: string): string {
    if (!this.seen.has(key)) {
      this.seen.add(key);
      this.keys.push(key);
    }
    return key;
  }

  next(rng: Prng, elapsedMs: number): PlannedOp {
    const epoch = this.opts.keyEpochMs > 0 ? Math.floor(elapsedMs / this.opts.keyEpochMs) : 0;
    const n = ++this.seq;
    if (this.opts.counterKeys > 0 && rng.chance(this.opts.counterShare)) {
      const key = this.use(`c${epoch}.${rng.int(0, this.opts.counterKeys - 1)}`);
      if (rng.chance(0.5)) return { key, op: 'read', args: ['GET', key], mutates: false };
      return { key, op: 'incr', input: 1, args: ['INCR', key], mutates: true };
    }
    const key = this.use(`r${epoch}.${rng.int(0, this.opts.registerKeys - 1)}`);
    const m = this.opts.mix;
    let x = rng.next() * (m.read + m.write + m.append + m.delete);
    if ((x -= m.read) < 0) return { key, op: 'read', args: ['GET', key], mutates: false };
    if ((x -= m.write) < 0) {
      const v = `w${n}`;
      return { key, op: 'write', input: v, args: ['SET', key, v], mutates: true };
    }
    if ((x -= m.append) < 0) {
      const v = `+${n}`;
      return { key, op: 'append', input: v, args: ['APPEND', key, v], mutates: true };
    }
    return { key, op: 'delete', args: ['DEL', key], mutates: true };
  }
}
