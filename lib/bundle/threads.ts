// The second step of `npm run build`, after tsc: each thread's entry module (the node's
// main module and every actor's) and everything it imports, bundled into one file beside
// it, `<name>.bundle.js`. A restart starts seven threads on two cores, and Node's ES module
// loader costs each of them ~0.3-0.5 ms of CPU per module (resolve, read, compile, link):
// ~100 modules on the main thread, 10-55 in each actor. One file per thread cut a
// restart's CPU by ~0.25 s (1.4 s to 1.13) and its time until it served a read by ~0.15 s
// (median 1,057 ms to 910, 5 restarts each, alternated; 100k keys).
//
// bin/raftd.js runs the main bundle, and code running from a bundle starts the actors'
// bundles (lib/actor/spawn.ts actorFile). The unbundled modules stay as tsc wrote them:
// tests import them and start their actors from them. tsc builds incrementally, so the
// bundles never overwrite its output (an unchanged source would keep a stale bundle).
// msgpackr stays outside: it loads its native accelerator relative to itself.
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const BUILD = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The entry modules, relative to the build folder: what the node and each actor's worker load first. */
export const BUNDLED_ENTRIES = [
  'lib/cli/raftd',
  'actors/log-writer',
  'actors/election-timer',
  'actors/peer-server',
  'actors/replicator',
  'actors/client-gateway',
] as const;

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
