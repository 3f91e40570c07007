// The second step of `npm run build`, after tsc: each thread's entry module (the node's
// main module and every actor's) and everything it imports, bundled into one file beside
// it, `<name>.bundle.js`. A restart starts seven threads on two cores, and Node's ES
// module loader (resolve, read, compile, link, module by module) was most of each one's
// start: the main thread's ~100 modules loaded in 115-150 ms, one bundle in 55-63; the
// gateway's 53 took 52 ms of CPU per worker, its bundle 19. A restarted follower (100k
// keys) served a read after 767 ms median instead of 888, with ~1.0 s of CPU, not ~1.3.
//
// bin/raftd.js runs the main bundle, and code running from a bundle starts the actors'
// bundles (lib/actor/spawn.ts actorFile). The unbundled modules stay as tsc wrote them:
// tests import them and start their actors from them. tsc builds incrementally, so the
// bundles never overwrite its output (an unchanged source would keep a stale bundle).
// msgpackr stays outside: it loads its native accelerator relative to itself.
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { ACTOR_NAMES } from '../actor/spawn.js';

const BUILD = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The entry modules, relative to the build folder: what the node and each actor's worker load first. */
const BUNDLED_ENTRIES = ['lib/cli/raftd', ...ACTOR_NAMES.map((a) => `actors/${a}`)];

await build({
  entryPoints: BUNDLED_ENTRIES.map((e) => ({ in: path.join(BUILD, `${e}.js`), out: `${e}.bundle` })),
  outdir: BUILD,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['msgpackr'],
  // CommonJS packages inside (prom-client) call require(): the bundle is an ES module.
  banner: { js: "import { createRequire as bundleRequire } from 'node:module'; const require = bundleRequire(import.meta.url);" },
  sourcemap: 'linked',
  logLevel: 'warning',
});
