// A log writer actor on a real worker thread, for tests: what it sent, and a way to wait for a message.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnActor, type ActorHandle } from '../../lib/actor/spawn.js';
import type { Entry } from '../../lib/raft/types.js';
import type { RaftdError } from '../../lib/util/errors.js';
import { DurableSeq } from '../../lib/node/durable-seq.js';
import type { LogWriterData, LogWriterIn, LogWriterOut } from '../../actors/protocol.js';

const ACTOR = new URL('../../actors/log-writer.js', import.meta.url);

export function tmpDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftd-logwriter-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface Writer {
  handle: ActorHandle<LogWriterIn>;
  out: LogWriterOut[];
  fatal: RaftdError[];
  /** The writer's shared durable seq, as main reads it. */
  durable: DurableSeq;
  /** Resolves when a message matching `pred` has arrived (looking at earlier ones too). */
  until(pred: (m: LogWriterOut) => boolean): Promise<LogWriterOut>;
}

export function startWriter(dataDir: string, opts: Partial<LogWriterData> = {}): Writer {
  const out: LogWriterOut[] = [];
  const fatal: RaftdError[] = [];
  const waiters: { pred: (m: LogWriterOut) => boolean; resolve: (m: LogWriterOut) => void }[] = [];
  const data: LogWriterData = {
    nodeId: 'n1',
    dataDir,
    logLevel: 'debug',
    logFileBytesMax: 1 << 24,
    segmentBytesMax: 64 * 1024,
    loadChunkEntriesMax: 100,
    durable: new SharedArrayBuffer(8),
    ...opts,
  };
  const handle = spawnActor<LogWriterIn, LogWriterOut>({
    name: 'log-writer',
    file: ACTOR,
    workerData: data,
    onMessage(m) {
      out.push(m);
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i]!.pred(m)) waiters.splice(i, 1)[0]!.resolve(m);
      }
    },
    onFatal(err) {
      fatal.push(err);
      for (const w of waiters.splice(0)) w.resolve({ type: 'written', seq: Number.NaN });
    },
  });
  return {
    handle,
    out,
    fatal,
    durable: new DurableSeq(data.durable),
    until(pred) {
      const seen = out.find(pred);
      if (seen) return Promise.resolve(seen);
      if (fatal.length > 0) return Promise.reject(fatal[0]);
      return new Promise((resolve) => waiters.push({ pred, resolve }));
    },
  };
}

export function entries(from: number, count: number, term: number): Entry[] {
  return Array.from({ length: count }, (_, k) => ({
    index: from + k,
    term,
    kind: 'normal' as const,
    tid: `c-${from + k}`,
    data: Buffer.from(`payload ${from + k} `.repeat(5)),
  }));
}

export function plain(es: Iterable<Entry>): object[] {
  return [...es].map((e) => ({ index: e.index, term: e.term, kind: e.kind, tid: e.tid, data: Buffer.from(e.data).toString('hex') }));
}

export async function load(w: Writer): Promise<{ entries: Entry[]; loaded: Extract<LogWriterOut, { type: 'loaded' }>; chunks: number[] }> {
  await w.handle.ready;
  w.handle.post({ type: 'load' });
  const loaded = (await w.until((m) => m.type === 'loaded')) as Extract<LogWriterOut, { type: 'loaded' }>;
  const chunks = w.out.flatMap((m) => (m.type === 'loadChunk' ? [m.entries.length] : []));
  const es = w.out.flatMap((m) => (m.type === 'loadChunk' ? m.entries : []));
  return { entries: es, loaded, chunks };
}

