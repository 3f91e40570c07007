// `npm run bench:throughput`: the peer transport's throughput between a real
// replicator and a real peer server (test/helpers/transport-throughput.ts).
//   --appends N --entries N --entry-bytes N --window N   (defaults: 3000, 100, 128, 256)
// Prints one line for people and a JSON line last; exits 1 if anything arrived out
// of order, was dropped or an actor failed.
import { formatThroughput, measureTransportThroughput, THROUGHPUT_DEFAULTS } from './helpers/transport-throughput.js';

function flag(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isInteger(v) || v < 1) {
    process.stderr.write(`--${name} needs a positive integer\n`);
    process.exit(2);
  }
  return v;
}

const d = THROUGHPUT_DEFAULTS;
const r = await measureTransportThroughput({
  appends: flag('appends', d.appends),
  entries: flag('entries', d.entries),
  entryBytes: flag('entry-bytes', d.entryBytes),
  window: flag('window', d.window),
  timeoutMs: d.timeoutMs,
});
process.stdout.write(formatThroughput(r) + '\n');
process.stdout.write(JSON.stringify({ bench: 'transport-throughput', ...r }) + '\n');
const ok = r.inOrder && r.dropped === 0 && r.fatals.length === 0;
if (!ok) process.stderr.write(`FAILED: inOrder=${r.inOrder} dropped=${r.dropped} fatals=${r.fatals.join('; ')}\n`);
process.exit(ok ? 0 : 1);
