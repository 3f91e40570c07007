// An actor for test/idle-gc.test.ts: on `churn` it builds objects and buffers that live
// long enough to reach the old generation, dropping them batch by batch, and keeps the
// last batch until `drop`, as a burst of load leaves a real actor (kept, the test can see
// the burst's garbage whenever V8 or the under-load bound collected during it); `stats` reports its heap and the full collections forced by gc(). It runs through runActor like every
// actor, so it gets the idle collector a node's actors get.
import * as v8 from 'node:v8';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { runActor } from '../../lib/actor/host.js';

export type ChurnIn = { type: 'churn'; rounds: number } | { type: 'drop' } | { type: 'stats' };
export type ChurnOut = { type: 'churned' } | { type: 'dropped' } | { type: 'stats'; heapUsed: number; external: number; forcedFullGcs: number };

/** Full collections asked for by gc(), which V8 never makes on its own (its memory reducer's are not forced). */
let forcedFullGcs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const d = (e as unknown as { detail?: { kind?: number; flags?: number } }).detail;
    if (d?.kind === constants.NODE_PERFORMANCE_GC_MAJOR && ((d.flags ?? 0) & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) !== 0) forcedFullGcs++;
  }
}).observe({ entryTypes: ['gc'] });

/** The burst's last batch, until `drop`. */
let held: { s: string; b: Uint8Array }[] = [];

runActor<ChurnIn, ChurnOut, null>((ctx) => {
  ctx.ready();
  return (msg) => {
    switch (msg.type) {
      case 'churn': {
        held = [];
        for (let i = 0; i < msg.rounds; i++) {
          if (held.length >= 20_000) held = [];
          held.push({ s: `value ${i} `.repeat(8), b: new Uint8Array(512) });
        }
        ctx.send({ type: 'churned' });
        return;
      }
      case 'drop':
        held = [];
        ctx.send({ type: 'dropped' });
        return;
      case 'stats': {
        const h = v8.getHeapStatistics();
        ctx.send({ type: 'stats', heapUsed: h.used_heap_size, external: h.external_memory, forcedFullGcs });
        return;
      }
      default: {
        const never: never = msg;
        throw new Error(`unknown message ${JSON.stringify(never)}`);
      }
    }
  };
});
