import type { Outcome } from '@verdict/protocol';
import type { FinishedState, FinishedTransaction } from './finished-transaction';

/** Injection token for the {@link HistoryStore} port. */
export const HISTORY_STORE = Symbol('HistoryStore');

/** A page holds at most this many transactions; the REST API's own maximum is the same. */
export const HISTORY_PAGE_LIMIT_MAX = 500;

/**
 * The archive of finished transactions. Written by the leader when a transaction ends (through
 * the `Archiver`, so a slow or absent database never holds up a decision), read by operators
 * and by presumed-abort look-ups.
 */
export interface HistoryStore {
  /**
   * Writes the transactions and their branches in one database transaction. Idempotent by txId:
   * a transaction already archived is left exactly as it was. Resolves once durably written.
   */
  archive(records: readonly FinishedTransaction[]): Promise<void>;
  find(txId: string): Promise<FinishedTransaction | null>;
  /** Newest first (txIds are UUIDv7, so by age), one page at a time. */
  list(query: HistoryQuery): Promise<HistoryPage>;
  /** The recorded outcome, or null when the history has no such transaction. */
  outcomeOf(txId: string): Promise<Outcome | null>;
}

export interface HistoryQuery {
  readonly state?: FinishedState;
  readonly outcome?: Outcome;
  /** Only transactions this participant took part in. */
  readonly participant?: string;
  /** Only transactions created before this instant (Unix ms). */
  readonly createdBeforeMs?: number;
  /** 1 to {@link HISTORY_PAGE_LIMIT_MAX}; the caller chooses, there is no hidden default. */
  readonly limit: number;
  /** `nextCursor` of the previous page, as returned; opaque to callers. */
  readonly cursor?: string;
}

export interface HistoryPage {
  readonly items: readonly FinishedTransaction[];
  /** Null on the last page. */
  readonly nextCursor: string | null;
}

/** The history database cannot be reached right now; the API answers 503 and callers retry. */
export class HistoryUnavailableError extends Error {
  override readonly name = 'HistoryUnavailableError';
}

/** A cursor that no page of this API produced; the API answers 400. */
export class InvalidHistoryCursorError extends Error {
  override readonly name = 'InvalidHistoryCursorError';
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

// The cursor is the last txId of the page; encoding it keeps callers from building their own.
export function encodeHistoryCursor(lastTxId: string): string {
  return Buffer.from(lastTxId, 'utf8').toString('base64url');
}

export function decodeHistoryCursor(cursor: string): string {
  const txId = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!UUID_PATTERN.test(txId)) {
    throw new InvalidHistoryCursorError(
      `cursor "${cursor}" was not returned by this API; pass nextCursor from the previous page or omit it`,
    );
  }
  return txId;
}
