import { ChunkList } from '../util/chunk-list.js';
import { RespProtocolError } from './errors.js';
import { parseInteger } from './parser.js';

/** An error reply (`-CODE message`). `code` is the first word. */
export class RespError extends Error {
  readonly code: string;
  constructor(readonly reply: string) {
    super(reply);
    this.name = 'RespError';
    const sp = reply.indexOf(' ');
    this.code = sp < 0 ? reply : reply.slice(0, sp);
  }
}

/**
 * A decoded RESP2 reply: simple string -> string, bulk string -> Buffer, integer ->
 * number, null bulk / null array -> null, error -> RespError, array -> RespValue[].
 */
export type RespValue = string | number | Buffer | null | RespError | RespValue[];

export interface ReplyParserLimits {
  bulkBytesMax: number;
  arrayItemsMax: number;
}

const DEFAULT_LIMITS: ReplyParserLimits = { bulkBytesMax: 512 * 1024 * 1024, arrayItemsMax: 16 * 1024 * 1024 };

const INCOMPLETE = Symbol('incomplete');

/**
 * Incremental decoder of server replies (the client side of RESP2). A reply that is
 * still incomplete is parsed again from its start once at least the bytes it was
 * known to lack have arrived; until then they wait in a chunk list, so a large bulk
 * reply arriving in many pieces is copied once, not once per piece.
 */
export class ReplyParser {
  /** Where replies are parsed from: buf[pos..], then what waits in `later`. */
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private readonly later = new ChunkList();
  /** Bytes (from pos) the reply being parsed needs at least; 0 when unknown. */
  private need = 0;
  /** Set where parsing ran out: the end (as a buf offset) of the bytes it lacked. */
  private wanted = 0;

  constructor(private readonly limits: ReplyParserLimits = DEFAULT_LIMITS) {}

  feed(chunk: Buffer): void {
    this.later.push(chunk);
  }

  /** The next complete reply, or undefined when more input is needed. */
  next(): RespValue | undefined {
    const have = this.buf.length - this.pos + this.later.length;
    if (have === 0 || have < this.need) return undefined;
    if (this.later.length > 0) {
      const more = this.later.take(this.later.length);
      this.buf = this.pos === this.buf.length ? more : Buffer.concat([this.buf.subarray(this.pos), more]);
      this.pos = 0;
    }
    const start = this.pos;
    const v = this.value();
    if (v === INCOMPLETE) {
      this.need = this.wanted - start;
      this.pos = start;
      return undefined;
    }
    this.need = 0;
    return v;
  }

  private incomplete(end: number): typeof INCOMPLETE {
    this.wanted = end;
    return INCOMPLETE;
  }

  private line(): string | typeof INCOMPLETE {
    const cr = this.buf.indexOf('\r\n', this.pos, 'latin1');
    if (cr < 0) return this.incomplete(this.buf.length + 1);
    const s = this.buf.toString('utf8', this.pos, cr);
    this.pos = cr + 2;
    return s;
  }

  private int(s: string, what: string): number {
    const n = parseInteger(Buffer.from(s, 'latin1'));
    if (n === null) throw new RespProtocolError('RAFTD_FRAME_MALFORMED', `invalid ${what} '${s}'`);
    return n;
  }

  private value(): RespValue | typeof INCOMPLETE {
    if (this.pos >= this.buf.length) return this.incomplete(this.pos + 1);
    const type = String.fromCharCode(this.buf[this.pos]!);
    this.pos++;
    const line = this.line();
    if (line === INCOMPLETE) return INCOMPLETE;
    switch (type) {
      case '+':
        return line;
      case '-':
        return new RespError(line);
      case ':':
        return this.int(line, 'integer');
      case '$': {
        const len = this.int(line, 'bulk length');
        if (len < 0) return null;
        if (len > this.limits.bulkBytesMax) throw new RespProtocolError('RAFTD_FRAME_TOO_LARGE', 'invalid bulk length');
        if (this.buf.length - this.pos < len + 2) return this.incomplete(this.pos + len + 2);
        const body = Buffer.from(this.buf.subarray(this.pos, this.pos + len));
        if (this.buf[this.pos + len] !== 13 || this.buf[this.pos + len + 1] !== 10) {
          throw new RespProtocolError('RAFTD_FRAME_MALFORMED', 'invalid bulk terminator');
        }
        this.pos += len + 2;
        return body;
      }
      case '*': {
        const n = this.int(line, 'multibulk length');
        if (n < 0) return null;
        if (n > this.limits.arrayItemsMax) throw new RespProtocolError('RAFTD_FRAME_TOO_LARGE', 'invalid multibulk length');
        const items: RespValue[] = [];
        for (let i = 0; i < n; i++) {
          const v = this.value();
          if (v === INCOMPLETE) return INCOMPLETE;
          items.push(v);
        }
        return items;
      }
      default:
        throw new RespProtocolError('RAFTD_FRAME_MALFORMED', `unexpected reply type '${type}'`);
    }
  }
}
