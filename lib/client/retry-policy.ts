// Which answers mean "send it again", and how long to wait before doing so.
import { RespError, type RespValue } from './resp-client.js';

/** Error replies that mean the command did not run (yet) and may be resent with the same request id. */
export const RETRY_CODES: ReadonlySet<string> = new Set(['TRYAGAIN', 'TIMEOUT', 'NOTLEADER', 'BUSY']);

/**
 * A node removed from the cluster refuses what it would otherwise pass on to the leader
 * (`-ERR REMOVED ... ask a member: ...`): the command did not run, and another node
 * will take it.
 */
export function isRemovedReply(v: RespValue): v is RespError {
  return v instanceof RespError && v.code === 'ERR' && v.reply.startsWith('ERR REMOVED ');
}

export function isRetryReply(v: RespValue): v is RespError {
  return v instanceof RespError && isRetryError(v);
}

/** The same test for an error already known to be one (no narrowing to trip over). */
export function isRetryError(e: RespError): boolean {
  return RETRY_CODES.has(e.code) || isRemovedReply(e);
}

export const BACKOFF_BASE_MS = 25;
export const BACKOFF_MAX_MS = 1000;

/**
 * Wait before the next attempt after `failures` consecutive failures (>= 1):
 * exponential from BACKOFF_BASE_MS, capped at BACKOFF_MAX_MS, with the upper half
 * jittered by `random` (in [0, 1)) so that many clients do not retry in step.
 */
export function backoffMs(failures: number, random: () => number): number {
  if (!(failures >= 1)) throw new RangeError(`failures must be >= 1, got ${failures}`);
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(failures - 1, 30));
  const r = random();
  return Math.round(ceiling / 2 + (ceiling / 2) * Math.min(Math.max(r, 0), 1));
}
