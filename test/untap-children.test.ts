// What test processes pass on in NODE_OPTIONS: tap's own loaders go, anything else stays.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { untappedEnv, withoutTapLoaders } from './helpers/untap-children.js';

t.test("tap's loaders are dropped from NODE_OPTIONS, the rest kept", async (t) => {
  t.equal(withoutTapLoaders('--import=file:///w/node_modules/@tapjs/processinfo/dist/esm/import.mjs'), '', 'tap as tap sets it');
  t.equal(withoutTapLoaders('--enable-source-maps --loader=/x/@tapjs/mock/loader.mjs --max-semi-space-size=2'), '--enable-source-maps --max-semi-space-size=2', 'others kept, in order');
  t.equal(withoutTapLoaders('"--import=file:///a b/node_modules/@tapjs/processinfo/import.mjs" --import=./mine.js'), '--import=./mine.js', 'a quoted path with a space; a loader of our own stays');
  t.equal(process.env['NODE_OPTIONS']?.includes('@tapjs/') ?? false, false, 'this very process hands none on');
});

t.test("processinfo's variables go, with NODE_OPTIONS when nothing else is left", async (t) => {
  const env = untappedEnv({ PATH: '/bin', _TAPJS_PROCESSINFO_ROOT_: 'x', NODE_OPTIONS: '"--import=file:///w/@tapjs/processinfo/import.mjs"' });
  t.same(env, { PATH: '/bin' });
});

// The regression: tap's spawn hook wrote the loader back into every child's env, so
// raftd members under test ran it although process.env had been cleaned.
t.test('a spawned child inherits no tap loader and none of processinfo\'s variables', async (t) => {
  const script = 'process.stdout.write(JSON.stringify({ o: process.env.NODE_OPTIONS ?? "", p: Object.keys(process.env).filter((k) => k.startsWith("_TAPJS_PROCESSINFO_")) }))';
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  const seen = JSON.parse(r.stdout) as { o: string; p: string[] };
  t.notMatch(seen.o, /@tapjs\//, `NODE_OPTIONS of the child: ${JSON.stringify(seen.o)}`);
  t.same(seen.p, [], 'no _TAPJS_PROCESSINFO_ variables');
  const withEnv = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, RAFTD_X: '1' } });
  t.notMatch((JSON.parse(withEnv.stdout) as { o: string }).o, /@tapjs\//, 'nor when the spawn passes an env of its own');
});
