// How much memory a node's V8 isolates may hold beyond what they use. A node is one
// process with one isolate per thread (the main thread and every actor), and V8's
// defaults are sized for one big, throughput-hungry isolate: under load each young
// generation grows to ~48 MiB (three 16 MiB semi-spaces) and stays committed ever after,
// and the old generation runs up to 2-4x its live bytes before a full collection. On a
// loaded 3-node cluster that was 30-40 MiB resident per busy actor and ~100 MiB on the
// main thread holding nothing but collected garbage. raftd allocates small, short-lived
// messages: smaller generations cost it a few more (cheap) scavenges, not throughput.
import * as v8 from 'node:v8';
import type { ResourceLimits } from 'node:worker_threads';

/** An actor's young generation (semi-spaces plus new large objects), in MiB. */
export const ACTOR_YOUNG_GENERATION_MB = 3;
/** The old generation may grow this many percent past what survived the last full collection. */
export const OLD_GENERATION_GROWING_PERCENT = 30;

/**
 * An actor's isolate: a small young generation. The old generation is left unbounded on
 * purpose: a limit there turns a burst of clients into an out-of-memory crash of the thread.
 */
export function actorResourceLimits(): ResourceLimits {
  return { maxYoungGenerationSizeMb: ACTOR_YOUNG_GENERATION_MB };
}

let tuned = false;

/**
 * The main thread's isolate was sized when the process started; three of V8's flags are
 * read again at every collection, so setting them now still bounds it: the young
 * generation stays near its start-up size (1-2 MiB semi-spaces) instead of doubling up to
 * 16 MiB, and the old generation grows by OLD_GENERATION_GROWING_PERCENT, not 2-4x (the
 * idle collector compacts what is small enough). The flags are process-wide: the actors'
 * isolates follow them too. Call it once, first thing when a node starts.
 *
 * The semi-space bound does not hold on its own: once worker threads start it is lost
 * (setting it again as each worker came online did not hold either on a loaded machine),
 * and a loaded leader's main thread was measured with a 30 MiB young generation. What
 * holds is MAIN_SEMI_SPACE_MB in NODE_OPTIONS (nodeProcessEnv).
 */
export function tuneProcessHeap(): void {
  if (tuned) return;
  tuned = true;
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  v8.setFlagsFromString(`--heap-growing-percent=${OLD_GENERATION_GROWING_PERCENT}`);
  // Values overwritten at random die in place all over the old generation, and V8
  // compacts a page only once it is mostly (70 %) free: a loaded leader's main thread
  // held 68-80 MiB of pages for 42-50 MiB of objects, and never gave it back while it
  // idled. Compacting at every full collection (--compact-on-every-full-gc) kept them
  // within a few percent, but it copies everything live inside the pause (~3 ms per MiB
  // here): a main thread with a big heap stopped for longer than an election timeout.
  // So only the idle collector compacts, a heap small enough to do it in a short pause
  // (idle-gc.ts compactHeapBytesMax); V8's own full collections keep their heuristic.
  v8.setFlagsFromString('--no-compact-on-every-full-gc');
  // On a machine with 4 GiB or more V8 maps a copy of its built-in functions (the
  // embedded blob, 1.6 MiB) next to each new isolate's code, so calls to them are short
  // jumps. The pages are the binary's, but each mapping counts in the RSS again: ~1 MiB
  // resident per actor thread, 6-7 MiB a node. Without the copies the actors call the
  // built-ins where the binary has them. Read when an isolate is made: set before the
  // actors start.
  v8.setFlagsFromString('--no-short-builtin-calls');
  // V8's memory reducer stays on, though on an idle node it costs a fifth of the cluster's
  // CPU (full, compacting collections of every isolate every few seconds; off: 0.52-0.55
  // CPU s per 10 s for 3 idle nodes instead of 0.61-0.73). Off, each node held ~10 MB
  // more after a burst (300k writes, alternated clusters: followers 176-193 MB right after
  // and 170-177 settled, against 165-166 and 157-161 on), past issue 9's 200 MB line on a
  // follower in bench:snapshots (221 MB). See the README's idle paragraph.
}

/** How far the old generation may grow past its survivors while a node loads its state. */
export const LOADING_GROWING_PERCENT = 100;

/**
 * While a node restores its state nearly everything the main thread allocates survives,
 * and with the tuned flags V8 ran a full collection each time the old generation grew by
 * 30 %: five or six of them while 100k keys were restored, half of the restore's time
 * (they compacted then, too). V8's own growth until the state is in, then the tuned
 * flag again (read at every collection). Measured: restoring 100k keys 180 ms instead of
 * 240; a follower's restart until it served a read 1,224 ms instead of 1,349 (mean of 8
 * each, alternated). Returns the function that tightens the heap again.
 */
export function loosenHeapWhileLoading(): () => void {
  if (!tuned) return () => {};
  v8.setFlagsFromString(`--heap-growing-percent=${LOADING_GROWING_PERCENT}`);
  return () => {
    v8.setFlagsFromString(`--heap-growing-percent=${OLD_GENERATION_GROWING_PERCENT}`);
  };
}

/**
 * glibc's malloc, which every ArrayBuffer, socket read and message between threads goes
 * through, keeps up to 8 arenas per core, one per busy thread, and returns little of
 * them: on a loaded node 100-140 MiB resident beyond everything V8 and Node account for.
 * These are read once when a process starts, so whoever starts a node sets them
 * (lib/cli/launcher.ts, test/helpers/cluster.ts); a value already in the environment wins.
 */
export const MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  // A fixed threshold: glibc would otherwise raise it to the largest buffer freed so far.
  // Not lower: every allocation from the threshold up is a fresh mmap, touched page by
  // page, and an munmap when freed, which shoots down the TLB of every core the process
  // ran on. At 64 KiB that was every 100 KB value at each of its copies and every 1 MiB
  // frame: on this machine 0.52 ms to allocate and fill 100 KB instead of 0.015 from an
  // arena, and the large-values bench (5 members, 100 KB SETs) spent its CPU in page
  // faults, got 3-4 MB/s and saw 7-9 elections in 15 s; with 4 MiB, 9-10 MB/s and 0-1.
  MALLOC_MMAP_THRESHOLD_: '4194304',
  MALLOC_TRIM_THRESHOLD_: '131072',
};

/**
 * The main thread's semi-space bound, in MiB, given at process start (NODE_OPTIONS): the
 * one bound V8 reads when the heap is set up, so no worker start and no burst of survivors
 * (a snapshot restored while the actors start) grows the young generation past it
 * (new space: two semi-spaces). Measured on a loaded 3-node cluster (100k keys, 300k
 * writes): the main thread's new space 4 MiB instead of 30. A node started without it
 * (not through the launcher, the test clusters or bench) keeps only tuneProcessHeap().
 */
export const MAIN_SEMI_SPACE_MB = 2;

/** The environment to start a node process with: a value already set wins. */
export function nodeProcessEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const nodeOptions = env['NODE_OPTIONS'] ?? '';
  const semi = /--max-semi-space-size\b/.test(nodeOptions) ? '' : `--max-semi-space-size=${MAIN_SEMI_SPACE_MB}`;
  return { ...MALLOC_ENV, ...env, NODE_OPTIONS: [nodeOptions, semi].filter((x) => x !== '').join(' ') };
}

/**
 * The flags of the main thread an actor must not be started with: V8's heap sizing flags
 * are process-wide and a worker refuses them in its execArgv (ERR_WORKER_INVALID_EXEC_ARGV);
 * the worker's own sizes come from actorResourceLimits(). Loaders preloaded by test
 * runners (--import=...) cost a worker seconds to start, and an actor needs none.
 */
export function actorExecArgv(parent: readonly string[]): string[] {
  const refused = ['--import', '--loader', '--require', '--max-semi-space-size', '--max-old-space-size', '--max-heap-size', '--heapsnapshot-signal', '--heapsnapshot-near-heap-limit'];
  return parent.filter((a) => !refused.some((r) => a.startsWith(r)));
}
