import type { Outcome, ParticipantVote } from '@verdict/protocol';

/** The two states a transaction can end in; only finished transactions reach the history. */
export type FinishedState = 'COMMITTED' | 'ABORTED';

/**
 * A finished transaction as the engine hands it to the history (its `archive` effect), shaped
 * like DESIGN.md's transaction resource minus the live-only fields (`stuck`, breaker state).
 * Structurally the engine's `FinishedTransactionRecord`, so the host passes it through unchanged;
 * `finished-transaction.spec.ts` fails to compile if the two drift apart. Times are Unix ms, as
 * in the engine; the API renders them as ISO 8601.
 */
export interface FinishedTransaction {
  /** A UUIDv7, so sorting by it sorts by age. */
  readonly txId: string;
  readonly state: FinishedState;
  readonly decision: FinishedDecision;
  readonly participants: readonly FinishedBranch[];
  readonly createdAtMs: number;
  /** The prepare deadline the transaction was begun with. */
  readonly deadlineMs: number;
  /** When the last acknowledgement arrived (or the decision, when no phase two was needed). */
  readonly finishedAtMs: number;
  /** What the service attached at begin; opaque to the coordinator. */
  readonly metadata: Readonly<Record<string, string>>;
  /** The `Idempotency-Key` the transaction was begun with, if any. */
  readonly idempotencyKey: string | null;
  /**
   * What happened to it, oldest first: written as the finishing leader knew it; read back with an
   * ARCHIVED event at the end (when its row was written). Rows archived before timelines were
   * kept read back with a timeline rebuilt from their columns (BEGIN, DECISION, ACKs, ARCHIVED).
   */
  readonly timeline: readonly FinishedTimelineEvent[];
}

export const FINISHED_TIMELINE_EVENT_KINDS = [
  'BEGIN',
  'ENLIST',
  'PREPARING',
  'PREPARE_SENT',
  'VOTE',
  'DECISION',
  'DECISION_SENT',
  'ACK',
  'RESUMED',
  'RETRY',
  'ARCHIVED',
] as const;
export type FinishedTimelineEventKind = (typeof FINISHED_TIMELINE_EVENT_KINDS)[number];

/** One event of a transaction's timeline, as stored (the `timeline` jsonb column). */
export interface FinishedTimelineEvent {
  readonly atMs: number;
  readonly kind: FinishedTimelineEventKind;
  readonly participant: string | null;
  readonly detail: string;
  readonly raftIndex: number | null;
  readonly raftTerm: number | null;
  /** The operator, for a resolution or a retry. */
  readonly actor: string | null;
}

export interface FinishedDecision {
  /** Invariant: `COMMIT` exactly when `state` is `COMMITTED`. */
  readonly outcome: Outcome;
  /** Why, for machines: `VOTES`, `VOTED_NO`, `DEADLINE`, `CLIENT_ABORT`, `PARTICIPANT_UNAVAILABLE`, `OPERATOR`. */
  readonly cause: string;
  /** Why, in words: the NO vote's reason, the deadline that passed, an operator's note. */
  readonly reason: string;
  /** The operator who resolved it; null when the coordinator decided. */
  readonly resolvedBy: string | null;
  readonly decidedAtMs: number;
  /** The Raft log position of the DECISION entry: the commit point of the transaction. */
  readonly raftIndex: number;
  readonly raftTerm: number;
}

/** One participant's part in a transaction (a "branch" in XA terms). */
export interface FinishedBranch {
  /** The participant name. */
  readonly name: string;
  /** Null when the deciding leader never saw a vote (it aborted first, or a leader change forgot it). */
  readonly vote: ParticipantVote | null;
  readonly voteReason: string | null;
  readonly votedAtMs: number | null;
  /** Null when no phase-two message was needed (READ_ONLY, NO, never prepared). */
  readonly ackedAtMs: number | null;
  /** Commands sent to it by the leader that finished the transaction: PREPAREs plus decisions. */
  readonly attempts: number;
  readonly lastError: string | null;
}
