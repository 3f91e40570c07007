// The log writer actor: owns the node's durable log and hard state on its own thread.
//
// Writes are applied as they arrive (hard state first, then entries) and made durable
// together: the first write of a group schedules one sync with setImmediate, so every
// write message that reaches the thread before the sync starts is covered by that one
// fdatasync and answered by one `written` carrying the group's highest seq.
// Any storage error is fatal: a failed fsync is never retried (see durable-fs.ts), and
// the node stops with a coded message (disk full, fsync failed, I/O error).
// Snapshots and compaction (log-writer-snapshots.ts) run here too, in message order
// with the writes; a start loads the newest valid snapshot and the log after it.
// Messages that waited for a write (a follower's acknowledgement) go from here straight
// to their replicators after the sync, before `written`: main decided them already.
// A group of quiet writes only (a follower's: LogWrite.quiet) is reported late, at most
// WRITTEN_LINGER_MS after its sync or with the next group that is not quiet: a post
// wakes main's thread (50-100 µs of the two cores here), and a follower's main has
// nothing to do on the report but bookkeeping.
import * as path from 'node:path';
import type { MessagePort } from 'node:worker_threads';
import { runActor } from '../lib/actor/host.js';
import { Logger } from '../lib/log/logger.js';
import { StorageMetrics } from '../lib/metrics/storage-metrics.js';
import type { Entry, HardState, NodeId } from '../lib/raft/types.js';
import { recoverHardState, saveHardState } from '../lib/storage/hard-state.js';
import { stopError } from '../lib/storage/durable-fs.js';
import { LogStore } from '../lib/storage/log-store.js';
import { SnapshotStore, type SnapshotMeta } from '../lib/storage/snapshot-store.js';
import { LogWriterSnapshots, snapshotInfo } from './log-writer-snapshots.js';
import { DurableSeq } from '../lib/node/durable-seq.js';
import { assert, assertNever } from '../lib/util/assert.js';
import type { LogWriterData, LogWriterIn, LogWriterOut, PeerMessage } from './protocol.js';

/** How long a quiet group's `written` may wait for a later group to go with. */
const WRITTEN_LINGER_MS = 25;

/** Writes applied since the last sync; all answered by one `written`. */
interface Group {
  seq: number;
  /** Every write of the group was quiet. */
  quiet: boolean;
  writes: number;
  entries: number;
  bytes: number;
  truncated: number;
  /** Messages released by the group's writes, in order: sent once it is durable. */
  release: PeerMessage[];
}

runActor<LogWriterIn, LogWriterOut, LogWriterData>((ctx) => {
  const d = ctx.data;
  assert(d.loadChunkEntriesMax >= 1, `loadChunkEntriesMax ${d.loadChunkEntriesMax}`);
  const durable = new DurableSeq(d.durable);
  const log = new Logger({
    dir: path.join(d.dataDir, 'logs'),
    node: d.nodeId,
    actor: 'log-writer',
    level: d.logLevel,
    fileBytesMax: d.logFileBytesMax,
  });
  let hardState: HardState;
  let store: LogStore;
  let snaps: SnapshotStore;
  let snapshot: SnapshotMeta | null;
  try {
    hardState = recoverHardState(d.dataDir);
    log.term = hardState.term;
    snaps = SnapshotStore.open(d.dataDir, log);
    const latest = snaps.latest();
    for (const w of latest.warnings) log.warn('snapshot ignored', { why: w });
    snapshot = latest.snapshot;
    store = LogStore.open({ dataDir: d.dataDir, segmentBytesMax: d.segmentBytesMax, log, snapshot });
  } catch (err) {
    log.error('open failed', { error: err });
    throw stopError(err, d.dataDir);
  }

  const snapshots = new LogWriterSnapshots(snaps, store, log);
  let loaded = false;
  /** Set once anything failed or stop was handled: later messages are ignored. */
  let done = false;
  let lastSeq: number | null = null;
  let group: Group | null = null;
  /** The seq of quiet groups synced and not reported yet (see WRITTEN_LINGER_MS). */
  let lateSeq: number | null = null;
  let lateTimer: NodeJS.Timeout | null = null;
  const sendLate = (): void => {
    lateTimer = null;
    if (done || lateSeq === null) return;
    ctx.send({ type: 'written', seq: lateSeq });
    lateSeq = null;
  };
  /** The replicators' ports (LogWriterIn 'peerPort'). */
  const peerPorts = new Map<NodeId, MessagePort>();
  /** Released messages for a peer without a port (it left the configuration): Raft retries what matters. */
  let releasedToStrangers = 0;
  const totals = { writes: 0, entries: 0, syncs: 0, fsyncCalls: 0 };
  const metrics = new StorageMetrics(() => store.segmentCount());

  const fail = (err: unknown): void => {
    done = true;
    log.error('fatal', { error: err });
    try {
      ctx.fatal(stopError(err, d.dataDir));
    } catch {
      // fatal() rethrows; the thread exits shortly.
    }
  };

  const onLoad = (): void => {
    assert(!loaded, 'load received twice');
    loaded = true;
    let chunk: Entry[] = [];
    let count = 0;
    // The tail kept below the snapshot (for lagging followers) stays on disk: the state
    // starts after the snapshot, so only the entries after it are read and sent.
    const from = snapshot === null ? store.firstIndex() : Math.max(store.firstIndex(), snapshot.index + 1);
    for (const e of store.entries(from)) {
      chunk.push(e);
      count++;
      if (chunk.length >= d.loadChunkEntriesMax) {
        ctx.send({ type: 'loadChunk', entries: chunk });
        chunk = [];
      }
    }
    if (chunk.length > 0) ctx.send({ type: 'loadChunk', entries: chunk });
    // The snapshot's content follows unasked, read while the main thread is still setting
    // up the node: it used to ask for it in reads once `loaded` came, when the other actors
    // were starting and each read waited its turn for a core.
    if (snapshot !== null) for (const data of snapshots.content(snapshot)) ctx.send({ type: 'loadSnapshot', data }, ownBuffer(data));
    ctx.send({
      type: 'loaded',
      hardState,
      firstIndex: from,
      lastIndex: store.lastIndex(),
      repairedTail: store.repairedTail !== null,
      snapshot: snapshot ? snapshotInfo(snapshot) : null,
    });
    log.info('loaded', { entries: count, from, firstIndex: store.firstIndex(), lastIndex: store.lastIndex(), snapshotIndex: snapshot?.index ?? 0 });
  };

  const onWrite = (msg: Extract<LogWriterIn, { type: 'write' }>): void => {
    assert(loaded, 'write before load');
    assert(lastSeq === null || msg.seq > lastSeq, `write seq ${msg.seq} after ${lastSeq}`);
    lastSeq = msg.seq;
    if (msg.hardState && !sameHardState(msg.hardState, hardState)) {
      saveHardState(d.dataDir, msg.hardState);
      hardState = { term: msg.hardState.term, vote: msg.hardState.vote };
      log.term = hardState.term;
    }
    const g: Group = group ?? { seq: msg.seq, quiet: true, writes: 0, entries: 0, bytes: 0, truncated: 0, release: [] };
    if (msg.release !== undefined) for (const m of msg.release) g.release.push(m);
    if (msg.quiet !== true) g.quiet = false;
    if (msg.entries.length > 0) {
      const r = store.append(msg.entries);
      g.entries += msg.entries.length;
      g.bytes += r.bytes;
      g.truncated += r.truncated;
      metrics.onWrite(msg.entries.length, r.bytes, r.truncated);
    }
    g.seq = msg.seq;
    g.writes++;
    totals.writes++;
    totals.entries += msg.entries.length;
    if (group === null) {
      group = g;
      setImmediate(onSyncDue);
    }
  };

  const syncGroup = (): void => {
    const g = group;
    if (g === null) return;
    group = null;
    const t0 = process.hrtime.bigint();
    const calls = store.sync();
    const syncUs = Number(process.hrtime.bigint() - t0) / 1000;
    totals.fsyncCalls += calls;
    // A group of empty writes (messages held behind writes already durable) syncs nothing.
    if (calls > 0) {
      totals.syncs++;
      metrics.onSync(syncUs / 1e6);
    }
    durable.store(g.seq);
    if (g.release.length > 0) sendReleased(g.release);
    if (g.quiet) {
      lateSeq = g.seq;
      lateTimer ??= setTimeout(sendLate, WRITTEN_LINGER_MS);
    } else {
      lateSeq = null;
      if (lateTimer !== null) clearTimeout(lateTimer);
      lateTimer = null;
      ctx.send({ type: 'written', seq: g.seq });
    }
    log.debug('batch', {
      seq: g.seq,
      writes: g.writes,
      entries: g.entries,
      bytes: g.bytes,
      truncated: g.truncated,
      fsyncCalls: calls,
      syncUs: Math.round(syncUs),
      totalWrites: totals.writes,
      totalSyncs: totals.syncs,
    });
  };

  /** One 'send' per peer, messages in their order. */
  const sendReleased = (msgs: PeerMessage[]): void => {
    const byPeer = new Map<NodeId, PeerMessage[]>();
    for (const m of msgs) {
      let list = byPeer.get(m.to);
      if (list === undefined) byPeer.set(m.to, (list = []));
      list.push(m);
    }
    for (const [peer, list] of byPeer) {
      const port = peerPorts.get(peer);
      if (port === undefined) {
        releasedToStrangers += list.length;
        log.debug('released-dropped', { peer, count: list.length, total: releasedToStrangers, reason: 'no replicator' });
        continue;
      }
      port.postMessage({ type: 'send', messages: list });
    }
  };

  const onPeerPort = (msg: Extract<LogWriterIn, { type: 'peerPort' }>): void => {
    peerPorts.get(msg.peer)?.close();
    if (msg.port === null) peerPorts.delete(msg.peer);
    else peerPorts.set(msg.peer, msg.port);
  };

  function onSyncDue(): void {
    if (done) return;
    try {
      syncGroup();
    } catch (err) {
      fail(err);
    }
  }

  const onStop = (): void => {
    syncGroup();
    snapshots.close();
    store.close();
    done = true;
    log.info('stopped', { lastIndex: store.lastIndex(), ...totals });
    log.close();
    process.exit(0);
  };

  const handle = (msg: LogWriterIn): void => {
    switch (msg.type) {
      case 'load':
        return onLoad();
      case 'write':
        return onWrite(msg);
      case 'stop':
        return onStop();
      case 'peerPort':
        return onPeerPort(msg);
      case 'compact':
      case 'snapshotBegin':
      case 'snapshotChunk':
      case 'snapshotEnd':
      case 'snapshotAbort':
      case 'snapshotRead':
      case 'snapshotRecv': {
        assert(loaded, `${msg.type} before load`);
        // Appended entries go to disk before the log may be compacted or replaced under them.
        if (msg.type === 'compact' || msg.type === 'snapshotRecv') syncGroup();
        const out = snapshots.handle(msg);
        if (out === null) return;
        // A read of a snapshot (megabytes, streamed to a follower) is moved, not copied.
        ctx.send(out, out.type === 'snapshotData' ? ownBuffer(out.data) : undefined);
        return;
      }
      case 'metrics':
        return ctx.send({ type: 'metrics', id: msg.id, snapshot: metrics.registry.snapshot() });
      default:
        return assertNever(msg, 'log writer message');
    }
  };

  ctx.ready();
  return (msg: LogWriterIn) => {
    if (done) return;
    try {
      handle(msg);
    } catch (err) {
      // runActor reports it as fatal; nothing more is written after a failure.
      done = true;
      log.error('fatal', { error: err, message: msg.type });
      throw stopError(err, d.dataDir);
    }
  };
});

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote;
}

/** The buffer to move instead of copy when `d` has it to itself (megabytes of a snapshot). */
function ownBuffer(d: Uint8Array): ArrayBuffer[] | undefined {
  return d.byteOffset === 0 && d.byteLength === d.buffer.byteLength && d.buffer instanceof ArrayBuffer ? [d.buffer] : undefined;
}
