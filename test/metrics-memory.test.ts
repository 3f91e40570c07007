// Each thread's memory gauges (lib/metrics/actor-metrics.ts): the V8 heap it holds in
// memory and what its objects hold outside the heap, one series per thread, as
// test/bench/memory-breakdown.ts reads them from /metrics.
import t from 'tap';
import { ActorMetrics } from '../lib/metrics/actor-metrics.js';

t.test('a thread reports its heap resident and its external memory', (t) => {
  const m = new ActorMetrics('mem-thread');
  const held = Buffer.alloc(4 * 1024 * 1024, 1); // counts as external memory while it lives
  const fams = m.snapshot().families;
  const value = (name: string): number | undefined => fams.find((f) => f.name === name)?.values.find((v) => v.labels['thread'] === 'mem-thread')?.value;
  const resident = value('raftd_thread_heap_resident_bytes');
  const used = value('raftd_thread_heap_used_bytes');
  const external = value('raftd_thread_external_bytes');
  t.ok(resident !== undefined && used !== undefined && resident >= used * 0.5, `heap resident ${resident}, in use ${used}`);
  t.ok(external !== undefined && external >= held.length, `external ${external} holds the 4 MiB buffer`);
  t.equal(fams.find((f) => f.name === 'raftd_thread_heap_resident_bytes')?.type, 'gauge');
  t.end();
});
