// One command to one node with a deadline (a paused node accepts the connection and
// never answers), and INFO parsed into its fields.
import { RespClient, RespError, type Arg, type RespValue } from '../../lib/client/resp-client.js';
import type { Endpoint } from './client.js';

export async function commandWithin(ep: Endpoint, args: readonly Arg[], timeoutMs: number): Promise<RespValue> {
  const c = await RespClient.connect(ep.host, ep.clientPort, { connectTimeoutMs: timeoutMs, access: ep.access });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      c.command(...args),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${ep.id}: no reply to ${String(args[0])} in ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    c.destroy();
  }
}

export type Info = Record<string, string>;

export async function infoWithin(ep: Endpoint, timeoutMs: number): Promise<Info> {
  const r = await commandWithin(ep, ['INFO'], timeoutMs);
  if (r instanceof RespError || !(Buffer.isBuffer(r) || typeof r === 'string')) throw new Error(`${ep.id}: INFO gave ${String(r)}`);
  const out: Info = {};
  for (const line of r.toString().split(/\r?\n/)) {
    const m = /^([^#:][^:]*):(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/** A reply as text for comparisons and reports: bulk strings decoded, nil as null. */
export function replyText(v: RespValue): string | number | null {
  if (v === null) return null;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (typeof v === 'number' || typeof v === 'string') return v;
  if (v instanceof RespError) return `(error) ${v.reply}`;
  return JSON.stringify(v.map(replyText));
}
