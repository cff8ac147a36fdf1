import type { Outcome } from '@verdict/protocol';

/**
 * What a PREPARE asks of the service: the work the coordinator was given for this participant
 * at begin/enlist, and when the coordinator stops waiting.
 */
export interface PrepareRequest {
  readonly txId: string;
  /** Exactly the `payload` given at begin/enlist for this participant; the service validates it. */
  readonly work: unknown;
  readonly deadline: Date;
  /** Every participant of the transaction, this one included. */
  readonly participants: readonly string[];
  /** Aborted when the prepare budget runs out: the vote is already NO, stop working if you can. */
  readonly signal: AbortSignal;
}

export interface DecisionRequest {
  readonly txId: string;
  readonly outcome: Outcome;
  /** Why the coordinator aborted, in words; only for ABORT, and only when it said. */
  readonly reason?: string;
}

/**
 * The service's answer to PREPARE. `YES` promises that a later COMMIT will succeed, even after a
 * crash: the work must be durable and still undecided (e.g. PostgreSQL `PREPARE TRANSACTION`).
 * `decided` tells the SDK that the service already finished this transaction (found in its own
 * durable state): it is answered with the outcome and never prepared again.
 */
export type PrepareResult =
  | { readonly vote: 'YES' }
  | { readonly vote: 'NO'; readonly reason: string }
  | { readonly vote: 'READ_ONLY' }
  | { readonly decided: Outcome };

/**
 * The contract between the SDK and the service. The SDK keeps the protocol's promises from memory
 * while it runs; after a restart its memory is empty and the service's durable state is the only
 * truth, so every method must be idempotent by `txId`:
 *
 * - `prepare`: if the transaction is already held prepared, answer `YES` without doing the work
 *   again; if it already finished (committed, or aborted and recorded so), answer
 *   `{ decided: outcome }`; otherwise do the work, make it durable, and vote. Never decide: a
 *   prepared transaction is finished only by `commit` or `abort`.
 * - `commit`: finish a prepared transaction. If nothing is prepared, the service must check its
 *   durable state: already committed → return normally (the SDK repeats the ACK); nothing there
 *   because it voted READ_ONLY → return normally; anything else → throw (no ACK is sent, the
 *   coordinator keeps re-sending and an operator sees the error).
 * - `abort`: roll back a prepared transaction. If nothing is prepared, record the abort durably
 *   (so a late PREPARE is answered `{ decided: 'ABORT' }`) and return normally; if the service
 *   finds the transaction committed, throw: that is a protocol violation, never to be acknowledged.
 * - `inDoubt`: the ids of every transaction the service holds prepared without a decision. The
 *   SDK asks the coordinator about each and applies the answer.
 *
 * The SDK calls these one at a time per `txId` (never two calls for the same transaction at once),
 * possibly concurrently across transactions.
 */
export interface ParticipantService {
  prepare(request: PrepareRequest): Promise<PrepareResult>;
  commit(request: DecisionRequest): Promise<void>;
  abort(request: DecisionRequest): Promise<void>;
  inDoubt(): Promise<readonly string[]>;
}

/** Structured logging without tying the SDK to a logging library. */
export interface ParticipantLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}
