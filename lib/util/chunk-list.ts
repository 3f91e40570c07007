// Received bytes kept as the chunks they arrived in, with their count: the input side of
// every stream decoder (RESP requests and replies, peer frames). Bytes are copied at most
// once, when a piece taken spans chunks, so input fed a byte at a time stays linear.
// Chunks are kept by reference: the caller must not modify a chunk after pushing it.
import { assert } from './assert.js';
import { copyBytes } from './copy-bytes.js';

/** Consumed chunk references are dropped once this many (and half the list) pile up at the front. */
const COMPACT_CHUNKS = 64;
const EMPTY = Buffer.alloc(0);

export class ChunkList {
  // Unread bytes: chunks[head] from offset `off`, then the later chunks whole.
  // Invariant: bytes === the unread bytes; chunks[head..] are non-empty.
  private chunks: Buffer[] = [];
  private head = 0;
  private off = 0;
  private bytes = 0;
  // Where the last unsuccessful indexOf stopped: the first `scanned` unread bytes hold
  // no `scanByte`, and (scanChunk, scanOff) is where the search resumes.
  private scanByte = -1;
  private scanned = 0;
  private scanChunk = 0;
  private scanOff = 0;

  /** Unread bytes. */
  get length(): number {
    return this.bytes;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
    this.bytes += chunk.length;
  }

  /** The unread byte at offset i (i < length). */
  peek(i: number): number {
    assert(i < this.bytes, 'peek past the unread bytes');
    let ci = this.head;
    let at = this.off + i;
    while (at >= this.chunks[ci]!.length) {
      at -= this.chunks[ci]!.length;
      ci++;
    }
    return this.chunks[ci]![at]!;
  }

  /**
   * Offset of the first `byte` among the first `limit` unread bytes, or -1. A search
   * for the same byte resumes where the last unsuccessful one stopped, so input
   * trickling in is scanned once.
   */
  indexOf(byte: number, limit = this.bytes): number {
    if (this.scanByte !== byte) {
      this.scanByte = byte;
      this.resetScan();
    }
    let ci = this.scanChunk;
    let co = this.scanOff;
    let base = this.scanned;
    while (ci < this.chunks.length && base < limit) {
      const c = this.chunks[ci]!;
      const end = Math.min(c.length, co + (limit - base));
      const j = c.subarray(co, end).indexOf(byte);
      if (j >= 0) return base + j;
      base += end - co;
      co = end;
      if (co < c.length) break;
      ci++;
      co = 0;
    }
    this.scanChunk = ci;
    this.scanOff = co;
    this.scanned = base;
    return -1;
  }

  /**
   * Removes n unread bytes (n <= length): a view when they lie in one chunk, else one
   * copy; always a copy into memory of its own (an unpooled buffer of n bytes) if `own`,
   * into a SharedArrayBuffer of n bytes if `own` is 'shared'.
   */
  take(n: number, own: boolean | 'shared' = false): Buffer {
    assert(n <= this.bytes, 'take past the unread bytes');
    if (n === 0) return own === 'shared' ? Buffer.from(new SharedArrayBuffer(0)) : own ? Buffer.allocUnsafeSlow(0) : EMPTY;
    const first = this.chunks[this.head]!;
    let out: Buffer;
    if (!own && first.length - this.off >= n) {
      out = first.subarray(this.off, this.off + n);
    } else {
      out = own === 'shared' ? Buffer.from(new SharedArrayBuffer(n)) : own ? Buffer.allocUnsafeSlow(n) : Buffer.allocUnsafe(n);
      let w = 0;
      let ci = this.head;
      let co = this.off;
      while (w < n) {
        const c = this.chunks[ci]!;
        const k = Math.min(c.length - co, n - w);
        // Into shared memory, Buffer#copy is several times slower than TypedArray#set.
        if (own === 'shared') copyBytes(out, w, c.subarray(co, co + k));
        else c.copy(out, w, co, co + k);
        w += k;
        ci++;
        co = 0;
      }
    }
    this.skip(n);
    return out;
  }

  /** Drops n unread bytes (n <= length). */
  skip(n: number): void {
    assert(n <= this.bytes, 'skip past the unread bytes');
    this.bytes -= n;
    while (n > 0) {
      const c = this.chunks[this.head]!;
      const k = Math.min(c.length - this.off, n);
      this.off += k;
      n -= k;
      if (this.off === c.length) {
        this.chunks[this.head] = EMPTY;
        this.head++;
        this.off = 0;
      }
    }
    if (this.head === this.chunks.length) {
      this.chunks = [];
      this.head = 0;
    } else if (this.head >= COMPACT_CHUNKS && this.head * 2 >= this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
    this.resetScan();
  }

  /** Drops everything. */
  clear(): void {
    this.chunks = [];
    this.head = 0;
    this.off = 0;
    this.bytes = 0;
    this.resetScan();
  }

  private resetScan(): void {
    this.scanned = 0;
    this.scanChunk = this.head;
    this.scanOff = this.off;
  }
}
