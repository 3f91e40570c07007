/** Assertions stay on in production: a bad state stops loudly instead of limping on. */
export class AssertionError extends Error {
  readonly code = 'RAFTD_ASSERT';
}

export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new AssertionError(message);
}

export function assertNever(x: never, what = 'value'): never {
  throw new AssertionError(`unexpected ${what}: ${JSON.stringify(x)}`);
}
