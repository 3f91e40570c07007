// One connection's replies in command order. Every command takes a slot when it is
// parsed; a slot is filled when its answer is known (at once, or when main answers);
// the filled slots at the head are written together. Redis clients pipeline and match
// replies by position, so a later command's answer never overtakes an earlier one's.
import { assert } from '../util/assert.js';

/** One command's place in the reply order. `reply` is null while it waits. */
export interface Slot {
  reply: Buffer | null;
  /** Close the connection once this reply is written (QUIT, protocol error). */
  close: boolean;
  /** Writes and reads: when parsed and when answered (performance.now()), for the latency metrics. */
  timing?: { kind: 'write' | 'read'; startedAt: number; filledAt: number };
}

/** Past this many written slots at the head, the array is compacted (amortized O(1) per slot). */
const COMPACT_HEAD_MIN = 1024;

export class ReplyQueue {
  private slots: Slot[] = [];
  /** slots[head] is the oldest unwritten one. */
  private head = 0;
  /** Bytes of filled slots not yet written. */
  queuedBytes = 0;

  /** Slots taken and not yet written, filled or not. */
  get length(): number {
    return this.slots.length - this.head;
  }

  push(reply: Buffer | null, close: boolean): Slot {
    const slot: Slot = { reply, close };
    this.slots.push(slot);
    if (reply) this.queuedBytes += reply.length;
    return slot;
  }

  fill(slot: Slot, reply: Buffer, now: number): void {
    assert(slot.reply === null, 'reply slot filled twice');
    slot.reply = reply;
    if (slot.timing) slot.timing.filledAt = now;
    this.queuedBytes += reply.length;
  }

  /**
   * Takes the filled slots at the head, up to and including one that closes the
   * connection. `onSlot` sees each (for the latency metrics).
   */
  takeReady(onSlot: (slot: Slot) => void): { chunks: Buffer[]; bytes: number; close: boolean } {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let close = false;
    while (this.head < this.slots.length) {
      const slot = this.slots[this.head]!;
      if (slot.reply === null) break;
      onSlot(slot);
      chunks.push(slot.reply);
      bytes += slot.reply.length;
      this.head++;
      if (slot.close) {
        close = true;
        break;
      }
    }
    if (this.head === this.slots.length) this.clear();
    else if (this.head >= COMPACT_HEAD_MIN && this.head * 2 >= this.slots.length) {
      this.slots = this.slots.slice(this.head);
      this.head = 0;
    }
    this.queuedBytes -= bytes;
    assert(this.queuedBytes >= 0, 'queued reply bytes went negative');
    return { chunks, bytes, close };
  }

  /** Forget every slot (the connection is closing). */
  clear(): void {
    this.slots = [];
    this.head = 0;
  }
}
