#!/usr/bin/env node
// Entry point of the cluster client: the TypeScript build lives in build/ (npm install runs it).
import { main } from '../build/lib/cli/raft-client.js';

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`raft-client: ${err && err.code ? err.code + ': ' : ''}${err && err.message ? err.message : err}\n`);
    process.exit(1);
  },
);
