// The one-file bundles `npm run build` makes for each thread (lib/bundle/threads.ts): one
// per entry, importing nothing of ours (a relative import would load module by module
// again), newer than what tsc wrote, and found by the bundled node for its actors.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isBuiltin } from 'node:module';
import { fileURLToPath } from 'node:url';
import { ACTOR_NAMES, actorFile } from '../lib/actor/spawn.js';

const BUILD = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ENTRIES = ['lib/cli/raftd', ...ACTOR_NAMES.map((a) => `actors/${a}`)];

t.test('a bundle per thread, self-contained and up to date', async (t) => {
  for (const e of ENTRIES) {
    const file = path.join(BUILD, `${e}.bundle.${e.startsWith('actors/') ? 'cjs' : 'js'}`);
    t.ok(fs.existsSync(file), `${path.basename(file)} exists`);
    const src = fs.readFileSync(file, 'utf8');
    const imports = [...src.matchAll(/^import\b[^'"]*['"]([^'"]+)['"]/gm), ...src.matchAll(/\brequire\(['"]([^'"]+)['"]\)/g)].map((m) => m[1]!);
    t.ok(imports.length > 0, `${e}: its imports are found`);
    if (file.endsWith('.cjs')) t.ok(src.startsWith("'use strict';"), `${e}: strict mode, as tsc's modules are`);
    t.same(imports.filter((s) => !isBuiltin(s) && s !== 'msgpackr'), [], `${e}: imports only Node's modules and msgpackr`);
    t.ok(fs.statSync(file).mtimeMs >= fs.statSync(path.join(BUILD, `${e}.js`)).mtimeMs, `${e}: bundled after tsc wrote it`);
  }
});

t.test('code running from a bundle starts the actors from theirs', async (t) => {
  const bundled = new URL(`file://${path.join(BUILD, 'lib/cli/raftd.bundle.js')}`).href;
  const plain = new URL(`file://${path.join(BUILD, 'lib/node/raft-node.js')}`).href;
  t.equal(fileURLToPath(actorFile('replicator', bundled)), path.join(BUILD, 'actors/replicator.bundle.cjs'));
  t.equal(fileURLToPath(actorFile('replicator', plain)), path.join(BUILD, 'actors/replicator.js'));
});
