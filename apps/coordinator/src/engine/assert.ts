/**
 * A broken invariant: a programmer error in the engine or its host, never an operating condition
 * (a silent participant, a lost message, a stale vote are operating conditions and are handled).
 * Nobody catches it: the process crashes and the node restarts from the Raft log.
 */
export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}

/** One fact per call; the message names the values involved. */
export function assert(condition: boolean, message: string): asserts condition {
  if (!condition) throw new InvariantViolation(message);
}
