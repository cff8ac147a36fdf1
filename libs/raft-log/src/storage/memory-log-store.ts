import { crc32 } from 'node:zlib';
import type { Entry, HardState, Index } from '../core/types';
import { assert } from '../core/assert';
import { silentLogger, type RaftLogLogger } from '../support/logger';
import { LogBounds } from './log-bounds';
import {
  EMPTY_HARD_STATE,
  LogCorruptionError,
  type LoadedLog,
  type LogStore,
  type WriteOptions,
} from './log-store';

interface MemoryRecord {
  readonly entry: Entry;
  /** Computed on write, checked on load, like a record's CRC on disk. */
  readonly checksum: number;
}

/**
 * The "disk" under a MemoryLogStore: it holds only what synced operations made durable, so a
 * simulated crash is "drop the store, open a new one on the same medium".
 */
export class MemoryLogMedium {
  // Invariant: records[i].entry.index === firstIndex + i.
  records: MemoryRecord[] = [];
  // Invariant: firstIndex - 1 is the compacted index.
  firstIndex: Index = 1;
  hardState: HardState = EMPTY_HARD_STATE;

  /** Test hook: damages the stored data of entry `index`, as a flipped bit on disk would. */
  corruptRecord(index: Index): void {
    const record = this.records[index - this.firstIndex];
    assert(record !== undefined, `no stored record for index ${index}`);
    const data = record.entry.data.length > 0 ? record.entry.data.slice() : new Uint8Array(1);
    data[0] = (data[0] ?? 0) ^ 0xff;
    this.records[index - this.firstIndex] = { entry: { ...record.entry, data }, checksum: record.checksum };
  }
}

type PendingOperation =
  | { readonly kind: 'write'; readonly entries: readonly Entry[]; readonly hardState: HardState | null }
  | { readonly kind: 'truncateSuffix'; readonly fromIndex: Index }
  | { readonly kind: 'compactPrefix'; readonly throughIndex: Index };

/**
 * `LogStore` in memory for tests and the simulator. Writes with `sync: false` stay pending until
 * a later synced call (or close), so a crash loses exactly what a real disk may lose.
 */
export class MemoryLogStore implements LogStore {
  private readonly bounds = new LogBounds();
  // Invariant: accepted operations not yet applied to the medium, in call order.
  private pending: PendingOperation[] = [];
  private phase: 'new' | 'loaded' | 'closed' = 'new';

  constructor(
    readonly medium: MemoryLogMedium = new MemoryLogMedium(),
    private readonly logger: RaftLogLogger = silentLogger,
  ) {}

  write(entries: readonly Entry[], hardState: HardState | null, options: WriteOptions): Promise<void> {
    this.assertOpen();
    this.bounds.checkWrite(entries, hardState);
    // Copy: the caller may reuse its buffers, a disk would not see that.
    const copies = entries.map((entry) => ({ ...entry, data: entry.data.slice() }));
    this.pending.push({ kind: 'write', entries: copies, hardState });
    if (options.sync) this.sync();
    return Promise.resolve();
  }

  truncateSuffix(fromIndex: Index): Promise<void> {
    this.assertOpen();
    this.bounds.checkTruncateSuffix(fromIndex);
    this.pending.push({ kind: 'truncateSuffix', fromIndex });
    this.sync();
    return Promise.resolve();
  }

  compactPrefix(throughIndex: Index): Promise<void> {
    this.assertOpen();
    this.bounds.checkCompactPrefix(throughIndex);
    this.pending.push({ kind: 'compactPrefix', throughIndex });
    this.sync();
    return Promise.resolve();
  }

  close(): Promise<void> {
    if (this.phase === 'loaded') this.sync();
    this.phase = 'closed';
    return Promise.resolve();
  }

  load(): Promise<LoadedLog> {
    try {
      return Promise.resolve(this.loadNow());
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private loadNow(): LoadedLog {
    assert(this.phase === 'new', 'load() runs once, before any other call');
    const { medium } = this;
    for (const [position, record] of medium.records.entries()) {
      if (checksumOf(record.entry) === record.checksum) continue;
      const index = record.entry.index;
      if (position !== medium.records.length - 1) {
        throw new LogCorruptionError(`memory log record for index ${index} fails its checksum`);
      }
      this.logger.warn('cutting torn tail of the memory log', { index });
      medium.records.pop();
    }
    const entries = medium.records.map((record) => record.entry);
    const lastIndex = medium.firstIndex + entries.length - 1;
    if (medium.hardState.commitIndex > lastIndex) {
      throw new LogCorruptionError(
        `hard state commitIndex ${medium.hardState.commitIndex} is beyond the last log index ${lastIndex}`,
      );
    }
    this.bounds.reset(medium.firstIndex, lastIndex, medium.hardState);
    this.phase = 'loaded';
    return { hardState: medium.hardState, entries, firstIndex: medium.firstIndex, lastIndex };
  }

  private assertOpen(): void {
    assert(
      this.phase === 'loaded',
      `log store is ${this.phase}: call load() first and nothing after close()`,
    );
  }

  /** Applies every pending operation to the medium: the in-memory fdatasync. */
  private sync(): void {
    const { medium } = this;
    for (const operation of this.pending) {
      switch (operation.kind) {
        case 'write': {
          const first = operation.entries[0];
          if (first !== undefined) {
            medium.records.length = first.index - medium.firstIndex;
            for (const entry of operation.entries)
              medium.records.push({ entry, checksum: checksumOf(entry) });
          }
          if (operation.hardState !== null) medium.hardState = operation.hardState;
          break;
        }
        case 'truncateSuffix':
          medium.records.length = operation.fromIndex - medium.firstIndex;
          break;
        case 'compactPrefix': {
          const removed = Math.min(operation.throughIndex + 1 - medium.firstIndex, medium.records.length);
          medium.records.splice(0, removed);
          medium.firstIndex = operation.throughIndex + 1;
          break;
        }
      }
    }
    this.pending = [];
  }
}

function checksumOf(entry: Entry): number {
  return crc32(entry.data, crc32(`${entry.index}:${entry.term}:${entry.kind}`));
}
