// The peer wire: a stream of frames, each a u32 big-endian body length followed by a
// msgpack body that encodes one Frame (actors/protocol.ts). Bodies are plain msgpack
// (no msgpackr records, no structured-clone extensions), so any msgpack reader can
// decode them. Bytes from peers are untrusted: every decoded frame is validated.
import { Packr, Unpackr, RESERVE_START_SPACE } from 'msgpackr';
import type { Frame } from '../actor/protocol.js';
import { assert } from '../util/assert.js';
import { ChunkList } from '../util/chunk-list.js';
import { RaftdError } from '../util/errors.js';
import { validateFrame } from './validate.js';

export const FRAME_HEADER_BYTES = 4;
/** The u32 length prefix cannot describe more. */
export const FRAME_BODY_BYTES_LIMIT = 0xffff_ffff;
/** 2: the hello carries a nonce and the handshake continues with challenge and proof (lib/wire/handshake.ts). */
export const WIRE_VERSION = 2;

const packr = new Packr({ useRecords: false, structuredClone: false, moreTypes: false, bundleStrings: false });
// Binary data decodes as views of the body (no copy per entry): a body is always
// memory of its own (FrameDecoder copies each one out of the socket chunks).
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, structuredClone: false, copyBuffers: false });

/** The body memory of each frame a FrameDecoder produced, which that frame alone references. */
const bodies = new WeakMap<Frame, ArrayBuffer>();

/**
 * A body this large is copied out of the socket chunks into shared memory instead: the
 * same one copy here, but the entries it holds then cross every later thread boundary
 * (main to the log writer) without a copy, where a transferred body's entries are
 * cloned at each. Smaller bodies stay plain: a shared buffer is a costlier allocation.
 */
export const SHARED_BODY_BYTES_MIN = 64 * 1024;

/**
 * Encodes one frame, length prefix included. The body is packed straight after 4
 * reserved bytes and the prefix is written in place: no copy. The returned Buffer is a
 * view of the packer's buffer that later encodes never overwrite (they write after it
 * or into a fresh buffer), so it may be handed to socket.write() as is.
 */
export function encodeFrame(frame: Frame): Buffer {
  const buf = packr.pack(frame, RESERVE_START_SPACE | FRAME_HEADER_BYTES) as Buffer;
  const bodyBytes = buf.length - FRAME_HEADER_BYTES;
  assert(bodyBytes > 0 && bodyBytes <= FRAME_BODY_BYTES_LIMIT, `frame body of ${bodyBytes} bytes`);
  buf.writeUInt32BE(bodyBytes, 0);
  return buf;
}

/**
 * Decodes one frame body (no length prefix). Entry data in the result are views of
 * `body`: the caller must not reuse that memory. Throws RaftdError RAFTD_FRAME_MALFORMED.
 */
export function decodeFrameBody(body: Uint8Array): Frame {
  let value: unknown;
  try {
    value = unpackr.unpack(body);
  } catch (err) {
    // msgpackr throws plain Errors (and RangeError on absurd nesting): all mean bad bytes.
    throw new RaftdError('RAFTD_FRAME_MALFORMED', `undecodable frame body: ${(err as Error)?.message ?? String(err)}`.slice(0, 200));
  }
  return validateFrame(value);
}

/**
 * What to transfer (not copy) when posting a decoded frame to another thread: the
 * body memory its entry data views, which nothing else references. Empty for a frame
 * that did not come from a FrameDecoder. The frame's data is unusable here afterwards.
 */
export function transferListOf(frame: Frame): ArrayBuffer[] {
  const body = bodies.get(frame);
  return body && frame.t === 'msgs' && frame.m.some((m) => m.type === 'append' && m.entries.length > 0) ? [body] : [];
}

/**
 * Streaming decoder for one connection. Chunks are kept in a list and a body is
 * copied out once, when complete (or sliced when it lies in one chunk), so feeding
 * it byte by byte stays linear. A length prefix over frameBytesMax throws
 * RAFTD_FRAME_TOO_LARGE as soon as the 4 prefix bytes are in, before any of that body
 * is waited for. After any error the decoder is poisoned: every later push throws.
 * Each frame's binary data views a fresh buffer holding that frame's body alone.
 * Chunks are kept by reference: the caller must not modify a chunk after pushing it.
 */
export class FrameDecoder {
  private readonly input = new ChunkList();
  /** Body length of the frame being assembled, once its prefix is read. */
  private bodyBytes = -1;
  private failure: RaftdError | null = null;

  constructor(private readonly frameBytesMax: number) {
    assert(Number.isInteger(frameBytesMax) && frameBytesMax > 0 && frameBytesMax <= FRAME_BODY_BYTES_LIMIT, 'frameBytesMax');
  }

  /** Bytes held waiting for the rest of a frame. */
  get bufferedBytes(): number {
    return this.input.length;
  }

  /**
   * Takes a chunk (at once, even if the result is not iterated) and returns the frames
   * completed so far. An error is thrown while iterating, after the good frames before it.
   */
  push(chunk: Uint8Array): IterableIterator<Frame> {
    if (this.failure === null) this.input.push(chunk);
    return this.drain();
  }

  private *drain(): IterableIterator<Frame> {
    for (;;) {
      if (this.failure) throw this.failure;
      if (this.bodyBytes < 0) {
        if (this.input.length < FRAME_HEADER_BYTES) return;
        const len = this.input.take(FRAME_HEADER_BYTES).readUInt32BE(0);
        if (len > this.frameBytesMax) {
          this.fail(new RaftdError('RAFTD_FRAME_TOO_LARGE', `frame length ${len} over the ${this.frameBytesMax} byte bound`));
          continue;
        }
        if (len === 0) {
          this.fail(new RaftdError('RAFTD_FRAME_MALFORMED', 'empty frame body'));
          continue;
        }
        this.bodyBytes = len;
      }
      if (this.input.length < this.bodyBytes) return;
      const body = this.input.take(this.bodyBytes, this.bodyBytes >= SHARED_BODY_BYTES_MIN ? 'shared' : true);
      this.bodyBytes = -1;
      let frame: Frame;
      try {
        frame = decodeFrameBody(body);
      } catch (err) {
        this.fail(err instanceof RaftdError ? err : new RaftdError('RAFTD_FRAME_MALFORMED', String(err)));
        continue;
      }
      // Shared memory is not transferred (it cannot be, and need not: posting it copies nothing).
      if (frame.t === 'msgs' && !(body.buffer instanceof SharedArrayBuffer)) bodies.set(frame, body.buffer as ArrayBuffer);
      yield frame;
    }
  }

  private fail(err: RaftdError): void {
    this.failure = err;
    this.input.clear();
  }
}
