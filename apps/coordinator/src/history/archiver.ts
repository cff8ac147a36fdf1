import { Logger, type OnModuleDestroy } from '@nestjs/common';
import type { FinishedTransaction } from './finished-transaction';
import type { HistoryStore } from './history-store';
import { assertArchivable } from './postgres-history-store';

export interface ArchiverOptions {
  /** Transactions waiting to be written, at most. A full queue refuses; it never drops. */
  readonly capacity: number;
  /** Transactions per database write. */
  readonly batchSizeMax: number;
  /**
   * A write starts once `batchSizeMax` transactions wait or the oldest has waited this long (0:
   * at once), like Kafka's linger.ms. One write of many rows costs PostgreSQL and this process
   * little more than a write of one, and the engine keeps the transactions meanwhile anyway.
   */
  readonly lingerMs: number;
  /** Delay after the first failed write; doubles per consecutive failure up to the max. */
  readonly retryDelayMs: number;
  readonly retryDelayMsMax: number;
}

export type OfferResult =
  /** Queued; `archived(txId)` follows once it is durably written. */
  | 'queued'
  /** Already waiting (a re-offer, e.g. after a leader change); it will be reported once. */
  | 'already-queued'
  /** The queue is at capacity (the database has been down a while): keep the transaction and offer it again later. */
  | 'full';

export interface ArchiverBacklog {
  readonly queued: number;
  readonly capacity: number;
  /** Transactions in the write that is under way (they are also counted in `queued`). */
  readonly writing: number;
  readonly consecutiveFailures: number;
  readonly lastError: string | null;
  /** Wall-clock ms since the oldest queued transaction was offered; 0 when empty. */
  readonly oldestAgeMs: number;
}

/**
 * Writes finished transactions to the history without ever making a decision wait for
 * PostgreSQL. The engine offers a transaction when it ends and keeps it until `archived(txId)`
 * fires, which happens only after the row is committed in the database; while the database is
 * down, writes are retried with exponential backoff and the queue (bounded) holds the backlog.
 */
export class Archiver implements OnModuleDestroy {
  private readonly logger = new Logger(Archiver.name);
  /** Insertion order is offer order, so the oldest transactions are written first. */
  private readonly queue = new Map<string, { record: FinishedTransaction; offeredAtMs: number }>();
  private archivedHandler: ((txId: string) => void) | null = null;
  private writing = 0;
  private draining: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private lingerTimer: NodeJS.Timeout | null = null;
  private consecutiveFailures = 0;
  private lastError: string | null = null;
  private closed = false;

  constructor(
    private readonly store: HistoryStore,
    private readonly options: ArchiverOptions,
  ) {
    validateArchiverOptions(options);
  }

  /** Called once per transaction, after its row is durably written. One handler. */
  onArchived(handler: (txId: string) => void): void {
    if (this.archivedHandler !== null)
      throw new Error('Archiver.onArchived: a handler is already registered');
    this.archivedHandler = handler;
  }

  offer(record: FinishedTransaction): OfferResult {
    if (this.closed) throw new Error(`Archiver is closed; transaction ${record.txId} was not queued`);
    // A malformed record is a bug in the caller: refuse it here rather than retry it forever.
    assertArchivable(record);
    if (this.queue.has(record.txId)) return 'already-queued';
    if (this.queue.size >= this.options.capacity) return 'full';
    this.queue.set(record.txId, { record, offeredAtMs: Date.now() });
    this.kick();
    return 'queued';
  }

  backlog(): ArchiverBacklog {
    const oldest = this.queue.values().next();
    return {
      queued: this.queue.size,
      capacity: this.options.capacity,
      writing: this.writing,
      consecutiveFailures: this.consecutiveFailures,
      lastError: this.lastError,
      oldestAgeMs: oldest.done === true ? 0 : Date.now() - oldest.value.offeredAtMs,
    };
  }

  onModuleDestroy(): Promise<void> {
    return this.close();
  }

  /** Stops writing; what is still queued is not reported archived (the engine still holds it). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.clearLinger();
    await this.draining;
  }

  private kick(): void {
    if (this.draining !== null || this.retryTimer !== null || this.closed) return;
    if (!this.due()) {
      this.lingerUntilDue();
      return;
    }
    this.clearLinger();
    this.draining = this.drain().finally(() => {
      this.draining = null;
      this.kick();
    });
  }

  /** Whether a write should start now: a full batch waits, or the oldest has lingered enough. */
  private due(): boolean {
    if (this.queue.size >= this.options.batchSizeMax) return true;
    const oldest = this.queue.values().next();
    return oldest.done !== true && Date.now() - oldest.value.offeredAtMs >= this.options.lingerMs;
  }

  private lingerUntilDue(): void {
    const oldest = this.queue.values().next();
    if (oldest.done === true || this.lingerTimer !== null) return;
    this.lingerTimer = setTimeout(
      () => {
        this.lingerTimer = null;
        this.kick();
      },
      Math.max(0, oldest.value.offeredAtMs + this.options.lingerMs - Date.now()),
    );
  }

  private clearLinger(): void {
    if (this.lingerTimer !== null) clearTimeout(this.lingerTimer);
    this.lingerTimer = null;
  }

  private async drain(): Promise<void> {
    while (!this.closed && this.due()) {
      const batch: FinishedTransaction[] = [];
      for (const { record } of this.queue.values()) {
        if (batch.length === this.options.batchSizeMax) break;
        batch.push(record);
      }
      this.writing = batch.length;
      try {
        const archivedAtMs = Date.now();
        await this.store.archive(batch.map((record) => withArchivedEvent(record, archivedAtMs)));
      } catch (error) {
        this.writing = 0;
        this.consecutiveFailures += 1;
        this.lastError = error instanceof Error ? error.message : String(error);
        const delayMs = Math.min(
          this.options.retryDelayMsMax,
          this.options.retryDelayMs * 2 ** Math.min(this.consecutiveFailures - 1, 30),
        );
        this.logger.warn(
          `archiving ${batch.length} transactions failed (${this.consecutiveFailures} in a row, ${this.queue.size} queued): ${this.lastError}; retrying in ${delayMs} ms`,
        );
        if (!this.closed) {
          this.retryTimer = setTimeout(() => {
            this.retryTimer = null;
            this.kick();
          }, delayMs);
        }
        return;
      }
      this.writing = 0;
      if (this.consecutiveFailures > 0) {
        this.logger.log(`archiving caught up after ${this.consecutiveFailures} failed writes`);
      }
      this.consecutiveFailures = 0;
      this.lastError = null;
      // Report only now: the rows are committed, so the engine may forget these transactions.
      for (const record of batch) {
        this.queue.delete(record.txId);
        this.report(record.txId);
      }
    }
  }

  private report(txId: string): void {
    if (this.archivedHandler === null) return;
    try {
      this.archivedHandler(txId);
    } catch (error) {
      // The write is done; a throwing handler must not stop the archiving of everything else.
      this.logger.error(
        `archived(${txId}) handler threw: ${error instanceof Error ? error.stack : String(error)}`,
      );
    }
  }
}

export function validateArchiverOptions(options: ArchiverOptions): void {
  const positiveInteger = (name: keyof ArchiverOptions, value: number, max: number): void => {
    if (!Number.isInteger(value) || value < 1 || value > max) {
      throw new RangeError(`archiver option ${name} is ${value}; use an integer from 1 to ${max}`);
    }
  };
  positiveInteger('capacity', options.capacity, 10_000_000);
  positiveInteger('batchSizeMax', options.batchSizeMax, 10_000);
  if (!Number.isInteger(options.lingerMs) || options.lingerMs < 0 || options.lingerMs > 60_000) {
    throw new RangeError(`archiver option lingerMs is ${options.lingerMs}; use an integer from 0 to 60000`);
  }
  positiveInteger('retryDelayMs', options.retryDelayMs, 3_600_000);
  positiveInteger('retryDelayMsMax', options.retryDelayMsMax, 3_600_000);
  if (options.retryDelayMsMax < options.retryDelayMs) {
    throw new RangeError(
      `archiver option retryDelayMsMax (${options.retryDelayMsMax}) is below retryDelayMs (${options.retryDelayMs})`,
    );
  }
}

/**
 * The timeline as history keeps it ends with ARCHIVED, stamped when the write starts: the engine
 * hands over the timeline up to the last acknowledgement, and only the archiver knows this moment.
 */
function withArchivedEvent(record: FinishedTransaction, archivedAtMs: number): FinishedTransaction {
  const archived = {
    atMs: archivedAtMs,
    kind: 'ARCHIVED',
    participant: null,
    detail: 'archived to history',
    raftIndex: null,
    raftTerm: null,
    actor: null,
  } as const;
  return { ...record, timeline: [...record.timeline, archived] };
}
