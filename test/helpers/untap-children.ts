// Loaded into every test process ahead of its test (tap's `node-arg`, package.json).
// tap puts its process-tracking loader (@tapjs/processinfo) in NODE_OPTIONS, so every
// raftd member a test started ran it too: an ESM hooks thread beside each of the
// member's 7+ threads, and each actor's module load waiting on it by synchronous
// requests. On a busy 2-core machine that was seconds of CPU per member start, enough
// to push restarts, catch-ups and profiled stops past their bounds. Coverage is off,
// so children gain nothing from it: drop it from what they inherit.
const TAP_LOADER = /"--(?:import|loader|experimental-loader)=[^"]*@tapjs\/[^"]*"|--(?:import|loader|experimental-loader)=\S*@tapjs\/\S*/g;

export function withoutTapLoaders(nodeOptions: string): string {
  return nodeOptions.replace(TAP_LOADER, ' ').replace(/\s+/g, ' ').trim();
}

const inherited = process.env['NODE_OPTIONS'];
if (inherited !== undefined) {
  const kept = withoutTapLoaders(inherited);
  if (kept === '') delete process.env['NODE_OPTIONS'];
  else process.env['NODE_OPTIONS'] = kept;
}
