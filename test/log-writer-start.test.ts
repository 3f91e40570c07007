// The log writer started before the node exists (lib/node/log-writer-start.ts): it loads
// at once, and whatever it said before the node attached (its load, or its failure)
// reaches the node in order when it does.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { LogWriterOut } from '../lib/actor/protocol.js';
import { startLogWriter } from '../lib/node/log-writer-start.js';
import type { Entry } from '../lib/raft/types.js';
import { LogStore } from '../lib/storage/log-store.js';
import { listSegments, logDirOf } from '../lib/storage/segment-files.js';
import type { RaftdError } from '../lib/util/errors.js';
import { entries, plain, tmpDir } from './helpers/log-writer.js';
import { waitFor } from './helpers/wait.js';

const opts = (dataDir: string) => ({ id: 'n1', dataDir, logLevel: 'info' as const, logFileBytesMax: 1 << 20, segmentBytesMax: 1 << 20 });

function withLog(t: Parameters<typeof tmpDir>[0], count: number): string {
  const dir = tmpDir(t);
  const s = LogStore.open({ dataDir: dir, segmentBytesMax: 1 << 20 });
  s.append(entries(1, count, 1));
  s.sync();
  s.close();
  return dir;
}

t.test('attached after its load: the chunks, then loaded, in order, holding the log', async (t) => {
  const dir = withLog(t, 20_000); // three chunks of at most 8,192
  const lw = startLogWriter(opts(dir));
  t.teardown(() => lw.handle.terminate());
  await lw.handle.ready;
  // Nobody attached yet: wait until it has sent its whole load (it logs `loaded` after the
  // last message), then a turn for those messages to reach this thread's buffer.
  const logFile = path.join(dir, 'logs', 'log-writer.log');
  await waitFor('the log writer to log its load', () => fs.existsSync(logFile) && fs.readFileSync(logFile, 'utf8').includes('"event":"loaded"'), 10_000);
  await new Promise((r) => setImmediate(r));
  const got: LogWriterOut[] = [];
  let loaded!: () => void;
  const done = new Promise<void>((r) => (loaded = r));
  lw.attach(
    (m) => {
      got.push(m);
      if (m.type === 'loaded') loaded();
    },
    (err) => t.fail(`fatal: ${err.message}`),
  );
  await done;
  t.same(got.map((m) => m.type), ['loadChunk', 'loadChunk', 'loadChunk', 'loaded']);
  const loadedEntries: Entry[] = got.flatMap((m) => (m.type === 'loadChunk' ? m.entries : []));
  t.same(plain(loadedEntries), plain(entries(1, 20_000, 1)), 'every entry, in order');
  t.match(got.at(-1), { type: 'loaded', firstIndex: 1, lastIndex: 20_000 });
  t.throws(() => lw.attach(() => undefined, () => undefined), { code: 'RAFTD_ASSERT' }, 'attached once only');
});

t.test('a failure before the node attached reaches it when it does', async (t) => {
  const dir = withLog(t, 10);
  const seg = listSegments(logDirOf(dir))[0]!;
  const buf = fs.readFileSync(seg.path);
  buf[30] = buf[30]! ^ 0xff; // inside the first record, with nine valid ones after it
  fs.writeFileSync(seg.path, buf);
  const lw = startLogWriter(opts(dir));
  t.teardown(() => lw.handle.terminate());
  await t.rejects(lw.handle.ready, { code: 'RAFTD_LOG_CORRUPT' });
  const fatal: RaftdError[] = [];
  lw.attach(() => t.fail('no message'), (err) => fatal.push(err));
  t.match(fatal, [{ code: 'RAFTD_LOG_CORRUPT' }], 'handed over at attach, once');
});
