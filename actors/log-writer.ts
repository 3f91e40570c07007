// The log writer actor: owns the node's durable log and hard state on its own thread.
//
// Writes are applied as they arrive (hard state first, then entries) and made durable
// together: the first write of a group schedules one sync with setImmediate, so every
// write message that reaches the thread before the sync starts is covered by that one
// fdatasync and answered by one `written` carrying the group's highest seq.
// Any storage error is fatal: a failed fsync is never retried (see durable-fs.ts).
import * as path from 'node:path';
import { runActor } from '../lib/actor/host.js';
import { Logger } from '../lib/log/logger.js';
import { StorageMetrics } from '../lib/metrics/storage-metrics.js';
import type { Entry, HardState } from '../lib/raft/types.js';
import { loadHardState, saveHardState } from '../lib/storage/hard-state.js';
import { LogStore } from '../lib/storage/log-store.js';
import { assert, assertNever } from '../lib/util/assert.js';
import type { LogWriterData, LogWriterIn, LogWriterOut } from './protocol.js';

/** Writes applied since the last sync; all answered by one `written`. */
interface Group {
  seq: number;
  writes: number;
  entries: number;
  bytes: number;
  truncated: number;
}

runActor<LogWriterIn, LogWriterOut, LogWriterData>((ctx) => {
  const d = ctx.data;
  assert(d.loadChunkEntriesMax >= 1, `loadChunkEntriesMax ${d.loadChunkEntriesMax}`);
  const log = new Logger({
    dir: path.join(d.dataDir, 'logs'),
    node: d.nodeId,
    actor: 'log-writer',
    level: d.logLevel,
    fileBytesMax: d.logFileBytesMax,
  });
  let hardState: HardState;
  let store: LogStore;
  try {
    hardState = loadHardState(d.dataDir);
    log.term = hardState.term;
    store = LogStore.open({ dataDir: d.dataDir, segmentBytesMax: d.segmentBytesMax, log });
  } catch (err) {
    log.error('open failed', { error: err });
    throw err;
  }

  let loaded = false;
  /** Set once anything failed or stop was handled: later messages are ignored. */
  let done = false;
  let lastSeq: number | null = null;
  let group: Group | null = null;
  const totals = { writes: 0, entries: 0, syncs: 0, fsyncCalls: 0 };
  const metrics = new StorageMetrics(() => store.segmentCount());

  const fail = (err: unknown): void => {
    done = true;
    log.error('fatal', { error: err });
    try {
      ctx.fatal(err);
    } catch {
      // fatal() rethrows; the thread exits shortly.
    }
  };

  const onLoad = (): void => {
    assert(!loaded, 'load received twice');
    loaded = true;
    let chunk: Entry[] = [];
    let count = 0;
    for (const e of store.entries()) {
      chunk.push(e);
      count++;
      if (chunk.length >= d.loadChunkEntriesMax) {
        ctx.send({ type: 'loadChunk', entries: chunk });
        chunk = [];
      }
    }
    if (chunk.length > 0) ctx.send({ type: 'loadChunk', entries: chunk });
    ctx.send({
      type: 'loaded',
      hardState,
      firstIndex: store.firstIndex(),
      lastIndex: store.lastIndex(),
      repairedTail: store.repairedTail !== null,
    });
    log.info('loaded', { entries: count, firstIndex: store.firstIndex(), lastIndex: store.lastIndex() });
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
    const g: Group = group ?? { seq: msg.seq, writes: 0, entries: 0, bytes: 0, truncated: 0 };
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
    totals.syncs++;
    totals.fsyncCalls += calls;
    metrics.onSync(syncUs / 1e6);
    ctx.send({ type: 'written', seq: g.seq });
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
      throw err;
    }
  };
});

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote;
}
