#!/usr/bin/env node
// Entry point of the operations tool: the TypeScript build lives in build/ (npm install runs it).
import { main } from '../build/lib/cli/raft-cluster.js';

main(process.argv).catch((err) => {
  process.stderr.write(`raft-cluster: ${err && err.code ? err.code + ': ' : ''}${err && err.message ? err.message : err}\n`);
  process.exit(1);
});
