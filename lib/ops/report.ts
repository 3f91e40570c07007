// How the operations print: one line per node on stdout (fine) or stderr (not).
import type { NodeResult } from './lifecycle.js';

export interface Io {
  out(line: string): void;
  err(line: string): void;
  color: boolean;
}

/** One line per node; true if all went well. */
export function report(io: Io, results: NodeResult[]): boolean {
  for (const r of results) (r.ok ? io.out : io.err)(`${r.id}: ${r.message}`);
  return results.every((r) => r.ok);
}
