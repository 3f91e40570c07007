// A frame that carries large byte strings (100 KB values in an append, snapshot chunks)
// is encoded in parts: the msgpack around each large one is written into a small buffer,
// and the large bytes themselves are a part of their own, the very memory the entry
// holds, which the socket writes from where it is (one writev per event-loop turn). The
// bytes on the wire are plain msgpack, as encodeFrame's (any reader decodes them alike).
// msgpackr copied each value into its output buffer, a fresh buffer of several MiB every
// few frames, and each of a leader's replicators did so for every value: on this VM the
// page faults of that memory cost more than the copy (perf: exc_page_fault under memmove).
import type { Frame } from '../actor/protocol.js';
import { assert } from '../util/assert.js';
import { FRAME_BODY_BYTES_LIMIT, FRAME_HEADER_BYTES } from './frame-codec.js';

/** A byte string this large goes as a part of its own instead of a copy. */
export const PART_BYTES_MIN = 16 * 1024;
/** The first buffer for the msgpack around the parts; it grows when a frame needs more. */
const HEAD_BYTES_INITIAL = 1024;

/** Whether any byte string in the frame is PART_BYTES_MIN or longer (then encodeFrameParts saves its copy). */
export function hasLargeBytes(frame: Frame): boolean {
  if (frame.t !== 'msgs') return false;
  for (const m of frame.m) {
    switch (m.type) {
      case 'append':
        for (const e of m.entries) if (e.data.byteLength >= PART_BYTES_MIN) return true;
        break;
      case 'snapChunk':
        if (m.data.byteLength >= PART_BYTES_MIN) return true;
        break;
      case 'fwdWrite':
        for (const it of m.items) if (it.data.byteLength >= PART_BYTES_MIN) return true;
        break;
      case 'fwdReply':
        for (const it of m.replies) if (it.reply.byteLength >= PART_BYTES_MIN) return true;
        break;
      default:
        break;
    }
  }
  return false;
}

/** Writes msgpack into growing buffers, cutting a part at each large byte string. */
class PartsWriter {
  readonly parts: Buffer[] = [];
  bytes = 0;
  private buf = Buffer.allocUnsafe(HEAD_BYTES_INITIAL);
  /** Where the current part starts in buf, and where the next byte goes. */
  private start = 0;
  private pos = 0;

  constructor() {
    this.pos = FRAME_HEADER_BYTES; // the length prefix, written by finish()
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    this.cut();
    // Bytes already cut stay where they are (their part views them): continue in a new buffer.
    this.buf = Buffer.allocUnsafe(Math.max(2 * this.buf.length, n));
    this.start = 0;
    this.pos = 0;
  }

  private cut(): void {
    if (this.pos > this.start) this.push(this.buf.subarray(this.start, this.pos));
    this.start = this.pos;
  }

  private push(part: Buffer): void {
    this.parts.push(part);
    this.bytes += part.length;
  }

  private byte(b: number): void {
    this.room(1);
    this.buf[this.pos++] = b;
  }

  /** A type byte followed by an unsigned big-endian integer of `width` bytes. */
  private head(type: number, width: 0 | 1 | 2 | 4, n: number): void {
    this.room(1 + width);
    this.buf[this.pos++] = type;
    if (width === 1) this.buf[this.pos++] = n;
    else if (width === 2) this.pos = this.buf.writeUInt16BE(n, this.pos);
    else if (width === 4) this.pos = this.buf.writeUInt32BE(n, this.pos);
  }

  value(v: unknown): void {
    switch (typeof v) {
      case 'string':
        return this.string(v);
      case 'number':
        return this.number(v);
      case 'boolean':
        return this.byte(v ? 0xc3 : 0xc2);
      case 'undefined':
        // msgpackr's encoding of undefined (fixext 1, type 0), which it decodes as undefined.
        this.room(3);
        this.buf[this.pos++] = 0xd4;
        this.buf[this.pos++] = 0;
        this.buf[this.pos++] = 0;
        return;
      case 'object':
        if (v === null) return this.byte(0xc0);
        if (v instanceof Uint8Array) return this.binary(v);
        if (Array.isArray(v)) return this.array(v);
        assert(Object.getPrototypeOf(v) === Object.prototype, `frame value of class ${v.constructor?.name}`);
        return this.map(v as Record<string, unknown>);
      default:
        assert(false, `frame value of type ${typeof v}`);
    }
  }

  private number(n: number): void {
    if (Number.isInteger(n) && n >= 0 && n <= 0xffff_ffff) {
      if (n < 0x80) this.byte(n);
      else if (n < 0x100) this.head(0xcc, 1, n);
      else if (n < 0x10000) this.head(0xcd, 2, n);
      else this.head(0xce, 4, n);
    } else if (Number.isInteger(n) && n < 0 && n >= -0x8000_0000) {
      this.room(5);
      if (n >= -0x20) {
        this.buf[this.pos++] = n & 0xff;
      } else if (n >= -0x80) {
        this.buf[this.pos++] = 0xd0;
        this.pos = this.buf.writeInt8(n, this.pos);
      } else if (n >= -0x8000) {
        this.buf[this.pos++] = 0xd1;
        this.pos = this.buf.writeInt16BE(n, this.pos);
      } else {
        this.buf[this.pos++] = 0xd2;
        this.pos = this.buf.writeInt32BE(n, this.pos);
      }
    } else {
      // Past 32 bits (and fractions) as a double, as msgpackr does: exact for safe integers.
      this.room(9);
      this.buf[this.pos++] = 0xcb;
      this.pos = this.buf.writeDoubleBE(n, this.pos);
    }
  }

  private string(s: string): void {
    const n = Buffer.byteLength(s, 'utf8');
    if (n < 32) this.head(0xa0 | n, 0, 0);
    else if (n < 0x100) this.head(0xd9, 1, n);
    else if (n < 0x10000) this.head(0xda, 2, n);
    else this.head(0xdb, 4, n);
    this.room(n);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  private binary(b: Uint8Array): void {
    const n = b.byteLength;
    if (n < 0x100) this.head(0xc4, 1, n);
    else if (n < 0x10000) this.head(0xc5, 2, n);
    else this.head(0xc6, 4, n);
    if (n >= PART_BYTES_MIN) {
      this.cut();
      this.push(Buffer.from(b.buffer, b.byteOffset, n));
      return;
    }
    this.room(n);
    this.buf.set(b, this.pos);
    this.pos += n;
  }

  private array(a: readonly unknown[]): void {
    const n = a.length;
    if (n < 16) this.head(0x90 | n, 0, 0);
    else if (n < 0x10000) this.head(0xdc, 2, n);
    else this.head(0xdd, 4, n);
    for (const x of a) this.value(x);
  }

  private map(o: Record<string, unknown>): void {
    const keys = Object.keys(o);
    const n = keys.length;
    if (n < 16) this.head(0x80 | n, 0, 0);
    else if (n < 0x10000) this.head(0xde, 2, n);
    else this.head(0xdf, 4, n);
    for (const k of keys) {
      this.string(k);
      this.value(o[k]);
    }
  }

  /** The parts, the first starting with the frame's length prefix. */
  finish(): Buffer[] {
    this.cut();
    const first = this.parts[0]!;
    assert(first.length >= FRAME_HEADER_BYTES, 'the first part holds the length prefix');
    const body = this.bytes - FRAME_HEADER_BYTES;
    assert(body > 0 && body <= FRAME_BODY_BYTES_LIMIT, `frame body of ${body} bytes`);
    first.writeUInt32BE(body, 0);
    return this.parts;
  }
}

/** One frame, length prefix included, as parts to write in order (their bytes are encodeFrame's body, re-encoded). */
export function encodeFrameParts(frame: Frame): Buffer[] {
  const w = new PartsWriter();
  w.value(frame);
  return w.finish();
}
