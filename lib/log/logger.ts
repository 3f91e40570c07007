import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Per-actor log: logs/<actor>.log under the node's data directory, one JSON object a
 * line with time, node, actor, level, term and event. Writes are synchronous (events at
 * the default level are rare; per-RPC detail is debug only) and the file is bounded:
 * past fileBytesMax it is rotated to <actor>.log.1, so an actor keeps at most twice that.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  dir: string;
  node: string;
  actor: string;
  level: LogLevel;
  fileBytesMax?: number;
  /** Also print warn/error lines to stderr (the supervisor's own stderr). */
  echo?: boolean;
}

/** `E`: the event names this actor may log (a union, where one is declared; see lib/raft/events.ts). */
export class Logger<E extends string = string> {
  private fd: number;
  private bytes: number;
  private readonly file: string;
  private readonly fileBytesMax: number;
  private readonly rank: number;
  term = 0;

  constructor(private readonly opts: LoggerOptions) {
    fs.mkdirSync(opts.dir, { recursive: true });
    this.file = path.join(opts.dir, `${opts.actor}.log`);
    this.fileBytesMax = opts.fileBytesMax ?? 16 * 1024 * 1024;
    this.rank = LEVEL_RANK[opts.level];
    this.fd = fs.openSync(this.file, 'a');
    this.bytes = fs.fstatSync(this.fd).size;
  }

  enabled(level: LogLevel): boolean {
    return LEVEL_RANK[level] >= this.rank;
  }

  debug(event: E, fields?: Record<string, unknown>): void {
    if (this.rank <= LEVEL_RANK.debug) this.write('debug', event, fields);
  }
  info(event: E, fields?: Record<string, unknown>): void {
    if (this.rank <= LEVEL_RANK.info) this.write('info', event, fields);
  }
  warn(event: E, fields?: Record<string, unknown>): void {
    this.write('warn', event, fields);
  }
  error(event: E, fields?: Record<string, unknown>): void {
    this.write('error', event, fields);
  }

  log(level: LogLevel, event: E, fields?: Record<string, unknown>): void {
    if (LEVEL_RANK[level] >= this.rank) this.write(level, event, fields);
  }

  private write(level: LogLevel, event: string, fields?: Record<string, unknown>): void {
    const rec = {
      time: new Date().toISOString(),
      node: this.opts.node,
      actor: this.opts.actor,
      level,
      term: this.term,
      event,
      ...fields,
    };
    const line = JSON.stringify(rec, jsonSafe) + '\n';
    if (this.bytes + line.length > this.fileBytesMax) this.rotate();
    try {
      this.bytes += fs.writeSync(this.fd, line);
    } catch {
      // A full disk must not take the node down through its logger.
    }
    if (this.opts.echo && LEVEL_RANK[level] >= LEVEL_RANK.warn) process.stderr.write(line);
  }

  private rotate(): void {
    fs.closeSync(this.fd);
    try {
      fs.renameSync(this.file, this.file + '.1');
    } catch {
      // Nothing to rotate.
    }
    this.fd = fs.openSync(this.file, 'a');
    this.bytes = 0;
  }

  close(): void {
    try {
      fs.closeSync(this.fd);
    } catch {
      // Already closed.
    }
  }
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  if (value instanceof Error) return { message: value.message, code: (value as { code?: unknown }).code };
  if (typeof value === 'bigint') return value.toString();
  return value;
}
