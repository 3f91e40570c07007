import { assert } from '../util/assert.js';
import { ChunkList } from '../util/chunk-list.js';
import { RespProtocolError } from './errors.js';
import { splitArgs } from './split-args.js';

/**
 * Incremental parser for client requests in RESP2, as Redis reads them: a multibulk
 * request (`*<n>\r\n` then n times `$<len>\r\n<bytes>\r\n`, what redis-cli and client
 * libraries send) or an inline command (one line split on spaces with Redis' quoting
 * rules, what people type into `nc`). Arguments are Buffers (binary safe).
 *
 * feed() keeps received chunks as they are; bytes are copied at most once, when an
 * argument spans chunks, so a large bulk string fed in small pieces costs linear time.
 * Every frame is bounded (see RespParserLimits). A malformed or oversized frame throws
 * RespProtocolError, and every later next() throws it again: the stream cannot be
 * resynchronised, the connection has to go.
 */
export interface RespParserLimits {
  /** Largest bulk string (`$<len>`), in bytes. */
  bulkBytesMax: number;
  /** Most arguments in one multibulk request (`*<n>`). */
  argsMax: number;
  /** Longest inline command line, in bytes (Redis: 64 KiB). */
  inlineBytesMax: number;
  /** Bound on the bytes of all arguments of one request together. */
  commandBytesMax: number;
}

export const ARGS_MAX_DEFAULT = 64 * 1024;
export const INLINE_BYTES_MAX_DEFAULT = 64 * 1024;

export function parserLimits(requestBytesMax: number): RespParserLimits {
  return {
    bulkBytesMax: requestBytesMax,
    argsMax: ARGS_MAX_DEFAULT,
    inlineBytesMax: Math.min(INLINE_BYTES_MAX_DEFAULT, requestBytesMax),
    // A request may carry a few arguments of the largest size (key + value, tid + data).
    commandBytesMax: 4 * requestBytesMax,
  };
}

/** A valid count line ("*<n>\r" or "$<n>\r") is at most 22 bytes; search no further. */
const COUNT_LINE_BYTES_MAX = 32;

const CR = 13;
const LF = 10;
const STAR = 42; // *
const DOLLAR = 36; // $

export class RespParser {
  /** Unconsumed input. */
  private readonly input = new ChunkList();
  // Multibulk state. Invariant: argsLeft > 0 exactly while inside a multibulk request.
  private argsLeft = 0;
  private args: Buffer[] = [];
  private bulkLen = -1;
  private commandBytes = 0;
  private failed: RespProtocolError | null = null;

  constructor(private readonly limits: RespParserLimits) {
    assert(limits.bulkBytesMax >= 0 && limits.argsMax > 0, 'parser limits must be positive');
    assert(limits.inlineBytesMax > 0 && limits.commandBytesMax >= limits.bulkBytesMax, 'parser limits inconsistent');
  }

  feed(chunk: Buffer): void {
    this.input.push(chunk);
  }

  /** Bytes received and not yet consumed (part of no command returned so far). */
  get bufferedBytes(): number {
    return this.input.length;
  }

  /** The next complete request, null when more input is needed. Empty requests are skipped. */
  next(): Buffer[] | null {
    if (this.failed) throw this.failed;
    try {
      return this.step();
    } catch (err) {
      if (err instanceof RespProtocolError) this.failed = err;
      throw err;
    }
  }

  private step(): Buffer[] | null {
    for (;;) {
      if (this.argsLeft === 0) {
        if (this.input.length === 0) return null;
        if (this.input.peek(0) !== STAR) {
          const inline = this.readInline();
          if (inline === null) return null;
          if (inline.length === 0) continue;
          return inline;
        }
        const count = this.readCountLine('*');
        if (count === null) return null;
        if (count > this.limits.argsMax) throw tooLarge('invalid multibulk length');
        // Redis ignores `*0` and `*-1` requests.
        if (count <= 0) continue;
        this.argsLeft = count;
        this.args = [];
        this.commandBytes = 0;
      }
      while (this.argsLeft > 0) {
        if (this.bulkLen < 0) {
          if (this.input.length === 0) return null;
          const first = this.input.peek(0);
          if (first !== DOLLAR) throw malformed(`expected '$', got '${String.fromCharCode(first)}'`);
          const len = this.readCountLine('$');
          if (len === null) return null;
          if (len < 0) throw malformed('invalid bulk length');
          if (len > this.limits.bulkBytesMax) throw tooLarge('invalid bulk length');
          this.commandBytes += len;
          if (this.commandBytes > this.limits.commandBytesMax) throw tooLarge('too big request');
          this.bulkLen = len;
        }
        if (this.input.length < this.bulkLen + 2) return null;
        const arg = this.input.take(this.bulkLen);
        if (this.input.peek(0) !== CR || this.input.peek(1) !== LF) throw malformed('invalid bulk terminator');
        this.input.skip(2);
        this.args.push(arg);
        this.argsLeft--;
        this.bulkLen = -1;
      }
      const out = this.args;
      this.args = [];
      return out;
    }
  }

  /** A `*<n>\r\n` or `$<n>\r\n` line; null while incomplete. */
  private readCountLine(kind: '*' | '$'): number | null {
    const cr = this.input.indexOf(CR, COUNT_LINE_BYTES_MAX);
    if (cr < 0) {
      if (this.input.length >= COUNT_LINE_BYTES_MAX) {
        throw tooLarge(kind === '*' ? 'too big mbulk count string' : 'too big bulk count string');
      }
      return null;
    }
    if (this.input.length < cr + 2) return null;
    const line = this.input.take(cr);
    const invalid = kind === '*' ? 'invalid multibulk length' : 'invalid bulk length';
    if (this.input.peek(1) !== LF) throw malformed(invalid);
    this.input.skip(2);
    const n = parseInteger(line, 1);
    if (n === null) throw malformed(invalid);
    return n;
  }

  private readInline(): Buffer[] | null {
    const max = this.limits.inlineBytesMax;
    const lf = this.input.indexOf(LF, max + 1);
    if (lf < 0) {
      if (this.input.length > max) throw tooLarge('too big inline request');
      return null;
    }
    let line = this.input.take(lf);
    this.input.skip(1);
    if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, line.length - 1);
    const args = splitArgs(line);
    if (args === null) throw malformed('unbalanced quotes in request');
    return args;
  }
}

/**
 * Redis' string2ll on buf[from..]: optional '-', digits, no leading zeros, no '+',
 * within a signed 64-bit range. Null when not such a number.
 */
export function parseInteger(buf: Uint8Array, from = 0): number | null {
  const len = buf.length - from;
  if (len <= 0 || len > 20) return null;
  let i = from;
  let neg = false;
  if (buf[i] === 45 /* - */) {
    neg = true;
    i++;
    if (i === buf.length) return null;
  }
  if (buf[i] === 48 /* 0 */) return !neg && i + 1 === buf.length ? 0 : null;
  let v = 0;
  for (; i < buf.length; i++) {
    const d = buf[i]! - 48;
    if (d < 0 || d > 9) return null;
    v = v * 10 + d;
  }
  if (v > 9_223_372_036_854_775_807) return null;
  return neg ? -v : v;
}

function malformed(detail: string): RespProtocolError {
  return new RespProtocolError('RAFTD_FRAME_MALFORMED', detail);
}

function tooLarge(detail: string): RespProtocolError {
  return new RespProtocolError('RAFTD_FRAME_TOO_LARGE', detail);
}
