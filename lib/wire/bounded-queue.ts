import { assert } from '../util/assert.js';

/**
 * A FIFO of at most `capacity` items and `bytesMax` bytes (as `sizeOf` estimates them)
 * that drops its oldest items to make room: the replicator's backlog while a peer is
 * unreachable or slow. Raft retries whatever is dropped, and the newest messages are
 * the ones worth sending. The newest item is always kept, even alone over bytesMax.
 */
export class BoundedQueue<T> {
  private readonly ring: (T | undefined)[];
  private readonly sizes: number[];
  private head = 0;
  private count = 0;
  private size = 0;

  constructor(
    readonly capacity: number,
    readonly bytesMax = Infinity,
    private readonly sizeOf: (item: T) => number = () => 0,
  ) {
    assert(Number.isInteger(capacity) && capacity > 0, 'queue capacity must be a positive integer');
    assert(bytesMax > 0, 'queue bytesMax must be positive');
    this.ring = new Array<T | undefined>(capacity);
    this.sizes = new Array<number>(capacity).fill(0);
  }

  get length(): number {
    return this.count;
  }

  /** Estimated bytes held. */
  get bytes(): number {
    return this.size;
  }

  /** Appends the items; returns how many old items were dropped to make room. */
  pushAll(items: readonly T[]): number {
    let dropped = 0;
    for (const item of items) {
      const n = this.sizeOf(item);
      while (this.count === this.capacity || (this.count > 0 && this.size + n > this.bytesMax)) {
        this.dropFront();
        dropped++;
      }
      const at = (this.head + this.count) % this.capacity;
      this.ring[at] = item;
      this.sizes[at] = n;
      this.size += n;
      this.count++;
    }
    return dropped;
  }

  /** Removes and returns up to n items from the front. */
  shift(n: number): T[] {
    const k = Math.min(n, this.count);
    const out = new Array<T>(k);
    for (let i = 0; i < k; i++) {
      out[i] = this.ring[this.head] as T;
      this.dropFront();
    }
    return out;
  }

  private dropFront(): void {
    this.ring[this.head] = undefined;
    this.size -= this.sizes[this.head]!;
    this.sizes[this.head] = 0;
    this.head = (this.head + 1) % this.capacity;
    this.count--;
  }

  clear(): number {
    const n = this.count;
    this.shift(n);
    return n;
  }
}
