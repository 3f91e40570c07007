// The peer transport's throughput between a real replicator actor and a real
// peer-server actor on loopback addresses of their own: appends of many entries
// sent with a bounded window in flight, as Raft's inflight bound keeps them. A
// benchmark (`npm run bench:throughput`), kept out of `npm test`: on a shared
// machine its numbers say nothing, and a speed goal never becomes an assertion.
// The run still checks what must hold at any speed: in order, none missing, none dropped.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnActor } from '../../lib/actor/spawn.js';
import type { Entry, Message } from '../../lib/raft/types.js';
import { encodeFrame } from '../../lib/wire/frame-codec.js';
import type {
  PeerAddr,
  PeerServerData,
  PeerServerIn,
  PeerServerOut,
  ReplicatorData,
  ReplicatorIn,
  ReplicatorOut,
  TransportLimits,
} from '../../actors/protocol.js';
import { freePort, loopbackBlock } from './ports.js';
import { waitFor } from './wait.js';

export interface ThroughputOptions {
  /** AppendEntries messages to send. */
  appends: number;
  /** Entries per append. */
  entries: number;
  /** Payload bytes per entry. */
  entryBytes: number;
  /** Appends in flight (sent, not yet received). */
  window: number;
  /** Bound on the whole run; past it the run fails rather than hangs. */
  timeoutMs: number;
}

export const THROUGHPUT_DEFAULTS: ThroughputOptions = { appends: 3000, entries: 100, entryBytes: 128, window: 256, timeoutMs: 120_000 };

export interface ThroughputResult {
  appends: number;
  entries: number;
  entryBytes: number;
  bytesPerAppend: number;
  seconds: number;
  /** Frames the peer server reported (several appends may share one). */
  frames: number;
  appendsPerSec: number;
  mbPerSec: number;
  entriesPerSec: number;
  inOrder: boolean;
  dropped: number;
  fatals: string[];
}

const CLUSTER = 'throughput';
const LIMITS: TransportLimits = { frameBytesMax: 1 << 20, queueMessagesMax: 4096, backoffBaseMs: 10, backoffMaxMs: 200, connectTimeoutMs: 1000 };
const STOP_MS = 3000;

export function appendMessage(from: string, to: string, prevLogIndex: number, n: number, bytes: number): Message {
  const entries: Entry[] = [];
  for (let i = 1; i <= n; i++) entries.push({ index: prevLogIndex + i, term: 2, kind: 'normal', tid: `c:${prevLogIndex + i}`, data: new Uint8Array(bytes).fill(i & 0xff) });
  return { type: 'append', term: 2, from, to, prevLogIndex, prevLogTerm: 2, entries, leaderCommit: prevLogIndex, ctx: 0 };
}

/** Runs one measurement; both actors are stopped and their folder removed, also on failure. */
export async function measureTransportThroughput(o: ThroughputOptions = THROUGHPUT_DEFAULTS): Promise<ThroughputResult> {
  const [h1, h2] = loopbackBlock(2) as [string, string];
  const n1: PeerAddr = { id: 'n1', host: h1, peerPort: await freePort(h1) };
  const n2: PeerAddr = { id: 'n2', host: h2, peerPort: await freePort(h2) };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftd-throughput-'));
  const base = (nodeId: string) => ({ nodeId, dataDir: path.join(dir, nodeId), logLevel: 'info' as const, logFileBytesMax: 4 * 1024 * 1024 });
  const fatals: string[] = [];
  let received = 0;
  let frames = 0;
  let lastIndex = 0;
  let inOrder = true;
  const repOut: ReplicatorOut[] = [];
  const stops: (() => Promise<void>)[] = [];
  try {
    const server = spawnActor<PeerServerIn, PeerServerOut>({
      name: 'peer-server-n2',
      file: new URL('../../actors/peer-server.js', import.meta.url),
      workerData: { ...base('n2'), clusterId: CLUSTER, self: n2, peers: [n1], limits: LIMITS } satisfies PeerServerData,
      onMessage: (m) => {
        if (m.type !== 'received') return;
        frames++;
        for (const msg of m.messages) {
          if (msg.type !== 'append' || msg.prevLogIndex !== lastIndex) inOrder = false;
          else lastIndex = msg.entries[msg.entries.length - 1]!.index;
          received++;
        }
      },
      onFatal: (e) => fatals.push(`peer-server: ${e.message}`),
    });
    stops.push(async () => void (await server.stop({ type: 'stop' }, STOP_MS)));
    await server.ready;
    const rep = spawnActor<ReplicatorIn, ReplicatorOut>({
      name: 'replicator-n1-n2',
      file: new URL('../../actors/replicator.js', import.meta.url),
      workerData: { ...base('n1'), clusterId: CLUSTER, self: n1, peer: n2, limits: LIMITS } satisfies ReplicatorData,
      onMessage: (m) => repOut.push(m),
      onFatal: (e) => fatals.push(`replicator: ${e.message}`),
    });
    stops.push(async () => void (await rep.stop({ type: 'stop' }, STOP_MS)));
    await rep.ready;
    await waitFor('the replicator to connect', () => repOut.some((m) => m.type === 'connected'), 10_000);

    const bytesPerAppend = encodeFrame({ t: 'msgs', m: [appendMessage('n1', 'n2', 0, o.entries, o.entryBytes)] }).length;
    const start = performance.now();
    const deadline = Date.now() + o.timeoutMs;
    let sent = 0;
    while (sent < o.appends) {
      while (sent < o.appends && sent - received < o.window) {
        rep.post({ type: 'send', messages: [appendMessage('n1', 'n2', sent * o.entries, o.entries, o.entryBytes)] });
        sent++;
      }
      if (Date.now() > deadline) throw new Error(`only ${received} of ${o.appends} appends arrived within ${o.timeoutMs} ms`);
      await new Promise((r) => setImmediate(r));
    }
    await waitFor('every append', () => received === o.appends, Math.max(1000, deadline - Date.now()));
    const seconds = (performance.now() - start) / 1000;
    return {
      appends: o.appends,
      entries: o.entries,
      entryBytes: o.entryBytes,
      bytesPerAppend,
      seconds,
      frames,
      appendsPerSec: o.appends / seconds,
      mbPerSec: (o.appends * bytesPerAppend) / 1e6 / seconds,
      entriesPerSec: (o.appends * o.entries) / seconds,
      inOrder,
      dropped: repOut.filter((m) => m.type === 'dropped').length,
      fatals,
    };
  } finally {
    await Promise.all(stops.map((stop) => stop().catch(() => undefined)));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function formatThroughput(r: ThroughputResult): string {
  return (
    `${r.appends} appends of ${r.entries} x ${r.entryBytes} B entries (${r.bytesPerAppend} B encoded) in ${r.seconds.toFixed(2)} s, ${r.frames} frames: ` +
    `${r.appendsPerSec.toFixed(0)} appends/s, ${r.mbPerSec.toFixed(1)} MB/s, ${(r.entriesPerSec / 1000).toFixed(0)}k entries/s`
  );
}
