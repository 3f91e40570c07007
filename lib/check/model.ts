// Sequential specifications the checker searches against. A model is pure: step
// never mutates the state it is given, and equal states have equal keys.
import { assertNever } from '../util/assert.js';
import type { Datum, Operation, Scalar } from './history.js';

/** What a model's states are memoized by. */
export type StateKey = string | number | boolean | null;

export interface StepResult<S> {
  /** False when the op cannot happen in this state (its recorded output disagrees, or it is impossible). */
  readonly ok: boolean;
  /** The state after the op; meaningful only when ok. */
  readonly state: S;
}

export interface Model<S> {
  readonly name: string;
  init(): S;
  /**
   * Applies op to state. An op whose outcome is 'unknown' carries no output: step
   * must accept any output for it and judge only whether it can take effect.
   */
  step(state: S, op: Operation): StepResult<S>;
  /** A value (compared with ===) equal for equal states and different otherwise: the memoization key. */
  key(state: S): StateKey;
  /** The state for a human, in reports. */
  show(state: S): string;
  /** An op that never changes the state; an indeterminate one constrains nothing and is dropped. */
  readOnly(op: Operation): boolean;
  /** Why op is malformed for this model, or undefined when it is fine. Checked once, before the search. */
  invalid(op: Operation): string | undefined;
}

/** State of one key: its string value, or null when absent. */
export type RegisterState = string | null;

const INTEGER = /^-?(0|[1-9][0-9]*)$/;

/** Redis's view of a string as an integer: canonical decimal only, else null (INCR errors). */
export function parseRedisInteger(s: string): number | null {
  if (!INTEGER.test(s)) return null;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : null;
}

export function isScalarText(d: Datum | undefined): d is string | number {
  return typeof d === 'string' || (typeof d === 'number' && Number.isFinite(d));
}

function known(op: Operation): boolean {
  return op.outcome === 'ok' && op.output !== undefined;
}

/**
 * A register with append per key, as the Redis-protocol store serves it: write sets
 * (SET), append concatenates (APPEND; absent counts as ""), incr adds to the integer
 * value (INCR/INCRBY; absent counts as 0) and returns the new value, delete removes
 * (DEL; returns 1 if the key existed else 0), read returns the value or null, cas
 * sets input[1] if the value equals input[0] (a cas that did not swap is a 'fail').
 */
export const registerModel: Model<RegisterState> = {
  name: 'register-with-append',

  init(): RegisterState {
    return null;
  },

  step(state: RegisterState, op: Operation): StepResult<RegisterState> {
    switch (op.op) {
      case 'read': {
        if (!known(op)) return { ok: true, state };
        const out = op.output;
        const ok = out === null ? state === null : state !== null && String(out) === state;
        return { ok, state };
      }
      case 'write':
        return { ok: true, state: String(op.input) };
      case 'append': {
        const next = (state ?? '') + String(op.input);
        const ok = !known(op) || typeof op.output !== 'number' || op.output === next.length;
        return { ok, state: next };
      }
      case 'incr': {
        const n = state === null ? 0 : parseRedisInteger(state);
        if (n === null) return { ok: false, state };
        const v = n + (op.input === undefined || op.input === null ? 1 : Number(op.input));
        if (!Number.isSafeInteger(v)) return { ok: false, state };
        const next = String(v);
        const ok = !known(op) || op.output === null || String(op.output) === next;
        return { ok, state: next };
      }
      case 'delete': {
        const existed = state === null ? 0 : 1;
        const ok = !known(op) || op.output === null || Number(op.output) === existed;
        return { ok, state: null };
      }
      case 'cas': {
        const [expected, next] = op.input as readonly Scalar[];
        const matches = expected === null ? state === null : state !== null && String(expected) === state;
        if (!matches) return { ok: false, state };
        return { ok: true, state: next === null ? null : String(next) };
      }
      case 'push':
        // A list op: invalid() refuses it before any search.
        return { ok: false, state };
      default:
        return assertNever(op.op, 'op kind');
    }
  },

  key(state: RegisterState): StateKey {
    return state;
  },

  show(state: RegisterState): string {
    return state === null ? 'nil' : JSON.stringify(state);
  },

  readOnly(op: Operation): boolean {
    return op.op === 'read';
  },

  invalid(op: Operation): string | undefined {
    switch (op.op) {
      case 'read':
      case 'delete':
        return undefined;
      case 'write':
      case 'append':
        return isScalarText(op.input) ? undefined : `${op.op} needs a string input`;
      case 'incr':
        return op.input === undefined || op.input === null || (typeof op.input === 'number' && Number.isSafeInteger(op.input))
          ? undefined
          : 'incr input must be an integer delta or absent';
      case 'cas': {
        const i = op.input;
        const ok = Array.isArray(i) && i.length === 2 && i.every((x: Datum) => x === null || isScalarText(x));
        return ok ? undefined : 'cas input must be [expected, new]';
      }
      case 'push':
        return 'push is a list op: check list keys with listModel';
      default:
        return assertNever(op.op, 'op kind');
    }
  },
};

