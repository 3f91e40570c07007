// A Redis list under RPUSH and LRANGE 0 -1, as a sequential specification. With unique
// pushed values, a linearizable history means every acknowledged push is in the list
// exactly once, at the place its real-time order allows, and no read ever saw a value
// no push wrote, lost one it had seen, or saw two in another order.
import { assertNever } from '../util/assert.js';
import type { Datum, Operation } from './history.js';
import { isScalarText, type Model, type StateKey, type StepResult } from './model.js';

/** The list's elements, head first; [] when the key is absent (Redis' view: an empty list is no key). */
export type ListState = readonly string[];

function known(op: Operation): boolean {
  return op.outcome === 'ok' && op.output !== undefined;
}

/** A read's output as elements: an array of scalars, or null (absent, the same as []). */
function elements(out: Datum | undefined): readonly string[] | undefined {
  if (out === null) return [];
  if (!Array.isArray(out)) return undefined;
  return out.map((x: Datum) => String(x));
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * push appends input at the tail (RPUSH; output, when known, is the new length); read
 * returns every element (LRANGE key 0 -1); delete empties the list (DEL; 1 if it held
 * anything, else 0). Other kinds are refused by invalid().
 */
export const listModel: Model<ListState> = {
  name: 'list-append',

  init(): ListState {
    return [];
  },

  step(state: ListState, op: Operation): StepResult<ListState> {
    switch (op.op) {
      case 'read': {
        if (!known(op)) return { ok: true, state };
        const got = elements(op.output);
        return { ok: got !== undefined && sameList(got, state), state };
      }
      case 'push': {
        const next = [...state, String(op.input)];
        const ok = !known(op) || typeof op.output !== 'number' || op.output === next.length;
        return { ok, state: next };
      }
      case 'delete': {
        const existed = state.length > 0 ? 1 : 0;
        const ok = !known(op) || op.output === null || Number(op.output) === existed;
        return { ok, state: [] };
      }
      case 'write':
      case 'append':
      case 'incr':
      case 'cas':
        return { ok: false, state };
      default:
        return assertNever(op.op, 'op kind');
    }
  },

  key(state: ListState): StateKey {
    return JSON.stringify(state);
  },

  show(state: ListState): string {
    return JSON.stringify(state);
  },

  readOnly(op: Operation): boolean {
    return op.op === 'read';
  },

  invalid(op: Operation): string | undefined {
    switch (op.op) {
      case 'read':
        return op.outcome !== 'ok' || op.output === undefined || elements(op.output) !== undefined
          ? undefined
          : 'a list read returns an array (or nil)';
      case 'delete':
        return undefined;
      case 'push':
        return isScalarText(op.input) ? undefined : 'push needs a string input';
      case 'write':
      case 'append':
      case 'incr':
      case 'cas':
        return `${op.op} is not a list op: check it with registerModel`;
      default:
        return assertNever(op.op, 'op kind');
    }
  },
};
