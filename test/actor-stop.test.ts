// How an actor's thread ends when the node stops it: by itself on its stop message, or
// terminated past the bound (the node logs `actor-terminated` then: a terminated thread
// flushes nothing, a CPU profile included).
import t from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnActor } from '../lib/actor/spawn.js';
import type { TimerData, TimerIn, TimerOut } from '../actors/protocol.js';

const ACTOR = new URL('../actors/election-timer.js', import.meta.url);

function startTimer(dataDir: string) {
  const data: TimerData = { nodeId: 'n1', dataDir, logLevel: 'info', logFileBytesMax: 1 << 20 };
  return spawnActor<TimerIn, TimerOut>({ name: 'election-timer', file: ACTOR, workerData: data, onMessage: () => undefined, onFatal: () => undefined });
}

t.test('stop() says whether the thread ended by itself or was terminated', async (t) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftd-actor-stop-'));
  t.teardown(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  const a = startTimer(dataDir);
  await a.ready;
  t.equal(await a.stop({ type: 'stop' }, 30_000), 'exited', 'its stop message ends it');
  t.equal(await a.stop({ type: 'stop' }, 30_000), 'already', 'a second stop finds it stopping');

  const b = startTimer(dataDir);
  await b.ready;
  // A message the actor takes without ending: the bound runs out.
  t.equal(await b.stop({ type: 'cancel' }, 200), 'terminated', 'past the bound it is terminated');
});
