import { assert } from './assert';

// Every queue and loop in the engine has a limit, and the limits are tied together here so that
// a change to one that breaks another fails at module load, not in production.

/** Participants in one transaction; the REST DTO enforces the same number. */
export const PARTICIPANTS_PER_TX_MAX = 64;

/**
 * Transactions in the live table (begun and not yet ENDed), counting BEGINs proposed but not yet
 * applied. Beyond it `begin` is refused with TRANSACTION_LIMIT_REACHED: the table lives in every
 * node's memory and in every Raft snapshot.
 */
export const LIVE_TRANSACTIONS_MAX = 100_000;

/** Prepare deadline of a transaction, from BEGIN: bounds of the client's `timeoutMs`. */
export const TX_TIMEOUT_MS_MIN = 100;
export const TX_TIMEOUT_MS_MAX = 600_000;
/** Used when `begin` carries no `timeoutMs`. */
export const TX_TIMEOUT_MS_DEFAULT = 30_000;

/**
 * Re-sends of PREPARE (to participants that have not voted) and of the decision (to participants
 * that have not acknowledged) back off exponentially from the minimum to the maximum and stay
 * there: a participant that is down for an hour gets one message every `RETRY_DELAY_MS_MAX`.
 */
export const RETRY_DELAY_MS_MIN = 200;
export const RETRY_DELAY_MS_MAX = 30_000;

/**
 * The replicated Idempotency-Key table keeps at most this many keys, each for at most
 * `IDEMPOTENCY_KEY_TTL_MS` after the BEGIN that recorded it, whichever is reached first.
 * Oldest (in log order) go first.
 */
export const IDEMPOTENCY_KEYS_MAX = 100_000;
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60 * 1000;
export const IDEMPOTENCY_KEY_CHARS_MAX = 255;
/** The request fingerprint is a hash the host computes over the canonical begin body. */
export const FINGERPRINT_CHARS_MAX = 128;

/** Reasons (decision, vote, operator) travel in ABORT messages whose schema caps them at 1000. */
export const REASON_CHARS_MAX = 1000;
/** Operator names recorded in `resolvedBy`. */
export const RESOLVED_BY_CHARS_MAX = 200;

/** txIds dropped by one END entry. END entries are flushed on `tick` or when a batch is full. */
export const END_BATCH_TX_MAX = 1024;

/**
 * The leader's timeline of one transaction (sends, votes, acks, retries) keeps, per kind and
 * participant, the first `TIMELINE_EVENTS_KEPT_FIRST` events one by one; later ones of the same
 * kind and participant are folded into one event that shows the latest and how many it stands
 * for. A transaction re-sent to a dead participant for hours keeps a timeline of fixed size.
 */
export const TIMELINE_EVENTS_KEPT_FIRST = 3;
/**
 * Leader events per transaction: the folding above bounds them by this (per participant: sends
 * of PREPARE and of the decision, votes, acks; per transaction: RESUMED, RETRY, ARCHIVED).
 */
export const TIMELINE_LEADER_EVENTS_PER_TX_MAX =
  (PARTICIPANTS_PER_TX_MAX * 4 + 3) * (TIMELINE_EVENTS_KEPT_FIRST + 1);

/** A transaction in PREPARING, COMMITTING or ABORTING for longer than this is shown as stuck. */
export const STUCK_AFTER_MS_DEFAULT = 60_000;

/** `listTransactions` page size: the REST convention (default 50, max 500). */
export const LIST_LIMIT_DEFAULT = 50;
export const LIST_LIMIT_MAX = 500;

assert(
  PARTICIPANTS_PER_TX_MAX >= 1,
  `PARTICIPANTS_PER_TX_MAX must be positive, is ${PARTICIPANTS_PER_TX_MAX}`,
);
assert(
  LIVE_TRANSACTIONS_MAX <= IDEMPOTENCY_KEYS_MAX,
  `every live transaction must be able to keep its idempotency key: LIVE_TRANSACTIONS_MAX ` +
    `${LIVE_TRANSACTIONS_MAX} > IDEMPOTENCY_KEYS_MAX ${IDEMPOTENCY_KEYS_MAX}`,
);
assert(
  TX_TIMEOUT_MS_MIN <= TX_TIMEOUT_MS_DEFAULT && TX_TIMEOUT_MS_DEFAULT <= TX_TIMEOUT_MS_MAX,
  `TX_TIMEOUT_MS_DEFAULT ${TX_TIMEOUT_MS_DEFAULT} outside [${TX_TIMEOUT_MS_MIN}, ${TX_TIMEOUT_MS_MAX}]`,
);
assert(RETRY_DELAY_MS_MIN > 0, `RETRY_DELAY_MS_MIN must be positive, is ${RETRY_DELAY_MS_MIN}`);
assert(
  RETRY_DELAY_MS_MIN * 2 <= RETRY_DELAY_MS_MAX,
  `backoff needs room to grow: RETRY_DELAY_MS_MIN ${RETRY_DELAY_MS_MIN} * 2 > RETRY_DELAY_MS_MAX ${RETRY_DELAY_MS_MAX}`,
);
assert(
  RETRY_DELAY_MS_MAX < TX_TIMEOUT_MS_MAX,
  `a PREPARE must be re-sent at least once before the longest deadline: RETRY_DELAY_MS_MAX ` +
    `${RETRY_DELAY_MS_MAX} >= TX_TIMEOUT_MS_MAX ${TX_TIMEOUT_MS_MAX}`,
);
assert(
  IDEMPOTENCY_KEY_TTL_MS > TX_TIMEOUT_MS_MAX,
  `a key must outlive the longest prepare deadline: IDEMPOTENCY_KEY_TTL_MS ${IDEMPOTENCY_KEY_TTL_MS} <= ` +
    `TX_TIMEOUT_MS_MAX ${TX_TIMEOUT_MS_MAX}`,
);
assert(
  TIMELINE_EVENTS_KEPT_FIRST >= 1,
  `TIMELINE_EVENTS_KEPT_FIRST must be positive, is ${TIMELINE_EVENTS_KEPT_FIRST}`,
);
assert(END_BATCH_TX_MAX >= 1, `END_BATCH_TX_MAX must be positive, is ${END_BATCH_TX_MAX}`);
assert(
  LIST_LIMIT_DEFAULT >= 1 && LIST_LIMIT_DEFAULT <= LIST_LIMIT_MAX,
  `LIST_LIMIT_DEFAULT ${LIST_LIMIT_DEFAULT} outside [1, ${LIST_LIMIT_MAX}]`,
);

/** Delay before re-send number `round` (0 = the first re-send): capped exponential, no jitter. */
export function retryDelayMs(round: number): number {
  assert(Number.isInteger(round) && round >= 0, `retry round must be a non-negative integer, is ${round}`);
  // 2^8 * 200 ms already exceeds the cap; stop doubling there so the number never overflows.
  const doublings = Math.min(round, 16);
  return Math.min(RETRY_DELAY_MS_MIN * 2 ** doublings, RETRY_DELAY_MS_MAX);
}
