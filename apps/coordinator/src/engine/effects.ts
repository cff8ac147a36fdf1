import type { ParticipantCommand } from '@verdict/protocol';
import type { TxLogEntry } from './entries';
import type {
  DecisionCause,
  Index,
  TimelineEvent,
  Outcome,
  ParticipantName,
  ParticipantVote,
  RequestId,
  Term,
  TxId,
  TxState,
} from './types';

// What the engine asks of its host, in the order it must happen within one transition. The host
// contract (README.md, "The host loop"): hand `propose` entries to Raft; hand `send` messages to
// the transport; complete the HTTP request named by `reply`; write `archive` records to history
// and then call `archived`; answer `lookUpOutcome` from history; log and count `notice`s.

/** Append `entry` to the Raft log. It comes back through `entryCommitted`, or is lost with leadership. */
export interface ProposeEffect {
  readonly kind: 'propose';
  readonly entry: TxLogEntry;
}

/** Put `message` on `verdict.participant.<participant>`, keyed by txId. Loss is normal; re-sends follow. */
export interface SendEffect {
  readonly kind: 'send';
  readonly participant: ParticipantName;
  readonly message: ParticipantCommand;
}

/** Complete the request `requestId`. Exactly one per request command. */
export interface ReplyEffect {
  readonly kind: 'reply';
  readonly requestId: RequestId;
  readonly result: Reply;
}

/**
 * Every participant acknowledged (or needed no phase two): write `record` to history, idempotent
 * by txId, then call `archived(txId)`; the engine then proposes END. If history is down, retry:
 * the transaction stays live meanwhile, which is harmless.
 */
export interface ArchiveEffect {
  readonly kind: 'archive';
  readonly record: FinishedTransactionRecord;
}

/**
 * Presumed abort, the host's half: the engine has no live record of `txId`. Look it up in history:
 * found → answer with its recorded outcome; absent → answer ABORT (presumed). Answer the way the
 * question came: `reply` to `requestId` when set, else an ABORT/COMMIT message to `participant`.
 * Safe because a transaction leaves the live table only by END, proposed only after history has
 * it; and a leader has applied every earlier entry before it is told `becameLeader`.
 */
export interface LookUpOutcomeEffect {
  readonly kind: 'lookUpOutcome';
  readonly txId: TxId;
  readonly participant: ParticipantName | null;
  readonly requestId: RequestId | null;
}

/** Something the host should log (and count by `code`). Never affects what the engine does next. */
export interface NoticeEffect {
  readonly kind: 'notice';
  readonly level: 'info' | 'warn' | 'error';
  readonly code: NoticeCode;
  readonly txId: TxId | null;
  readonly participant: ParticipantName | null;
  readonly message: string;
}

export type NoticeCode =
  /** A participant voted differently on the same transaction: its durable state is suspect. */
  | 'VOTE_CONTRADICTS'
  /** A participant acknowledged the other outcome: a heuristic outcome an operator must repair. */
  | 'ACK_OUTCOME_MISMATCH'
  /** A vote/ack/query names a participant that is not enlisted in the transaction. */
  | 'PARTICIPANT_NOT_ENLISTED'
  /** A vote/ack for a transaction this leader has no live record of (late duplicates, mostly). */
  | 'TRANSACTION_NOT_LIVE'
  /** A vote while ACTIVE, an ack while undecided: out of phase, ignored. */
  | 'OUT_OF_PHASE'
  /** A committed entry that does not apply (ENLIST after PREPARING, a second DECISION, …). */
  | 'ENTRY_VOID'
  /** `tick` went back in time; the engine keeps the latest time it saw. */
  | 'CLOCK_WENT_BACKWARDS';

export type Effect =
  ProposeEffect | SendEffect | ReplyEffect | ArchiveEffect | LookUpOutcomeEffect | NoticeEffect;

export type EffectKind = Effect['kind'];

/** A recorded decision, with where in the Raft log it became one. */
export interface DecisionRecord {
  readonly outcome: Outcome;
  readonly cause: DecisionCause;
  readonly reason: string;
  readonly resolvedBy: string | null;
  readonly decidedAtMs: number;
  /** The DECISION entry's Raft position: the commit point. */
  readonly raftIndex: Index;
  readonly raftTerm: Term;
}

export type Reply =
  { readonly ok: true; readonly value: ReplyValue } | { readonly ok: false; readonly error: EngineError };

export type ReplyValue =
  /** `replayed`: an Idempotency-Key seen before with the same fingerprint; `txId` is the first one. */
  | { readonly kind: 'begun'; readonly txId: TxId; readonly replayed: boolean }
  | { readonly kind: 'enlisted'; readonly txId: TxId; readonly participant: ParticipantName }
  /** commit (wait=decision), abort and resolve: the decision is durable. It may be ABORT for a commit. */
  | { readonly kind: 'decided'; readonly txId: TxId; readonly decision: DecisionRecord }
  /** commit (wait=completion): every participant acknowledged. */
  | {
      readonly kind: 'completed';
      readonly txId: TxId;
      readonly decision: DecisionRecord;
      readonly finishedAtMs: number;
    }
  | { readonly kind: 'outcome'; readonly txId: TxId; readonly outcome: Outcome | 'UNDECIDED' }
  | {
      readonly kind: 'retried';
      readonly txId: TxId;
      readonly phase: 'PREPARE' | 'DECISION';
      readonly participants: readonly ParticipantName[];
    };

/**
 * Expected failures, each with the data a client needs. Codes match the API's CoordinatorFailure
 * where the API has one; `message` is one sentence naming the rule and what to do.
 */
export type EngineError =
  | { readonly code: 'TX_NOT_FOUND'; readonly txId: TxId; readonly message: string }
  | { readonly code: 'TX_NOT_ACTIVE'; readonly txId: TxId; readonly state: TxState; readonly message: string }
  | {
      readonly code: 'DECISION_EXISTS';
      readonly txId: TxId;
      readonly decision: DecisionRecord;
      readonly message: string;
    }
  | {
      readonly code: 'IDEMPOTENCY_MISMATCH';
      readonly idempotencyKey: string;
      readonly txId: TxId;
      readonly message: string;
    }
  /** Operator COMMIT without a known YES from everyone (votes are leader memory only). */
  | {
      readonly code: 'RESOLVE_NOT_ALLOWED';
      readonly txId: TxId;
      readonly state: TxState;
      readonly message: string;
    }
  | {
      readonly code: 'PARTICIPANT_ALREADY_ENLISTED';
      readonly txId: TxId;
      readonly participant: ParticipantName;
      readonly message: string;
    }
  | {
      readonly code: 'PARTICIPANT_LIMIT_REACHED';
      readonly txId: TxId;
      readonly participantsMax: number;
      readonly message: string;
    }
  | {
      readonly code: 'TRANSACTION_LIMIT_REACHED';
      readonly liveTransactionsMax: number;
      readonly message: string;
    }
  /** This node does not lead; the host forwards to the leader or answers 503. Nothing happened. */
  | { readonly code: 'NOT_LEADER'; readonly message: string }
  /**
   * This node stopped leading before the request's entry was applied: it may or may not have
   * taken effect. Retry begin with the same Idempotency-Key; read the transaction for the rest.
   */
  | { readonly code: 'LEADERSHIP_LOST'; readonly message: string }
  | { readonly code: 'VALIDATION_FAILED'; readonly field: string; readonly message: string };

export type EngineErrorCode = EngineError['code'];

/** What history keeps of a finished transaction (the host maps it to its table rows). */
export interface FinishedTransactionRecord {
  readonly txId: TxId;
  readonly state: 'COMMITTED' | 'ABORTED';
  readonly decision: DecisionRecord;
  readonly participants: readonly FinishedParticipantRecord[];
  readonly createdAtMs: number;
  readonly deadlineMs: number;
  /** When the last acknowledgement arrived (or the decision, when no phase two was needed). */
  readonly finishedAtMs: number;
  readonly metadata: Readonly<Record<string, string>>;
  readonly idempotencyKey: string | null;
  /** What happened to it, oldest first, as the finishing leader knows it (ARCHIVED is added by history). */
  readonly timeline: readonly TimelineEvent[];
}

export interface FinishedParticipantRecord {
  readonly name: ParticipantName;
  /** Null when this leader never saw a vote (it aborted first, or a leader change forgot it). */
  readonly vote: ParticipantVote | null;
  readonly voteReason: string | null;
  readonly votedAtMs: number | null;
  /** Null when no phase-two message was needed (READ_ONLY, NO, never prepared). */
  readonly ackedAtMs: number | null;
  /** Commands sent to it by the leader that finished the transaction: PREPAREs plus decisions. */
  readonly attempts: number;
  readonly lastError: string | null;
}
