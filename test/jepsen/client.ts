// One Jepsen client: runs one operation at a time against the cluster's RESP ports,
// retrying through leader changes, dead and paused nodes until the operation's
// deadline. A write goes out as `REQ <id> ...` and every retry resends the very same
// words, so the cluster applies it at most once. What the client learned decides the
// outcome: a reply is 'ok' (or 'fail' for an error reply to a first attempt); a
// deadline passed after a write may have reached a node is 'unknown' (it may still
// take effect), and before that, or for a read, 'fail' (no effect). A check-and-set
// (cas) is a WATCH/GET/MULTI/SET/EXEC sequence on one connection, restarted from WATCH
// on another node while EXEC is not sent yet; after that it cannot be resent (the
// transaction lives in the connection), so a lost EXEC reply is 'unknown'.
import type { ClientAccess } from '../../lib/client/access.js';
import { RespClient, RespError, type Arg, type RespValue } from '../../lib/client/resp-client.js';
import type { Prng } from '../sim/prng.js';
import { replyText } from './probe.js';
import { isRetryError, RETRY_CODES } from '../../lib/client/retry-policy.js';

export interface Endpoint {
  readonly id: string;
  readonly host: string;
  readonly clientPort: number;
  /** AUTH (and TLS) when the cluster runs with authentication on. */
  readonly access?: ClientAccess;
}

export interface ClientOptions {
  /** An operation's whole budget, retries included. */
  readonly opTimeoutMs: number;
  /** How long one attempt waits for its reply before trying another node. */
  readonly attemptTimeoutMs: number;
  readonly connectTimeoutMs: number;
}

export { RETRY_CODES };

export interface Invocation {
  readonly outcome: 'ok' | 'fail' | 'unknown';
  /** The final reply (ok, or the error reply of a 'fail'). */
  readonly reply?: RespValue;
  /** Why it is not ok: the last error seen. */
  readonly error?: string;
  readonly attempts: number;
  /** The node that answered. */
  readonly node?: string;
}

/** The GET inside a cas: a read of its own in the history. */
export interface CasRead {
  readonly value: string | null;
  readonly invokeTime: number;
  readonly completeTime: number;
}

/**
 * A cas's outcome: 'ok' (EXEC ran the SET), 'fail' (EXEC answered nil, or it never got
 * to EXEC), 'unknown' (EXEC sent, no definite answer). The expected value is read.value.
 */
export interface CasInvocation {
  readonly outcome: 'ok' | 'fail' | 'unknown';
  readonly read?: CasRead;
  /** When EXEC went out (the cas's invocation) and, unless unknown, when it was answered. */
  readonly execInvoke?: number;
  readonly execComplete?: number;
  readonly error?: string;
  readonly attempts: number;
  readonly node?: string;
}

const TIMED_OUT = Symbol('timed out');

function within<T>(p: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), Math.max(0, ms));
    }),
  ]);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class JepsenClient {
  private conn: RespClient | null = null;
  private at: number;
  private stopped = false;

  constructor(
    private readonly endpoints: readonly Endpoint[],
    private readonly rng: Prng,
    private readonly opts: ClientOptions,
    first: number,
  ) {
    this.at = first % endpoints.length;
  }

  /** The node this client talks to now. */
  get node(): string {
    return this.endpoints[this.at]!.id;
  }

  private drop(): void {
    this.conn?.destroy('dropped by the client');
    this.conn = null;
  }

  /** Moves to another node, chosen at random. */
  private switchNode(): void {
    this.drop();
    if (this.endpoints.length < 2) return;
    let next = this.rng.int(0, this.endpoints.length - 2);
    if (next >= this.at) next++;
    this.at = next;
  }

  private async backoff(failures: number, deadline: number): Promise<void> {
    const ceiling = Math.min(400, 20 * 2 ** Math.min(failures, 5));
    const ms = ceiling / 2 + this.rng.next() * (ceiling / 2);
    await sleep(Math.max(0, Math.min(ms, deadline - performance.now())));
  }

  /** Connects to the current node if not connected; false (after a switch and backoff) when that failed. */
  private async ensureConnected(deadline: number, failures: number, onError: (e: string) => void): Promise<boolean> {
    if (this.conn !== null) return true;
    const ep = this.endpoints[this.at]!;
    try {
      const left = deadline - performance.now();
      this.conn = await RespClient.connect(ep.host, ep.clientPort, { connectTimeoutMs: Math.min(this.opts.connectTimeoutMs, left), access: ep.access });
      return true;
    } catch (err) {
      onError(`connect ${ep.id}: ${(err as Error).message}`);
      this.switchNode();
      await this.backoff(failures + 1, deadline);
      return false;
    }
  }

  /** A cas refused before EXEC: no effect. The connection may be inside MULTI, so it goes. */
  private giveUp(error: string, attempts: number): CasInvocation {
    const node = this.node;
    this.drop();
    return { outcome: 'fail', error, attempts, node };
  }

  /** One command on the current connection, within an attempt's time. */
  private async attempt(args: readonly Arg[], deadline: number): Promise<RespValue | typeof TIMED_OUT> {
    return within(this.conn!.command(...args), Math.min(this.opts.attemptTimeoutMs, deadline - performance.now()));
  }

  /**
   * WATCH key; GET key; MULTI; SET key next; REQ requestId EXEC. `now` times the GET
   * (for the history: it is a read of its own) and the EXEC (the cas's interval).
   */
  async cas(key: string, next: string, requestId: string, now: () => number): Promise<CasInvocation> {
    const deadline = performance.now() + this.opts.opTimeoutMs;
    let attempts = 0;
    let failures = 0;
    let lastError = 'no attempt';
    const setError = (e: string) => (lastError = e);
    while (!this.stopped && deadline - performance.now() > 0) {
      if (!(await this.ensureConnected(deadline, failures, setError))) {
        failures++;
        continue;
      }
      attempts++;
      // Up to MULTI: any trouble restarts the sequence elsewhere (nothing was proposed).
      let read: CasRead | undefined;
      let trouble: string | undefined;
      try {
        for (const step of ['WATCH', 'GET', 'MULTI', 'SET'] as const) {
          const args: Arg[] = step === 'WATCH' || step === 'GET' ? [step, key] : step === 'MULTI' ? ['MULTI'] : ['SET', key, next];
          const invokeTime = now();
          const r = await this.attempt(args, deadline);
          if (r === TIMED_OUT) {
            trouble = `${this.node}: no reply to ${step} in time`;
            break;
          }
          if (r instanceof RespError) {
            if (!isRetryError(r)) return this.giveUp(`${step}: ${r.reply}`, attempts);
            trouble = `${this.node}: ${step}: ${r.reply}`;
            break;
          }
          if (step === 'GET') {
            if (r !== null && !Buffer.isBuffer(r)) return this.giveUp(`GET answered ${String(replyText(r))}`, attempts);
            read = { value: r === null ? null : r.toString('utf8'), invokeTime, completeTime: now() };
          }
        }
      } catch (err) {
        trouble = `${this.node}: ${(err as Error).message}`;
      }
      if (trouble !== undefined || read === undefined) {
        lastError = trouble ?? 'no GET reply';
        failures++;
        this.switchNode();
        await this.backoff(failures, deadline);
        continue;
      }
      // EXEC: from here the transaction may be proposed, so it is never resent.
      const execInvoke = now();
      const node = this.node;
      let r: RespValue | typeof TIMED_OUT;
      try {
        r = await this.attempt(['REQ', requestId, 'EXEC'], Math.max(deadline, performance.now() + this.opts.attemptTimeoutMs));
      } catch (err) {
        this.drop();
        return { outcome: 'unknown', read, execInvoke, error: `${node}: EXEC: ${(err as Error).message}`, attempts, node };
      }
      const execComplete = now();
      if (r === TIMED_OUT) {
        this.drop();
        return { outcome: 'unknown', read, execInvoke, error: `${node}: no reply to EXEC in time`, attempts, node };
      }
      // nil: a watched key changed since WATCH, so the SET did not run (Redis' optimistic lock).
      if (r === null) return { outcome: 'fail', read, execInvoke, execComplete, error: 'EXEC nil: the key changed', attempts, node };
      if (Array.isArray(r) && r.length === 1 && r[0] === 'OK') return { outcome: 'ok', read, execInvoke, execComplete, attempts, node };
      // An error reply (TRYAGAIN after a leader change, say): the entry may still commit.
      this.drop();
      return { outcome: 'unknown', read, execInvoke, error: `${node}: EXEC answered ${JSON.stringify(replyText(r))}`, attempts, node };
    }
    return { outcome: 'fail', error: lastError, attempts };
  }

  /** Runs `args` until it gets an answer or its deadline; `mutates` says whether it may change state. */
  async invoke(args: readonly Arg[], mutates: boolean): Promise<Invocation> {
    const deadline = performance.now() + this.opts.opTimeoutMs;
    let attempts = 0;
    let sent = false;
    let failures = 0;
    let lastError = 'no attempt';
    while (!this.stopped) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      if (this.conn === null) {
        const ep = this.endpoints[this.at]!;
        try {
          this.conn = await RespClient.connect(ep.host, ep.clientPort, { connectTimeoutMs: Math.min(this.opts.connectTimeoutMs, left), access: ep.access });
        } catch (err) {
          lastError = `connect ${ep.id}: ${(err as Error).message}`;
          failures++;
          this.switchNode();
          await this.backoff(failures, deadline);
          continue;
        }
      }
      const conn = this.conn;
      attempts++;
      sent = true;
      let r: RespValue | typeof TIMED_OUT;
      try {
        r = await within(conn.command(...args), Math.min(this.opts.attemptTimeoutMs, deadline - performance.now()));
      } catch (err) {
        lastError = `${this.node}: ${(err as Error).message}`;
        failures++;
        this.switchNode();
        await this.backoff(failures, deadline);
        continue;
      }
      if (r === TIMED_OUT) {
        lastError = `${this.node}: no reply in time`;
        failures++;
        this.switchNode();
        continue;
      }
      if (r instanceof RespError && isRetryError(r)) {
        lastError = `${this.node}: ${r.reply}`;
        failures++;
        // A node that cannot serve now (no leader it can reach, a deadline it missed):
        // another node may do better; a busy one is worth a second try after the backoff.
        if (r.code !== 'BUSY') this.switchNode();
        await this.backoff(failures, deadline);
        continue;
      }
      if (r instanceof RespError) {
        // A definite refusal, unless an earlier attempt of the same write may have run.
        const outcome = mutates && attempts > 1 ? 'unknown' : 'fail';
        return { outcome, reply: r, error: r.reply, attempts, node: this.node };
      }
      return { outcome: 'ok', reply: r, attempts, node: this.node };
    }
    return { outcome: mutates && sent ? 'unknown' : 'fail', error: lastError, attempts };
  }

  /** Ends the current operation's retries and closes the connection. */
  close(): void {
    this.stopped = true;
    this.drop();
  }
}
