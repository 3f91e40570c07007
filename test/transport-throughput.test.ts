// Keeps `npm run bench:throughput` working without running the benchmark here: a
// short run through the same code must deliver every append in order, none dropped.
// No timing is asserted (the numbers are the benchmark's, on a quiet machine).
import t from 'tap';
import { measureTransportThroughput } from './helpers/transport-throughput.js';

t.test('a short throughput run delivers every append in order', async (t) => {
  const r = await measureTransportThroughput({ appends: 200, entries: 10, entryBytes: 64, window: 16, timeoutMs: 60_000 });
  t.equal(r.appends, 200);
  t.ok(r.inOrder, 'in order, none missing');
  t.equal(r.dropped, 0, 'nothing dropped');
  t.same(r.fatals, []);
  t.ok(r.frames >= 1 && r.frames <= 200, `${r.frames} frames`);
});
