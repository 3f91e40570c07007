// The client's session with the cluster: commands are pipelined over one connection and
// answered in submission order; a command whose connection drops, or whose reply is a
// retry error (TRYAGAIN, TIMEOUT, NOTLEADER, BUSY), is sent again with exactly the same
// words (the same REQ request id) over a new connection found by `connect`, until it gets
// a real answer or its retry budget runs out. No I/O of its own: the connection, the
// clock and the randomness are injected, so tests drive it with a fake server and clock.
//
// Order: replies on one connection come back in order and a lost connection fails a
// suffix of what was sent, so resending that suffix in order keeps writes in order. After
// any failure the pipeline shrinks to one command in flight and doubles with each good
// reply, so a recovering session probes with a single command.
import { RespError, type Arg, type RespValue } from './resp-client.js';
import { backoffMs, isRetryReply } from './retry-policy.js';
import { RaftdError } from '../util/errors.js';

/** One connection to a node, as the session needs it. */
export interface Conn {
  /** The node, for the prompt and diagnostics (node id, or host:port). */
  readonly name: string;
  /** The reply, error replies included; rejects when the connection fails. */
  send(args: readonly Arg[]): Promise<RespValue>;
  close(): void;
}

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export type ClientEvent =
  | { type: 'connected'; node: string }
  | { type: 'lost'; node: string; reason: string }
  | { type: 'connect-failed'; reason: string; streak: number }
  | { type: 'gave-up'; reply: RespError };

export interface RetryingClientOptions {
  /** Finds a node (the leader when it can) and connects; rejects when none answers. */
  connect(): Promise<Conn>;
  /** How long a command keeps being retried, from its first failure. */
  retryMs: number;
  /** Most commands in flight on the connection. */
  pipelineMax: number;
  /**
   * Once a command has run out of retries, later commands get one attempt each until
   * one succeeds: a piped session against a dead cluster fails its remaining lines fast
   * instead of waiting retryMs for each. Off for interactive use.
   */
  giveUpFast?: boolean;
  clock?: Clock;
  random?: () => number;
  onEvent?(e: ClientEvent): void;
}

/** A command's outcome: ok with the reply, or failed with the error to print. */
export type Result = { ok: true; reply: RespValue } | { ok: false; reply: RespError };

interface Item {
  readonly wire: readonly Arg[];
  readonly resolve: (r: Result) => void;
  state: 'queued' | 'sent';
  attempts: number;
  /** Set at the first failure: past it, no more attempts. */
  deadline: number | null;
  /** Not sent again before this (backoff after a retry reply). */
  notBefore: number;
  lastFailure: RespError | null;
}

interface Link {
  readonly conn: Conn;
  /** Sent, not answered. Invariant: 0 <= inflight <= pipelineMax. */
  inflight: number;
  /** A retry reply came on it: send nothing more, drop it once its replies are in, find the leader again. */
  retiring: boolean;
}

export class RetryingClient {
  private readonly clock: Clock;
  private readonly random: () => number;
  /** Unfinished commands in submission order. */
  private readonly items: Item[] = [];
  private link: Link | null = null;
  private connecting = false;
  private connectTimer: unknown = null;
  private wakeTimer: unknown = null;
  private wakeAt = Infinity;
  /** Consecutive failures (lost connections, failed connects, retry replies) since the last good reply. */
  private failures = 0;
  private connectStreak = 0;
  /** Commands allowed in flight now: 1 after a failure, doubling per good reply up to pipelineMax. */
  private window: number;
  private exhausted = false;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private connectWaiters: (() => void)[] = [];

  constructor(private readonly opts: RetryingClientOptions) {
    if (!(opts.pipelineMax >= 1)) throw new RangeError('pipelineMax must be >= 1');
    if (!(opts.retryMs >= 0)) throw new RangeError('retryMs must be >= 0');
    this.clock = opts.clock ?? realClock;
    this.random = opts.random ?? Math.random;
    this.window = opts.pipelineMax;
  }

  /** The node of the current connection, or null while there is none. */
  get connectedTo(): string | null {
    return this.link?.conn.name ?? null;
  }

  /** Commands submitted and not yet answered. */
  get pending(): number {
    return this.items.length;
  }

  /** Sends `wire` (resent unchanged on failure) and resolves with its outcome; never rejects. */
  submit(wire: readonly Arg[]): Promise<Result> {
    if (this.closed) return Promise.resolve({ ok: false, reply: new RespError('ERR client closed') });
    return new Promise<Result>((resolve) => {
      this.items.push({ wire, resolve, state: 'queued', attempts: 0, deadline: null, notBefore: 0, lastFailure: null });
      this.pump();
    });
  }

  /** Connects now if not connected (for a prompt that names the node); resolves after one attempt. */
  connectNow(): Promise<string | null> {
    if (this.link || this.closed) return Promise.resolve(this.connectedTo);
    return new Promise((resolve) => {
      this.connectWaiters.push(() => resolve(this.connectedTo));
      if (!this.connecting) this.startConnect();
    });
  }

  /** Every command a new budget: after a failure typed by hand, the next command is tried in full. */
  forgiveFailures(): void {
    this.exhausted = false;
  }

  /** Resolves once every submitted command is answered. */
  idle(): Promise<void> {
    if (this.items.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Closes the connection; unanswered commands fail. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.connectTimer !== null) this.clock.clearTimeout(this.connectTimer);
    if (this.wakeTimer !== null) this.clock.clearTimeout(this.wakeTimer);
    this.connectTimer = this.wakeTimer = null;
    this.link?.conn.close();
    this.link = null;
    for (const it of this.items.slice()) this.finish(it, { ok: false, reply: new RespError('ERR client closed') });
    for (const w of this.connectWaiters.splice(0)) w();
  }

  private budgetMs(): number {
    return this.exhausted && this.opts.giveUpFast ? 0 : this.opts.retryMs;
  }

  private pump(): void {
    if (this.closed) return;
    const now = this.clock.now();
    let nextDeadline = Infinity;
    for (const it of this.items.slice()) {
      if (it.state !== 'queued' || it.deadline === null) continue;
      if (now >= it.deadline) this.giveUp(it);
      else nextDeadline = Math.min(nextDeadline, it.deadline);
    }
    if (this.items.length === 0) return;
    if (nextDeadline < Infinity) this.wake(nextDeadline);
    let link = this.link;
    if (link && link.retiring && link.inflight === 0) {
      this.link = null;
      link.conn.close();
      link = null;
    }
    if (!link) {
      if (!this.connecting) this.startConnect();
      return;
    }
    if (link.retiring) return;
    for (const it of this.items) {
      if (link.inflight >= this.window) break;
      if (it.state === 'sent') continue;
      if (it.notBefore > now) {
        // Later commands wait too: they must not overtake this one.
        this.wake(it.notBefore);
        break;
      }
      this.send(link, it);
    }
  }

  private wake(at: number): void {
    if (this.wakeTimer !== null && this.wakeAt <= at) return;
    if (this.wakeTimer !== null) this.clock.clearTimeout(this.wakeTimer);
    this.wakeAt = at;
    this.wakeTimer = this.clock.setTimeout(() => {
      this.wakeTimer = null;
      this.wakeAt = Infinity;
      this.pump();
    }, Math.max(0, at - this.clock.now()));
  }

  private send(link: Link, it: Item): void {
    it.state = 'sent';
    it.attempts++;
    link.inflight++;
    link.conn.send(it.wire).then(
      (reply) => this.onReply(link, it, reply),
      (err: unknown) => this.onLost(link, it, err),
    );
  }

  private onReply(link: Link, it: Item, reply: RespValue): void {
    link.inflight--;
    if (this.closed) return;
    if (isRetryReply(reply)) {
      this.failures++;
      this.window = 1;
      if (this.link === link) link.retiring = true;
      this.retryLater(it, reply, backoffMs(this.failures, this.random));
    } else {
      this.failures = 0;
      this.exhausted = false;
      this.window = Math.min(this.opts.pipelineMax, this.window * 2);
      this.finish(it, reply instanceof RespError ? { ok: false, reply } : { ok: true, reply });
    }
    this.pump();
  }

  private onLost(link: Link, it: Item, err: unknown): void {
    link.inflight--;
    if (this.closed) return;
    const reason = err instanceof Error ? err.message : String(err);
    if (this.link === link) {
      this.link = null;
      link.conn.close();
      this.failures++;
      this.window = 1;
      this.emit({ type: 'lost', node: link.conn.name, reason });
    }
    this.retryLater(it, new RespError(`ERR connection to ${link.conn.name} lost (${reason})`), 0);
    this.pump();
  }

  private retryLater(it: Item, why: RespError, delayMs: number): void {
    const now = this.clock.now();
    it.state = 'queued';
    it.lastFailure = why;
    it.deadline ??= now + this.budgetMs();
    it.notBefore = Math.min(it.deadline, now + delayMs);
    if (now >= it.deadline) this.giveUp(it);
  }

  private startConnect(): void {
    this.connecting = true;
    const delay = this.failures === 0 ? 0 : backoffMs(this.failures, this.random);
    this.connectTimer = this.clock.setTimeout(() => {
      this.connectTimer = null;
      this.opts.connect().then(
        (conn) => this.onConnected(conn),
        (err: unknown) => this.onConnectFailed(err),
      );
    }, delay);
  }

  private onConnected(conn: Conn): void {
    this.connecting = false;
    if (this.closed) {
      conn.close();
      return;
    }
    this.link = { conn, inflight: 0, retiring: false };
    this.connectStreak = 0;
    this.emit({ type: 'connected', node: conn.name });
    for (const w of this.connectWaiters.splice(0)) w();
    this.pump();
  }

  private onConnectFailed(err: unknown): void {
    this.connecting = false;
    if (this.closed) return;
    const reason = err instanceof Error ? err.message : String(err);
    this.failures++;
    this.connectStreak++;
    this.emit({ type: 'connect-failed', reason, streak: this.connectStreak });
    const now = this.clock.now();
    // A refused AUTH fails the queued commands at once, with the server's reply.
    const authRefused = err instanceof RaftdError && err.code === 'RAFTD_AUTH_FAILED';
    const why = new RespError(authRefused ? reason : `ERR no node of the cluster answered (${reason})`);
    for (const it of this.items) {
      if (it.state !== 'queued') continue;
      it.lastFailure = why;
      it.deadline = authRefused ? now : (it.deadline ?? now + this.budgetMs());
    }
    for (const w of this.connectWaiters.splice(0)) w();
    this.pump();
  }

  private giveUp(it: Item): void {
    this.exhausted = true;
    const reply = it.lastFailure ?? new RespError('ERR no reply');
    this.emit({ type: 'gave-up', reply });
    this.finish(it, { ok: false, reply });
  }

  private finish(it: Item, r: Result): void {
    const i = this.items[0] === it ? 0 : this.items.indexOf(it);
    if (i < 0) return;
    this.items.splice(i, 1);
    it.resolve(r);
    if (this.items.length === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  private emit(e: ClientEvent): void {
    this.opts.onEvent?.(e);
  }
}
