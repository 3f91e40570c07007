// Copies bytes between views when either side may be shared memory (a SharedArrayBuffer:
// large entries, frame bodies a follower receives). V8's TypedArray set() (and Node's
// Buffer copy(), built on it) copies to or from shared memory with relaxed atomic loads
// and stores, word by word only when both ends share their alignment mod 8 and byte by
// byte otherwise, which is the common case for a value inside a frame. Measured here:
// 30 µs per 100 KB against 1.5 µs for a plain memcpy, and 14 % of all CPU of the
// large-values benchmark (`perf`: v8::internal::relaxed_memmove). Buffer's fill() with a
// view as the pattern copies with memcpy when the range is the pattern's length. Nobody
// writes entry or frame bytes once they exist, so the plain copy reads stable bytes.
import { assert } from './assert.js';

/** Below this a set() costs less than the native call (byte-by-byte is cheap for a few bytes). */
const FILL_BYTES_MIN = 256;

const fill = Buffer.prototype.fill as (this: Uint8Array, value: Uint8Array, offset: number, end: number) => Uint8Array;

/** dst[at .. at + src.length) = src. */
export function copyBytes(dst: Uint8Array, at: number, src: Uint8Array): void {
  const n = src.byteLength;
  assert(at >= 0 && at + n <= dst.byteLength, `copy of ${n} bytes at ${at} into ${dst.byteLength}`);
  // fill() is a memcpy: ranges of one buffer (which may overlap) go through set(), a memmove.
  if (n < FILL_BYTES_MIN || dst.buffer === src.buffer || !(dst.buffer instanceof SharedArrayBuffer || src.buffer instanceof SharedArrayBuffer)) {
    dst.set(src, at);
    return;
  }
  fill.call(dst, src, at, at + n);
}
