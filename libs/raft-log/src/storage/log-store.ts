import type { Entry, HardState, Index } from '../core/types';

/**
 * Durable Raft log and hard state. The core keeps its log in memory and only hands writes to the
 * store (through `Ready`), so the store needs no random reads: `load()` returns everything once,
 * at start.
 *
 * | method | range / effect | durable when the promise resolves |
 * | --- | --- | --- |
 * | `write(entries, hardState, {sync})` | appends `entries` (contiguous, `entries[0].index` in `[firstIndex, lastIndex + 1]`); when `entries[0].index <= lastIndex` it first removes `[entries[0].index, +∞)`; records `hardState` when non-null | with `sync: true`: entries, `term` and `votedFor` (see `commitIndex` below); with `sync: false`: nothing is promised |
 * | `truncateSuffix(fromIndex)` | removes `[fromIndex, +∞)`; `fromIndex` in `[firstIndex, lastIndex + 1]` | yes |
 * | `compactPrefix(throughIndex)` | removes `(−∞, throughIndex]`; afterwards `firstIndex = throughIndex + 1`; a `throughIndex` beyond `lastIndex` empties the log and moves `lastIndex` to `throughIndex` (a follower that installed a snapshot); call it only once a snapshot covering `throughIndex` is durable | yes |
 * | `load()` | returns the hard state and every entry in `[firstIndex, lastIndex]`, after repairing a torn tail | — |
 * | `close()` | waits for queued operations and persists the latest hard state | yes |
 *
 * Operations take effect in call order, so a caller may issue several without awaiting each one
 * (that is what lets concurrent writes share one fsync). Ranges are checked when the call is
 * made, against the log as it will be once every earlier call has taken effect; a range outside
 * the table is a programmer error (an `InvariantViolation`). I/O failures (disk full, EIO) reject
 * the promise with a `LogStoreIoError` and leave the store failed: every later call rejects too,
 * because after a failed fsync the page cache can no longer be trusted. Restart to recover.
 *
 * `commitIndex` may be persisted lazily (commitIndex is recoverable in Raft: a leader re-derives
 * it, a follower learns it): `load()` may return a smaller `commitIndex` than the last one written,
 * never a larger one, and never one above `lastIndex` of the durable log.
 */
export interface LogStore {
  write(entries: readonly Entry[], hardState: HardState | null, options: WriteOptions): Promise<void>;
  truncateSuffix(fromIndex: Index): Promise<void>;
  compactPrefix(throughIndex: Index): Promise<void>;
  load(): Promise<LoadedLog>;
  close(): Promise<void>;
}

export interface WriteOptions {
  /** Pass `Ready.mustSync`: when true the promise resolves only after fdatasync. */
  readonly sync: boolean;
}

export interface LoadedLog {
  readonly hardState: HardState;
  /** Exactly the entries `[firstIndex, lastIndex]`, in index order. */
  readonly entries: readonly Entry[];
  /** Invariant: firstIndex >= 1; firstIndex - 1 is the index a snapshot must cover. */
  readonly firstIndex: Index;
  /** Invariant: lastIndex >= firstIndex - 1 (equal when the log is empty). */
  readonly lastIndex: Index;
}

export const EMPTY_HARD_STATE: HardState = { term: 0, votedFor: null, commitIndex: 0 };

/** The durable log is damaged in a way repair must not guess about (not a torn tail). */
export class LogCorruptionError extends Error {
  override readonly name = 'LogCorruptionError';
}

/** A data directory written by another node or cluster. */
export class StorageIdentityError extends Error {
  override readonly name = 'StorageIdentityError';
}

/** A write, fsync, truncate or rename failed; the store refuses further work until restart. */
export class LogStoreIoError extends Error {
  override readonly name = 'LogStoreIoError';
}
