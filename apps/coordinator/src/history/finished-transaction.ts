import type { Outcome, ParticipantVote } from '@verdict/protocol';

export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** The two states a transaction can end in; only finished transactions reach the history. */
export type FinishedState = 'COMMITTED' | 'ABORTED';

/**
 * A finished transaction as the engine hands it to the history archive, shaped like the REST
 * transaction resource in DESIGN.md (minus the live-only fields `stuck` and breaker state).
 * Timestamps are ISO 8601 UTC strings, as on the wire and in the REST API.
 */
export interface FinishedTransaction {
  /** The txId: a UUIDv7, so sorting by it sorts by age. */
  readonly id: string;
  readonly state: FinishedState;
  readonly decision: FinishedDecision;
  readonly participants: readonly FinishedBranch[];
  readonly createdAt: string;
  /** The prepare deadline the transaction was begun with. */
  readonly deadline: string;
  /** When every participant had acknowledged (or read-only votes made phase two unnecessary). */
  readonly finishedAt: string;
  /** What the service attached at begin; opaque to the coordinator. */
  readonly metadata: JsonObject | null;
  /** The `Idempotency-Key` the transaction was begun with, if any. */
  readonly idempotencyKey: string | null;
}

export interface FinishedDecision {
  /** Invariant: `COMMIT` exactly when `state` is `COMMITTED`. */
  readonly outcome: Outcome;
  /** The Raft log position of the DECISION entry: the commit point of the transaction. */
  readonly raftIndex: number;
  readonly raftTerm: number;
  /** Why, in words: the NO vote's reason, "prepare deadline passed", an operator's note. */
  readonly reason: string | null;
  /** Who decided: `coordinator` (from the votes), `timeout`, or `operator:<name>`. */
  readonly resolvedBy: string;
  readonly decidedAt: string;
}

/** One participant's part in a transaction (a "branch" in XA terms). */
export interface FinishedBranch {
  /** The participant name. */
  readonly name: string;
  /** Null when the participant never voted (the transaction aborted before or without it). */
  readonly vote: ParticipantVote | null;
  readonly voteReason: string | null;
  readonly votedAt: string | null;
  /** When the participant acknowledged the decision; null for read-only or never-prepared ones. */
  readonly ackedAt: string | null;
  /** How many times commands were sent to it (PREPARE plus phase-two re-sends). */
  readonly attempts: number;
  readonly lastError: string | null;
}
