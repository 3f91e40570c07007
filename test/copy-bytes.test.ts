// copyBytes copies exactly the source's bytes to the offset asked, whatever memory either
// side is in and however the two are aligned, and never more (Buffer's fill() repeats
// its pattern over a longer range: the range is always the pattern's length).
import t from 'tap';
import { copyBytes } from '../lib/util/copy-bytes.js';

function bytes(n: number, shared: boolean, seed: number): Uint8Array {
  const u = new Uint8Array(shared ? new SharedArrayBuffer(n) : new ArrayBuffer(n));
  for (let i = 0; i < n; i++) u[i] = (i * 31 + seed) & 0xff;
  return u;
}

t.test('every mix of shared and plain memory, sizes and alignments', async (t) => {
  let cases = 0;
  for (const srcShared of [false, true]) {
    for (const dstShared of [false, true]) {
      for (const n of [0, 1, 7, 255, 256, 257, 4096, 100_003]) {
        for (const srcOff of [0, 3]) {
          for (const dstOff of [0, 5]) {
            const src = bytes(n + srcOff + 8, srcShared, 1).subarray(srcOff, srcOff + n);
            const dst = bytes(n + dstOff + 16, dstShared, 2);
            const before = Uint8Array.from(dst);
            copyBytes(dst, dstOff, src);
            const want = Uint8Array.from(before);
            want.set(Uint8Array.from(src), dstOff);
            if (!Buffer.from(dst.buffer, dst.byteOffset, dst.byteLength).equals(want)) t.fail(`src ${srcShared ? 'shared' : 'plain'}+${srcOff}, dst ${dstShared ? 'shared' : 'plain'}+${dstOff}, ${n} B`);
            cases++;
          }
        }
      }
    }
  }
  t.equal(cases, 128, 'all cases ran and matched');
});

t.test('overlapping ranges of one shared buffer copy as a memmove would', async (t) => {
  const b = bytes(10_000, true, 3);
  const want = Uint8Array.from(b);
  want.copyWithin(1000, 0, 5000);
  copyBytes(b, 1000, b.subarray(0, 5000));
  t.ok(Buffer.from(b.buffer).equals(Buffer.from(want)), 'forward overlap');
});

t.test('a copy past the end of the destination is refused, not cut short', async (t) => {
  t.throws(() => copyBytes(new Uint8Array(10), 5, new Uint8Array(6)), /copy of 6 bytes at 5 into 10/);
  t.throws(() => copyBytes(new Uint8Array(new SharedArrayBuffer(1000)), 1, new Uint8Array(1000)), /copy of 1000 bytes at 1/);
});
