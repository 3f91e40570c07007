// Assertions for the Raft core. They stay on in production: a core in a state
// it cannot be in must crash loudly rather than replicate a bad log.

export const RAFT_ASSERT = 'RAFT_ASSERT';

export class RaftAssertError extends Error {
  readonly code = RAFT_ASSERT;
  constructor(message: string) {
    super(message);
    this.name = 'RaftAssertError';
  }
}

export function assert(cond: boolean, msg: string | (() => string)): asserts cond {
  if (!cond) throw new RaftAssertError(typeof msg === 'string' ? msg : msg());
}

/** Exhaustiveness check for discriminated unions: unreachable when the switch is complete. */
export function assertNever(x: never, what = 'value'): never {
  throw new RaftAssertError(`unexpected ${what}: ${JSON.stringify(x)}`);
}
