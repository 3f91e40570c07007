// How much memory an actor's V8 isolate may hold beyond what it uses. Every actor is a
// worker thread with its own isolate, and by default V8 lets each one's young generation
// grow to ~48 MiB (three 16 MiB semi-spaces) under load and keeps it committed ever after:
// on a loaded node that was 30-40 MiB of resident memory per busy actor (log writer,
// client gateway, replicators) holding nothing but garbage already collected. Actors
// allocate small, short-lived messages, so a small young generation costs them a few more
// (cheap) scavenges and nothing else. The old generation is left unbounded on purpose: a
// limit there turns a burst of clients into an out-of-memory crash of the thread.
import type { ResourceLimits } from 'node:worker_threads';

/** An actor's young generation (semi-spaces plus new large objects), in MiB. */
export const ACTOR_YOUNG_GENERATION_MB = 3;

export function actorResourceLimits(): ResourceLimits {
  return { maxYoungGenerationSizeMb: ACTOR_YOUNG_GENERATION_MB };
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
