// Little-endian u64 fields of the on-disk formats, as JS numbers: safe integers only.
const U32 = 0x1_0000_0000;

export function writeU64(buf: Buffer, p: number, n: number): number {
  buf.writeUInt32LE(n % U32, p);
  buf.writeUInt32LE(Math.floor(n / U32), p + 4);
  return p + 8;
}

/** The value at p; NaN past 2^53 (not a safe integer): callers treat that as damage. */
export function readU64(buf: Buffer, p: number): number {
  const hi = buf.readUInt32LE(p + 4);
  if (hi >= 0x20_0000) return Number.NaN;
  return hi * U32 + buf.readUInt32LE(p);
}
