// The replicated key-value state machine: every node applies the same committed
// entries in the same order and so holds the same map. Deterministic on purpose: no
// clock, no randomness, no iteration order that depends on anything but the log.
//
// Exactly-once writes (Raft dissertation §6.3): an entry's tid is the client's request
// id; the first reply to a tid is kept and a retry gets that reply without running
// again. The table forgets a tid after dedupWindowEntries further entries, and the
// oldest tids once it holds more than dedupEntriesMax: both measured in log entries,
// never in time, so every node forgets the same tids at the same index.
//
// Keys are kept as latin1 strings (one char per byte: binary-safe, and comparable
// without allocation). SCAN walks them in hash order (scan-index.ts).
import { createHash } from 'node:crypto';
import type { Entry } from '../raft/types.js';
import * as w from '../resp/writer.js';
import { assert, AssertionError, assertNever } from '../util/assert.js';
import { decodeCommand } from './command-codec.js';
import { keyMatcher } from './glob.js';
import { ScanIndex } from './scan-index.js';
import { SCAN_COUNT_DEFAULT, STRING_BYTES_MAX } from './limits.js';
import {
  checkCommand,
  ERR_NOT_INTEGER,
  ERR_OVERFLOW,
  ERR_STRING_SIZE,
  INT64_MAX,
  INT64_MIN,
  parseInt64,
  parseScanOptions,
  parseSetOptions,
} from './syntax.js';

export interface KvStateMachineOptions {
  /** Bound on remembered request ids. */
  dedupEntriesMax: number;
  /** A request id is forgotten once the log has moved this many entries past it. */
  dedupWindowEntries: number;
}

interface DedupRecord {
  index: number;
  reply: Buffer;
}

const EMPTY = Buffer.alloc(0);
const STRING_TYPE = w.simple('string');
const NONE_TYPE = w.simple('none');

export class KvStateMachine {
  private readonly dedupEntriesMax: number;
  private readonly dedupWindowEntries: number;
  /** Invariant: the scan index holds exactly the keys of this map. */
  private readonly values = new Map<string, Buffer>();
  private readonly index = new ScanIndex();
  private byteCount = 0;
  /** Insertion order is index order: the oldest request id comes first. */
  private readonly dedup = new Map<string, DedupRecord>();
  private lastIndex = 0;

  constructor(opts: KvStateMachineOptions) {
    assert(Number.isSafeInteger(opts.dedupEntriesMax) && opts.dedupEntriesMax >= 0, 'dedupEntriesMax must be an integer >= 0');
    assert(Number.isSafeInteger(opts.dedupWindowEntries) && opts.dedupWindowEntries >= 0, 'dedupWindowEntries must be an integer >= 0');
    this.dedupEntriesMax = opts.dedupEntriesMax;
    this.dedupWindowEntries = opts.dedupWindowEntries;
  }

  get keyCount(): number {
    return this.values.size;
  }

  get dedupSize(): number {
    return this.dedup.size;
  }

  /** Bytes of keys plus values. */
  get bytes(): number {
    return this.byteCount;
  }

  /** Index of the last entry applied (0 before any). */
  get appliedIndex(): number {
    return this.lastIndex;
  }

  /** Applies one committed entry; indexes must increase. Returns the RESP reply. */
  apply(entry: Entry): Buffer {
    assert(Number.isSafeInteger(entry.index) && entry.index > this.lastIndex, `apply out of order: ${entry.index} after ${this.lastIndex}`);
    this.lastIndex = entry.index;
    let reply: Buffer;
    switch (entry.kind) {
      case 'noop':
        reply = w.OK;
        break;
      case 'normal':
        reply = this.applyNormal(entry);
        break;
      default:
        assertNever(entry.kind, 'entry kind');
    }
    this.expireDedup(entry.index);
    return reply;
  }

  private applyNormal(entry: Entry): Buffer {
    if (entry.tid !== '') {
      const seen = this.dedup.get(entry.tid);
      if (seen !== undefined) return seen.reply;
    }
    let args: Buffer[];
    try {
      args = decodeCommand(entry.data);
    } catch (err) {
      return w.error(`ERR bad log entry ${entry.index}: ${(err as Error).message}`);
    }
    const checked = checkCommand(args, 'write');
    if ('error' in checked) return w.error(checked.error); // Refused: nothing changes, nothing is remembered.
    const reply = this.execute(checked.spec.name, args, entry.index);
    if (entry.tid !== '') this.dedup.set(entry.tid, { index: entry.index, reply });
    return reply;
  }

  /** Forgets request ids recorded at or before index - window, then the oldest beyond the bound. */
  private expireDedup(index: number): void {
    const cutoff = index - this.dedupWindowEntries;
    for (const [tid, rec] of this.dedup) {
      if (rec.index > cutoff && this.dedup.size <= this.dedupEntriesMax) break;
      this.dedup.delete(tid);
    }
  }

  /** A write whose syntax was checked. */
  private execute(name: string, args: Buffer[], index: number): Buffer {
    switch (name) {
      case 'addentry':
        return w.integer(index);
      case 'set':
        return this.set(args);
      case 'getset': {
        const old = this.values.get(key(args[1]!)) ?? null; // Before put() replaces it.
        this.put(key(args[1]!), args[2]!);
        return w.bulk(old);
      }
      case 'del': {
        let n = 0;
        for (let i = 1; i < args.length; i++) if (this.remove(key(args[i]!))) n++;
        return w.integer(n);
      }
      case 'incr':
        return this.incrBy(args[1]!, 1n);
      case 'decr':
        return this.incrBy(args[1]!, -1n);
      case 'incrby':
        return this.incrBy(args[1]!, parseInt64(args[2]!)!);
      case 'decrby':
        return this.incrBy(args[1]!, -parseInt64(args[2]!)!);
      case 'append': {
        const k = key(args[1]!);
        const old = this.values.get(k) ?? EMPTY;
        const length = old.length + args[2]!.length;
        if (length > STRING_BYTES_MAX) return w.error(ERR_STRING_SIZE);
        this.put(k, Buffer.concat([old, args[2]!], length));
        return w.integer(length);
      }
      case 'mset':
        for (let i = 1; i < args.length; i += 2) this.put(key(args[i]!), args[i + 1]!);
        return w.OK;
      case 'flushdb':
      case 'flushall':
        this.values.clear();
        this.index.clear();
        this.byteCount = 0;
        return w.OK;
      default:
        throw new AssertionError(`unreachable: write command ${name} has no implementation`);
    }
  }

  private set(args: Buffer[]): Buffer {
    const o = parseSetOptions(args);
    assert(!('error' in o), 'SET syntax was checked');
    const k = key(args[1]!);
    const old = this.values.get(k) ?? null; // Before put() replaces it.
    const skip = (o.nx && old !== null) || (o.xx && old === null);
    if (!skip) this.put(k, args[2]!);
    if (o.get) return w.bulk(old);
    return skip ? w.NULL_BULK : w.OK;
  }

  private incrBy(keyArg: Buffer, by: bigint): Buffer {
    const k = key(keyArg);
    const old = this.values.get(k);
    let value = 0n;
    if (old !== undefined) {
      const v = parseInt64(old);
      if (v === null) return w.error(ERR_NOT_INTEGER);
      value = v;
    }
    const next = value + by;
    if (next < INT64_MIN || next > INT64_MAX) return w.error(ERR_OVERFLOW);
    this.put(k, Buffer.from(next.toString(), 'latin1'));
    return w.integer(next);
  }

  /** Stores a value (copied: never alias a decoder's or a client's buffer). */
  private put(k: string, value: Buffer): void {
    const copy = Buffer.from(value);
    const old = this.values.get(k);
    if (old === undefined) {
      this.index.add(k);
      this.byteCount += k.length;
    } else {
      this.byteCount -= old.length;
    }
    this.values.set(k, copy);
    this.byteCount += copy.length;
  }

  private remove(k: string): boolean {
    const old = this.values.get(k);
    if (old === undefined) return false;
    this.values.delete(k);
    this.index.delete(k);
    this.byteCount -= k.length + old.length;
    return true;
  }

  // ------------------------------------------------------------------ reads

  /** Runs a read command (name first, any case) against the current state. */
  read(args: Buffer[]): Buffer {
    const checked = checkCommand(args, 'read');
    if ('error' in checked) return w.error(checked.error);
    switch (checked.spec.name) {
      case 'get':
        return w.bulk(this.values.get(key(args[1]!)) ?? null);
      case 'mget':
        return w.array(args.slice(1).map((a) => w.bulk(this.values.get(key(a)) ?? null)));
      case 'exists': {
        let n = 0;
        for (let i = 1; i < args.length; i++) if (this.values.has(key(args[i]!))) n++;
        return w.integer(n);
      }
      case 'strlen':
        return w.integer(this.values.get(key(args[1]!))?.length ?? 0);
      case 'type':
        return this.values.has(key(args[1]!)) ? STRING_TYPE : NONE_TYPE;
      case 'keys': {
        const matches = keyMatcher(key(args[1]!));
        const out: string[] = [];
        for (const k of this.values.keys()) if (matches(k)) out.push(k);
        out.sort(); // UTF-16 code unit order of latin1 strings is byte order.
        return w.array(out.map((k) => w.bulk(Buffer.from(k, 'latin1'))));
      }
      case 'scan':
        return this.scan(args);
      case 'dbsize':
        return w.integer(this.values.size);
      default:
        throw new AssertionError(`unreachable: read command ${checked.spec.name} has no implementation`);
    }
  }

  /** Looks at COUNT keys (or a few more: whole hash groups) from the cursor on; MATCH and TYPE filter those. */
  private scan(args: Buffer[]): Buffer {
    const o = parseScanOptions(args, SCAN_COUNT_DEFAULT);
    assert(!('error' in o), 'SCAN syntax was checked');
    const matches = o.match === null ? () => true : keyMatcher(o.match);
    const typeOk = o.type === null || o.type === 'string';
    const page = this.index.scan(o.cursor > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(o.cursor), o.count);
    const found = typeOk ? page.keys.filter(matches).map((k) => w.bulk(Buffer.from(k, 'latin1'))) : [];
    return w.array([w.bulk(String(page.next)), w.array(found)]);
  }

  /**
   * SHA-256 over everything apply() depends on: keys and values (in byte order), the
   * request-id table (in its order) and the last index. Two nodes that applied the same
   * entries have the same digest.
   */
  digest(): string {
    const h = createHash('sha256');
    const u64 = (n: number): void => {
      const b = Buffer.alloc(8);
      b.writeBigUInt64BE(BigInt(n));
      h.update(b);
    };
    u64(this.lastIndex);
    u64(this.values.size);
    for (const k of [...this.values.keys()].sort()) {
      const v = this.values.get(k)!;
      u64(k.length);
      h.update(k, 'latin1');
      u64(v.length);
      h.update(v);
    }
    u64(this.dedup.size);
    for (const [tid, rec] of this.dedup) {
      const t = Buffer.from(tid, 'utf8');
      u64(t.length);
      h.update(t);
      u64(rec.index);
      u64(rec.reply.length);
      h.update(rec.reply);
    }
    return h.digest('hex');
  }
}

function key(b: Buffer): string {
  return b.toString('latin1');
}
