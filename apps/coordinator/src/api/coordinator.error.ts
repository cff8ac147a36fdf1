import type { DecisionView, TxState } from './coordinator.port';

/** One rejected input field: where it is (`participants[2].name`) and every rule it broke. */
export interface FieldError {
  readonly field: string;
  readonly messages: readonly string[];
}

/**
 * Every way a `CoordinatorPort` call fails on purpose, with the data a client needs to act on
 * it. The `code` is part of the API: clients switch on it, so codes are never renamed.
 */
export type CoordinatorFailure =
  | { readonly code: 'TX_NOT_FOUND'; readonly txId: string }
  | { readonly code: 'TX_NOT_ACTIVE'; readonly txId: string; readonly state: TxState }
  | { readonly code: 'DECISION_EXISTS'; readonly txId: string; readonly decision: DecisionView }
  | { readonly code: 'IDEMPOTENCY_MISMATCH'; readonly idempotencyKey: string; readonly txId: string }
  | { readonly code: 'RESOLVE_NOT_ALLOWED'; readonly txId: string; readonly state: TxState }
  | { readonly code: 'PARTICIPANT_ALREADY_ENLISTED'; readonly txId: string; readonly participant: string }
  | { readonly code: 'PARTICIPANT_LIMIT_REACHED'; readonly txId: string; readonly participantsMax: number }
  /** The participant's circuit breaker is open: the call would only time out. */
  | { readonly code: 'PARTICIPANT_UNAVAILABLE'; readonly participant: string; readonly retryAfterMs: number }
  | { readonly code: 'MEMBER_NOT_FOUND'; readonly nodeId: string }
  | { readonly code: 'CLUSTER_CHANGE_REJECTED' }
  /** Internal: the API forwards the request to `leaderUrl`; a client sees it only on a forwarding loop. */
  | { readonly code: 'NOT_LEADER'; readonly leaderId: string; readonly leaderUrl: string }
  | { readonly code: 'NO_LEADER'; readonly retryAfterMs: number }
  | { readonly code: 'VALIDATION_FAILED'; readonly errors: readonly FieldError[] };

export type CoordinatorErrorCode = CoordinatorFailure['code'];

/**
 * Thrown by the coordinator for an expected failure. `message` is one sentence naming the rule
 * that was broken and what the caller can do, e.g. "transaction 0193… is PREPARING;
 * participants can be enlisted only while ACTIVE". It is shown to clients as the problem detail.
 */
export class CoordinatorError extends Error {
  override readonly name = 'CoordinatorError';

  constructor(
    readonly failure: CoordinatorFailure,
    message: string,
  ) {
    super(message);
  }

  get code(): CoordinatorErrorCode {
    return this.failure.code;
  }
}
