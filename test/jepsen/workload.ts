// What the clients do, by workload:
// - register: reads, writes, appends and deletes on register keys, reads and increments
//   on counter keys (an append would make a counter non-numeric);
// - list: RPUSH of unique values and LRANGE 0 -1 reads on list keys (checked with the
//   list-append model: every acknowledged push once, in real-time order);
// - cas: WATCH k; GET k; MULTI; SET k new; EXEC check-and-sets, plain GETs and SETs on
//   cas keys (checked with the register model's cas: a nil EXEC is a failed cas);
// - expiry: SET k v PX ttl on fresh keys and GETs of recent ones, judged against real
//   time and the nodes' clock skew (lib/check/expiry.ts), not by a model;
// - mixed: all of the above side by side, each key kind with its own check.
// Keys are a small set replaced every keyEpochMs so each key's history stays small
// enough to check (linearizability is checked per key). Every choice comes from the
// client's seeded PRNG; written, appended and pushed values are unique in the run.
import type { Arg, RespValue } from '../../lib/client/resp-client.js';
import { listModel, registerModel, type Datum, type Model, type OpKind } from '../../lib/check/index.js';
import type { Prng } from '../sim/prng.js';
import { replyText } from './probe.js';

export const WORKLOAD_NAMES = ['register', 'list', 'cas', 'expiry', 'mixed'] as const;
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];

export interface WorkloadOptions {
  readonly name: WorkloadName;
  readonly registerKeys: number;
  readonly counterKeys: number;
  readonly listKeys: number;
  readonly casKeys: number;
  /** A new set of keys every this many ms; 0 keeps one set for the whole run. */
  readonly keyEpochMs: number;
  /** Share of the register workload's ops on counter keys. */
  readonly counterShare: number;
  /** Register op weights. */
  readonly mix: { readonly read: number; readonly write: number; readonly append: number; readonly delete: number };
  /** List op weights. */
  readonly listMix: { readonly read: number; readonly push: number };
  /** Cas-key op weights: GET, WATCH/MULTI/SET/EXEC, plain SET. */
  readonly casMix: { readonly read: number; readonly cas: number; readonly write: number };
  /** Expiring keys: share of SETs (the rest are reads of recent keys) and the ttl range, ms. */
  readonly expiry: { readonly setShare: number; readonly ttlMs: readonly [number, number]; readonly recentKeys: number };
  /** The mixed workload's share of ops per workload. */
  readonly mixedShare: { readonly register: number; readonly list: number; readonly cas: number; readonly expiry: number };
}

export const WORKLOAD_DEFAULTS: WorkloadOptions = {
  name: 'register',
  registerKeys: 4,
  counterKeys: 2,
  listKeys: 3,
  casKeys: 3,
  keyEpochMs: 10_000,
  counterShare: 0.25,
  mix: { read: 0.45, write: 0.3, append: 0.18, delete: 0.07 },
  listMix: { read: 0.4, push: 0.6 },
  casMix: { read: 0.3, cas: 0.6, write: 0.1 },
  expiry: { setShare: 0.3, ttlMs: [1000, 3000], recentKeys: 6 },
  mixedShare: { register: 0.35, list: 0.25, cas: 0.25, expiry: 0.15 },
};

export function parseWorkload(s: string): WorkloadName {
  const name = WORKLOAD_NAMES.find((n) => n === s);
  if (name === undefined) throw new Error(`--workload wants one of ${WORKLOAD_NAMES.join(', ')}, got ${s}`);
  return name;
}

/** One command with retries (JepsenClient.invoke). */
export interface CommandOp {
  readonly kind: 'command';
  readonly key: string;
  readonly op: OpKind;
  readonly input?: Datum;
  /** The command, without the REQ wrapper. */
  readonly args: readonly Arg[];
  readonly mutates: boolean;
}

/** WATCH key; GET key; MULTI; SET key next; EXEC (JepsenClient.cas). */
export interface CasOp {
  readonly kind: 'cas';
  readonly key: string;
  readonly op: 'cas';
  readonly next: string;
  readonly mutates: true;
}

export type PlannedOp = CommandOp | CasOp;

const isListKey = (key: string) => key.startsWith('l');
const EXPIRY_KEY = /^e\d+\.(\d+)$/;

/** An expiring key's ttl (its name says it: e<n>.<ttl ms>), or undefined for other keys. */
export function expiryTtlMs(key: string): number | undefined {
  const m = EXPIRY_KEY.exec(key);
  return m === null ? undefined : Number(m[1]);
}

/** The checker's model for a key of these workloads: lists by theirs, the rest as registers. */
export function modelForKey(key: string): Model<unknown> {
  return (isListKey(key) ? listModel : registerModel) as Model<unknown>;
}

/** How the final phase reads a key on every node. */
export function finalReadArgs(key: string): readonly Arg[] {
  return isListKey(key) ? ['LRANGE', key, '0', '-1'] : ['GET', key];
}

/** A reply as the checker's output for an op of this kind on this key (undefined: none kept). */
export function outputOf(key: string, op: OpKind, reply: RespValue): Datum | undefined {
  if (op === 'write' || op === 'cas') return undefined;
  if (op === 'read' && isListKey(key)) {
    if (reply === null) return null;
    if (!Array.isArray(reply)) return replyText(reply);
    return reply.map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(replyText(x))));
  }
  return replyText(reply);
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
    switch (this.opts.name) {
      case 'register':
        return this.register(rng, epoch, n);
      case 'list':
        return this.list(rng, epoch, n);
      case 'cas':
        return this.cas(rng, epoch, n);
      case 'expiry':
        return this.expiring(rng, n);
      case 'mixed': {
        const s = this.opts.mixedShare;
        let x = rng.next() * (s.register + s.list + s.cas + s.expiry);
        if ((x -= s.register) < 0) return this.register(rng, epoch, n);
        if ((x -= s.list) < 0) return this.list(rng, epoch, n);
        if ((x -= s.cas) < 0) return this.cas(rng, epoch, n);
        return this.expiring(rng, n);
      }
    }
  }

  private register(rng: Prng, epoch: number, n: number): PlannedOp {
    if (this.opts.counterKeys > 0 && rng.chance(this.opts.counterShare)) {
      const key = this.use(`c${epoch}.${rng.int(0, this.opts.counterKeys - 1)}`);
      if (rng.chance(0.5)) return { kind: 'command', key, op: 'read', args: ['GET', key], mutates: false };
      return { kind: 'command', key, op: 'incr', input: 1, args: ['INCR', key], mutates: true };
    }
    const key = this.use(`r${epoch}.${rng.int(0, this.opts.registerKeys - 1)}`);
    const m = this.opts.mix;
    let x = rng.next() * (m.read + m.write + m.append + m.delete);
    if ((x -= m.read) < 0) return { kind: 'command', key, op: 'read', args: ['GET', key], mutates: false };
    if ((x -= m.write) < 0) {
      const v = `w${n}`;
      return { kind: 'command', key, op: 'write', input: v, args: ['SET', key, v], mutates: true };
    }
    if ((x -= m.append) < 0) {
      const v = `+${n}`;
      return { kind: 'command', key, op: 'append', input: v, args: ['APPEND', key, v], mutates: true };
    }
    return { kind: 'command', key, op: 'delete', args: ['DEL', key], mutates: true };
  }

  private list(rng: Prng, epoch: number, n: number): PlannedOp {
    const key = this.use(`l${epoch}.${rng.int(0, this.opts.listKeys - 1)}`);
    const m = this.opts.listMix;
    if (rng.next() * (m.read + m.push) < m.read) return { kind: 'command', key, op: 'read', args: ['LRANGE', key, '0', '-1'], mutates: false };
    const v = `p${n}`;
    return { kind: 'command', key, op: 'push', input: v, args: ['RPUSH', key, v], mutates: true };
  }

  /** Expiring keys written once each; the most recent ones are read. */
  private readonly recent: string[] = [];

  private expiring(rng: Prng, n: number): PlannedOp {
    const e = this.opts.expiry;
    if (this.recent.length === 0 || rng.chance(e.setShare)) {
      const ttl = rng.int(e.ttlMs[0], e.ttlMs[1]);
      const key = this.use(`e${n}.${ttl}`);
      this.recent.push(key);
      if (this.recent.length > e.recentKeys) this.recent.shift();
      const v = `t${n}`;
      return { kind: 'command', key, op: 'write', input: v, args: ['SET', key, v, 'PX', String(ttl)], mutates: true };
    }
    const key = this.recent[rng.int(0, this.recent.length - 1)]!;
    return { kind: 'command', key, op: 'read', args: ['GET', key], mutates: false };
  }

  private cas(rng: Prng, epoch: number, n: number): PlannedOp {
    const key = this.use(`x${epoch}.${rng.int(0, this.opts.casKeys - 1)}`);
    const m = this.opts.casMix;
    let x = rng.next() * (m.read + m.cas + m.write);
    if ((x -= m.read) < 0) return { kind: 'command', key, op: 'read', args: ['GET', key], mutates: false };
    if ((x -= m.cas) < 0) return { kind: 'cas', key, op: 'cas', next: `s${n}`, mutates: true };
    const v = `w${n}`;
    return { kind: 'command', key, op: 'write', input: v, args: ['SET', key, v], mutates: true };
  }
}
