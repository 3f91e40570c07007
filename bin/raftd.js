#!/usr/bin/env node
// Entry point: the TypeScript build lives in build/ (npm install runs it); the node runs
// from its one-file bundle, which starts its actors from theirs (lib/bundle/threads.ts).
import { main } from '../build/lib/cli/raftd.bundle.js';

main(process.argv).catch((err) => {
  process.stderr.write(`raftd: ${err && err.code ? err.code + ': ' : ''}${err && err.message ? err.message : err}\n`);
  // 2: could not join a cluster (--join), so scripts can tell it from a bad flag or a crash.
  process.exit(err && err.code === 'RAFTD_JOIN_FAILED' ? 2 : 1);
});
