// Refusals are logged once per source and interval, not once per attempt: a peer with
// a wrong secret retries every second, a scanner opens thousands of connections, and
// neither may flood the log. The first refusal from a source is logged at once; later
// ones within the interval are counted and the count rides on the next line logged for
// that source. Pure apart from the clock it is given.
import { assert } from '../util/assert.js';

export interface RefusalLogOptions {
  intervalMs: number;
  /** Bound on sources remembered; the one seen longest ago is forgotten first. */
  sourcesMax: number;
}

interface SourceState {
  loggedAtMs: number;
  suppressed: number;
}

export class RefusalLog {
  // Map order is insertion order: a touched source is re-inserted, so the first key is the stalest.
  private readonly sources = new Map<string, SourceState>();

  constructor(private readonly opts: RefusalLogOptions) {
    assert(opts.intervalMs > 0 && opts.sourcesMax > 0, 'refusal log bounds');
  }

  /**
   * Whether to log this refusal now; when so, `suppressed` is how many from the same
   * source went unlogged since the last line.
   */
  note(source: string, nowMs: number): { log: boolean; suppressed: number } {
    const s = this.sources.get(source);
    if (s && nowMs - s.loggedAtMs < this.opts.intervalMs) {
      s.suppressed++;
      return { log: false, suppressed: 0 };
    }
    const suppressed = s?.suppressed ?? 0;
    this.sources.delete(source);
    if (this.sources.size >= this.opts.sourcesMax) this.sources.delete(this.sources.keys().next().value!);
    this.sources.set(source, { loggedAtMs: nowMs, suppressed: 0 });
    return { log: true, suppressed };
  }

  get size(): number {
    return this.sources.size;
  }
}

/** The address part of `host:port` (IPv6 keeps its colons). */
export function sourceOf(remote: string): string {
  const i = remote.lastIndexOf(':');
  return i > 0 ? remote.slice(0, i) : remote;
}
