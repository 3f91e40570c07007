// k-way merge of time-ordered record streams into one time-ordered stream.
import type { LogRecord } from './record.js';
import { MinHeap } from '../util/min-heap.js';

interface Head {
  rec: LogRecord;
  /** Which stream: breaks ties so that equal times keep a stable order. */
  source: number;
  it: AsyncIterator<LogRecord>;
}

function before(a: Head, b: Head): boolean {
  return a.rec.timeMs < b.rec.timeMs || (a.rec.timeMs === b.rec.timeMs && a.source < b.source);
}

/**
 * Merges streams that are each ordered by time into one ordered by time; equal times
 * come out in stream order, then in each stream's own order. Holds one record per
 * stream. A stream whose own times go backwards (a clock step) is passed through as is.
 */
export async function* mergeByTime(streams: AsyncIterable<LogRecord>[]): AsyncGenerator<LogRecord> {
  // One entry per unfinished stream.
  const heap = new MinHeap<Head>(before);
  const iters = streams.map((s) => s[Symbol.asyncIterator]());
  try {
    await Promise.all(
      iters.map(async (it, source) => {
        const n = await it.next();
        if (!n.done) heap.push({ rec: n.value, source, it });
      }),
    );
    while (heap.size > 0) {
      const h = heap.pop()!;
      yield h.rec;
      const n = await h.it.next();
      if (!n.done) heap.push({ rec: n.value, source: h.source, it: h.it });
    }
  } finally {
    // Stopped early (a consumer break): close every stream's files.
    await Promise.all(iters.map((it) => it.return?.(undefined)));
  }
}
