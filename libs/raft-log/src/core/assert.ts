/**
 * A broken invariant: a programmer error, never an operating condition. Nobody catches it; the
 * process crashes and the host restarts the node from its durable state.
 */
export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}

export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new InvariantViolation(message);
}
