#!/usr/bin/env node
// Entry point: the TypeScript build lives in build/ (npm install runs it).
import { main } from '../build/lib/cli/raftd.js';

main(process.argv).catch((err) => {
  process.stderr.write(`raftd: ${err && err.code ? err.code + ': ' : ''}${err && err.message ? err.message : err}\n`);
  process.exit(1);
});
