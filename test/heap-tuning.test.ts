// lib/actor/heap-tuning.ts: the bounds it sets take effect (a young generation that does
// not grow, in the main thread and in an actor's worker), the main thread's heap flags are
// kept from workers, and whoever starts a node passes the malloc settings and the main
// thread's semi-space bound on.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ROOT } from './helpers/cluster.js';
import { actorExecArgv, actorResourceLimits, ACTOR_YOUNG_GENERATION_MB, MAIN_SEMI_SPACE_MB, MALLOC_ENV, nodeProcessEnv } from '../lib/actor/heap-tuning.js';

const TUNING = path.join(ROOT, 'build/lib/actor/heap-tuning.js');
/** Allocates a few million short-lived objects (some surviving a while), then prints the new space's size in bytes. */
const CHURN = `
  const v8 = require('node:v8');
  const keep = new Map();
  for (let i = 0; i < 3e6; i++) keep.set(i % 100000, { i, s: 'x' + i });
  const ns = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  console.log(ns.space_size);
`;

const SPAWN = path.join(ROOT, 'build/lib/actor/spawn.js');

/**
 * The main thread's new space after churn in a fresh process: tuned or not, with or
 * without an actor started first (through spawnActor, as a node does), in `env`.
 * (Tuned with an actor started is not checked: whether the runtime flag survives the
 * worker's start depends on timing, see tuneProcessHeap.)
 */
function newSpaceAfterChurn(tune: boolean, withActor = false, env: NodeJS.ProcessEnv = { PATH: process.env['PATH'] }): number {
  const pre = tune ? `await import(${JSON.stringify(TUNING)}).then((m) => m.tuneProcessHeap());` : '';
  const actor = withActor
    ? `const { spawnActor } = await import(${JSON.stringify(SPAWN)});
       const src = "import { parentPort } from 'node:worker_threads'; parentPort.postMessage({ type: 'ready' }); setTimeout(() => {}, 60000);";
       const a = spawnActor({ name: 'idle', file: new URL('data:text/javascript,' + encodeURIComponent(src)), workerData: null, onMessage() {}, onFatal() {} });
       await a.ready;`
    : '';
  const post = withActor ? 'await a.terminate();' : '';
  // A file, not -e: a worker would inherit -e and its code in execArgv.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raftd-heap-'));
  const file = path.join(dir, 'churn.mjs');
  fs.writeFileSync(file, `import { createRequire } from 'node:module'; const require = createRequire(import.meta.url); ${pre} ${actor} ${CHURN} ${post}`);
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', env });
  fs.rmSync(dir, { recursive: true, force: true });
  if (r.status !== 0) throw new Error(r.stderr);
  return Number(r.stdout.trim());
}

t.test('tuneProcessHeap keeps the main thread young generation near its start-up size', (t) => {
  const tuned = newSpaceAfterChurn(true);
  const untuned = newSpaceAfterChurn(false);
  t.ok(tuned <= 8 * 1024 * 1024, `tuned: ${(tuned / 1048576).toFixed(1)} MiB of new space`);
  t.ok(untuned > tuned, `untuned it grows: ${(untuned / 1048576).toFixed(1)} MiB`);
  t.end();
});

t.test('NODE_OPTIONS from nodeProcessEnv bounds the young generation from the start, actors or not', (t) => {
  const size = newSpaceAfterChurn(false, true, nodeProcessEnv({ PATH: process.env['PATH'] }));
  t.ok(size <= 2 * MAIN_SEMI_SPACE_MB * 1024 * 1024 + 1024 * 1024, `untuned, NODE_OPTIONS only: ${(size / 1048576).toFixed(1)} MiB of new space`);
  t.end();
});

t.test('an actor worker gets a young generation of ACTOR_YOUNG_GENERATION_MB', async (t) => {
  const w = new Worker(`const { parentPort } = require('node:worker_threads'); ${CHURN.replace('console.log(ns.space_size)', 'parentPort.postMessage(ns.space_size)')}`, { eval: true, resourceLimits: actorResourceLimits() });
  const size = await new Promise<number>((res, rej) => {
    w.once('message', res);
    w.once('error', rej);
  });
  await w.terminate();
  t.ok(size <= ACTOR_YOUNG_GENERATION_MB * 1024 * 1024, `worker new space ${(size / 1048576).toFixed(1)} MiB`);
});

t.test('heap-size flags and preloaded loaders are not passed to workers, which refuse them', (t) => {
  const parent = ['--max-semi-space-size=1', '--max-old-space-size=512', '--import=tsx', '--heapsnapshot-signal=SIGUSR2', '--enable-source-maps', '--cpu-prof'];
  t.same(actorExecArgv(parent), ['--enable-source-maps', '--cpu-prof']);
  t.doesNotThrow(() => void new Worker('0', { eval: true, execArgv: actorExecArgv(parent) }).terminate(), 'a worker starts with what is left');
  t.end();
});

t.test('a node process is started with the malloc settings, and the environment wins', (t) => {
  const env = nodeProcessEnv({ PATH: '/bin', MALLOC_ARENA_MAX: '4' });
  t.equal(env['MALLOC_ARENA_MAX'], '4', 'a value already set is kept');
  t.equal(env['MALLOC_MMAP_THRESHOLD_'], MALLOC_ENV['MALLOC_MMAP_THRESHOLD_']);
  t.equal(env['PATH'], '/bin');
  t.equal(nodeProcessEnv({})['MALLOC_ARENA_MAX'], '2');
  t.equal(env['NODE_OPTIONS'], `--max-semi-space-size=${MAIN_SEMI_SPACE_MB}`, 'the semi-space bound');
  t.equal(nodeProcessEnv({ NODE_OPTIONS: '--enable-source-maps' })['NODE_OPTIONS'], `--enable-source-maps --max-semi-space-size=${MAIN_SEMI_SPACE_MB}`, 'added to NODE_OPTIONS already set');
  t.equal(nodeProcessEnv({ NODE_OPTIONS: '--max-semi-space-size=8' })['NODE_OPTIONS'], '--max-semi-space-size=8', 'a bound already set wins');
  t.end();
});
