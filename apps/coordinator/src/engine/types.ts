import type { Outcome, ParticipantVote } from '@verdict/protocol';

export type { Outcome, ParticipantVote };

/** A transaction id: a UUIDv7 made by the host (the engine has no randomness of its own). */
export type TxId = string;
/** A participant's name; it is also part of its Kafka topic name. */
export type ParticipantName = string;
/** Ties a request command to the `reply` effect that answers it; made by the host. */
export type RequestId = string;
/** A Raft term. */
export type Term = number;
/** A Raft log position. */
export type Index = number;

export type JsonValue =
  null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/**
 * Replicated phase of a live transaction. COMMITTING/ABORTING/COMMITTED/ABORTED are views of
 * `DECIDED`: whether every participant acknowledged is known only to the leader (acks, like
 * votes, are leader memory), so the replicated table never says COMMITTED.
 */
export type TxPhase = 'ACTIVE' | 'PREPARING' | 'DECIDED';

/** The states a client sees (DESIGN.md, "Transaction lifecycle"). */
export type TxState = 'ACTIVE' | 'PREPARING' | 'COMMITTING' | 'ABORTING' | 'COMMITTED' | 'ABORTED';

/** `commitRequested`: reply once the decision is durable, or once every participant acknowledged it. */
export type CommitWait = 'decision' | 'completion';

/** Why a decision was taken, for machines; `reason` says it in words. */
export type DecisionCause =
  /** Every participant voted YES or READ_ONLY. */
  | 'VOTES'
  /** A participant voted NO. */
  | 'VOTED_NO'
  /** The deadline passed with a vote missing (or, while ACTIVE, with commit never requested). */
  | 'DEADLINE'
  /** The client asked to abort. */
  | 'CLIENT_ABORT'
  /** A participant's circuit breaker was open when its vote was still needed. */
  | 'PARTICIPANT_UNAVAILABLE'
  /** An operator resolved the transaction; `resolvedBy` names who. */
  | 'OPERATOR';

/**
 * What the timeline of a transaction shows. BEGIN, ENLIST, PREPARING and DECISION come from its
 * replicated record (every node knows them); the others are what the leader saw and did.
 */
export const TIMELINE_EVENT_KINDS = [
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
export type TimelineEventKind = (typeof TIMELINE_EVENT_KINDS)[number];

/** One thing that happened to a transaction, for operators. */
export interface TimelineEvent {
  readonly atMs: number;
  readonly kind: TimelineEventKind;
  /** The participant it concerns; null for events of the whole transaction. */
  readonly participant: ParticipantName | null;
  /** Plain words: "voted NO: insufficient funds", "COMMIT sent, attempt 3". */
  readonly detail: string;
  /** The replicated entry behind it; null for leader-only events (and for records older than v2 snapshots). */
  readonly raftIndex: Index | null;
  readonly raftTerm: Term | null;
  /** The operator, for an operator's DECISION or a RETRY; null otherwise. */
  readonly actor: string | null;
}

export interface ParticipantSpec {
  readonly name: ParticipantName;
  /** What the service asked this participant to do; sent with PREPARE exactly as given. */
  readonly work: JsonValue;
}

export interface IdempotencySpec {
  readonly key: string;
  /** A hash of the canonical request body, computed by the host. Same key + other body = 422. */
  readonly fingerprint: string;
}
