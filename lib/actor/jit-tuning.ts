// How soon V8 optimizes a node's hot code. V8 runs a function in its interpreter and
// baseline tier until the function has run through its "interrupt budget" of bytecode a
// few times, then compiles it with TurboFan. With the default budget (66 KiB of bytecode)
// a function must run a lot before it is compiled; a node's hot paths are short
// functions each called once or a few times per request, spread over ~20 isolates on a
// 3-node machine (a main thread and six actors per node), so at low load they stayed
// unoptimized for a long time: one closed-loop client on a fresh 3-node cluster wrote
// 250-350 times a second for the first 5-10 s, at 4-5 ms of CPU per write, and reached
// its steady ~750 only after 10-25 s (the generic inline-cache builtins and the
// baseline prologue were the top of `perf`). With an eighth of the budget it reached
// ~700 three seconds after the first write. The cost is more compilation in the first
// second or two, of code that is then used for as long as the node runs.
import * as v8 from 'node:v8';

/** Bytecode bytes a function runs through per tier-up check (V8's default: 67,584). */
export const INTERRUPT_BUDGET_BYTES = 8192;

let tuned = false;

/**
 * Process-wide and read whenever a function's budget is reset, so it holds in every
 * isolate, the actors' too, and for code compiled after the call. Call it first thing
 * when a node starts, before the actors are spawned.
 */
export function tuneJitTierUp(): void {
  if (tuned) return;
  tuned = true;
  v8.setFlagsFromString(`--interrupt-budget=${INTERRUPT_BUDGET_BYTES}`);
}
