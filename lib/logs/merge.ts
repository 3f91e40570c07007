// k-way merge of time-ordered record streams into one time-ordered stream.
import type { LogRecord } from './record.js';

interface Head {
  rec: LogRecord;
  /** Which stream: breaks ties so that equal times keep a stable order. */
  source: number;
  it: AsyncIterator<LogRecord>;
}

function before(a: Head, b: Head): boolean {
  return a.rec.timeMs < b.rec.timeMs || (a.rec.timeMs === b.rec.timeMs && a.source < b.source);
}

/** A binary min-heap of stream heads; one entry per unfinished stream. */
class HeadHeap {
  private readonly a: Head[] = [];

  get size(): number {
    return this.a.length;
  }

  push(h: Head): void {
    const a = this.a;
    a.push(h);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  pop(): Head {
    const a = this.a;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l]!, a[m]!)) m = l;
        if (r < a.length && before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

/**
 * Merges streams that are each ordered by time into one ordered by time; equal times
 * come out in stream order, then in each stream's own order. Holds one record per
 * stream. A stream whose own times go backwards (a clock step) is passed through as is.
 */
export async function* mergeByTime(streams: AsyncIterable<LogRecord>[]): AsyncGenerator<LogRecord> {
  const heap = new HeadHeap();
  const iters = streams.map((s) => s[Symbol.asyncIterator]());
  try {
    await Promise.all(
      iters.map(async (it, source) => {
        const n = await it.next();
        if (!n.done) heap.push({ rec: n.value, source, it });
      }),
    );
    while (heap.size > 0) {
      const h = heap.pop();
      yield h.rec;
      const n = await h.it.next();
      if (!n.done) heap.push({ rec: n.value, source: h.source, it: h.it });
    }
  } finally {
    // Stopped early (a consumer break): close every stream's files.
    await Promise.all(iters.map((it) => it.return?.(undefined)));
  }
}
