// Loaded into every test process ahead of its test (tap's `node-arg`, package.json).
// tap puts its process-tracking loader (@tapjs/processinfo) in NODE_OPTIONS, so every
// raftd member a test started ran it too: an ESM hooks thread beside each of the
// member's 7+ threads, and each actor's module load waiting on it by synchronous
// requests. On a busy 2-core machine that was seconds of CPU per member start, enough
// to push restarts, catch-ups and profiled stops past their bounds. Coverage is off,
// so children gain nothing from it: drop it from what they inherit.
const TAP_LOADER = /"--(?:import|loader|experimental-loader)=[^"]*@tapjs\/[^"]*"|--(?:import|loader|experimental-loader)=\S*@tapjs\/\S*/g;
const PROCESSINFO_ENV = /^_TAPJS_PROCESSINFO_/;

export function withoutTapLoaders(nodeOptions: string): string {
  return nodeOptions.replace(TAP_LOADER, ' ').replace(/\s+/g, ' ').trim();
}

/** `env` as a child should get it: no tap loader in NODE_OPTIONS, none of processinfo's own variables. */
export function untappedEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(env)) if (!PROCESSINFO_ENV.test(k)) out[k] = v;
  dropTapLoaders(out);
  return out;
}

/** Takes tap's loaders out of `env.NODE_OPTIONS`, in place (and NODE_OPTIONS itself when nothing else is left). */
function dropTapLoaders(env: Record<string, string | undefined>): void {
  const opts = env['NODE_OPTIONS'];
  if (opts === undefined) return;
  const kept = withoutTapLoaders(opts);
  if (kept === '') delete env['NODE_OPTIONS'];
  else env['NODE_OPTIONS'] = kept;
}

dropTapLoaders(process.env);

// Cleaning process.env is not enough: processinfo hooks every spawn (through the
// process-on-spawn package, whose listeners live in a global singleton) and writes
// its loader back into each child's env. A listener of ours, run after its own on
// every spawn, takes it out again.
interface SpawnOptions {
  env: Record<string, string | undefined>;
}
interface SpawnHooks {
  listeners: ((opts: SpawnOptions) => void)[];
}
const SPAWN_HOOKS = Symbol.for('process-on-spawn@*:singletonId');
const hooks = (globalThis as unknown as Record<symbol, SpawnHooks | undefined>)[SPAWN_HOOKS];
if (hooks !== undefined) {
  hooks.listeners.push((opts) => {
    opts.env = untappedEnv(opts.env);
  });
}
