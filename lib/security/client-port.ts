// The client port's security around the gateway: which servers listen (plain, TLS, or
// TLS plus a plain port for a migration), the ACL each connection checks against, the
// connection bound (Redis' maxclients), and the idle sweep that closes connections
// stuck in a partial command or a TLS handshake. The gateway keeps its few-line hooks.
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { ClientSecurity } from '../actor/protocol.js';
import { loadAcl, OPEN_ACL, type Acl } from '../resp/acl.js';
import { readSecretFile } from './secret-file.js';
import { RefusalLog, sourceOf } from './refusal-log.js';
import { readTlsFiles, serverTlsOptions } from './tls-files.js';

export const MAX_CLIENTS_REACHED = Buffer.from('-ERR max number of clients reached\r\n');
/** Refused connections are logged once per source and this interval. */
const REFUSAL_LOG_INTERVAL_MS = 60_000;
const REFUSAL_SOURCES_MAX = 4096;

export function clientAcl(s: ClientSecurity | undefined): Acl {
  if (!s || (s.aclFile === null && s.requirepassFile === null)) return OPEN_ACL;
  return loadAcl(s.aclFile, s.requirepassFile !== null ? readSecretFile(s.requirepassFile, 'requirepass') : null);
}

export interface ClientListener {
  server: net.Server;
  port: number;
  tls: boolean;
}

/** The servers to listen on: [main port (TLS when configured), plain port if any]. */
export function clientListeners(s: ClientSecurity | undefined, clientPort: number, onSocket: (socket: net.Socket) => void): ClientListener[] {
  // Half-open: `printf 'ADDENTRY t x\r\n' | nc -N host port` still gets its reply.
  const plain = () => net.createServer({ noDelay: true, allowHalfOpen: true }, onSocket);
  if (!s?.tls) return [{ server: plain(), port: clientPort, tls: false }];
  const opts: tls.TlsOptions = { ...serverTlsOptions(readTlsFiles(s.tls)), allowHalfOpen: true, noDelay: true };
  if (s.idleFrameTimeoutMs > 0) opts.handshakeTimeout = s.idleFrameTimeoutMs;
  const server = tls.createServer(opts, onSocket);
  // Connections still in their TLS handshake are not clients yet: bound them here (Node drops the excess at accept).
  server.maxConnections = 2 * s.maxClients + 64;
  const out: ClientListener[] = [{ server, port: clientPort, tls: true }];
  if (s.plainClientPort !== 0) out.push({ server: plain(), port: s.plainClientPort, tls: false });
  return out;
}

/** Bounds and the refusal log of one gateway. */
export class ClientGuard {
  readonly maxClients: number;
  readonly idleMs: number;
  private readonly refusals = new RefusalLog({ intervalMs: REFUSAL_LOG_INTERVAL_MS, sourcesMax: REFUSAL_SOURCES_MAX });

  constructor(s: ClientSecurity | undefined) {
    this.maxClients = s?.maxClients ?? 10_000;
    this.idleMs = s?.idleFrameTimeoutMs ?? 30_000;
  }

  /** Whether to log a refusal of `remote` for this kind of reason now, and how many went unlogged before it. */
  noteRefusal(kind: 'refused' | 'protocol', remote: string, nowMs: number): { log: boolean; suppressed: number } {
    return this.refusals.note(`${kind} ${sourceOf(remote)}`, nowMs);
  }

  /**
   * Whether a connection is stuck: it holds part of a command, or has never completed
   * one, and nothing arrived for idleMs. A client idle between commands is left alone.
   */
  stuck(c: { lastInputMs: number; commandsRun: number; bufferedBytes: number }, nowMs: number): boolean {
    return this.idleMs > 0 && (c.bufferedBytes > 0 || c.commandsRun === 0) && nowMs - c.lastInputMs >= this.idleMs;
  }
}
