import type { TxLogEntry } from './entries';
import type {
  CommitWait,
  IdempotencySpec,
  Index,
  Outcome,
  ParticipantName,
  ParticipantSpec,
  ParticipantVote,
  RequestId,
  Term,
  TxId,
} from './types';

// What the host hands the engine. Requests (they carry a `requestId`) are answered by exactly one
// `reply` effect, now or later: when the entry they proposed is applied, when every participant
// acknowledged, or with LEADERSHIP_LOST when this node stops leading first.

/** Start a transaction. The host makes the UUIDv7 `txId` and the request fingerprint. */
export interface BeginCommand {
  readonly kind: 'begin';
  readonly requestId: RequestId;
  readonly txId: TxId;
  readonly participants: readonly ParticipantSpec[];
  /** Prepare deadline from now; null means TX_TIMEOUT_MS_DEFAULT. */
  readonly timeoutMs: number | null;
  readonly metadata: Readonly<Record<string, string>>;
  readonly idempotency: IdempotencySpec | null;
  /**
   * Run two-phase commit too, answering like commitRequested with this wait. The PREPARING entry
   * is proposed with the BEGIN and the PREPAREs leave in the same turn. A retry whose
   * key names a transaction that already began is answered `begun` (replayed): the host commits it.
   */
  readonly commit: CommitWait | null;
}

export interface EnlistCommand {
  readonly kind: 'enlist';
  readonly requestId: RequestId;
  readonly txId: TxId;
  readonly participant: ParticipantSpec;
}

export interface CommitRequestedCommand {
  readonly kind: 'commitRequested';
  readonly requestId: RequestId;
  readonly txId: TxId;
  readonly wait: CommitWait;
}

export interface AbortRequestedCommand {
  readonly kind: 'abortRequested';
  readonly requestId: RequestId;
  readonly txId: TxId;
}

/** A VOTE read from the replies topic. Only the leader acts on it; followers ignore it. */
export interface ParticipantVoteCommand {
  readonly kind: 'participantVote';
  readonly txId: TxId;
  readonly participant: ParticipantName;
  readonly vote: ParticipantVote;
  /** Required by the protocol for NO; null otherwise. */
  readonly reason: string | null;
  /** Term of the PREPARE it answers. Any term is accepted: see README.md, "Votes and terms". */
  readonly term: Term;
}

/** An ACK read from the replies topic: the participant applied `outcome`. */
export interface AckCommand {
  readonly kind: 'ack';
  readonly txId: TxId;
  readonly participant: ParticipantName;
  readonly outcome: Outcome;
  readonly term: Term;
}

/**
 * A participant asks what became of a transaction: OUTCOME_QUERY on Kafka (`requestId` null: the
 * answer is the decision sent on its command topic) or `GET /v1/transactions/{id}/outcome`
 * (`requestId` set: the answer is a reply).
 */
export interface OutcomeQueryCommand {
  readonly kind: 'outcomeQuery';
  readonly txId: TxId;
  readonly participant: ParticipantName | null;
  readonly requestId: RequestId | null;
}

/** An entry came back from the Raft log, committed. Every node, in index order. */
export interface EntryCommittedCommand {
  readonly kind: 'entryCommitted';
  readonly entry: TxLogEntry;
  readonly index: Index;
  /**
   * Where the entry sits among the TxLogEntries of its Raft entry: group commit carries many in
   * one, so (index, position) is what strictly increases, and DECISION records the Raft index.
   */
  readonly position: number;
  readonly term: Term;
}

/** The host's clock, at least every few tens of milliseconds. The engine never reads a clock. */
export interface TickCommand {
  readonly kind: 'tick';
  readonly nowMs: number;
}

/**
 * The host's clock read just before another command, so that what that command records (a
 * timeline event, `atMs` of an entry, a deadline) carries the time it happened rather than the
 * last tick's. It only moves the clock: deadlines and re-sends still wait for `tick`.
 */
export interface ClockCommand {
  readonly kind: 'clock';
  readonly nowMs: number;
}

/**
 * This node leads `term`. Call it only once the entry the new leader appended for its term has
 * been applied: then every entry committed by earlier leaders has gone through `entryCommitted`
 * and the engine resumes from complete knowledge. Re-report open breakers right after it.
 */
export interface BecameLeaderCommand {
  readonly kind: 'becameLeader';
  readonly term: Term;
  readonly nowMs: number;
}

export interface LostLeadershipCommand {
  readonly kind: 'lostLeadership';
}

/** The participant's circuit breaker opened: work that still needs its vote aborts at once. */
export interface ParticipantUnavailableCommand {
  readonly kind: 'participantUnavailable';
  readonly participant: ParticipantName;
  /** In words, e.g. "circuit breaker open after 5 failed sends: broker timeout". */
  readonly reason: string;
}

/** The breaker closed (or half-opened) again. */
export interface ParticipantAvailableCommand {
  readonly kind: 'participantAvailable';
  readonly participant: ParticipantName;
}

/** An operator records the outcome of an undecided transaction. */
export interface OperatorResolveCommand {
  readonly kind: 'operatorResolve';
  readonly requestId: RequestId;
  readonly txId: TxId;
  readonly outcome: Outcome;
  readonly reason: string;
  readonly resolvedBy: string;
}

/**
 * Re-send the pending phase now instead of at the next backoff, and restart the backoff: the
 * recorded decision to every participant that has not acknowledged it or, while undecided,
 * PREPARE to every participant that has not voted.
 */
export interface RetryPhaseTwoCommand {
  readonly kind: 'retryPhaseTwo';
  readonly requestId: RequestId;
  readonly txId: TxId;
  /** The operator, shown on the RETRY event of the timeline. */
  readonly requestedBy: string;
  /** Why, in the operator's words: appended to the RETRY event's detail. 1..REASON_CHARS_MAX. */
  readonly reason?: string;
}

/** The host wrote the finished transaction (from an `archive` effect) to history, durably. */
export interface ArchivedCommand {
  readonly kind: 'archived';
  readonly txId: TxId;
}

export type Command =
  | BeginCommand
  | EnlistCommand
  | CommitRequestedCommand
  | AbortRequestedCommand
  | ParticipantVoteCommand
  | AckCommand
  | OutcomeQueryCommand
  | EntryCommittedCommand
  | TickCommand
  | ClockCommand
  | BecameLeaderCommand
  | LostLeadershipCommand
  | ParticipantUnavailableCommand
  | ParticipantAvailableCommand
  | OperatorResolveCommand
  | RetryPhaseTwoCommand
  | ArchivedCommand;

export type CommandKind = Command['kind'];
