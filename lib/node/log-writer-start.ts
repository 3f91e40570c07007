// The log writer starts before the rest of the node exists. A restart is bound by what
// the log writer reads (hard state, the newest snapshot, the log after it) and by the
// main thread restoring it; the log writer's thread start-up (~80 ms of module loading
// and isolate set-up) and its reading used to begin only after the main thread had
// loaded the node's ~100 modules (~140 ms), and then shared the two cores with five
// other starting threads. Started from here (this module loads little), it boots and
// reads while the main thread loads the node, and its answers wait in order until the
// node attaches.
import { tuneProcessHeap } from '../actor/heap-tuning.js';
import { tuneJitTierUp } from '../actor/jit-tuning.js';
import type { LogWriterData, LogWriterIn, LogWriterOut } from '../actor/protocol.js';
import { DurableSeq } from './durable-seq.js';
import { actorFile, spawnActor, type ActorHandle } from '../actor/spawn.js';
import type { NodeOptions } from '../config/options.js';
import { assert } from '../util/assert.js';
import type { RaftdError } from '../util/errors.js';

/** Entries in one `loadChunk` while the node loads its log. */
const LOAD_CHUNK_ENTRIES_MAX = 8192;

export interface StartedLogWriter {
  readonly handle: ActorHandle<LogWriterIn>;
  /** What the log writer has made durable, readable at any moment (lib/node/durable-seq.ts). */
  readonly durable: DurableSeq;
  /**
   * Hands the log writer's messages and its failure to the node: what arrived before is
   * delivered first, in order. Once only. `load` was posted at start.
   */
  attach(onMessage: (m: LogWriterOut) => void, onFatal: (err: RaftdError) => void): void;
}

/** Spawns the node's log writer and asks it to load at once. */
export function startLogWriter(opts: Pick<NodeOptions, 'id' | 'dataDir' | 'logLevel' | 'logFileBytesMax' | 'segmentBytesMax'>): StartedLogWriter {
  tuneProcessHeap(); // some flags are read when an isolate is made (lib/actor/heap-tuning.ts)
  tuneJitTierUp(); // before the first actor's code runs (lib/actor/jit-tuning.ts)
  // Until the node attaches, the log writer sends only the load's answers: a chunk per
  // LOAD_CHUNK_ENTRIES_MAX entries of the log after the snapshot, then the snapshot's
  // content, which the node holds anyway once loaded.
  const early: LogWriterOut[] = [];
  let failed: RaftdError | null = null;
  let onMessage: ((m: LogWriterOut) => void) | null = null;
  let onFatal: ((err: RaftdError) => void) | null = null;
  const durable = new DurableSeq();
  const handle = spawnActor<LogWriterIn, LogWriterOut>({
    name: 'log-writer',
    file: actorFile('log-writer', import.meta.url),
    workerData: {
      nodeId: opts.id,
      dataDir: opts.dataDir,
      logLevel: opts.logLevel,
      logFileBytesMax: opts.logFileBytesMax,
      segmentBytesMax: opts.segmentBytesMax,
      loadChunkEntriesMax: LOAD_CHUNK_ENTRIES_MAX,
      durable: durable.buffer,
    } satisfies LogWriterData,
    onMessage: (m) => (onMessage !== null ? onMessage(m) : early.push(m)),
    onFatal: (err) => (onFatal !== null ? onFatal(err) : (failed ??= err)),
  });
  handle.post({ type: 'load' });
  return {
    handle,
    durable,
    attach(message, fatal) {
      assert(onMessage === null, 'log writer attached twice');
      onMessage = message;
      onFatal = fatal;
      for (const m of early.splice(0)) message(m);
      if (failed !== null) fatal(failed);
    },
  };
}
