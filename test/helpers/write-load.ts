// A steady write load for membership tests and benchmarks: writers each SET their own
// fresh keys one at a time (REQ ids, so a retry after a lost reply applies once),
// through whichever node answers, moving on to the next node when one fails. It keeps
// what was acknowledged (to read back afterwards: no acknowledged write may be lost)
// and the longest gap between two acknowledgements.
import { RespClient, RespError } from '../../lib/client/resp-client.js';

export interface Endpoint {
  id: string;
  host: string;
  clientPort: number;
}

/** One attempt's bound: a write stuck behind a dead connection is retried elsewhere. */
const ATTEMPT_TIMEOUT_MS = 3000;
/** A write is given up (and counted failed) after this many attempts. */
const ATTEMPTS_MAX = 40;
const RETRY_PAUSE_MS = 20;

export class WriteLoad {
  /** key -> value of every acknowledged SET. */
  readonly acked = new Map<string, string>();
  /** Writes given up after ATTEMPTS_MAX (acknowledged nowhere, so they may or may not have applied). */
  failed = 0;
  /** Attempts answered with an error or a failed connection (retried). */
  retries = 0;
  gapMaxMs = 0;
  private lastAckAt = 0;
  private stopping = false;
  private running: Promise<void>[] = [];
  /** Gaps are only counted between `measureFrom()` and stop. */
  private measuring = false;

  constructor(
    private readonly endpoints: () => Endpoint[],
    private readonly prefix: string,
    private readonly writers = 2,
  ) {}

  start(): void {
    this.lastAckAt = performance.now();
    for (let w = 0; w < this.writers; w++) this.running.push(this.writer(w));
  }

  /** Starts measuring the gap between acknowledgements now (after warm-up). */
  measureFrom(): void {
    this.gapMaxMs = 0;
    this.lastAckAt = performance.now();
    this.measuring = true;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.running);
  }

  private async writer(w: number): Promise<void> {
    const clients = new Map<string, RespClient>();
    let at = w;
    try {
      for (let i = 0; !this.stopping; i++) {
        const key = `${this.prefix}-${w}-${i}`;
        const value = `v${i}`;
        let done = false;
        for (let attempt = 0; attempt < ATTEMPTS_MAX && !done && !this.stopping; attempt++) {
          const eps = this.endpoints();
          const ep = eps[at % eps.length]!;
          let r: unknown;
          try {
            let c = clients.get(ep.id);
            if (!c) {
              c = await RespClient.connect(ep.host, ep.clientPort, { connectTimeoutMs: 1000 });
              clients.set(ep.id, c);
            }
            r = await withTimeout(c.command('REQ', key, 'SET', key, value), ATTEMPT_TIMEOUT_MS);
          } catch (err) {
            r = err;
          }
          if (r === 'OK') {
            const now = performance.now();
            if (this.measuring) this.gapMaxMs = Math.max(this.gapMaxMs, now - this.lastAckAt);
            this.lastAckAt = now;
            this.acked.set(key, value);
            done = true;
          } else {
            this.retries++;
            if (!(r instanceof RespError)) {
              clients.get(ep.id)?.destroy();
              clients.delete(ep.id);
            }
            at++;
            await new Promise((res) => setTimeout(res, RETRY_PAUSE_MS));
          }
        }
        if (!done && !this.stopping) this.failed++;
      }
    } finally {
      for (const c of clients.values()) c.destroy();
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no reply within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

/** Keys whose acknowledged value a node does not return (read through `ep`, one MGET per batch). */
export async function lostWrites(ep: Endpoint, acked: ReadonlyMap<string, string>): Promise<string[]> {
  const c = await RespClient.connect(ep.host, ep.clientPort, { connectTimeoutMs: 2000 });
  const lost: string[] = [];
  try {
    const keys = [...acked.keys()];
    for (let i = 0; i < keys.length; i += 500) {
      const batch = keys.slice(i, i + 500);
      const r = await c.command('MGET', ...batch);
      if (!Array.isArray(r)) throw new Error(`MGET: ${String(r)}`);
      batch.forEach((k, j) => {
        const v = r[j];
        if (!(Buffer.isBuffer(v) && v.toString('utf8') === acked.get(k))) lost.push(k);
      });
    }
  } finally {
    c.destroy();
  }
  return lost;
}
