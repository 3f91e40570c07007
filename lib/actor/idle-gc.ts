// Full collections for actor threads, which V8 itself rarely gives one. An actor's heap
// is small (7-8 MiB live), so V8's heap-growth heuristics almost never call for a full
// (mark-compact) collection in it: after a burst of load a leader's replicators and
// gateway were measured holding 12-16 MiB of heap pages for 7-8 MiB of live objects,
// long after the load ended. Worse, the buffers of messages between threads and of
// socket reads live outside the heap and die in place; V8 frees them only at a full
// collection, and calls one for them only past ~64 MiB of growth per isolate. Each of a
// node's six actors can hold that much of dead buffers.
//
// So each thread watches its own young-generation collections (cheap events, one per
// ~1.5 MiB allocated, none at all while it idles) and, at most once a second while it
// works:
//   - collects in full when memory outside the heap grew by EXTERNAL_SLACK_BYTES since the
//     last full collection: that bounds the dead buffers under load;
//   - collects in full once it went quiet (no young collection for a spell) with enough
//     grown since the last full collection: the heap goes back to its live size, compacted
//     while it is small (compactHeapBytesMax), and the dead buffers are freed.
// A forced collection stops the thread for all of it. Compacting copies everything live:
// on this machine ~3 ms per MiB (72 ms for 23 MiB, 350 for 119), against ~0.5 ms per MiB
// without (57 ms for 120 MiB). A main thread holding an 80,000-entry log compacted for
// 0.5-0.9 s once the restart's apply went quiet, on all five nodes at once: the leader's
// heartbeats stopped for longer than an election timeout and leadership churned. So a
// big heap is collected without compaction, and past collectHeapBytesMax not at all
// (V8's own, incremental collections see to it). How big may compact depends on who
// pauses: a leader's pause stops its heartbeats, so it compacts only a small heap; a
// follower's pause only delays its acknowledgements (the heartbeats that arrive
// meanwhile are stepped before the pause's ticks: tick-clock.ts take()), so the main
// thread of a follower compacts a 100k-key store (~40 MiB, ~120 ms). The node says
// which it is (setCompactHeapBytesMax).
// Heap growth alone never brings a collection while the thread works: a forced full
// collection throws away optimized code that holds objects found dead ("weak objects"
// in --trace-deopt), and the thread then runs its hot paths unoptimized until V8
// compiles them again. Actors collected every time their heap grew 2 MiB: at 64 clients
// a leader's gateway collected in full ~1.5 times a second (30-55 ms each on a slow
// day), and the leader threw away and recompiled ~15 functions a second, 45 s into the
// load; V8's compiler and collector threads were then the leader's busiest after the
// gateway. Without it the same run recompiled nothing after its first seconds, and
// used a quarter less CPU per write, while the heap under load stayed within a few MiB
// of what it was (V8 collects an old generation that grew 30 % by itself, heap-tuning.ts).
// The main thread does the same with a longer spell and more work behind it (MAIN_IDLE_GC).
// An idle thread makes a young collection only every few seconds or minutes, so this adds
// no wake-ups to an idle node. The decisions are in IdleGcPolicy (pure, tested with
// made-up numbers); startIdleCollector() wires it to the thread's GC events and a timer.
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';

/** A full collection when memory outside the heap grew this much since the last one. */
export const EXTERNAL_SLACK_BYTES = 16 * 1024 * 1024;
/** How often a working thread looks at its memory: a quiet spell is counted in these. */
export const CHECK_INTERVAL_MS = 1000;

export interface IdleGcOptions {
  /** Growth of the heap, or of memory outside it, since the last full collection that makes one worth it once quiet. */
  worthBytes: number;
  /** Checks in a row that make a quiet spell. */
  quietChecks: number;
  /** Young collections a check may have seen and still count as quiet. */
  quietScavengesMax: number;
  /** Full collections in a row: the second frees the buffers the first found dead. */
  passes: 1 | 2;
  /** A heap this big or smaller is compacted by a forced collection; a bigger one is not (the pause). */
  compactHeapBytesMax: number;
  /** Above this, no forced collection at all (the pause, even without compaction). */
  collectHeapBytesMax: number;
}

export type CollectionKind = 'compact' | 'plain';

/** How a forced collection of a heap holding `heapUsed` bytes goes (when the policy says collect). */
export function collectionKind(compactHeapBytesMax: number, heapUsed: number): CollectionKind {
  return heapUsed <= compactHeapBytesMax ? 'compact' : 'plain';
}

/** This thread's bound on a heap its collector compacts (startIdleCollector sets it from its options). */
let compactLimit = 0;

/** Changes this thread's compaction bound (the main thread: by its node's role). */
export function setCompactHeapBytesMax(bytes: number): void {
  compactLimit = bytes;
}

/** A leader's main thread (and any actor: theirs hold a few MiB) compacts up to this: ~75 ms here, a quarter of the shortest election timeout. */
export const LEADER_COMPACT_HEAP_BYTES_MAX = 24 * 1024 * 1024;
/** A follower's main thread compacts up to this: ~200 ms here; only its acknowledgements wait. */
export const FOLLOWER_COMPACT_HEAP_BYTES_MAX = 64 * 1024 * 1024;
const PAUSE_BOUNDS = { compactHeapBytesMax: LEADER_COMPACT_HEAP_BYTES_MAX, collectHeapBytesMax: 256 * 1024 * 1024 };

/**
 * An actor's heap is a few MiB: a full collection of it takes a few milliseconds, and it
 * is collected after a second of quiet once it grew 2 MiB. The main thread holds the
 * keyspace (~40 MiB for 100k keys; a follower compacts it in ~120 ms, a leader collects
 * it without compaction in ~20): it waits for 6 MiB of growth and three quiet seconds (at
 * most one young collection in each: a leader's heartbeats and metrics allocate that much
 * while it idles), and collects once (V8 frees its dead buffers at its next collection of
 * its own).
 */
export const ACTOR_IDLE_GC: IdleGcOptions = { worthBytes: 2 * 1024 * 1024, quietChecks: 1, quietScavengesMax: 0, passes: 2, ...PAUSE_BOUNDS };
export const MAIN_IDLE_GC: IdleGcOptions = { worthBytes: 6 * 1024 * 1024, quietChecks: 3, quietScavengesMax: 1, passes: 1, ...PAUSE_BOUNDS };

export type GcDecision = 'collect' | 'wait' | 'sleep';

/** Bytes in the thread's heap and held outside it. */
export interface MemoryNow {
  heapUsed: number;
  external: number;
}

/**
 * What to do at a check: `collect` now, `wait` for the next check (working, or quiet for
 * too short a spell), or `sleep` (quiet, with too little grown to be worth a collection:
 * no timer until the next young collection).
 */
export class IdleGcPolicy {
  /** Young collections since the last check. */
  private scavenges = 0;
  /** Checks in a row that found the thread quiet. */
  private quiet = 0;
  private externalAfterFull: number;
  private heapAfterFull: number;

  constructor(
    private readonly opts: IdleGcOptions,
    now: MemoryNow,
  ) {
    this.externalAfterFull = now.external;
    this.heapAfterFull = now.heapUsed;
  }

  /** A young-generation collection happened. */
  scavenged(): void {
    this.scavenges++;
  }

  /** A full collection of ours happened, leaving `now`. */
  collected(now: MemoryNow): void {
    this.scavenges = 0;
    this.quiet = 0;
    this.externalAfterFull = now.external;
    this.heapAfterFull = now.heapUsed;
  }

  check(now: MemoryNow): GcDecision {
    const since = this.scavenges;
    this.scavenges = 0;
    const working = since > this.opts.quietScavengesMax;
    const external = now.external - this.externalAfterFull;
    const heap = now.heapUsed - this.heapAfterFull;
    if (now.heapUsed > this.opts.collectHeapBytesMax) return since > 0 ? 'wait' : 'sleep';
    if (external >= EXTERNAL_SLACK_BYTES) return 'collect';
    this.quiet = working ? 0 : this.quiet + 1;
    if (heap < this.opts.worthBytes && external < this.opts.worthBytes) return since > 0 ? 'wait' : 'sleep';
    return this.quiet >= this.opts.quietChecks ? 'collect' : 'wait';
  }
}

type GcFunction = () => void;

/**
 * The isolate's gc(). --expose-gc is read when a context is made, so a context made after
 * setting it has gc() (for the isolate of the calling thread), while this thread's own
 * global stays as it was.
 */
function obtainGc(): GcFunction {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as GcFunction;
}

/**
 * One forced full collection. The compaction flag is process-wide and off (heap-tuning.ts):
 * it is on for this collection only (V8 reads it at every collection; another thread's
 * collection meanwhile may compact too, which is harmless).
 */
function collectOnce(gc: GcFunction, kind: CollectionKind): void {
  if (kind === 'plain') return gc();
  v8.setFlagsFromString('--compact-on-every-full-gc');
  try {
    gc();
  } finally {
    v8.setFlagsFromString('--no-compact-on-every-full-gc');
  }
}

function memoryNow(): MemoryNow {
  const h = v8.getHeapStatistics();
  return { heapUsed: h.used_heap_size, external: h.external_memory };
}

const GC_MINOR = constants.NODE_PERFORMANCE_GC_MINOR;

let started = false;

/**
 * Watches this thread's collections and collects in full as IdleGcPolicy says. Once per
 * thread. V8's own full collections do not move the policy's baseline: their events
 * arrive after the fact (after a long task, once it ends), when the heap may hold a burst
 * of garbage again; an older, lower baseline costs at most one collection too many.
 */
export function startIdleCollector(opts: IdleGcOptions): void {
  if (started) return;
  started = true;
  const gc = obtainGc();
  compactLimit = opts.compactHeapBytesMax;
  const policy = new IdleGcPolicy(opts, memoryNow());
  let timer: NodeJS.Timeout | null = null;
  let collecting = false;
  const done = () => {
    collecting = false;
    policy.collected(memoryNow());
  };
  const collect = () => {
    collecting = true;
    const kind = collectionKind(compactLimit, memoryNow().heapUsed);
    collectOnce(gc, kind);
    if (opts.passes === 1) return done();
    // Array buffers found dead are freed by the sweeper after the collection: a second
    // one, a turn later, finds them freed (measured: external memory fell only then).
    setImmediate(() => {
      collectOnce(gc, kind);
      done();
    }).unref();
  };
  const check = () => {
    timer = null;
    if (collecting) return arm();
    const d = policy.check(memoryNow());
    if (d === 'collect') collect();
    else if (d === 'wait') arm();
  };
  const arm = () => {
    if (timer === null) timer = setTimeout(check, CHECK_INTERVAL_MS).unref();
  };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if ((e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind !== GC_MINOR) continue;
      policy.scavenged();
      arm();
    }
  }).observe({ entryTypes: ['gc'] });
}
