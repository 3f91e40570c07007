// Byte records for the snapshot format (snapshot.ts): a chunk of thousands of keys is one
// buffer of length-prefixed strings, bytes and little-endian numbers, written and read in
// sequence, instead of a msgpack array of thousands of small arrays and buffers: packing
// and unpacking then cost a few allocations per key instead of dozens, and the garbage
// collector has little to do.
import { copyBytes } from '../util/copy-bytes.js';
import { RaftdError } from '../util/errors.js';

declare global {
  interface Buffer {
    /**
     * Node's latin1 decoder, what toString('latin1', start, end) calls after checking its
     * arguments (undocumented, on every Buffer since Node 0.x): a restore decodes two strings per key.
     */
    latin1Slice(start: number, end: number): string;
  }
}

function bad(what: string): never {
  throw new RaftdError('RAFTD_FRAME_MALFORMED', `bad snapshot: ${what}`);
}

export class RecordWriter {
  private buf: Buffer;
  private off = 0;

  constructor(initialBytes = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initialBytes);
  }

  get length(): number {
    return this.off;
  }

  private room(n: number): void {
    if (this.off + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.off + n));
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
  }

  u8(x: number): void {
    this.room(1);
    this.buf[this.off++] = x;
  }

  u32(x: number): void {
    this.room(4);
    this.buf.writeUInt32LE(x, this.off);
    this.off += 4;
  }

  f64(x: number): void {
    this.room(8);
    this.buf.writeDoubleLE(x, this.off);
    this.off += 8;
  }

  /** A latin1 string (one byte per char, as keys are kept), length first. */
  latin1(s: string): void {
    this.u32(s.length);
    this.room(s.length);
    this.off += this.buf.write(s, this.off, s.length, 'latin1');
  }

  utf8(s: string): void {
    // Room for the longest encoding, then the length written before the bytes: one pass.
    this.room(4 + 3 * s.length);
    const n = this.buf.write(s, this.off + 4, 'utf8');
    this.buf.writeUInt32LE(n, this.off);
    this.off += 4 + n;
  }

  bytes(b: Uint8Array): void {
    this.u32(b.length);
    this.room(b.length);
    copyBytes(this.buf, this.off, b);
    this.off += b.length;
  }

  /** The bytes written: a view, valid until the next reset(). */
  done(): Buffer {
    return this.buf.subarray(0, this.off);
  }

  /** Starts again, keeping the buffer: one writer serves a whole snapshot. */
  reset(): void {
    this.off = 0;
  }
}

export class RecordReader {
  private off = 0;

  constructor(private readonly buf: Buffer) {}

  get atEnd(): boolean {
    return this.off === this.buf.length;
  }

  private take(n: number): number {
    const at = this.off;
    if (n > this.buf.length - at) bad('record past the end of its chunk');
    this.off = at + n;
    return at;
  }

  u8(): number {
    return this.buf[this.take(1)]!;
  }

  u32(): number {
    return this.buf.readUInt32LE(this.take(4));
  }

  f64(): number {
    return this.buf.readDoubleLE(this.take(8));
  }

  latin1(): string {
    const n = this.u32();
    const at = this.take(n);
    return this.buf.latin1Slice(at, at + n);
  }

  utf8(): string {
    const n = this.u32();
    const at = this.take(n);
    return this.buf.toString('utf8', at, at + n);
  }

  /** A private copy (from Node's pool when small), never a view of the chunk. */
  bytes(): Buffer {
    const n = this.u32();
    const at = this.take(n);
    const out = Buffer.allocUnsafe(n);
    this.buf.copy(out, 0, at, at + n);
    return out;
  }

  /**
   * A string value's bytes in the form values.ts keeps them: up to `inlineMax` bytes a
   * latin1 string made straight from the chunk (no Buffer object in between: a restore
   * makes one per key), longer a private copy.
   */
  stringBytes(inlineMax: number): string | Buffer {
    const n = this.u32();
    const at = this.take(n);
    if (n <= inlineMax) return this.buf.latin1Slice(at, at + n);
    const out = Buffer.allocUnsafeSlow(n);
    this.buf.copy(out, 0, at, at + n);
    return out;
  }

  /** A view of the chunk: valid while the chunk is, for a caller that copies it at once. */
  view(): Buffer {
    const n = this.u32();
    const at = this.take(n);
    return this.buf.subarray(at, at + n);
  }

  /**
   * `prev` if the next bytes equal it (replies repeat: one "+OK" serves them all), else a
   * view of the chunk: for callers that copied the chunk once themselves.
   */
  viewOr(prev: Buffer | null): Buffer {
    const n = this.u32();
    const at = this.take(n);
    const buf = this.buf;
    if (prev !== null && prev.length === n) {
      let i = 0;
      while (i < n && prev[i] === buf[at + i]) i++;
      if (i === n) return prev;
    }
    return buf.subarray(at, at + n);
  }
}
