// Reusable shared buffers for the chunks of a snapshot being taken: the main thread fills
// one, posts a view of it to the log writer, and the log writer hands it back by clearing
// a flag in its first bytes once the chunk is on disk (releaseChunk). No message comes
// back and nothing is copied to cross the thread.
//
// Why: a fresh buffer per 256 KiB chunk meant touching fresh pages for every chunk, and on
// a loaded VM page faults dominated the main thread while a 35-70 MB snapshot of 100 KB
// values was taken (cpu-prof: 100-270 ms busy stretches in the chunk copy, next to
// heartbeats). A handful of warm slots serve a whole snapshot, and a snapshot cannot run
// further ahead of the disk than the slots hold: once all are in flight the taker waits
// for the log writer (Snapshots.serializing is false until one is free).
//
// Slot layout (a SharedArrayBuffer each):
//   [0, 4)   Int32 flag: 1 while the chunk is in flight, 0 once the log writer wrote it;
//   [4, 8)   the chunk's length prefix, written by frame() (lib/replica/snapshots.ts);
//   [8, ...) the chunk.
// A chunk larger than a slot gets an ArrayBuffer of its own (transferred, not shared).
import { CHUNK_HEADROOM_BYTES } from '../kv/snapshot.js';
import { assert } from '../util/assert.js';

const FLAG_BYTES = 4;
/** Where a slot's framed chunk (length prefix, then the chunk) starts. */
const FRAMED_OFFSET = FLAG_BYTES;
const CHUNK_OFFSET = FLAG_BYTES + CHUNK_HEADROOM_BYTES;
const IN_FLIGHT = 1;
const FREE = 0;

export class ChunkSlots {
  private readonly slots: SharedArrayBuffer[] = [];
  private readonly flags: Int32Array[] = [];

  /**
   * `count` slots (allocated on first use), each holding a chunk of up to `chunkBytesMax`
   * bytes: a cursor's chunk bound plus the largest value expected past it.
   */
  constructor(
    readonly count: number,
    readonly chunkBytesMax: number,
  ) {
    assert(Number.isSafeInteger(count) && count >= 1 && Number.isSafeInteger(chunkBytesMax) && chunkBytesMax >= 1024, 'chunk slots');
  }

  /** Some slot may take a chunk now. */
  hasFree(): boolean {
    if (this.slots.length < this.count) return true;
    return this.flags.some((f) => Atomics.load(f, 0) === FREE);
  }

  /**
   * `bytes` bytes for a chunk, with CHUNK_HEADROOM_BYTES free in front of it: a free slot
   * (marked in flight) when one is free and large enough, else an ArrayBuffer of its own.
   */
  alloc(bytes: number): Uint8Array {
    if (bytes <= this.chunkBytesMax) {
      const i = this.freeSlot();
      if (i >= 0) {
        Atomics.store(this.flags[i]!, 0, IN_FLIGHT);
        return new Uint8Array(this.slots[i]!, CHUNK_OFFSET, bytes);
      }
    }
    return new Uint8Array(new ArrayBuffer(CHUNK_HEADROOM_BYTES + bytes), CHUNK_HEADROOM_BYTES, bytes);
  }

  private freeSlot(): number {
    for (let i = 0; i < this.flags.length; i++) if (Atomics.load(this.flags[i]!, 0) === FREE) return i;
    if (this.slots.length >= this.count) return -1;
    const sab = new SharedArrayBuffer(CHUNK_OFFSET + this.chunkBytesMax);
    this.slots.push(sab);
    this.flags.push(new Int32Array(sab, 0, 1));
    return this.slots.length - 1;
  }
}

/**
 * The log writer is done with a framed snapshot chunk (it is on disk): its slot may be
 * reused. A chunk in a buffer of its own needs nothing.
 */
export function releaseChunk(framed: Uint8Array): void {
  if (!(framed.buffer instanceof SharedArrayBuffer)) return;
  assert(framed.byteOffset === FRAMED_OFFSET, `a shared snapshot chunk at offset ${framed.byteOffset}, not in a slot`);
  const flag = new Int32Array(framed.buffer, 0, 1);
  assert(Atomics.load(flag, 0) === IN_FLIGHT, 'a snapshot chunk slot released twice');
  Atomics.store(flag, 0, FREE);
}
