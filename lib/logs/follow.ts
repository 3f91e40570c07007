// `--follow`: tail -f over every actor log under the roots, rotation included.
import * as fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { MalformedCounter, parseLine, type LogRecord } from './record.js';
import { findActorLogs } from './sources.js';

/** Longest partial line kept while waiting for its newline; past it the line is dropped as malformed. */
const CARRY_BYTES_MAX = 1 << 20;
/** Most bytes read from one file in one poll; the rest waits for the next. */
const READ_BYTES_MAX = 8 << 20;

interface Tail {
  node: string;
  actor: string;
  file: string;
  ino: number | null;
  offset: number;
  carry: string;
  lineNo: number;
  /** Keeps a UTF-8 character split across two reads whole. */
  decoder: StringDecoder;
}

function statOrNull(file: string): fs.Stats | null {
  try {
    return fs.statSync(file);
  } catch {
    return null;
  }
}

/**
 * Follows the live `<actor>.log` files under `roots`. snapshot() fixes where the existing
 * content ends (read that with readActorLog and endBytes); run() then polls for what is
 * appended after, picks up files that appear later from their start, and on rotation
 * (the inode changed) finishes the old file at `<actor>.log.1` before starting the new.
 */
export class Follower {
  private readonly tails = new Map<string, Tail>();

  constructor(
    private readonly roots: string[],
    private readonly malformed: MalformedCounter,
    private readonly pollMs = 200,
  ) {}

  /** Sizes of the live files now: the end of what counts as existing content. */
  snapshot(): Map<string, number> {
    const ends = new Map<string, number>();
    for (const log of findActorLogs(this.roots)) {
      const st = statOrNull(log.live);
      this.tails.set(log.live, { node: log.node, actor: log.actor, file: log.live, ino: st?.ino ?? null, offset: st?.size ?? 0, carry: '', lineNo: 0, decoder: new StringDecoder('utf8') });
      ends.set(log.live, st?.size ?? 0);
    }
    return ends;
  }

  get fileCount(): number {
    return this.tails.size;
  }

  /** Polls until `signal` aborts, handing each poll's new records over in time order. */
  async run(signal: AbortSignal, onRecords: (records: LogRecord[]) => void): Promise<void> {
    while (!signal.aborted) {
      const batch = this.poll();
      if (batch.length > 0) onRecords(batch);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, this.pollMs);
        function done(): void {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          resolve();
        }
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }

  /** One round over every file; the new records in time order. */
  poll(): LogRecord[] {
    try {
      for (const log of findActorLogs(this.roots)) {
        if (!this.tails.has(log.live)) this.tails.set(log.live, { node: log.node, actor: log.actor, file: log.live, ino: null, offset: 0, carry: '', lineNo: 0, decoder: new StringDecoder('utf8') });
      }
    } catch {
      // A root vanished for a moment; keep following what we have.
    }
    const out: LogRecord[] = [];
    for (const t of this.tails.values()) this.pollOne(t, out);
    return out.sort((a, b) => a.timeMs - b.timeMs);
  }

  private pollOne(t: Tail, out: LogRecord[]): void {
    const st = statOrNull(t.file);
    if (t.ino !== null && (st === null || st.ino !== t.ino)) {
      // Rotated: the file we read is now <actor>.log.1; finish it first.
      const old = statOrNull(t.file + '.1');
      if (old && old.ino === t.ino) this.readFrom(t, t.file + '.1', old.size, out);
      this.flushCarry(t, out);
      t.ino = null;
      t.offset = 0;
      t.lineNo = 0;
      t.decoder = new StringDecoder('utf8');
    }
    if (st === null) return;
    if (t.ino === null) {
      t.ino = st.ino;
      t.offset = 0;
    }
    if (st.size < t.offset) {
      // Truncated in place: start over.
      t.offset = 0;
      t.carry = '';
      t.decoder = new StringDecoder('utf8');
    }
    if (st.size > t.offset) this.readFrom(t, t.file, st.size, out);
  }

  private readFrom(t: Tail, file: string, size: number, out: LogRecord[]): void {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch {
      return;
    }
    try {
      while (t.offset < size && this.readChunk(t, fd, file, Math.min(size - t.offset, READ_BYTES_MAX), out));
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Reads up to `want` bytes at t.offset; false when there was nothing (the file shrank meanwhile). */
  private readChunk(t: Tail, fd: number, file: string, want: number, out: LogRecord[]): boolean {
    {
      const buf = Buffer.alloc(want);
      const n = fs.readSync(fd, buf, 0, want, t.offset);
      if (n === 0) return false;
      t.offset += n;
      const text = t.carry + t.decoder.write(buf.subarray(0, n));
      const lines = text.split('\n');
      t.carry = lines.pop()!;
      if (t.carry.length > CARRY_BYTES_MAX) {
        this.malformed.add(file, t.lineNo + lines.length + 1);
        t.carry = '';
      }
      for (const line of lines) {
        t.lineNo++;
        if (line.trim().length === 0) continue;
        const rec = parseLine(line, { node: t.node, actor: t.actor, file });
        if (rec) out.push(rec);
        else this.malformed.add(file, t.lineNo);
      }
    }
    return true;
  }

  /** A last line without its newline in a rotated-away file is as complete as it will get. */
  private flushCarry(t: Tail, out: LogRecord[]): void {
    if (t.carry.trim().length === 0) {
      t.carry = '';
      return;
    }
    t.lineNo++;
    const rec = parseLine(t.carry, { node: t.node, actor: t.actor, file: t.file });
    if (rec) out.push(rec);
    else this.malformed.add(t.file, t.lineNo);
    t.carry = '';
    t.lineNo = 0;
  }
}
