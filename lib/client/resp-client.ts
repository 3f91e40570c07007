import * as net from 'node:net';
import * as tls from 'node:tls';
import type { ClientAccess } from './access.js';
import { ReplyParser, RespError, type RespValue } from '../resp/reply-parser.js';
import { request } from '../util/resp-writer.js';
import { quote } from '../kv/describe.js';
import { RaftdError } from '../util/errors.js';

export { RespError, type RespValue } from '../resp/reply-parser.js';

export type Arg = string | number | Uint8Array;

export interface ConnectOptions {
  connectTimeoutMs?: number;
  /** TLS and AUTH (lib/client/access.ts); AUTH is sent first and must answer OK. */
  access?: ClientAccess;
}

interface Waiter {
  resolve(v: RespValue): void;
  reject(e: Error): void;
}

/**
 * A minimal promise-based RESP2 client. Commands may be pipelined freely: replies are
 * matched to commands in order. Error replies resolve as RespError values (they are
 * answers, not failures); the promise rejects only when the connection fails.
 */
export class RespClient {
  private readonly parser = new ReplyParser();
  private readonly waiters: Waiter[] = [];
  private failure: Error | null = null;
  /** Resolves once the socket has closed, for whatever reason. */
  readonly closed: Promise<void>;

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new RaftdError('RAFTD_IO', 'connection closed')));
  }

  static async connect(host: string, port: number, opts: ConnectOptions = {}): Promise<RespClient> {
    const client = await RespClient.open(host, port, opts);
    const auth = opts.access?.auth;
    if (!auth) return client;
    const r = await client.command('AUTH', ...(auth.user !== null ? [auth.user] : []), auth.password).catch((err: unknown) => err as Error);
    if (r === 'OK') return client;
    client.destroy();
    // The server's own words first: they are what a user needs to see.
    if (r instanceof RespError) throw new RaftdError('RAFTD_AUTH_FAILED', `${r.reply} (AUTH at ${host}:${port})`);
    throw r instanceof Error ? r : new RaftdError('RAFTD_AUTH_FAILED', `AUTH at ${host}:${port}: unexpected reply`);
  }

  private static open(host: string, port: number, opts: ConnectOptions): Promise<RespClient> {
    const timeoutMs = opts.connectTimeoutMs ?? 5000;
    const tlsOpts = opts.access?.tls ?? null;
    return new Promise((resolve, reject) => {
      const socket = tlsOpts ? tls.connect({ ...tlsOpts, host, port, ...(net.isIP(host) === 0 ? { servername: host } : {}) }) : net.connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new RaftdError('RAFTD_IO', `connect to ${host}:${port} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new RaftdError('RAFTD_IO', `connect to ${host}:${port} failed: ${err.message}`));
      });
      socket.once(tlsOpts ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new RespClient(socket));
      });
    });
  }

  /** Sends one command (as an array of bulk strings) and resolves with its reply. */
  command(...args: Arg[]): Promise<RespValue> {
    return this.expect(request(args), 1).then((r) => r[0]!);
  }

  /**
   * Writes raw bytes (an inline command, a hand-made pipeline) and resolves with the
   * next `replies` replies.
   */
  raw(bytes: Uint8Array | string, replies: number): Promise<RespValue[]> {
    return this.expect(typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes, replies);
  }

  private expect(bytes: Uint8Array, replies: number): Promise<RespValue[]> {
    if (this.failure) return Promise.reject(this.failure);
    const got: Promise<RespValue>[] = [];
    for (let i = 0; i < replies; i++) {
      got.push(new Promise<RespValue>((resolve, reject) => this.waiters.push({ resolve, reject })));
    }
    this.socket.write(bytes);
    return Promise.all(got);
  }

  /** Closes at once, without waiting for pending replies: they fail with `reason`. */
  destroy(reason = 'connection closed'): void {
    this.fail(new RaftdError('RAFTD_IO', reason));
    this.socket.destroy();
  }

  /** Pending replies fail; resolves once the socket is closed. */
  async close(): Promise<void> {
    this.socket.end();
    const t = setTimeout(() => this.socket.destroy(), 1000);
    await this.closed;
    clearTimeout(t);
  }

  private onData(chunk: Buffer): void {
    try {
      this.parser.feed(chunk);
      for (;;) {
        const v = this.parser.next();
        if (v === undefined) break;
        const w = this.waiters.shift();
        if (!w) throw new RaftdError('RAFTD_FRAME_MALFORMED', 'reply without a request');
        w.resolve(v);
      }
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
      this.socket.destroy();
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const w of this.waiters.splice(0)) w.reject(this.failure);
  }
}

/**
 * A reply as redis-cli prints it: `tty` like an interactive terminal ((integer) 5,
 * "quoted" bulk strings, (nil), numbered arrays), otherwise like its raw mode when
 * stdout is not a terminal (5, the bytes as they are, an empty line for nil, array
 * items one per line). No trailing newline.
 */
export function formatReply(value: RespValue, opts: { tty: boolean }): string {
  return opts.tty ? formatTty(value, '').replace(/\n$/, '') : formatRaw(value);
}

function formatRaw(v: RespValue): string {
  if (v === null) return '';
  // redis-cli ends an error with a newline of its own (a blank line after it).
  if (v instanceof RespError) return `${v.reply}\n`;
  if (Array.isArray(v)) return v.map(formatRaw).join('\n');
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  return String(v);
}

function formatTty(v: RespValue, prefix: string): string {
  if (v === null) return '(nil)\n';
  if (v instanceof RespError) return `(error) ${v.reply}\n`;
  if (typeof v === 'number') return `(integer) ${v}\n`;
  if (typeof v === 'string') return `${v}\n`;
  if (Buffer.isBuffer(v)) return `${quote(v)}\n`;
  if (v.length === 0) return '(empty array)\n';
  const idxLen = String(v.length).length;
  const nested = prefix + ' '.repeat(idxLen + 2);
  let out = '';
  v.forEach((item, i) => {
    out += `${i === 0 ? '' : prefix}${String(i + 1).padStart(idxLen)}) `;
    out += formatTty(item, nested);
  });
  return out;
}

