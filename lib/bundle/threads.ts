// The second step of `npm run build`, after tsc: each thread's entry module (the node's
// main module and every actor's) and everything it imports, bundled into one file beside
// it, `<name>.bundle.js` (`.bundle.cjs` for the actors, below). A restart starts seven
// threads on two cores, and Node's ES module loader (resolve, read, compile, link, module
// by module) was most of each one's start: the main thread's ~100 modules loaded in
// 115-150 ms, one bundle in 55-63; the gateway's 53 took 52 ms of CPU per worker, its
// bundle 19. A restarted follower (100k keys) served a read after 767 ms median instead
// of 888, with ~1.0 s of CPU, not ~1.3.
//
// bin/raftd.js runs the main bundle, and code running from a bundle starts the actors'
// bundles (lib/actor/spawn.ts actorFile). The unbundled modules stay as tsc wrote them:
// tests import them and start their actors from them. tsc builds incrementally, so the
// bundles never overwrite its output (an unchanged source would keep a stale bundle).
// msgpackr stays outside: it loads its native accelerator relative to itself.
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions } from 'esbuild';
import { ACTOR_NAMES } from '../actor/spawn.js';

const BUILD = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const common: BuildOptions = {
  outdir: BUILD,
  bundle: true,
  platform: 'node',
  target: 'node20',
  external: ['msgpackr'],
  sourcemap: 'linked',
  logLevel: 'warning',
};

// The node's main module: an ES module, as bin/raftd.js imports it. CommonJS packages
// inside (prom-client) call require().
await build({
  ...common,
  entryPoints: [{ in: path.join(BUILD, 'lib/cli/raftd.js'), out: 'lib/cli/raftd.bundle' }],
  format: 'esm',
  banner: { js: "import { createRequire as bundleRequire } from 'node:module'; const require = bundleRequire(import.meta.url);" },
});

// The actors: CommonJS (`.bundle.cjs`). A worker that runs an ES module first sets up
// Node's ES module loader in its isolate; six workers started from CommonJS bundles took
// 40-70 ms less CPU together than from the same code as ES modules (boot probe: six
// election timers at once, three rounds). import.meta.url is the bundle's own URL.
await build({
  ...common,
  entryPoints: ACTOR_NAMES.map((a) => ({ in: path.join(BUILD, `actors/${a}.js`), out: `actors/${a}.bundle` })),
  outExtension: { '.js': '.cjs' },
  format: 'cjs',
  define: { 'import.meta.url': 'bundleUrl' },
  banner: { js: "'use strict';\nconst bundleUrl = require('node:url').pathToFileURL(__filename).href;" },
});
