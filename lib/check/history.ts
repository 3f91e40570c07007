// The history a Jepsen-style harness records: one entry per client operation, with
// its invocation and completion times and what the client learned about it.
import { assert } from '../util/assert.js';

export type OpKind = 'read' | 'write' | 'append' | 'incr' | 'delete' | 'cas' | 'push';

/**
 * 'ok': took effect once, between invocation and completion, and returned `output`.
 * 'fail': definitely took no effect (dropped before checking).
 * 'unknown': timeout or lost connection: may take effect at any time after its
 *   invocation, or never; its output is not known. Its completion is +infinity.
 */
export type Outcome = 'ok' | 'fail' | 'unknown';

export type Scalar = string | number | null;
/** Inputs and outputs: a scalar, or a tuple such as cas's [expected, new]. */
export type Datum = Scalar | readonly Scalar[];

export interface Operation {
  /** The client that issued it; each client runs one operation at a time. */
  readonly process: number | string;
  readonly key: string;
  readonly op: OpKind;
  /** write/append/push: the value; incr: the delta (absent = 1); cas: [expected, new]. */
  readonly input?: Datum;
  /**
   * read: the value (null = absent; a list read: its elements); incr: the new value;
   * delete: 1 or 0; append, push: the new length (optional).
   */
  readonly output?: Datum;
  /** Monotonic time, in the unit the report is told (ms by default). */
  readonly invokeTime: number;
  /** Required for 'ok' and 'fail'; ignored (treated as +infinity) for 'unknown'. */
  readonly completeTime?: number | null;
  readonly outcome: Outcome;
}

export type History = readonly Operation[];

/** The end of the op's interval for the search: +infinity when indeterminate. */
export function returnTime(op: Operation): number {
  return op.outcome === 'unknown' ? Infinity : (op.completeTime as number);
}

/** Throws (RAFTD_ASSERT) on an op the harness must never record. */
export function validateOp(op: Operation, index: number): void {
  const where = `history[${index}]`;
  assert(typeof op === 'object' && op !== null, `${where}: not an object`);
  assert(typeof op.key === 'string', `${where}: key must be a string`);
  assert(typeof op.process === 'number' || typeof op.process === 'string', `${where}: process must be a number or string`);
  assert(
    op.outcome === 'ok' || op.outcome === 'fail' || op.outcome === 'unknown',
    `${where}: outcome must be ok, fail or unknown, not ${String(op.outcome)}`,
  );
  assert(Number.isFinite(op.invokeTime), `${where}: invokeTime must be a finite number`);
  if (op.outcome !== 'unknown') {
    const c = op.completeTime;
    assert(typeof c === 'number' && Number.isFinite(c), `${where}: an ${op.outcome} op needs a finite completeTime`);
    assert(c >= op.invokeTime, `${where}: completeTime ${c} is before invokeTime ${op.invokeTime}`);
  }
}

/** Splits a history by key, keeping each key's ops in history order; keys in first-seen order. */
export function partitionByKey(history: History): Map<string, Operation[]> {
  const byKey = new Map<string, Operation[]>();
  for (const op of history) {
    let ops = byKey.get(op.key);
    if (ops === undefined) byKey.set(op.key, (ops = []));
    ops.push(op);
  }
  return byKey;
}
