// What the log writer has made durable, in shared memory: the highest write seq covered
// by a completed sync. The log writer stores it after every sync; main reads it at the
// start of each round. A follower's writes are reported late (LogWrite.quiet: a post
// would wake main for bookkeeping only), and until main hears of one, an acknowledgement
// that claims its entries waits behind it and leaves through the log writer with an empty
// write: a heartbeat's answer during a read after a write took that detour every time.
// Read here, the write is known durable as soon as it is, at no wake-up of anyone.
import { assert } from '../util/assert.js';

export class DurableSeq {
  readonly buffer: SharedArrayBuffer;
  private readonly cell: BigInt64Array;

  constructor(buffer: SharedArrayBuffer = new SharedArrayBuffer(8)) {
    assert(buffer.byteLength === 8, `durable seq cell of ${buffer.byteLength} bytes`);
    this.buffer = buffer;
    this.cell = new BigInt64Array(buffer);
  }

  /** Log writer: every write with seq <= `seq` is durable. Never goes back. */
  store(seq: number): void {
    // After every sync: the message is built only when the check fails.
    const prev = this.load();
    if (!(Number.isSafeInteger(seq) && seq >= prev)) assert(false, `durable seq ${seq} after ${prev}`);
    Atomics.store(this.cell, 0, BigInt(seq));
  }

  /** The highest write seq known durable (0: none yet). */
  load(): number {
    return Number(Atomics.load(this.cell, 0));
  }
}
