#!/usr/bin/env node
// Entry point of raft-logs: the TypeScript build lives in build/ (npm install runs it).
import { main } from '../build/lib/cli/raft-logs.js';

main(process.argv).catch((err) => {
  process.stderr.write(`raft-logs: ${err && err.code ? err.code + ': ' : ''}${err && err.message ? err.message : err}\n`);
  process.exit(1);
});
