import type { ClientAccess } from '../../lib/client/access.js';
import { RespClient, RespError, type Arg, type RespValue } from '../../lib/client/resp-client.js';

/** A decoded reply with bulk strings as text and error replies as RespError. */
export type Reply = string | number | null | RespError | Reply[];

function toReply(v: RespValue): Reply {
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (Array.isArray(v)) return v.map(toReply);
  return v;
}

/** One command on a connection of its own. */
export async function respCommand(host: string, port: number, args: Arg[], access?: ClientAccess): Promise<Reply> {
  const c = await RespClient.connect(host, port, { connectTimeoutMs: 2000, access });
  try {
    return toReply(await c.command(...args));
  } finally {
    c.close();
  }
}
